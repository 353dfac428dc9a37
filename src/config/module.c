#include "module.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ini_file.h"

int mr_valid_name(const char *s)
{
    size_t n = 0;
    if (s == NULL || !(s[0] >= 'a' && s[0] <= 'z'))
        return 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return n <= MR_NAME_MAX;
}

/* Category and group names may also carry '-' (e.g. mental-health). */
static int valid_label(const char *s)
{
    size_t n = 0;
    if (s == NULL || !(s[0] >= 'a' && s[0] <= 'z'))
        return 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return n <= MR_NAME_MAX;
}

enum section_kind { SEC_NONE, SEC_MODULE, SEC_IDENT, SEC_GROUP, SEC_FIELD };

typedef struct parse_state {
    mr_module *m;
    char section[160];
    enum section_kind kind;
    char err[256];
    size_t cap_fields;
} parse_state;

__attribute__((format(printf, 2, 0))) static int set_err(parse_state *st, const char *fmt, const char *a, const char *b)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(st->err, sizeof st->err, fmt, a ? a : "", b ? b : "");
#pragma GCC diagnostic pop
    return 0;
}

static int parse_bool(const char *v, int *out)
{
    if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
        *out = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
        *out = 0;
    else
        return 0;
    return 1;
}

static int parse_double(const char *v, double *out)
{
    char *end = NULL;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end != 0 || !isfinite(d))
        return 0;
    *out = d;
    return 1;
}

static int copy_name(char dst[MR_NAME_MAX + 1], const char *src)
{
    size_t n = strlen(src);
    if (n > MR_NAME_MAX)
        return 0;
    memcpy(dst, src, n + 1);
    return 1;
}

/* Start a new [kind name] section. */
static int open_section(parse_state *st, const char *section)
{
    mr_module *m = st->m;
    const char *sp = strchr(section, ' ');
    char kind[32] = "";
    const char *name = NULL;

    if (sp == NULL) {
        if (strcmp(section, "module") != 0)
            return set_err(st, "unknown section [%s]", section, NULL);
        st->kind = SEC_MODULE;
        return 1;
    }
    if ((size_t)(sp - section) >= sizeof kind)
        return set_err(st, "unknown section [%s]", section, NULL);
    memcpy(kind, section, (size_t)(sp - section));
    name = sp + 1;
    if (!strcmp(kind, "identifier")) {
        if (!mr_valid_name(name))
            return set_err(st, "identifier name '%s' must match [a-z][a-z0-9_]*", name, NULL);
        if (mr_module_ident(m, name))
            return set_err(st, "identifier '%s' defined twice", name, NULL);
        if (m->n_idents >= MR_MAX_IDENTIFIERS)
            return set_err(st, "too many identifiers (at most 16)", NULL, NULL);
        memset(&m->idents[m->n_idents], 0, sizeof m->idents[0]);
        copy_name(m->idents[m->n_idents].name, name);
        m->n_idents++;
        st->kind = SEC_IDENT;
    } else if (!strcmp(kind, "group")) {
        if (!valid_label(name))
            return set_err(st, "group name '%s' must match [a-z][a-z0-9_-]*", name, NULL);
        for (size_t i = 0; i < m->n_groups; i++)
            if (!strcmp(m->groups[i].name, name))
                return set_err(st, "group '%s' defined twice", name, NULL);
        if (m->n_groups >= MR_ARRAY_LEN(m->groups))
            return set_err(st, "too many groups (at most 32)", NULL, NULL);
        memset(&m->groups[m->n_groups], 0, sizeof m->groups[0]);
        copy_name(m->groups[m->n_groups].name, name);
        m->n_groups++;
        st->kind = SEC_GROUP;
    } else if (!strcmp(kind, "field")) {
        if (!mr_valid_name(name))
            return set_err(st, "field name '%s' must match [a-z][a-z0-9_]*", name, NULL);
        if (mr_module_field(m, name))
            return set_err(st, "field '%s' defined twice", name, NULL);
        if (m->n_fields >= MR_MAX_FIELDS)
            return set_err(st, "too many fields (at most 256)", NULL, NULL);
        if (m->n_fields == st->cap_fields) {
            size_t cap = st->cap_fields ? st->cap_fields * 2 : 16;
            mr_field_def *f = realloc(m->fields, cap * sizeof *f);
            if (f == NULL)
                return set_err(st, "out of memory", NULL, NULL);
            m->fields = f;
            st->cap_fields = cap;
        }
        mr_field_def *f = &m->fields[m->n_fields++];
        memset(f, 0, sizeof *f);
        copy_name(f->name, name);
        f->max_length = 1024;
        st->kind = SEC_FIELD;
    } else {
        return set_err(st, "unknown section [%s]", section, NULL);
    }
    return 1;
}

static int module_key(parse_state *st, const char *key, const char *value)
{
    mr_module *m = st->m;
    if (!strcmp(key, "name")) {
        if (!mr_valid_name(value))
            return set_err(st, "module name '%s' must match [a-z][a-z0-9_]*", value, NULL);
        copy_name(m->name, value);
    } else if (!strcmp(key, "key_file")) {
        free(m->key_file);
        m->key_file = strdup(value);
        if (m->key_file == NULL)
            return set_err(st, "out of memory", NULL, NULL);
    } else if (!strcmp(key, "key_id")) {
        char *end = NULL;
        errno = 0;
        unsigned long v = strtoul(value, &end, 10);
        if (errno || *end || end == value || v == 0 || v > UINT32_MAX)
            return set_err(st, "key_id '%s' must be an integer from 1 to 4294967295", value, NULL);
        m->key_id = (uint32_t)v;
    } else {
        return set_err(st, "unknown key '%s' in [module]", key, NULL);
    }
    return 1;
}

static int ident_key(parse_state *st, const char *key, const char *value)
{
    mr_ident_def *d = &st->m->idents[st->m->n_idents - 1];
    if (!strcmp(key, "kind")) {
        if (d->rule.kind != 0)
            return set_err(st, "[identifier %s]: kind set twice (is the section listed twice?)", d->name, NULL);
        if (!strcmp(value, "name"))
            d->rule.kind = MEDREG_IDENT_NAME;
        else if (!strcmp(value, "date"))
            d->rule.kind = MEDREG_IDENT_DATE;
        else if (!strcmp(value, "code"))
            d->rule.kind = MEDREG_IDENT_CODE;
        else
            return set_err(st, "kind '%s' is not one of name, date, code", value, NULL);
    } else if (!strcmp(key, "check")) {
        if (!strcmp(value, "none"))
            d->rule.check = MEDREG_CHECK_NONE;
        else if (!strcmp(value, "luhn"))
            d->rule.check = MEDREG_CHECK_LUHN;
        else if (!strcmp(value, "ean13"))
            d->rule.check = MEDREG_CHECK_EAN13;
        else if (!strcmp(value, "mod97"))
            d->rule.check = MEDREG_CHECK_MOD97;
        else
            return set_err(st, "check '%s' is not one of none, luhn, ean13, mod97", value, NULL);
    } else if (!strcmp(key, "slash_order")) {
        if (!strcmp(value, "dmy"))
            d->rule.slash_order = MEDREG_DATE_DMY;
        else if (!strcmp(value, "mdy"))
            d->rule.slash_order = MEDREG_DATE_MDY;
        else
            return set_err(st, "slash_order '%s' is not dmy or mdy", value, NULL);
    } else {
        return set_err(st, "unknown key '%s' in an identifier section", key, NULL);
    }
    return 1;
}

static int field_key(parse_state *st, const char *key, const char *value)
{
    mr_field_def *f = &st->m->fields[st->m->n_fields - 1];
    if (!strcmp(key, "type")) {
        static const struct { const char *n; mr_field_type t; } types[] = {
            {"text", MR_FT_TEXT},   {"integer", MR_FT_INTEGER}, {"decimal", MR_FT_DECIMAL},
            {"date", MR_FT_DATE},   {"enum", MR_FT_ENUM},       {"boolean", MR_FT_BOOLEAN}};
        for (size_t i = 0; i < MR_ARRAY_LEN(types); i++)
            if (!strcmp(value, types[i].n)) {
                f->type = types[i].t;
                return 1;
            }
        return set_err(st, "type '%s' is not one of text, integer, decimal, date, enum, boolean",
                       value, NULL);
    } else if (!strcmp(key, "group")) {
        if (!valid_label(value))
            return set_err(st, "group '%s' is not a valid group name", value, NULL);
        copy_name(f->group, value);
    } else if (!strcmp(key, "unit")) {
        if (!copy_name(f->unit, value))
            return set_err(st, "unit '%s' is longer than 64 bytes", value, NULL);
    } else if (!strcmp(key, "required")) {
        if (!parse_bool(value, &f->required))
            return set_err(st, "required '%s' is not true or false", value, NULL);
    } else if (!strcmp(key, "min")) {
        if (!parse_double(value, &f->min))
            return set_err(st, "min '%s' is not a number", value, NULL);
        f->has_min = 1;
    } else if (!strcmp(key, "max")) {
        if (!parse_double(value, &f->max))
            return set_err(st, "max '%s' is not a number", value, NULL);
        f->has_max = 1;
    } else if (!strcmp(key, "max_length")) {
        double d;
        if (!parse_double(value, &d) || d < 1 || d > 65536 || d != floor(d))
            return set_err(st, "max_length '%s' must be an integer from 1 to 65536", value, NULL);
        f->max_length = (size_t)d;
    } else if (!strcmp(key, "values")) {
        char *copy = strdup(value), *save = NULL, *tok;
        if (copy == NULL)
            return set_err(st, "out of memory", NULL, NULL);
        for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            while (*tok == ' ')
                tok++;
            size_t n = strlen(tok);
            while (n > 0 && tok[n - 1] == ' ')
                tok[--n] = 0;
            if (n == 0 || f->n_values >= MR_MAX_VALUES) {
                free(copy);
                return set_err(st, "values: empty entry or more than 128 values", NULL, NULL);
            }
            f->values[f->n_values] = strdup(tok);
            if (f->values[f->n_values] == NULL) {
                free(copy);
                return set_err(st, "out of memory", NULL, NULL);
            }
            f->n_values++;
        }
        free(copy);
    } else {
        return set_err(st, "unknown key '%s' in a field section", key, NULL);
    }
    return 1;
}

static int group_key(parse_state *st, const char *key, const char *value)
{
    mr_group_def *g = &st->m->groups[st->m->n_groups - 1];
    if (!strcmp(key, "category")) {
        if (!valid_label(value))
            return set_err(st, "category '%s' must match [a-z][a-z0-9_-]*", value, NULL);
        copy_name(g->category, value);
        return 1;
    }
    return set_err(st, "unknown key '%s' in a group section", key, NULL);
}

static int on_entry(void *user, const char *section, const char *key, const char *value)
{
    parse_state *st = user;
    if (strcmp(section, st->section) != 0 || (key == NULL && value == NULL)) {
        if (strlen(section) >= sizeof st->section)
            return set_err(st, "section name too long", NULL, NULL);
        if (strcmp(section, st->section) != 0) {
            memcpy(st->section, section, strlen(section) + 1);
            if (!open_section(st, section))
                return 0;
        }
        if (key == NULL)
            return 1;
    }
    switch (st->kind) {
    case SEC_MODULE: return module_key(st, key, value);
    case SEC_IDENT: return ident_key(st, key, value);
    case SEC_GROUP: return group_key(st, key, value);
    case SEC_FIELD: return field_key(st, key, value);
    case SEC_NONE: break;
    }
    return set_err(st, "key '%s' outside of any section", key, NULL);
}

/* Checks that need the whole file. Returns 0 and fills st->err on failure. */
static int check_complete(parse_state *st)
{
    mr_module *m = st->m;
    if (m->name[0] == 0)
        return set_err(st, "[module]: 'name' is missing", NULL, NULL);
    if (m->key_id == 0)
        m->key_id = 1;
    if (m->n_idents == 0)
        return set_err(st, "no [identifier ...] section: a module needs at least one", NULL, NULL);
    for (size_t i = 0; i < m->n_idents; i++)
        if (m->idents[i].rule.kind == 0)
            return set_err(st, "[identifier %s]: 'kind' is missing", m->idents[i].name, NULL);
    for (size_t i = 0; i < m->n_groups; i++)
        if (m->groups[i].category[0] == 0)
            return set_err(st, "[group %s]: 'category' is missing", m->groups[i].name, NULL);
    for (size_t i = 0; i < m->n_fields; i++) {
        mr_field_def *f = &m->fields[i];
        if (f->type == 0)
            return set_err(st, "[field %s]: 'type' is missing", f->name, NULL);
        if (f->type == MR_FT_ENUM && f->n_values == 0)
            return set_err(st, "[field %s]: an enum needs 'values'", f->name, NULL);
        if (f->type != MR_FT_ENUM && f->n_values > 0)
            return set_err(st, "[field %s]: 'values' only applies to type enum", f->name, NULL);
        if (f->has_min && f->has_max && f->min > f->max)
            return set_err(st, "[field %s]: min is greater than max", f->name, NULL);
        if (f->group[0] == 0)
            return set_err(st, "[field %s]: 'group' is missing", f->name, NULL);
        size_t g;
        for (g = 0; g < m->n_groups; g++)
            if (!strcmp(m->groups[g].name, f->group))
                break;
        if (g == m->n_groups)
            return set_err(st, "[field %s]: group '%s' is not defined", f->name, f->group);
        copy_name(f->category, m->groups[g].category);
    }
    if (m->n_fields == 0)
        return set_err(st, "no [field ...] section: a module needs a record schema", NULL, NULL);
    return 1;
}

medreg_err mr_module_load(const char *path, mr_module **out, char **errmsg)
{
    medreg_err rc = MEDREG_ERR_CONFIG;
    parse_state st;

    *out = NULL;
    *errmsg = NULL;
    memset(&st, 0, sizeof st);
    st.m = calloc(1, sizeof *st.m);
    ENSURE(st.m != NULL, MEDREG_ERR_NOMEM);
    st.m->path = strdup(path);
    ENSURE(st.m->path != NULL, MEDREG_ERR_NOMEM);
    if (mr_ini_parse(path, on_entry, &st, st.err, errmsg) != MEDREG_OK)
        goto out;
    if (!check_complete(&st)) {
        if (asprintf(errmsg, "%s: %s", path, st.err) < 0)
            *errmsg = NULL;
        goto out;
    }
    *out = st.m;
    st.m = NULL;
    rc = MEDREG_OK;
out:
    mr_module_free(st.m);
    return rc;
}

void mr_module_free(mr_module *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n_fields; i++)
        for (size_t j = 0; j < m->fields[i].n_values; j++)
            free(m->fields[i].values[j]);
    free(m->fields);
    free(m->key_file);
    free(m->path);
    free(m);
}

const mr_ident_def *mr_module_ident(const mr_module *m, const char *name)
{
    for (size_t i = 0; i < m->n_idents; i++)
        if (!strcmp(m->idents[i].name, name))
            return &m->idents[i];
    return NULL;
}

const mr_field_def *mr_module_field(const mr_module *m, const char *name)
{
    for (size_t i = 0; i < m->n_fields; i++)
        if (!strcmp(m->fields[i].name, name))
            return &m->fields[i];
    return NULL;
}

static int valid_iso_date(const char *s)
{
    medreg_ident_rule r = {MEDREG_IDENT_DATE, MEDREG_CHECK_NONE, MEDREG_DATE_DMY};
    char *norm = NULL;
    size_t n = strlen(s);
    if (n != 10 || medreg_normalize(&r, s, n, &norm) != MEDREG_OK)
        return 0;
    int same = strcmp(norm, s) == 0;
    free(norm);
    return same;
}

/* A text value holds no control character but tab and line breaks: no C0
 * (ESC starts a terminal's escape sequences), no DEL, no C1 (U+0080 to
 * U+009F, in UTF-8 C2 80 to C2 9F, which some terminals obey as well).
 * Another physician reads the value in a terminal under the patient's
 * consent, and a researcher in an export: neither may receive commands for
 * their terminal from a record. jansson has checked the UTF-8. */
static int text_is_clean(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f ||
            (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9f))
            return 0;
    }
    return 1;
}

medreg_err mr_module_validate_record(const mr_module *m, json_t *data, const char **field,
                                     const char **why)
{
    const char *key;
    json_t *v;

    *field = NULL;
    *why = NULL;
    if (!json_is_object(data)) {
        *why = "data must be a JSON object";
        return MEDREG_ERR_INVALID;
    }
    json_object_foreach(data, key, v) {
        const mr_field_def *f = mr_module_field(m, key);
        *field = key;
        if (f == NULL) {
            *why = "is not a field of this module";
            return MEDREG_ERR_INVALID;
        }
        if (json_is_null(v)) {
            if (f->required) {
                *why = "is required";
                return MEDREG_ERR_INVALID;
            }
            continue;
        }
        switch (f->type) {
        case MR_FT_TEXT:
            if (!json_is_string(v) || json_string_length(v) > f->max_length) {
                *why = "must be a string within max_length";
                return MEDREG_ERR_INVALID;
            }
            if (!text_is_clean(json_string_value(v), json_string_length(v))) {
                *why = "must not contain control characters (tab and line breaks are allowed)";
                return MEDREG_ERR_INVALID;
            }
            break;
        case MR_FT_INTEGER:
        case MR_FT_DECIMAL: {
            double d;
            if (f->type == MR_FT_INTEGER ? !json_is_integer(v) : !json_is_number(v)) {
                *why = f->type == MR_FT_INTEGER ? "must be an integer" : "must be a number";
                return MEDREG_ERR_INVALID;
            }
            d = json_number_value(v);
            if ((f->has_min && d < f->min) || (f->has_max && d > f->max)) {
                *why = "is out of range";
                return MEDREG_ERR_INVALID;
            }
            break;
        }
        case MR_FT_DATE:
            if (!json_is_string(v) || !valid_iso_date(json_string_value(v))) {
                *why = "must be a date YYYY-MM-DD";
                return MEDREG_ERR_INVALID;
            }
            break;
        case MR_FT_ENUM: {
            size_t i;
            if (!json_is_string(v)) {
                *why = "must be one of the allowed values";
                return MEDREG_ERR_INVALID;
            }
            for (i = 0; i < f->n_values; i++)
                if (!strcmp(f->values[i], json_string_value(v)))
                    break;
            if (i == f->n_values) {
                *why = "must be one of the allowed values";
                return MEDREG_ERR_INVALID;
            }
            break;
        }
        case MR_FT_BOOLEAN:
            if (!json_is_boolean(v)) {
                *why = "must be true or false";
                return MEDREG_ERR_INVALID;
            }
            break;
        }
    }
    for (size_t i = 0; i < m->n_fields; i++) {
        json_t *x = json_object_get(data, m->fields[i].name);
        if (m->fields[i].required && (x == NULL || json_is_null(x))) {
            *field = m->fields[i].name;
            *why = "is required";
            return MEDREG_ERR_INVALID;
        }
    }
    return MEDREG_OK;
}
