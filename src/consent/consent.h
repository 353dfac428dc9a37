/* The card consent protocol of seed 000 §5, both halves (docs/protocol.md).
 *
 * A fingerprint is (H(K), K''): K comes from an X25519 agreement between the
 * client and the registry, bound to the session by HKDF; the patient's card
 * signs K; K'' = Enc(card, K ‖ sig) and only the card opens it again; K''' =
 * Enc(registry, K'') carries it to the registry, which keeps H(K), never K.
 * To consent, the card opens K'', the client checks the card's own signature
 * (so a server cannot make the card decrypt a foreign ciphertext) and returns
 * Enc(registry, K ‖ nonce ‖ terms). */
#ifndef MR_CONSENT_H
#define MR_CONSENT_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/safety.h"
#include "../crypto/hybrid.h"
#include "../token/key25519.h"
#include "../token/token.h"

#define MR_SESSION_ID_BYTES 16
#define MR_CONSENT_K_BYTES 32
#define MR_CONSENT_NONCE_BYTES 32
/* The most live fingerprints (K'') a registry offers for one patient: each
 * costs the card a decryption, so the client refuses a reply with more. */
#define MR_CONSENT_MAX_CANDIDATES 16

enum { MR_PURPOSE_ENROLL = 1, MR_PURPOSE_REPLACE = 2, MR_PURPOSE_ROTATE = 3 };

/* What the client sends for a new fingerprint. */
typedef struct mr_fingerprint_msg {
    uint8_t client_pk[32];
    uint8_t *k3; /* malloc'ed */
    size_t k3_len;
    uint8_t physician_alg;
    uint8_t physician_sig[MR_SIG_MAX];
    size_t physician_sig_len;
} mr_fingerprint_msg;
void mr_fingerprint_msg_clear(mr_fingerprint_msg *m);

/* The message the physician's card signs for a fingerprint: it names the
 * session, purpose, module, the physician's internal ID, K'', the client
 * key and the digest of the terms the patient answers (NULL: none, for an
 * enrollment), so that the signature later proves, to anyone, which terms
 * were agreed in front of which physician's card (the FHIR Provenance).
 * Written into *out (malloc'ed). */
MR_MUST_CHECK medreg_err mr_consent_physician_tbs(const uint8_t sid[MR_SESSION_ID_BYTES], uint8_t purpose,
                                                  const char *module, const char *internal_id,
                                                  const uint8_t *k2, size_t k2_len, const uint8_t client_pk[32],
                                                  const uint8_t terms[32], uint8_t **out, size_t *out_len);

/* Client: make a fingerprint with the patient's card, sign it with the
 * physician's card, seal it to the registry's consent key. */
MR_MUST_CHECK medreg_err mr_consent_client_fingerprint(mr_token *patient, mr_token *physician,
                                                       const mr_hybrid_to *registry,
                                                       const uint8_t sid[MR_SESSION_ID_BYTES], uint8_t purpose,
                                                       const uint8_t server_pk[32], const char *module,
                                                       const char *internal_id, const uint8_t terms[32],
                                                       mr_fingerprint_msg *out);

/* Client: try to open one candidate K'' with the patient's card.
 * MEDREG_ERR_VERIFY: not this card's. MEDREG_ERR_DENIED: the card opened it
 * but its own signature is not inside: a foreign ciphertext, refuse. */
MR_MUST_CHECK medreg_err mr_consent_client_open(mr_token *patient, const uint8_t *k2, size_t k2_len,
                                                uint8_t k[MR_CONSENT_K_BYTES]);

/* Client: the answer M = Enc(registry, v1 ‖ K ‖ nonce ‖ terms digest). */
MR_MUST_CHECK medreg_err mr_consent_client_answer(const mr_hybrid_to *registry, const uint8_t sid[MR_SESSION_ID_BYTES],
                                                  const uint8_t k[MR_CONSENT_K_BYTES],
                                                  const uint8_t nonce[MR_CONSENT_NONCE_BYTES],
                                                  const uint8_t terms[32], uint8_t **m, size_t *m_len);

/* SHA-256 of the grant terms as the protocol spells them. */
void mr_consent_terms_digest(const char *terms, uint8_t out[32]);

/* Server: the session secret, from the registry's seal key wherever it lives:
 * BLAKE2b over X25519(seal key, P), P a fixed point whose discrete logarithm
 * nobody knows (Elligator 2 of a hash of a constant), so that only the
 * holder of the seal key can compute it, the identity service included. */
MR_MUST_CHECK medreg_err mr_consent_session_secret(mr_key25519 *seal, uint8_t out[32]);

/* Server: the session's ephemeral X25519 key, derived from the registry's
 * session secret so that nothing secret is stored between two requests. */
void mr_consent_server_ephemeral(const uint8_t secret[32], const uint8_t sid[MR_SESSION_ID_BYTES],
                                 uint8_t pk[32], uint8_t sk[32]);

/* Server: open K''' and compute H(K). *k2 is malloc'ed. */
MR_MUST_CHECK medreg_err mr_consent_server_fingerprint(mr_token *registry, const uint8_t secret[32],
                                                       const uint8_t sid[MR_SESSION_ID_BYTES], uint8_t purpose,
                                                       const uint8_t client_pk[32], const uint8_t *k3,
                                                       size_t k3_len, uint8_t hk[32], uint8_t **k2,
                                                       size_t *k2_len);

/* Server: open an answer; hk = H(K), with the nonce and terms inside. */
MR_MUST_CHECK medreg_err mr_consent_server_answer(mr_token *registry, const uint8_t sid[MR_SESSION_ID_BYTES],
                                                  const uint8_t *m, size_t m_len, uint8_t hk[32],
                                                  uint8_t nonce[MR_CONSENT_NONCE_BYTES], uint8_t terms[32]);

/* H(K) = SHA-256("medreg/consent/fp/v1" ‖ K) */
void mr_consent_hash_k(const uint8_t k[MR_CONSENT_K_BYTES], uint8_t hk[32]);

#endif
