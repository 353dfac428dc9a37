/* PSN tokens: both services derive the same box key; round trip; and every
 * tampering, wrong key, forgery, truncation and oversize is refused with the
 * same error and no partial output. */
#include <sodium.h>
#include <stdlib.h>

#include "../check.h"
#include "../../../src/crypto/presence_pass.h"
#include "../../../src/crypto/psn_token.h"
#include "../../../src/token/key25519.h"

int main(void)
{
    uint8_t sign_pk[32], other_pk[32], seed[32], z[32], xpk[32];
    uint8_t box_pk[32], box_sk[32], box2_pk[32], box2_sk[32];
    uint8_t k_id[MR_TOKEN_KEY_BYTES], k_reg[MR_TOKEN_KEY_BYTES], k_other[MR_TOKEN_KEY_BYTES],
        k_wrong_reg[MR_TOKEN_KEY_BYTES], k_box[MR_TOKEN_KEY_BYTES];
    mr_key25519 *sign_sk = NULL, *other_sk = NULL, *reg = NULL, *reg2 = NULL, *idbox = NULL;
    mr_psn_token t, got;
    char *tok = NULL, *forged = NULL, *tok2 = NULL;

    CHECK(sodium_init() >= 0);
    randombytes_buf(seed, sizeof seed);
    CHECK(mr_key25519_from_bytes(MR_KEY_ED25519, seed, &sign_sk) == MEDREG_OK);
    memcpy(sign_pk, mr_key25519_public(sign_sk), 32);
    randombytes_buf(seed, sizeof seed);
    CHECK(mr_key25519_from_bytes(MR_KEY_ED25519, seed, &other_sk) == MEDREG_OK);
    memcpy(other_pk, mr_key25519_public(other_sk), 32);
    crypto_box_keypair(box_pk, box_sk);
    crypto_box_keypair(box2_pk, box2_sk);
    CHECK(mr_key25519_from_bytes(MR_KEY_X25519, box_sk, &reg) == MEDREG_OK);
    CHECK(mr_key25519_from_bytes(MR_KEY_X25519, box2_sk, &reg2) == MEDREG_OK);
    CHECK(memcmp(mr_key25519_public(reg), box_pk, 32) == 0);
    /* the identity service with a file signing key: its X25519 twin */
    CHECK(mr_key25519_agree(sign_sk, box_pk, z) == MEDREG_OK && mr_psn_token_key(z, k_id) == MEDREG_OK);
    CHECK(crypto_sign_ed25519_pk_to_curve25519(xpk, sign_pk) == 0);
    CHECK(mr_key25519_agree(reg, xpk, z) == MEDREG_OK && mr_psn_token_key(z, k_reg) == MEDREG_OK);
    CHECK(memcmp(k_id, k_reg, sizeof k_id) == 0); /* both sides agree */
    uint8_t beforenm[crypto_box_BEFORENMBYTES]; /* and K is crypto_box's precomputed key */
    CHECK(crypto_box_beforenm(beforenm, xpk, box_sk) == 0 && memcmp(beforenm, k_reg, sizeof k_reg) == 0);
    CHECK(mr_key25519_agree(other_sk, box_pk, z) == MEDREG_OK && mr_psn_token_key(z, k_other) == MEDREG_OK);
    CHECK(mr_key25519_agree(reg2, xpk, z) == MEDREG_OK && mr_psn_token_key(z, k_wrong_reg) == MEDREG_OK);
    /* the identity service with a box key of its own: the same K on both sides, another K than the twin's */
    randombytes_buf(seed, sizeof seed);
    CHECK(mr_key25519_from_bytes(MR_KEY_X25519, seed, &idbox) == MEDREG_OK);
    CHECK(mr_key25519_agree(idbox, box_pk, z) == MEDREG_OK && mr_psn_token_key(z, k_box) == MEDREG_OK);
    CHECK(mr_key25519_agree(reg, mr_key25519_public(idbox), z) == MEDREG_OK && mr_psn_token_key(z, k_other) == MEDREG_OK);
    CHECK(memcmp(k_box, k_other, sizeof k_box) == 0 && memcmp(k_box, k_reg, sizeof k_box) != 0);
    CHECK(mr_key25519_agree(other_sk, box_pk, z) == MEDREG_OK && mr_psn_token_key(z, k_other) == MEDREG_OK);
    /* an X25519 key cannot sign */
    uint8_t sig[64];
    CHECK(mr_key25519_sign(idbox, seed, sizeof seed, sig) == MEDREG_ERR_INVALID);
    uint8_t low_order[32] = {0}; /* the identity point: refused, never an all-zero key */
    CHECK(mr_key25519_agree(sign_sk, low_order, z) != MEDREG_OK);
    CHECK(mr_key25519_agree(reg, low_order, z) != MEDREG_OK);
    memset(z, 0, sizeof z);
    CHECK(mr_psn_token_key(z, k_box) != MEDREG_OK);

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
    mr_key25519_close(sign_sk);
    mr_key25519_close(other_sk);
    mr_key25519_close(reg);
    mr_key25519_close(reg2);
    mr_key25519_close(idbox);
    return TEST_DONE();
}
