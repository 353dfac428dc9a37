/* libFuzzer: the consent protocol's ciphertexts (untrusted: K''' and answers
 * reach the registry from clients, K'' reaches the client from a registry).
 * Each input is opened as it is (the hybrid header parser), and also sealed
 * validly as an arbitrary plaintext, so the parsers of K' and of the answer
 * behind the AEAD are reached. Keys are key-file tokens made at start. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/consent/consent.h"
#include "../../src/crypto/hybrid.h"
#include "../../src/pki/pki.h"

static mr_token *ec, *rsa;

static mr_token *open_key(const char *dir, const char *name)
{
    char path[600];
    mr_token *t = NULL;
    char *err = NULL;
    snprintf(path, sizeof path, "%s/%s.key", dir, name);
    mr_token_spec ts = {.key = path};
    if (mr_token_open(&ts, &t, &err) != MEDREG_OK)
        abort();
    return t;
}

static void init(void)
{
    char dir[] = "/tmp/medreg-fuzz-XXXXXX", pki[64];
    if (sodium_init() < 0 || mkdtemp(dir) == NULL)
        abort();
    snprintf(pki, sizeof pki, "%s/pki", dir);
    if (mr_pki_init(pki) != MEDREG_OK || mr_pki_issue(pki, "ec", 0, "p256") != MEDREG_OK ||
        mr_pki_issue(pki, "rsa", 0, "rsa2048") != MEDREG_OK)
        abort();
    ec = open_key(pki, "ec");
    rsa = open_key(pki, "rsa");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t sid[MR_SESSION_ID_BYTES];
    uint8_t *pt = NULL, *ct = NULL, k[32], hk[32], nonce[32], terms[32];
    size_t pl = 0, cl = 0;
    if (ec == NULL)
        init();
    if (size > MR_HYBRID_MAX)
        return 0;
    /* as received */
    if (mr_hybrid_open(size > 0 && data[0] % 16 == 0 ? rsa : ec, NULL, 0, data, size, &pt, &pl) == MEDREG_OK)
        free(pt);
    (void)mr_consent_server_answer(ec, sid, data, size, hk, nonce, terms);
    (void)mr_consent_client_open(ec, data, size, k);
    /* an arbitrary K' behind a valid seal to the card */
    mr_hybrid_to to;
    mr_hybrid_to_token(ec, 0, &to);
    if (mr_hybrid_seal(&to, (const uint8_t *)"medreg/consent/k2/v1", 20, data, size, &ct, &cl) == MEDREG_OK) {
        (void)mr_consent_client_open(ec, ct, cl, k);
        free(ct);
    }
    /* an arbitrary answer behind a valid seal to the registry */
    uint8_t aad[24 + MR_SESSION_ID_BYTES];
    memcpy(aad, "medreg/consent/answer/v1", 24);
    memcpy(aad + 24, sid, sizeof sid);
    if (mr_hybrid_seal(&to, aad, sizeof aad, data, size, &ct, &cl) == MEDREG_OK) {
        (void)mr_consent_server_answer(ec, sid, ct, cl, hk, nonce, terms);
        free(ct);
    }
    return 0;
}
