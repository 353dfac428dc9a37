/* The ledger's HTTP face (docs/ledger.md): appends from the services
 * (role appender), and for every holder of a certificate from the CA the
 * C2SP tlog-tiles read API (checkpoint, tiles, entry bundles) and RFC 9162
 * proofs. Reads need no registration: the log is public to its readers. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/encode.h"
#include "../ledger/log.h"
#include "service.h"

#define APPEND_MAX 1000 /* entries per request */

/* One request's entries across their group commit (mr_resp_defer). */
typedef struct append_unit {
    uint8_t **data;
    size_t *len;
    size_t n;
    uint64_t *index;
    int retried;
} append_unit;

static void append_unit_free(void *state)
{
    append_unit *u = state;
    if (u == NULL)
        return;
    for (size_t i = 0; u->data && i < u->n; i++)
        free(u->data[i]);
    free(u->data);
    free(u->len);
    free(u->index);
    free(u);
}

static medreg_err append_run(mr_conn *c, void *arg)
{
    append_unit *u = arg;
    int64_t now = time(NULL);
    for (size_t i = 0; i < u->n; i++) {
        medreg_err rc = mr_ledger_append(c, u->data[i], u->len[i], now, &u->index[i]);
        if (rc != MEDREG_OK)
            return rc;
    }
    return MEDREG_OK;
}

static void appended(mr_service *s, mr_request *req, mr_response *resp, medreg_err rc, void *state)
{
    append_unit *u = state;
    (void)s;
    (void)req;
    if (rc == MEDREG_ERR_EXISTS && !u->retried) { /* another writer took the index: take the next */
        u->retried = 1;
        mr_resp_defer(resp, append_run, appended, u, append_unit_free);
        return;
    }
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        return;
    }
    json_t *out = json_array();
    for (size_t i = 0; i < u->n; i++)
        json_array_append_new(out, json_integer((json_int_t)u->index[i]));
    mr_resp_json(resp, 200, json_pack("{s:o}", "indices", out));
}

/* POST /v1/ledger/entries {"entries": [base64, …]} → {"indices": […]}:
 * acknowledged only once durable; sequenced at the next interval. */
static void entries_append(mr_service *s, mr_request *req, mr_response *resp)
{
    static const char *const allowed[] = {"entries", NULL};
    json_t *j = NULL, *arr, *item;
    append_unit *u = NULL;
    size_t n, i;

    if (!mr_require_role(s, req, resp, "ledger_append", "appender", "", NULL))
        return;
    if ((j = mr_req_json(req, resp, allowed)) == NULL)
        return;
    arr = json_object_get(j, "entries");
    n = json_array_size(arr);
    if (!json_is_array(arr) || n == 0 || n > APPEND_MAX) {
        mr_resp_error(resp, 400, "invalid_field", "field 'entries' must be an array of 1..%d base64 strings",
                      APPEND_MAX);
        goto out;
    }
    if ((u = calloc(1, sizeof *u)) != NULL) {
        u->n = n;
        u->data = calloc(n, sizeof *u->data);
        u->len = calloc(n, sizeof *u->len);
        u->index = calloc(n, sizeof *u->index);
    }
    if (!u || !u->data || !u->len || !u->index) {
        mr_resp_error(resp, 500, "internal", "out of memory");
        goto out;
    }
    json_array_foreach(arr, i, item) {
        size_t sl = json_string_length(item);
        if (!json_is_string(item) || (u->data[i] = malloc(sl / 4 * 3 + 3)) == NULL ||
            !mr_unbase64(json_string_value(item), sl, u->data[i], sl / 4 * 3 + 3, &u->len[i]) ||
            u->len[i] > MR_LEDGER_ENTRY_MAX) {
            mr_resp_error(resp, 400, "invalid_field", "entries[%zu] must be base64 of at most %d bytes", i,
                          MR_LEDGER_ENTRY_MAX);
            goto out;
        }
    }
    mr_resp_defer(resp, append_run, appended, u, append_unit_free);
    u = NULL;
out:
    append_unit_free(u);
    json_decref(j);
}

static void raw(mr_response *resp, int status, const char *type, uint8_t *body, size_t len)
{
    resp->status = status;
    resp->body = (char *)body;
    resp->len = len;
    resp->content_type = type;
}

/* GET /checkpoint (C2SP tlog-tiles) */
static void checkpoint(mr_service *s, mr_request *req, mr_response *resp)
{
    char *note = NULL;
    size_t len = 0;
    uint64_t size = 0;
    (void)req;
    if (mr_ledger_checkpoint(s->ledger, &note, &len, &size) != MEDREG_OK) {
        mr_resp_error(resp, 404, "not_found", "no checkpoint yet: the log is empty");
        return;
    }
    raw(resp, 200, "text/plain; charset=utf-8", (uint8_t *)note, len);
}

/* "x001/x234/067" → 1234067 (C2SP tlog-tiles index encoding) */
static int parse_tile_index(const char *p, uint64_t *out)
{
    uint64_t v = 0;
    for (;;) {
        int last = p[0] != 'x';
        const char *d = last ? p : p + 1;
        if (strspn(d, "0123456789") != 3 || (last ? d[3] != 0 && d[3] != '.' : d[3] != '/'))
            return 0;
        if (v > UINT64_MAX / 1000)
            return 0;
        v = v * 1000 + (uint64_t)((d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0'));
        if (last) {
            *out = v;
            return 1;
        }
        p = d + 4;
    }
}

/* GET /tile/<L>/<N>[.p/<W>] and /tile/entries/<N>[.p/<W>] */
static void tile(mr_service *s, mr_request *req, mr_response *resp)
{
    const char *rest = req->params[0];
    const char *slash = strchr(rest, '/');
    int level;
    uint64_t index = 0, w = 256;
    uint8_t *data = NULL;
    size_t len = 0;
    if (slash == NULL)
        goto bad;
    if ((size_t)(slash - rest) == 7 && !strncmp(rest, "entries", 7)) {
        level = -1;
    } else {
        uint64_t lv = 0;
        if (!mr_parse_u64(rest, (size_t)(slash - rest), &lv) || lv > 7)
            goto bad;
        level = (int)lv;
    }
    const char *idx = slash + 1, *dot = strstr(idx, ".p/");
    if (!parse_tile_index(idx, &index))
        goto bad;
    if (dot && (!mr_parse_u64(dot + 3, strlen(dot + 3), &w) || w < 1 || w > 255))
        goto bad;
    medreg_err rc = mr_ledger_tile(s->ledger, level, index, (unsigned)w, &data, &len);
    if (rc == MEDREG_ERR_NOTFOUND) {
        mr_resp_error(resp, 404, "not_found", "no such tile in the published tree");
        return;
    }
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        return;
    }
    raw(resp, 200, "application/octet-stream", data, len);
    return;
bad:
    mr_resp_error(resp, 400, "invalid_path", "a tile path is tile/<level>/<index>[.p/<width>] (C2SP tlog-tiles)");
}

static int query_u64(const mr_request *req, const char *name, uint64_t *out)
{
    const char *v = mr_req_query(req, name);
    return v && mr_parse_u64(v, strlen(v), out);
}

static json_t *hashes_json(const mr_hash *p, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, mr_json_base64(p[i], MR_HASH_BYTES));
    return a;
}

/* GET /v1/ledger/proof/inclusion?index=I&size=S */
static void proof_inclusion(mr_service *s, mr_request *req, mr_response *resp)
{
    uint64_t index = 0, size = 0;
    mr_hash proof[MR_PROOF_MAX];
    size_t n = 0;
    if (!query_u64(req, "index", &index) || !query_u64(req, "size", &size)) {
        mr_resp_error(resp, 400, "invalid_field", "index and size must be decimal numbers");
        return;
    }
    if (mr_ledger_inclusion(s->ledger, index, size, proof, &n) != MEDREG_OK) {
        mr_resp_error(resp, 404, "not_found", "index must be below size, and size at most the newest checkpoint's");
        return;
    }
    mr_resp_json(resp, 200, json_pack("{s:I,s:I,s:o}", "index", (json_int_t)index, "size", (json_int_t)size, "hashes",
                                      hashes_json((const mr_hash *)proof, n)));
}

/* GET /v1/ledger/proof/consistency?old=M&size=N */
static void proof_consistency(mr_service *s, mr_request *req, mr_response *resp)
{
    uint64_t old = 0, size = 0;
    mr_hash proof[MR_PROOF_MAX];
    size_t n = 0;
    if (!query_u64(req, "old", &old) || !query_u64(req, "size", &size)) {
        mr_resp_error(resp, 400, "invalid_field", "old and size must be decimal numbers");
        return;
    }
    if (mr_ledger_consistency(s->ledger, old, size, proof, &n) != MEDREG_OK) {
        mr_resp_error(resp, 404, "not_found", "old must be at most size, and size at most the newest checkpoint's");
        return;
    }
    mr_resp_json(resp, 200, json_pack("{s:I,s:I,s:o}", "old", (json_int_t)old, "size", (json_int_t)size, "hashes",
                                      hashes_json((const mr_hash *)proof, n)));
}

/* GET /v1/ledger/entries/{index} */
static void entry_get(mr_service *s, mr_request *req, mr_response *resp)
{
    uint64_t index = 0;
    uint8_t *data = NULL;
    size_t len = 0;
    if (!mr_parse_u64(req->params[0], strlen(req->params[0]), &index)) {
        mr_resp_error(resp, 400, "invalid_field", "the index must be a decimal number");
        return;
    }
    medreg_err rc = mr_ledger_entry(s->ledger, index, &data, &len);
    if (rc != MEDREG_OK) {
        if (rc == MEDREG_ERR_NOTFOUND)
            mr_resp_error(resp, 404, "not_found", "no entry %" PRIu64 " in the published tree", index);
        else
            mr_resp_db_error(resp, rc);
        return;
    }
    char *b = mr_base64(data, len);
    free(data);
    mr_resp_json(resp, 200, json_pack("{s:I,s:s}", "index", (json_int_t)index, "data", b ? b : ""));
    free(b);
}

static const mr_route ROUTES[] = {
    {"POST", "/v1/ledger/entries", entries_append, "ledger_append"},
    {"GET", "/v1/ledger/entries/*", entry_get, "ledger_entry"},
    {"GET", "/v1/ledger/proof/inclusion", proof_inclusion, "ledger_inclusion"},
    {"GET", "/v1/ledger/proof/consistency", proof_consistency, "ledger_consistency"},
    {"GET", "/checkpoint", checkpoint, "checkpoint"},
    {"GET", "/tile/**", tile, "tile"},
};

const mr_route *mr_ledger_routes(size_t *n)
{
    *n = sizeof ROUTES / sizeof ROUTES[0];
    return ROUTES;
}
