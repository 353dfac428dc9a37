/* C2SP signed-note with Ed25519 (https://c2sp.org/signed-note), and the
 * C2SP tlog-checkpoint body it carries (https://c2sp.org/tlog-checkpoint).
 *
 *   note  = text ‖ "\n" ‖ one line per signature: "— " name " " base64(key ID ‖ signature) "\n"
 *   key ID = the first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ Ed25519 public key), big-endian
 *   vkey  = name "+" 8 hex digits of the key ID "+" base64(0x01 ‖ public key)
 *   skey  = "PRIVATE+KEY+" name "+" key ID "+" base64(0x01 ‖ seed)
 *
 * Everything from outside is bounded and checked; a note either verifies
 * under a known key or is refused, never half-read. */
#ifndef MR_NOTE_H
#define MR_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/safety.h"
#include "merkle.h"

#define MR_NOTE_MAX (1u << 20)  /* bytes in a note */
#define MR_NOTE_SIGS_MAX 100    /* signature lines */
#define MR_NOTE_NAME_MAX 255

/* Signature types: a log's or any signer's Ed25519 note signature, and a
 * witness's Ed25519 cosignature (C2SP tlog-cosignature: signs
 * "cosignature/v1\ntime T\n" ‖ the checkpoint, carries T). */
#define MR_NOTE_ALG_ED25519 0x01
#define MR_NOTE_ALG_COSIGNATURE 0x04

typedef struct mr_note_verifier {
    char name[MR_NOTE_NAME_MAX + 1];
    uint8_t alg; /* MR_NOTE_ALG_* */
    uint32_t key_id;
    uint8_t pk[32];
} mr_note_verifier;

typedef struct mr_note_signer {
    mr_note_verifier v;
    struct mr_key25519 *key; /* owned: in memory, or on a PKCS#11 token */
} mr_note_signer;

uint32_t mr_note_key_id(const char *name, uint8_t alg, const uint8_t pk[32]);

MR_MUST_CHECK medreg_err mr_note_verifier_parse(const char *vkey, mr_note_verifier *out);
/* From a name (checked), an algorithm and a public key: its key ID computed. */
MR_MUST_CHECK medreg_err mr_note_verifier_make(const char *name, uint8_t alg, const uint8_t pk[32],
                                               mr_note_verifier *out);
/* malloc'ed vkey string */
MR_MUST_CHECK medreg_err mr_note_verifier_format(const mr_note_verifier *v, char **out);

/* From an skey string, or from a 32-byte seed and a name. */
MR_MUST_CHECK medreg_err mr_note_signer_parse(const char *skey, mr_note_signer *out);
MR_MUST_CHECK medreg_err mr_note_signer_from_seed(const char *name, uint8_t alg, const uint8_t seed[32],
                                                  mr_note_signer *out);
/* From an Ed25519 key wherever it lives (src/token/key25519.h), e.g. on a
 * token; takes the key on success. */
MR_MUST_CHECK medreg_err mr_note_signer_from_key(const char *name, uint8_t alg, struct mr_key25519 *key,
                                                 mr_note_signer *out);
/* malloc'ed skey string (a secret: wipe it) */
MR_MUST_CHECK medreg_err mr_note_signer_format(const mr_note_signer *s, const uint8_t seed[32], char **out);
void mr_note_signer_clear(mr_note_signer *s);

/* Sign text (UTF-8, no control characters but newlines, ending in "\n")
 * into a note, malloc'ed. */
MR_MUST_CHECK medreg_err mr_note_sign(const char *text, size_t len, const mr_note_signer *s, char **note);

/* A witness's cosignature line ("— name base64(key ID ‖ u64 time ‖
 * signature)\n") over a checkpoint's text, with a cosignature signer;
 * malloc'ed. */
MR_MUST_CHECK medreg_err mr_note_cosign(const char *text, size_t len, const mr_note_signer *s, uint64_t timestamp,
                                        char **line);

/* Add one more signature line to an existing signed note (a witness's
 * cosignature, say): malloc'ed. */
MR_MUST_CHECK medreg_err mr_note_add_line(const char *note, size_t len, const char *line, char **out);

/* Open a note: parse, and verify every signature by a known key. Returns
 * MEDREG_ERR_INVALID if it is malformed, MEDREG_ERR_VERIFY if a known key's
 * signature fails or no known key signed it. *text_len is the length of
 * the signed text at the start of note; verified[i] is set for every
 * verifier whose signature is present and valid. */
MR_MUST_CHECK medreg_err mr_note_open(const char *note, size_t len, const mr_note_verifier *vs, size_t nv,
                                      size_t *text_len, int *verified);

/* The checkpoint body: origin, tree size and root hash lines, then any
 * extension lines. */
typedef struct mr_checkpoint {
    char origin[MR_NOTE_NAME_MAX + 1];
    uint64_t size;
    mr_hash root;
} mr_checkpoint;

/* malloc'ed text */
MR_MUST_CHECK medreg_err mr_checkpoint_format(const mr_checkpoint *c, char **text, size_t *len);
/* Parse the text of a checkpoint (extension lines are allowed and ignored). */
MR_MUST_CHECK medreg_err mr_checkpoint_parse(const char *text, size_t len, mr_checkpoint *out);

/* C2SP tlog-tiles path of tile (level, index) with width (1..256; 256 is
 * a full tile): "tile/L/x001/x234/067[.p/W]"; level -1 is an entry bundle,
 * "tile/entries/…". out holds at least 64 bytes. */
MR_MUST_CHECK medreg_err mr_tile_path(int level, uint64_t index, unsigned width, char *out, size_t cap);

#endif
