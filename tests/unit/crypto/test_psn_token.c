/* PSN tokens: both services derive the same box key; round trip; and every
 * tampering, wrong key, forgery, truncation and oversize is refused with the
 * same error and no partial output. */
#include <sodium.h>
#include <stdlib.h>

#include "../check.h"
#include "../../../src/crypto/presence_pass.h"
#include "../../../src/crypto/psn_token.h"

int main(void)
{
    uint8_t sign_pk[32], sign_sk[64], other_pk[32], other_sk[64];
    uint8_t box_pk[32], box_sk[32], box2_pk[32], box2_sk[32];
    uint8_t k_id[MR_TOKEN_KEY_BYTES], k_reg[MR_TOKEN_KEY_BYTES], k_other[MR_TOKEN_KEY_BYTES],
        k_wrong_reg[MR_TOKEN_KEY_BYTES];
    mr_psn_token t, got;
    char *tok = NULL, *forged = NULL, *tok2 = NULL;

    CHECK(sodium_init() >= 0);
    crypto_sign_keypair(sign_pk, sign_sk);
    crypto_sign_keypair(other_pk, other_sk);
    crypto_box_keypair(box_pk, box_sk);
    crypto_box_keypair(box2_pk, box2_sk);
    CHECK(mr_psn_token_key_identity(sign_sk, box_pk, k_id) == MEDREG_OK);
    CHECK(mr_psn_token_key_registry(box_sk, sign_pk, k_reg) == MEDREG_OK);
    CHECK(memcmp(k_id, k_reg, sizeof k_id) == 0); /* both sides agree */
    CHECK(mr_psn_token_key_identity(other_sk, box_pk, k_other) == MEDREG_OK);
    CHECK(mr_psn_token_key_registry(box2_sk, sign_pk, k_wrong_reg) == MEDREG_OK);
    uint8_t low_order[32] = {0}; /* the identity point: refused, never an all-zero key */
    CHECK(mr_psn_token_key_identity(sign_sk, low_order, k_other) != MEDREG_OK);

    memset(&t, 0, sizeof t);
    snprintf(t.module, sizeof t.module, "%s", "hip");
    snprintf(t.internal_id, sizeof t.internal_id, "%s", "ABCD-EFGH-IJKL-M");
    memset(t.physician, 0xab, sizeof t.physician);
    t.key_id = 7;
    memset(t.psn, 0x5a, sizeof t.psn);
    t.issued_at = 1000;
    t.expires_at = 2000;
    randombytes_buf(t.nonce, sizeof t.nonce);

    CHECK(mr_psn_token_seal(&t, sign_sk, k_id, &tok) == MEDREG_OK);
    CHECK(mr_psn_token_open(tok, k_reg, sign_pk, &got) == MEDREG_OK);
    CHECK_STR(got.module, "hip");
    CHECK_STR(got.internal_id, "ABCD-EFGH-IJKL-M");
    CHECK(got.key_id == 7 && got.issued_at == 1000 && got.expires_at == 2000);
    CHECK(memcmp(got.psn, t.psn, 32) == 0 && memcmp(got.nonce, t.nonce, 16) == 0);
    CHECK(memcmp(got.physician, t.physician, 32) == 0);
    /* the same content sealed twice gives unrelated tokens (random box nonce) */
    CHECK(mr_psn_token_seal(&t, sign_sk, k_id, &tok2) == MEDREG_OK);
    CHECK(tok2 && strcmp(tok, tok2) != 0);

    /* every single-character change is refused */
    size_t n = strlen(tok), accepted = 0;
    char *m = strdup(tok);
    for (size_t i = 0; i < n; i++) {
        char orig = m[i];
        m[i] = orig == 'A' ? 'B' : 'A';
        if (mr_psn_token_open(m, k_reg, sign_pk, &got) == MEDREG_OK)
            accepted++;
        m[i] = orig;
    }
    CHECK(accepted == 0);
    free(m);
    /* another registry, another identity service */
    CHECK(mr_psn_token_open(tok, k_wrong_reg, sign_pk, &got) == MEDREG_ERR_VERIFY);
    CHECK(mr_psn_token_open(tok, k_reg, other_pk, &got) == MEDREG_ERR_VERIFY);
    /* the box key alone does not make a valid token: the signature is checked too */
    CHECK(mr_psn_token_seal(&t, other_sk, k_reg, &forged) == MEDREG_OK);
    CHECK(mr_psn_token_open(forged, k_reg, sign_pk, &got) == MEDREG_ERR_VERIFY);
    free(forged);
    /* a key pair that is not the identity service's cannot box for this registry */
    CHECK(mr_psn_token_seal(&t, other_sk, k_other, &forged) == MEDREG_OK);
    CHECK(mr_psn_token_open(forged, k_reg, sign_pk, &got) == MEDREG_ERR_VERIFY);
    /* truncated, empty, garbage, oversized */
    tok[n / 2] = 0;
    CHECK(mr_psn_token_open(tok, k_reg, sign_pk, &got) == MEDREG_ERR_VERIFY);
    CHECK(mr_psn_token_open("", k_reg, sign_pk, &got) == MEDREG_ERR_VERIFY);
    CHECK(mr_psn_token_open("!!!!", k_reg, sign_pk, &got) == MEDREG_ERR_VERIFY);
    CHECK(mr_psn_token_open(NULL, k_reg, sign_pk, &got) == MEDREG_ERR_VERIFY);
    char *big = malloc(5000);
    memset(big, 'A', 4999);
    big[4999] = 0;
    CHECK(mr_psn_token_open(big, k_reg, sign_pk, &got) == MEDREG_ERR_VERIFY);
    free(big);
    /* a failed open leaves no partial output */
    uint8_t zero[sizeof got];
    memset(zero, 0, sizeof zero);
    CHECK(memcmp(&got, zero, sizeof got) == 0);
    /* presence passes: the registry seals, the identity service opens */
    mr_presence_pass pp, pg;
    char *pass = NULL;
    memset(&pp, 0, sizeof pp);
    snprintf(pp.module, sizeof pp.module, "hip");
    pp.key_id = 7;
    memset(pp.psn, 0xab, sizeof pp.psn);
    memset(pp.physician, 0xcd, sizeof pp.physician);
    pp.expires_at = 1800000000u;
    randombytes_buf(pp.nonce, sizeof pp.nonce);
    CHECK(mr_pass_seal(&pp, k_reg, &pass) == MEDREG_OK);
    CHECK(pass && mr_pass_open(pass, k_id, &pg) == MEDREG_OK && memcmp(&pp, &pg, sizeof pp) == 0);
    CHECK(mr_pass_open(pass, k_other, &pg) == MEDREG_ERR_VERIFY);
    /* passes and tokens are not interchangeable */
    CHECK(mr_psn_token_open(pass, k_reg, sign_pk, &got) == MEDREG_ERR_VERIFY);
    CHECK(mr_pass_open(tok2, k_reg, &pg) == MEDREG_ERR_VERIFY);
    for (size_t i = 0; pass && i < strlen(pass); i += 7) {
        char c = pass[i];
        pass[i] = c == 'A' ? 'B' : 'A';
        CHECK(mr_pass_open(pass, k_id, &pg) == MEDREG_ERR_VERIFY);
        pass[i] = c;
    }
    CHECK(mr_pass_open("", k_id, &pg) == MEDREG_ERR_VERIFY && mr_pass_open(NULL, k_id, &pg) == MEDREG_ERR_VERIFY);
    free(pass);
    free(tok);
    free(tok2);
    free(forged);
    return TEST_DONE();
}
