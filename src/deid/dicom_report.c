#include "dicom_report.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/secret.h"

medreg_err mr_dicom_report_write(const char *path, json_t *head, size_t n, mr_report_line_fn line, void *ctx)
{
    int fd, copy;
    medreg_err rc = mr_secret_file_create(path, &fd);
    if (rc != MEDREG_OK)
        return rc;
    FILE *fp = (copy = dup(fd)) >= 0 ? fdopen(copy, "w") : NULL; /* closing it leaves fd to the finish */
    char *text = NULL;
    size_t len;
    int ok = fp != NULL && (text = json_dumps(head, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) != NULL &&
             (len = strlen(text)) >= 2 && text[len - 1] == '}';
    if (ok) { /* the head's closing brace makes way for "files" */
        while (len > 0 && (text[len - 1] == '}' || text[len - 1] == '\n'))
            text[--len] = 0;
        ok = fprintf(fp, "%s,\n  \"files\": [", text) > 0;
    }
    free(text);
    for (size_t i = 0; ok && i < n; i++) {
        json_t *o = line(i, ctx);
        ok = o != NULL && fprintf(fp, "%s\n    ", i ? "," : "") > 0 && json_dumpf(o, fp, JSON_PRESERVE_ORDER) == 0;
        json_decref(o);
    }
    ok = ok && fputs("\n  ]\n}\n", fp) >= 0;
    if (fp != NULL)
        ok = fclose(fp) == 0 && ok;
    else if (copy >= 0)
        close(copy);
    return mr_secret_file_finish(path, fd, ok);
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

static medreg_err refuse(FILE *fp, char *why, size_t cap, const char *what)
{
    snprintf(why, cap, "%s (at byte %ld)", what, ftell(fp));
    return MEDREG_ERR_INVALID;
}

static medreg_err each_file(FILE *fp, mr_report_entry_fn fn, void *ctx, char *why, size_t cap)
{
    int c = next_token(fp);
    if (c != '[')
        return refuse(fp, why, cap, "\"files\" is not an array");
    if ((c = next_token(fp)) == ']')
        return MEDREG_OK;
    ungetc(c, fp);
    for (;;) {
        json_t *e = closed_value(fp);
        if (!json_is_object(e)) {
            json_decref(e);
            return refuse(fp, why, cap, "an entry of \"files\" is not an object");
        }
        medreg_err rc = fn(e, ctx);
        json_decref(e);
        if (rc != MEDREG_OK)
            return rc;
        if ((c = next_token(fp)) == ']')
            return MEDREG_OK;
        if (c != ',')
            return refuse(fp, why, cap, "\"files\" goes on without a comma");
    }
}

medreg_err mr_dicom_report_each(FILE *fp, mr_report_entry_fn fn, void *ctx, char *why, size_t cap)
{
    int format = 0, files = 0, c;
    snprintf(why, cap, "%s", "");
    if (next_token(fp) != '{')
        return refuse(fp, why, cap, "not a JSON object");
    for (;;) {
        json_t *key = closed_value(fp);
        const char *k = json_string_value(key);
        medreg_err rc = MEDREG_OK;
        if (k == NULL || next_token(fp) != ':')
            rc = refuse(fp, why, cap, "a field without a name");
        else if (!strcmp(k, "files") || !strcmp(k, "format")) {
            if (!strcmp(k, "format") ? format != 0 : (files != 0 || format != 1))
                rc = refuse(fp, why, cap, "\"format\" must come once, and before \"files\"");
            else if (!strcmp(k, "files")) {
                files = 1;
                rc = each_file(fp, fn, ctx, why, cap);
            } else {
                json_t *v = closed_value(fp);
                format = json_is_string(v) && !strcmp(json_string_value(v), MR_DICOM_REPORT_FORMAT) ? 1 : -1;
                json_decref(v);
            }
        } else if ((c = next_token(fp)) == '"' || c == '{' || c == '[') {
            ungetc(c, fp);
            json_t *v = closed_value(fp);
            if (v == NULL)
                rc = refuse(fp, why, cap, "a field's value is not JSON");
            json_decref(v);
        } else if (c == EOF || ungetc(c, fp) == EOF || !skip_scalar(fp))
            rc = refuse(fp, why, cap, "a field's value is not JSON");
        json_decref(key);
        if (rc != MEDREG_OK)
            return rc;
        if (format == -1)
            return refuse(fp, why, cap, "not a report of medreg deid dicom (\"format\")");
        if ((c = next_token(fp)) == '}')
            break;
        if (c != ',')
            return refuse(fp, why, cap, "the report goes on without a comma");
    }
    if (next_token(fp) != EOF)
        return refuse(fp, why, cap, "something follows the report");
    if (!files)
        return refuse(fp, why, cap, "the report has no \"files\"");
    return MEDREG_OK;
}
