/* Signed notes, checkpoints and tile paths (note.h). Ed25519 is
 * libsodium's; the formats are parsed here because no Debian-packaged C
 * library implements them. Every length is checked before it is used. */
#include "note.h"

#include <inttypes.h>
#include <openssl/sha.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

#include "../core/encode.h"
#include "../core/secret.h"
#include "../token/key25519.h"

static const char DASH[] = "\xe2\x80\x94 "; /* U+2014 and a space */

static int valid_name(const char *s, size_t n)
{
    if (n == 0 || n > MR_NOTE_NAME_MAX || u8_check((const uint8_t *)s, n) != NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f || c == '+')
            return 0;
    }
    return 1;
}

uint32_t mr_note_key_id(const char *name, uint8_t alg, const uint8_t pk[32])
{
    size_t n = strlen(name);
    uint8_t buf[MR_NOTE_NAME_MAX + 2 + 32], h[32];
    if (n > MR_NOTE_NAME_MAX)
        return 0;
    memcpy(buf, name, n);
    buf[n] = '\n';
    buf[n + 1] = alg;
    memcpy(buf + n + 2, pk, 32);
    SHA256(buf, n + 2 + 32, h);
    return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

static int known_alg(uint8_t a)
{
    return a == MR_NOTE_ALG_ED25519 || a == MR_NOTE_ALG_COSIGNATURE;
}

/* "name+hhhhhhhh+base64" into its parts; the base64 holds 33 bytes: the
 * type, then the key */
static medreg_err split_key(const char *s, char *name, uint32_t *id, uint8_t key[33])
{
    const char *p1 = strchr(s, '+'), *p2 = p1 ? strchr(p1 + 1, '+') : NULL;
    size_t got = 0;
    if (p1 == NULL || p2 == NULL || !valid_name(s, (size_t)(p1 - s)) || p2 - p1 - 1 != 8)
        return MEDREG_ERR_INVALID;
    uint32_t v = 0;
    for (const char *q = p1 + 1; q < p2; q++) {
        int d = *q >= '0' && *q <= '9' ? *q - '0' : *q >= 'a' && *q <= 'f' ? *q - 'a' + 10 : -1;
        if (d < 0) /* lower-case hex only */
            return MEDREG_ERR_INVALID;
        v = v << 4 | (uint32_t)d;
    }
    if (!mr_unbase64(p2 + 1, strlen(p2 + 1), key, 33, &got) || got != 33 || !known_alg(key[0]))
        return MEDREG_ERR_INVALID;
    memcpy(name, s, (size_t)(p1 - s));
    name[p1 - s] = 0;
    *id = v;
    return MEDREG_OK;
}

medreg_err mr_note_verifier_parse(const char *vkey, mr_note_verifier *out)
{
    uint8_t key[33];
    memset(out, 0, sizeof *out);
    if (vkey == NULL || strlen(vkey) > MR_NOTE_NAME_MAX + 64 || split_key(vkey, out->name, &out->key_id, key) != MEDREG_OK)
        return MEDREG_ERR_INVALID;
    memcpy(out->pk, key + 1, 32);
    out->alg = key[0];
    return mr_note_key_id(out->name, out->alg, out->pk) == out->key_id ? MEDREG_OK : MEDREG_ERR_INVALID;
}

static char *key_string(const char *prefix, const char *name, uint8_t alg, uint32_t id, const uint8_t body[32])
{
    uint8_t k[33];
    char *b = NULL, *out = NULL;
    k[0] = alg;
    memcpy(k + 1, body, 32);
    if ((b = mr_base64(k, sizeof k)) != NULL && asprintf(&out, "%s%s+%08" PRIx32 "+%s", prefix, name, id, b) < 0)
        out = NULL;
    if (b) {
        mr_wipe(b, strlen(b));
        free(b);
    }
    mr_wipe(k, sizeof k);
    return out;
}

medreg_err mr_note_verifier_format(const mr_note_verifier *v, char **out)
{
    *out = key_string("", v->name, v->alg, v->key_id, v->pk);
    return *out ? MEDREG_OK : MEDREG_ERR_NOMEM;
}

medreg_err mr_note_verifier_make(const char *name, uint8_t alg, const uint8_t pk[32], mr_note_verifier *out)
{
    memset(out, 0, sizeof *out);
    if (name == NULL || !valid_name(name, strlen(name)) || !known_alg(alg))
        return MEDREG_ERR_INVALID;
    memcpy(out->pk, pk, 32);
    snprintf(out->name, sizeof out->name, "%s", name);
    out->alg = alg;
    out->key_id = mr_note_key_id(name, alg, pk);
    return MEDREG_OK;
}

medreg_err mr_note_signer_from_key(const char *name, uint8_t alg, mr_key25519 *key, mr_note_signer *out)
{
    memset(out, 0, sizeof *out);
    if (key == NULL || mr_key25519_type(key) != MR_KEY_ED25519)
        return MEDREG_ERR_INVALID;
    medreg_err rc = mr_note_verifier_make(name, alg, mr_key25519_public(key), &out->v);
    if (rc == MEDREG_OK)
        out->key = key;
    return rc;
}

medreg_err mr_note_signer_from_seed(const char *name, uint8_t alg, const uint8_t seed[32], mr_note_signer *out)
{
    mr_key25519 *k = NULL;
    memset(out, 0, sizeof *out);
    if (name == NULL || !valid_name(name, strlen(name)) || !known_alg(alg))
        return MEDREG_ERR_INVALID;
    medreg_err rc = mr_key25519_from_bytes(MR_KEY_ED25519, seed, &k);
    if (rc == MEDREG_OK && (rc = mr_note_signer_from_key(name, alg, k, out)) != MEDREG_OK)
        mr_key25519_close(k);
    return rc;
}

medreg_err mr_note_signer_parse(const char *skey, mr_note_signer *out)
{
    static const char prefix[] = "PRIVATE+KEY+";
    char name[MR_NOTE_NAME_MAX + 1];
    uint32_t id = 0;
    uint8_t key[33];
    medreg_err rc;
    memset(out, 0, sizeof *out);
    if (skey == NULL || strncmp(skey, prefix, sizeof prefix - 1) != 0 || strlen(skey) > MR_NOTE_NAME_MAX + 80)
        return MEDREG_ERR_INVALID;
    if ((rc = split_key(skey + sizeof prefix - 1, name, &id, key)) == MEDREG_OK &&
        (rc = mr_note_signer_from_seed(name, key[0], key + 1, out)) == MEDREG_OK && out->v.key_id != id) {
        mr_note_signer_clear(out);
        rc = MEDREG_ERR_INVALID;
    }
    mr_wipe(key, sizeof key);
    return rc;
}

medreg_err mr_note_signer_format(const mr_note_signer *s, const uint8_t seed[32], char **out)
{
    *out = key_string("PRIVATE+KEY+", s->v.name, s->v.alg, s->v.key_id, seed);
    return *out ? MEDREG_OK : MEDREG_ERR_NOMEM;
}

void mr_note_signer_clear(mr_note_signer *s)
{
    mr_key25519_close(s->key);
    memset(s, 0, sizeof *s);
}

/* text: UTF-8, ends in "\n", no control characters but "\n" */
static int valid_text(const char *t, size_t n)
{
    if (n == 0 || n > MR_NOTE_MAX || t[n - 1] != '\n' || u8_check((const uint8_t *)t, n) != NULL)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)t[i] < 0x20 && t[i] != '\n') || t[i] == 0x7f)
            return 0;
    return 1;
}

medreg_err mr_note_sign(const char *text, size_t len, const mr_note_signer *s, char **note)
{
    uint8_t blob[4 + crypto_sign_BYTES];
    char *b = NULL;
    *note = NULL;
    if (!valid_text(text, len) || s == NULL || s->key == NULL || s->v.alg != MR_NOTE_ALG_ED25519)
        return MEDREG_ERR_INVALID;
    blob[0] = (uint8_t)(s->v.key_id >> 24);
    blob[1] = (uint8_t)(s->v.key_id >> 16);
    blob[2] = (uint8_t)(s->v.key_id >> 8);
    blob[3] = (uint8_t)s->v.key_id;
    medreg_err rc = mr_key25519_sign(s->key, (const uint8_t *)text, len, blob + 4);
    if (rc != MEDREG_OK)
        return rc;
    if ((b = mr_base64(blob, sizeof blob)) == NULL ||
        asprintf(note, "%.*s\n%s%s %s\n", (int)len, text, DASH, s->v.name, b) < 0)
        *note = NULL;
    free(b);
    return *note ? MEDREG_OK : MEDREG_ERR_NOMEM;
}

/* "cosignature/v1\ntime T\n" ‖ text, into a malloc'ed buffer */
static uint8_t *cosigned_message(const char *text, size_t len, uint64_t t, size_t *out_len)
{
    char head[64];
    int hl = snprintf(head, sizeof head, "cosignature/v1\ntime %" PRIu64 "\n", t);
    uint8_t *m = malloc((size_t)hl + len);
    if (m == NULL)
        return NULL;
    memcpy(m, head, (size_t)hl);
    memcpy(m + hl, text, len);
    *out_len = (size_t)hl + len;
    return m;
}

medreg_err mr_note_cosign(const char *text, size_t len, const mr_note_signer *s, uint64_t timestamp, char **line)
{
    uint8_t blob[4 + 8 + crypto_sign_BYTES], *msg = NULL;
    size_t ml = 0;
    char *b = NULL;
    *line = NULL;
    if (!valid_text(text, len) || s == NULL || s->key == NULL || s->v.alg != MR_NOTE_ALG_COSIGNATURE ||
        timestamp > (uint64_t)INT64_MAX)
        return MEDREG_ERR_INVALID;
    if ((msg = cosigned_message(text, len, timestamp, &ml)) == NULL)
        return MEDREG_ERR_NOMEM;
    for (int i = 0; i < 4; i++)
        blob[i] = (uint8_t)(s->v.key_id >> (24 - 8 * i));
    for (int i = 0; i < 8; i++)
        blob[4 + i] = (uint8_t)(timestamp >> (56 - 8 * i));
    medreg_err rc = mr_key25519_sign(s->key, msg, ml, blob + 12);
    free(msg);
    if (rc != MEDREG_OK)
        return rc;
    if ((b = mr_base64(blob, sizeof blob)) == NULL || asprintf(line, "%s%s %s\n", DASH, s->v.name, b) < 0)
        *line = NULL;
    free(b);
    return *line ? MEDREG_OK : MEDREG_ERR_NOMEM;
}

medreg_err mr_note_add_line(const char *note, size_t len, const char *line, char **out)
{
    size_t ll = strlen(line);
    *out = NULL;
    if (len == 0 || len > MR_NOTE_MAX || note[len - 1] != '\n' || ll < sizeof DASH || line[ll - 1] != '\n' ||
        strncmp(line, DASH, sizeof DASH - 1) != 0)
        return MEDREG_ERR_INVALID;
    if ((*out = malloc(len + ll + 1)) == NULL)
        return MEDREG_ERR_NOMEM;
    memcpy(*out, note, len);
    memcpy(*out + len, line, ll + 1);
    return MEDREG_OK;
}

medreg_err mr_note_open(const char *note, size_t len, const mr_note_verifier *vs, size_t nv, size_t *text_len,
                        int *verified)
{
    const char *split = NULL;
    size_t n_sigs = 0;
    int any = 0;
    for (size_t i = 0; i < nv; i++)
        verified[i] = 0;
    if (note == NULL || len < 2 || len > MR_NOTE_MAX || note[len - 1] != '\n' || memchr(note, 0, len) != NULL)
        return MEDREG_ERR_INVALID;
    /* the text ends at the last blank line; signature lines never hold one */
    for (size_t i = len - 1; i > 0; i--)
        if (note[i] == '\n' && note[i - 1] == '\n') {
            split = note + i;
            break;
        }
    if (split == NULL || !valid_text(note, (size_t)(split - note)))
        return MEDREG_ERR_INVALID;
    *text_len = (size_t)(split - note);
    for (const char *p = split + 1; p < note + len;) {
        const char *eol = memchr(p, '\n', (size_t)(note + len - p));
        const char *sp;
        uint8_t blob[4 + 256];
        size_t got = 0;
        if (eol == NULL || ++n_sigs > MR_NOTE_SIGS_MAX || (size_t)(eol - p) < sizeof DASH ||
            memcmp(p, DASH, sizeof DASH - 1) != 0)
            return MEDREG_ERR_INVALID;
        p += sizeof DASH - 1;
        sp = memchr(p, ' ', (size_t)(eol - p));
        if (sp == NULL || !valid_name(p, (size_t)(sp - p)) ||
            !mr_unbase64(sp + 1, (size_t)(eol - sp - 1), blob, sizeof blob, &got) || got < 5)
            return MEDREG_ERR_INVALID;
        uint32_t id = (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 | (uint32_t)blob[2] << 8 | blob[3];
        for (size_t i = 0; i < nv; i++) {
            if (vs[i].key_id != id || strlen(vs[i].name) != (size_t)(sp - p) || memcmp(vs[i].name, p, (size_t)(sp - p)))
                continue;
            /* a known key's signature must verify: otherwise the note is forged */
            if (vs[i].alg == MR_NOTE_ALG_COSIGNATURE) {
                uint64_t t = 0;
                size_t ml = 0;
                if (got != 12 + crypto_sign_BYTES)
                    return MEDREG_ERR_VERIFY;
                for (int k = 0; k < 8; k++)
                    t = t << 8 | blob[4 + k];
                uint8_t *m = t <= (uint64_t)INT64_MAX ? cosigned_message(note, *text_len, t, &ml) : NULL;
                int bad = m == NULL || crypto_sign_verify_detached(blob + 12, m, ml, vs[i].pk) != 0;
                free(m);
                if (bad)
                    return MEDREG_ERR_VERIFY;
            } else if (got != 4 + crypto_sign_BYTES ||
                       crypto_sign_verify_detached(blob + 4, (const uint8_t *)note, *text_len, vs[i].pk) != 0) {
                return MEDREG_ERR_VERIFY;
            }
            verified[i] = 1;
            any = 1;
        }
        p = eol + 1;
    }
    return any ? MEDREG_OK : MEDREG_ERR_VERIFY;
}

medreg_err mr_checkpoint_format(const mr_checkpoint *c, char **text, size_t *len)
{
    char *b = mr_base64(c->root, MR_HASH_BYTES);
    int n;
    *text = NULL;
    if (!valid_name(c->origin, strlen(c->origin))) {
        free(b);
        return MEDREG_ERR_INVALID;
    }
    n = b ? asprintf(text, "%s\n%" PRIu64 "\n%s\n", c->origin, c->size, b) : -1;
    free(b);
    if (n < 0) {
        *text = NULL;
        return MEDREG_ERR_NOMEM;
    }
    *len = (size_t)n;
    return MEDREG_OK;
}

medreg_err mr_checkpoint_parse(const char *text, size_t len, mr_checkpoint *out)
{
    const char *l1, *l2, *l3;
    size_t got = 0;
    memset(out, 0, sizeof *out);
    if (!valid_text(text, len))
        return MEDREG_ERR_INVALID;
    if ((l1 = memchr(text, '\n', len)) == NULL || (l2 = memchr(l1 + 1, '\n', len - (size_t)(l1 + 1 - text))) == NULL ||
        (l3 = memchr(l2 + 1, '\n', len - (size_t)(l2 + 1 - text))) == NULL)
        return MEDREG_ERR_INVALID;
    /* the origin: a note name's rules, which also keep it on one line */
    if (!valid_name(text, (size_t)(l1 - text)))
        return MEDREG_ERR_INVALID;
    memcpy(out->origin, text, (size_t)(l1 - text));
    /* the size: decimal, no sign, no leading zero */
    const char *s = l1 + 1;
    size_t sl = (size_t)(l2 - s);
    if (sl == 0 || sl > 20 || (sl > 1 && s[0] == '0'))
        return MEDREG_ERR_INVALID;
    uint64_t v = 0;
    for (size_t i = 0; i < sl; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
            return MEDREG_ERR_INVALID;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    out->size = v;
    if (!mr_unbase64(l2 + 1, (size_t)(l3 - l2 - 1), out->root, MR_HASH_BYTES, &got) || got != MR_HASH_BYTES)
        return MEDREG_ERR_INVALID;
    /* extension lines: non-empty */
    for (const char *p = l3 + 1; p < text + len;) {
        const char *eol = memchr(p, '\n', (size_t)(text + len - p));
        if (eol == NULL || eol == p)
            return MEDREG_ERR_INVALID;
        p = eol + 1;
    }
    return MEDREG_OK;
}

medreg_err mr_tile_path(int level, uint64_t index, unsigned width, char *out, size_t cap)
{
    char digits[32], *o = out;
    size_t used;
    if (level < -1 || level > 63 || width < 1 || width > 256 || cap < 64)
        return MEDREG_ERR_INVALID;
    int n = snprintf(digits, sizeof digits, "%" PRIu64, index);
    int pad = (3 - n % 3) % 3; /* zero-pad to groups of three */
    used = (size_t)snprintf(o, cap, "tile/");
    if (level < 0)
        used += (size_t)snprintf(o + used, cap - used, "entries/");
    else
        used += (size_t)snprintf(o + used, cap - used, "%d/", level);
    char padded[40];
    snprintf(padded, sizeof padded, "%.*s%s", pad, "00", digits);
    size_t pl = strlen(padded);
    for (size_t i = 0; i < pl; i += 3) {
        if (used + 6 >= cap)
            return MEDREG_ERR_TOOBIG;
        used += (size_t)snprintf(o + used, cap - used, "%s%.3s%s", i + 3 < pl ? "x" : "", padded + i,
                                 i + 3 < pl ? "/" : "");
    }
    if (width < 256 && (size_t)snprintf(o + used, cap - used, ".p/%u", width) >= cap - used)
        return MEDREG_ERR_TOOBIG;
    return MEDREG_OK;
}
