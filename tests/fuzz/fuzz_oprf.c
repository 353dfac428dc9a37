/* The VOPRF's untrusted inputs: blinded elements (from any pseudonymizer,
 * at the service) and evaluated elements with a proof (from the service or
 * a response file, at the client). Neither may crash, and random bytes never
 * pass as a valid proof for the fixed key, while every proof the service
 * makes does. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/crypto/oprf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t seed[32] = {42};
    static uint8_t sk[32], pk[32];
    static int ready;
    uint8_t bl[8][32], ev[8][32], out[8][32], proof[64], blind[32], res[64];
    if (!ready) {
        if (sodium_init() < 0 ||
            mr_oprf_derive_key(MR_OPRF_MODE_VERIFIABLE, seed, 32, NULL, 0, sk, pk) != MEDREG_OK)
            abort();
        ready = 1;
    }
    if (size < 1)
        return 0;
    size_t n = (size_t)(data[0] % 8) + 1;
    memset(bl, 0, sizeof bl);
    memset(ev, 0, sizeof ev);
    memset(proof, 0, sizeof proof);
    size_t off = 1, take;
    take = size - off < n * 32 ? size - off : n * 32;
    memcpy(bl, data + off, take);
    off += take;
    take = size - off < n * 32 ? size - off : n * 32;
    memcpy(ev, data + off, take);
    off += take;
    take = size - off < 64 ? size - off : 64;
    memcpy(proof, data + off, take);

    size_t bad = 0;
    medreg_err rc = mr_oprf_evaluate(MR_OPRF_MODE_VERIFIABLE, sk, pk, (const uint8_t(*)[32])bl, n, out, NULL,
                                     proof, &bad);
    if (rc != MEDREG_OK && (rc != MEDREG_ERR_INVALID || bad >= n))
        abort();
    if (rc == MEDREG_OK &&
        mr_oprf_verify(pk, (const uint8_t(*)[32])bl, (const uint8_t(*)[32])out, n, proof) != MEDREG_OK)
        abort(); /* the proof's sums, taken once by each side, must agree */
    if (mr_oprf_verify(pk, (const uint8_t(*)[32])bl, (const uint8_t(*)[32])ev, n, proof) == MEDREG_OK)
        abort(); /* a forged proof */
    crypto_core_ristretto255_scalar_random(blind);
    (void)mr_oprf_finalize(data, size > MR_OPRF_INPUT_MAX ? MR_OPRF_INPUT_MAX : size, blind, ev[0], res);
    (void)mr_oprf_blind(MR_OPRF_MODE_VERIFIABLE, data, size > MR_OPRF_INPUT_MAX ? MR_OPRF_INPUT_MAX : size, NULL,
                        blind, out[0]);
    return 0;
}
