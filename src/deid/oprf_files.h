/* What a network-wide run reads from elsewhere (docs/deid.md): the pinned
 * key, the offline request, response and state files (which cross machines
 * on a stick or a share), and the identity service's answers. Each is
 * checked in full before any of it is used: a parse fills
 * its out-parameters only when it returns MEDREG_OK (but the state, which
 * it wipes), and otherwise, with MEDREG_ERR_INVALID, sets *err (NULL on
 * entry; malloc'ed, the caller frees it) to what is wrong and where. */
#ifndef MR_OPRF_FILES_H
#define MR_OPRF_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "../config/module.h"
#include "../core/json_stream.h"
#include "../core/safety.h"
#include "../core/secret.h"
#include "../crypto/oprf.h"

struct json_t;

/* The distinct inputs of one run: 2^24, more patients than any hospital
 * has (the table keeps 65 bytes for each, about 80 while it is filled). */
#define MR_OPRF_RUN_MAX ((size_t)1 << 24)
/* A request or response file of that many elements, with room to spare */
#define MR_OPRF_FILE_MAX ((size_t)2 << 30)
/* A pin file: a few hundred bytes (a bigger file given as the pin is refused unread) */
#define MR_OPRF_PIN_FILE_MAX ((size_t)64 << 10)
/* Elements of one evaluated batch: the proof's own bound */
#define MR_OPRF_BATCH_MAX 65535
#define MR_OPRF_MODULE_MAX MR_NAME_MAX /* a module's name */

typedef struct mr_oprf_pin {
    char module[MR_OPRF_MODULE_MAX + 1];
    uint32_t key_id;
    uint8_t pk[MR_OPRF_ELEMENT_BYTES];
} mr_oprf_pin;

/* The format names: key is what `oprf key` pins */
#define MR_OPRF_FORMAT_KEY "medreg-oprf-key/v1"
#define MR_OPRF_FORMAT_REQUEST "medreg-oprf-request/v1"
#define MR_OPRF_FORMAT_RESPONSE "medreg-oprf-response/v1"
#define MR_OPRF_FORMAT_STATE "medreg-oprf-state/v1"

/* 1 if a and b name the same module, key generation and public key */
int mr_oprf_pin_equal(const mr_oprf_pin *a, const mr_oprf_pin *b);

/* {"format", "module", "key_id", "suite", "public_key"}; format NULL for
 * the service's answer, which has none. New reference, or NULL. */
struct json_t *mr_oprf_pin_json(const mr_oprf_pin *pin, const char *format);

/* A pin file (format MR_OPRF_FORMAT_KEY), or the service's answer to GET
 * /v1/oprf/{module} (format NULL: no format field is wanted). */
MR_MUST_CHECK medreg_err mr_oprf_pin_parse(const char *text, size_t len, const char *format, mr_oprf_pin *pin,
                                           char **err);

/* A request file: its pin and the blinded elements (*blinded malloc'ed,
 * *n of them, at most MR_OPRF_RUN_MAX; none for an input that has no
 * patient, whose run still goes through the files like any other). */
MR_MUST_CHECK medreg_err mr_oprf_request_parse(const char *text, size_t len, mr_oprf_pin *pin,
                                               uint8_t (**blinded)[MR_OPRF_ELEMENT_BYTES], size_t *n, char **err);

/* The longest text one element of a request may take, with room to spare */
#define MR_OPRF_ELEMENT_TEXT_MAX ((size_t)4096)

/* An element as a request's walk meets it, decoded; MEDREG_OK goes on. */
typedef medreg_err (*mr_oprf_element_fn)(void *ctx, size_t index, const uint8_t e[MR_OPRF_ELEMENT_BYTES]);

/* A request read from src an element at a time, never more than one in
 * memory (mr_oprf_request_parse is this on a text): each element goes to
 * each() in order as it is met, before the rest of the file is checked;
 * the file is good, and its pin in *pin, only if the walk returns
 * MEDREG_OK. */
MR_MUST_CHECK medreg_err mr_oprf_request_walk(const mr_json_source *src, mr_oprf_pin *pin, mr_oprf_element_fn each,
                                              void *ctx, char **err);

typedef struct mr_oprf_batch {
    uint8_t (*blinded)[MR_OPRF_ELEMENT_BYTES];
    uint8_t (*evaluated)[MR_OPRF_ELEMENT_BYTES];
    uint8_t proof[MR_OPRF_PROOF_BYTES];
    size_t n; /* 1 to MR_OPRF_BATCH_MAX */
} mr_oprf_batch;

typedef struct mr_oprf_response {
    mr_oprf_pin pin;
    mr_oprf_batch *batches;
    size_t n_batches; /* MR_OPRF_RUN_MAX elements in all, at most */
} mr_oprf_response;

/* A response file, every batch decoded (its proof not yet checked: that
 * is mr_oprf_table_complete's). Free *out with mr_oprf_response_free. */
MR_MUST_CHECK medreg_err mr_oprf_response_parse(const char *text, size_t len, mr_oprf_response **out, char **err);
void mr_oprf_response_free(mr_oprf_response *r);

/* The longest text one batch may take in a response file: 65,535 elements
 * in each array written one to a line and indented, with room to spare */
#define MR_OPRF_BATCH_TEXT_MAX ((size_t)16 << 20)

/* A batch as a response's walk meets it: decoded and bounded (its proof
 * not checked), and where its text is in the file (offset, length). It is
 * the walk's, during the call only; MEDREG_OK goes on. */
typedef medreg_err (*mr_oprf_batch_fn)(void *ctx, size_t index, const mr_oprf_batch *b, uint64_t offset,
                                       size_t len);

/* A response read from src a batch at a time, never more than one batch
 * in memory (mr_oprf_response_parse is this on a text): each batch goes to
 * each() in order as it is met, before the rest of the file is checked, so
 * each() only takes note; the file is good, and its pin in *pin, only if
 * the walk returns MEDREG_OK. */
MR_MUST_CHECK medreg_err mr_oprf_response_walk(const mr_json_source *src, mr_oprf_pin *pin, mr_oprf_batch_fn each,
                                               void *ctx, char **err);

/* One batch's text again (read back from where the walk said it was),
 * decoded as the walk decodes it (index names it in messages). Free with
 * mr_oprf_batch_clear. */
MR_MUST_CHECK medreg_err mr_oprf_batch_parse(const char *text, size_t len, size_t index, mr_oprf_batch *b,
                                             char **err);
void mr_oprf_batch_clear(mr_oprf_batch *b);

/* The service's answer to one batch of n: n evaluated elements and the
 * proof. */
MR_MUST_CHECK medreg_err mr_oprf_answer_parse(const char *text, size_t len, size_t n,
                                              uint8_t (*evaluated)[MR_OPRF_ELEMENT_BYTES],
                                              uint8_t proof[MR_OPRF_PROOF_BYTES], char **err);

/* Writing a request or response file as it is made: the pin's fields,
 * then the bulk array (the request's "blinded", the response's "batches")
 * an element or a batch at a time, so that neither file is ever whole in
 * memory. The file appears at path only when closed with ok, synced; until
 * then it is a temporary file beside it, removed on failure. */
typedef struct mr_oprf_writer {
    const char *path;
    char tmp[MR_TMP_PATH_MAX];
    int fd, count, failed;
    char *buf;
    size_t len;
} mr_oprf_writer;

MR_MUST_CHECK medreg_err mr_oprf_writer_open(mr_oprf_writer *w, const char *path, const mr_oprf_pin *pin,
                                             const char *format);
/* The request's next blinded element */
MR_MUST_CHECK medreg_err mr_oprf_writer_element(mr_oprf_writer *w, const uint8_t e[MR_OPRF_ELEMENT_BYTES]);
/* The response's next batch */
MR_MUST_CHECK medreg_err mr_oprf_writer_batch(mr_oprf_writer *w, const uint8_t (*blinded)[MR_OPRF_ELEMENT_BYTES],
                                              const uint8_t (*evaluated)[MR_OPRF_ELEMENT_BYTES], size_t n,
                                              const uint8_t proof[MR_OPRF_PROOF_BYTES]);
/* Finish the file (ok: MEDREG_OK only if it is whole at path, synced) or
 * remove it (not ok). */
MR_MUST_CHECK medreg_err mr_oprf_writer_close(mr_oprf_writer *w, int ok);

typedef struct mr_oprf_state {
    mr_oprf_pin pin;
    uint8_t seed[32]; /* secret: keep the struct in sodium_malloc'ed memory */
    uint8_t input_sha256[32];
    uint64_t inputs;
    /* what --prepare committed to (mr_oprf_table_digests), so that --finish
     * takes the answers by position; a state file of an older medreg has
     * neither (ordered 0), and its --finish blinds every input again */
    int ordered;
    uint8_t entries_sha256[32], request_sha256[32];
} mr_oprf_state;

/* A state file's contents (the caller reads it, 0600). The seed's text in
 * jansson's tree and parser is wiped only when the program frees jansson's
 * memory wiped (mr_json_wipe_freed, as every medreg program does: unit.wipe
 * checks it). *st is wiped when the file is refused. */
MR_MUST_CHECK medreg_err mr_oprf_state_parse(const char *text, size_t len, mr_oprf_state *st, char **err);
/* Its text (JSON, indented), or NULL; free with mr_wipe and free. */
char *mr_oprf_state_text(const mr_oprf_state *st);

#endif
