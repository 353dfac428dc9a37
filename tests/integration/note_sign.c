/* Test helper: sign stdin's text as a C2SP signed note with the private
 * key in argv[1] (a dishonest ledger forging a checkpoint with its own
 * key). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/ledger/note.h"

int main(int argc, char **argv)
{
    char key[512], text[4096];
    size_t n;
    mr_note_signer s;
    char *note = NULL;
    FILE *fp = argc == 2 ? fopen(argv[1], "r") : NULL;
    if (fp == NULL || sodium_init() < 0 || fgets(key, sizeof key, fp) == NULL)
        return 2;
    fclose(fp);
    key[strcspn(key, "\r\n")] = 0;
    n = fread(text, 1, sizeof text - 1, stdin);
    if (mr_note_signer_parse(key, &s) != MEDREG_OK || mr_note_sign(text, n, &s, &note) != MEDREG_OK)
        return 1;
    fputs(note, stdout);
    free(note);
    mr_note_signer_clear(&s);
    return 0;
}
