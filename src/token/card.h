/* Making smartcards for demonstrations and tests: a SoftHSM2 (or any
 * PKCS#11) token initialised with a label and PIN, a key pair generated on
 * it, and a certificate from the development CA stored next to the key. */
#ifndef MR_CARD_H
#define MR_CARD_H

#include "../core/safety.h"

typedef struct mr_card_spec {
    const char *module;   /* PKCS#11 library */
    const char *label;    /* token label, at most 32 bytes */
    const char *pin;      /* user PIN */
    const char *so_pin;   /* security officer PIN */
    const char *key_type; /* rsa2048|rsa3072|rsa4096|p256|p384|brainpoolp256r1 */
    const char *pki_dir;  /* the development CA that certifies the key */
    const char *name;     /* the certificate's common name */
    const char *cert_out; /* also write the certificate here (PEM), or NULL */
} mr_card_spec;

/* Initialise the first uninitialised token of the module. *errmsg says
 * what failed. */
MR_MUST_CHECK medreg_err mr_card_init(const mr_card_spec *spec, char **errmsg);

#endif
