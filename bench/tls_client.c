#include "tls_client.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int bench_url_parse(const char *url, bench_url *out)
{
    struct http_parser_url u;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    http_parser_url_init(&u);
    if (http_parser_parse_url(url, strlen(url), 0, &u) != 0 || !(u.field_set & (1 << UF_HOST)) ||
        u.field_data[UF_HOST].len >= sizeof out->host || strncmp(url, "https://", 8) != 0)
        return -1;
    memcpy(out->host, url + u.field_data[UF_HOST].off, u.field_data[UF_HOST].len);
    out->host[u.field_data[UF_HOST].len] = '\0';
    snprintf(out->port, sizeof out->port, "%u", u.field_set & (1 << UF_PORT) ? u.port : 443u);
    if (getaddrinfo(out->host, out->port, &hints, &ai) != 0)
        return -1;
    memcpy(&out->addr, ai->ai_addr, ai->ai_addrlen);
    out->addr_len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

SSL_CTX *bench_tls_context(const char *cert, const char *key, const char *cacert)
{
    /* OpenSSL writes to the socket with write(): a service that reset a
     * connection must cost a failed request, not the whole client */
    signal(SIGPIPE, SIG_IGN);
    SSL_CTX *t = SSL_CTX_new(TLS_client_method());
    if (t == NULL || SSL_CTX_use_certificate_chain_file(t, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(t, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_load_verify_locations(t, cacert, NULL) != 1) {
        ERR_print_errors_fp(stderr);
        SSL_CTX_free(t);
        return NULL;
    }
    SSL_CTX_set_verify(t, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(t, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return t;
}

SSL *bench_tls_session(SSL_CTX *tls, int fd, const char *host)
{
    SSL *s = SSL_new(tls);
    if (s == NULL || SSL_set_fd(s, fd) != 1)
        goto fail;
    /* an IP address is checked as one; a name as a DNS name, sent by SNI */
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), host) != 1 &&
        (SSL_set1_host(s, host) != 1 || SSL_set_tlsext_host_name(s, host) != 1))
        goto fail;
    SSL_set_connect_state(s);
    return s;
fail:
    SSL_free(s);
    return NULL;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    bench_conn *c = p->data;
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + n + 1)
            cap *= 2;
        char *b = realloc(c->body, cap);
        if (b == NULL)
            return -1;
        c->body = b;
        c->cap = cap;
    }
    memcpy(c->body + c->len, at, n);
    c->len += n;
    c->body[c->len] = '\0';
    return 0;
}

static int on_complete(http_parser *p)
{
    bench_conn *c = p->data;
    c->complete = 1;
    c->keep_alive = http_should_keep_alive(p);
    return 0;
}

static const http_parser_settings settings = {.on_body = on_body, .on_message_complete = on_complete};

void bench_conn_init(bench_conn *c, const bench_url *url, SSL_CTX *tls)
{
    memset(c, 0, sizeof *c);
    c->url = url;
    c->tls = tls;
    c->fd = -1;
}

void bench_conn_close(bench_conn *c)
{
    SSL_free(c->ssl);
    c->ssl = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

void bench_conn_free(bench_conn *c)
{
    bench_conn_close(c);
    free(c->body);
    c->body = NULL;
    c->len = c->cap = 0;
}

static int connect_conn(bench_conn *c)
{
    int one = 1;
    c->fd = socket(c->url->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (const struct sockaddr *)&c->url->addr, c->url->addr_len) != 0 ||
        (c->ssl = bench_tls_session(c->tls, c->fd, c->url->host)) == NULL || SSL_connect(c->ssl) != 1) {
        bench_conn_close(c);
        return -1;
    }
    return 0;
}

static int write_all(SSL *s, const char *p, size_t n)
{
    while (n > 0) {
        int w = SSL_write(s, p, n > (1u << 30) ? 1 << 30 : (int)n);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One exchange on c's open connection: 1 when the answer is in, 0 when the
 * connection failed before any of it arrived, -1 when it failed later. */
static int exchange(bench_conn *c, const char *head, size_t hl, const char *body, size_t blen)
{
    char buf[16384];
    int ok, got = 0;
    /* one TLS record for a small request (header and body together) */
    if (blen <= sizeof buf - hl) {
        memcpy(buf, head, hl);
        if (blen)
            memcpy(buf + hl, body, blen);
        ok = write_all(c->ssl, buf, hl + blen) == 0;
    } else {
        ok = write_all(c->ssl, head, hl) == 0 && write_all(c->ssl, body, blen) == 0;
    }
    http_parser_init(&c->parser, HTTP_RESPONSE);
    c->parser.data = c;
    c->complete = 0;
    c->len = 0;
    if (c->body)
        c->body[0] = '\0';
    while (ok && !c->complete) {
        int r = SSL_read(c->ssl, buf, sizeof buf);
        got |= r > 0;
        ok = r > 0 && http_parser_execute(&c->parser, &settings, buf, (size_t)r) == (size_t)r &&
             HTTP_PARSER_ERRNO(&c->parser) == HPE_OK;
    }
    return ok ? 1 : got ? -1 : 0;
}

int bench_conn_call(bench_conn *c, const char *method, const char *path, const char *body, int *status)
{
    char head[1024];
    size_t blen = body ? strlen(body) : 0;
    int hl = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                      method, path, c->url->host, c->url->port, blen);
    if (hl < 0 || (size_t)hl >= sizeof head)
        return -1;
    /* a kept-alive connection the service closed while it was idle fails
     * before any answer: once, the request goes again on a new one */
    for (int fresh = c->ssl == NULL;; fresh = 1) {
        if (c->ssl == NULL && connect_conn(c) != 0)
            return -1;
        int r = exchange(c, head, (size_t)hl, body, blen);
        if (r == 1)
            break;
        bench_conn_close(c);
        if (r < 0 || fresh)
            return -1;
    }
    *status = (int)c->parser.status_code;
    if (!c->keep_alive)
        bench_conn_close(c);
    return 0;
}
