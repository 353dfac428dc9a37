/* What a token implementation provides (token_file.c, token_pkcs11.c); the
 * common part (token.c) chooses algorithms, checks and describes. */
#ifndef MR_TOKEN_IMPL_H
#define MR_TOKEN_IMPL_H

#include "../pki/pki.h"
#include "token.h"

typedef struct mr_token_ops {
    /* MEDREG_ERR_INVALID when the token lacks the mechanism */
    medreg_err (*sign)(mr_token *t, uint8_t alg, const uint8_t *msg, size_t len, uint8_t *sig,
                       size_t *sig_len);
    medreg_err (*decrypt_oaep)(mr_token *t, int hash, const uint8_t *ct, size_t ct_len, uint8_t *pt,
                               size_t pt_cap, size_t *pt_len);
    medreg_err (*ecdh)(mr_token *t, const uint8_t *peer, size_t peer_len, uint8_t *z, size_t *z_len);
    void (*close)(mr_token *t);
} mr_token_ops;

struct mr_token {
    const mr_token_ops *ops;
    void *impl;
    X509 *cert;
    EVP_PKEY *pub;
    uint8_t spki_sha256[32];
    int oaep_hash; /* 0 until probed */
    int no_pss;    /* the token lacks RSA-PSS */
    char desc[192];
};

medreg_err mr_token_file_open(const mr_token_spec *spec, mr_token *t, char **errmsg);
medreg_err mr_token_pkcs11_open(const mr_token_spec *spec, mr_token *t, char **errmsg);

/* Set *errmsg to a malloc'ed "what: detail" (either may be NULL); returns rc. */
medreg_err mr_token_fail(char **errmsg, medreg_err rc, const char *what, const char *detail);

#endif
