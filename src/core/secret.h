/* Secrets: one wipe function, locked memory for long-term keys, and files
 * that hold secrets (created O_EXCL|O_NOFOLLOW, mode 0600; refused on read
 * when group or others may read them). */
#ifndef MR_SECRET_H
#define MR_SECRET_H

#include <stddef.h>
#include <stdint.h>

#include "safety.h"

/* Wipe len bytes at p; never optimised away. NULL-safe. */
void mr_wipe(void *p, size_t len);

/* Constant-time equality of two equal-length byte strings: 1 if equal. */
int mr_ct_equal(const void *a, const void *b, size_t len);

/* Read a whole secret file of exactly want bytes (want > 0), or, when want is
 * 0, any length up to max. The file must be a regular file not readable by
 * group or others. *out is sodium_malloc'ed: free it with mr_secret_free. */
MR_MUST_CHECK medreg_err mr_secret_file_read(const char *path, size_t want, size_t max,
                                             uint8_t **out, size_t *out_len);
void mr_secret_free(void *p);
/* free(p) of a malloc'ed block after wiping all of it: for libraries that
 * free buffers which held identifiers or secrets as they are (libcsv's
 * field buffer, jansson's strings and parser buffers). */
void mr_free_wiped(void *p);
/* Have jansson free every block through mr_free_wiped: JSON carries what
 * must not stay in freed memory (an offline run's blinding seed, the
 * identifiers a physician registers). Called at the start of main, before
 * any other jansson call. */
void mr_json_wipe_freed(void);

/* No core dumps of this process, and no reading of its memory by other
 * processes of the same user (PR_SET_DUMPABLE 0: ptrace and
 * /proc/PID/mem need CAP_SYS_PTRACE then): a dump would hold keys, PINs,
 * K and identifiers. medregd and medreg call it before reading any. */
void mr_memory_private(void);

/* Run with every library's symbols bound at start. The dynamic linker binds
 * a library's calls lazily (Debian builds most libraries without -z now;
 * our own -z now covers only our own objects), and on the first call of
 * each function its trampoline saves every vector register on the stack:
 * registers that hold what the last copy or hash moved, a PIN, a key, K
 * (unit.wipe found such copies below jansson's parser). Returns MEDREG_OK at
 * once when LD_BIND_NOW is set; otherwise sets it and executes this program
 * again with argv, so that it returns only when that fails (MEDREG_ERR_IO,
 * LD_BIND_NOW unset again: the caller runs on, lazily bound). */
MR_MUST_CHECK medreg_err mr_bind_now(char **argv);

/* Create path with mode 0600 (fails if it exists) and write len bytes, fsync
 * the file and its directory. */
MR_MUST_CHECK medreg_err mr_secret_file_write(const char *path, const void *data, size_t len);
/* The same in steps, for a file written as it is made: create path (0600,
 * never over an existing file) for *fd; then finish: with ok, sync it and
 * its folder, else (or when that fails) remove it. finish closes fd. */
MR_MUST_CHECK medreg_err mr_secret_file_create(const char *path, int *fd);
MR_MUST_CHECK medreg_err mr_secret_file_finish(const char *path, int fd, int ok);

/* Read a public (non-secret) file up to max bytes, NUL-terminated. A pipe
 * is read too (a pin given as <(...)); a FIFO nobody writes to reads as
 * empty rather than waiting for a writer. */
MR_MUST_CHECK medreg_err mr_file_read(const char *path, size_t max, char **out, size_t *out_len);
/* The same for a file a configuration names (a table, a certificate, a
 * public key): a regular file only. A FIFO, a device or a folder is
 * refused unread (MEDREG_ERR_INVALID): /dev/zero or a pipe named by
 * mistake would otherwise be read for ever, or wait for a writer. */
MR_MUST_CHECK medreg_err mr_regular_file_read(const char *path, size_t max, char **out, size_t *out_len);
/* 1 when path names something that is there and is no regular file (a
 * FIFO, a device, a folder), after symbolic links: for a path handed to a
 * library that would open it and wait (a PKCS#11 module, a database). */
int mr_path_is_irregular(const char *path);
/* SHA-256 over the bytes of n files, each at most max bytes, in order; a
 * NULL path or a file that is not there counts as absent (unlike an empty
 * one). What an output depends on besides its input (configuration files,
 * a data dictionary). */
MR_MUST_CHECK medreg_err mr_files_digest(const char *const *paths, size_t n, size_t max, uint8_t out[32]);
/* Write a public file (mode 0644), replacing it atomically and durably. */
MR_MUST_CHECK medreg_err mr_file_write(const char *path, const void *data, size_t len);
/* The same in steps, for a file written as it arrives (a download): begin
 * opens a temporary file beside path for *fd (its name into tmp); end, with
 * ok, syncs it and renames it over path, else (or when that fails) removes
 * it, so that path holds either its old content or all of the new. end
 * closes fd. */
#define MR_TMP_PATH_MAX 4096
MR_MUST_CHECK medreg_err mr_file_replace_begin(const char *path, char tmp[MR_TMP_PATH_MAX], int *fd);
MR_MUST_CHECK medreg_err mr_file_replace_end(const char *path, const char *tmp, int fd, int ok);
/* fsync the directory that holds path: a file created or renamed there keeps
 * its name after a crash only then, however well its data was synced. */
MR_MUST_CHECK medreg_err mr_dir_sync(const char *path);

#endif
