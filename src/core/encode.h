/* Text encodings of public byte strings on the wire (libsodium's codecs). */
#ifndef MR_ENCODE_H
#define MR_ENCODE_H

#include <stddef.h>
#include <stdint.h>

/* Base64 (RFC 4648, with padding), malloc'ed; NULL when out of memory. */
char *mr_base64(const uint8_t *p, size_t n);
/* Decode base64 (RFC 4648, with padding) of len characters, all of them,
 * into at most cap bytes: 1, else 0. */
int mr_unbase64(const char *s, size_t len, uint8_t *out, size_t cap, size_t *out_len);
/* Lowercase hex of p[0..n) into out[0..2n), no NUL: the same as
 * sodium_bin2hex, in constant time, four bytes at a time (the CSV tool
 * writes a PSN per row, and libsodium's byte loop was 3 % of its time). */
void mr_hex_into(char *out, const uint8_t *p, size_t n);
/* Is s exactly len lowercase hex digits (an identifier as medreg writes
 * them: certificate fingerprints, record and session ids)? s may be NULL. */
int mr_is_lower_hex(const char *s, size_t len);
/* s[0..n): an unsigned decimal of at most 20 digits, no sign, no space, no
 * leading zero, in range; 1 with *out, else 0. For every number that
 * comes from outside: strtoul would take " 5", "+5" and "" (as 0). */
int mr_parse_u64(const char *s, size_t n, uint64_t *out);
/* Exactly want bytes from 2*want hex digits: 1, else 0. */
int mr_unhex_exact(const char *s, uint8_t *out, size_t want);

/* The same as a JSON string (jansson), or NULL when out of memory. */
struct json_t;
struct json_t *mr_json_base64(const uint8_t *p, size_t n);
/* A file name for a report, which JSON wants in Unicode: as it is when it
 * is UTF-8, else with each byte that is not UTF-8 shown as U+FFFD (for
 * people; a program that must open the file needs mr_is_utf8 to know, and
 * the bytes themselves). NULL when out of memory. */
struct json_t *mr_json_path(const char *path);
/* 1 if the NUL-terminated s is UTF-8. */
int mr_is_utf8(const char *s);

#endif
