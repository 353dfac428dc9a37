/* The DICOM tool's configuration: the module whose identifiers make the
 * PSN and where each is found in a file, the profile table and options,
 * the safe private attributes, the modalities quarantined by default, and
 * where burned-in text may be blanked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/csv_table.h"
#include "../config/ini_file.h"
#include "../core/encode.h"
#include "../core/secret.h"
#include "dicom_charset.h"
#include "dicom_deid.h"

#define CONFIG_FILE_MAX (4u << 20) /* far above any (a table may have 1 MiB) */

typedef struct cfg_state {
    mr_dicom_config *c;
    char *dir, *module_path, *profile_path, *safe_path, *pixel_path;
    char ident_names[MR_MAX_IDENTIFIERS][MR_NAME_MAX + 1];
    mr_dcm_source ident_src[MR_MAX_IDENTIFIERS];
    size_t n_idents;
    int modalities_set;
    char err[256];
} cfg_state;

static int fail(cfg_state *st, const char *what, const char *v)
{
    return mr_ini_refuse(st->err, sizeof st->err, what, v);
}

/* The attributes an identifier may come from. */
static const struct {
    const char *name;
    mr_dcm_source src;
} SOURCES[] = {
    {"PatientName.family", {0x0010, 0x0010, 0}}, {"PatientName.given", {0x0010, 0x0010, 1}},
    {"PatientName.middle", {0x0010, 0x0010, 2}}, {"PatientName", {0x0010, 0x0010, -1}},
    {"PatientID", {0x0010, 0x0020, -1}},         {"IssuerOfPatientID", {0x0010, 0x0021, -1}},
    {"PatientBirthDate", {0x0010, 0x0030, -1}},  {"PatientSex", {0x0010, 0x0040, -1}},
    {"OtherPatientIDs", {0x0010, 0x1000, -1}},   {"PatientBirthName", {0x0010, 0x1005, -1}},
    {"PatientMotherBirthName", {0x0010, 0x1060, -1}},
};

static int on_entry(void *user, const char *section, const char *key, const char *v)
{
    cfg_state *st = user;
    mr_dicom_config *c = st->c;
    if (!strcmp(section, "deid")) {
        char **slot = !strcmp(key, "module") ? &st->module_path
                      : !strcmp(key, "profile_table") ? &st->profile_path
                      : !strcmp(key, "safe_private") ? &st->safe_path
                      : !strcmp(key, "pixel_rules")  ? &st->pixel_path
                                                      : NULL;
        if (slot) {
            free(*slot);
            return (*slot = mr_ini_resolve(st->dir, v)) != NULL;
        }
        char buf[1024], *save = NULL;
        snprintf(buf, sizeof buf, "%s", v);
        if (!strcmp(key, "options")) {
            for (char *w = strtok_r(buf, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
                unsigned i;
                for (i = 0; i < MR_DCM_N_OPTIONS; i++)
                    if (!strcmp(w, mr_dcm_option_name(i)))
                        break;
                if (i == MR_DCM_N_OPTIONS)
                    return fail(st, "unknown profile option (see docs/deid.md):", w);
                c->options |= 1u << i;
            }
            return 1;
        }
        if (!strcmp(key, "assume_character_set")) {
            /* old devices write Latin-1 and say nothing: the data engineer
             * who knows it says so here, in (0008,0005)'s words */
            if (v[0] == 0 || strlen(v) > 64 || !(mr_dcm_charset_known(v) || mr_dicom_charset_japanese(v)))
                return fail(st, "a character set as (0008,0005) names it, which DCMTK or medreg can read (ISO_IR 100, …):",
                            v);
            snprintf(c->assumed_charset_buf, sizeof c->assumed_charset_buf, "%s", v);
            c->assumed_charset = c->assumed_charset_buf;
            return 1;
        }
        if (!strcmp(key, "ages_over_89")) {
            /* Safe Harbor's "90 or older"; a registry of the very old
             * whose data use agreement allows more says keep */
            if (strcmp(v, "aggregate") != 0 && strcmp(v, "keep") != 0)
                return fail(st, "ages_over_89 is aggregate (the default: \"090Y\") or keep:", v);
            c->keep_ages_over_89 = !strcmp(v, "keep");
            return 1;
        }
        if (!strcmp(key, "quarantine_modalities")) {
            c->n_modalities = 0;
            st->modalities_set = 1;
            for (char *w = strtok_r(buf, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
                if (c->n_modalities == MR_DCM_MAX_MODALITIES || strlen(w) > 16)
                    return fail(st, "at most 16 modalities of up to 16 characters:", w);
                snprintf(c->modalities[c->n_modalities++], 17, "%s", w);
            }
            return 1;
        }
        return fail(st, "unknown key in [deid]:", key);
    }
    if (!strcmp(section, "identifiers")) {
        size_t s;
        for (s = 0; s < MR_ARRAY_LEN(SOURCES); s++)
            if (!strcmp(SOURCES[s].name, v))
                break;
        if (s == MR_ARRAY_LEN(SOURCES))
            return fail(st, "unknown DICOM source (PatientName.family, PatientBirthDate, PatientID, …):", v);
        if (st->n_idents == MR_MAX_IDENTIFIERS || strlen(key) > MR_NAME_MAX)
            return fail(st, "too many identifiers, or a name too long:", key);
        snprintf(st->ident_names[st->n_idents], MR_NAME_MAX + 1, "%s", key);
        st->ident_src[st->n_idents++] = SOURCES[s].src;
        return 1;
    }
    return fail(st, "unknown section", section);
}

/* CREATOR,gggg,ee per row (a CSV table: a creator with a comma is quoted) */
#define SAFE_MAX 4096

static int on_safe_row(void *ctx, const mr_table_row *row, char *why, size_t why_len)
{
    mr_dicom_config *c = ctx;
    uint8_t g[2], e[1];
    size_t creator_len = row->n == 3 ? strlen(row->cell[0]) : 0;
    if (row->n != 3 || row->cut || creator_len == 0 || creator_len > 64 || !mr_unhex_exact(row->cell[1], g, 2) ||
        !mr_unhex_exact(row->cell[2], e, 1) || !(g[1] & 1)) {
        return mr_table_refuse(why, why_len,
                               "write CREATOR,gggg,ee with an odd group (a creator of 1 to 64 characters)");
    }
    if (c->n_safe == SAFE_MAX) {
        snprintf(why, why_len, "more than %d safe private attributes", SAFE_MAX);
        return -1;
    }
    if (c->n_safe % 64 == 0) {
        mr_dcm_safe_private *v = realloc(c->safe, (c->n_safe + 64) * sizeof *v);
        if (v == NULL) {
            return mr_table_refuse(why, why_len, "out of memory");
        }
        c->safe = v;
    }
    mr_dcm_safe_private *sp = &c->safe[c->n_safe++];
    snprintf(sp->creator, sizeof sp->creator, "%.64s", row->cell[0]); /* checked: at most 64 */
    sp->group = (uint16_t)(g[0] << 8 | g[1]);
    sp->offset = e[0];
    return 0;
}

static medreg_err load_safe(mr_dicom_config *c, const char *path, char **errmsg)
{
    return mr_table_read(path, "safe private attributes", on_safe_row, c, errmsg);
}

medreg_err mr_dicom_config_load(const char *path, mr_dicom_config **out, char **errmsg)
{
    static const char *const DEFAULT_MODALITIES[] = {"US", "SC", "OT", "XC", "ES", "GM", "SM", "DOC"};
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
    if (mr_ini_parse(path, on_entry, &st, st.err, errmsg) != MEDREG_OK)
        goto out;
    if (st.module_path == NULL || st.profile_path == NULL) {
        if (asprintf(errmsg, "%s: needs [deid] module = FILE and profile_table = FILE "
                             "(data/dicom-ps3.15-table-e1-1.csv)", path) < 0)
            *errmsg = NULL;
        goto out;
    }
    if (!st.modalities_set)
        for (size_t i = 0; i < MR_ARRAY_LEN(DEFAULT_MODALITIES); i++)
            snprintf(st.c->modalities[st.c->n_modalities++], 17, "%s", DEFAULT_MODALITIES[i]);
    if ((rc = mr_module_load(st.module_path, &st.c->module, errmsg)) != MEDREG_OK)
        goto out;
    rc = MEDREG_ERR_CONFIG;
    /* every identifier of the module, exactly once, in the module's order */
    if (st.n_idents != st.c->module->n_idents) {
        if (asprintf(errmsg, "%s: module %s has %zu identifiers and [identifiers] names %zu: the PSN needs all of them",
                     path, st.c->module->name, st.c->module->n_idents, st.n_idents) < 0)
            *errmsg = NULL;
        goto out;
    }
    for (size_t i = 0; i < st.n_idents; i++) {
        const mr_ident_def *d = mr_module_ident(st.c->module, st.ident_names[i]);
        size_t k = d ? (size_t)(d - st.c->module->idents) : 0;
        for (size_t j = 0; d && j < i; j++)
            if (!strcmp(st.ident_names[j], st.ident_names[i]))
                d = NULL;
        if (d == NULL) {
            if (asprintf(errmsg, "%s: '%s' is not an identifier of module %s, or is named twice", path,
                         st.ident_names[i], st.c->module->name) < 0)
                *errmsg = NULL;
            goto out;
        }
        st.c->sources[k] = st.ident_src[i];
    }
    if ((st.c->options & MR_OPT_RETAIN_SAFE_PRIVATE) && st.safe_path == NULL) {
        if (asprintf(errmsg, "%s: retain_safe_private needs [deid] safe_private = FILE (the allow-list)", path) < 0)
            *errmsg = NULL;
        goto out;
    }
    if (st.safe_path && (rc = load_safe(st.c, st.safe_path, errmsg)) != MEDREG_OK)
        goto out;
    if (st.pixel_path && (rc = mr_pixel_rules_load(st.pixel_path, &st.c->pixel_rules, errmsg)) != MEDREG_OK)
        goto out;
    if ((rc = mr_dcm_profile_load(st.profile_path, st.c->options, &st.c->profile, errmsg)) != MEDREG_OK)
        goto out;
    if ((rc = mr_file_kinds_open(&st.c->kinds)) != MEDREG_OK)
        goto out;
    /* a run resumed from an earlier one's report trusts its outputs only
     * when this is the same (the files are read again, after they were
     * parsed: an edit in between only makes a later run read again what it
     * need not) */
    const char *files[] = {path, st.module_path, st.profile_path, st.safe_path, st.pixel_path};
    if ((rc = mr_files_digest(files, MR_ARRAY_LEN(files), CONFIG_FILE_MAX, st.c->digest)) != MEDREG_OK) {
        if (asprintf(errmsg, "%s: cannot read its files again", path) < 0)
            *errmsg = NULL;
        goto out;
    }
    *out = st.c;
    st.c = NULL;
out:
    free(st.dir);
    free(st.module_path);
    free(st.profile_path);
    free(st.safe_path);
    free(st.pixel_path);
    mr_dicom_config_free(st.c);
    return rc;
}

void mr_dicom_config_free(mr_dicom_config *c)
{
    if (c == NULL)
        return;
    mr_module_free(c->module);
    mr_dcm_profile_free(c->profile);
    free(c->safe);
    mr_pixel_rules_free(&c->pixel_rules);
    mr_file_kinds_free(c->kinds);
    free(c->path);
    free(c);
}
