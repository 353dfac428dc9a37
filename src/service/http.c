/* HTTPS glue: libmicrohttpd with a thread pool, bounded request bodies and
 * connection time limits; the client certificate (mutual TLS, verified by
 * GnuTLS against the configured CA) says who is calling. */
#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/encode.h"
#include "../core/secret.h"
#include "../core/work_pool.h"
#include "service.h"

/* One request's life on its connection, across libmicrohttpd's calls: the
 * body as it arrives, then, while the answer waits for a group commit, the
 * request and the response to come (the connection is suspended meanwhile). */
typedef struct exchange {
    uint8_t *buf;
    size_t len, cap;
    int too_big;
    struct server *srv;
    struct MHD_Connection *conn;
    mr_request req;
    char params[2][128];
    size_t route_ix;
    uint64_t t0;
    mr_response resp;
    mr_deferred waiting_for; /* unit or compute queued, then not yet run */
    mr_commit_unit unit;
    mr_work work;
    medreg_err unit_rc;
    int suspended;
} exchange;

typedef struct server {
    mr_service *svc;
    /* connections suspended for a commit; MHD_stop_daemon must not meet one */
    atomic_int in_flight;
    atomic_int stopping; /* set: commits are awaited on the HTTP thread */
} server;

const char *mr_req_query(const mr_request *req, const char *name)
{
    if (req->conn != NULL)
        return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
    for (const char *const *a = req->args; a != NULL && a[0] != NULL && a[1] != NULL; a += 2)
        if (strcmp(a[0], name) == 0)
            return a[1];
    return NULL;
}

void mr_resp_error(mr_response *resp, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
    mr_resp_json(resp, status, j);
}

void mr_resp_json(mr_response *resp, int status, json_t *j)
{
    free(resp->body);
    resp->status = status;
    resp->content_type = "application/json";
    resp->body = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    resp->len = resp->body ? strlen(resp->body) : 0;
    json_decref(j);
    if (resp->body == NULL) {
        static const char oom[] = "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        resp->status = 500;
        resp->body = strdup(oom);
        resp->len = resp->body ? strlen(oom) : 0;
    }
}

void mr_resp_defer(mr_response *resp, mr_unit_fn unit, mr_then_fn then, void *state, void (*free_state)(void *))
{
    resp->defer = (mr_deferred){.unit = unit, .then = then, .state = state, .free_state = free_state};
}

void mr_resp_compute(mr_response *resp, mr_compute_fn compute, mr_then_fn then, void *state,
                     void (*free_state)(void *))
{
    resp->defer = (mr_deferred){.compute = compute, .then = then, .state = state, .free_state = free_state};
}

void mr_resp_db_error(mr_response *resp, medreg_err rc)
{
    if (rc == MEDREG_ERR_EXISTS)
        mr_resp_error(resp, 409, "conflict", "the object already exists");
    else
        mr_resp_error(resp, 503, "storage", "storage error: %s", medreg_strerror(rc));
}

json_t *mr_req_json(const mr_request *req, mr_response *resp, const char *const *allowed)
{
    json_error_t err;
    json_t *j;
    const char *key;
    json_t *v;

    if (req->body_len == 0) {
        mr_resp_error(resp, 400, "bad_request", "a JSON body is required");
        return NULL;
    }
    j = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &err);
    if (j == NULL) {
        mr_resp_error(resp, 400, "bad_json", "malformed JSON at line %d column %d: %s", err.line,
                      err.column, err.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        mr_resp_error(resp, 400, "bad_json", "the body must be a JSON object");
        return NULL;
    }
    json_object_foreach(j, key, v) {
        size_t i;
        for (i = 0; allowed[i]; i++)
            if (!strcmp(allowed[i], key))
                break;
        if (allowed[i] == NULL) {
            mr_resp_error(resp, 400, "unknown_field", "unknown field '%.64s'", key);
            json_decref(j);
            return NULL;
        }
    }
    return j;
}

char *mr_hex(const uint8_t *p, size_t n)
{
    char *s = malloc(n * 2 + 1);
    if (s) {
        mr_hex_into(s, p, n);
        s[2 * n] = 0;
    }
    return s;
}

void mr_random_id(char out[33])
{
    uint8_t b[16];
    randombytes_buf(b, sizeof b);
    sodium_bin2hex(out, 33, b, sizeof b);
}

void mr_ordered_id(char out[33])
{
    struct timespec ts;
    uint8_t b[16];
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    for (int i = 0; i < 6; i++)
        b[i] = (uint8_t)(ms >> (8 * (5 - i)));
    randombytes_buf(b + 6, sizeof b - 6);
    sodium_bin2hex(out, 33, b, sizeof b);
}

/* '*' matches one path segment; a final "**" matches the rest */
static int match(const char *pattern, const char *path, const char *params[2], char store[2][128])
{
    int np = 0;
    while (*pattern && *path) {
        if (pattern[0] == '*' && pattern[1] == '*' && pattern[2] == 0) {
            size_t n = strlen(path);
            if (n >= 128 || np >= 2)
                return 0;
            memcpy(store[np], path, n + 1);
            params[np] = store[np];
            return 1;
        }
        if (*pattern == '*') {
            const char *slash = strchr(path, '/');
            size_t n = slash ? (size_t)(slash - path) : strlen(path);
            if (n == 0 || n >= 128 || np >= 2)
                return 0;
            memcpy(store[np], path, n);
            store[np][n] = 0;
            params[np] = store[np];
            np++;
            path += n;
            pattern++;
            continue;
        }
        if (*pattern != *path)
            return 0;
        pattern++;
        path++;
    }
    return *pattern == 0 && *path == 0;
}

static const mr_route *routes_of(const mr_service *s, size_t *n)
{
    return s->cfg->role == MR_ROLE_IDENTITY   ? mr_identity_routes(n)
           : s->cfg->role == MR_ROLE_REGISTRY ? mr_registry_routes(n)
           : s->cfg->role == MR_ROLE_LEDGER   ? mr_ledger_routes(n)
                                              : mr_witness_routes(n);
}

/* The routes s serves, by index (common ones first): the index counts
 * requests in s->requests, whose last row is for requests no route took. */
static size_t routes_served(const mr_service *s)
{
    size_t n_role;
    (void)routes_of(s, &n_role);
    return mr_n_common_routes + n_role > MR_MAX_ROUTES ? MR_MAX_ROUTES : mr_n_common_routes + n_role;
}

static const mr_route *route_at(const mr_service *s, size_t i)
{
    size_t n_role;
    const mr_route *role_routes = routes_of(s, &n_role);
    return i < mr_n_common_routes ? &mr_common_routes[i] : &role_routes[i - mr_n_common_routes];
}

const mr_route *mr_route_of(const mr_service *s, const char *method, const char *url, mr_request *req,
                            char store[2][128], mr_response *resp, size_t *ix)
{
    size_t n = routes_served(s);
    int path_known = 0;
    for (size_t i = 0; i < n; i++) {
        const mr_route *r = route_at(s, i);
        const char *params[2] = {NULL, NULL};
        if (!match(r->pattern, url, params, store))
            continue;
        path_known = 1;
        if (strcmp(r->method, method) != 0)
            continue;
        req->params[0] = params[0];
        req->params[1] = params[1];
        *ix = i;
        return r;
    }
    *ix = n; /* "unmatched" */
    if (path_known)
        mr_resp_error(resp, 405, "method_not_allowed", "method %s not allowed here", method);
    else
        mr_resp_error(resp, 404, "not_found", "no such endpoint");
    return NULL;
}

/* Verify the peer certificate chain and take its fingerprint, CN and end
 * of validity (*not_after). Returns 0 when there is no valid client
 * certificate. */
static int identify_caller(struct MHD_Connection *conn, mr_caller *caller, time_t *not_after)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    unsigned int status = 0, n = 0;
    const gnutls_datum_t *certs;
    gnutls_x509_crt_t crt = NULL;
    uint8_t md[32];
    size_t cn_len = sizeof caller->cn - 1;

    if (ci == NULL || ci->tls_session == NULL)
        return 0;
    gnutls_session_t session = (gnutls_session_t)ci->tls_session;
    certs = gnutls_certificate_get_peers(session, &n);
    if (certs == NULL || n == 0)
        return 0;
    if (gnutls_certificate_verify_peers2(session, &status) != 0 || status != 0)
        return 0;
    crypto_hash_sha256(md, certs[0].data, certs[0].size);
    sodium_bin2hex(caller->fpr, sizeof caller->fpr, md, sizeof md);
    caller->cn[0] = 0;
    *not_after = 0;
    if (gnutls_x509_crt_init(&crt) != 0)
        return 0;
    int ok = gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) == 0;
    if (ok) {
        if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, caller->cn, &cn_len) == 0)
            caller->cn[cn_len] = 0;
        else
            caller->cn[0] = 0;
        *not_after = gnutls_x509_crt_get_expiration_time(crt);
        ok = *not_after != (time_t)-1;
    }
    gnutls_x509_crt_deinit(crt);
    return ok;
}

/* The verified caller of a connection, computed once: a TLS connection's peer
 * certificate cannot change (libmicrohttpd never renegotiates), and chain
 * verification costs more than the rest of a typical request. */
typedef struct conn_ctx {
    int state; /* 0 not yet verified, 1 verified, -1 no valid certificate */
    mr_caller caller;
    time_t not_after; /* the certificate expires during a keep-alive connection too */
} conn_ctx;

static int connection_caller(struct MHD_Connection *conn, mr_caller *out)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    conn_ctx *ctx = ci ? ci->socket_context : NULL;
    time_t not_after = 0;
    if (ctx == NULL)
        return identify_caller(conn, out, &not_after) && time(NULL) < not_after;
    if (ctx->state == 0)
        ctx->state = identify_caller(conn, &ctx->caller, &ctx->not_after) ? 1 : -1;
    if (ctx->state != 1 || time(NULL) >= ctx->not_after)
        return 0;
    *out = ctx->caller;
    return 1;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)conn;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        atomic_fetch_add(&((server *)cls)->svc->connections, 1);
        *socket_context = calloc(1, sizeof(conn_ctx)); /* NULL: fall back to per-request checks */
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        free(*socket_context);
        *socket_context = NULL;
    }
}

typedef struct stream_ctx {
    mr_stream_fn fn;
    void *state;
    void (*free_state)(void *);
} stream_ctx;

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream_ctx *sc = cls;
    (void)pos;
    long n = sc->fn(sc->state, buf, max);
    if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

static void stream_free(void *cls)
{
    stream_ctx *sc = cls;
    if (sc->free_state)
        sc->free_state(sc->state);
    free(sc);
}

static enum MHD_Result send_response(struct MHD_Connection *conn, mr_response *resp)
{
    struct MHD_Response *r;
    if (resp->stream) {
        stream_ctx *sc = malloc(sizeof *sc);
        if (sc == NULL) {
            if (resp->stream_free)
                resp->stream_free(resp->stream_state);
            return MHD_NO;
        }
        sc->fn = resp->stream;
        sc->state = resp->stream_state;
        sc->free_state = resp->stream_free;
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_reader, sc, stream_free);
        if (r == NULL) {
            stream_free(sc);
            return MHD_NO;
        }
    } else {
        r = MHD_create_response_from_buffer(resp->len, resp->body, MHD_RESPMEM_MUST_FREE);
        if (r == NULL) {
            free(resp->body);
            return MHD_NO;
        }
        resp->body = NULL;
    }
    MHD_add_response_header(r, "Content-Type", resp->content_type ? resp->content_type : "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Called on the committer thread: hand the connection back to its HTTP
 * thread, which runs the deferred answer (on_request). */
static void unit_committed(mr_commit_unit *u, medreg_err rc)
{
    exchange *ex = (exchange *)((char *)u - offsetof(exchange, unit));
    ex->unit_rc = rc;
    MHD_resume_connection(ex->conn);
}

/* Called on a compute thread: run the work, then hand the connection back
 * the same way. */
static void work_run(mr_work *w)
{
    exchange *ex = (exchange *)((char *)w - offsetof(exchange, work));
    ex->waiting_for.compute(ex->srv->svc, ex->waiting_for.state);
    ex->unit_rc = MEDREG_OK;
    MHD_resume_connection(ex->conn);
}

/* Run the deferred answer's then, and free its state unless then deferred
 * it again. */
static void run_then(exchange *ex, medreg_err rc)
{
    mr_deferred d = ex->waiting_for;
    memset(&ex->waiting_for, 0, sizeof ex->waiting_for);
    d.then(ex->srv->svc, &ex->req, &ex->resp, rc, d.state);
    if (d.free_state && ex->resp.defer.state != d.state)
        d.free_state(d.state);
}

void mr_resp_settle(mr_service *s, mr_request *req, mr_response *resp)
{
    while (resp->defer.unit || resp->defer.compute) {
        mr_deferred d = resp->defer;
        medreg_err rc = MEDREG_OK;
        memset(&resp->defer, 0, sizeof resp->defer);
        if (d.compute)
            d.compute(s, d.state);
        else
            rc = mr_group_commit_run(s->commits, d.unit, d.state);
        d.then(s, req, resp, rc, d.state);
        if (d.free_state && resp->defer.state != d.state)
            d.free_state(d.state);
    }
}

/* Queue the response's deferred unit (or work) and suspend the connection
 * until it is done; returns 0 when the daemon is stopping, after running
 * it and its then here (a suspended connection would outlive the daemon). */
static int suspend_until_done(exchange *ex)
{
    server *srv = ex->srv;
    if (atomic_load(&srv->stopping)) {
        mr_resp_settle(srv->svc, &ex->req, &ex->resp);
        return 0;
    }
    ex->waiting_for = ex->resp.defer;
    memset(&ex->resp.defer, 0, sizeof ex->resp.defer);
    atomic_fetch_add(&srv->in_flight, 1);
    ex->suspended = 1;
    MHD_suspend_connection(ex->conn);
    if (ex->waiting_for.compute) {
        /* one piece per suspended connection: the connection limit bounds the queue */
        ex->work = (mr_work){.fn = work_run};
        mr_work_pool_submit(srv->svc->compute, &ex->work);
    } else {
        ex->unit = (mr_commit_unit){.fn = ex->waiting_for.unit, .arg = ex->waiting_for.state, .done = unit_committed};
        mr_group_commit_submit(srv->svc->commits, &ex->unit);
    }
    return 1;
}

static void resumed(exchange *ex)
{
    ex->suspended = 0;
    atomic_fetch_sub(&ex->srv->in_flight, 1);
}

/* Send the response, or suspend until its commit. */
static enum MHD_Result answer(exchange *ex)
{
    mr_service *svc = ex->srv->svc;
    mr_response *resp = &ex->resp;
    while (resp->defer.unit || resp->defer.compute)
        if (suspend_until_done(ex))
            return MHD_YES;
    if (resp->status == 0)
        mr_resp_error(resp, 500, "internal", "no response");
    size_t cls_ix = resp->status >= 100 && resp->status < 600 ? (size_t)resp->status / 100 - 1 : 4;
    atomic_fetch_add(&svc->requests[ex->route_ix][cls_ix], 1);
    atomic_fetch_add(&svc->request_us_total, now_us() - ex->t0);
    mr_response out = *resp;
    memset(resp, 0, sizeof *resp); /* send_response takes the body */
    return send_response(ex->conn, &out);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **con_cls)
{
    server *srv = cls;
    mr_service *svc = srv->svc;
    exchange *ex = *con_cls;
    mr_response *resp;
    mr_request *req;
    (void)version;

    if (ex == NULL) {
        ex = calloc(1, sizeof *ex);
        if (ex == NULL)
            return MHD_NO;
        ex->srv = srv;
        ex->conn = conn;
        *con_cls = ex;
        return MHD_YES;
    }
    if (ex->suspended) { /* back from the commit */
        resumed(ex);
        run_then(ex, ex->unit_rc);
        return answer(ex);
    }
    if (*data_size > 0) {
        size_t n = *data_size;
        *data_size = 0;
        atomic_fetch_add(&svc->bytes_in, n);
        if (ex->too_big || n > svc->cfg->max_body - ex->len) {
            ex->too_big = 1; /* keep reading, drop the bytes, answer 413 at the end */
            return MHD_YES;
        }
        if (ex->len + n > ex->cap) {
            size_t cap = ex->cap ? ex->cap : 4096;
            while (cap < ex->len + n)
                cap *= 2;
            uint8_t *b = realloc(ex->buf, cap);
            if (b == NULL)
                return MHD_NO;
            ex->buf = b;
            ex->cap = cap;
        }
        memcpy(ex->buf + ex->len, data, n);
        ex->len += n;
        return MHD_YES;
    }

    ex->t0 = now_us();
    req = &ex->req;
    resp = &ex->resp;
    req->method = method;
    req->path = url;
    req->body = ex->buf;
    req->body_len = ex->len;
    req->conn = conn;

    const mr_route *route = mr_route_of(svc, method, url, req, ex->params, resp, &ex->route_ix);
    if (ex->too_big) { /* counted under the route it was sent to */
        mr_resp_error(resp, 413, "too_large", "request body exceeds %zu bytes", svc->cfg->max_body);
        return answer(ex);
    }
    if (route == NULL)
        return answer(ex);
    /* /healthz answers without a client certificate; everything else needs one */
    if (strcmp(url, "/healthz") != 0 && !connection_caller(conn, &req->caller)) {
        mr_resp_error(resp, 401, "client_certificate_required",
                      "a valid client certificate issued by the trusted CA is required (none was sent,"
                      " or it is from another CA, expired or not yet valid)");
        return answer(ex);
    }
    route->handler(svc, req, resp);
    return answer(ex);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    exchange *ex = *con_cls;
    if (ex) {
        if (ex->suspended) /* resumed, but the connection failed before its answer */
            resumed(ex);
        if (ex->waiting_for.free_state)
            ex->waiting_for.free_state(ex->waiting_for.state);
        if (ex->resp.defer.free_state)
            ex->resp.defer.free_state(ex->resp.defer.state);
        if (ex->resp.stream_free)
            ex->resp.stream_free(ex->resp.stream_state);
        free(ex->resp.body);
        /* request bodies carry identifiers: wipe before free */
        mr_wipe(ex->buf, ex->cap);
        free(ex->buf);
        free(ex);
    }
    *con_cls = NULL;
}

/* The HTTP threads' default, per CPU. On PostgreSQL two: a handler blocks
 * its thread for its reads' round trips to the server. On SQLite one: reads
 * take microseconds and commits never block a thread (mr_resp_defer), so
 * more threads only add wake-ups and contention. Alternated runs at 32
 * clients on 2 CPUs, 4 threads -> 2: the registry's CPU per read 70 -> 55 us
 * (17,300 -> 19,500 reads/s), the identity service's per registration
 * 179 -> 161 us; on PostgreSQL, 4 threads registered 1,713-1,879/s against
 * 1,438-1,702/s with 2. */
static unsigned default_threads(mr_engine engine)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return (unsigned)(n > 64 ? 64 : n) * (engine == MR_ENGINE_POSTGRES ? 2 : 1);
}

medreg_err mr_http_serve(mr_service *s, volatile int *stop)
{
    medreg_err rc = MEDREG_OK;
    server srv = {.svc = s};
    struct MHD_Daemon *d = NULL;

    /* the TLS key stays behind the token interface (src/token/tls_identity.c) */
    mr_tls_identity_install(s->tls);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)s->cfg->listen_port);
    if (inet_pton(AF_INET, s->cfg->listen_host, &sa.sin_addr) != 1) {
        fprintf(stderr, "medregd: listen address %s is not an IPv4 address\n", s->cfg->listen_host);
        rc = MEDREG_ERR_CONFIG;
        goto out;
    }
    /* No SO_REUSEPORT (MHD_OPTION_LISTENING_ADDRESS_REUSE): with it a second
     * daemon started on the same port shared its connections silently (two
     * test runs that drew the same port sent clients to the wrong service);
     * libmicrohttpd's SO_REUSEADDR is what a quick restart needs.
     * Event-driven: a few threads, each serving many connections through
     * epoll. A handler never waits for a commit on one of them: an answer
     * that needs one suspends its connection until the committer is done
     * (mr_resp_defer); with handlers that waited, a pool's connections
     * waited for each other's commits (reads 2,000-4,800/s against 10,000
     * with a thread per connection). The thread per connection it replaces
     * ran 32 request threads at 32 clients, and the committer, whom they all
     * waited for, queued behind them for a CPU. */
    unsigned threads = s->cfg->threads ? s->cfg->threads : default_threads(mr_db_engine(s->db));
    if (threads > s->cfg->connections)
        threads = s->cfg->connections; /* each thread serves a share of them */
    d = MHD_start_daemon(
        MHD_USE_TLS | MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
        (uint16_t)s->cfg->listen_port, NULL, NULL, on_request, &srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_HTTPS_CERT_CALLBACK, mr_tls_identity_retrieve,
        MHD_OPTION_HTTPS_MEM_TRUST, s->client_ca_pem,
        MHD_OPTION_HTTPS_PRIORITIES, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->cfg->timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->cfg->connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)256,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, &srv,
        MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "medregd: cannot start HTTPS on %s:%u\n", s->cfg->listen_host,
                s->cfg->listen_port);
        rc = MEDREG_ERR_IO;
        goto out;
    }
    fprintf(stderr, "medregd: %s service listening on https://%s:%u\n", mr_role_name(s->cfg->role),
            s->cfg->listen_host, s->cfg->listen_port);
    while (!*stop)
        usleep(100 * 1000);
    /* from now on commits are awaited in place; the suspended connections
     * are resumed by the committer, which runs until the service closes */
    atomic_store(&srv.stopping, 1);
    while (atomic_load(&srv.in_flight) > 0)
        usleep(1000);
    MHD_stop_daemon(d);
out:
    mr_tls_identity_install(NULL);
    return rc;
}

/* Prometheus text exposition for this service's counters. */
void mr_metrics_render(mr_service *s, mr_response *resp);
void mr_metrics_render(mr_service *s, mr_response *resp)
{
    size_t n = routes_served(s);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    if (fp == NULL) {
        mr_resp_error(resp, 500, "internal", "out of memory");
        return;
    }
    fprintf(fp, "# HELP medreg_http_requests_total HTTP requests by route and status class.\n"
                "# TYPE medreg_http_requests_total counter\n");
    for (size_t ix = 0; ix <= n; ix++) /* the last: requests no route took */
        for (size_t c = 0; c < 5; c++) {
            unsigned long v = atomic_load(&s->requests[ix][c]);
            if (v)
                fprintf(fp, "medreg_http_requests_total{role=\"%s\",route=\"%s\",code=\"%zuxx\"} %lu\n",
                        mr_role_name(s->cfg->role), ix < n ? route_at(s, ix)->name : "unmatched", c + 1, v);
        }
    fprintf(fp, "# HELP medreg_http_request_seconds_total Time spent handling requests.\n"
                "# TYPE medreg_http_request_seconds_total counter\n"
                "medreg_http_request_seconds_total %.6f\n"
                "# HELP medreg_http_request_bytes_total Request body bytes received.\n"
                "# TYPE medreg_http_request_bytes_total counter\n"
                "medreg_http_request_bytes_total %lu\n"
                "# HELP medreg_http_connections_total TLS connections accepted.\n"
                "# TYPE medreg_http_connections_total counter\n"
                "medreg_http_connections_total %lu\n",
            (double)atomic_load(&s->request_us_total) / 1e6, atomic_load(&s->bytes_in),
            atomic_load(&s->connections));
    if (s->cfg->role == MR_ROLE_REGISTRY && mr_alarms_metrics(s, fp) != MEDREG_OK)
        fputs("# alarms unavailable: storage error\n", fp);
    fclose(fp);
    resp->status = 200;
    resp->body = buf;
    resp->len = len;
    resp->content_type = "text/plain; version=0.0.4";
}
