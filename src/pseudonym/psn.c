/* Long-term pseudonym (architecture: "PSN"). Length-prefixing every part
 * makes the encoding injective: ("ab","c") and ("a","bc") never collide; the
 * domain tag keeps this MAC apart from every other use of the key; the key id
 * is inside the MAC so a PSN names the key generation that made it. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "../core/safety.h"
#include "../core/secret.h"
#include "medreg/pseudonym.h"
#include "psn_input.h"
#include "../crypto/hmac.h"
#include "../crypto/oprf.h"

#define MR_OPRF_INFO_MODULE_MAX 256

static const char PSN_TAG[] = "medreg/psn/v1";

/* Append to *out (capacity cap, used *len); 0 when it does not fit. */
static int put(uint8_t *out, size_t cap, size_t *len, const void *p, size_t n)
{
    if (n > cap - *len)
        return 0;
    if (n)
        memcpy(out + *len, p, n);
    *len += n;
    return 1;
}

static int put_u32(uint8_t *out, size_t cap, size_t *len, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return put(out, cap, len, b, 4);
}

static int put_lp(uint8_t *out, size_t cap, size_t *len, const char *s)
{
    size_t n = strlen(s);
    return n <= UINT32_MAX && put_u32(out, cap, len, (uint32_t)n) && put(out, cap, len, s, n);
}

medreg_err medreg_psn_input(uint32_t key_id, const char *module, const medreg_psn_field *fields,
                            size_t n_fields, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t len = 0;
    if (module == NULL || (fields == NULL && n_fields) || n_fields > UINT32_MAX || out == NULL || out_len == NULL)
        return MEDREG_ERR_INVALID;
    if (!put(out, cap, &len, PSN_TAG, sizeof PSN_TAG - 1) || !put_u32(out, cap, &len, key_id) ||
        !put_lp(out, cap, &len, module) || !put_u32(out, cap, &len, (uint32_t)n_fields))
        return MEDREG_ERR_TOOBIG;
    for (size_t i = 0; i < n_fields; i++) {
        if (fields[i].name == NULL || fields[i].value == NULL)
            return MEDREG_ERR_INVALID;
        if (!put_lp(out, cap, &len, fields[i].name) || !put_lp(out, cap, &len, fields[i].value))
            return MEDREG_ERR_TOOBIG;
    }
    *out_len = len;
    return MEDREG_OK;
}

medreg_err mr_psn_input_buf(uint32_t key_id, const char *module, const medreg_psn_field *fields,
                            size_t n_fields, uint8_t *stack, size_t stack_cap, uint8_t **msg, size_t *len)
{
    medreg_err rc = medreg_psn_input(key_id, module, fields, n_fields, stack, stack_cap, len);
    *msg = stack;
    if (rc != MEDREG_ERR_TOOBIG)
        return rc;
    if ((*msg = malloc(MEDREG_PSN_INPUT_MAX)) == NULL)
        return MEDREG_ERR_NOMEM;
    rc = medreg_psn_input(key_id, module, fields, n_fields, *msg, MEDREG_PSN_INPUT_MAX, len);
    if (rc != MEDREG_OK) {
        free(*msg);
        *msg = stack;
    }
    return rc;
}

void mr_psn_input_release(uint8_t *msg, size_t len, const uint8_t *stack)
{
    mr_wipe(msg, len);
    if (msg != stack)
        free(msg);
}

/* The PSN under h when there is one, else under key (used once). */
static medreg_err derive(mr_hmac *h, const uint8_t *key, uint32_t key_id, const char *module,
                         const medreg_psn_field *fields, size_t n_fields, uint8_t psn[MEDREG_PSN_BYTES])
{
    uint8_t stack[2048], *msg = stack;
    size_t len = 0;
    medreg_err rc;

    if ((h == NULL && key == NULL) || psn == NULL)
        return MEDREG_ERR_INVALID;
    rc = mr_psn_input_buf(key_id, module, fields, n_fields, stack, sizeof stack, &msg, &len);
    if (rc != MEDREG_OK)
        return rc;
    mr_hmac_part part = {msg, len};
    rc = h ? mr_hmac_parts(h, &part, 1, psn) : mr_hmac_once(key, MEDREG_PSN_KEY_BYTES, &part, 1, psn);
    mr_psn_input_release(msg, len, stack);
    return rc;
}

medreg_err medreg_psn_derive(const uint8_t key[MEDREG_PSN_KEY_BYTES], uint32_t key_id,
                             const char *module, const medreg_psn_field *fields, size_t n_fields,
                             uint8_t psn[MEDREG_PSN_BYTES])
{
    return derive(NULL, key, key_id, module, fields, n_fields, psn);
}

medreg_err mr_psn_derive_mac(mr_hmac *module_key, uint32_t key_id, const char *module,
                             const medreg_psn_field *fields, size_t n_fields, uint8_t psn[MEDREG_PSN_BYTES])
{
    return module_key ? derive(module_key, NULL, key_id, module, fields, n_fields, psn) : MEDREG_ERR_INVALID;
}

medreg_err mr_psn_oprf_key(const uint8_t module_key[MEDREG_PSN_KEY_BYTES], uint32_t key_id, const char *module,
                           uint8_t sk[32], uint8_t pk[32])
{
    static const char tag[] = "medreg/oprf/v1";
    uint8_t info[sizeof tag - 1 + 8 + MR_OPRF_INFO_MODULE_MAX];
    size_t len = 0;
    if (module_key == NULL || module == NULL)
        return MEDREG_ERR_INVALID;
    if (!put(info, sizeof info, &len, tag, sizeof tag - 1) || !put_u32(info, sizeof info, &len, key_id) ||
        !put_lp(info, sizeof info, &len, module))
        return MEDREG_ERR_TOOBIG;
    return mr_oprf_derive_key(MR_OPRF_MODE_VERIFIABLE, module_key, MEDREG_PSN_KEY_BYTES, info, len, sk, pk);
}
