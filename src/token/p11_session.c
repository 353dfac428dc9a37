#include "p11_session.h"

#include <stdio.h>
#include <string.h>

#include "../core/secret.h"
#include "token_impl.h"

medreg_err mr_p11_error(CK_RV rv, medreg_err otherwise)
{
    switch (rv) {
    case CKR_OK: return MEDREG_OK;
    case CKR_PIN_INCORRECT:
    case CKR_PIN_LOCKED:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_EXPIRED: return MEDREG_ERR_PIN;
    /* "the card is gone" */
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_TOKEN_NOT_RECOGNIZED:
    case CKR_DEVICE_ERROR:
    case CKR_SESSION_CLOSED:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_OBJECT_HANDLE_INVALID:
    case CKR_KEY_HANDLE_INVALID:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_GENERAL_ERROR:
    case MR_CKR_PAST_BUFFER: return MEDREG_ERR_TOKEN;
    case CKR_MECHANISM_INVALID:
    case CKR_MECHANISM_PARAM_INVALID: return MEDREG_ERR_INVALID;
    default: return otherwise;
    }
}

CK_RV mr_p11_get_attributes(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE *at,
                            CK_ULONG n)
{
    CK_ULONG cap[8];
    if (n > 8)
        return CKR_ARGUMENTS_BAD;
    for (CK_ULONG i = 0; i < n; i++)
        cap[i] = at[i].ulValueLen;
    CK_RV rv = f->C_GetAttributeValue(s, obj, at, n);
    for (CK_ULONG i = 0; i < n && rv == CKR_OK; i++)
        if (at[i].pValue != NULL && at[i].ulValueLen > cap[i]) /* CK_UNAVAILABLE_INFORMATION too */
            rv = MR_CKR_PAST_BUFFER;
    return rv;
}

CK_RV mr_p11_slots_with_token(CK_FUNCTION_LIST *f, CK_SLOT_ID *slots, CK_ULONG *n)
{
    CK_ULONG cap = *n;
    CK_RV rv = f->C_GetSlotList(CK_TRUE, slots, n);
    if (rv == CKR_OK && *n > cap)
        rv = MR_CKR_PAST_BUFFER;
    if (rv != CKR_OK)
        *n = 0;
    return rv;
}

CK_RV mr_p11_find(mr_p11_session *p, P11KitUri *uri, CK_OBJECT_CLASS cls, const uint8_t *id, CK_ULONG id_len,
                  CK_OBJECT_HANDLE *out)
{
    CK_ATTRIBUTE tmpl[4];
    CK_ULONG n = 0, found = 0;
    tmpl[n++] = (CK_ATTRIBUTE){CKA_CLASS, &cls, sizeof cls};
    if (id) {
        tmpl[n++] = (CK_ATTRIBUTE){CKA_ID, (void *)id, id_len};
    } else {
        CK_ATTRIBUTE *a = p11_kit_uri_get_attribute(uri, CKA_ID);
        if (a)
            tmpl[n++] = *a;
        if ((a = p11_kit_uri_get_attribute(uri, CKA_LABEL)) != NULL)
            tmpl[n++] = *a;
    }
    CK_RV rv = p->f->C_FindObjectsInit(p->s, tmpl, n);
    if (rv != CKR_OK)
        return rv;
    rv = p->f->C_FindObjects(p->s, out, 1, &found);
    p->f->C_FindObjectsFinal(p->s);
    if (rv == CKR_OK && found == 0)
        return CKR_OBJECT_HANDLE_INVALID;
    return rv;
}

void mr_p11_session_close(mr_p11_session *p)
{
    /* no C_Logout: login state is the token's, shared by every session this
     * process has on it (another key may still be in use); it ends with the
     * last session */
    if (p->session_open)
        p->f->C_CloseSession(p->s);
    if (p->initialized)
        p11_kit_module_finalize(p->f);
    if (p->f)
        p11_kit_module_release(p->f);
    if (p->mu_ready)
        pthread_mutex_destroy(&p->mu);
    memset(p, 0, sizeof *p);
}

medreg_err mr_p11_session_open(const mr_token_spec *spec, int rw, mr_p11_session *p, P11KitUri **uri_out,
                               char **errmsg)
{
    medreg_err rc = MEDREG_OK;
    P11KitUri *uri = p11_kit_uri_new();
    CK_SLOT_ID slots[64], slot = 0;
    CK_ULONG n_slots = 64;
    CK_TOKEN_INFO ti;
    char pin[MR_PIN_MAX];
    int have = 0;

    memset(p, 0, sizeof *p);
    memset(pin, 0, sizeof pin);
    *uri_out = NULL;
    if (uri == NULL)
        return MEDREG_ERR_NOMEM;
    pthread_mutex_init(&p->mu, NULL);
    p->mu_ready = 1;
    if (p11_kit_uri_parse(spec->key, P11_KIT_URI_FOR_ANY, uri) != P11_KIT_URI_OK) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_CONFIG, "not a valid PKCS#11 URI", spec->key);
        goto out;
    }
    const char *module = p11_kit_uri_get_module_path(uri);
    if (module == NULL)
        module = spec->module;
    if (module == NULL) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_CONFIG, "no PKCS#11 module: add ?module-path=… to the URI",
                           spec->key);
        goto out;
    }
    if (mr_path_is_irregular(module)) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_CONFIG, "the PKCS#11 module is not a regular file", module);
        goto out;
    }
    if ((p->f = p11_kit_module_load(module, 0)) == NULL) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_CONFIG, "cannot load the PKCS#11 module", module);
        goto out;
    }
    if (p11_kit_module_initialize(p->f) != CKR_OK) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_TOKEN, "the PKCS#11 module did not initialise", module);
        goto out;
    }
    p->initialized = 1;
    if (mr_p11_slots_with_token(p->f, slots, &n_slots) == MR_CKR_PAST_BUFFER) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_TOKEN, MR_P11_PAST_BUFFER_SAYS " in its slot list", module);
        goto out;
    }
    for (CK_ULONG i = 0; i < n_slots && !have; i++)
        if (p->f->C_GetTokenInfo(slots[i], &ti) == CKR_OK && (ti.flags & CKF_TOKEN_INITIALIZED) &&
            p11_kit_uri_match_token_info(uri, &ti) == 1) {
            slot = slots[i];
            have = 1;
        }
    if (!have) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_TOKEN, "no token present matches", spec->key);
        goto out;
    }
    snprintf(p->desc, sizeof p->desc, "PKCS#11 token '%.*s'", (int)p11_kit_space_strlen(ti.label, 32), ti.label);
    if (p->f->C_OpenSession(slot, CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0), NULL, NULL, &p->s) != CKR_OK) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_TOKEN, "cannot open a session on", p->desc);
        goto out;
    }
    p->session_open = 1;
    if (ti.flags & CKF_LOGIN_REQUIRED) {
        if ((rc = mr_pin_read(spec->pin_file, spec->pin_env, spec->prompt, pin, errmsg)) != MEDREG_OK)
            goto out;
        CK_RV rv = p->f->C_Login(p->s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
        mr_wipe(pin, sizeof pin);
        if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
            rc = mr_token_fail(errmsg, mr_p11_error(rv, MEDREG_ERR_TOKEN),
                               rv == CKR_PIN_LOCKED ? "the token is locked (too many wrong PINs)"
                                                    : "the token refused the PIN (not retried)",
                               p->desc);
            goto out;
        }
    }
out:
    mr_wipe(pin, sizeof pin);
    if (rc != MEDREG_OK) {
        p11_kit_uri_free(uri);
        mr_p11_session_close(p);
        return rc;
    }
    *uri_out = uri;
    return MEDREG_OK;
}
