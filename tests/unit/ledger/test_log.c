/* The ledger's log on SQLite, in process: appends get consecutive
 * indices; an integration signs a checkpoint whose root an independent
 * computation (mr_leaf_array) reproduces; proofs from the log verify;
 * tiles and entry bundles hold what C2SP says; a reopened log rebuilds the
 * same tree; no new entries, no new checkpoint. usage: test_log DB-PATH */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../../src/ledger/log.h"
#include "../check.h"

#define N 700

int main(int argc, char **argv)
{
    char url[600], *why = NULL, *note = NULL;
    mr_db *db = NULL;
    mr_conn *c = NULL;
    mr_ledger *l = NULL;
    mr_note_signer s;
    uint8_t seed[32] = {7};
    mr_hash leaves[N], root, proof[MR_PROOF_MAX];
    size_t n = 0, added = 0, len = 0, tl = 0;
    uint64_t size = 0, idx = 0;
    int ok = 0;
    if (argc != 2 || sodium_init() < 0)
        return 2;
    snprintf(url, sizeof url, "sqlite:%s", argv[1]);
    CHECK(mr_db_open(url, 4, &db) == MEDREG_OK && mr_db_migrate(db, MR_SCHEMA_LEDGER) == MEDREG_OK);
    CHECK(mr_note_signer_from_seed("test.example/log", MR_NOTE_ALG_ED25519, seed, &s) == MEDREG_OK);
    const mr_note_verifier v = s.v;
    CHECK(mr_ledger_open(db, "test.example/log", &s, &l, &why) == MEDREG_OK);
    CHECK(s.key == NULL); /* the ledger took the key */
    CHECK(mr_ledger_checkpoint(l, &note, &len, &size) == MEDREG_ERR_NOTFOUND);

    int seq = 1;
    CHECK(mr_db_acquire(db, &c) == MEDREG_OK);
    for (int b = 0; b < N / 100; b++) {
        CHECK(mr_conn_begin(c) == MEDREG_OK);
        for (int i = 0; i < 100; i++) {
            char e[32];
            int k = b * 100 + i;
            snprintf(e, sizeof e, "entry %d", k);
            seq &= mr_ledger_append(c, (const uint8_t *)e, strlen(e), 1, &idx) == MEDREG_OK && idx == (uint64_t)k;
            mr_merkle_leaf_hash((const uint8_t *)e, strlen(e), leaves[k]);
        }
        CHECK(mr_conn_commit(c) == MEDREG_OK);
    }
    mr_db_release(db, c);
    CHECK(seq);
    CHECK(mr_ledger_integrate(l, 500, &added) == MEDREG_OK && added == 500); /* a batch bound */
    CHECK(mr_ledger_integrate(l, 1000, &added) == MEDREG_OK && added == 200);
    CHECK(mr_ledger_integrate(l, 1000, &added) == MEDREG_OK && added == 0);
    CHECK(mr_ledger_checkpoint(l, &note, &len, &size) == MEDREG_OK && size == N);
    mr_checkpoint cp;
    CHECK(mr_note_open(note, len, &v, 1, &tl, &ok) == MEDREG_OK && ok && mr_checkpoint_parse(note, tl, &cp) == MEDREG_OK);
    mr_leaf_array a = {(const mr_hash *)leaves, N};
    CHECK(mr_merkle_range_hash(mr_leaf_array_subtree, &a, 0, N, root) == MEDREG_OK &&
          memcmp(root, cp.root, MR_HASH_BYTES) == 0 && cp.size == N);
    int pv = 1;
    for (uint64_t i = 0; i < N; i += 37) {
        pv &= mr_ledger_inclusion(l, i, N, proof, &n) == MEDREG_OK &&
              mr_merkle_verify_inclusion(i, N, leaves[i], (const mr_hash *)proof, n, root) == MEDREG_OK;
        mr_hash old_root;
        mr_leaf_array o = {(const mr_hash *)leaves, i + 1};
        pv &= mr_merkle_range_hash(mr_leaf_array_subtree, &o, 0, i + 1, old_root) == MEDREG_OK &&
              mr_ledger_consistency(l, i + 1, N, proof, &n) == MEDREG_OK &&
              mr_merkle_verify_consistency(i + 1, N, (const mr_hash *)proof, n, old_root, root) == MEDREG_OK;
    }
    CHECK(pv);
    CHECK(mr_ledger_inclusion(l, N, N, proof, &n) == MEDREG_ERR_NOTFOUND);
    CHECK(mr_ledger_inclusion(l, 0, N + 1, proof, &n) == MEDREG_ERR_NOTFOUND);

    /* tiles: level 0 is the leaf hashes, level 1 the hashes of 256-leaf subtrees */
    uint8_t *t = NULL;
    size_t tlen = 0;
    CHECK(mr_ledger_tile(l, 0, 0, 256, &t, &tlen) == MEDREG_OK && tlen == 256 * 32 && memcmp(t, leaves, tlen) == 0);
    free(t);
    CHECK(mr_ledger_tile(l, 0, 2, 188, &t, &tlen) == MEDREG_OK && memcmp(t, leaves[512], 188 * 32) == 0);
    free(t);
    CHECK(mr_ledger_tile(l, 0, 2, 256, &t, &tlen) == MEDREG_ERR_NOTFOUND);
    mr_hash sub;
    CHECK(mr_ledger_tile(l, 1, 0, 2, &t, &tlen) == MEDREG_OK &&
          mr_merkle_range_hash(mr_leaf_array_subtree, &a, 256, 512, sub) == MEDREG_OK && memcmp(t + 32, sub, 32) == 0);
    free(t);
    CHECK(mr_ledger_tile(l, -1, 0, 2, &t, &tlen) == MEDREG_OK && tlen == 2 + 7 + 2 + 7 && t[0] == 0 && t[1] == 7 &&
          memcmp(t + 2, "entry 0", 7) == 0);
    free(t);
    free(note);
    mr_ledger_close(l);

    /* reopened: the same tree from storage */
    l = NULL;
    CHECK(mr_note_signer_from_seed("test.example/log", MR_NOTE_ALG_ED25519, seed, &s) == MEDREG_OK);
    CHECK(mr_ledger_open(db, "test.example/log", &s, &l, &why) == MEDREG_OK);
    CHECK(l && mr_ledger_checkpoint(l, &note, &len, &size) == MEDREG_OK && size == N);
    free(note);
    /* another origin or key does not open it */
    mr_ledger *l2 = NULL;
    CHECK(mr_note_signer_from_seed("test.example/log", MR_NOTE_ALG_ED25519, seed, &s) == MEDREG_OK);
    CHECK(mr_ledger_open(db, "other.example/log", &s, &l2, &why) == MEDREG_ERR_VERIFY && l2 == NULL && s.key == NULL);
    free(why);
    mr_ledger_close(l);
    mr_note_signer_clear(&s);
    mr_db_close(db);
    return TEST_DONE();
}
