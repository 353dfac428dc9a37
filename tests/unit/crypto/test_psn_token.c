/* PSN tokens: round trip, and every tampering, wrong key, truncation and
 * oversize is refused with the same error. */
#include <sodium.h>
#include <stdlib.h>

#include "../check.h"
#include "../../../src/crypto/psn_token.h"

int main(void)
{
    uint8_t sign_pk[32], sign_sk[64], other_pk[32], other_sk[64];
    uint8_t box_pk[32], box_sk[32], box2_pk[32], box2_sk[32];
    mr_psn_token t, got;
    char *tok = NULL, *forged = NULL;

    CHECK(sodium_init() >= 0);
    crypto_sign_keypair(sign_pk, sign_sk);
    crypto_sign_keypair(other_pk, other_sk);
    crypto_box_keypair(box_pk, box_sk);
    crypto_box_keypair(box2_pk, box2_sk);
    memset(&t, 0, sizeof t);
    strcpy(t.module, "hip");
    strcpy(t.internal_id, "ABCD-EFGH-IJKL-M");
    memset(t.physician, 0xab, sizeof t.physician);
    t.key_id = 7;
    memset(t.psn, 0x5a, sizeof t.psn);
    t.issued_at = 1000;
    t.expires_at = 2000;
    randombytes_buf(t.nonce, sizeof t.nonce);

    CHECK(mr_psn_token_seal(&t, sign_sk, box_pk, &tok) == MEDREG_OK);
    CHECK(mr_psn_token_open(tok, box_sk, box_pk, sign_pk, &got) == MEDREG_OK);
    CHECK_STR(got.module, "hip");
    CHECK_STR(got.internal_id, "ABCD-EFGH-IJKL-M");
    CHECK(got.key_id == 7 && got.issued_at == 1000 && got.expires_at == 2000);
    CHECK(memcmp(got.psn, t.psn, 32) == 0 && memcmp(got.nonce, t.nonce, 16) == 0);
    CHECK(memcmp(got.physician, t.physician, 32) == 0);

    /* the physician cannot read it: no PSN bytes in the clear */
    CHECK(strstr(tok, "hip") == NULL);

    /* every single-character change is refused */
    size_t n = strlen(tok), accepted = 0;
    char *m = strdup(tok);
    for (size_t i = 0; i < n; i++) {
        char orig = m[i];
        m[i] = orig == 'A' ? 'B' : 'A';
        if (mr_psn_token_open(m, box_sk, box_pk, sign_pk, &got) == MEDREG_OK)
            accepted++;
        m[i] = orig;
    }
    /* the last base64 character may carry padding bits only: allow none anyway */
    CHECK(accepted == 0);
    free(m);
    /* wrong registry key, wrong identity key */
    CHECK(mr_psn_token_open(tok, box2_sk, box2_pk, sign_pk, &got) == MEDREG_ERR_VERIFY);
    CHECK(mr_psn_token_open(tok, box_sk, box_pk, other_pk, &got) == MEDREG_ERR_VERIFY);
    /* a token made by someone without the identity key (the physician) */
    CHECK(mr_psn_token_seal(&t, other_sk, box_pk, &forged) == MEDREG_OK);
    CHECK(mr_psn_token_open(forged, box_sk, box_pk, sign_pk, &got) == MEDREG_ERR_VERIFY);
    /* truncated, empty, garbage, oversized */
    tok[n / 2] = 0;
    CHECK(mr_psn_token_open(tok, box_sk, box_pk, sign_pk, &got) == MEDREG_ERR_VERIFY);
    CHECK(mr_psn_token_open("", box_sk, box_pk, sign_pk, &got) == MEDREG_ERR_VERIFY);
    CHECK(mr_psn_token_open("!!!!", box_sk, box_pk, sign_pk, &got) == MEDREG_ERR_VERIFY);
    CHECK(mr_psn_token_open(NULL, box_sk, box_pk, sign_pk, &got) == MEDREG_ERR_VERIFY);
    char *big = malloc(5000);
    memset(big, 'A', 4999);
    big[4999] = 0;
    CHECK(mr_psn_token_open(big, box_sk, box_pk, sign_pk, &got) == MEDREG_ERR_VERIFY);
    free(big);
    /* a failed open leaves no partial output */
    uint8_t zero[sizeof got];
    memset(zero, 0, sizeof zero);
    CHECK(memcmp(&got, zero, sizeof got) == 0);
    free(tok);
    free(forged);
    return TEST_DONE();
}
