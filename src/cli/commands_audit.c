/* medreg audit mine: a patient's own history, with their card present.
 * medreg ledger audit-state: the consent state recomputed from the log.
 *
 * Both read the ledger's events (docs/ledger.md, "Events"): the registry
 * names the entries and hands over the keys of their details, but every
 * entry is proven against a checkpoint signed by the log (and cosigned as
 * the policy says) before it is believed, and --scan reads the whole log
 * so that an entry the registry left out is found too. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/encode.h"
#include "../core/secret.h"
#include "cli.h"
#include "consent_client.h"
#include "ledger_client.h"

#define HANDLE_CHARS 32
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES

/* One ledger entry as an event: its public fields, and its details opened
 * with key (NULL: leave them closed). NULL if it is not a well-formed event. */
static json_t *event_parse(const uint8_t *data, size_t len)
{
    json_t *e = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(e) || json_integer_value(json_object_get(e, "v")) != 1 ||
        json_string_length(json_object_get(e, "subject")) != HANDLE_CHARS ||
        !json_is_string(json_object_get(e, "type")) || !json_is_string(json_object_get(e, "module")) ||
        !json_is_integer(json_object_get(e, "time")) || !json_is_string(json_object_get(e, "details"))) {
        json_decref(e);
        return NULL;
    }
    return e;
}

/* The details of event e, opened with the subject's key: a JSON object, or NULL. */
static json_t *event_details(json_t *e, const uint8_t key[32])
{
    const char *subject = json_string_value(json_object_get(e, "subject"));
    json_t *d = json_object_get(e, "details"), *out = NULL;
    size_t cap = json_string_length(d), n = 0;
    uint8_t *ct = malloc(cap + 1), *pt = NULL;
    unsigned long long pl = 0;
    if (ct && mr_unbase64(json_string_value(d), cap, ct, cap + 1, &n) &&
        n >= NONCE_BYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES && (pt = malloc(n)) != NULL &&
        crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &pl, NULL, ct + NONCE_BYTES, n - NONCE_BYTES,
                                                   (const uint8_t *)subject, HANDLE_CHARS, ct, key) == 0) {
        out = json_loadb((const char *)pt, (size_t)pl, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(out)) {
            json_decref(out);
            out = NULL;
        }
        mr_wipe(pt, (size_t)pl);
    }
    free(pt);
    free(ct);
    return out;
}

static int key_from_b64(const char *b64, uint8_t key[32])
{
    size_t n = 0;
    return b64 && mr_unbase64(b64, strlen(b64), key, 32, &n) && n == 32;
}

/* The newest checkpoint that holds every entry below need, waiting up to
 * wait seconds for the ledger to sequence them. */
static int checkpoint_covering(const cli *c, const cli_ledger_policy *p, uint64_t need, long wait, cli_reply *r,
                               mr_checkpoint *cp)
{
    for (long waited = 0;; waited++) {
        int code = cli_ledger_checkpoint(c, p, 1, r, cp);
        if (code != EXIT_OK || cp->size >= need)
            return code;
        cli_reply_free(r);
        if (waited >= wait) {
            fprintf(stderr,
                    "medreg: ledger: after %lds the checkpoint holds %" PRIu64 " entries, not the %" PRIu64
                    " the registry reports: the ledger is not sequencing\n",
                    wait, cp->size, need);
            return EXIT_FAILURE_;
        }
        sleep(1);
    }
}

/* One place that lists a patient's events: the registry, or the identity
 * service for one of its patient records. */
typedef struct source {
    const char *label, *handle;
    uint8_t key[32];
    json_t *indices;  /* borrowed */
    json_int_t as_of; /* every event of this handle up to here is listed */
    json_t *found;    /* --scan: the indices the log holds under this handle */
} source;

typedef struct scan {
    source *src;
    size_t n;
} scan;

static void scan_entry(void *user, uint64_t idx, const uint8_t *data, size_t len)
{
    scan *sc = user;
    json_t *e = event_parse(data, len);
    for (size_t i = 0; e && i < sc->n; i++)
        if (!strcmp(json_string_value(json_object_get(e, "subject")), sc->src[i].handle))
            json_array_append_new(sc->src[i].found, json_integer((json_int_t)idx));
    json_decref(e);
}

static int listed(json_t *indices, json_int_t idx)
{
    size_t i;
    json_t *v;
    json_array_foreach(indices, i, v) if (json_integer_value(v) == idx) return 1;
    return 0;
}

/* a physician's name as a service gave it, else the fingerprint */
static const char *name_of(json_t *names, const char *fpr)
{
    const char *n = json_string_value(json_object_get(names, fpr ? fpr : ""));
    return n ? n : fpr ? fpr : "(unknown)";
}

static void print_event(json_t *e, json_t *d, json_t *names, uint64_t idx)
{
    char t[32];
    const char *actor = json_string_value(json_object_get(d, "actor"));
    printf("%8" PRIu64 "  %s  %-16s %-24.24s %-8s %s%s%s\n", idx,
           cli_time((long long)json_integer_value(json_object_get(e, "time")), t),
           json_string_value(json_object_get(e, "type")), name_of(names, actor),
           json_string_value(json_object_get(d, "outcome")), json_string_value(json_object_get(d, "target")),
           *json_string_value(json_object_get(d, "detail")) ? "  " : "", json_string_value(json_object_get(d, "detail")));
}

static void print_grants(json_t *grants, json_t *names)
{
    size_t i;
    json_t *g;
    printf("\ngrants (revoke one: medreg consent revoke --grant ID; shorten or extend: medreg consent expire):\n");
    if (json_array_size(grants) == 0)
        printf("  none\n");
    json_array_foreach(grants, i, g) {
        char t[32];
        const char *ex = json_string_value(json_object_get(g, "excluded"));
        printf("  %s  %-8s until %s  %-24.24s%s%s\n", json_string_value(json_object_get(g, "id")),
               json_string_value(json_object_get(g, "state")),
               cli_time((long long)json_integer_value(json_object_get(g, "expires_at")), t),
               name_of(names, json_string_value(json_object_get(g, "physician"))), ex && *ex ? "  withheld: " : "",
               ex && *ex ? ex : "");
    }
}

/* A source from a service's reply ({handle, key, indices, as_of}); 0 if malformed. */
static int source_of(json_t *j, json_int_t as_of, const char *label, source *out)
{
    size_t i;
    json_t *v;
    memset(out, 0, sizeof *out);
    out->label = label;
    out->handle = json_string_value(json_object_get(j, "handle"));
    out->indices = json_object_get(j, "indices");
    out->as_of = as_of;
    if (out->handle == NULL || strlen(out->handle) != HANDLE_CHARS || !json_is_array(out->indices) ||
        !key_from_b64(json_string_value(json_object_get(j, "key")), out->key))
        return 0;
    json_array_foreach(out->indices, i, v) if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                                                json_integer_value(v) > as_of) return 0;
    return 1;
}

/* The identity service's side of the history, through the registry's
 * presence pass: one source per identity record with the patient's PSN. */
static int identity_sources(const cli *c, json_t *h, const char *module, json_t **reply, source *src, size_t *n,
                            size_t cap, json_t *names)
{
    const char *pass = json_string_value(json_object_get(h, "identity_pass"));
    cli_reply r;
    if (pass == NULL)
        return EXIT_OK;
    if (c->identity_url == NULL) {
        fprintf(stderr, "medreg: without --identity (or $MEDREG_IDENTITY), the identity service's events about"
                        " the patient are left out\n");
        return EXIT_OK;
    }
    json_t *body = json_pack("{s:s,s:s}", "module", module, "pass", pass);
    int code = cli_request(c, SVC_IDENTITY, "POST", "/v1/events/patient", body, &r);
    json_decref(body);
    if (code != EXIT_OK)
        return code;
    if (r.status != 200)
        return cli_finish(c, &r, NULL);
    *reply = json_loadb(r.body, r.len, 0, NULL);
    cli_reply_free(&r);
    json_t *pats = json_object_get(*reply, "patients"), *v;
    json_int_t as_of = json_integer_value(json_object_get(*reply, "as_of"));
    size_t i;
    const char *k;
    if (!json_is_array(pats) || json_array_size(pats) > cap - *n) {
        fprintf(stderr, "medreg: the identity service's history reply is malformed\n");
        return EXIT_SERVER;
    }
    json_array_foreach(pats, i, v) {
        if (!source_of(v, as_of, "the identity service", &src[*n])) {
            fprintf(stderr, "medreg: the identity service's history reply is malformed\n");
            return EXIT_SERVER;
        }
        ++*n;
    }
    json_object_foreach(json_object_get(*reply, "names"), k, v) if (json_object_get(names, k) == NULL)
        json_object_set(names, k, v);
    return EXIT_OK;
}

/* Fetch entry idx with its inclusion proof in cp, require it to be an event
 * of src's handle that src's key opens, and show it (or add it to events). */
static int show_entry(const cli *c, const mr_checkpoint *cp, const source *src, const char *service, uint64_t idx,
                      json_t *names, json_t *events)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int code = cli_ledger_entry(c, cp, idx, &data, &len);
    if (code != EXIT_OK)
        return code;
    json_t *e = event_parse(data, len), *d = NULL;
    free(data);
    if (e == NULL || strcmp(json_string_value(json_object_get(e, "subject")), src->handle) != 0 ||
        (d = event_details(e, src->key)) == NULL) {
        fprintf(stderr, "medreg: ledger entry %" PRIu64 ", which %s listed, is not an event about you"
                        " that your key opens: refused\n", idx, src->label);
        json_decref(e);
        return EXIT_FAILURE_;
    }
    if (c->json) {
        json_array_append_new(events, json_pack("{s:I,s:s,s:O,s:o}", "index", (json_int_t)idx, "service", service,
                                                "event", e, "details", d));
    } else {
        print_event(e, d, names, idx);
        json_decref(d);
    }
    json_decref(e);
    return EXIT_OK;
}

/* Prove, open and show every event the services listed; with --scan, look
 * for any they left out, and show those too. */
static int show_history(const cli *c, const cli_ledger_policy *p, json_t *h, const char *module, int do_scan,
                        long wait)
{
    source src[1 + 16];
    size_t n = 0, shown = 0, shown_extra = 0;
    json_t *names = json_deep_copy(json_object_get(h, "names")), *idr = NULL, *events = json_array(), *v;
    uint64_t need = 0;
    cli_reply r = {0};
    mr_checkpoint cp;
    int code = EXIT_OK;
    if (names == NULL)
        names = json_object();
    if (!source_of(h, json_integer_value(json_object_get(h, "as_of")), "the registry", &src[0])) {
        fprintf(stderr, "medreg: the registry's history reply is malformed\n");
        code = EXIT_SERVER;
        goto out;
    }
    n = 1;
    if ((code = identity_sources(c, h, module, &idr, src, &n, sizeof src / sizeof src[0], names)) != EXIT_OK)
        goto out;
    for (size_t s = 0; s < n; s++) {
        size_t i;
        json_array_foreach(src[s].indices, i, v) if ((uint64_t)json_integer_value(v) + 1 > need) need =
            (uint64_t)json_integer_value(v) + 1;
    }
    if ((code = checkpoint_covering(c, p, need, wait, &r, &cp)) != EXIT_OK)
        goto out;
    if (!c->json)
        printf("%8s  %-19s  %-16s %-24s %-8s %s\n", "entry", "time (UTC)", "event", "by", "outcome", "about");
    for (size_t s = 0; s < n; s++) {
        size_t i;
        if (!c->json && s == 1)
            printf("  at the identity service:\n");
        json_array_foreach(src[s].indices, i, v) {
            if ((code = show_entry(c, &cp, &src[s], s ? "identity" : "registry", (uint64_t)json_integer_value(v),
                                   names, events)) != EXIT_OK)
                goto out;
            shown++;
        }
    }
    if (do_scan) {
        scan sc = {src, n};
        for (size_t s = 0; s < n; s++)
            src[s].found = json_array();
        if ((code = cli_ledger_replay(c, &cp, scan_entry, &sc)) == EXIT_OK) {
            for (size_t s = 0; s < n; s++) {
                size_t i;
                json_array_foreach(src[s].found, i, v) {
                    if (listed(src[s].indices, json_integer_value(v)))
                        continue;
                    /* shown whatever the service says: a later one is newer than its answer
                     * (this session's among them); an earlier one it hid */
                    if (!c->json && !shown_extra++)
                        printf("  found by reading the whole log:\n");
                    int rc2 = show_entry(c, &cp, &src[s], s ? "identity" : "registry",
                                         (uint64_t)json_integer_value(v), names, events);
                    if (rc2 != EXIT_OK)
                        code = rc2;
                    if (json_integer_value(v) <= src[s].as_of) {
                        fprintf(stderr, "medreg: ledger entry %lld is about you, but %s did not list it: it hides"
                                        " part of your history\n", (long long)json_integer_value(v), src[s].label);
                        code = EXIT_FAILURE_;
                    }
                }
            }
            if (code == EXIT_OK && !c->json)
                printf("\nthe whole log (%" PRIu64 " entries) was read: it holds no other event about you\n", cp.size);
        }
        if (code != EXIT_OK)
            goto out;
    }
    if (c->json) {
        /* the presence pass is spent: shown so that it can be audited */
        json_t *o = json_pack("{s:O,s:O,s:O,s:I,s:s,s:I,s:O*}", "events", events, "grants",
                              json_object_get(h, "grants"), "names", names, "pending",
                              json_integer_value(json_object_get(h, "pending")), "origin", cp.origin,
                              "checkpoint_size", (json_int_t)cp.size, "identity_pass",
                              json_object_get(h, "identity_pass"));
        char *out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        puts(out ? out : "{}");
        free(out);
        json_decref(o);
    } else {
        print_grants(json_object_get(h, "grants"), names);
        printf("\n%zu event(s), each proven in %s's checkpoint of %" PRIu64 " entries%s", shown, cp.origin, cp.size,
               p->nw ? ", cosigned as the witness policy requires" : "");
        long long pending = (long long)json_integer_value(json_object_get(h, "pending"));
        if (pending)
            printf("; %lld more not in the ledger yet (this session's among them)", pending);
        printf("\n");
    }
    code = cli_ledger_trust(p, &r);
out:
    for (size_t s = 0; s < n; s++) {
        mr_wipe(src[s].key, sizeof src[s].key);
        json_decref(src[s].found);
    }
    json_decref(events);
    json_decref(names);
    json_decref(idr);
    cli_reply_free(&r);
    return code;
}

int cmd_audit_mine(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_LEDGER_POLICY_OPTIONS,
                                         CLI_CARD_OPTIONS,
                                         {"scan", no_argument, NULL, 'S'},
                                         {"wait", required_argument, NULL, 'W'},
                                         {NULL, 0, NULL, 0}};
    static const char usage[] =
        "usage: medreg audit mine --module M --internal-id ID --patient-card C --physician-card C\n"
        "                         --vkey KEY|@FILE [--witness KEY ... --quorum K] [--state FILE]\n"
        "                         [--scan] [--wait SECONDS] [--token-file F]\n"
        "  The patient's own history: every event about them in the ledger (who read what, when,\n"
        "  under which grant), each proven against a checkpoint of the log at --ledger, and their\n"
        "  grants; with --identity, the identity service's events about them too. The patient's\n"
        "  card answers as for consent (cards and PINs: medreg consent).\n"
        "  --scan reads the whole log too, shows any event a service left out, and then fails.\n";
    consent_args a = {.days = 1};
    cli_ledger_policy p;
    json_t *reply = NULL;
    long wait = 30;
    int opt, do_scan = 0, code;
    cli_ledger_policy_init(&p);
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int taken = cli_ledger_policy_opt(&p, opt, optarg);
        if (taken == 0)
            return EXIT_USAGE;
        if (taken == 1 || cli_card_opt(&a, opt, optarg))
            continue;
        switch (opt) {
        case 'S': do_scan = 1; break;
        case 'W':
            if (!cli_number("--wait", optarg, 0, 3600, &wait))
                return EXIT_USAGE;
            break;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc || !cli_card_args_complete(&a) || wait < 0 || wait > 3600 || !cli_ledger_policy_done(&p)) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    if (c->ledger_url == NULL) {
        fprintf(stderr, "medreg: audit mine needs the ledger (--ledger URL or $MEDREG_LEDGER)\n");
        return EXIT_USAGE;
    }
    a.reply = &reply;
    code = cli_consent_run(c, "audit", &a, NULL);
    if (code == EXIT_OK)
        code = show_history(c, &p, json_object_get(reply, "history"), a.module, do_scan, wait);
    json_decref(reply);
    return code;
}

/* ---- medreg ledger events ---- */

typedef struct trail {
    const char *module, *type;
    json_t *keys, *shown; /* [[index, event, details], ...] */
    size_t closed;
} trail;

static void trail_entry(void *user, uint64_t idx, const uint8_t *data, size_t len)
{
    trail *t = user;
    uint8_t key[32];
    json_t *e = event_parse(data, len), *d = NULL;
    if (e == NULL || (t->module && strcmp(json_string_value(json_object_get(e, "module")), t->module) != 0) ||
        (t->type && strcmp(json_string_value(json_object_get(e, "type")), t->type) != 0)) {
        json_decref(e);
        return;
    }
    if (!key_from_b64(json_string_value(json_object_get(t->keys, json_string_value(json_object_get(e, "subject")))),
                      key) ||
        (d = event_details(e, key)) == NULL)
        t->closed++; /* another service's event, or an erased subject's */
    else
        json_array_append_new(t->shown, json_pack("[I,o,o]", (json_int_t)idx, e, d));
    if (d == NULL)
        json_decref(e);
    mr_wipe(key, sizeof key);
}

/* The newest event keys of a service, once nothing of kind is left to ship
 * (pending counts the consent events: those audit-state needs). */
static int service_keys(const cli *c, cli_service svc, long wait, json_t **keys)
{
    for (long waited = 0;; waited++) {
        cli_reply kr;
        int code = cli_request(c, svc, "GET", "/v1/events/keys", NULL, &kr);
        if (code != EXIT_OK)
            return code;
        if (kr.status != 200)
            return cli_finish(c, &kr, NULL);
        json_decref(*keys);
        *keys = json_loadb(kr.body, kr.len, 0, NULL);
        cli_reply_free(&kr);
        if (!json_is_object(json_object_get(*keys, "keys"))) {
            fprintf(stderr, "medreg: the service's key reply is malformed\n");
            return EXIT_SERVER;
        }
        if (json_integer_value(json_object_get(*keys, "pending")) == 0)
            return EXIT_OK;
        if (waited >= wait) {
            fprintf(stderr, "medreg: after %lds the service still has consent events it has not shipped to the ledger\n",
                    wait);
            return EXIT_FAILURE_;
        }
        sleep(1);
    }
}

int cli_ledger_events(const cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_LEDGER_POLICY_OPTIONS,
                                         {"on", required_argument, NULL, 'o'},
                                         {"module", required_argument, NULL, 'm'},
                                         {"type", required_argument, NULL, 't'},
                                         {NULL, 0, NULL, 0}};
    cli_ledger_policy p;
    cli_service svc = SVC_REGISTRY;
    trail t = {NULL, NULL, NULL, json_array(), 0};
    json_t *keys = NULL;
    cli_reply r = {0};
    mr_checkpoint cp;
    int opt, code, have = 0;
    cli_ledger_policy_init(&p);
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int taken = cli_ledger_policy_opt(&p, opt, optarg);
        if (taken == 0)
            return EXIT_USAGE;
        if (taken == 1)
            continue;
        if (opt == 'o' && cli_parse_service(optarg, &svc) && svc != SVC_LEDGER)
            have = 1;
        else if (opt == 'm')
            t.module = optarg;
        else if (opt == 't')
            t.type = optarg;
        else
            return EXIT_USAGE;
    }
    if (optind != argc || !have || !cli_ledger_policy_done(&p))
        return EXIT_USAGE;
    if ((code = service_keys(c, svc, 30, &keys)) != EXIT_OK)
        goto out;
    t.keys = json_object_get(keys, "keys");
    json_int_t shipped = json_integer_value(json_object_get(keys, "shipped_max"));
    if ((code = checkpoint_covering(c, &p, (uint64_t)(shipped + 1), 30, &r, &cp)) != EXIT_OK ||
        (code = cli_ledger_replay(c, &cp, trail_entry, &t)) != EXIT_OK)
        goto out;
    if (c->json) {
        json_t *out = json_pack("{s:O,s:I,s:s,s:I}", "events", t.shown, "unreadable", (json_int_t)t.closed, "origin",
                                cp.origin, "checkpoint_size", (json_int_t)cp.size);
        char *s = json_dumps(out, JSON_COMPACT);
        puts(s ? s : "{}");
        free(s);
        json_decref(out);
    } else {
        size_t i;
        json_t *row;
        printf("%8s  %-19s  %-16s %-24s %-8s %s\n", "entry", "time (UTC)", "event", "by", "outcome", "about");
        json_array_foreach(t.shown, i, row)
            print_event(json_array_get(row, 1), json_array_get(row, 2), NULL,
                        (uint64_t)json_integer_value(json_array_get(row, 0)));
        printf("\n%zu event(s) of this service in %s's checkpoint of %" PRIu64 " entries, the whole log read and"
               " its root rebuilt; %zu other entries this service's keys do not open\n",
               json_array_size(t.shown), cp.origin, cp.size, t.closed);
    }
    code = cli_ledger_trust(&p, &r);
out:
    json_decref(t.shown);
    json_decref(keys);
    cli_reply_free(&r);
    return code;
}

/* ---- medreg ledger audit-state ---- */

/* The grants as the log tells them: id → {physician, excluded, expires, revoked} */
typedef struct replay_state {
    const char *module;
    json_t *keys;   /* handle → base64 key */
    json_t *grants;
    size_t events, erased, bad;
} replay_state;

/* "a=1;b=2" → the value of name, copied into out */
static int detail_field(const char *detail, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = detail; p && *p; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL) {
        if (!strncmp(p, name, nl) && p[nl] == '=') {
            size_t vl = strcspn(p + nl + 1, ";");
            if (vl >= cap)
                return 0;
            memcpy(out, p + nl + 1, vl);
            out[vl] = 0;
            return 1;
        }
    }
    return 0;
}

static void replay_entry(void *user, uint64_t idx, const uint8_t *data, size_t len)
{
    (void)idx;
    replay_state *st = user;
    json_t *e = event_parse(data, len), *d = NULL;
    const char *type = e ? json_string_value(json_object_get(e, "type")) : NULL;
    uint8_t key[32];
    if (e == NULL || strcmp(json_string_value(json_object_get(e, "module")), st->module) != 0 ||
        (strcmp(type, "grant") != 0 && strcmp(type, "revoke") != 0 && strcmp(type, "grant_expiry") != 0)) {
        json_decref(e);
        return;
    }
    st->events++;
    if (!key_from_b64(json_string_value(json_object_get(st->keys, json_string_value(json_object_get(e, "subject")))),
                      key)) {
        st->erased++; /* the subject's key was destroyed: its details are gone */
        json_decref(e);
        return;
    }
    d = event_details(e, key);
    mr_wipe(key, sizeof key);
    const char *id = json_string_value(json_object_get(d, "target")), *detail = json_string_value(json_object_get(d, "detail"));
    char who[80], excluded[1100], expires[24];
    json_t *g = id ? json_object_get(st->grants, id) : NULL;
    if (id == NULL || detail == NULL) {
        st->bad++;
    } else if (!strcmp(type, "grant")) {
        if (!detail_field(detail, "grantee", who, sizeof who) || !detail_field(detail, "exclude", excluded, sizeof excluded) ||
            !detail_field(detail, "expires", expires, sizeof expires))
            st->bad++;
        else
            json_object_set_new(st->grants, id, json_pack("{s:s,s:s,s:I,s:b}", "physician", who, "excluded", excluded,
                                                          "expires_at", (json_int_t)strtoll(expires, NULL, 10), "revoked", 0));
    } else if (g == NULL) {
        st->bad++; /* a revoke or a new expiry of a grant the log never granted */
    } else if (!strcmp(type, "revoke")) {
        json_object_set_new(g, "revoked", json_true());
    } else if (detail_field(detail, "expires", expires, sizeof expires)) {
        json_object_set_new(g, "expires_at", json_integer(strtoll(expires, NULL, 10)));
    } else {
        st->bad++;
    }
    json_decref(d);
    json_decref(e);
}

/* Registry grants against the log's: every difference is printed. */
static size_t compare_grants(json_t *registry, json_t *log)
{
    size_t i, diffs = 0;
    json_t *g;
    json_t *seen = json_object();
    json_array_foreach(registry, i, g) {
        const char *id = json_string_value(json_object_get(g, "id"));
        json_t *l = json_object_get(log, id ? id : "");
        if (id == NULL)
            continue;
        json_object_set_new(seen, id, json_true());
        if (l == NULL) {
            printf("grant %s: in the registry, never granted in the log\n", id);
            diffs++;
            continue;
        }
        int revoked = !strcmp(json_string_value(json_object_get(g, "state")), "revoked");
        if (strcmp(json_string_value(json_object_get(g, "physician")), json_string_value(json_object_get(l, "physician")))) {
            printf("grant %s: to %s in the registry, to %s in the log\n", id,
                   json_string_value(json_object_get(g, "physician")), json_string_value(json_object_get(l, "physician")));
            diffs++;
        }
        if (strcmp(json_string_value(json_object_get(g, "excluded")), json_string_value(json_object_get(l, "excluded")))) {
            printf("grant %s: withholds '%s' in the registry, '%s' in the log\n", id,
                   json_string_value(json_object_get(g, "excluded")), json_string_value(json_object_get(l, "excluded")));
            diffs++;
        }
        if (json_integer_value(json_object_get(g, "expires_at")) != json_integer_value(json_object_get(l, "expires_at"))) {
            printf("grant %s: ends at %lld in the registry, at %lld in the log\n", id,
                   (long long)json_integer_value(json_object_get(g, "expires_at")),
                   (long long)json_integer_value(json_object_get(l, "expires_at")));
            diffs++;
        }
        if (revoked != json_is_true(json_object_get(l, "revoked"))) {
            printf("grant %s: %s in the registry, %s in the log\n", id, revoked ? "revoked" : "not revoked",
                   revoked ? "not revoked" : "revoked");
            diffs++;
        }
    }
    const char *id;
    json_object_foreach(log, id, g) {
        if (json_object_get(seen, id) == NULL) {
            printf("grant %s: granted in the log, missing from the registry\n", id);
            diffs++;
        }
    }
    json_decref(seen);
    return diffs;
}

int cli_ledger_audit_state(const cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_LEDGER_POLICY_OPTIONS,
                                         {"module", required_argument, NULL, 'm'},
                                         {"wait", required_argument, NULL, 'W'},
                                         {NULL, 0, NULL, 0}};
    cli_ledger_policy p;
    const char *module = NULL;
    long wait = 30;
    int opt, code;
    cli_ledger_policy_init(&p);
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int taken = cli_ledger_policy_opt(&p, opt, optarg);
        if (taken == 0)
            return EXIT_USAGE;
        if (taken == 1)
            continue;
        if (opt == 'm')
            module = optarg;
        else if (opt != 'W' || !cli_number("--wait", optarg, 0, 3600, &wait))
            return EXIT_USAGE;
    }
    if (optind != argc || module == NULL || wait < 0 || wait > 3600 || !cli_ledger_policy_done(&p))
        return EXIT_USAGE;
    /* the keys, once every consent event has reached the ledger */
    json_t *keys = NULL, *grants = NULL;
    cli_reply r = {0};
    mr_checkpoint cp;
    replay_state st = {module, NULL, json_object(), 0, 0, 0};
    char *path = NULL, *em = cli_escape(module);
    if ((code = service_keys(c, SVC_REGISTRY, wait, &keys)) != EXIT_OK)
        goto out;
    json_int_t shipped = json_integer_value(json_object_get(keys, "shipped_max"));
    if ((code = checkpoint_covering(c, &p, (uint64_t)(shipped + 1), wait, &r, &cp)) != EXIT_OK)
        goto out;
    st.keys = json_object_get(keys, "keys");
    if ((code = cli_ledger_replay(c, &cp, replay_entry, &st)) != EXIT_OK)
        goto out;
    if (em == NULL || asprintf(&path, "/v1/grants?module=%s", em) < 0) {
        path = NULL;
        code = EXIT_LOCAL;
        goto out;
    }
    cli_reply gr;
    if ((code = cli_request(c, SVC_REGISTRY, "GET", path, NULL, &gr)) != EXIT_OK)
        goto out;
    if (gr.status != 200) {
        code = cli_finish(c, &gr, NULL);
        goto out;
    }
    grants = json_loadb(gr.body, gr.len, 0, NULL);
    cli_reply_free(&gr);
    size_t diffs = compare_grants(json_object_get(grants, "grants"), st.grants);
    printf("replayed %zu consent events of module %s from %s's checkpoint of %" PRIu64 " entries"
           " (%zu erased, %zu malformed): %zu grants in the log, %zu in the registry\n",
           st.events, module, cp.origin, cp.size, st.erased, st.bad, json_object_size(st.grants),
           json_array_size(json_object_get(grants, "grants")));
    if (diffs || st.bad) {
        printf("the registry's consent state differs from the log's in %zu point(s)\n", diffs + st.bad);
        code = EXIT_FAILURE_;
    } else {
        printf("the registry's consent state is the one the log records\n");
        code = cli_ledger_trust(&p, &r);
    }
out:
    free(path);
    free(em);
    json_decref(keys);
    json_decref(grants);
    json_decref(st.grants);
    cli_reply_free(&r);
    return code;
}
