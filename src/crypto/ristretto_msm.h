/* Multi-scalar multiplication in ristretto255: Σ s_i·P_i in one pass.
 *
 * The VOPRF's batch proof (RFC 9497 §2.2.1) weighs every element of a batch
 * with a scalar derived from the transcript and adds them up. Done as n
 * separate scalar multiplications that is as much work as the evaluation
 * itself; done as one sum (Pippenger's bucket method) it is about a fifth
 * of it, decoding the points included. libsodium has no such sum and does
 * not expose its point arithmetic; libdecaf (Debian's libdecaf-dev, the
 * same ristretto255 encoding) exposes point addition, on which the sum is
 * built here.
 *
 * Variable time: the running time depends on the scalars. Only for public
 * points and public scalars, never for a key or a blind. */
#ifndef MR_RISTRETTO_MSM_H
#define MR_RISTRETTO_MSM_H

#include <stddef.h>
#include <stdint.h>

#include "../core/safety.h"

/* out = Σ scalars[i]·points[i], i < n. Each point must be the canonical
 * encoding of a group element other than the identity, else
 * MEDREG_ERR_INVALID and *bad (if not NULL) its index; a scalar is any 32
 * bytes, read little-endian (the sum is the same as for its value mod L).
 * out is the encoding of the sum (all zero for the identity). n >= 1. */
MR_MUST_CHECK medreg_err mr_ristretto_msm(const uint8_t (*points)[32], const uint8_t (*scalars)[32], size_t n,
                                          uint8_t out[32], size_t *bad);

#endif
