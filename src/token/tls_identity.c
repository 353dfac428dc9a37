#include "tls_identity.h"

#include <gnutls/pkcs11.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/secret.h"
#include "token.h"

#define MAX_CHAIN 8

struct mr_tls_identity {
    gnutls_pcert_st pcert[MAX_CHAIN];
    unsigned int n_pcert;
    gnutls_privkey_t key;
    char pin[MR_PIN_MAX]; /* kept for re-login after a token session ends; wiped on free */
};

static const mr_tls_identity *installed;

static int pin_callback(void *userdata, int attempt, const char *token_url, const char *token_label,
                        unsigned int flags, char *pin, size_t pin_max)
{
    const mr_tls_identity *id = userdata;
    (void)token_url;
    (void)token_label;
    /* never retry a refused PIN: a token locks after a few wrong ones */
    if (attempt > 0 || (flags & GNUTLS_PIN_WRONG) || id->pin[0] == 0 || strlen(id->pin) >= pin_max)
        return -1;
    memcpy(pin, id->pin, strlen(id->pin) + 1);
    return 0;
}

static int fail(char **errmsg, const char *what, const char *where, int gerr)
{
    if (asprintf(errmsg, "%s %s%s%s", what, where, gerr ? ": " : "", gerr ? gnutls_strerror(gerr) : "") < 0)
        *errmsg = NULL;
    return 0;
}

medreg_err mr_tls_identity_load(const mr_tls_key_source *src, mr_tls_identity **out, char **errmsg)
{
    medreg_err rc = MEDREG_ERR_CONFIG;
    mr_tls_identity *id = NULL;
    char *cert_pem = NULL;
    uint8_t *key_pem = NULL;
    size_t cert_len = 0, key_len = 0;
    gnutls_x509_crt_t crts[MAX_CHAIN];
    unsigned int n_crts = MAX_CHAIN;
    gnutls_pubkey_t pub = NULL;
    gnutls_datum_t sig = {NULL, 0};
    int g, have_crts = 0;

    *out = NULL;
    *errmsg = NULL;
    id = calloc(1, sizeof *id);
    if (id == NULL)
        return MEDREG_ERR_NOMEM;
    medreg_err frc = mr_regular_file_read(src->cert_path, 1 << 16, &cert_pem, &cert_len);
    if (frc != MEDREG_OK) {
        fail(errmsg, frc == MEDREG_ERR_INVALID ? "the certificate is not a regular file:" : "cannot read the certificate",
             src->cert_path, 0);
        goto out;
    }
    gnutls_datum_t cd = {(unsigned char *)cert_pem, (unsigned int)cert_len};
    g = gnutls_x509_crt_list_import(crts, &n_crts, &cd, GNUTLS_X509_FMT_PEM, 0);
    if (g < 0 || n_crts == 0) {
        fail(errmsg, "not a PEM certificate:", src->cert_path, g < 0 ? g : 0);
        goto out;
    }
    have_crts = 1;
    for (unsigned int i = 0; i < n_crts; i++) {
        g = gnutls_pcert_import_x509(&id->pcert[i], crts[i], 0);
        if (g < 0) {
            fail(errmsg, "cannot use the certificate", src->cert_path, g);
            goto out;
        }
        id->n_pcert++;
    }
    if (gnutls_privkey_init(&id->key) < 0)
        goto out;
    if (strncmp(src->key, "pkcs11:", 7) == 0) {
        if (src->pkcs11_module == NULL) {
            fail(errmsg, "a pkcs11: key needs pkcs11_module (the token's PKCS#11 library) for", src->key, 0);
            goto out;
        }
        if (mr_pin_read(src->pin_file, "MEDREG_PKCS11_PIN", NULL, id->pin, errmsg) != MEDREG_OK) {
            char *why = *errmsg; /* the reader's words, then which key wanted the PIN */
            *errmsg = NULL;
            fail(errmsg, why ? why : "no PIN", "(for tls_key)", 0);
            free(why);
            goto out;
        }
        if (mr_path_is_irregular(src->pkcs11_module)) {
            fail(errmsg, "the PKCS#11 module is not a regular file:", src->pkcs11_module, 0);
            goto out;
        }
        g = gnutls_pkcs11_init(GNUTLS_PKCS11_FLAG_MANUAL, NULL);
        if (g == 0)
            g = gnutls_pkcs11_add_provider(src->pkcs11_module, NULL);
        if (g < 0) {
            fail(errmsg, "cannot load the PKCS#11 module", src->pkcs11_module, g);
            goto out;
        }
        gnutls_pkcs11_set_pin_function(pin_callback, id);
        g = gnutls_privkey_import_url(id->key, src->key, GNUTLS_PKCS11_OBJ_FLAG_LOGIN);
        if (g < 0) {
            fail(errmsg, "cannot open the key on the token (wrong PIN, token or object?):", src->key, g);
            goto out;
        }
    } else {
        if (mr_secret_file_read(src->key, 0, 1 << 16, &key_pem, &key_len) != MEDREG_OK) {
            fail(errmsg, "cannot read the key (it must be a mode 0600 PEM file):", src->key, 0);
            goto out;
        }
        gnutls_datum_t kd = {key_pem, (unsigned int)key_len};
        g = gnutls_privkey_import_x509_raw(id->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
        if (g < 0) {
            fail(errmsg, "not a PEM private key:", src->key, g);
            goto out;
        }
    }
    /* prove it: the key signs, and the certificate's public key verifies */
    static const unsigned char probe[] = "medreg/tls-identity-probe/v1";
    gnutls_datum_t pd = {(unsigned char *)probe, sizeof probe - 1};
    gnutls_sign_algorithm_t algo =
        gnutls_pk_to_sign(gnutls_privkey_get_pk_algorithm(id->key, NULL), GNUTLS_DIG_SHA256);
    g = gnutls_privkey_sign_data2(id->key, algo, 0, &pd, &sig);
    if (g < 0) {
        fail(errmsg, "the private key cannot sign (PIN refused or token removed?):", src->key, g);
        goto out;
    }
    if (gnutls_pubkey_init(&pub) < 0 || gnutls_pubkey_import_x509(pub, crts[0], 0) < 0 ||
        gnutls_pubkey_verify_data2(pub, algo, 0, &pd, &sig) < 0) {
        fail(errmsg, "the private key does not belong to the certificate", src->cert_path, 0);
        goto out;
    }
    *out = id;
    id = NULL;
    rc = MEDREG_OK;
out:
    gnutls_free(sig.data);
    gnutls_pubkey_deinit(pub);
    if (have_crts)
        for (unsigned int i = 0; i < n_crts; i++)
            gnutls_x509_crt_deinit(crts[i]);
    mr_secret_free(key_pem);
    free(cert_pem);
    mr_tls_identity_free(id);
    return rc;
}

void mr_tls_identity_free(mr_tls_identity *id)
{
    if (id == NULL)
        return;
    for (unsigned int i = 0; i < id->n_pcert; i++)
        gnutls_pcert_deinit(&id->pcert[i]);
    if (id->key)
        gnutls_privkey_deinit(id->key);
    mr_wipe(id->pin, sizeof id->pin);
    free(id);
}

void mr_tls_identity_install(const mr_tls_identity *id) { installed = id; }

int mr_tls_identity_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                             const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                             gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
    (void)session;
    (void)req_ca_dn;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    if (installed == NULL)
        return -1;
    /* GnuTLS only reads these; the identity outlives the server */
    *pcert = (gnutls_pcert_st *)installed->pcert;
    *pcert_length = installed->n_pcert;
    *pkey = installed->key;
    return 0;
}
