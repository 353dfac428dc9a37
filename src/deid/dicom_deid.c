/* One DICOM file through the confidentiality profile (docs/deid.md). The
 * rule for every element comes from classify(), which the independent
 * check (dicom_verify.c) uses too to know what an input's identifying
 * values are. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unistr.h>

#include "../core/secret.h"
#include "../pseudonym/psn_input.h"
#include "date_shift.h"
#include "dicom_charset.h"
#include "dicom_deid.h"
#include "dicom_values.h"
#include "file_kind.h"
#include "medreg/pseudonym.h"

void mr_dicom_uid_remap(const uint8_t key[32], const char *uid, size_t len, char out[65])
{
    static const char tag[] = "medreg/dicom-uid/v1";
    crypto_auth_hmacsha256_state st;
    uint8_t mac[32];
    unsigned __int128 v = 0;
    char digits[40];
    size_t n = 0;
    crypto_auth_hmacsha256_init(&st, key, 32);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)tag, sizeof tag - 1);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)uid, len);
    crypto_auth_hmacsha256_final(&st, mac);
    for (int i = 0; i < 16; i++)
        v = v << 8 | mac[i];
    do {
        digits[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    memcpy(out, "2.25.", 5);
    for (size_t i = 0; i < n; i++)
        out[5 + i] = digits[n - 1 - i];
    out[5 + n] = 0;
    mr_wipe(&st, sizeof st);
}

mr_dcm_rule mr_dicom_classify(const mr_dicom_config *cfg, const mr_dcm_elem *e, int *psn)
{
    *psn = 0;
    /* mr_dcm_load puts every element where its group belongs; one found
     * elsewhere all the same is removed, never judged by the other's rules */
    if (e->in_meta != (e->group == 0x0002))
        return MR_RULE_REMOVE;
    if (e->in_meta) {
        switch (e->element) {
        case 0x0003:
            /* Media Storage SOP Instance UID: the instance's own, remapped or
             * kept as (0008,0018) is, and set from it after the walk */
            return mr_dcm_profile_rule(cfg->profile, 0x0008, 0x0018);
        case 0x0000: /* group length, version, SOP class, transfer syntax, */
        case 0x0001: /* implementation: what a reader needs, rewritten on */
        case 0x0002: /* writing anyway */
        case 0x0010:
        case 0x0012:
        case 0x0013:
            return MR_RULE_KEEP;
        default:
            /* the rest names who sent it where (AE titles, presentation
             * addresses: a hospital's PACS URL), a stream's source (RTV),
             * or anything (private information, elements of no edition) */
            return MR_RULE_REMOVE;
        }
    }
    if (e->group & 1) {
        if (!(cfg->options & MR_OPT_RETAIN_SAFE_PRIVATE) || e->element == 0x0000)
            return mr_dcm_profile_rule(cfg->profile, e->group, e->element);
        for (size_t i = 0; i < cfg->n_safe; i++) {
            const mr_dcm_safe_private *s = &cfg->safe[i];
            if (s->group != e->group)
                continue;
            if (e->element >= 0x0010 && e->element <= 0x00FF) { /* a private creator */
                if (e->value && mr_dcm_value_equals(e->value, s->creator))
                    return MR_RULE_KEEP;
            } else if (e->creator && mr_dcm_value_equals(e->creator, s->creator) &&
                       (e->element & 0xFF) == s->offset) {
                return MR_RULE_KEEP;
            }
        }
        return MR_RULE_REMOVE;
    }
    if (e->depth == 0 && e->group == 0x0010 && (e->element == 0x0010 || e->element == 0x0020)) {
        *psn = 1; /* PatientName and PatientID become the PSN */
        return MR_RULE_DUMMY;
    }
    if ((e->group == 0x0012 && (e->element >= 0x0062 && e->element <= 0x0064)) ||
        (e->group == 0x0028 && e->element == 0x0303))
        return MR_RULE_KEEP; /* set after the walk */
    return mr_dcm_profile_rule(cfg->profile, e->group, e->element);
}

typedef struct file_ctx {
    const mr_dicom_config *cfg;
    const uint8_t *key;
    char psn_hex[2 * MEDREG_PSN_BYTES + 1];
    long shift_days;
    int shift;
    mr_dcm_tokens tokens; /* this file's identifying values, for cleaning text */
    mr_dcm_result *res;
} file_ctx;

/* Every '\\'-separated UID remapped. */
static char *remap_uids(const uint8_t key[32], const char *v)
{
    size_t n = 1;
    for (const char *p = v; *p; p++)
        n += *p == '\\';
    char *out = malloc(n * 66 + 1), *o = out;
    if (out == NULL)
        return NULL;
    for (const char *p = v;;) {
        const char *end = strchr(p, '\\');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        size_t a = 0, b = len;
        while (a < b && (p[a] == ' ' || p[a] == 0))
            a++;
        while (b > a && (p[b - 1] == ' ' || p[b - 1] == 0))
            b--;
        if (b > a) {
            mr_dicom_uid_remap(key, p + a, b - a, o);
            o += strlen(o);
        }
        if (end == NULL)
            break;
        *o++ = '\\';
        p = end + 1;
    }
    *o = 0;
    return out;
}

/* the value of n decimal digits (checked by the caller) */
static int digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (p[i] - '0');
    return v;
}

/* DA: YYYYMMDD; DT: YYYYMMDD followed by anything. Components split by '\\'. */
static char *shift_dates(const char *v, long days)
{
    char *out = strdup(v);
    if (out == NULL)
        return NULL;
    for (char *p = out;;) {
        char *end = strchr(p, '\\');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int y, m, d;
        if (len >= 8 && strspn(p, "0123456789") >= 8 &&
            mr_date_shift_ymd(digits(p, 4), digits(p + 4, 2), digits(p + 6, 2), days, &y, &m, &d)) {
            char tmp[9];
            snprintf(tmp, sizeof tmp, "%04d%02d%02d", y, m, d);
            memcpy(p, tmp, 8);
        } else if (len > 0) {
            free(out);
            return NULL; /* not a date: the caller empties it */
        }
        if (end == NULL)
            break;
        p = end + 1;
    }
    return out;
}

/* Text of this file's identifying values taken out of e's value: REPLACE
 * with the rest, KEEP when there were none, EMPTY when one is left that
 * cleaning does not take (a two-byte value standing alone). */
static mr_dcm_action clean_text(file_ctx *x, const mr_dcm_elem *e, char **rep)
{
    char *c = mr_dcm_tokens_clean(&x->tokens, e->value);
    if (c == NULL)
        return MR_DCM_EMPTY;
    if (mr_dcm_tokens_found(&x->tokens, c)) {
        /* a two-byte value standing alone, which is never cleaned out of
         * text: a comment "Li^Li" that is the patient's name; "CT hip"
         * without the requesting physician "Hip" is "CT", the institution */
        free(c);
        x->res->emptied++;
        return MR_DCM_EMPTY;
    }
    if (!strcmp(c, e->value)) {
        free(c);
        return MR_DCM_KEEP;
    }
    x->res->cleaned++;
    *rep = c;
    return MR_DCM_REPLACE;
}

/* The value representations of text a person wrote or a name: where an
 * identifying value may stand in an element the profile keeps (the Text
 * Value of a structured report's content, which Clean Structured Content
 * keeps item by item; a safe private attribute). deid verify looks for
 * the values in every element, so every kept text is cleaned of them. */
static int free_text_vr(const char *vr)
{
    static const char *const VRS[] = {"LO", "LT", "PN", "SH", "ST", "UC", "UT"};
    for (size_t i = 0; i < sizeof VRS / sizeof VRS[0]; i++)
        if (!strcmp(vr, VRS[i]))
            return 1;
    return 0;
}

/* An age the profile keeps (Retain Patient Characteristics): 90 years or
 * more becomes "090Y"; a value that is no age string is emptied. */
static mr_dcm_action cap_age(file_ctx *x, const mr_dcm_elem *e, char **rep)
{
    int changed = 0;
    char *v = NULL;
    medreg_err rc = mr_dcm_age_aggregate(e->value, &v, &changed);
    if (rc == MEDREG_OK && !changed) {
        free(v);
        return MR_DCM_KEEP;
    }
    if (rc != MEDREG_OK) {
        x->res->emptied++;
        return MR_DCM_EMPTY;
    }
    x->res->ages++;
    *rep = v;
    return MR_DCM_REPLACE;
}

static mr_dcm_action visit(void *arg, const mr_dcm_elem *e, char **rep)
{
    file_ctx *x = arg;
    int psn = 0;
    mr_dcm_rule rule = mr_dicom_classify(x->cfg, e, &psn);
    int is_sq = !strcmp(e->vr, "SQ");
    if (psn) {
        x->res->replaced++;
        *rep = strdup(x->psn_hex);
        return *rep ? MR_DCM_REPLACE : MR_DCM_EMPTY;
    }
    if ((rule == MR_RULE_KEEP || rule == MR_RULE_CLEAN) && e->value && !strcmp(e->vr, "AS") &&
        !x->cfg->keep_ages_over_89)
        return cap_age(x, e, rep);
    switch (rule) {
    case MR_RULE_KEEP:
        /* bytes of a VR no one knows (an attribute newer than the
         * dictionary, a safe private one) cannot be cleaned: they go if
         * they hold an identifying value */
        if (e->bytes && mr_dcm_tokens_found_bytes(&x->tokens, e->bytes, e->n_bytes) != 0) {
            x->res->removed++;
            return MR_DCM_DELETE;
        }
        return e->value && free_text_vr(e->vr) ? clean_text(x, e, rep) : MR_DCM_KEEP;
    case MR_RULE_REMOVE:
        x->res->removed++;
        return MR_DCM_DELETE;
    case MR_RULE_EMPTY:
        x->res->emptied++;
        return MR_DCM_EMPTY;
    case MR_RULE_SEQ_UIDS:
        if (is_sq)
            return MR_DCM_KEEP; /* the UIDs inside follow their own rows */
        /* fall through */
    case MR_RULE_UID: /* a UID is remapped; anything else gets a dummy */
    case MR_RULE_DUMMY: {
        if (!strcmp(e->vr, "UI") && e->value) {
            x->res->uids++;
            *rep = remap_uids(x->key, e->value);
            return *rep ? MR_DCM_REPLACE : MR_DCM_EMPTY;
        }
        const char *d = is_sq ? NULL : mr_dcm_dummy_for(e->vr);
        x->res->emptied += d == NULL;
        x->res->replaced += d != NULL;
        if (d == NULL || (*rep = strdup(d)) == NULL)
            return MR_DCM_EMPTY;
        return MR_DCM_REPLACE;
    }
    case MR_RULE_CLEAN:
        if (is_sq)
            return MR_DCM_KEEP; /* clean what is inside, row by row */
        if (!strcmp(e->vr, "TM"))
            return MR_DCM_KEEP; /* a time of day; the date beside it moves */
        if (!strcmp(e->vr, "DA") || !strcmp(e->vr, "DT")) {
            if (!x->shift || e->value == NULL || (*rep = shift_dates(e->value, x->shift_days)) == NULL) {
                x->res->emptied++;
                return MR_DCM_EMPTY;
            }
            x->res->shifted++;
            return MR_DCM_REPLACE;
        }
        if (e->value)
            return clean_text(x, e, rep);
        x->res->removed++;
        return MR_DCM_DELETE; /* binary content cannot be cleaned */
    }
    return MR_DCM_DELETE;
}

/* The PSN from the configured sources, normalised by the module's rules,
 * and the key for this file's UIDs and date shift: the module key (local),
 * or the second half of the VOPRF output (network-wide). In the collect
 * pass, the PSN message goes into the table and MEDREG_ERR_EXISTS says so. */
static medreg_err file_psn(const mr_dicom_config *cfg, const mr_psn_source *src, mr_dcm_file *f,
                           uint8_t psn[MEDREG_PSN_BYTES], uint8_t key[32], char *why, size_t why_len)
{
    const mr_module *m = cfg->module;
    medreg_psn_field pf[MR_MAX_IDENTIFIERS];
    char *norm[MR_MAX_IDENTIFIERS] = {0};
    medreg_err rc = MEDREG_OK;
    for (size_t i = 0; i < m->n_idents && rc == MEDREG_OK; i++) {
        const mr_dcm_source *s = &cfg->sources[i];
        char *v = NULL;
        if (mr_dcm_get(f, s->group, s->element, &v) != MEDREG_OK || v == NULL) {
            snprintf(why, why_len, "no (%04X,%04X) for the PSN's %s", s->group, s->element, m->idents[i].name);
            rc = MEDREG_ERR_INVALID;
            break;
        }
        char *part = v;
        size_t vlen = strlen(v);
        if (s->component >= 0) { /* family^given^middle^prefix^suffix, first representation */
            part[strcspn(part, "=")] = 0;
            for (int c = 0; c < s->component && part; c++) {
                part = strchr(part, '^');
                part = part ? part + 1 : NULL;
            }
            if (part)
                part[strcspn(part, "^")] = 0;
        }
        if (part == NULL || medreg_normalize(&m->idents[i].rule, part, strlen(part), &norm[i]) != MEDREG_OK) {
            /* text is UTF-8 by now, unless the file declares no character set */
            if (part && u8_check((const uint8_t *)part, strlen(part)) != NULL)
                snprintf(why, why_len,
                         "(%04X,%04X) for the PSN's %s is not text in the file's character set (a file that "
                         "declares none is read as ASCII; assume_character_set in [deid] says otherwise)",
                         s->group, s->element, m->idents[i].name);
            else
                snprintf(why, why_len, "(%04X,%04X) is missing or malformed for the PSN's %s", s->group, s->element,
                         m->idents[i].name);
            rc = MEDREG_ERR_INVALID;
        }
        mr_wipe(v, vlen);
        free(v);
        pf[i].name = m->idents[i].name;
        pf[i].value = norm[i];
    }
    if (rc == MEDREG_OK && src->key != NULL) {
        if (medreg_psn_derive(src->key, m->key_id, m->name, pf, m->n_idents, psn) != MEDREG_OK)
            rc = MEDREG_ERR_CRYPTO;
        memcpy(key, src->key, 32);
    } else if (rc == MEDREG_OK) {
        uint8_t stack[2048], *msg = stack, net[MR_OPRF_OUTPUT_BYTES];
        size_t len = 0;
        rc = mr_psn_input_buf(m->key_id, m->name, pf, m->n_idents, stack, sizeof stack, &msg, &len);
        if (rc == MEDREG_ERR_TOOBIG)
            snprintf(why, why_len, "the PSN's identifiers are too long");
        else if (rc == MEDREG_OK && src->collect)
            rc = (rc = mr_oprf_table_add(src->oprf, msg, len)) == MEDREG_OK ? MEDREG_ERR_EXISTS : rc;
        else if (rc == MEDREG_OK && (rc = mr_oprf_table_lookup(src->oprf, msg, len, net)) == MEDREG_ERR_NOTFOUND)
            snprintf(why, why_len, "its patient was not among the inputs of the first pass (the input changed)");
        if (rc == MEDREG_OK) {
            memcpy(psn, net, MEDREG_PSN_BYTES);
            memcpy(key, net + MEDREG_PSN_BYTES, 32);
        }
        mr_wipe(net, sizeof net);
        mr_psn_input_release(msg, len, stack);
    }
    for (size_t i = 0; i < MR_MAX_IDENTIFIERS; i++)
        if (norm[i]) {
            mr_wipe(norm[i], strlen(norm[i]));
            free(norm[i]);
        }
    return rc;
}

/* Burned-in text: Burned In Annotation YES; or, without an explicit NO, a
 * modality that often has it, a Secondary Capture, or no modality at all.
 * Only images (Pixel Data present). */
static int may_show_text(const mr_dicom_config *cfg, mr_dcm_file *f)
{
    static const char SECONDARY_CAPTURE[] = "1.2.840.10008.5.1.4.1.1.7";
    char *burned = NULL, *modality = NULL, *sop_class = NULL;
    int yes = 0;
    if (!mr_dcm_has(f, 0x7FE0, 0x0010))
        return 0;
    if (mr_dcm_get(f, 0x0028, 0x0301, &burned) == MEDREG_OK && burned) {
        yes = mr_dcm_value_equals(burned, "YES") ? 1 : mr_dcm_value_equals(burned, "NO") ? 0 : -1;
        free(burned);
        if (yes >= 0)
            return yes;
    }
    if (mr_dcm_get(f, 0x0008, 0x0060, &modality) != MEDREG_OK || modality == NULL ||
        mr_dcm_value_equals(modality, "")) {
        free(modality);
        return 1; /* nothing says what the image is */
    }
    for (size_t i = 0; i < cfg->n_modalities; i++)
        if (mr_dcm_value_equals(modality, cfg->modalities[i]))
            yes = 1;
    free(modality);
    if (mr_dcm_get(f, 0x0008, 0x0016, &sop_class) == MEDREG_OK && sop_class &&
        strncmp(sop_class, SECONDARY_CAPTURE, sizeof SECONDARY_CAPTURE - 1) == 0)
        yes = 1; /* 1.2.840.10008.5.1.4.1.1.7 and its multi-frame .7.1–.7.4 */
    free(sop_class);
    return yes == 1;
}

/* An overlay kept in the pixel data's unused high bits (an overlay group,
 * 60xx, without its own Overlay Data (60xx,3000)): the profile removes
 * the group, which only hides the bits, and the pixel rules blank the
 * pixels' values, not those bits. Such an overlay may hold a name (a
 * retired form, common in older archives). *group: the first such group. */
static int embedded_overlay(mr_dcm_file *f, unsigned *group)
{
    for (unsigned g = 0x6000; g <= 0x601E; g += 2)
        if (mr_dcm_has(f, (uint16_t)g, 0x0010) && !mr_dcm_has(f, (uint16_t)g, 0x3000)) {
            *group = g;
            return mr_dcm_has(f, 0x7FE0, 0x0010);
        }
    return 0;
}

/* Comments and application segments out of compressed pixels
 * (codestream_text.h): MEDREG_OK when there were none, or they are out
 * (*removed counts them); MEDREG_ERR_INVALID, with why, when the pixels
 * cannot be looked through (another compression than JPEG, JPEG-LS, JPEG
 * 2000 and RLE: MPEG, say). */
static medreg_err strip_pixel_text(mr_dcm_file *f, unsigned long *removed, char *why, size_t why_len)
{
    mr_codestream_frames c;
    medreg_err rc = mr_dcm_pixel_frames(f, &c, why, why_len);
    if (rc == MEDREG_ERR_NOTFOUND)
        return MEDREG_OK;
    char *frames = NULL;
    long said = 1; /* what is left out must never be a frame the walk did not recognise */
    if (rc == MEDREG_OK && c.removed > 0 && mr_dcm_get(f, 0x0028, 0x0008, &frames) == MEDREG_OK && frames)
        said = strtol(frames, NULL, 10);
    free(frames);
    if (rc == MEDREG_OK && c.removed > 0 && (size_t)said != c.n_frames) {
        snprintf(why, why_len, "%zu frames found where the file says %ld", c.n_frames, said);
        rc = MEDREG_ERR_INVALID;
    }
    if (rc == MEDREG_OK && c.removed > 0) {
        rc = mr_dcm_put_compressed_frames(f, c.bytes, c.n, c.frame_at, c.n_frames);
        if (rc == MEDREG_ERR_INVALID)
            snprintf(why, why_len, "DCMTK refused its compressed frames without their text");
        if (rc == MEDREG_OK)
            *removed = c.removed;
    }
    mr_codestream_frames_free(&c);
    return rc;
}

static int mkdirs(char *path)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return 1; /* the usual case: a series' folder made for its first file */
    if (errno != ENOENT)
        return 0;
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            int bad = mkdir(path, 0755) != 0 && errno != EEXIST;
            *p = '/';
            if (bad)
                return 0;
        }
    return mkdir(path, 0755) == 0 || errno == EEXIST;
}

medreg_err mr_dicom_partial_open(const char *root)
{
    char dir[4096], host[64] = "", mine[80];
    if (snprintf(dir, sizeof dir, "%s/" MR_DICOM_PARTIAL, root) >= (int)sizeof dir)
        return MEDREG_ERR_TOOBIG;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return MEDREG_ERR_IO;
    gethostname(host, sizeof host - 1);
    int n = snprintf(mine, sizeof mine, "%s.", host);
    DIR *d = opendir(dir);
    if (d == NULL)
        return MEDREG_ERR_IO;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        /* HOST.PID.TID.dcm: a process of this host that is gone; a file of
         * another host (a shared folder) is left to that host */
        char *end;
        if (strncmp(de->d_name, mine, (size_t)n) != 0)
            continue;
        long pid = strtol(de->d_name + n, &end, 10);
        if (pid <= 0 || pid > INT_MAX || *end != '.' || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* not ours, or its process still runs */
        char p[4096 + 256];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    closedir(d);
    return MEDREG_OK;
}

void mr_dicom_partial_close(const char *root)
{
    char dir[4096];
    if (snprintf(dir, sizeof dir, "%s/" MR_DICOM_PARTIAL, root) < (int)sizeof dir)
        rmdir(dir); /* fails while another run writes there: as it should */
}

medreg_err mr_dicom_deid_file(const mr_dicom_config *cfg, const mr_psn_source *src, const char *in_path,
                              const char *out_dir, const char *quarantine_dir, mr_dcm_result *res)
{
    mr_dcm_file *f = NULL;
    char *why = NULL, *study = NULL, *series = NULL, *sop = NULL;
    uint8_t psn[MEDREG_PSN_BYTES], key[32];
    file_ctx x;
    mr_dcm_region *regions = NULL;
    size_t n_regions = 0;
    unsigned long rule_line = 0;
    medreg_err rc = MEDREG_OK;

    memset(res, 0, sizeof *res);
    memset(&x, 0, sizeof x);
    res->outcome = MR_DCM_SKIPPED;
    medreg_err lrc = mr_dcm_load(in_path, MR_DCM_WHOLE, &f, &why);
    if (lrc == MEDREG_ERR_CONFLICT) {
        snprintf(res->reason, sizeof res->reason, "refused: %s", why ? why : "?");
        goto out;
    }
    if (lrc != MEDREG_OK) {
        int other = 0;
        char kind[160];
        medreg_err krc = mr_file_not_dicom(cfg->kinds, in_path, &other, kind, sizeof kind);
        if (krc == MEDREG_OK && other) {
            res->outcome = MR_DCM_NOT_DICOM;
            snprintf(res->reason, sizeof res->reason, "not DICOM: %s", kind);
        } else {
            if (krc == MEDREG_ERR_NOMEM)
                rc = krc;
            snprintf(res->reason, sizeof res->reason, "DCMTK cannot read it: %s", why ? why : "?");
        }
        goto out;
    }
    char *sop_class = NULL; /* Media Storage Directory Storage: a DICOMDIR */
    int directory = mr_dcm_get(f, 0x0002, 0x0002, &sop_class) == MEDREG_OK &&
                    !strcmp(sop_class, "1.2.840.10008.1.3.10");
    free(sop_class);
    if (directory) {
        res->outcome = MR_DCM_DIRECTORY;
        snprintf(res->reason, sizeof res->reason,
                 "a DICOMDIR: never copied (its records name the patients, its references fit the input); "
                 "dcmmkdir makes one for the output");
        goto out;
    }
    if (mr_dicom_text_to_utf8(f, cfg->assumed_charset, &why) != MEDREG_OK) {
        snprintf(res->reason, sizeof res->reason, "%s", why ? why : "its text is not in its character set");
        goto out;
    }
    medreg_err prc = file_psn(cfg, src, f, psn, key, res->reason, sizeof res->reason);
    if (prc == MEDREG_ERR_EXISTS) { /* collected: this pass writes nothing */
        res->outcome = MR_DCM_WRITTEN;
        goto out;
    }
    if (prc == MEDREG_ERR_NOMEM)
        rc = prc;
    if (prc != MEDREG_OK)
        goto out;
    x.cfg = cfg;
    x.key = key;
    x.res = res;
    sodium_bin2hex(x.psn_hex, sizeof x.psn_hex, psn, sizeof psn);
    x.shift = (cfg->options & MR_OPT_RETAIN_LONGITUDINAL_MODIFIED_DATES) != 0;
    if ((rc = mr_date_shift_days(NULL, key, psn, &x.shift_days)) != MEDREG_OK)
        goto out;
    /* the dates the profile shifts too: one written into a description is
     * the date unshifted */
    if ((rc = mr_dcm_collect_tokens(cfg, f, 1, &x.tokens)) != MEDREG_OK)
        goto out;
    unsigned overlay = 0;
    int embedded = embedded_overlay(f, &overlay), quarantine = embedded || may_show_text(cfg, f);
    if (quarantine && (rc = mr_pixel_rules_for(&cfg->pixel_rules, f, &regions, &n_regions, &rule_line)) != MEDREG_OK)
        goto out;
    if (mr_dcm_walk(f, visit, &x, &why) != MEDREG_OK) {
        snprintf(res->reason, sizeof res->reason, "DCMTK refused a value: %s", why ? why : "?");
        goto out;
    }
    /* a pixel rule says where this kind of image shows text: blanked, the
     * image is written; if it cannot be, it stays in the quarantine */
    char blank_why[120] = "";
    if (n_regions > 0) {
        char *bw = NULL;
        if (mr_dcm_blank(f, regions, n_regions, &bw) == MEDREG_OK) {
            quarantine = embedded; /* blanking leaves the overlay's bits */
            res->blanked = n_regions;
        } else {
            snprintf(blank_why, sizeof blank_why, "%s", bw ? bw : "?");
        }
        free(bw);
    }
    /* bytes past the image in pixel data longer than its attributes say:
     * no viewer shows them, and they may hold anything */
    uint64_t have = 0, need = 0;
    if (mr_dcm_native_pixel_lengths(f, &have, &need) == MEDREG_OK && have > need) {
        if ((rc = mr_dcm_cut_pixels(f, need)) == MEDREG_ERR_NOMEM)
            goto out;
        if (rc != MEDREG_OK) {
            snprintf(res->reason, sizeof res->reason, "DCMTK refused to cut its pixel data to the image");
            rc = MEDREG_OK; /* this file's failure: skipped */
            goto out;
        }
        res->pixel_tail = (unsigned long)(have - need);
    }
    /* text beside the image in compressed pixels; pixels that cannot be
     * looked through stay in the quarantine */
    char text_why[160] = "";
    rc = strip_pixel_text(f, &res->pixel_text, text_why, sizeof text_why);
    if (rc == MEDREG_ERR_NOMEM)
        goto out;
    if (rc != MEDREG_OK)
        quarantine = 1;
    rc = MEDREG_OK;
    /* what was done, in the file itself (PS3.15 E.1.1, CID 7050) */
    const char *codes[2 + MR_DCM_N_OPTIONS][3];
    size_t n_codes = 0;
    codes[n_codes][0] = "113100";
    codes[n_codes][1] = "DCM";
    codes[n_codes++][2] = "Basic Application Confidentiality Profile";
    for (unsigned i = 0; i < MR_DCM_N_OPTIONS; i++)
        if (cfg->options & (1u << i)) {
            codes[n_codes][0] = mr_dcm_option_code(i);
            codes[n_codes][1] = "DCM";
            codes[n_codes++][2] = mr_dcm_option_meaning(i);
        }
    if (res->blanked) {
        codes[n_codes][0] = "113101";
        codes[n_codes][1] = "DCM";
        codes[n_codes++][2] = "Clean Pixel Data Option";
    }
    const char *longitudinal = x.shift ? "MODIFIED"
                               : (cfg->options & MR_OPT_RETAIN_LONGITUDINAL_FULL_DATES) ? "UNMODIFIED"
                                                                                        : "REMOVED";
    if (mr_dcm_put(f, 0x0012, 0x0062, "YES") != MEDREG_OK ||
        mr_dcm_put(f, 0x0012, 0x0063, "PS3.15 E.1-1 Basic Profile and options, by medreg") != MEDREG_OK ||
        mr_dcm_put_codes(f, 0x0012, 0x0064, (const char *const(*)[3])codes, n_codes) != MEDREG_OK ||
        mr_dcm_put(f, 0x0028, 0x0303, longitudinal) != MEDREG_OK ||
        mr_dcm_put(f, 0x0010, 0x0010, x.psn_hex) != MEDREG_OK || mr_dcm_put(f, 0x0010, 0x0020, x.psn_hex) != MEDREG_OK ||
        (res->blanked && mr_dcm_put(f, 0x0028, 0x0301, "NO") != MEDREG_OK)) {
        snprintf(res->reason, sizeof res->reason, "could not set the de-identification attributes");
        goto out;
    }
    /* the instance's name in the output tree: its new UIDs */
    if (mr_dcm_get(f, 0x0008, 0x0018, &sop) != MEDREG_OK || sop == NULL || sop[0] == 0) {
        snprintf(res->reason, sizeof res->reason, "no SOP Instance UID");
        goto out;
    }
    if (mr_dcm_put(f, 0x0002, 0x0003, sop) != MEDREG_OK) {
        snprintf(res->reason, sizeof res->reason, "could not set the meta header's instance UID");
        goto out;
    }
    if (mr_dcm_get(f, 0x0020, 0x000D, &study) != MEDREG_OK)
        study = strdup("no-study");
    if (mr_dcm_get(f, 0x0020, 0x000E, &series) != MEDREG_OK)
        series = strdup("no-series");
    const char *base = quarantine ? quarantine_dir : out_dir;
    if (study == NULL || series == NULL ||
        snprintf(res->out_path, sizeof res->out_path, "%s/%s/%s", base, study, series) >= (int)sizeof res->out_path ||
        !mkdirs(res->out_path)) {
        snprintf(res->reason, sizeof res->reason, "cannot create the output folder");
        rc = MEDREG_ERR_IO;
        res->out_path[0] = 0;
        goto out;
    }
    size_t used = strlen(res->out_path);
    snprintf(res->out_path + used, sizeof res->out_path - used, "/%s.dcm", sop);
    /* a name of this thread's own: two inputs with the same SOP Instance
     * UID, written at once, would otherwise share one temporary file */
    char tmp[4096 + 128], host[64] = "";
    gethostname(host, sizeof host - 1);
    if (snprintf(tmp, sizeof tmp, "%s/" MR_DICOM_PARTIAL "/%s.%ld.%ld.dcm", base, host, (long)getpid(),
                 (long)gettid()) >= (int)sizeof tmp) {
        snprintf(res->reason, sizeof res->reason, "the output folder's name is too long");
        res->out_path[0] = 0;
        goto out;
    }
    medreg_err saved = mr_dcm_save(f, res->out_path, tmp, &why);
    if (saved != MEDREG_OK && saved != MEDREG_ERR_EXISTS) {
        snprintf(res->reason, sizeof res->reason, "not written: %s", why ? why : "?");
        res->out_path[0] = 0;
        goto out;
    }
    res->outcome = quarantine ? MR_DCM_QUARANTINED : MR_DCM_WRITTEN;
    res->already = saved == MEDREG_ERR_EXISTS;
    if (embedded)
        snprintf(res->reason, sizeof res->reason,
                 "an overlay (group %04X) lies in the pixel data's unused bits and may show text: check it", overlay);
    else if (text_why[0])
        snprintf(res->reason, sizeof res->reason,
                 "its compressed pixels may carry text medreg cannot take out (%s): check them", text_why);
    else if (quarantine && blank_why[0])
        snprintf(res->reason, sizeof res->reason,
                 "the pixels may show burned-in text: check them (the pixel rule of line %lu matches, but %s)", rule_line,
                 blank_why);
    else if (quarantine)
        snprintf(res->reason, sizeof res->reason, "the pixels may show burned-in text: check them");
    else if (res->blanked)
        snprintf(res->reason, sizeof res->reason, "burned-in text blanked by the pixel rules: %lu region%s (line %lu%s)",
                 res->blanked, res->blanked == 1 ? "" : "s", rule_line, res->blanked == 1 ? "" : " and after");
out:
    free(regions);
    mr_dcm_tokens_free(&x.tokens);
    mr_wipe(psn, sizeof psn);
    mr_wipe(key, sizeof key);
    mr_wipe(x.psn_hex, sizeof x.psn_hex);
    free(study);
    free(series);
    free(sop);
    free(why);
    mr_dcm_free(f);
    return rc;
}
