#include "name_memo.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../core/secret.h"

#define SLOTS 4096 /* a power of two: a few hundred KiB, most of it in cache */

typedef struct slot {
    uint8_t in_len, out_len; /* out_len 0: empty */
    medreg_ident_rule rule;
    char in[MR_MEMO_VALUE_MAX];
    char out[MR_MEMO_VALUE_MAX + 1];
} slot;

struct mr_name_memo {
    uint8_t hash_key[crypto_shorthash_KEYBYTES]; /* random: inputs cannot be chosen to collide */
    uint64_t filled[SLOTS / 64]; /* the slots ever written: only those are wiped, so that a short run does
                                    not make the kernel allocate every page of the table to zero it */
    slot slots[SLOTS];
};

medreg_err mr_name_memo_new(mr_name_memo **out)
{
    if ((*out = calloc(1, sizeof **out)) == NULL)
        return MEDREG_ERR_NOMEM;
    randombytes_buf((*out)->hash_key, sizeof (*out)->hash_key);
    return MEDREG_OK;
}

void mr_name_memo_free(mr_name_memo *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < SLOTS; i++)
        if (m->filled[i / 64] >> (i % 64) & 1)
            mr_wipe(&m->slots[i], sizeof m->slots[i]);
    mr_wipe(m->hash_key, sizeof m->hash_key);
    free(m);
}

medreg_err mr_name_memo_normalize(mr_name_memo *m, const medreg_ident_rule *rule, const char *in, size_t in_len,
                                  char out[MR_MEMO_VALUE_MAX + 1])
{
    uint8_t h[crypto_shorthash_BYTES];
    char *norm = NULL;

    if (in_len > MR_MEMO_VALUE_MAX)
        return MEDREG_ERR_TOOBIG;
    crypto_shorthash(h, (const unsigned char *)in, in_len, m->hash_key);
    slot *s = &m->slots[(h[0] | (size_t)h[1] << 8) & (SLOTS - 1)];
    /* the comparison takes the same time wherever the values differ */
    unsigned diff = s->in_len ^ (unsigned)in_len;
    for (size_t i = 0; i < in_len; i++)
        diff |= (unsigned char)(s->in[i] ^ in[i]);
    if (s->out_len && diff == 0 && !memcmp(&s->rule, rule, sizeof *rule)) {
        memcpy(out, s->out, s->out_len + 1u);
        return MEDREG_OK;
    }
    medreg_err rc = medreg_normalize(rule, in, in_len, &norm);
    if (rc != MEDREG_OK)
        return rc;
    size_t n = strlen(norm);
    if (n > MR_MEMO_VALUE_MAX) {
        mr_wipe(norm, n);
        free(norm);
        return MEDREG_ERR_TOOBIG;
    }
    memcpy(out, norm, n + 1);
    mr_wipe(s, sizeof *s); /* the slot's former patient */
    m->filled[(size_t)(s - m->slots) / 64] |= (uint64_t)1 << ((size_t)(s - m->slots) % 64);
    s->in_len = (uint8_t)in_len;
    s->out_len = (uint8_t)n;
    s->rule = *rule;
    memcpy(s->in, in, in_len);
    memcpy(s->out, norm, n + 1);
    mr_wipe(norm, n);
    free(norm);
    return MEDREG_OK;
}
