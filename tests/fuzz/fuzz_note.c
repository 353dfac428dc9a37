/* What a hostile log, witness or mirror can send a verifier: signed
 * notes, checkpoints, verifier keys and proofs. None may crash; random
 * bytes never open under the real key nor prove anything about a real
 * tree. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/ledger/note.h"
#include "../../src/ledger/receipt.h"
#include "../../src/ledger/tlog_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mr_note_verifier v;
    static mr_hash leaves[5], root, old_root;
    static int ready;
    if (!ready) {
        if (sodium_init() < 0 ||
            mr_note_verifier_parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", &v) != MEDREG_OK)
            abort();
        for (uint8_t i = 0; i < 5; i++)
            mr_merkle_leaf_hash(&i, 1, leaves[i]);
        mr_leaf_array a = {(const mr_hash *)leaves, 5}, b = {(const mr_hash *)leaves, 3};
        if (mr_merkle_range_hash(mr_leaf_array_subtree, &a, 0, 5, root) != MEDREG_OK ||
            mr_merkle_range_hash(mr_leaf_array_subtree, &b, 0, 3, old_root) != MEDREG_OK)
            abort();
        ready = 1;
    }
    size_t tl = 0;
    int ver = 0;
    static const char genuine[] = "If you think cryptography is the answer to your problem,\n"
                                  "then you don't know what your problem is.\n";
    medreg_err rc = mr_note_open((const char *)data, size, &v, 1, &tl, &ver);
    if (rc == MEDREG_OK && (tl != sizeof genuine - 1 || memcmp(data, genuine, tl) != 0))
        abort(); /* a forgery: another text under the reference key */
    mr_checkpoint c;
    (void)mr_checkpoint_parse((const char *)data, size, &c);
    uint64_t ri = 0;
    if (mr_receipt_verify((const char *)data, size, (const uint8_t *)"x", 1, &v, NULL, 0, 0, &ri) == MEDREG_OK)
        abort(); /* a receipt for a text the reference key never logged */
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    mr_note_verifier w;
    (void)mr_note_verifier_parse(s, &w);
    mr_note_signer sg;
    if (mr_note_signer_parse(s, &sg) == MEDREG_OK)
        mr_note_signer_clear(&sg);
    free(s);
    uint64_t old = 0;
    mr_hash wp[MR_PROOF_MAX];
    const uint8_t *be[8];
    size_t bel[8];
    size_t wn = 0, nl = 0;
    const char *wnote = NULL;
    if (mr_witness_request_parse((const char *)data, size, &old, wp, &wn, &wnote, &nl) == MEDREG_OK &&
        (wn > 63 || wnote < (const char *)data || wnote + nl != (const char *)data + size))
        abort(); /* out of bounds */
    for (size_t width = 1; width <= 8; width++)
        if (mr_bundle_entries(data, size, width, be, bel) == MEDREG_OK)
            for (size_t i = 0; i < width; i++)
                if (be[i] < data || bel[i] > size || be[i] + bel[i] > data + size)
                    abort(); /* out of bounds */
    size_t n = size / MR_HASH_BYTES;
    const mr_hash *p = (const mr_hash *)data;
    if (n <= MR_PROOF_MAX) {
        for (uint64_t i = 0; i < 5; i++)
            if (mr_merkle_verify_inclusion(i, 5, leaves[(i + 1) % 5], p, n, root) == MEDREG_OK)
                abort(); /* another leaf proven at index i */
        if (mr_merkle_verify_consistency(3, 5, p, n, root, old_root) == MEDREG_OK)
            abort(); /* roots swapped */
    }
    return 0;
}
