#include "dicom_report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/encode.h"
#include "../core/secret.h"

struct mr_dicom_report_writer {
    char *path, *partial;
    int fd;
    FILE *fp; /* on a copy of fd: closing it leaves fd to the finish */
    size_t entries;
    int ok;
};

/* An object's fields as text, without its braces: "\n  \"a\": 1,\n ..." */
static char *fields_of(json_t *o)
{
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    size_t len = text ? strlen(text) : 0;
    if (len < 2 || text[0] != '{' || text[len - 1] != '}') {
        free(text);
        return NULL;
    }
    text[--len] = 0; /* the closing brace */
    while (len > 1 && text[len - 1] == '\n')
        text[--len] = 0;
    memmove(text, text + 1, len); /* the opening brace, and the NUL along */
    return text;
}

static void writer_free(mr_dicom_report_writer *w)
{
    free(w->partial);
    free(w->path);
    free(w);
}

medreg_err mr_dicom_report_begin(const char *path, json_t *head, mr_dicom_report_writer **out)
{
    *out = NULL;
    mr_dicom_report_writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return MEDREG_ERR_NOMEM;
    if ((w->path = strdup(path)) == NULL || asprintf(&w->partial, "%s.partial", path) < 0) {
        w->partial = NULL;
        writer_free(w);
        return MEDREG_ERR_NOMEM;
    }
    unlink(w->partial); /* what a run killed before its end left */
    medreg_err rc = mr_secret_file_create(w->partial, &w->fd);
    if (rc != MEDREG_OK) {
        writer_free(w);
        return rc;
    }
    int copy = dup(w->fd);
    char *fields = fields_of(head);
    w->fp = copy >= 0 ? fdopen(copy, "w") : NULL;
    if (w->fp == NULL && copy >= 0)
        close(copy);
    w->ok = w->fp != NULL && fields != NULL && fprintf(w->fp, "{%s%s\n  \"files\": [", fields, *fields ? "," : "") > 0;
    free(fields);
    if (!w->ok) {
        mr_dicom_report_discard(w);
        return MEDREG_ERR_IO;
    }
    *out = w;
    return MEDREG_OK;
}

medreg_err mr_dicom_report_add(mr_dicom_report_writer *w, json_t *entry)
{
    w->ok = w->ok && json_is_object(entry) && fprintf(w->fp, "%s\n    ", w->entries ? "," : "") > 0 &&
            json_dumpf(entry, w->fp, JSON_PRESERVE_ORDER) == 0;
    w->entries++;
    return w->ok ? MEDREG_OK : MEDREG_ERR_IO;
}

void mr_dicom_report_discard(mr_dicom_report_writer *w)
{
    if (w == NULL)
        return;
    if (w->fp != NULL)
        fclose(w->fp);
    close(w->fd);
    unlink(w->partial);
    writer_free(w);
}

medreg_err mr_dicom_report_end(mr_dicom_report_writer *w, json_t *tail)
{
    char *fields = w->ok ? fields_of(tail) : NULL;
    int ok = w->ok && fields != NULL && fprintf(w->fp, "\n  ]%s%s\n}\n", *fields ? "," : "", fields) > 0;
    free(fields);
    if (w->fp != NULL)
        ok = fclose(w->fp) == 0 && ok;
    medreg_err rc = mr_secret_file_finish(w->partial, w->fd, ok);
    /* in one step: an earlier report stays whole until this one is */
    if (rc == MEDREG_OK && rename(w->partial, w->path) != 0) {
        rc = MEDREG_ERR_IO;
        unlink(w->partial);
    }
    if (rc == MEDREG_OK)
        rc = mr_dir_sync(w->path);
    writer_free(w);
    return rc;
}

/* The next character that is not JSON whitespace (or EOF). */
static int next_token(FILE *fp)
{
    int c;
    do
        c = getc(fp);
    while (c == ' ' || c == '\t' || c == '\n' || c == '\r');
    return c;
}

/* One value that ends at its own closing character (a string, an object, an
 * array): jansson then reads no further than that character, so the walk
 * goes on exactly behind it. A number or a literal would make it read one
 * character more, which is why those are skipped by skip_scalar instead. */
static json_t *closed_value(FILE *fp)
{
    json_error_t je;
    return json_loadf(fp, JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &je);
}

/* A number, true, false or null of the head, whose value the walk does not
 * need: its characters up to the next delimiter, which stays unread. */
static int skip_scalar(FILE *fp)
{
    size_t n = 0;
    int c;
    while ((c = getc(fp)) != EOF && c != ',' && c != '}' && c != ' ' && c != '\n' && c != '\r' && c != '\t') {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '+' || c == '.' || c == 'E') ||
            ++n > 64)
            return 0;
    }
    if (c != EOF)
        ungetc(c, fp);
    return n > 0;
}

struct mr_dicom_report_reader {
    FILE *fp;
    json_t *head; /* the fields before "files" */
    int state;    /* 0: before the first entry, 1: behind one, 2: the end read and checked */
    int format, files;
    size_t fields; /* read so far, "files" among them */
};

static medreg_err refuse(FILE *fp, char *why, size_t cap, const char *what)
{
    snprintf(why, cap, "%s (at byte %ld)", what, ftell(fp));
    return MEDREG_ERR_INVALID;
}

/* The report's fields, up to "files" (whose '[' is then read) or up to its
 * end (behind "files": which is then checked to be all there is). */
static medreg_err read_fields(mr_dicom_report_reader *r, char *why, size_t cap)
{
    FILE *fp = r->fp;
    int c;
    for (;;) {
        if (r->fields++) { /* behind a field: a comma, or the end */
            if ((c = next_token(fp)) == '}')
                break;
            if (c != ',')
                return refuse(fp, why, cap, "the report goes on without a comma");
        }
        json_t *key = closed_value(fp), *v = NULL;
        const char *k = json_string_value(key);
        medreg_err rc = MEDREG_OK;
        if (k == NULL || next_token(fp) != ':')
            rc = refuse(fp, why, cap, "a field without a name");
        else if (!strcmp(k, "files") || !strcmp(k, "format")) {
            if (!strcmp(k, "format") ? r->format != 0 : (r->files != 0 || r->format != 1))
                rc = refuse(fp, why, cap, "\"format\" must come once, and before \"files\"");
            else if (!strcmp(k, "files")) {
                r->files = 1;
                if (next_token(fp) != '[')
                    rc = refuse(fp, why, cap, "\"files\" is not an array");
                json_decref(key);
                return rc; /* the entries follow */
            } else {
                v = closed_value(fp);
                r->format = json_is_string(v) && !strcmp(json_string_value(v), MR_DICOM_REPORT_FORMAT) ? 1 : -1;
                if (r->format == -1)
                    rc = refuse(fp, why, cap, "not a report of medreg deid dicom (\"format\")");
            }
        } else if ((c = next_token(fp)) == '"' || c == '{' || c == '[') {
            ungetc(c, fp);
            if ((v = closed_value(fp)) == NULL)
                rc = refuse(fp, why, cap, "a field's value is not JSON");
            else if (!r->files && json_object_set(r->head, k, v) != 0)
                rc = MEDREG_ERR_NOMEM; /* a field of the head, which the caller may ask for */
        } else if (c == EOF || ungetc(c, fp) == EOF || !skip_scalar(fp))
            rc = refuse(fp, why, cap, "a field's value is not JSON");
        json_decref(v);
        json_decref(key);
        if (rc != MEDREG_OK)
            return rc;
    }
    if (next_token(fp) != EOF)
        return refuse(fp, why, cap, "something follows the report");
    if (!r->files)
        return refuse(fp, why, cap, "the report has no \"files\"");
    return MEDREG_OK;
}

medreg_err mr_dicom_report_open(FILE *fp, mr_dicom_report_reader **out, char *why, size_t cap)
{
    *out = NULL;
    snprintf(why, cap, "%s", "");
    mr_dicom_report_reader *r = calloc(1, sizeof *r);
    if (r == NULL || (r->head = json_object()) == NULL) {
        free(r);
        return MEDREG_ERR_NOMEM;
    }
    r->fp = fp;
    medreg_err rc = next_token(fp) == '{' ? read_fields(r, why, cap) : refuse(fp, why, cap, "not a JSON object");
    if (rc == MEDREG_OK && !r->files)
        rc = refuse(fp, why, cap, "the report has no \"files\"");
    if (rc != MEDREG_OK) {
        mr_dicom_report_close(r);
        return rc;
    }
    *out = r;
    return MEDREG_OK;
}

const json_t *mr_dicom_report_head(const mr_dicom_report_reader *r)
{
    return r->head;
}

medreg_err mr_dicom_report_next(mr_dicom_report_reader *r, json_t **entry, char *why, size_t cap)
{
    *entry = NULL;
    if (r->state == 2)
        return MEDREG_OK;
    int c = next_token(r->fp);
    if (c == ']') {
        medreg_err rc = read_fields(r, why, cap); /* behind "files" */
        if (rc == MEDREG_OK)
            r->state = 2;
        return rc;
    }
    if (r->state == 1 && c != ',')
        return refuse(r->fp, why, cap, "\"files\" goes on without a comma");
    if (r->state == 0)
        ungetc(c, r->fp);
    json_t *e = closed_value(r->fp);
    if (!json_is_object(e)) {
        json_decref(e);
        return refuse(r->fp, why, cap, "an entry of \"files\" is not an object");
    }
    r->state = 1;
    *entry = e;
    return MEDREG_OK;
}

void mr_dicom_report_close(mr_dicom_report_reader *r)
{
    if (r == NULL)
        return;
    json_decref(r->head);
    free(r);
}

medreg_err mr_dicom_report_each(FILE *fp, mr_report_entry_fn fn, void *ctx, char *why, size_t cap)
{
    mr_dicom_report_reader *r;
    json_t *e = NULL;
    medreg_err rc = mr_dicom_report_open(fp, &r, why, cap);
    while (rc == MEDREG_OK && (rc = mr_dicom_report_next(r, &e, why, cap)) == MEDREG_OK && e != NULL) {
        rc = fn(e, ctx);
        json_decref(e);
    }
    mr_dicom_report_close(r);
    return rc;
}

char *mr_dicom_report_path(const json_t *f, const char *key)
{
    char hex_key[16];
    snprintf(hex_key, sizeof hex_key, "%s_hex", key);
    const char *hex = json_string_value(json_object_get(f, hex_key));
    const char *s = json_string_value(json_object_get(f, key));
    if (hex == NULL)
        return s ? strdup(s) : NULL;
    size_t n = strlen(hex) / 2;
    char *p = malloc(n + 1);
    if (p == NULL || !mr_unhex_exact(hex, (uint8_t *)p, n) || memchr(p, 0, n) != NULL) {
        free(p);
        return NULL;
    }
    p[n] = 0;
    return p;
}
