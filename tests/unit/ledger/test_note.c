/* C2SP signed notes against the reference vectors of the Go
 * implementation (golang.org/x/mod/sumdb/note): the PeterNeumann keys,
 * their key ID and the published signature byte for byte; the malformed
 * keys it refuses; then forged, altered, unsigned and malformed notes;
 * checkpoints; C2SP tlog-tiles paths. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../../src/ledger/note.h"
#include "../check.h"

static const char VKEY[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char SKEY[] = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char TEXT[] = "If you think cryptography is the answer to your problem,\n"
                           "then you don't know what your problem is.\n";
static const char SIGLINE[] = "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgK"
                              "vqfqdngotpRZb6KE6RyyBwJnAM=\n";

int main(void)
{
    mr_note_verifier v, other;
    mr_note_signer s, s2;
    char *str = NULL, *note = NULL, *n2 = NULL;
    size_t tl = 0;
    int ver[2];
    if (sodium_init() < 0)
        return 2;

    CHECK(mr_note_verifier_parse(VKEY, &v) == MEDREG_OK && v.key_id == 0xc74f20a3 && !strcmp(v.name, "PeterNeumann"));
    CHECK(mr_note_verifier_format(&v, &str) == MEDREG_OK && !strcmp(str, VKEY));
    free(str);
    CHECK(mr_note_signer_parse(SKEY, &s) == MEDREG_OK && memcmp(s.v.pk, v.pk, 32) == 0 && s.v.key_id == v.key_id);
    /* Ed25519 is deterministic: the published signature, byte for byte */
    CHECK(mr_note_sign(TEXT, strlen(TEXT), &s, &note) == MEDREG_OK);
    char want[512];
    snprintf(want, sizeof want, "%s\n%s", TEXT, SIGLINE);
    CHECK(note && !strcmp(note, want));
    CHECK(mr_note_open(want, strlen(want), &v, 1, &tl, ver) == MEDREG_OK && ver[0] && tl == strlen(TEXT));

    /* the Go implementation's bad keys */
    static const char *bad[] = {
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==", /* wrong length */
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",         /* unknown algorithm */
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",         /* key ID mismatch */
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",         /* upper-case ID */
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3", "PeterNeumann+c74f20a3+!!!!", "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", ""};
    int refused = 1;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        refused &= mr_note_verifier_parse(bad[i], &other) == MEDREG_ERR_INVALID;
    CHECK(refused);
    /* every substring and every one-character change of the key is refused (as Go tests) */
    char k[sizeof VKEY];
    int all = 1;
    for (size_t i = 0; i < sizeof VKEY - 1; i++) {
        memcpy(k, VKEY, sizeof VKEY);
        k[i]++;
        all &= mr_note_verifier_parse(k, &other) != MEDREG_OK;
        for (size_t j = i + 1; j <= sizeof VKEY - 1; j++) {
            if (i == 0 && j == sizeof VKEY - 1)
                continue;
            memcpy(k, VKEY + i, j - i);
            k[j - i] = 0;
            all &= mr_note_verifier_parse(k, &other) != MEDREG_OK;
        }
    }
    CHECK(all);

    /* a second signer: a note with both; each verifier alone; an unknown key only */
    uint8_t seed[32];
    randombytes_buf(seed, sizeof seed);
    CHECK(mr_note_signer_from_seed("witness.example/w1", MR_NOTE_ALG_ED25519, seed, &s2) == MEDREG_OK);
    char *sk2 = NULL;
    mr_note_signer s3;
    CHECK(mr_note_signer_format(&s2, seed, &sk2) == MEDREG_OK && mr_note_signer_parse(sk2, &s3) == MEDREG_OK &&
          memcmp(s3.v.pk, s2.v.pk, 32) == 0);
    sodium_memzero(sk2, strlen(sk2));
    free(sk2);
    mr_note_signer_clear(&s3);
    char *w = NULL;
    CHECK(mr_note_sign(TEXT, strlen(TEXT), &s2, &w) == MEDREG_OK);
    const char *wline = strstr(w, "\xe2\x80\x94");
    CHECK(mr_note_add_line(note, strlen(note), wline, &n2) == MEDREG_OK);
    mr_note_verifier vs[2] = {v, s2.v};
    CHECK(mr_note_open(n2, strlen(n2), vs, 2, &tl, ver) == MEDREG_OK && ver[0] && ver[1]);
    CHECK(mr_note_open(n2, strlen(n2), &vs[1], 1, &tl, ver) == MEDREG_OK && ver[0]);
    CHECK(mr_note_open(note, strlen(note), &vs[1], 1, &tl, ver) == MEDREG_ERR_VERIFY); /* no known signer */
    /* altered text, altered signature, the signature under another known key's name */
    char *alt = strdup(n2);
    alt[3] ^= 0x20;
    CHECK(mr_note_open(alt, strlen(alt), vs, 2, &tl, ver) == MEDREG_ERR_VERIFY);
    free(alt);
    alt = strdup(n2);
    alt[strlen(TEXT) + 1 + 40] ^= 0x01; /* inside the first signature's bytes: forged */
    CHECK(mr_note_open(alt, strlen(alt), vs, 2, &tl, ver) == MEDREG_ERR_VERIFY);
    free(alt);
    alt = strdup(n2);
    alt[strlen(TEXT) + 1 + 18] ^= 0x01; /* inside its key ID: now an unknown key, ignored */
    CHECK(mr_note_open(alt, strlen(alt), vs, 2, &tl, ver) == MEDREG_OK && !ver[0] && ver[1]);
    free(alt);
    /* malformed: no blank line, no final newline, a bad dash, a space in a name, too many lines */
    CHECK(mr_note_open(TEXT, strlen(TEXT), vs, 2, &tl, ver) == MEDREG_ERR_INVALID);
    CHECK(mr_note_open(n2, strlen(n2) - 1, vs, 2, &tl, ver) == MEDREG_ERR_INVALID);
    alt = strdup(n2);
    alt[strlen(TEXT) + 1] = '-';
    CHECK(mr_note_open(alt, strlen(alt), vs, 2, &tl, ver) == MEDREG_ERR_INVALID);
    free(alt);
    size_t big = strlen(note) + 101 * strlen(SIGLINE) + 1;
    char *many = calloc(1, big);
    memcpy(many, note, strlen(note));
    for (int i = 0; i < 101; i++)
        memcpy(many + strlen(many), SIGLINE, strlen(SIGLINE));
    CHECK(mr_note_open(many, strlen(many), vs, 2, &tl, ver) == MEDREG_ERR_INVALID);
    free(many);
    CHECK(mr_note_sign("no newline", 10, &s, &str) == MEDREG_ERR_INVALID);
    CHECK(mr_note_sign("tab\there\n", 9, &s, &str) == MEDREG_ERR_INVALID);

    /* a witness's cosignature (C2SP tlog-cosignature): key type 0x04, a timestamp, the
     * "cosignature/v1" message; a cosigner key cannot sign plain notes and vice versa */
    mr_note_signer w1;
    uint8_t wseed[32];
    randombytes_buf(wseed, sizeof wseed);
    CHECK(mr_note_signer_from_seed("witness.example/w1", MR_NOTE_ALG_COSIGNATURE, wseed, &w1) == MEDREG_OK);
    CHECK(w1.v.key_id == mr_note_key_id("witness.example/w1", MR_NOTE_ALG_COSIGNATURE, w1.v.pk) &&
          w1.v.key_id != mr_note_key_id("witness.example/w1", MR_NOTE_ALG_ED25519, w1.v.pk));
    char *wv = NULL, *cosline = NULL, *cosigned = NULL, *ns = NULL;
    mr_note_verifier wpv = {0}; /* read below even when the check before fails */
    CHECK(mr_note_verifier_format(&w1.v, &wv) == MEDREG_OK && mr_note_verifier_parse(wv, &wpv) == MEDREG_OK &&
          wpv.alg == MR_NOTE_ALG_COSIGNATURE);
    free(wv);
    CHECK(mr_note_sign(TEXT, strlen(TEXT), &w1, &ns) == MEDREG_ERR_INVALID);
    CHECK(mr_note_cosign(TEXT, strlen(TEXT), &s, 1679315147, &cosline) == MEDREG_ERR_INVALID);
    CHECK(mr_note_cosign(TEXT, strlen(TEXT), &w1, 1679315147, &cosline) == MEDREG_OK);
    CHECK(mr_note_add_line(note, strlen(note), cosline, &cosigned) == MEDREG_OK);
    mr_note_verifier both[2] = {v, wpv};
    CHECK(mr_note_open(cosigned, strlen(cosigned), both, 2, &tl, ver) == MEDREG_OK && ver[0] && ver[1]);
    /* the cosignature is not a plain signature under the same key, nor valid for another time */
    mr_note_verifier as_plain = wpv;
    as_plain.alg = MR_NOTE_ALG_ED25519;
    as_plain.key_id = mr_note_key_id(as_plain.name, MR_NOTE_ALG_ED25519, as_plain.pk);
    CHECK(mr_note_open(cosigned, strlen(cosigned), &as_plain, 1, &tl, ver) == MEDREG_ERR_VERIFY && !ver[0]);
    char *tamper = strdup(cosigned);
    char *sig = strstr(tamper, "witness.example/w1 ") + strlen("witness.example/w1 ");
    sig[8] = sig[8] == 'A' ? 'B' : 'A'; /* inside the timestamp */
    CHECK(mr_note_open(tamper, strlen(tamper), both, 2, &tl, ver) == MEDREG_ERR_VERIFY);
    free(tamper);
    free(cosline);
    free(cosigned);
    mr_note_signer_clear(&w1);

    /* checkpoints */
    mr_checkpoint c = {"medreg.example/ledger", 20852163, {0}}, back;
    for (int i = 0; i < 32; i++)
        c.root[i] = (uint8_t)i;
    char *ct = NULL;
    size_t cl = 0;
    CHECK(mr_checkpoint_format(&c, &ct, &cl) == MEDREG_OK);
    CHECK(ct && !strcmp(ct, "medreg.example/ledger\n20852163\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"));
    CHECK(mr_checkpoint_parse(ct, cl, &back) == MEDREG_OK && back.size == c.size && !memcmp(back.root, c.root, 32) &&
          !strcmp(back.origin, c.origin));
    static const char *badcp[] = {"o\n020\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
                                  "o\n-1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
                                  "o\n18446744073709551616\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
                                  "o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n",
                                  "o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n",
                                  "o o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
                                  "o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n",
                                  "o\n1\n",
                                  ""};
    refused = 1;
    for (size_t i = 0; i < sizeof badcp / sizeof badcp[0]; i++)
        refused &= mr_checkpoint_parse(badcp[i], strlen(badcp[i]), &back) == MEDREG_ERR_INVALID;
    CHECK(refused);
    static const char ext[] = "o\n18446744073709551615\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\nextension line\n";
    CHECK(mr_checkpoint_parse(ext, strlen(ext), &back) == MEDREG_OK && back.size == UINT64_MAX);
    free(ct);

    /* tile paths (C2SP tlog-tiles) */
    char p[96];
    CHECK(mr_tile_path(0, 1234067, 256, p, sizeof p) == MEDREG_OK && !strcmp(p, "tile/0/x001/x234/067"));
    CHECK(mr_tile_path(1, 0, 256, p, sizeof p) == MEDREG_OK && !strcmp(p, "tile/1/000"));
    CHECK(mr_tile_path(2, 1000, 17, p, sizeof p) == MEDREG_OK && !strcmp(p, "tile/2/x001/000.p/17"));
    CHECK(mr_tile_path(-1, 42, 256, p, sizeof p) == MEDREG_OK && !strcmp(p, "tile/entries/042"));
    CHECK(mr_tile_path(0, 5, 0, p, sizeof p) == MEDREG_ERR_INVALID);

    free(note);
    free(n2);
    free(w);
    mr_note_signer_clear(&s);
    mr_note_signer_clear(&s2);
    return TEST_DONE();
}
