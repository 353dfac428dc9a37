/* The CSV pipeline: libcsv parses, each complete row is checked and
 * transformed in memory, and only then written, whole. */
#include "csv_deid.h"

#include <csv.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistr.h>

#include "../core/csv_out.h"
#include "../core/secret.h"

typedef struct field {
    char *p;
    size_t len;
} field;

typedef struct pipe_state {
    const mr_csv_config *cfg;
    const uint8_t *key;
    FILE *out;
    mr_csv_report *rep;
    field *fields;
    size_t n, cap;
    size_t map[MR_CSV_MAX_COLUMNS]; /* header position -> configured column */
    size_t n_header;
    int header_done;
    uint64_t line, next_line; /* physical line where the current row starts, and the next */
    int pending_cr;
    int too_long;
    medreg_err err;
    char *errmsg;
    char *row;  /* the output row being built */
    size_t row_len, row_cap;
    char *arena; /* the current row's fields, NUL-terminated one after another */
    size_t arena_len, arena_cap;
} pipe_state;

static void on_field(void *data, size_t len, void *user)
{
    pipe_state *s = user;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        field *f = cap <= MR_CSV_MAX_COLUMNS * 2 ? realloc(s->fields, cap * sizeof *f) : NULL;
        if (f == NULL) {
            s->too_long = 1; /* far more fields than any header: rejected below */
            return;
        }
        s->fields = f;
        s->cap = cap;
    }
    for (size_t i = 0; i < len; i++) /* quoted newlines move the line count on */
        s->next_line += ((char *)data)[i] == '\n';
    if (s->arena_len + len + 1 > s->arena_cap) {
        size_t cap = (s->arena_len + len + 1) * 2;
        char *a = realloc(s->arena, cap);
        if (a == NULL) {
            s->err = MEDREG_ERR_NOMEM;
            return;
        }
        /* fields point into the arena: move them with it */
        for (size_t i = 0; i < s->n; i++)
            s->fields[i].p = a + (s->fields[i].p - s->arena);
        s->arena = a;
        s->arena_cap = cap;
    }
    char *copy = s->arena + s->arena_len;
    memcpy(copy, data, len);
    copy[len] = 0;
    s->arena_len += len + 1;
    s->fields[s->n].p = copy;
    s->fields[s->n].len = len;
    s->n++;
}

static void clear_row(pipe_state *s)
{
    mr_wipe(s->arena, s->arena_len);
    s->arena_len = 0;
    s->n = 0;
    s->too_long = 0;
}

static void reject(pipe_state *s, const char *why, const char *column)
{
    s->rep->rejected++;
    if (s->rep->rejects) {
        char reason[300];
        snprintf(reason, sizeof reason, "%s%s%.200s", why, column ? ": " : "", column ? column : "");
        fprintf(s->rep->rejects, "%llu,", (unsigned long long)s->line);
        mr_csv_field(s->rep->rejects, reason, strlen(reason));
        fputs("\r\n", s->rep->rejects);
    }
}

static int days_from_iso(const char *iso, time_t *t)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    /* medreg_normalize wrote YYYY-MM-DD */
    if (strlen(iso) != 10 || iso[4] != '-' || iso[7] != '-')
        return 0;
    tm.tm_year = (iso[0] - '0') * 1000 + (iso[1] - '0') * 100 + (iso[2] - '0') * 10 + (iso[3] - '0') - 1900;
    tm.tm_mon = (iso[5] - '0') * 10 + (iso[6] - '0') - 1;
    tm.tm_mday = (iso[8] - '0') * 10 + (iso[9] - '0');
    tm.tm_hour = 12; /* noon: no leap-second or boundary surprises */
    *t = timegm(&tm);
    return *t != (time_t)-1;
}

/* The patient's date shift: HMAC(key, "medreg/date-shift/v1" ‖ PSN) mapped to
 * 1..365 days earlier or later (never 0), the same for every date of the
 * patient, so intervals stay. */
static long date_shift(const uint8_t key[32], const uint8_t psn[32])
{
    uint8_t mac[32];
    crypto_auth_hmacsha256_state st;
    static const char tag[] = "medreg/date-shift/v1";
    crypto_auth_hmacsha256_init(&st, key, 32);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)tag, sizeof tag - 1);
    crypto_auth_hmacsha256_update(&st, psn, 32);
    crypto_auth_hmacsha256_final(&st, mac);
    uint32_t v = (uint32_t)mac[0] << 24 | (uint32_t)mac[1] << 16 | (uint32_t)mac[2] << 8 | mac[3];
    mr_wipe(&st, sizeof st);
    long d = (long)(v % 730);
    return d < 365 ? -(d + 1) : d - 364;
}

static int append(pipe_state *s, const char *p, size_t n, int comma)
{
    size_t need = s->row_len + 2 * n + 4;
    if (need > s->row_cap) {
        size_t cap = need * 2;
        char *row = realloc(s->row, cap);
        if (row == NULL)
            return 0;
        s->row = row;
        s->row_cap = cap;
    }
    if (comma)
        s->row[s->row_len++] = ',';
    s->row_len += mr_csv_field_buf(s->row + s->row_len, p, n);
    return 1;
}

static void header(pipe_state *s)
{
    const mr_csv_config *cfg = s->cfg;
    int seen[MR_CSV_MAX_COLUMNS] = {0};
    s->header_done = 1;
    if (s->n > MR_CSV_MAX_COLUMNS) {
        s->err = MEDREG_ERR_TOOBIG;
        s->errmsg = strdup("the header has more than 512 columns");
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        size_t c;
        for (c = 0; c < cfg->n_cols; c++)
            if (!strcmp(cfg->cols[c].name, s->fields[i].p))
                break;
        if (c == cfg->n_cols || seen[c]) {
            s->err = MEDREG_ERR_CONFIG;
            if (asprintf(&s->errmsg, "column '%.100s' of the input %s in %s", s->fields[i].p,
                         c == cfg->n_cols ? "has no role" : "appears twice", cfg->path) < 0)
                s->errmsg = NULL;
            return;
        }
        seen[c] = 1;
        s->map[i] = c;
    }
    for (size_t c = 0; c < cfg->n_cols; c++)
        if (!seen[c] && cfg->cols[c].action == MR_CSV_IDENTIFIER) {
            s->err = MEDREG_ERR_CONFIG;
            if (asprintf(&s->errmsg, "the input has no column '%.100s' (identifier %s)", cfg->cols[c].name,
                         cfg->cols[c].ident->name) < 0)
                s->errmsg = NULL;
            return;
        }
    s->n_header = s->n;
    /* the output header: psn, then what is kept, in input order */
    s->row_len = 0;
    int ok = append(s, "psn", 3, 0);
    for (size_t i = 0; ok && i < s->n; i++) {
        mr_csv_action a = cfg->cols[s->map[i]].action;
        if (a == MR_CSV_KEEP || a == MR_CSV_DATE || a == MR_CSV_AGE || a == MR_CSV_ZIP)
            ok = append(s, s->fields[i].p, s->fields[i].len, 1);
    }
    if (!ok || fwrite(s->row, 1, s->row_len, s->out) != s->row_len || fputs("\r\n", s->out) == EOF)
        s->err = MEDREG_ERR_IO;
}

static void row(pipe_state *s)
{
    const mr_csv_config *cfg = s->cfg;
    const mr_module *m = cfg->module;
    medreg_psn_field pf[MR_MAX_IDENTIFIERS];
    char *norm[MR_MAX_IDENTIFIERS] = {0};
    uint8_t psn[MEDREG_PSN_BYTES];
    char psn_hex[2 * MEDREG_PSN_BYTES + 1];
    uint64_t changed[MR_CSV_MAX_COLUMNS];
    int ok = 0;
    memset(changed, 0, cfg->n_cols * sizeof changed[0]);

    s->rep->rows++;
    if (s->too_long || s->n != s->n_header) {
        reject(s, s->n < s->n_header ? "fewer fields than the header" : "more fields than the header", NULL);
        return;
    }
    for (size_t i = 0; i < s->n; i++)
        if (u8_check((const uint8_t *)s->fields[i].p, s->fields[i].len) != NULL ||
            memchr(s->fields[i].p, 0, s->fields[i].len) != NULL) {
            reject(s, "not valid UTF-8", cfg->cols[s->map[i]].name);
            return;
        }
    /* identifiers, normalised as the identity service does, in the module's order */
    for (size_t i = 0; i < s->n; i++) {
        const mr_csv_column *col = &cfg->cols[s->map[i]];
        if (col->action != MR_CSV_IDENTIFIER)
            continue;
        size_t k = (size_t)(col->ident - m->idents);
        if (medreg_normalize(&col->ident->rule, s->fields[i].p, s->fields[i].len, &norm[k]) != MEDREG_OK) {
            reject(s, s->fields[i].len ? "malformed identifier" : "missing identifier", col->name);
            goto out;
        }
        pf[k].name = col->ident->name;
        pf[k].value = norm[k];
    }
    if (medreg_psn_derive(s->key, m->key_id, m->name, pf, m->n_idents, psn) != MEDREG_OK) {
        s->err = MEDREG_ERR_CRYPTO;
        goto out;
    }
    sodium_bin2hex(psn_hex, sizeof psn_hex, psn, sizeof psn);
    s->row_len = 0;
    if (!append(s, psn_hex, 64, 0))
        goto nomem;
    for (size_t i = 0; i < s->n; i++) {
        const mr_csv_column *col = &cfg->cols[s->map[i]];
        const field *f = &s->fields[i];
        char buf[32];
        switch (col->action) {
        case MR_CSV_KEEP:
            if (!append(s, f->p, f->len, 1))
                goto nomem;
            break;
        case MR_CSV_IDENTIFIER:
        case MR_CSV_REMOVE:
            changed[s->map[i]] += f->len > 0;
            break;
        case MR_CSV_DATE: {
            medreg_ident_rule dr = {MEDREG_IDENT_DATE, MEDREG_CHECK_NONE,
                                    cfg->dates_mdy ? MEDREG_DATE_MDY : MEDREG_DATE_DMY};
            char *iso = NULL;
            time_t t;
            if (f->len == 0) { /* an empty date stays empty */
                if (!append(s, "", 0, 1))
                    goto nomem;
                break;
            }
            if (medreg_normalize(&dr, f->p, f->len, &iso) != MEDREG_OK || !days_from_iso(iso, &t)) {
                free(iso);
                reject(s, "not a date", col->name);
                goto out;
            }
            if (cfg->date_shift) {
                struct tm tm;
                t += (time_t)date_shift(s->key, psn) * 86400;
                gmtime_r(&t, &tm);
                strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
            } else {
                snprintf(buf, sizeof buf, "%.4s", iso);
            }
            free(iso);
            changed[s->map[i]]++;
            if (!append(s, buf, strlen(buf), 1))
                goto nomem;
            break;
        }
        case MR_CSV_AGE: {
            char *end = NULL;
            long age = f->len ? strtol(f->p, &end, 10) : 0;
            if (f->len && (end == f->p || *end || age < 0 || age > 150)) {
                reject(s, "not an age in years", col->name);
                goto out;
            }
            if (f->len && age > 89) {
                changed[s->map[i]]++;
                if (!append(s, "90+", 3, 1))
                    goto nomem;
            } else if (!append(s, f->p, f->len, 1)) {
                goto nomem;
            }
            break;
        }
        case MR_CSV_ZIP: {
            if (f->len == 0) {
                if (!append(s, "", 0, 1))
                    goto nomem;
                break;
            }
            if (!((f->len == 5 && strspn(f->p, "0123456789") == 5) ||
                  (f->len == 10 && strspn(f->p, "0123456789") == 5 && f->p[5] == '-' &&
                   strspn(f->p + 6, "0123456789") == 4))) {
                reject(s, "not a US ZIP code", col->name);
                goto out;
            }
            memcpy(buf, f->p, 3);
            buf[3] = 0;
            for (size_t z = 0; z < cfg->n_zip3; z++)
                if (!memcmp(cfg->zip3[z], buf, 3))
                    memcpy(buf, "000", 3); /* 20,000 people or fewer */
            changed[s->map[i]]++;
            if (!append(s, buf, 3, 1))
                goto nomem;
            break;
        }
        }
    }
    /* the whole row, or nothing */
    if (fwrite(s->row, 1, s->row_len, s->out) != s->row_len || fputs("\r\n", s->out) == EOF) {
        s->err = MEDREG_ERR_IO;
        goto out;
    }
    s->rep->written++;
    if (s->rep->progress && s->rep->rows % 100000 == 0)
        s->rep->progress(s->rep->progress_ctx, s->rep->rows);
    for (size_t c = 0; c < cfg->n_cols; c++)
        s->rep->changed[c] += changed[c];
    ok = 1;
    goto out;
nomem:
    s->err = MEDREG_ERR_NOMEM;
out:
    (void)ok;
    for (size_t k = 0; k < MR_MAX_IDENTIFIERS; k++)
        if (norm[k]) {
            mr_wipe(norm[k], strlen(norm[k]));
            free(norm[k]);
        }
    mr_wipe(psn, sizeof psn);
}

static void on_row(int c, void *user)
{
    pipe_state *s = user;
    /* line bookkeeping: a CR LF pair ends one line */
    int lf_of_crlf = c == '\n' && s->n == 0 && s->pending_cr;
    s->pending_cr = c == '\r';
    if (s->err == MEDREG_OK && s->n > 0) {
        if (!s->header_done)
            header(s);
        else
            row(s);
    }
    clear_row(s);
    if (!lf_of_crlf)
        s->next_line++;
    s->line = s->next_line;
}

medreg_err mr_csv_deid(const mr_csv_config *cfg, const uint8_t key[32], FILE *in, FILE *out, mr_csv_report *rep,
                       char **errmsg)
{
    struct csv_parser p;
    pipe_state s;
    char buf[65536];
    size_t n;
    int first = 1;

    *errmsg = NULL;
    memset(&s, 0, sizeof s);
    s.cfg = cfg;
    s.key = key;
    s.out = out;
    s.rep = rep;
    s.line = s.next_line = 1;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL) != 0)
        return MEDREG_ERR_NOMEM;
    csv_set_blk_size(&p, 4096);
    while (s.err == MEDREG_OK && (n = fread(buf, 1, sizeof buf, in)) > 0) {
        size_t off = 0;
        if (first && n >= 3 && (uint8_t)buf[0] == 0xEF && (uint8_t)buf[1] == 0xBB && (uint8_t)buf[2] == 0xBF)
            off = 3; /* a UTF-8 byte order mark is not data */
        first = 0;
        if (csv_parse(&p, buf + off, n - off, on_field, on_row, &s) != n - off && s.err == MEDREG_OK) {
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
    if (s.err == MEDREG_OK && !s.header_done) {
        s.err = MEDREG_ERR_INVALID;
        s.errmsg = strdup("the input is empty: it needs at least a header row");
    }
    clear_row(&s);
    free(s.fields);
    if (s.row)
        mr_wipe(s.row, s.row_cap);
    free(s.row);
    free(s.arena);
    csv_free(&p);
    *errmsg = s.errmsg;
    return s.err;
}
