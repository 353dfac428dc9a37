#include "file_kind.h"

#include <fcntl.h>
#include <magic.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/secret.h"

/* the first tag of a bare dataset: (0002,xxxx) or (0008,xxxx), little or
 * big endian */
static int may_start_dataset(const uint8_t *b, ssize_t n)
{
    if (n < 4)
        return 0;
    uint16_t le = (uint16_t)(b[0] | b[1] << 8), be = (uint16_t)(b[0] << 8 | b[1]);
    return le == 0x0002 || le == 0x0008 || be == 0x0002 || be == 0x0008;
}

#define KINDS_MAX 8                /* files in the path list */
#define DATABASE_MAX (256u << 20) /* Debian's is 8 MB */
#define TEXT_MAX (1u << 20)       /* a text magic file read to see whether it holds rules */
/* the bytes of a file libmagic looks at (its default, 7 MiB, is allocated
 * for every file it names): a document's or program's kind shows in its
 * first bytes */
#define BYTES_NAMED (1u << 20)
#define COMPILED_MAGIC 0xF11E041Cu /* the first word of a compiled database (libmagic's MAGICNO) */

struct mr_file_kinds {
    pthread_mutex_t lock;
    int state; /* 0: not read yet, 1: read and shared, -1: each call loads it */
    void *buf[KINDS_MAX];
    size_t len[KINDS_MAX];
    size_t n;
};

medreg_err mr_file_kinds_open(mr_file_kinds **out)
{
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        return MEDREG_ERR_NOMEM;
    pthread_mutex_init(&(*out)->lock, NULL);
    return MEDREG_OK;
}

void mr_file_kinds_free(mr_file_kinds *k)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < k->n; i++)
        free(k->buf[i]);
    pthread_mutex_destroy(&k->lock);
    free(k);
}

/* Does the text magic file at path hold rules, or only comments and
 * blank lines (Debian's /etc/magic)? 1 when it holds some or cannot be
 * told. */
static int has_rules(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    if (mr_file_read(path, TEXT_MAX, &text, &len) != MEDREG_OK)
        return 1;
    int rules = 0;
    for (char *line = text; !rules && line < text + len;) {
        char *end = memchr(line, '\n', (size_t)(text + len - line));
        size_t n = end ? (size_t)(end - line) : (size_t)(text + len - line);
        size_t blank = 0;
        while (blank < n && (line[blank] == ' ' || line[blank] == '\t' || line[blank] == '\r'))
            blank++;
        rules = blank < n && line[blank] != '#';
        line += n + 1;
    }
    free(text);
    return rules;
}

/* One file of libmagic's path list, as libmagic takes it: NAME.mgc (or
 * NAME itself when it ends so), compiled, else NAME as text. 0 when the
 * database cannot be shared (text with rules, a folder). */
static int add_one(mr_file_kinds *k, const char *name, medreg_err *rc)
{
    size_t len = strlen(name);
    char *compiled = NULL;
    struct stat sb;
    int is_mgc = len >= 4 && !strcmp(name + len - 4, ".mgc");
    if (asprintf(&compiled, "%s%s", name, is_mgc ? "" : ".mgc") < 0) {
        *rc = MEDREG_ERR_NOMEM;
        return 0;
    }
    int ok = 1;
    if (stat(compiled, &sb) == 0 && S_ISREG(sb.st_mode)) {
        char *db = NULL;
        size_t n = 0;
        uint32_t first = 0;
        ok = k->n < KINDS_MAX && (*rc = mr_file_read(compiled, DATABASE_MAX, &db, &n)) == MEDREG_OK;
        if (ok && n >= sizeof first)
            memcpy(&first, db, sizeof first);
        /* in this machine's byte order, which libmagic only reads; the
         * other it would swap in place, under every handle at once */
        ok = ok && first == COMPILED_MAGIC;
        if (ok) {
            k->buf[k->n] = db;
            k->len[k->n++] = n;
        } else
            free(db);
    } else if (!is_mgc && stat(name, &sb) == 0)
        ok = S_ISREG(sb.st_mode) && !has_rules(name);
    free(compiled);
    return ok;
}

/* Read the database from where libmagic looks ($MAGIC, else its default
 * path list): 1 when it can be shared. */
static int read_database(mr_file_kinds *k)
{
    const char *list = magic_getpath(NULL, 0);
    char *copy = list ? strdup(list) : NULL, *save = NULL;
    medreg_err rc = MEDREG_OK;
    int usable = copy != NULL;
    for (char *name = copy ? strtok_r(copy, ":", &save) : NULL; usable && name; name = strtok_r(NULL, ":", &save))
        usable = add_one(k, name, &rc);
    free(copy);
    if (rc == MEDREG_OK && usable && k->n > 0)
        return 1;
    for (size_t i = 0; i < k->n; i++)
        free(k->buf[i]);
    k->n = 0;
    return 0;
}

int mr_file_kinds_shared(mr_file_kinds *k)
{
    /* read at the first file that needs it: a run of images only never
     * holds the 8 MB */
    pthread_mutex_lock(&k->lock);
    if (k->state == 0)
        k->state = read_database(k) ? 1 : -1;
    int shared = k->state == 1;
    pthread_mutex_unlock(&k->lock);
    return shared;
}

/* A handle for this call, standing on the shared database when there is
 * one. */
static magic_t magic_start(mr_file_kinds *kinds)
{
    magic_t m = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR);
    size_t head = BYTES_NAMED;
    if (m == NULL)
        return NULL;
    if (magic_setparam(m, MAGIC_PARAM_BYTES_MAX, &head) != 0) {
        magic_close(m);
        return NULL;
    }
    /* the buffers are only read, by every handle at once (libmagic copies
     * nothing of a compiled database in this machine's byte order) */
    int shared = kinds != NULL && mr_file_kinds_shared(kinds);
    if (shared && magic_load_buffers(m, kinds->buf, kinds->len, kinds->n) == 0)
        return m;
    if (!shared && magic_load(m, NULL) == 0)
        return m;
    magic_close(m);
    return NULL;
}

medreg_err mr_file_not_dicom(mr_file_kinds *kinds, const char *path, int *other, char *name, size_t name_len)
{
    uint8_t head[4];
    *other = 0;
    if (name_len)
        name[0] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return MEDREG_ERR_IO;
    ssize_t n = read(fd, head, sizeof head);
    close(fd);
    if (n < 0)
        return MEDREG_ERR_IO;
    if (may_start_dataset(head, n))
        return MEDREG_OK;
    /* one handle per call: a magic_t is not to be shared between threads,
     * and only files DCMTK refused come here */
    magic_t m = magic_start(kinds);
    if (m == NULL)
        return MEDREG_ERR_NOMEM;
    medreg_err rc = MEDREG_OK;
    const char *mime = magic_file(m, path);
    if (mime == NULL || !strcmp(mime, "application/dicom") || !strcmp(mime, "application/octet-stream"))
        goto out;
    const char *what = magic_setflags(m, MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR) == 0 ? magic_file(m, path) : NULL;
    /* its kind, without the details after it ("PDF document", not its version) */
    snprintf(name, name_len, "%.*s", (int)strcspn(what ? what : mime, ","), what ? what : mime);
    *other = 1;
out:
    magic_close(m);
    return rc;
}
