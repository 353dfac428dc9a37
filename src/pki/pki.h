/* A development PKI: a CA and the certificates and keys of services and
 * people, made with OpenSSL. Operators with their own CA skip this (see
 * docs/pki.md). Private keys are written 0600 with O_EXCL. */
#ifndef MR_PKI_H
#define MR_PKI_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <time.h>
#include <stddef.h>

#include "../core/safety.h"

/* Create DIR (must not contain a CA yet) with ca.{crt,key}, certificates for
 * the identity and registry services, their protocol keys, and an "admin"
 * person certificate. */
MR_MUST_CHECK medreg_err mr_pki_init(const char *dir);

/* Issue NAME.crt/NAME.key in DIR signed by DIR/ca.key. service != 0 makes a
 * TLS server+client certificate for localhost/127.0.0.1. key_type as for
 * mr_key_generate; NULL means p256. */
MR_MUST_CHECK medreg_err mr_pki_issue(const char *dir, const char *name, int service, const char *key_type);

/* A fresh key pair: rsa2048, rsa3072, rsa4096, p256, p384, brainpoolp256r1. */
MR_MUST_CHECK medreg_err mr_key_generate(const char *type, EVP_PKEY **out);

/* A person certificate from DIR's CA for a public key made elsewhere (on a card). */
MR_MUST_CHECK medreg_err mr_pki_certify(const char *dir, const char *name, EVP_PKEY *pub, X509 **out);
MR_MUST_CHECK medreg_err mr_cert_write_pem(const char *path, X509 *crt);

/* Write PREFIX.key (0600) and PREFIX.pub: an Ed25519 signing key (seal = 0;
 * the file holds the seed) or an X25519 sealing key (seal = 1). */
MR_MUST_CHECK medreg_err mr_key_pair_new(const char *prefix, int seal);

/* Write a fresh random 32-byte key file (0600, must not exist). */
MR_MUST_CHECK medreg_err mr_key_new(const char *path);

/* SHA-256 of a PEM certificate's DER encoding, as 64 lowercase hex chars. */
MR_MUST_CHECK medreg_err mr_cert_fingerprint_pem(const char *pem, size_t len, char hex[65]);

/* Does crt chain to a certificate of the PEM bundle ca_pem (NUL-terminated),
 * and is it valid now? MEDREG_ERR_EXPIRED: it chains, but now is outside the
 * validity of crt or of a CA certificate; MEDREG_ERR_VERIFY: it does not chain. */
MR_MUST_CHECK medreg_err mr_cert_verify_ca(const char *ca_pem, X509 *crt);
/* SHA-256 of the DER encoding, as 64 lowercase hex chars. */
MR_MUST_CHECK medreg_err mr_cert_fingerprint(X509 *crt, char hex[65]);

/* A certificate from PEM text (at most 64 KiB), or NULL. */
X509 *mr_cert_from_pem(const char *pem, size_t len);
/* Is now within crt's notBefore..notAfter? (The chain is checked once, when
 * a certificate is registered; its validity is checked at each use.) */
int mr_cert_valid_at(const X509 *crt, time_t now);
/* Read a PEM certificate file; a PEM private key from a 0600 file. */
MR_MUST_CHECK medreg_err mr_cert_read_pem(const char *path, X509 **out);
MR_MUST_CHECK medreg_err mr_key_read_pem(const char *path, EVP_PKEY **out);

/* The certificate as a NUL-terminated PEM string (malloc'ed), or NULL. */
char *mr_cert_pem(X509 *crt);

#endif
