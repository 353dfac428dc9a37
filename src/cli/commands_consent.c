/* medreg card init | show | register, medreg consent enroll | replace |
 * request | revoke, medreg grants, medreg alarms: the client half of the
 * card consent protocol (docs/protocol.md). The cards are opened, and their
 * PINs checked, before anything is sent, so that a wrong PIN leaves no trace
 * on the registry; once a session is open, any card failure abandons it. */
#include <getopt.h>
#include <openssl/pem.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../consent/consent.h"
#include "../core/encode.h"
#include "../core/secret.h"
#include "../crypto/hybrid.h"
#include "../pki/pki.h"
#include "../token/card.h"
#include "../token/key25519.h"
#include "cli.h"
#include "consent_client.h"

static void local_fail(const char *what, const char *err, medreg_err rc)
{
    fprintf(stderr, "medreg: %s: %s\n", what, err ? err : medreg_strerror(rc));
}

/* A request whose 2xx JSON reply the caller needs; otherwise the error is
 * printed and *code set. */
static json_t *call_json(const cli *c, const char *method, const char *path, json_t *body, int *code)
{
    cli_reply r;
    *code = cli_request(c, SVC_REGISTRY, method, path, body, &r);
    if (*code != EXIT_OK)
        return NULL;
    if (r.status >= 200 && r.status < 300) {
        json_t *j = json_loadb(r.body, r.len, 0, NULL);
        cli_reply_free(&r);
        if (j == NULL) {
            fprintf(stderr, "medreg: the registry sent a reply that is not JSON\n");
            *code = EXIT_SERVER;
        }
        return j;
    }
    *code = cli_finish(c, &r, NULL);
    return NULL;
}

static mr_token *open_card(const char *spec, const char *pin_file, const char *pin_env, const char *prompt,
                           const char *what, int *code)
{
    mr_token_spec ts = {.key = spec,
                        .module = getenv("MEDREG_PKCS11_MODULE"),
                        .pin_file = pin_file,
                        .pin_env = pin_env,
                        .prompt = prompt};
    mr_token *t = NULL;
    char *err = NULL;
    medreg_err rc = mr_token_open(&ts, &t, &err);
    if (rc != MEDREG_OK) {
        fprintf(stderr, "medreg: %s: %s\n", what, err ? err : medreg_strerror(rc));
        *code = rc == MEDREG_ERR_PIN ? EXIT_DENIED : EXIT_LOCAL;
    }
    free(err);
    return t;
}

/* The registry's consent key, which must chain to our CA. */
static EVP_PKEY *registry_key(const cli *c, int *oaep, int *code)
{
    json_t *j = call_json(c, "GET", "/v1/consent/key", NULL, code);
    EVP_PKEY *pk = NULL;
    char *ca = NULL;
    size_t cl = 0;
    if (j == NULL)
        return NULL;
    const char *pem = json_string_value(json_object_get(j, "cert"));
    const char *h = json_string_value(json_object_get(j, "oaep"));
    X509 *crt = pem ? mr_cert_from_pem(pem, strlen(pem)) : NULL;
    *oaep = h && !strcmp(h, "sha256") ? MR_OAEP_SHA256 : MR_OAEP_SHA1;
    medreg_err rc = MEDREG_ERR_VERIFY;
    if (crt == NULL || c->cacert == NULL || mr_file_read(c->cacert, 1 << 16, &ca, &cl) != MEDREG_OK ||
        (rc = mr_cert_verify_ca(ca, crt)) != MEDREG_OK) {
        fprintf(stderr, "medreg: the registry's consent key is %s: refusing\n",
                rc == MEDREG_ERR_EXPIRED ? "certified by the CA, but its certificate has expired (or is not valid yet)"
                                         : "not certified by the CA");
        *code = EXIT_DENIED;
    } else {
        pk = X509_get_pubkey(crt);
    }
    free(ca);
    X509_free(crt);
    json_decref(j);
    return pk;
}

/* The "fingerprint" object of a finish request. */
static json_t *fingerprint_json(const mr_fingerprint_msg *fm, mr_token *physician)
{
    char cpk[65], *k3 = mr_base64(fm->k3, fm->k3_len), *sig = mr_base64(fm->physician_sig, fm->physician_sig_len);
    char *pem = mr_cert_pem(mr_token_cert(physician));
    sodium_bin2hex(cpk, sizeof cpk, fm->client_pk, 32);
    json_t *j = k3 && sig && pem
                    ? json_pack("{s:s,s:s,s:s,s:i,s:s}", "client_public", cpk, "k3", k3, "card_cert", pem, "sig_alg",
                                (int)fm->physician_alg, "signature", sig)
                    : NULL;
    free(pem);
    free(k3);
    free(sig);
    return j;
}

/* The body of a finish request: the fingerprint, and for an answering kind
 * the sealed answer and the terms. */
static json_t *finish_body(const mr_fingerprint_msg *fm, mr_token *physician, const uint8_t *m, size_t ml,
                           json_t *terms)
{
    json_t *body = json_pack("{s:o*}", "fingerprint", fingerprint_json(fm, physician));
    if (body && m) {
        char *ans = mr_base64(m, ml);
        json_object_set_new(body, "answer", json_string(ans ? ans : ""));
        json_object_set(body, "terms", terms);
        free(ans);
    }
    return body;
}

/* Tell the registry the session is over without an answer (it counts as a
 * failed attempt); nothing secret is sent. */
static void abandon(const cli *c, const char *path, const char *reason)
{
    cli_reply r;
    json_t *body = json_pack("{s:s}", "abandon", reason);
    if (cli_request(c, SVC_REGISTRY, "POST", path, body, &r) == EXIT_OK)
        cli_reply_free(&r); /* the registry records the failure; its reply adds nothing */
    json_decref(body);
}


static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* exclude "b,a" → JSON ["a","b"] and the canonical terms string (as the
 * registry rebuilds it: docs/protocol.md, "Terms") */
static int build_terms(const consent_args *a, const char *kind, json_t **terms, char *ts, size_t cap)
{
    if (!strcmp(kind, "audit")) {
        *terms = json_object();
        snprintf(ts, cap, "audit");
        return 1;
    }
    if (!strcmp(kind, "expire")) {
        *terms = json_pack("{s:s,s:I}", "grant", a->grant, "days", (json_int_t)a->days);
        snprintf(ts, cap, "expire;grant=%s;days=%ld", a->grant, a->days);
        return 1;
    }
    if (!strcmp(kind, "revoke") && a->grant) {
        *terms = json_pack("{s:s}", "grant", a->grant);
        snprintf(ts, cap, "revoke;grant=%s", a->grant);
        return 1;
    }
    if (!strcmp(kind, "revoke")) {
        const char *g = a->grantee ? a->grantee : "all";
        *terms = json_pack("{s:s}", "grantee", g);
        snprintf(ts, cap, "revoke;grantee=%s", g);
        return 1;
    }
    char buf[1024], *cats[32], *save = NULL, joined[1100] = "";
    size_t n = 0;
    snprintf(buf, sizeof buf, "%s", a->exclude ? a->exclude : "");
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (n == 32)
            return 0;
        cats[n++] = t;
    }
    qsort(cats, n, sizeof cats[0], cmp_str);
    json_t *arr = json_array();
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && !strcmp(cats[i], cats[i - 1]))
            continue;
        int w = snprintf(joined + off, sizeof joined - off, "%s%s", json_array_size(arr) ? "," : "", cats[i]);
        if (w < 0 || (size_t)w >= sizeof joined - off) {
            json_decref(arr);
            return 0;
        }
        off += (size_t)w;
        json_array_append_new(arr, json_string(cats[i]));
    }
    *terms = json_pack("{s:o,s:I}", "exclude", arr, "days", (json_int_t)a->days);
    snprintf(ts, cap, "grant;exclude=%s;days=%ld", joined, a->days);
    return 1;
}

int cli_consent_run(const cli *c, const char *kind, const consent_args *a, const consent_tamper *t)
{
    int code = EXIT_OK, oaep = MR_OAEP_SHA1, opened = 0;
    mr_token *patient = NULL, *physician = NULL;
    EVP_PKEY *reg = NULL;
    json_t *start = NULL, *body = NULL, *done = NULL, *terms = NULL, *again = NULL;
    mr_fingerprint_msg fm;
    uint8_t sid[MR_SESSION_ID_BYTES], spk[32], nonce[MR_CONSENT_NONCE_BYTES], k[MR_CONSENT_K_BYTES], td[32];
    uint8_t k2[MR_HYBRID_MAX], *m = NULL; /* k2: a ciphertext, nothing secret */
    size_t ml = 0;
    char path[96] = "", ts[1200], *token = NULL;
    int answering = !strcmp(kind, "consent") || !strcmp(kind, "revoke") || !strcmp(kind, "expire") ||
                    !strcmp(kind, "audit");
    const char *wire = !strcmp(kind, "expire") ? "revoke" : kind;

    memset(&fm, 0, sizeof fm);
    if (answering && !build_terms(a, kind, &terms, ts, sizeof ts)) {
        fprintf(stderr, "medreg: at most 32 categories may be excluded\n");
        return EXIT_USAGE;
    }
    if (a->token_file && (code = cli_read_token_file(a->token_file, &token)) != EXIT_OK) {
        json_decref(terms);
        return code;
    }
    /* the cards first: a wrong PIN or a missing card stops us before the registry hears of it */
    patient = open_card(a->patient, a->patient_pin_file, "MEDREG_PATIENT_PIN", "Patient card PIN: ", "patient card",
                        &code);
    if (patient)
        physician = open_card(a->physician, a->physician_pin_file, "MEDREG_PHYSICIAN_PIN", "Physician card PIN: ",
                              "physician card", &code);
    if (physician)
        reg = registry_key(c, &oaep, &code);
    if (reg == NULL)
        goto out;
    mr_hybrid_to to;
    if (mr_hybrid_to_key(reg, oaep, &to) != MEDREG_OK) {
        fprintf(stderr, "medreg: the registry's consent key is not a valid RSA or EC key: refusing\n");
        code = EXIT_DENIED;
        goto out;
    }
    body = json_pack("{s:s,s:s,s:s}", "module", a->module, "kind", wire, "internal_id", a->internal_id);
    if (token)
        json_object_set_new(body, "psn_token", json_string(token));
    if ((start = call_json(c, "POST", "/v1/consent/sessions", body, &code)) == NULL)
        goto out;
    const char *sid_hex = json_string_value(json_object_get(start, "session"));
    json_t *cands = json_object_get(start, "candidates");
    if (!mr_unhex_exact(sid_hex, sid, sizeof sid) || (answering && !json_is_array(cands)) ||
        !mr_unhex_exact(json_string_value(json_object_get(start, "server_public")), spk, sizeof spk) ||
        (answering && !mr_unhex_exact(json_string_value(json_object_get(start, "nonce")), nonce, sizeof nonce))) {
        fprintf(stderr, "medreg: the registry's session reply is malformed\n");
        code = EXIT_SERVER;
        goto out;
    }
    snprintf(path, sizeof path, "/v1/consent/sessions/%s", sid_hex);
    if (answering && json_array_size(cands) > MR_CONSENT_MAX_CANDIDATES) {
        /* a registry that makes the card decrypt without end, or try ciphertexts of its choosing */
        fprintf(stderr, "medreg: the registry offered %zu candidate fingerprints, more than the protocol's %d:"
                        " refusing to use the card (report this registry)\n",
                json_array_size(cands), MR_CONSENT_MAX_CANDIDATES);
        abandon(c, path, "too_many_candidates");
        code = EXIT_DENIED;
        goto out;
    }
    medreg_err rc = MEDREG_OK;
    if (t && t->after_start)
        t->after_start(t);
    if (answering && t && t->use_k) {
        memcpy(k, t->k, sizeof k);
        opened = 1;
    } else if (answering) {
        /* try every candidate; use nothing the card did not sign itself */
        json_t *cand;
        size_t i;
        json_array_foreach(cands, i, cand) {
            const char *e = json_string_value(json_object_get(cand, "k2"));
            size_t kl = 0;
            if (e == NULL || !mr_unbase64(e, strlen(e), k2, MR_HYBRID_MAX, &kl))
                continue;
            rc = mr_consent_client_open(patient, k2, kl, k);
            if (rc == MEDREG_OK) {
                opened = 1;
                break;
            }
            if (rc == MEDREG_ERR_DENIED) {
                fprintf(stderr, "medreg: the registry sent a ciphertext that this card opened but never signed:"
                                " refusing to answer (report this registry)\n");
                abandon(c, path, "foreign_ciphertext");
                code = EXIT_DENIED;
                goto out;
            }
            if (rc != MEDREG_ERR_VERIFY)
                break; /* the card itself failed */
        }
        if (!opened && (rc == MEDREG_OK || rc == MEDREG_ERR_VERIFY)) {
            fprintf(stderr, "medreg: this card is not enrolled for this patient: consent refused (the attempt is logged)\n");
            abandon(c, path, "card_mismatch");
            code = EXIT_DENIED;
            goto out;
        }
    }
    if (answering)
        mr_consent_terms_digest(ts, td);
    if (rc == MEDREG_OK)
        rc = mr_consent_client_fingerprint(patient, physician, &to, sid, answering ? MR_PURPOSE_ROTATE
                                           : !strcmp(kind, "replace") ? MR_PURPOSE_REPLACE : MR_PURPOSE_ENROLL,
                                           spk, a->module, json_string_value(json_object_get(start, "internal_id")),
                                           answering ? td : NULL, &fm);
    /* an attack's answer (consent_attack), which the registry must refuse */
    if (answering && t && t->before_answer)
        t->before_answer(t, nonce, td);
    if (rc == MEDREG_OK && answering)
        rc = mr_consent_client_answer(&to, sid, k, nonce, td, &m, &ml);
    if (rc == MEDREG_OK && t && t->finish_again)
        again = finish_body(&fm, physician, answering ? m : NULL, ml, terms);
    if (rc == MEDREG_OK && t && t->before_send)
        rc = t->before_send(t, &fm, k, &m, &ml);
    if (rc != MEDREG_OK) {
        fprintf(stderr, "medreg: a card operation failed (%s): nothing was stored\n", medreg_strerror(rc));
        abandon(c, path, rc == MEDREG_ERR_TOKEN ? "card_removed" : "card_error");
        code = rc == MEDREG_ERR_PIN ? EXIT_DENIED : EXIT_LOCAL;
        goto out;
    }
    json_decref(body);
    body = finish_body(&fm, physician, answering ? m : NULL, ml, terms);
    done = call_json(c, "POST", path, body, &code);
    if (again) { /* consent_attack: the finish as made, sent to the same session after the one sent */
        json_decref(done);
        done = call_json(c, "POST", path, again, &code);
    }
    if (done == NULL)
        goto out;
    if (a->reply) {
        *a->reply = done;
        done = NULL;
    } else if (c->json) {
        char *s = json_dumps(done, JSON_COMPACT);
        puts(s ? s : "{}");
        free(s);
    } else if (!strcmp(kind, "consent")) {
        json_t *g = json_object_get(done, "grant");
        const char *ex = json_string_value(json_object_get(g, "excluded"));
        char when[32];
        printf("consent granted: grant %s until %s%s%s\n", json_string_value(json_object_get(g, "id")),
               cli_time(json_integer_value(json_object_get(g, "expires_at")), when), ex && *ex ? ", withheld: " : "",
               ex && *ex ? ex : "");
    } else if (!strcmp(kind, "revoke")) {
        printf("revoked %lld grant(s)\n", (long long)json_integer_value(json_object_get(done, "revoked")));
    } else if (!strcmp(kind, "expire")) {
        long long n = (long long)json_integer_value(json_object_get(done, "updated"));
        if (n)
            printf("grant %s now ends in %ld days\n", a->grant, a->days);
        else
            printf("no active grant %s of this patient: nothing changed\n", a->grant);
    } else {
        printf("%s: card %s for internal ID %s (fingerprint %s)\n", kind,
               !strcmp(kind, "enroll") ? "enrolled" : "replaced", a->internal_id,
               json_string_value(json_object_get(done, "fingerprint")));
    }
out:
    if (token) {
        mr_wipe(token, strlen(token));
        free(token);
    }
    mr_wipe(k, sizeof k);
    mr_fingerprint_msg_clear(&fm);
    free(m);
    json_decref(start);
    json_decref(body);
    json_decref(again);
    json_decref(done);
    json_decref(terms);
    EVP_PKEY_free(reg);
    mr_token_close(patient);
    mr_token_close(physician);
    return code;
}

int cli_card_opt(consent_args *a, int opt, const char *arg)
{
    switch (opt) {
    case 'm': a->module = arg; return 1;
    case 'i': a->internal_id = arg; return 1;
    case 'T': a->token_file = arg; return 1;
    case 'p': a->patient = arg; return 1;
    case 'd': a->physician = arg; return 1;
    case 'P': a->patient_pin_file = arg; return 1;
    case 'D': a->physician_pin_file = arg; return 1;
    default: return 0;
    }
}

int cli_card_args_complete(const consent_args *a)
{
    return a->module && a->internal_id && a->patient && a->physician;
}

int cmd_consent(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_CARD_OPTIONS,
                                         {"exclude", required_argument, NULL, 'x'},
                                         {"days", required_argument, NULL, 'n'},
                                         {"grantee", required_argument, NULL, 'g'},
                                         {"grant", required_argument, NULL, 'G'},
                                         {NULL, 0, NULL, 0}};
    static const char usage[] =
        "usage: medreg consent enroll  --module M --internal-id ID CARDS\n"
        "       medreg consent replace --module M --internal-id ID CARDS   (the old card was lost)\n"
        "       medreg consent request --module M --internal-id ID [--token-file F] CARDS\n"
        "                              [--exclude CATEGORY,...] [--days N]\n"
        "       medreg consent revoke  --module M --internal-id ID CARDS [--grantee FPR|all | --grant G]\n"
        "       medreg consent expire  --module M --internal-id ID CARDS --grant G --days N\n"
        "  revoke and expire are the patient's: their card answers, as for request. The patient's\n"
        "  grants and their ids are listed by medreg audit mine.\n"
        "CARDS: --patient-card CARD --physician-card CARD; a CARD is a pkcs11: URI\n"
        "       (pkcs11:token=LABEL?module-path=LIB, or $MEDREG_PKCS11_MODULE) or a PEM\n"
        "       key file with its certificate beside it (NAME.key, NAME.crt).\n"
        "PINs:  --patient-pin-file F / $MEDREG_PATIENT_PIN, --physician-pin-file F /\n"
        "       $MEDREG_PHYSICIAN_PIN, else asked on the terminal; never on the command line.\n";
    consent_args a = {.days = 365};
    int opt;
    const char *sub = cli_subcommand(&argc, &argv, usage);
    if (sub == NULL)
        return EXIT_USAGE;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (cli_card_opt(&a, opt, optarg))
            continue;
        switch (opt) {
        case 'x': a.exclude = optarg; break;
        case 'n':
            if (!cli_number("--days", optarg, 1, 36500, &a.days))
                return EXIT_USAGE;
            break;
        case 'g': a.grantee = optarg; break;
        case 'G': a.grant = optarg; break;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    int known = !strcmp(sub, "enroll") || !strcmp(sub, "replace") || !strcmp(sub, "request") ||
                !strcmp(sub, "revoke") || !strcmp(sub, "expire");
    int grant_ok = !strcmp(sub, "expire") ? a.grant != NULL : !a.grant || (!strcmp(sub, "revoke") && !a.grantee);
    if (!known || !grant_ok || optind != argc || !cli_card_args_complete(&a) || a.days < 1 || a.days > 36500) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    return cli_consent_run(c, !strcmp(sub, "request") ? "consent" : sub, &a, NULL);
}

static void print_card(const cli *c, json_t *j)
{
    (void)c;
    printf("card %s registered to physician %s\n", json_string_value(json_object_get(j, "card")),
           json_string_value(json_object_get(j, "physician")));
}

static void print_card_removed(const cli *c, json_t *j)
{
    (void)c;
    printf("card %s of physician %s removed: it signs nothing more here\n",
           json_string_value(json_object_get(j, "card")), json_string_value(json_object_get(j, "physician")));
}

/* Making keys on tokens: the library, and raw service keys (cards come
 * with certificates: card init, below). */
const char *cli_pkcs11_module(const char *given)
{
    if (given)
        return given;
    return getenv("MEDREG_PKCS11_MODULE") ? getenv("MEDREG_PKCS11_MODULE") : "/usr/lib/softhsm/libsofthsm2.so";
}

int cli_key25519_on_token(const char *uri, const char *module, const char *pin_file, int x25519, uint8_t pk[32],
                          const char *what)
{
    mr_token_spec ts = {.key = uri, .module = cli_pkcs11_module(module), .pin_file = pin_file,
                        .pin_env = "MEDREG_PKCS11_PIN", .prompt = "Token PIN: "};
    char *err = NULL;
    medreg_err rc = mr_key25519_generate(&ts, x25519 ? MR_KEY_X25519 : MR_KEY_ED25519, pk, &err);
    if (rc != MEDREG_OK)
        fprintf(stderr, "medreg: %s: %s\n", what, err ? err : medreg_strerror(rc));
    free(err);
    return rc == MEDREG_OK ? EXIT_OK : EXIT_LOCAL;
}

int cmd_card(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"label", required_argument, NULL, 'l'},
                                         {"key-type", required_argument, NULL, 'k'},
                                         {"pki", required_argument, NULL, 'p'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"module", required_argument, NULL, 'M'},
                                         {"pin-file", required_argument, NULL, 'P'},
                                         {"so-pin-file", required_argument, NULL, 'S'},
                                         {"cert-out", required_argument, NULL, 'o'},
                                         {"card", required_argument, NULL, 'c'},
                                         {"physician", required_argument, NULL, 'f'},
                                         {"physician-cert", required_argument, NULL, 'F'},
                                         {"card-cert", required_argument, NULL, 'C'},
                                         {"fingerprint", required_argument, NULL, 'x'},
                                         {NULL, 0, NULL, 0}};
    static const char usage[] =
        "usage: medreg card init --label L --name CN --pki DIR [--key-type TYPE] [--module LIB]\n"
        "                        [--pin-file F] [--so-pin-file F] [--cert-out FILE]\n"
        "           make a card on the first free token of a PKCS#11 module (SoftHSM2 by\n"
        "           default): a key pair made on the token and a certificate from the CA in\n"
        "           DIR. TYPE: rsa2048 (default), rsa3072, rsa4096, p256, p384, brainpoolp256r1.\n"
        "           PIN from --pin-file or $MEDREG_CARD_PIN; SO PIN from --so-pin-file or\n"
        "           $MEDREG_CARD_SO_PIN, else random and forgotten.\n"
        "       medreg card show --card CARD [--pin-file F]   what a card holds\n"
        "       medreg card register (--physician FPR | --physician-cert CERT) --card-cert CARD.crt\n"
        "           register a physician's card certificate (registry administrators)\n"
        "       medreg card remove (--card-cert CARD.crt | --fingerprint HEX)\n"
        "           a lost or replaced physician's card signs nothing more (registry administrators)\n";
    const char *label = NULL, *type = "rsa2048", *pki = NULL, *name = NULL, *pin_file = NULL, *so_file = NULL;
    const char *out = NULL, *card = NULL, *phys = NULL, *phys_cert = NULL, *card_cert = NULL, *card_fp = NULL;
    const char *module = cli_pkcs11_module(NULL);
    int opt, code = EXIT_USAGE;
    const char *sub = cli_subcommand(&argc, &argv, usage);
    if (sub == NULL)
        return EXIT_USAGE;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'l': label = optarg; break;
        case 'k': type = optarg; break;
        case 'p': pki = optarg; break;
        case 'n': name = optarg; break;
        case 'M': module = optarg; break;
        case 'P': pin_file = optarg; break;
        case 'S': so_file = optarg; break;
        case 'o': out = optarg; break;
        case 'c': card = optarg; break;
        case 'f': phys = optarg; break;
        case 'F': phys_cert = optarg; break;
        case 'C': card_cert = optarg; break;
        case 'x': card_fp = optarg; break;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(sub, "init") && label && pki && name) {
        char pin[MR_PIN_MAX], so[MR_PIN_MAX], *err = NULL;
        medreg_err rc = mr_pin_read(pin_file, "MEDREG_CARD_PIN", "New card PIN: ", pin, &err);
        if (rc == MEDREG_OK && mr_pin_read(so_file, "MEDREG_CARD_SO_PIN", NULL, so, NULL) != MEDREG_OK) {
            /* nobody will administer a demonstration card: a random SO PIN */
            uint8_t r[12];
            randombytes_buf(r, sizeof r);
            sodium_bin2hex(so, sizeof so, r, sizeof r);
            mr_wipe(r, sizeof r);
        }
        if (rc == MEDREG_OK) {
            mr_card_spec cs = {module, label, pin, so, type, pki, name, out};
            rc = mr_card_init(&cs, &err);
        }
        mr_wipe(pin, sizeof pin);
        mr_wipe(so, sizeof so);
        if (rc != MEDREG_OK) {
            local_fail("card init", err, rc);
            free(err);
            return EXIT_LOCAL;
        }
        printf("card '%s' made: %s key and certificate CN=%s on the token%s%s\n", label, type, name,
               out ? "; certificate also in " : "", out ? out : "");
        return EXIT_OK;
    }
    if (!strcmp(sub, "show") && card) {
        mr_token *t = open_card(card, pin_file, "MEDREG_CARD_PIN", "Card PIN: ", "card", &code);
        if (t == NULL)
            return code;
        char fpr[65] = "", cn[256] = "";
        if (mr_cert_fingerprint(mr_token_cert(t), fpr) != MEDREG_OK)
            fpr[0] = 0;
        X509_NAME_oneline(X509_get_subject_name(mr_token_cert(t)), cn, sizeof cn);
        printf("%s\n  certificate: %s\n  fingerprint: %s\n", mr_token_describe(t), cn, fpr);
        mr_token_close(t);
        return EXIT_OK;
    }
    if (!strcmp(sub, "register") && card_cert && (phys != NULL) != (phys_cert != NULL)) {
        char *pem = NULL, *ppem = NULL, fpr[65];
        size_t len = 0, plen = 0;
        if (mr_file_read(card_cert, 1 << 16, &pem, &len) != MEDREG_OK ||
            (phys_cert && (mr_file_read(phys_cert, 1 << 16, &ppem, &plen) != MEDREG_OK ||
                           mr_cert_fingerprint_pem(ppem, plen, fpr) != MEDREG_OK))) {
            fprintf(stderr, "medreg: cannot read the certificate %s\n", pem ? phys_cert : card_cert);
            free(pem);
            free(ppem);
            return EXIT_LOCAL;
        }
        json_t *body = json_pack("{s:s,s:s}", "physician", phys ? phys : fpr, "cert", pem);
        code = cli_call(c, SVC_REGISTRY, "POST", "/v1/cards", body, print_card);
        json_decref(body);
        free(pem);
        free(ppem);
        return code;
    }
    if (!strcmp(sub, "remove") && (card_cert != NULL) != (card_fp != NULL)) {
        char fpr[65], *pem = NULL, *path = NULL;
        size_t len = 0;
        if (card_cert && (mr_file_read(card_cert, 1 << 16, &pem, &len) != MEDREG_OK ||
                          mr_cert_fingerprint_pem(pem, len, fpr) != MEDREG_OK)) {
            fprintf(stderr, "medreg: cannot read the certificate %s\n", card_cert);
            free(pem);
            return EXIT_LOCAL;
        }
        free(pem);
        if (card_fp && !cli_fingerprint_arg(card_fp, fpr))
            return EXIT_USAGE;
        if (asprintf(&path, "/v1/cards/%s", fpr) < 0)
            return EXIT_FAILURE_;
        code = cli_call(c, SVC_REGISTRY, "DELETE", path, NULL, print_card_removed);
        free(path);
        return code;
    }
    fputs(usage, stderr);
    return code;
}

static void print_grants(const cli *c, json_t *j)
{
    (void)c;
    size_t i;
    json_t *g;
    char a[32], b[32];
    if (json_array_size(json_object_get(j, "grants")) == 0)
        puts("no grants");
    json_array_foreach(json_object_get(j, "grants"), i, g) {
        const char *ex = json_string_value(json_object_get(g, "excluded"));
        printf("%s %-7s internal ID %s  %s .. %s  withheld: %s\n", json_string_value(json_object_get(g, "id")),
               json_string_value(json_object_get(g, "state")), json_string_value(json_object_get(g, "internal_id")),
               cli_time(json_integer_value(json_object_get(g, "created_at")), a),
               cli_time(json_integer_value(json_object_get(g, "expires_at")), b), ex && *ex ? ex : "-");
    }
}

static void print_fhir(const cli *c, json_t *j)
{
    (void)c;
    char *s = json_dumps(j, JSON_INDENT(1));
    puts(s ? s : "{}");
    free(s);
}

int cmd_grants(cli *c, int argc, char **argv)
{
    int fhir = argc == 4 && !strcmp(argv[3], "--fhir");
    if ((argc != 3 && !fhir) || strcmp(argv[1], "--module") != 0) {
        fputs("usage: medreg grants --module M [--fhir]\n  your grants (physicians); every grant (administrators,"
              " monitors)\n  --fhir: as a FHIR R4 Bundle of Consent and Provenance resources (administrators,"
              " monitors)\n",
              stderr);
        return EXIT_USAGE;
    }
    char *em = cli_escape(argv[2]), *path = NULL;
    int code = EXIT_FAILURE_;
    if (em && asprintf(&path, fhir ? "/v1/fhir/Consent?module=%s" : "/v1/grants?module=%s", em) > 0)
        code = cli_call(c, SVC_REGISTRY, "GET", path, NULL, fhir ? print_fhir : print_grants);
    free(em);
    free(path);
    return code;
}

static void print_alarms(const cli *c, json_t *j)
{
    (void)c;
    size_t i;
    json_t *a;
    if (json_array_size(json_object_get(j, "alarms")) == 0)
        puts("no alarms");
    json_array_foreach(json_object_get(j, "alarms"), i, a) {
        printf("%-20s physician %.16s…  %s\n", json_string_value(json_object_get(a, "kind")),
               json_string_value(json_object_get(a, "physician")), json_string_value(json_object_get(a, "message")));
    }
}

int cmd_alarms(cli *c, int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fputs("usage: medreg alarms\n  the registry's alarms (administrators, monitors)\n", stderr);
        return EXIT_USAGE;
    }
    return cli_call(c, SVC_REGISTRY, "GET", "/v1/alarms", NULL, print_alarms);
}
