/* A module: one disease registry's identifier selection and normalisation,
 * pseudonym key reference and record schema, read from an INI file.
 * See docs/modules.md for the format. */
#ifndef MR_MODULE_H
#define MR_MODULE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/safety.h"
#include "medreg/pseudonym.h"

#define MR_NAME_MAX 64
#define MR_MAX_IDENTIFIERS 16
#define MR_MAX_FIELDS 256
#define MR_MAX_VALUES 128

typedef struct mr_ident_def {
    char name[MR_NAME_MAX + 1];
    medreg_ident_rule rule;
} mr_ident_def;

typedef enum mr_field_type {
    MR_FT_TEXT = 1,
    MR_FT_INTEGER,
    MR_FT_DECIMAL,
    MR_FT_DATE,
    MR_FT_ENUM,
    MR_FT_BOOLEAN
} mr_field_type;

typedef struct mr_field_def {
    char name[MR_NAME_MAX + 1];
    char group[MR_NAME_MAX + 1];
    char category[MR_NAME_MAX + 1]; /* the group's confidentiality category */
    char unit[MR_NAME_MAX + 1];
    mr_field_type type;
    int required;
    int has_min, has_max;
    double min, max;
    size_t max_length; /* text */
    char *values[MR_MAX_VALUES];
    size_t n_values;
} mr_field_def;

typedef struct mr_group_def {
    char name[MR_NAME_MAX + 1];
    char category[MR_NAME_MAX + 1];
} mr_group_def;

typedef struct mr_module {
    char name[MR_NAME_MAX + 1];
    char *path;     /* the file it was read from */
    char *key_file; /* absolute or relative to the module file; may be NULL */
    uint32_t key_id;
    mr_ident_def idents[MR_MAX_IDENTIFIERS];
    size_t n_idents;
    mr_field_def *fields; /* n_fields entries */
    size_t n_fields;
    mr_group_def groups[32];
    size_t n_groups;
} mr_module;

/* Parse a module file. On failure *errmsg (malloc'ed) reads
 * "FILE:LINE: problem" or "FILE: [section]: problem". */
MR_MUST_CHECK medreg_err mr_module_load(const char *path, mr_module **out, char **errmsg);
void mr_module_free(mr_module *m);

const mr_ident_def *mr_module_ident(const mr_module *m, const char *name);
const mr_field_def *mr_module_field(const mr_module *m, const char *name);

/* A valid identifier or field name: [a-z][a-z0-9_]{0,63}. */
int mr_valid_name(const char *s);

/* Validate a record's data object against the schema. On failure *field
 * names the offending field (points into data or the schema) and *why says
 * what is wrong (static string). */
MR_MUST_CHECK medreg_err mr_module_validate_record(const mr_module *m, json_t *data,
                                                   const char **field, const char **why);

#endif
