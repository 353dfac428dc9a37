/* The benchmark clients' HTTPS: TLS through OpenSSL (a client certificate;
 * the service's certificate checked against the CA and the URL's host, as
 * curl does) and answers read with http-parser.
 *
 * The clients share the machine's cores with the services they measure, so
 * every microsecond they spend is one the service does not get: libcurl
 * cost ~70 us of CPU per request, more than the registry spent answering a
 * record read (loadgen.c); the consent client's CPU per re-identification
 * went from 0.82-0.93 ms to 0.71-0.74 ms without it (consent_load.c). */
#ifndef BENCH_TLS_CLIENT_H
#define BENCH_TLS_CLIENT_H

#include <http_parser.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <sys/socket.h>

/* https://HOST:PORT (no path), resolved. */
typedef struct bench_url {
    char host[256], port[8];
    struct sockaddr_storage addr;
    socklen_t addr_len;
} bench_url;

/* 0, or -1 when url is not https://HOST[:PORT] or HOST does not resolve. */
int bench_url_parse(const char *url, bench_url *out);

/* A client context with cert/key as the client certificate and cacert as
 * the only trust anchor; NULL (OpenSSL's errors printed) on failure. It
 * also sets SIGPIPE to be ignored, for the whole process. */
SSL_CTX *bench_tls_context(const char *cert, const char *key, const char *cacert);

/* A client TLS session on the connected socket fd that accepts only a
 * certificate naming host; NULL on failure. */
SSL *bench_tls_session(SSL_CTX *tls, int fd, const char *host);

/* One blocking keep-alive connection, made on the first call and again
 * after the service closes it. */
typedef struct bench_conn {
    const bench_url *url;
    SSL_CTX *tls;
    int fd;
    SSL *ssl;
    http_parser parser;
    int complete, keep_alive;
    char *body; /* the last answer's body, NUL-terminated */
    size_t len, cap;
} bench_conn;

/* A connection to url with tls (both outlive it); none is made yet. */
void bench_conn_init(bench_conn *c, const bench_url *url, SSL_CTX *tls);

/* Send METHOD PATH with the JSON body (NULL: none) and read the answer:
 * 0 with *status set and the body in c->body, or -1 when the connection
 * failed (it is closed; the next call makes a new one). */
int bench_conn_call(bench_conn *c, const char *method, const char *path, const char *body, int *status);

/* Close the connection (the next call makes a new one). */
void bench_conn_close(bench_conn *c);
/* Close it and free its answer buffer: c is finished. */
void bench_conn_free(bench_conn *c);

#endif
