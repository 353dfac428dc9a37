#include "dicom_resume.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/code_identity.h"
#include "../core/secret.h"
#include "dicom_report.h"

#define DICTIONARY_MAX (4u << 20) /* DCMTK's two files have 0.4 MB */
#define DICTIONARY_FILES_MAX 16

/* The earlier run's entries come from up to two reports: the .partial of a
 * run that was stopped, and behind its last entry the report of the run
 * before it, which the stopped run was taking up again. */
struct mr_dicom_resume {
    FILE *fp[2];
    mr_dicom_report_reader *reader[2]; /* the .partial, the report; NULL where there is none to trust */
    int at;                            /* the one read now */
    json_t *entry;                     /* the next entry not yet asked for, or NULL: none left to trust */
    char *entry_in;
    char *out, *quarantine; /* each with a '/' behind */
};

/* DCMTK's data dictionary files, by their bytes. */
static medreg_err dictionary_digest(uint8_t out[32])
{
    char *list = strdup(mr_dcm_dictionary_path()), *save = NULL;
    const char *names[DICTIONARY_FILES_MAX];
    size_t n = 0;
    if (list == NULL)
        return MEDREG_ERR_NOMEM;
    for (char *name = strtok_r(list, ":", &save); name && n < DICTIONARY_FILES_MAX; name = strtok_r(NULL, ":", &save))
        names[n++] = name;
    medreg_err rc = mr_files_digest(names, n, DICTIONARY_MAX, out);
    free(list);
    return rc;
}

medreg_err mr_dicom_resume_tag(const uint8_t key[32], const mr_dicom_config *cfg, const char *in, const char *out,
                               const char *quarantine, char tag[65])
{
    static const char LABEL[] = "medreg/deid-dicom-resume/v1";
    uint8_t code[32], h[32];
    medreg_err rc = mr_code_identity(code);
    if (rc != MEDREG_OK)
        return rc;
    crypto_generichash_state st;
    crypto_generichash_init(&st, key, 32, sizeof h);
    crypto_generichash_update(&st, (const uint8_t *)LABEL, sizeof LABEL);
    crypto_generichash_update(&st, code, sizeof code);
    crypto_generichash_update(&st, cfg->digest, sizeof cfg->digest);
    uint8_t dictionary[32];
    if ((rc = dictionary_digest(dictionary)) != MEDREG_OK)
        return rc;
    crypto_generichash_update(&st, dictionary, sizeof dictionary);
    /* with their NULs: ("a", "bc") and ("ab", "c") differ. The input too:
     * another input into the same folders is no continuation of this one,
     * and its files would otherwise all seem gone */
    crypto_generichash_update(&st, (const uint8_t *)in, strlen(in) + 1);
    crypto_generichash_update(&st, (const uint8_t *)out, strlen(out) + 1);
    crypto_generichash_update(&st, (const uint8_t *)quarantine, strlen(quarantine) + 1);
    crypto_generichash_final(&st, h, sizeof h);
    sodium_bin2hex(tag, 65, h, sizeof h);
    return MEDREG_OK;
}

/* The next entry, from the .partial while it lasts (to its end, or where
 * it was cut short), then from the report behind the .partial's last
 * entry. An entry not behind the one before in the walk's order (a report
 * someone changed) is passed over: nothing trusts it. */
static void advance(mr_dicom_resume *r)
{
    char why[160];
    json_t *e = NULL;
    char *in = NULL;
    while (r->at < 2) {
        if (r->reader[r->at] == NULL || mr_dicom_report_next(r->reader[r->at], &e, why, sizeof why) != MEDREG_OK ||
            e == NULL) {
            r->at++; /* this one has ended, or was cut short */
            continue;
        }
        if ((in = mr_dicom_report_path(e, "in")) != NULL && (r->entry_in == NULL || strcmp(r->entry_in, in) < 0))
            break;
        free(in);
        in = NULL;
        json_decref(e);
        e = NULL;
    }
    json_decref(r->entry);
    free(r->entry_in);
    r->entry = e;
    r->entry_in = in;
}

/* One earlier report at path, if it was made under tag; else why says why
 * not (when it is there at all). */
static medreg_err open_one(mr_dicom_resume *r, int i, const char *path, const char *tag, char *why, size_t cap)
{
    char what[160];
    FILE *fp = fopen(path, "re");
    if (fp == NULL) {
        if (errno != ENOENT)
            snprintf(why, cap, "%s: %s", path, strerror(errno));
        return MEDREG_OK;
    }
    medreg_err rc = mr_dicom_report_open(fp, &r->reader[i], what, sizeof what);
    const char *was =
        rc == MEDREG_OK ? json_string_value(json_object_get(mr_dicom_report_head(r->reader[i]), "resume")) : NULL;
    if (rc == MEDREG_ERR_INVALID)
        snprintf(why, cap, "%s is no report of deid dicom (%s)", path, what);
    else if (rc == MEDREG_OK && (was == NULL || strlen(was) != 64 || sodium_memcmp(was, tag, 64) != 0))
        snprintf(why, cap, "%s was made for another input or output, or under another key, configuration or medreg",
                 path);
    if (rc == MEDREG_OK && why[0] == 0) {
        r->fp[i] = fp;
        return MEDREG_OK;
    }
    mr_dicom_report_close(r->reader[i]);
    r->reader[i] = NULL;
    fclose(fp);
    return rc == MEDREG_ERR_INVALID ? MEDREG_OK : rc; /* a report that is none: nothing to trust */
}

/* s followed by tail, malloc'd; NULL when memory runs out (asprintf leaves
 * its pointer undefined then). */
static char *with(const char *s, const char *tail)
{
    char *p = NULL;
    return asprintf(&p, "%s%s", s, tail) < 0 ? NULL : p;
}

medreg_err mr_dicom_resume_open(const char *report, const char *since, const char *tag, const char *out,
                                const char *quarantine, mr_dicom_resume **out_r, char *why, size_t cap)
{
    *out_r = NULL;
    snprintf(why, cap, "%s", "");
    char *partial = NULL, why_report[256] = "";
    mr_dicom_resume *r = calloc(1, sizeof *r);
    medreg_err rc = MEDREG_ERR_NOMEM;
    if (r == NULL || (r->out = with(out, "/")) == NULL || (r->quarantine = with(quarantine, "/")) == NULL)
        goto out;
    if (since != NULL)
        rc = open_one(r, 1, since, tag, why, cap); /* the one named, as it is */
    else if ((partial = with(report, ".partial")) != NULL && (rc = open_one(r, 0, partial, tag, why, cap)) == MEDREG_OK)
        rc = open_one(r, 1, report, tag, why_report, sizeof why_report);
    if (rc != MEDREG_OK)
        goto out;
    if (r->reader[0] == NULL && r->reader[1] == NULL) {
        if (why[0] == 0)
            snprintf(why, cap, "%s", why_report);
        goto out; /* nothing to trust */
    }
    snprintf(why, cap, "%s", "");
    advance(r);
    *out_r = r;
    r = NULL;
out:
    mr_dicom_resume_close(r);
    free(partial);
    return rc;
}

int mr_dicom_file_stamp(const struct stat *sb, char stamp[MR_DICOM_STAMP_MAX])
{
    int n = snprintf(stamp, MR_DICOM_STAMP_MAX, "%lld %llu %lld.%09ld %lld.%09ld", (long long)sb->st_size,
                     (unsigned long long)sb->st_ino, (long long)sb->st_mtim.tv_sec, sb->st_mtim.tv_nsec,
                     (long long)sb->st_ctim.tv_sec, sb->st_ctim.tv_nsec);
    return n > 0 && n < MR_DICOM_STAMP_MAX;
}

/* Is t at least a second before at? */
static int second_before(const struct timespec *t, const struct timespec *at)
{
    return t->tv_sec + 1 < at->tv_sec || (t->tv_sec + 1 == at->tv_sec && t->tv_nsec <= at->tv_nsec);
}

int mr_dicom_input_stamp(const struct stat *before, const struct stat *after, const struct timespec *read_at,
                         char stamp[MR_DICOM_STAMP_MAX])
{
    char again[MR_DICOM_STAMP_MAX];
    stamp[0] = 0;
    if (!S_ISREG(before->st_mode) || !mr_dicom_file_stamp(before, stamp) || !mr_dicom_file_stamp(after, again) ||
        strcmp(stamp, again) || before->st_dev != after->st_dev || !second_before(&before->st_ctim, read_at)) {
        stamp[0] = 0;
        return 0;
    }
    return 1;
}

/* Is the output the earlier entry e names (written, quarantined, or
 * already gone) still there, where this run writes? */
static int output_there(const mr_dicom_resume *r, const json_t *e, struct stat *sb)
{
    const char *outcome = json_string_value(json_object_get(e, "outcome"));
    if (outcome == NULL)
        return 0;
    int written = !strcmp(outcome, "written"), quarantined = !strcmp(outcome, "quarantined"),
        gone = !strcmp(outcome, "gone");
    char *out = written || quarantined || gone ? mr_dicom_report_path(e, "out") : NULL;
    int ok = 0;
    if (out != NULL) {
        const char *under = quarantined ? r->quarantine : r->out;
        /* gone: it was one or the other */
        if (gone && strncmp(out, under, strlen(under)))
            under = r->quarantine;
        ok = !strncmp(out, under, strlen(under)) && strstr(out + strlen(under), "..") == NULL && lstat(out, sb) == 0 &&
             S_ISREG(sb->st_mode);
    }
    free(out);
    return ok;
}

/* Does the earlier entry e for in stand for what this run would do? */
static int trusted(const mr_dicom_resume *r, const json_t *e, const char *in)
{
    const char *outcome = json_string_value(json_object_get(e, "outcome"));
    const char *was = json_string_value(json_object_get(e, "in_stat"));
    char now[MR_DICOM_STAMP_MAX];
    struct stat sb;
    if (outcome == NULL || was == NULL || lstat(in, &sb) != 0 || !S_ISREG(sb.st_mode) ||
        !mr_dicom_file_stamp(&sb, now) || strcmp(now, was) != 0)
        return 0;
    if (strcmp(outcome, "written") && strcmp(outcome, "quarantined"))
        return (!strcmp(outcome, "directory") || !strcmp(outcome, "not_dicom")) && json_object_get(e, "out") == NULL;
    /* the output where this run writes, as it was written */
    const char *out_was = json_string_value(json_object_get(e, "out_stat"));
    return out_was != NULL && output_there(r, e, &sb) && mr_dicom_file_stamp(&sb, now) && !strcmp(now, out_was);
}

medreg_err mr_dicom_resume_gone(mr_dicom_resume *r, const char *in, json_t **entry)
{
    *entry = NULL;
    while (r != NULL && r->entry != NULL && (in == NULL || strcmp(r->entry_in, in) < 0)) {
        struct stat sb;
        json_t *e = output_there(r, r->entry, &sb) ? json_incref(r->entry) : NULL;
        advance(r);
        if (e == NULL)
            continue; /* nothing of it left: nothing to say */
        json_object_del(e, "already_there");
        json_object_del(e, "not_read_again");
        json_object_del(e, "in_stat");
        if (json_object_set_new(e, "outcome", json_string("gone")) != 0) {
            json_decref(e);
            return MEDREG_ERR_NOMEM;
        }
        *entry = e;
        return MEDREG_OK;
    }
    return MEDREG_OK;
}

medreg_err mr_dicom_resume_find(mr_dicom_resume *r, const char *in, json_t **entry)
{
    *entry = NULL;
    while (r != NULL && r->entry != NULL) {
        int cmp = strcmp(r->entry_in, in);
        if (cmp > 0)
            return MEDREG_OK; /* in is new */
        if (cmp == 0 && trusted(r, r->entry, in)) {
            json_t *e = json_incref(r->entry);
            /* this run did not look: what the earlier one found there is its own */
            json_object_del(e, "already_there");
            if (json_object_set_new(e, "not_read_again", json_true()) != 0) {
                json_decref(e);
                return MEDREG_ERR_NOMEM;
            }
            *entry = e;
        }
        advance(r);
        if (cmp == 0)
            return MEDREG_OK;
    }
    return MEDREG_OK;
}

void mr_dicom_resume_close(mr_dicom_resume *r)
{
    if (r == NULL)
        return;
    json_decref(r->entry);
    free(r->entry_in);
    for (int i = 0; i < 2; i++) {
        mr_dicom_report_close(r->reader[i]);
        if (r->fp[i] != NULL)
            fclose(r->fp[i]);
    }
    free(r->out);
    free(r->quarantine);
    free(r);
}
