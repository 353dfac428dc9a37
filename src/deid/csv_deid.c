/* The CSV pipeline. The calling thread parses (libcsv) into batches of
 * rows; worker threads check and transform each row in memory; the calling
 * thread writes the finished batches in input order, each row whole. So the
 * output is the same bytes whatever the number of threads. */
#include "csv_deid.h"

#include <csv.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistr.h>

#include "../core/byte_scan.h"
#include "../core/csv_out.h"
#include "../core/encode.h"
#include "../core/sync_behind.h"
#include "../core/secret.h"
#include "../pseudonym/normalize_into.h"
#include "../pseudonym/psn_input.h"
#include "date_shift.h"
#include "name_memo.h"
#include "free_text.h"
#include "recode.h"

#define BATCH_ROWS 2048
#define BATCH_BYTES (4u << 20)
#define SYNC_AHEAD_BYTES (16u << 20)

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

typedef struct field {
    char *p;
    size_t len;
} field;

typedef struct row_ref {
    uint64_t line;
    size_t first, n; /* fields[first .. first+n) of the batch */
    int too_long;
} row_ref;

/* A batch: parsed rows in, transformed rows out. */
typedef struct batch {
    buf arena; /* the fields, NUL-terminated one after another */
    size_t *off, *len;
    size_t n_fields, fcap;
    row_ref *rows;
    size_t n_rows, rcap;
    buf out, rej;
    uint64_t rows_seen, written, rejected;
    uint64_t changed[MR_CSV_MAX_COLUMNS];
    medreg_err err;
    int done;
} batch;

typedef struct pool pool;

typedef struct pipe_state {
    const mr_csv_config *cfg;
    const mr_psn_source *src;
    FILE *out;
    mr_csv_report *rep;
    size_t map[MR_CSV_MAX_COLUMNS]; /* header position -> configured column */
    size_t n_header;
    /* from here on, the parsing thread's own: the workers read what is above,
     * and a cache line shared with the fields below, written for every
     * field, went back and forth between the cores (perf: the hottest
     * instruction of each thread was its access to that line) */
    _Alignas(64) int header_done;
    uint64_t line, next_line; /* physical line where the current row starts, and the next */
    int pending_cr;
    size_t row_first, row_n; /* the row being parsed, in cur */
    int row_too_long;
    batch *cur;
    pool *pl;
    mr_name_memo *memo; /* for the batches the parsing thread transforms itself */
    size_t unsynced;    /* output bytes written since the last sync was asked for */
    mr_sync_behind *sync; /* NULL: no syncing ahead, the caller's fsync does it all */
    batch *spare[8]; /* written batches, kept for reuse */
    size_t n_spare;
    medreg_err err;
    char *errmsg;
} pipe_state;

/* One row being transformed by a worker. */
typedef struct row_ctx {
    const mr_csv_config *cfg;
    const mr_psn_source *src;
    const size_t *map;
    field *fields;
    size_t n;
    uint64_t line;
    batch *b;
    buf scratch;
    mr_hmac *key_mac; /* local mode: the module key (PSN and date shift), absorbed once per batch */
    mr_name_memo *memo; /* the worker's: names and dates it has normalised */
    medreg_err err;
} row_ctx;

static int buf_reserve(buf *b, size_t more)
{
    if (b->len + more <= b->cap)
        return 1;
    size_t cap = (b->len + more) * 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
        return 0;
    b->p = p;
    b->cap = cap;
    return 1;
}

/* The same for a buffer of identifiers: realloc would leave the old copy in
 * freed memory, so the old block is wiped before it is freed. */
static int buf_reserve_secret(buf *b, size_t more)
{
    if (b->len + more <= b->cap)
        return 1;
    size_t cap = (b->len + more) * 2;
    char *p = malloc(cap);
    if (p == NULL)
        return 0;
    if (b->p) {
        memcpy(p, b->p, b->len);
        mr_wipe(b->p, b->cap);
        free(b->p);
    }
    b->p = p;
    b->cap = cap;
    return 1;
}

/* libcsv's own field buffer holds each field, identifiers too, and libcsv
 * frees and grows it without wiping: these do it for libcsv */
static void *wiping_realloc(void *old, size_t n)
{
    void *p = malloc(n);
    if (p != NULL && old != NULL) {
        size_t had = malloc_usable_size(old);
        memcpy(p, old, had < n ? had : n);
    }
    if (p != NULL || n == 0) { /* as realloc: a failure leaves the old block alone */
        mr_free_wiped(old);
    }
    return p;
}

static void buf_free(buf *b, int secret)
{
    if (secret && b->p)
        mr_wipe(b->p, b->cap);
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* A field, after sep, quoted where sep or a quote needs it; sep 0 for a
 * line's first field (the PSN, the header's "psn" or a line number: never
 * quoted) */
static int append(buf *b, const char *p, size_t n, char sep)
{
    if (!buf_reserve(b, 2 * n + 4))
        return 0;
    if (sep)
        b->p[b->len++] = sep;
    b->len += mr_csv_field_buf(b->p + b->len, p, n, sep ? sep : ',');
    return 1;
}

static void reject(row_ctx *r, const char *why, const char *column)
{
    char reason[300], line[32];
    r->b->rejected++;
    snprintf(reason, sizeof reason, "%s%s%.200s", why, column ? ": " : "", column ? column : "");
    snprintf(line, sizeof line, "%llu", (unsigned long long)r->line);
    if (!append(&r->b->rej, line, strlen(line), 0) || !append(&r->b->rej, reason, strlen(reason), ',') ||
        !buf_reserve(&r->b->rej, 2))
        r->err = MEDREG_ERR_NOMEM;
    else
        memcpy(r->b->rej.p + r->b->rej.len, "\r\n", 2), r->b->rej.len += 2;
}

/* ASCII without NUL: valid UTF-8 without a look at libunistring (most
 * fields) */
static int plain_ascii(const char *p, size_t n)
{
    uint64_t bad = 0;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t x = mr_swar_load(p, i, n, ' ');
        bad |= (x & MR_SWAR_HIGH) | mr_swar_zero(x);
    }
    return bad == 0;
}

/* Every field of a row valid UTF-8 without NUL, in one pass over the row
 * (instead of a short one with a tail per field): the fields lie one after
 * another in the arena, each ended by a NUL, so a row of n fields holds
 * exactly n - 1 NULs from its first byte to its last field's end; and since a
 * NUL is no continuation byte, no UTF-8 sequence runs from one field into the
 * next, so the row is valid exactly when each field is. libunistring looks
 * only at the words from the first to the last with a byte >= 0x80: the
 * ASCII words around them cannot hold or end a sequence (it costs about 8
 * instructions a byte, the scan here about 1). */
static int utf8_row(const field *f, size_t n)
{
    const char *p = f[0].p;
    size_t len = (size_t)(f[n - 1].p + f[n - 1].len - p), first = len, last = 0;
    uint64_t zeros = 0;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t x = mr_swar_load(p, i, len, ' ');
        if (x & MR_SWAR_HIGH) {
            first = first < i ? first : i;
            last = i + 8 < len ? i + 8 : len;
        }
        zeros += ((mr_swar_zero(x) >> 7) * MR_SWAR_ONES) >> 56; /* how many, summed in the top byte */
    }
    return zeros == n - 1 && (first == len || u8_check((const uint8_t *)p + first, last - first) == NULL);
}

/* medreg_normalize wrote YYYY-MM-DD */
static int iso_ymd(const char *iso, int *y, int *m, int *d)
{
    if (strlen(iso) != 10 || iso[4] != '-' || iso[7] != '-')
        return 0;
    *y = (iso[0] - '0') * 1000 + (iso[1] - '0') * 100 + (iso[2] - '0') * 10 + (iso[3] - '0');
    *m = (iso[5] - '0') * 10 + (iso[6] - '0');
    *d = (iso[8] - '0') * 10 + (iso[9] - '0');
    return 1;
}

/* medreg_normalize of a field: *value is memo (a name the worker may have
 * seen, or a short date or code normalised in place) or *heap, which the
 * caller wipes and frees. */
static medreg_err normalize(row_ctx *r, const medreg_ident_rule *rule, const field *f,
                            char memo[MR_MEMO_VALUE_MAX + 1], const char **value, char **heap)
{
    medreg_err rc;
    *heap = NULL;
    *value = memo;
    /* only names are remembered: their Unicode normalisation costs a
     * microsecond, while a date or a code is parsed in less than a look in
     * the memo (measured: 1,000 against 50 ns with an allocation; a hit 25
     * to 45 ns) */
    if (rule->kind == MEDREG_IDENT_NAME)
        rc = r->memo ? mr_name_memo_normalize(r->memo, rule, f->p, f->len, memo) : MEDREG_ERR_TOOBIG;
    else
        rc = mr_normalize_into(rule, f->p, f->len, memo, MR_MEMO_VALUE_MAX + 1);
    if (rc == MEDREG_ERR_TOOBIG) {
        rc = medreg_normalize(rule, f->p, f->len, heap);
        *value = *heap;
    }
    return rc;
}

/* Does a text column hold one of the row's removed values (free_text.h)?
 * 1 with the text's and the value's columns; 0; -1 out of memory. */
static int text_leak(row_ctx *r, size_t *text_col, size_t *value_col)
{
    static const medreg_ident_rule NAME_RULE = {MEDREG_IDENT_NAME, MEDREG_CHECK_NONE, MEDREG_DATE_DMY};
    const mr_csv_config *cfg = r->cfg;
    int found = 0;
    for (size_t t = 0; found == 0 && t < r->n; t++) {
        char *text = NULL;
        if (cfg->cols[r->map[t]].action != MR_CSV_TEXT || r->fields[t].len < MR_TEXT_MIN)
            continue;
        medreg_err rc = mr_normalize_name_unicode((const uint8_t *)r->fields[t].p, r->fields[t].len, 1, &text);
        if (rc == MEDREG_ERR_NOMEM)
            return -1;
        if (rc != MEDREG_OK)
            continue; /* no words at all: nothing to hold */
        size_t tn = strlen(text);
        for (size_t v = 0; found == 0 && v < r->n; v++) {
            mr_csv_action a = cfg->cols[r->map[v]].action;
            char memo[MR_MEMO_VALUE_MAX + 1], *heap = NULL;
            const char *value = NULL;
            if ((a != MR_CSV_IDENTIFIER && a != MR_CSV_REMOVE) || r->fields[v].len < MR_TEXT_MIN)
                continue;
            rc = normalize(r, &NAME_RULE, &r->fields[v], memo, &value, &heap);
            if (rc == MEDREG_ERR_NOMEM)
                found = -1;
            else if (rc == MEDREG_OK && strlen(value) >= MR_TEXT_MIN && mr_text_holds(text, tn, value, strlen(value)))
                found = 1, *text_col = t, *value_col = v;
            if (heap) {
                mr_wipe(heap, strlen(heap));
                free(heap);
            }
            mr_wipe(memo, sizeof memo);
        }
        mr_wipe(text, tn);
        free(text);
    }
    return found;
}

static void row(row_ctx *r)
{
    const mr_csv_config *cfg = r->cfg;
    const mr_module *m = cfg->module;
    medreg_psn_field pf[MR_MAX_IDENTIFIERS];
    char *norm[MR_MAX_IDENTIFIERS] = {0}, memo[MR_MAX_IDENTIFIERS][MR_MEMO_VALUE_MAX + 1];
    uint8_t psn[MEDREG_PSN_BYTES], net[MR_OPRF_OUTPUT_BYTES] = {0}, msg_stack[2048], *msg = msg_stack;
    size_t msg_len = 0;
    int have_msg = 0, placeholder = 0;
    const uint8_t *shift_key = NULL; /* network mode: the patient's own, from the VOPRF output */
    long shift = 0;
    char psn_hex[2 * MEDREG_PSN_BYTES];
    uint64_t changed[MR_CSV_MAX_COLUMNS];
    memset(changed, 0, cfg->n_cols * sizeof changed[0]);

    r->b->rows_seen++;
    if (!utf8_row(r->fields, r->n)) /* which field: */
        for (size_t i = 0; i < r->n; i++)
            if (!plain_ascii(r->fields[i].p, r->fields[i].len) &&
                (u8_check((const uint8_t *)r->fields[i].p, r->fields[i].len) != NULL ||
                 memchr(r->fields[i].p, 0, r->fields[i].len) != NULL)) {
                /* after a conversion, only a byte the encoding leaves undefined can be it (or a NUL) */
                reject(r, cfg->encoding[0] ? "not valid UTF-8 (a NUL, or a byte the input's encoding does not define)"
                                           : "not valid UTF-8",
                       cfg->cols[r->map[i]].label);
                return;
            }
    /* identifiers, normalised as the identity service does, in the module's order */
    for (size_t i = 0; i < r->n; i++) {
        const mr_csv_column *col = &cfg->cols[r->map[i]];
        if (col->action != MR_CSV_IDENTIFIER)
            continue;
        size_t k = (size_t)(col->ident - m->idents);
        pf[k].name = col->ident->name;
        if (normalize(r, &col->ident->rule, &r->fields[i], memo[k], &pf[k].value, &norm[k]) != MEDREG_OK) {
            reject(r, r->fields[i].len ? "malformed identifier" : "missing identifier", col->label);
            goto out;
        }
    }
    if (cfg->has_text) {
        size_t t = 0, v = 0;
        int leak = text_leak(r, &t, &v);
        if (leak < 0)
            goto nomem;
        if (leak > 0) {
            char why[300];
            snprintf(why, sizeof why, "free text holds this row's %.200s", cfg->cols[r->map[v]].label);
            reject(r, why, cfg->cols[r->map[t]].label);
            goto out;
        }
    }
    if (r->src->key != NULL) {
        if (mr_psn_derive_mac(r->key_mac, m->key_id, m->name, pf, m->n_idents, psn) != MEDREG_OK) {
            r->err = MEDREG_ERR_CRYPTO;
            goto out;
        }
    } else {
        medreg_err rc = mr_psn_input_buf(m->key_id, m->name, pf, m->n_idents, msg_stack, sizeof msg_stack, &msg,
                                         &msg_len);
        if (rc == MEDREG_OK) {
            have_msg = 1;
            /* the first pass transforms with a placeholder PSN, to learn
             * which rows will be written */
            rc = r->src->collect ? MEDREG_OK : mr_oprf_table_lookup(r->src->oprf, msg, msg_len, net);
            /* a row the first pass did not collect is about to be rejected */
            if (rc == MEDREG_ERR_NOTFOUND) {
                placeholder = 1;
                rc = MEDREG_OK;
            }
        }
        if (rc == MEDREG_ERR_TOOBIG) {
            reject(r, "identifiers too long", NULL);
            goto out;
        }
        if (rc != MEDREG_OK) {
            r->err = rc;
            goto out;
        }
        memcpy(psn, net, MEDREG_PSN_BYTES);
        shift_key = net + MEDREG_PSN_BYTES;
    }
    if (cfg->date_shift && mr_date_shift_days(shift_key ? NULL : r->key_mac, shift_key, psn, &shift) != MEDREG_OK) {
        r->err = MEDREG_ERR_CRYPTO;
        goto out;
    }
    mr_hex_into(psn_hex, psn, sizeof psn);
    r->scratch.len = 0;
    if (!append(&r->scratch, psn_hex, 64, 0))
        goto nomem;
    for (size_t i = 0; i < r->n; i++) {
        const mr_csv_column *col = &cfg->cols[r->map[i]];
        const field *f = &r->fields[i];
        char txt[48]; /* a date, or a date and a time of day */
        switch (col->action) {
        case MR_CSV_KEEP:
        case MR_CSV_TEXT: /* checked above */
            if (!append(&r->scratch, f->p, f->len, cfg->delim))
                goto nomem;
            break;
        case MR_CSV_IDENTIFIER:
        case MR_CSV_REMOVE:
            changed[r->map[i]] += f->len > 0;
            break;
        case MR_CSV_DATE: {
            medreg_ident_rule dr = {MEDREG_IDENT_DATE, MEDREG_CHECK_NONE,
                                    cfg->dates_mdy ? MEDREG_DATE_MDY : MEDREG_DATE_DMY};
            char *iso = NULL, iso_memo[MR_MEMO_VALUE_MAX + 1];
            const char *iso_value = NULL;
            int y, mo, d;
            if (f->len == 0) { /* an empty date stays empty */
                if (!append(&r->scratch, "", 0, cfg->delim))
                    goto nomem;
                break;
            }
            /* a datetime: the date is shifted and the time of day kept as
             * written (intervals stay exact), or both go to the year */
            field day = *f;
            size_t date_len = 0, time_at = 0;
            int midnight, timed = mr_datetime_split(f->p, f->len, &date_len, &time_at);
            if (timed)
                day.len = date_len;
            if ((timed && (f->len - time_at >= sizeof txt - 12 || !mr_time_of_day(f->p + time_at, f->len - time_at, &midnight))) ||
                normalize(r, &dr, &day, iso_memo, &iso_value, &iso) != MEDREG_OK || !iso_ymd(iso_value, &y, &mo, &d) ||
                (cfg->date_shift && !mr_date_shift_ymd(y, mo, d, shift, &y, &mo, &d))) {
                free(iso);
                reject(r, "not a date", col->label);
                goto out;
            }
            if (cfg->date_shift) { /* YYYY-MM-DD; y is 1..9999 */
                const int v[3] = {y, mo, d}, w[3] = {4, 2, 2};
                char *t = txt;
                for (int part = 0; part < 3; part++) {
                    for (int digit = w[part] - 1, x = v[part]; digit >= 0; digit--, x /= 10)
                        t[digit] = (char)('0' + x % 10);
                    t += w[part];
                    *t++ = part < 2 ? '-' : 0;
                }
                if (timed) { /* the separator as written, then the time; bounded above */
                    txt[10] = f->p[date_len];
                    memcpy(txt + 11, f->p + time_at, f->len - time_at);
                    txt[11 + f->len - time_at] = 0;
                }
            } else {
                memcpy(txt, iso_value, 4), txt[4] = 0;
            }
            free(iso);
            changed[r->map[i]]++;
            if (!append(&r->scratch, txt, strlen(txt), cfg->delim))
                goto nomem;
            break;
        }
        case MR_CSV_AGE: { /* whole years, or with a fraction ("45.7", "45,7"): its whole years count */
            size_t whole = strspn(f->p, "0123456789"), frac = 0;
            int age = 0;
            for (size_t k = 0; k < whole && k < 4; k++)
                age = age * 10 + (f->p[k] - '0');
            if (whole < f->len && (f->p[whole] == '.' || f->p[whole] == ','))
                frac = 1 + strspn(f->p + whole + 1, "0123456789");
            if (f->len && (whole == 0 || whole > 3 || frac == 1 || whole + frac != f->len || age > 150)) {
                reject(r, "not an age in years", col->label);
                goto out;
            }
            if (f->len && age > 89) {
                changed[r->map[i]]++;
                if (!append(&r->scratch, "90+", 3, cfg->delim))
                    goto nomem;
            } else if (!append(&r->scratch, f->p, f->len, cfg->delim)) {
                goto nomem;
            }
            break;
        }
        case MR_CSV_ZIP: {
            if (f->len == 0) {
                if (!append(&r->scratch, "", 0, cfg->delim))
                    goto nomem;
                break;
            }
            if (!((f->len == 5 && strspn(f->p, "0123456789") == 5) ||
                  (f->len == 10 && strspn(f->p, "0123456789") == 5 && f->p[5] == '-' &&
                   strspn(f->p + 6, "0123456789") == 4))) {
                reject(r, "not a US ZIP code", col->label);
                goto out;
            }
            if (cfg->zip3_restricted[(f->p[0] - '0') * 100 + (f->p[1] - '0') * 10 + (f->p[2] - '0')])
                memcpy(txt, "000", 3); /* 20,000 people or fewer */
            else
                memcpy(txt, f->p, 3);
            changed[r->map[i]]++;
            if (!append(&r->scratch, txt, 3, cfg->delim))
                goto nomem;
            break;
        }
        }
    }
    if (r->src->collect) { /* the row will be written: its patient needs a PSN */
        medreg_err rc = mr_oprf_table_add(r->src->oprf, msg, msg_len);
        if (rc != MEDREG_OK)
            r->err = rc;
        goto out;
    }
    if (placeholder) { /* the input changed between the passes */
        r->err = MEDREG_ERR_CONFLICT;
        goto out;
    }
    /* the whole row, or nothing */
    if (!buf_reserve(&r->b->out, r->scratch.len + 2))
        goto nomem;
    memcpy(r->b->out.p + r->b->out.len, r->scratch.p, r->scratch.len);
    memcpy(r->b->out.p + r->b->out.len + r->scratch.len, "\r\n", 2);
    r->b->out.len += r->scratch.len + 2;
    r->b->written++;
    for (size_t c = 0; c < cfg->n_cols; c++)
        r->b->changed[c] += changed[c];
    goto out;
nomem:
    r->err = MEDREG_ERR_NOMEM;
out:
    for (size_t k = 0; k < MR_MAX_IDENTIFIERS; k++)
        if (norm[k]) {
            mr_wipe(norm[k], strlen(norm[k]));
            free(norm[k]);
        }
    mr_wipe(memo, m->n_idents * sizeof memo[0]);
    mr_wipe(psn, sizeof psn);
    mr_wipe(net, sizeof net);
    if (have_msg)
        mr_psn_input_release(msg, msg_len, msg_stack);
    if (r->scratch.p)
        mr_wipe(r->scratch.p, r->scratch.len);
}

/* Transform every row of a batch (a worker's job). */
static void process(const pipe_state *s, batch *b, mr_name_memo *memo)
{
    row_ctx r;
    field f[MR_CSV_MAX_COLUMNS];
    memset(&r, 0, sizeof r);
    r.cfg = s->cfg;
    r.src = s->src;
    r.map = s->map;
    r.b = b;
    r.fields = f;
    r.memo = memo;
    if (s->src->key != NULL && mr_hmac_new(s->src->key, MEDREG_PSN_KEY_BYTES, &r.key_mac) != MEDREG_OK)
        r.err = MEDREG_ERR_CRYPTO;
    for (size_t i = 0; i < b->n_rows && r.err == MEDREG_OK; i++) {
        const row_ref *rr = &b->rows[i];
        r.line = rr->line;
        if (rr->too_long || rr->n != s->n_header) {
            b->rows_seen++;
            static const char *const WHY[2][2] = {{"more fields than the header", "fewer fields than the header"},
                                                  {"more fields than configured", "fewer fields than configured"}};
            reject(&r, WHY[s->cfg->no_header_row != 0][rr->n < s->n_header], NULL);
            continue;
        }
        for (size_t k = 0; k < rr->n; k++) {
            f[k].p = b->arena.p + b->off[rr->first + k];
            f[k].len = b->len[rr->first + k];
        }
        r.n = rr->n;
        row(&r);
    }
    b->err = r.err;
    buf_free(&r.scratch, 1);
    mr_hmac_free(r.key_mac);
}

/* The worker pool: batches in submission order; each finished batch is
 * written by the parsing thread, oldest first. */
struct pool {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    batch **q; /* FIFO of submitted, unprocessed batches */
    size_t qh, qn, qcap;
    batch **inflight; /* submitted, not yet written: oldest first */
    size_t ih, in, icap;
    int stop;
    const pipe_state *s;
    pthread_t *threads;
    size_t n_threads;
};

static void *worker(void *arg)
{
    pool *pl = arg;
    mr_name_memo *memo = NULL;
    if (mr_name_memo_new(&memo) != MEDREG_OK)
        memo = NULL; /* slower, not wrong */
    pthread_mutex_lock(&pl->mu);
    for (;;) {
        while (pl->qn == 0 && !pl->stop)
            pthread_cond_wait(&pl->work, &pl->mu);
        if (pl->qn == 0)
            break;
        batch *b = pl->q[pl->qh];
        pl->qh = (pl->qh + 1) % pl->qcap;
        pl->qn--;
        pthread_mutex_unlock(&pl->mu);
        process(pl->s, b, memo);
        pthread_mutex_lock(&pl->mu);
        b->done = 1;
        pthread_cond_broadcast(&pl->done);
    }
    pthread_mutex_unlock(&pl->mu);
    mr_name_memo_free(memo);
    return NULL;
}

static void batch_free(batch *b)
{
    if (b == NULL)
        return;
    buf_free(&b->arena, 1);
    buf_free(&b->out, 0);
    buf_free(&b->rej, 0);
    free(b->off);
    free(b->len);
    free(b->rows);
    free(b);
}

/* A written batch is kept for the next one with its buffers' capacity:
 * growing fresh buffers for every batch cost copies and page faults. Only
 * the parsing thread takes and returns batches. */
static void batch_recycle(pipe_state *s, batch *b)
{
    if (s->n_spare == sizeof s->spare / sizeof s->spare[0]) {
        batch_free(b);
        return;
    }
    mr_wipe(b->arena.p, b->arena.len); /* identifiers */
    b->arena.len = b->out.len = b->rej.len = 0;
    b->n_fields = b->n_rows = 0;
    b->rows_seen = b->written = b->rejected = 0;
    memset(b->changed, 0, sizeof b->changed);
    b->err = MEDREG_OK;
    b->done = 0;
    s->spare[s->n_spare++] = b;
}

/* Write the oldest in-flight batch once it is done. */
static void write_oldest(pipe_state *s)
{
    pool *pl = s->pl;
    pthread_mutex_lock(&pl->mu);
    batch *b = pl->inflight[pl->ih];
    while (!b->done)
        pthread_cond_wait(&pl->done, &pl->mu);
    pl->ih = (pl->ih + 1) % pl->icap;
    pl->in--;
    pthread_mutex_unlock(&pl->mu);
    mr_csv_report *rep = s->rep;
    if (s->err == MEDREG_OK && b->err != MEDREG_OK)
        s->err = b->err;
    if (s->err == MEDREG_OK && b->out.len && fwrite(b->out.p, 1, b->out.len, s->out) != b->out.len)
        s->err = MEDREG_ERR_IO;
    /* let the disk catch up while the rows go on (sync_behind.h) */
    s->unsynced += b->out.len;
    if (s->err == MEDREG_OK && s->sync && s->unsynced >= SYNC_AHEAD_BYTES) {
        s->unsynced = 0;
        if (fflush(s->out) != 0)
            s->err = MEDREG_ERR_IO;
        else
            mr_sync_behind_ask(s->sync);
    }
    if (s->err == MEDREG_OK && rep->rejects && b->rej.len &&
        fwrite(b->rej.p, 1, b->rej.len, rep->rejects) != b->rej.len)
        s->err = MEDREG_ERR_IO;
    uint64_t before = rep->rows;
    rep->rows += b->rows_seen;
    rep->written += b->written;
    rep->rejected += b->rejected;
    for (size_t c = 0; c < s->cfg->n_cols; c++)
        rep->changed[c] += b->changed[c];
    if (rep->progress && rep->rows / 100000 != before / 100000)
        rep->progress(rep->progress_ctx, rep->rows);
    batch_recycle(s, b);
}

static void submit(pipe_state *s)
{
    pool *pl = s->pl;
    batch *b = s->cur;
    s->cur = NULL;
    if (b == NULL || b->n_rows == 0) {
        batch_free(b);
        return;
    }
    if (pl->in == pl->icap)
        write_oldest(s); /* bounded memory: wait for the oldest */
    pthread_mutex_lock(&pl->mu);
    pl->q[(pl->qh + pl->qn) % pl->qcap] = b;
    pl->qn++;
    pl->inflight[(pl->ih + pl->in) % pl->icap] = b;
    pl->in++;
    pthread_cond_signal(&pl->work);
    /* more waiting than the workers can start: the parsing thread takes the
     * oldest itself rather than parse further ahead (on a machine with as
     * many workers as cores, a fourth of the CPU otherwise went idle) */
    batch *mine = NULL;
    if (pl->qn > pl->n_threads) { /* no workers: every batch */
        mine = pl->q[pl->qh];
        pl->qh = (pl->qh + 1) % pl->qcap;
        pl->qn--;
    }
    pthread_mutex_unlock(&pl->mu);
    if (mine != NULL) {
        process(s, mine, s->memo);
        pthread_mutex_lock(&pl->mu);
        mine->done = 1;
        pthread_cond_broadcast(&pl->done);
        pthread_mutex_unlock(&pl->mu);
    }
}

static batch *current(pipe_state *s)
{
    if (s->cur == NULL && s->n_spare > 0)
        s->cur = s->spare[--s->n_spare];
    if (s->cur == NULL && (s->cur = calloc(1, sizeof *s->cur)) == NULL)
        s->err = MEDREG_ERR_NOMEM;
    return s->cur;
}

static void on_field(void *data, size_t len, void *user)
{
    pipe_state *s = user;
    batch *b = current(s);
    if (b == NULL)
        return;
    /* quoted newlines move the line count on (fields are short: a call to
     * memchr for each cost more than the count) */
    size_t newlines = 0;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t lf = mr_swar_eq(mr_swar_load(data, i, len, ' '), '\n');
        if (lf)
            newlines += (size_t)__builtin_popcountll(lf);
    }
    s->next_line += newlines;
    if (s->row_n >= MR_CSV_MAX_COLUMNS * 2) {
        s->row_too_long = 1; /* far more fields than any header: rejected, not stored */
        return;
    }
    if (b->n_fields == b->fcap) {
        size_t cap = b->fcap ? b->fcap * 2 : 1024;
        size_t *o = realloc(b->off, cap * sizeof *o), *l = o ? realloc(b->len, cap * sizeof *l) : NULL;
        if (o)
            b->off = o;
        if (o == NULL || l == NULL) {
            s->err = MEDREG_ERR_NOMEM;
            return;
        }
        b->len = l;
        b->fcap = cap;
    }
    if (!buf_reserve_secret(&b->arena, len + 1)) {
        s->err = MEDREG_ERR_NOMEM;
        return;
    }
    memcpy(b->arena.p + b->arena.len, data, len);
    b->arena.p[b->arena.len + len] = 0;
    b->off[b->n_fields] = b->arena.len;
    b->len[b->n_fields] = len;
    b->arena.len += len + 1;
    b->n_fields++;
    s->row_n++;
}

/* The output's header: psn, then the columns kept or generalised, in input
 * order, under the input's names (names[i], lens[i]: input column i) */
static void out_header(pipe_state *s, const char *const *names, const size_t *lens)
{
    const mr_csv_config *cfg = s->cfg;
    buf line = {0};
    int ok = append(&line, "psn", 3, 0);
    for (size_t i = 0; ok && i < s->n_header; i++) {
        mr_csv_action a = cfg->cols[s->map[i]].action;
        if (a == MR_CSV_KEEP || a == MR_CSV_TEXT || a == MR_CSV_DATE || a == MR_CSV_AGE || a == MR_CSV_ZIP)
            ok = append(&line, names[i], lens[i], cfg->delim);
    }
    if (!ok || fwrite(line.p, 1, line.len, s->out) != line.len || fputs("\r\n", s->out) == EOF)
        s->err = MEDREG_ERR_IO;
    buf_free(&line, 0);
}

static void header(pipe_state *s)
{
    const mr_csv_config *cfg = s->cfg;
    batch *b = s->cur;
    int seen[MR_CSV_MAX_COLUMNS] = {0};
    s->header_done = 1;
    if (s->row_n > MR_CSV_MAX_COLUMNS || s->row_too_long) {
        s->err = MEDREG_ERR_TOOBIG;
        s->errmsg = strdup("the header has more than 512 columns");
        return;
    }
    for (size_t i = 0; i < s->row_n; i++) {
        const char *name = b->arena.p + b->off[s->row_first + i];
        size_t c; /* a role given by position first, then by the header */
        for (c = 0; c < cfg->n_cols && cfg->cols[c].position != i + 1; c++)
            ;
        if (c < cfg->n_cols && strcmp(cfg->cols[c].name, name) != 0) {
            s->err = MEDREG_ERR_CONFIG;
            if (asprintf(&s->errmsg, "column %zu of the input is '%.100s', and %s expects '%.100s' there", i + 1, name,
                         cfg->path, cfg->cols[c].name) < 0)
                s->errmsg = NULL;
            return;
        }
        if (c == cfg->n_cols)
            for (c = 0; c < cfg->n_cols && (cfg->cols[c].position || strcmp(cfg->cols[c].name, name)); c++)
                ;
        if (c == cfg->n_cols || seen[c]) {
            s->err = MEDREG_ERR_CONFIG;
            if (asprintf(&s->errmsg, "column %zu of the input, '%.100s', %s in %s", i + 1, name,
                         c == cfg->n_cols ? "has no role" : "appears twice (give each a role by position)",
                         cfg->path) < 0)
                s->errmsg = NULL;
            return;
        }
        seen[c] = 1;
        s->map[i] = c;
    }
    for (size_t c = 0; c < cfg->n_cols; c++)
        if (!seen[c] && (cfg->cols[c].action == MR_CSV_IDENTIFIER || cfg->cols[c].position)) {
            s->err = MEDREG_ERR_CONFIG;
            if (asprintf(&s->errmsg, "the input has no column '%.100s'%s%s%s", cfg->cols[c].label,
                         cfg->cols[c].ident ? " (identifier " : "", cfg->cols[c].ident ? cfg->cols[c].ident->name : "",
                         cfg->cols[c].ident ? ")" : "") < 0)
                s->errmsg = NULL;
            return;
        }
    const char *names[MR_CSV_MAX_COLUMNS];
    for (size_t i = 0; i < s->row_n; i++)
        names[i] = b->arena.p + b->off[s->row_first + i];
    s->n_header = s->row_n;
    out_header(s, names, b->len + s->row_first);
    batch_free(s->cur); /* the header is not a data row */
    s->cur = NULL;
}

/* Without a header row: the columns by position, 1 to n (the configuration
 * checked that each has a role), named in the output as configured */
static void positions(pipe_state *s)
{
    const mr_csv_config *cfg = s->cfg;
    const char *names[MR_CSV_MAX_COLUMNS];
    size_t lens[MR_CSV_MAX_COLUMNS];
    s->header_done = 1;
    for (size_t c = 0; c < cfg->n_cols; c++)
        s->map[cfg->cols[c].position - 1] = c;
    for (size_t i = 0; i < cfg->n_cols; i++) {
        names[i] = cfg->cols[s->map[i]].name;
        lens[i] = strlen(names[i]);
    }
    s->n_header = cfg->n_cols;
    out_header(s, names, lens);
}

/* The row just parsed into the current batch, to be transformed */
static void data_row(pipe_state *s)
{
    if (current(s) == NULL)
        return;
    batch *b = s->cur;
    if (b->n_rows == b->rcap) {
        size_t cap = b->rcap ? b->rcap * 2 : 256;
        row_ref *r = realloc(b->rows, cap * sizeof *r);
        if (r == NULL) {
            s->err = MEDREG_ERR_NOMEM;
            return;
        }
        b->rows = r;
        b->rcap = cap;
    }
    b->rows[b->n_rows++] = (row_ref){s->line, s->row_first, s->row_n, s->row_too_long};
    if (b->n_rows >= BATCH_ROWS || b->arena.len >= BATCH_BYTES)
        submit(s);
}

static void on_row(int c, void *user)
{
    pipe_state *s = user;
    /* line bookkeeping: a CR LF pair ends one line */
    int lf_of_crlf = c == '\n' && s->row_n == 0 && !s->row_too_long && s->pending_cr;
    s->pending_cr = c == '\r';
    if (s->err == MEDREG_OK && (s->row_n > 0 || s->row_too_long)) {
        if (!s->header_done && !s->cfg->no_header_row) {
            header(s);
        } else {
            if (!s->header_done)
                positions(s); /* no header row: the first row is data too */
            if (s->err == MEDREG_OK)
                data_row(s);
        }
    }
    s->row_first = s->cur ? s->cur->n_fields : 0;
    s->row_n = 0;
    s->row_too_long = 0;
    if (!lf_of_crlf)
        s->next_line++;
    s->line = s->next_line;
}

medreg_err mr_csv_deid(const mr_csv_config *cfg, const mr_psn_source *src, FILE *in, FILE *out, mr_csv_report *rep,
                       char **errmsg)
{
    struct csv_parser p;
    pipe_state s;
    pool pl;
    char data[65536], *conv = NULL;
    size_t n;
    int first = 1;
    mr_recode *recode = NULL;

    *errmsg = NULL;
    memset(&s, 0, sizeof s);
    memset(&pl, 0, sizeof pl);
    s.cfg = cfg;
    s.src = src;
    s.out = out;
    s.rep = rep;
    s.line = s.next_line = 1;
    s.pl = &pl;
    pl.s = &s;
    /* the parsing thread is one of the threads that transform */
    pl.n_threads = rep->threads > 1 ? rep->threads - 1 : 0;
    pl.qcap = pl.icap = 2 * pl.n_threads + 2;
    pl.q = calloc(pl.qcap, sizeof *pl.q);
    pl.inflight = calloc(pl.icap, sizeof *pl.inflight);
    pl.threads = calloc(pl.n_threads + 1, sizeof *pl.threads);
    if (mr_name_memo_new(&s.memo) != MEDREG_OK)
        s.memo = NULL; /* slower, not wrong */
    pthread_mutex_init(&pl.mu, NULL);
    pthread_cond_init(&pl.work, NULL);
    pthread_cond_init(&pl.done, NULL);
    if (pl.q == NULL || pl.inflight == NULL || pl.threads == NULL ||
        csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL) != 0) {
        free(pl.q);
        free(pl.inflight);
        free(pl.threads);
        mr_name_memo_free(s.memo);
        return MEDREG_ERR_NOMEM;
    }
    if (mr_sync_behind_start(fileno(out), &s.sync) != MEDREG_OK)
        s.sync = NULL; /* slower at the end, not wrong */
    size_t started = 0;
    for (; started < pl.n_threads; started++)
        if (pthread_create(&pl.threads[started], NULL, worker, &pl) != 0)
            break;
    pl.n_threads = started; /* fewer workers: the parsing thread takes more batches itself */
    csv_set_blk_size(&p, 4096);
    csv_set_delim(&p, (unsigned char)cfg->delim);
    csv_set_realloc_func(&p, wiping_realloc);
    csv_set_free_func(&p, mr_free_wiped);
    if (cfg->encoding[0] && (mr_recode_open(cfg->encoding, &recode) != MEDREG_OK ||
                             (conv = malloc(3 * sizeof data)) == NULL))
        s.err = MEDREG_ERR_NOMEM; /* the name was checked with the configuration */
    size_t carry = 0;                     /* the start of a UTF-16 character cut at the end of the last chunk */
    size_t data_used = 0, conv_used = 0; /* how much of each buffer ever held input: wiped at the end */
    while (s.err == MEDREG_OK) {
        size_t got = fread(data + carry, 1, sizeof data - carry, in), off = 0, used = 0;
        const char *text = data;
        if (got == 0 && carry == 0)
            break;
        rep->bytes_in += got;
        n = carry + got;
        data_used = n > data_used ? n : data_used;
        if (recode) {
            n = mr_recode_chunk(recode, data, n, got == 0, conv, &used);
            conv_used = n > conv_used ? n : conv_used;
            memmove(data, data + used, carry = carry + got - used); /* at most 3 bytes */
            text = conv;
        }
        if (first && n >= 3 && (uint8_t)text[0] == 0xEF && (uint8_t)text[1] == 0xBB && (uint8_t)text[2] == 0xBF)
            off = 3; /* a byte order mark (UTF-8, or UTF-16's converted) is not data */
        first = 0;
        if (csv_parse(&p, text + off, n - off, on_field, on_row, &s) != n - off && s.err == MEDREG_OK) {
            s.err = MEDREG_ERR_INVALID;
            if (asprintf(&s.errmsg, "line %llu: %s (the input is not RFC 4180 CSV; nothing after this was read)",
                         (unsigned long long)s.next_line, csv_strerror(csv_error(&p))) < 0)
                s.errmsg = NULL;
        }
    }
    if (ferror(in) && s.err == MEDREG_OK)
        s.err = MEDREG_ERR_IO;
    if (s.err == MEDREG_OK && csv_fini(&p, on_field, on_row, &s) != 0) {
        s.err = MEDREG_ERR_INVALID;
        if (asprintf(&s.errmsg, "line %llu: unterminated quoted field at the end of the input",
                     (unsigned long long)s.line) < 0)
            s.errmsg = NULL;
    }
    if (s.err == MEDREG_OK && !s.header_done && cfg->no_header_row) {
        positions(&s); /* no row at all: the output is its header alone */
    } else if (s.err == MEDREG_OK && !s.header_done) {
        s.err = MEDREG_ERR_INVALID;
        s.errmsg = strdup("the input is empty: it needs at least a header row");
    }
    if (s.err == MEDREG_OK)
        submit(&s);
    while (pl.in > 0)
        write_oldest(&s); /* after an error: only to collect the batches */
    pthread_mutex_lock(&pl.mu);
    pl.stop = 1;
    pthread_cond_broadcast(&pl.work);
    pthread_mutex_unlock(&pl.mu);
    for (size_t i = 0; i < started; i++)
        pthread_join(pl.threads[i], NULL);
    if (mr_sync_behind_stop(s.sync) != MEDREG_OK && s.err == MEDREG_OK)
        s.err = MEDREG_ERR_IO;
    batch_free(s.cur);
    for (size_t i = 0; i < s.n_spare; i++)
        batch_free(s.spare[i]);
    mr_name_memo_free(s.memo);
    free(pl.q);
    free(pl.inflight);
    free(pl.threads);
    pthread_mutex_destroy(&pl.mu);
    pthread_cond_destroy(&pl.work);
    pthread_cond_destroy(&pl.done);
    csv_free(&p);
    mr_wipe(data, data_used); /* identifiers */
    if (conv)
        mr_wipe(conv, conv_used);
    free(conv);
    mr_recode_close(recode);
    *errmsg = s.errmsg;
    return s.err;
}
