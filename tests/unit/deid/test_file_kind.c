/* Which files DCMTK refused are certainly not DICOM: a PDF, a web page, an
 * autorun file, a program, an empty file are, with libmagic's name for
 * them; a Part 10 file cut short, bytes no one can name, and bytes that
 * could start a bare dataset (either byte order) are not: they stay
 * failures. A missing file is an error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../src/deid/file_kind.h"
#include "../check.h"

static char dir[] = "/tmp/medreg-kind-XXXXXX";

static int kind(const char *bytes, size_t n, char *name, size_t name_len)
{
    char path[64];
    snprintf(path, sizeof path, "%s/f", dir);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(bytes, 1, n, f) != n || fclose(f) != 0)
        return -1;
    int other = -1;
    if (mr_file_not_dicom(path, &other, name, name_len) != MEDREG_OK)
        return -1;
    return other;
}

#define KIND(lit) kind(lit, sizeof lit - 1, name, sizeof name)

int main(void)
{
    char name[64];
    if (mkdtemp(dir) == NULL)
        return 1;
    CHECK(KIND("%PDF-1.4\n1 0 obj\n<< >>\nendobj\n") == 1 && !strcmp(name, "PDF document"));
    CHECK(KIND("<!DOCTYPE html><html><body>Viewer</body></html>\n") == 1 && !strncmp(name, "HTML document", 13));
    CHECK(KIND("[autorun]\r\nopen=VIEWER.EXE\r\n") == 1 && strstr(name, "Autorun") != NULL);
    CHECK(KIND("") == 1 && !strcmp(name, "empty"));
    CHECK(KIND("README: insert the disc\n") == 1 && !strcmp(name, "ASCII text"));

    char part10[200] = {0}; /* preamble, DICM, then cut */
    memcpy(part10 + 128, "DICM\x02\x00\x00\x00UL", 10);
    CHECK(kind(part10, sizeof part10, name, sizeof name) == 0);
    CHECK(KIND("\x08\x00\x05\x00" "CS\x0a\x00ISO_IR 100") == 0); /* a bare dataset, little endian */
    CHECK(KIND("\x00\x08\x00\x05" "CS\x00\x0aISO_IR 100") == 0); /* big endian */
    CHECK(KIND("\x02\x00\x01\x00OB") == 0);
    CHECK(KIND("\x9a\x11\xf3\x07\x42\x00\x01\xfe") == 0); /* data no one can name */

    int other = 7;
    CHECK(mr_file_not_dicom("/nonexistent/medreg/f", &other, name, sizeof name) == MEDREG_ERR_IO && other == 0);
    char path[64];
    snprintf(path, sizeof path, "%s/f", dir);
    unlink(path);
    rmdir(dir);
    return TEST_DONE();
}
