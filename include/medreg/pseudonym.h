/* medreg — identifier normalisation, long-term pseudonyms (PSN) and
 * internal IDs. These are the identity service's derivations; the offline
 * tools use the very same functions so that both agree. */
#ifndef MEDREG_PSEUDONYM_H
#define MEDREG_PSEUDONYM_H

#include <stddef.h>
#include <stdint.h>

#include "medreg/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest identifier value accepted, in bytes of UTF-8, before normalisation. */
#define MEDREG_IDENT_MAX 256

typedef enum medreg_ident_kind {
    MEDREG_IDENT_NAME = 1, /* person names: NFKD, marks and punctuation removed, case-folded */
    MEDREG_IDENT_DATE = 2, /* dates: ISO 8601 YYYY-MM-DD from common input forms */
    MEDREG_IDENT_CODE = 3  /* codes: uppercased A-Z0-9, separators removed, optional check */
} medreg_ident_kind;

typedef enum medreg_check_rule {
    MEDREG_CHECK_NONE = 0,
    MEDREG_CHECK_LUHN = 1,  /* ISO/IEC 7812 Luhn, digits only */
    MEDREG_CHECK_EAN13 = 2, /* GS1 EAN-13 (e.g. Swiss AHV/AVS numbers) */
    MEDREG_CHECK_MOD97 = 3  /* ISO 7064 MOD 97-10 over the alphanumeric code */
} medreg_check_rule;

typedef enum medreg_date_order {
    MEDREG_DATE_DMY = 0, /* 07/03/1961 is 7 March (default) */
    MEDREG_DATE_MDY = 1  /* 03/07/1961 is 7 March */
} medreg_date_order;

typedef struct medreg_ident_rule {
    medreg_ident_kind kind;
    medreg_check_rule check;     /* codes only */
    medreg_date_order slash_order; /* dates written with '/' only */
} medreg_ident_rule;

/* Normalise one identifier value. *out is a malloc'ed NUL-terminated UTF-8
 * string; free() it (after medreg_wipe if it held identifying data). Returns
 * MEDREG_ERR_INVALID for values that are empty after normalisation, not UTF-8,
 * contain control characters, are impossible dates or fail the check rule. */
MEDREG_EXPORT MEDREG_MUST_CHECK medreg_err medreg_normalize(const medreg_ident_rule *rule,
                                                            const char *in, size_t in_len,
                                                            char **out);

#define MEDREG_PSN_BYTES 32
#define MEDREG_PSN_KEY_BYTES 32

/* One (field name, normalised value) pair fed to the PSN. */
typedef struct medreg_psn_field {
    const char *name;
    const char *value;
} medreg_psn_field;

/* PSN = HMAC-SHA256(key, "medreg/psn/v1" ‖ u32(key_id) ‖ lp(module) ‖
 *                   u32(n) ‖ lp(name_1) ‖ lp(value_1) ‖ … )
 * where lp(x) = u32be(len(x)) ‖ x. See docs/pseudonyms.md. */
MEDREG_EXPORT MEDREG_MUST_CHECK medreg_err
medreg_psn_derive(const uint8_t key[MEDREG_PSN_KEY_BYTES], uint32_t key_id, const char *module,
                  const medreg_psn_field *fields, size_t n_fields,
                  uint8_t psn[MEDREG_PSN_BYTES]);

/* The message the PSN is computed over (above, without the key), written to
 * out. The network-wide PSN (docs/pseudonyms.md) is the RFC 9497 VOPRF of
 * this same message. MEDREG_ERR_TOOBIG when it exceeds cap. */
#define MEDREG_PSN_INPUT_MAX 65535
MEDREG_EXPORT MEDREG_MUST_CHECK medreg_err medreg_psn_input(uint32_t key_id, const char *module,
                                                            const medreg_psn_field *fields, size_t n_fields,
                                                            uint8_t *out, size_t cap, size_t *out_len);

/* Internal IDs: 12 random characters of 0-9A-Z plus one ISO 7064 MOD 37,36
 * check character, printed as XXXX-XXXX-XXXX-C. */
#define MEDREG_INTERNAL_ID_LEN 16 /* printed length, without NUL */

MEDREG_EXPORT MEDREG_MUST_CHECK medreg_err medreg_internal_id_new(char out[MEDREG_INTERNAL_ID_LEN + 1]);
/* Accepts typed-in forms (any case, with or without dashes or spaces) and
 * writes the canonical form. MEDREG_ERR_INVALID when the check fails. */
MEDREG_EXPORT MEDREG_MUST_CHECK medreg_err medreg_internal_id_parse(const char *in,
                                                                    char out[MEDREG_INTERNAL_ID_LEN + 1]);

#ifdef __cplusplus
}
#endif
#endif
