/* Internal IDs: random (HIPAA §164.514(c): not derived from anything about
 * the patient), one per physician–patient relation, carrying an ISO/IEC 7064
 * MOD 37,36 check character so that a mistyped ID is caught before lookup. */
#include <sodium.h>
#include <string.h>

#include "medreg/pseudonym.h"

static const char ALPHABET[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
#define ID_CHARS 12

static int char_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return -1;
}

/* ISO/IEC 7064 hybrid system MOD 37,36: returns the running product p. */
static int mod3736_run(const char *s, size_t n)
{
    int p = 36;
    for (size_t i = 0; i < n; i++) {
        int s_ = (p + char_value(s[i])) % 36;
        if (s_ == 0)
            s_ = 36;
        p = (s_ * 2) % 37;
    }
    return p;
}

static char mod3736_check(const char *s, size_t n)
{
    int p = mod3736_run(s, n);
    return ALPHABET[(37 - p) % 36];
}

static void format_id(const char raw[ID_CHARS + 1], char out[MEDREG_INTERNAL_ID_LEN + 1])
{
    size_t o = 0;
    for (size_t i = 0; i < ID_CHARS; i++) {
        if (i > 0 && i % 4 == 0)
            out[o++] = '-';
        out[o++] = raw[i];
    }
    out[o++] = '-';
    out[o++] = raw[ID_CHARS];
    out[o] = 0;
}

medreg_err medreg_internal_id_new(char out[MEDREG_INTERNAL_ID_LEN + 1])
{
    char raw[ID_CHARS + 1];
    uint8_t pool[64];
    size_t used = sizeof pool, n = 0;
    /* uniform over 36 symbols by rejection: bytes >= 252 (= 7 * 36) are
     * dropped; one random draw serves the whole ID */
    while (n < ID_CHARS) {
        if (used == sizeof pool) {
            randombytes_buf(pool, sizeof pool);
            used = 0;
        }
        uint8_t b = pool[used++];
        if (b < 252)
            raw[n++] = ALPHABET[b % 36];
    }
    sodium_memzero(pool, sizeof pool);
    raw[ID_CHARS] = mod3736_check(raw, ID_CHARS);
    format_id(raw, out);
    return MEDREG_OK;
}

medreg_err medreg_internal_id_parse(const char *in, char out[MEDREG_INTERNAL_ID_LEN + 1])
{
    char raw[ID_CHARS + 1];
    size_t n = 0;
    if (in == NULL)
        return MEDREG_ERR_INVALID;
    for (size_t i = 0; in[i] != 0; i++) {
        char c = in[i];
        if (c == '-' || c == ' ')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (char_value(c) < 0 || n >= sizeof raw || i > 64)
            return MEDREG_ERR_INVALID;
        raw[n++] = c;
    }
    if (n != ID_CHARS + 1)
        return MEDREG_ERR_INVALID;
    /* valid iff the run over all characters, check included, ends at 1 */
    int p = 36;
    for (size_t i = 0; i < n; i++) {
        int s_ = (p + char_value(raw[i])) % 36;
        if (s_ == 0)
            s_ = 36;
        if (i == n - 1) {
            if (s_ % 36 != 1)
                return MEDREG_ERR_INVALID;
            break;
        }
        p = (s_ * 2) % 37;
    }
    format_id(raw, out);
    return MEDREG_OK;
}
