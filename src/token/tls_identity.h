/* The service's TLS identity: its certificate and a private key that is
 * either a PEM file (mode 0600) or an object on a PKCS#11 token named by a
 * PKCS#11 URI ("pkcs11:token=…;object=…"). With a token the key never enters
 * this process: GnuTLS asks the token to sign each handshake. */
#ifndef MR_TLS_IDENTITY_H
#define MR_TLS_IDENTITY_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "../core/safety.h"

typedef struct mr_tls_identity mr_tls_identity;

typedef struct mr_tls_key_source {
    const char *cert_path;     /* PEM certificate (chain) */
    const char *key;           /* a file path, or a pkcs11: URI */
    const char *pkcs11_module; /* the PKCS#11 library, for pkcs11: keys */
    const char *pin_file;      /* token PIN in a 0600 file; else $MEDREG_PKCS11_PIN */
} mr_tls_key_source;

/* Load and prove the identity: the key must sign, and the certificate's
 * public key must verify that signature. *errmsg says what failed. */
MR_MUST_CHECK medreg_err mr_tls_identity_load(const mr_tls_key_source *src, mr_tls_identity **out,
                                              char **errmsg);
void mr_tls_identity_free(mr_tls_identity *id);

/* libmicrohttpd's certificate callback (MHD_OPTION_HTTPS_CERT_CALLBACK)
 * passes no context, so the identity it serves is installed here once,
 * before the server starts, and never changed while it runs. */
void mr_tls_identity_install(const mr_tls_identity *id);
int mr_tls_identity_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                             const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                             gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey);

#endif
