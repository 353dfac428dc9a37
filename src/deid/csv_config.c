/* The CSV tool's configuration: which module's identifiers make the PSN,
 * how dates are treated, the restricted ZIP prefixes, and a role for every
 * column. A column without a role is an error at run time, never a silent
 * pass-through. */
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/ini_file.h"
#include "../core/secret.h"
#include "csv_deid.h"
#include "recode.h"

/* The HIPAA Safe Harbor kinds (45 CFR 164.514(b)(2)(i)) and what happens to each. */
static const struct { const char *kind; mr_csv_action action; } ROLES[] = {
    {"identifier", MR_CSV_IDENTIFIER}, {"keep", MR_CSV_KEEP},
    {"name", MR_CSV_REMOVE},           {"geography", MR_CSV_REMOVE}, {"zip", MR_CSV_ZIP},
    {"date", MR_CSV_DATE},             {"age", MR_CSV_AGE},          {"phone", MR_CSV_REMOVE},
    {"fax", MR_CSV_REMOVE},            {"email", MR_CSV_REMOVE},     {"ssn", MR_CSV_REMOVE},
    {"mrn", MR_CSV_REMOVE},            {"health_plan", MR_CSV_REMOVE}, {"account", MR_CSV_REMOVE},
    {"license", MR_CSV_REMOVE},        {"vehicle", MR_CSV_REMOVE},   {"device", MR_CSV_REMOVE},
    {"url", MR_CSV_REMOVE},            {"ip", MR_CSV_REMOVE},        {"biometric", MR_CSV_REMOVE},
    {"photo", MR_CSV_REMOVE},          {"other_id", MR_CSV_REMOVE},  {"text", MR_CSV_TEXT},
};

typedef struct cfg_state {
    mr_csv_config *c;
    char *dir;
    char *module_path, *zip_path;
    char ident_names[MR_CSV_MAX_COLUMNS][MR_NAME_MAX + 1];
    uint8_t unnamed[MR_CSV_MAX_COLUMNS]; /* by position without ": HEADER" */
    char err[256];
} cfg_state;

static int fail(cfg_state *st, const char *what, const char *v)
{
    return mr_ini_refuse(st->err, sizeof st->err, what, v);
}

/* One column and its role ("ROLE" or "identifier NAME"), named by its
 * header, or by position with the header expected there. */
static int add_column(cfg_state *st, const char *header, unsigned position, const char *v)
{
    mr_csv_config *c = st->c;
    char where[32] = "";
    if (position)
        snprintf(where, sizeof where, "%u", position);
    if (c->n_cols >= MR_CSV_MAX_COLUMNS)
        return fail(st, "too many columns, at most 512, at", position ? where : header);
    for (size_t i = 0; i < c->n_cols; i++)
        if (position ? c->cols[i].position == position : !c->cols[i].position && !strcmp(c->cols[i].name, header))
            return fail(st, "column listed twice:", position ? where : header);
    char buf[256], *save = NULL, role[64] = "", ident[MR_NAME_MAX + 2] = "";
    int n = 0;
    snprintf(buf, sizeof buf, "%s", v);
    for (char *w = strtok_r(buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save), n++) {
        if (n == 0)
            snprintf(role, sizeof role, "%.63s", w);
        else if (n == 1)
            snprintf(ident, sizeof ident, "%.65s", w);
    }
    size_t r;
    for (r = 0; r < sizeof ROLES / sizeof ROLES[0]; r++)
        if (!strcmp(ROLES[r].kind, role))
            break;
    if (n < 1 || r == sizeof ROLES / sizeof ROLES[0])
        return fail(st, "unknown role (see docs/deid.md):", v);
    if ((ROLES[r].action == MR_CSV_IDENTIFIER) != (n == 2) || n > 2 || strlen(ident) > MR_NAME_MAX)
        return fail(st, "write 'identifier NAME' for identifiers, and the role alone otherwise:", v);
    mr_csv_column *col = &c->cols[c->n_cols];
    if ((col->name = strdup(header)) == NULL)
        return 0;
    col->position = position;
    /* messages name a column by position with its header; one without a header is named by position alone */
    int with_position = position && !st->unnamed[c->n_cols];
    if ((with_position ? asprintf(&col->label, "%s (column %u)", header, position) : asprintf(&col->label, "%s", header)) <
        0) {
        col->label = NULL;
        free(col->name);
        return 0;
    }
    snprintf(col->kind, sizeof col->kind, "%s", ROLES[r].kind); /* a known role: short */
    col->action = ROLES[r].action;
    c->has_text |= col->action == MR_CSV_TEXT;
    memcpy(st->ident_names[c->n_cols], ident, strlen(ident) + 1); /* checked: at most MR_NAME_MAX */
    c->n_cols++;
    return 1;
}

static int on_entry(void *user, const char *section, const char *key, const char *v)
{
    cfg_state *st = user;
    mr_csv_config *c = st->c;
    if (!strcmp(section, "pseudonymize")) {
        if (!strcmp(key, "module")) {
            free(st->module_path);
            return (st->module_path = mr_ini_resolve(st->dir, v)) != NULL;
        }
        if (!strcmp(key, "zip_restricted")) {
            free(st->zip_path);
            return (st->zip_path = mr_ini_resolve(st->dir, v)) != NULL;
        }
        if (!strcmp(key, "dates")) {
            if (strcmp(v, "year") && strcmp(v, "shift"))
                return fail(st, "dates must be year or shift, not", v);
            c->date_shift = !strcmp(v, "shift");
            return 1;
        }
        if (!strcmp(key, "delimiter")) { /* by name: a bare ';' would read as a comment */
            static const struct { const char *name; char c; } D[] = {
                {"comma", ','}, {"semicolon", ';'}, {"tab", '\t'}, {"pipe", '|'}};
            for (size_t i = 0; i < sizeof D / sizeof D[0]; i++)
                if (!strcmp(v, D[i].name)) {
                    c->delim = D[i].c;
                    return 1;
                }
            return fail(st, "delimiter must be comma, semicolon, tab or pipe, not", v);
        }
        if (!strcmp(key, "encoding")) { /* the output is UTF-8 whatever the input's */
            mr_recode *r = NULL;
            if (!strcmp(v, "utf-8")) {
                c->encoding[0] = 0;
                return 1;
            }
            if (mr_recode_open(v, &r) != MEDREG_OK)
                return fail(st, "encoding must be utf-8, windows-1252, iso-8859-1, iso-8859-15, utf-16, utf-16le or utf-16be, not", v);
            mr_recode_close(r);
            snprintf(c->encoding, sizeof c->encoding, "%s", v); /* a known name: short */
            return 1;
        }
        if (!strcmp(key, "header")) {
            if (strcmp(v, "yes") && strcmp(v, "no"))
                return fail(st, "header must be yes (the first row names the columns) or no, not", v);
            c->no_header_row = !strcmp(v, "no");
            return 1;
        }
        if (!strcmp(key, "slash_dates")) {
            if (strcmp(v, "dmy") && strcmp(v, "mdy"))
                return fail(st, "slash_dates must be dmy or mdy, not", v);
            c->dates_mdy = !strcmp(v, "mdy");
            return 1;
        }
        return fail(st, "unknown key in [pseudonymize]:", key);
    }
    if (!strcmp(section, "columns"))
        return add_column(st, key, 0, v);
    if (!strcmp(section, "columns by position")) {
        /* "N = ROLE [NAME] : HEADER": for headers an INI key cannot hold (':', '=', a leading ';', '#' or
         * '['), empty ones, and one header twice. The header is checked, so that another layout of the
         * export cannot put an identifier where a kept column was. Without a header row (header = no),
         * "N = ROLE [NAME]" and the text after a colon, if any, names the column in the output. */
        char *end = NULL;
        unsigned long n = strtoul(key, &end, 10);
        const char *colon = strchr(v, ':');
        if (key[0] < '1' || key[0] > '9' || *end || n > MR_CSV_MAX_COLUMNS)
            return fail(st, "a position is a number from 1 to 512, not", key);
        char role[256], unnamed[32];
        if (colon == NULL) { /* only without a header row (checked at the end): named in the output by position */
            snprintf(unnamed, sizeof unnamed, "column %lu", n);
            st->unnamed[c->n_cols] = 1;
            return add_column(st, unnamed, (unsigned)n, v);
        }
        snprintf(role, sizeof role, "%.*s", (int)(colon - v), v);
        return add_column(st, colon + 1 + strspn(colon + 1, " \t"), (unsigned)n, role);
    }
    return fail(st, "unknown section", section);
}

static medreg_err load_zip3(mr_csv_config *c, const char *path, char **errmsg)
{
    char *text = NULL, *save = NULL;
    size_t len = 0;
    medreg_err rc = mr_regular_file_read(path, 1 << 20, &text, &len);
    if (rc != MEDREG_OK) {
        if (asprintf(errmsg, "%s: cannot read the restricted ZIP table%s", path,
                     rc == MEDREG_ERR_INVALID ? ": not a regular file" : "") < 0)
            *errmsg = NULL;
        return MEDREG_ERR_CONFIG;
    }
    int line = 0;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        line++;
        l[strcspn(l, "\r")] = 0;
        if (line == 1 && !strcmp(l, "zip3"))
            continue;
        if (strlen(l) != 3 || strspn(l, "0123456789") != 3) {
            if (asprintf(errmsg, "%s:%d: not a three-digit ZIP prefix: '%.16s'", path, line, l) < 0)
                *errmsg = NULL;
            free(text);
            return MEDREG_ERR_CONFIG;
        }
        c->zip3_restricted[(l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0')] = 1;
    }
    free(text);
    return MEDREG_OK;
}

medreg_err mr_csv_config_load(const char *path, mr_csv_config **out, char **errmsg)
{
    medreg_err rc = MEDREG_ERR_CONFIG;
    cfg_state st;
    *out = NULL;
    *errmsg = NULL;
    memset(&st, 0, sizeof st);
    st.c = calloc(1, sizeof *st.c);
    if (st.c == NULL || (st.dir = mr_ini_dir(path)) == NULL ||
        (st.c->path = strdup(path)) == NULL) {
        rc = MEDREG_ERR_NOMEM;
        goto out;
    }
    st.c->delim = ',';
    if (mr_ini_parse(path, on_entry, &st, st.err, errmsg) != MEDREG_OK)
        goto out;
    if (st.module_path == NULL || st.c->n_cols == 0) {
        if (asprintf(errmsg, "%s: needs [pseudonymize] module = FILE and a [columns] or [columns by position] section", path) < 0)
            *errmsg = NULL;
        goto out;
    }
    if ((rc = mr_module_load(st.module_path, &st.c->module, errmsg)) != MEDREG_OK)
        goto out;
    rc = MEDREG_ERR_CONFIG;
    /* without a header row, positions 1 to n and nothing else; with one, each position says its header */
    for (size_t i = 0; i < st.c->n_cols; i++) {
        const mr_csv_column *col = &st.c->cols[i];
        const char *why = NULL;
        if (!st.c->no_header_row && st.unnamed[i])
            why = "write N = ROLE : HEADER (the header expected there)";
        else if (st.c->no_header_row && !col->position)
            why = "without a header row, every column needs its role by position, not by name";
        else if (st.c->no_header_row && col->position > st.c->n_cols) /* positions are unique: 1 to n */
            why = "without a header row, the positions must be 1 to the number of columns, each once";
        if (why) {
            if (asprintf(errmsg, "%s: %s: '%s'", path, why, col->label) < 0)
                *errmsg = NULL;
            goto out;
        }
    }
    /* a header with a role by name and another where it stands by position: which to believe cannot be
     * guessed (one may keep what the other removes), so both must agree */
    for (size_t i = 0; i < st.c->n_cols; i++)
        for (size_t j = 0; st.c->cols[i].position && j < st.c->n_cols; j++)
            if (!st.c->cols[j].position && !strcmp(st.c->cols[i].name, st.c->cols[j].name) &&
                (strcmp(st.c->cols[i].kind, st.c->cols[j].kind) || strcmp(st.ident_names[i], st.ident_names[j]))) {
                if (asprintf(errmsg, "%s: column '%s' is '%s' by name and '%s' at position %u: give each column of "
                             "that name its role by position", path, st.c->cols[j].name, st.c->cols[j].kind,
                             st.c->cols[i].kind, st.c->cols[i].position) < 0)
                    *errmsg = NULL;
                goto out;
            }
    /* every identifier of the module, exactly once */
    size_t filled = 0;
    for (size_t i = 0; i < st.c->n_cols; i++) {
        mr_csv_column *col = &st.c->cols[i];
        if (col->action != MR_CSV_IDENTIFIER)
            continue;
        col->ident = mr_module_ident(st.c->module, st.ident_names[i]);
        for (size_t j = 0; col->ident && j < i; j++)
            if (st.c->cols[j].ident == col->ident)
                col->ident = NULL;
        if (col->ident == NULL) {
            if (asprintf(errmsg, "%s: column '%s': '%s' is not an identifier of module %s, or is used twice", path,
                         col->label, st.ident_names[i], st.c->module->name) < 0)
                *errmsg = NULL;
            goto out;
        }
        filled++;
    }
    if (filled != st.c->module->n_idents) {
        if (asprintf(errmsg, "%s: module %s has %zu identifiers and the columns fill %zu: the PSN needs all of them",
                     path, st.c->module->name, st.c->module->n_idents, filled) < 0)
            *errmsg = NULL;
        goto out;
    }
    for (size_t i = 0; i < st.c->n_cols; i++)
        if (st.c->cols[i].action == MR_CSV_ZIP && st.zip_path == NULL) {
            if (asprintf(errmsg, "%s: a zip column needs [pseudonymize] zip_restricted = FILE (data/hipaa-restricted-zip3.csv)",
                         path) < 0)
                *errmsg = NULL;
            goto out;
        }
    if (st.zip_path && (rc = load_zip3(st.c, st.zip_path, errmsg)) != MEDREG_OK)
        goto out;
    *out = st.c;
    st.c = NULL;
    rc = MEDREG_OK;
out:
    free(st.dir);
    free(st.module_path);
    free(st.zip_path);
    mr_csv_config_free(st.c);
    return rc;
}

void mr_csv_config_free(mr_csv_config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_cols; i++)
        free(c->cols[i].name), free(c->cols[i].label);
    mr_module_free(c->module);
    free(c->path);
    free(c);
}
