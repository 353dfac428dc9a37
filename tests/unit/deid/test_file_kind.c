/* Which files DCMTK refused are certainly not DICOM: a PDF, a web page, an
 * autorun file, a program, an empty file are, with libmagic's name for
 * them; a Part 10 file cut short, bytes no one can name, and bytes that
 * could start a bare dataset (either byte order) are not: they stay
 * failures. A missing file is an error. The same with the database read
 * once and shared (mr_file_kinds) as loaded by each call; the database is
 * shared only when every file of libmagic's path list is compiled or a
 * text file without rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../src/deid/file_kind.h"
#include "../check.h"

static char dir[] = "/tmp/medreg-kind-XXXXXX";
static mr_file_kinds *use; /* NULL: loaded by each call */

static int kind(const char *bytes, size_t n, char *name, size_t name_len)
{
    char path[64];
    snprintf(path, sizeof path, "%s/f", dir);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(bytes, 1, n, f) != n || fclose(f) != 0)
        return -1;
    int other = -1;
    if (mr_file_not_dicom(use, path, &other, name, name_len) != MEDREG_OK)
        return -1;
    return other;
}

#define KIND(lit) kind(lit, sizeof lit - 1, name, 64)

static void kinds(char *name)
{
    CHECK(KIND("%PDF-1.4\n1 0 obj\n<< >>\nendobj\n") == 1 && !strcmp(name, "PDF document"));
    CHECK(KIND("<!DOCTYPE html><html><body>Viewer</body></html>\n") == 1 && !strncmp(name, "HTML document", 13));
    CHECK(KIND("[autorun]\r\nopen=VIEWER.EXE\r\n") == 1 && strstr(name, "Autorun") != NULL);
    CHECK(KIND("") == 1 && !strcmp(name, "empty"));
    CHECK(KIND("README: insert the disc\n") == 1 && !strcmp(name, "ASCII text"));

    char part10[200] = {0}; /* preamble, DICM, then cut */
    memcpy(part10 + 128, "DICM\x02\x00\x00\x00UL", 10);
    CHECK(kind(part10, sizeof part10, name, 64) == 0);
    CHECK(KIND("\x08\x00\x05\x00" "CS\x0a\x00ISO_IR 100") == 0); /* a bare dataset, little endian */
    CHECK(KIND("\x00\x08\x00\x05" "CS\x00\x0aISO_IR 100") == 0); /* big endian */
    CHECK(KIND("\x02\x00\x01\x00OB") == 0);
    CHECK(KIND("\x9a\x11\xf3\x07\x42\x00\x01\xfe") == 0); /* data no one can name */

    int other = 7;
    CHECK(mr_file_not_dicom(use, "/nonexistent/medreg/f", &other, name, 64) == MEDREG_ERR_IO && other == 0);
}

/* Which path lists of libmagic's may be read once: $MAGIC set to list. */
static int shareable(const char *list)
{
    mr_file_kinds *k = NULL;
    if (mr_file_kinds_open(&k) != MEDREG_OK)
        return -1;
    setenv("MAGIC", list, 1);
    int ok = mr_file_kinds_shared(k);
    unsetenv("MAGIC");
    mr_file_kinds_free(k);
    return ok;
}

int main(void)
{
    char name[64], path[128], list[512];
    if (mkdtemp(dir) == NULL)
        return 1;
    kinds(name);
    mr_file_kinds *k = NULL;
    CHECK(mr_file_kinds_open(&k) == MEDREG_OK && k != NULL);
    CHECK(mr_file_kinds_shared(k) == 1); /* Debian's: /etc/magic (comments) and magic.mgc */
    use = k;
    kinds(name);
    use = NULL;
    mr_file_kinds_free(k);

    snprintf(path, sizeof path, "%s/comments", dir);
    FILE *f = fopen(path, "w");
    CHECK(f && fputs("# Magic local data\n\n   # more\n", f) >= 0 && fclose(f) == 0);
    snprintf(list, sizeof list, "%s/comments:/usr/share/misc/magic", dir);
    CHECK(shareable(list) == 1);
    snprintf(path, sizeof path, "%s/rules", dir);
    f = fopen(path, "w");
    CHECK(f && fputs("# local\n0\tstring\tMEDREG\tmedreg's own\n", f) >= 0 && fclose(f) == 0);
    snprintf(list, sizeof list, "%s/rules:/usr/share/misc/magic", dir);
    CHECK(shareable(list) == 0); /* rules of its own: each call loads them as `file` would */
    snprintf(list, sizeof list, "%s:/usr/share/misc/magic", dir);
    CHECK(shareable(list) == 0); /* a folder of magic files */
    snprintf(list, sizeof list, "%s/none", dir);
    CHECK(shareable(list) == 0); /* no database at all */
    snprintf(path, sizeof path, "%s/swapped.mgc", dir);
    f = fopen(path, "wb");
    CHECK(f && fwrite("\xf1\x1e\x04\x1c\x00\x00\x00\x12", 1, 8, f) == 8 && fclose(f) == 0);
    CHECK(shareable(path) == 0); /* the other byte order: libmagic would swap it in place */
    unlink(path);

    snprintf(path, sizeof path, "%s/f", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/comments", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/rules", dir);
    unlink(path);
    rmdir(dir);
    return TEST_DONE();
}
