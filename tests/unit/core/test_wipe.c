/* No secret stays in memory after its use. Each secret below goes through
 * the code that handles it: a card's PINs through card set-up, a PIN file
 * and a log-in; a module key through its file and an HMAC context; a
 * consent K through the card, the client and the registry; a secret inside
 * JSON through jansson; an offline run's blinding seed through its state
 * file's text and back; a VOPRF client's blinds, their inverses and the
 * unblinded elements through blinding, evaluation and unblinding. Then,
 * everything released, every readable and writable page of this process
 * (heap, freed blocks, stacks, libraries' data, SoftHSM2's included) is
 * searched for any 12 bytes of it.
 *
 * The test holds each secret only masked (XOR with a random pad), so its own
 * copy is never what the search finds. It runs bound at start, as medregd
 * does (mr_bind_now). Under AddressSanitizer the process maps terabytes of
 * shadow memory; the test is skipped there (exit 77).
 * usage: test_wipe [PKCS11_MODULE] */
/* SHA256_CTX, as src/crypto/hmac.c keeps the key's states */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <alloca.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/sha.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../src/consent/consent.h"
#include "../../../src/core/encode.h"
#include "../../../src/core/secret.h"
#include "../../../src/crypto/hmac.h"
#include "../../../src/crypto/oprf.h"
#include "../../../src/deid/oprf_files.h"
#include "../../../src/pki/pki.h"
#include "../../../src/pseudonym/psn_input.h"
#include "../../../src/token/card.h"
#include "../../../src/token/p11_session.h"
#include "../check.h"
#include "../softhsm_scratch.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#define WINDOW 12     /* bytes of a secret that count as found */
#define SECRET_MAX 64 /* the longest secret looked for */

typedef struct hidden {
    const char *what;
    uint8_t masked[SECRET_MAX], pad[SECRET_MAX];
    size_t len;
} hidden;

/* keep secret[0..len) masked in h; the caller wipes its own copy */
static void hide(hidden *h, const char *what, const uint8_t *secret, size_t len)
{
    h->what = what;
    h->len = len < SECRET_MAX ? len : SECRET_MAX;
    randombytes_buf(h->pad, sizeof h->pad);
    for (size_t i = 0; i < h->len; i++)
        h->masked[i] = secret[i] ^ h->pad[i];
}

/* The search keeps its state out of the stack, so that it does not write
 * over what a function that returned left there (a PIN in a frame). */
static uint8_t chunk[1 << 20];
static char maps[1 << 18];
static uint64_t starts[256]; /* bit j for byte b: window j begins with b */

/* places in buf[0..n) where a WINDOW of the secret starts */
static size_t count_in(const hidden *h, const uint8_t *buf, size_t n)
{
    size_t found = 0;
    for (size_t i = 0; i + WINDOW <= n; i++) {
        uint64_t js = starts[buf[i]];
        while (js) {
            unsigned j = (unsigned)__builtin_ctzll(js);
            js &= js - 1;
            size_t k = 1;
            while (k < WINDOW && buf[i + k] == (uint8_t)(h->masked[j + k] ^ h->pad[j + k]))
                k++;
            if (k == WINDOW) {
                found++;
                break;
            }
        }
    }
    return found;
}

/* how many places of this process's writable memory hold a WINDOW of h;
 * SIZE_MAX when the memory cannot be read */
static size_t scan(const hidden *h)
{
    size_t found = 0, len = 0;
    ssize_t got;
    memset(starts, 0, sizeof starts);
    for (size_t j = 0; j + WINDOW <= h->len; j++)
        starts[(uint8_t)(h->masked[j] ^ h->pad[j])] |= 1ull << j;
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC), mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
    while (fd >= 0 && len + 1 < sizeof maps && (got = read(fd, maps + len, sizeof maps - 1 - len)) > 0)
        len += (size_t)got;
    maps[len] = 0;
    if (fd < 0 || mem < 0 || len == 0 || len + 1 >= sizeof maps)
        found = SIZE_MAX;
    /* each line: "lo-hi perms offset dev inode [name]" */
    for (char *line = maps, *next; found != SIZE_MAX && *line; line = next) {
        next = strchr(line, '\n');
        next = next ? next + 1 : line + strlen(line);
        char *p = line;
        unsigned long lo = strtoul(p, &p, 16), hi = *p == '-' ? strtoul(p + 1, &p, 16) : 0;
        if (*p != ' ' || p[1] != 'r' || p[2] != 'w' || memmem(line, (size_t)(next - line), "[vvar", 5) ||
            memmem(line, (size_t)(next - line), "[vsyscall]", 10))
            continue;
        /* the search's own buffer is read into itself: what it held before,
         * which was searched already */
        for (unsigned long at = lo; at < hi;) {
            size_t want = hi - at < sizeof chunk ? hi - at : sizeof chunk;
            if ((got = pread(mem, chunk, want, (off_t)at)) <= 0) {
                at += 4096; /* a page that cannot be read */
                continue;
            }
            found += count_in(h, chunk, (size_t)got);
            /* windows across two reads: step back WINDOW - 1 bytes */
            at += (size_t)got > WINDOW ? (size_t)got - (WINDOW - 1) : (size_t)got;
        }
    }
    if (fd >= 0)
        close(fd);
    if (mem >= 0)
        close(mem);
    mr_wipe(starts, sizeof starts);
    mr_wipe(chunk, sizeof chunk);
    return found;
}

static void expect_gone(const hidden *h)
{
    size_t n = scan(h);
    if (n == SIZE_MAX)
        fprintf(stderr, "%s: this process's memory cannot be read\n", h->what);
    else if (n)
        fprintf(stderr, "%s: %zu copies left in memory\n", h->what, n);
    else
        printf("%s: no copy left\n", h->what);
    CHECK(n == 0);
}

/* the search finds what is there: a copy in a live heap block */
static void scan_finds(void)
{
    uint8_t s[40];
    randombytes_buf(s, sizeof s);
    hidden h;
    hide(&h, "a secret still held", s, sizeof s);
    uint8_t *held = malloc(sizeof s);
    memcpy(held, s, sizeof s);
    mr_wipe(s, sizeof s);
    size_t n = scan(&h);
    CHECK(n >= 1 && n != SIZE_MAX);
    mr_wipe(held, sizeof s);
    free(held);
    CHECK(scan(&h) == 0);
}

/* a PIN of 48 letters and digits: long enough that what an allocator
 * writes over the start of a freed block cannot hide it */
static void make_pin(char pin[49])
{
    static const char A[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    for (size_t i = 0; i < 48; i++)
        pin[i] = A[randombytes_uniform(sizeof A - 1)];
    pin[48] = 0;
}

/* Each step of a flow runs with its frames this many bytes below the
 * test's, a different depth for each step, deepest first: what a step's
 * functions leave on the stack after they return is then written over
 * neither by the steps after it nor by the search (whose buffers are
 * static), and a missing wipe of a local array shows. 24 KiB apart: no
 * step here goes deeper than that below its start. */
#define STEP_APART (24 << 10)

static void at_depth(size_t depth, void (*step)(void *), void *arg)
{
    char *pad = alloca(depth);
    __asm__ volatile("" : : "r"(pad) : "memory"); /* keep the room taken */
    step(arg);
}

typedef struct consent_run {
    const char *module, *pin_file, *label;
    mr_token *physician, *patient, *registry, *opened;
    mr_hybrid_to to_registry;
    mr_fingerprint_msg fm;
    mr_p11_session session; /* closed after the search: closing writes over the frames */
    int logged_in;
    uint8_t secret[32], sid[16], spk[32], ssk[32], hk[32], hk2[32], k[32], nonce[32], terms[32];
    uint8_t n2[32], t2[32], *k2, *m;
    size_t k2l, ml;
} consent_run;

/* card r->label, its PIN from r->pin_file; its URI written into uri */
static mr_token_spec card_spec(const consent_run *r, char uri[512])
{
    snprintf(uri, 512, "pkcs11:token=%s?module-path=%s", r->label, r->module);
    return (mr_token_spec){.key = uri, .pin_file = r->pin_file};
}

static void step_open_card(void *arg)
{
    consent_run *r = arg;
    char uri[512];
    mr_token_spec spec = card_spec(r, uri);
    char *err = NULL;
    medreg_err rc = mr_token_open(&spec, &r->opened, &err);
    if (rc != MEDREG_OK)
        fprintf(stderr, "open %s: %s\n", r->label, err ? err : medreg_strerror(rc));
    free(err);
}

static mr_token *open_card(consent_run *r, const char *label)
{
    r->label = label;
    r->opened = NULL;
    at_depth(7 * STEP_APART, step_open_card, r);
    CHECK(r->opened != NULL);
    return r->opened;
}

/* the log-in alone (mr_token_open goes on to other calls at its depth) */
static void step_log_in(void *arg)
{
    consent_run *r = arg;
    char uri[512];
    mr_token_spec spec = card_spec(r, uri);
    P11KitUri *parsed = NULL;
    char *err = NULL;
    medreg_err rc = mr_p11_session_open(&spec, 0, &r->session, &parsed, &err);
    if (rc != MEDREG_OK)
        fprintf(stderr, "log-in %s: %s\n", r->label, err ? err : medreg_strerror(rc));
    CHECK(rc == MEDREG_OK);
    free(err);
    r->logged_in = rc == MEDREG_OK;
    p11_kit_uri_free(parsed);
}

static void step_client_fingerprint(void *arg)
{
    consent_run *r = arg;
    CHECK(mr_consent_client_fingerprint(r->patient, r->physician, &r->to_registry, r->sid, MR_PURPOSE_ENROLL, r->spk,
                                        "hip", "ABCD-EFGH-JKLM-N", NULL, &r->fm) == MEDREG_OK);
}

static void step_server_fingerprint(void *arg)
{
    consent_run *r = arg;
    CHECK(mr_consent_server_fingerprint(r->registry, r->secret, r->sid, MR_PURPOSE_ENROLL, r->fm.client_pk, r->fm.k3,
                                        r->fm.k3_len, r->hk, &r->k2, &r->k2l) == MEDREG_OK);
    mr_fingerprint_msg_clear(&r->fm);
}

static void step_client_open(void *arg)
{
    consent_run *r = arg;
    CHECK(mr_consent_client_open(r->patient, r->k2, r->k2l, r->k) == MEDREG_OK);
}

static void step_client_answer(void *arg)
{
    consent_run *r = arg;
    CHECK(mr_consent_client_answer(&r->to_registry, r->sid, r->k, r->nonce, r->terms, &r->m, &r->ml) == MEDREG_OK);
}

static void step_server_answer(void *arg)
{
    consent_run *r = arg;
    CHECK(mr_consent_server_answer(r->registry, r->sid, r->m, r->ml, r->hk2, r->n2, r->t2) == MEDREG_OK);
    CHECK(mr_ct_equal(r->hk, r->hk2, 32));
}

/* Cards made with two PINs each, opened with the PIN from a file; then the
 * consent protocol's K, from enrollment to the registry's check of the
 * patient's answer, as at a physician's */
static void cards_and_consent(const char *module, const char *pki)
{
    char pin[49], so[49];
    hidden h_pin, h_so, h_k;
    make_pin(pin);
    make_pin(so);
    hide(&h_pin, "the card's PIN", (const uint8_t *)pin, 48);
    hide(&h_so, "the card's SO PIN", (const uint8_t *)so, 48);
    consent_run *r = calloc(1, sizeof *r);
    if (r == NULL) {
        CHECK(0);
        return;
    }
    r->module = module;
    r->pin_file = path("pin");
    CHECK(mr_secret_file_write(r->pin_file, pin, 48) == MEDREG_OK);
    static const char *const CARDS[][2] = {{"patient-ec", "p256"}, {"patient-rsa", "rsa2048"}, {"physician", "p256"}};
    for (size_t i = 0; i < 3; i++) {
        mr_card_spec cs = {module, CARDS[i][0], pin, so, CARDS[i][1], pki, "card-holder", NULL};
        char *err = NULL;
        medreg_err rc = mr_card_init(&cs, &err);
        if (rc != MEDREG_OK)
            fprintf(stderr, "card init %s: %s\n", CARDS[i][0], err ? err : "?");
        free(err);
        CHECK(rc == MEDREG_OK);
    }
    mr_wipe(pin, sizeof pin);
    mr_wipe(so, sizeof so);

    r->label = "patient-ec";
    at_depth(7 * STEP_APART, step_log_in, r);
    expect_gone(&h_pin); /* the log-in's frames, not yet written over */
    if (r->logged_in)
        mr_p11_session_close(&r->session);
    r->physician = open_card(r, "physician");
    CHECK(mr_pki_issue(pki, "consent-key", 0, "p256") == MEDREG_OK);
    char rk[700];
    snprintf(rk, sizeof rk, "%.600s/consent-key.key", pki);
    mr_token_spec rs = {.key = rk};
    char *err = NULL;
    CHECK(mr_token_open(&rs, &r->registry, &err) == MEDREG_OK);
    free(err);
    mr_hybrid_to_token(r->registry, MR_OAEP_SHA1, &r->to_registry);
    for (size_t c = 0; c < 2 && r->registry && r->physician; c++) {
        if ((r->patient = open_card(r, CARDS[c][0])) == NULL)
            continue;
        randombytes_buf(r->secret, sizeof r->secret);
        randombytes_buf(r->sid, sizeof r->sid);
        randombytes_buf(r->nonce, sizeof r->nonce);
        mr_consent_terms_digest("grant;exclude=;days=30", r->terms);
        mr_consent_server_ephemeral(r->secret, r->sid, r->spk, r->ssk);
        at_depth(6 * STEP_APART, step_client_fingerprint, r);
        at_depth(5 * STEP_APART, step_server_fingerprint, r);
        at_depth(3 * STEP_APART, step_client_open, r);
        hide(&h_k, c ? "K, with an RSA card" : "K, with an EC card", r->k, sizeof r->k);
        at_depth(2 * STEP_APART, step_client_answer, r);
        mr_wipe(r->k, sizeof r->k);
        at_depth(STEP_APART, step_server_answer, r);
        free(r->m);
        free(r->k2);
        mr_wipe(r->secret, sizeof r->secret);
        mr_wipe(r->ssk, sizeof r->ssk);
        mr_token_close(r->patient);
        expect_gone(&h_k);
    }
    mr_token_close(r->physician);
    mr_token_close(r->registry);
    free(r);
    expect_gone(&h_pin);
    expect_gone(&h_so);
}

/* a module key from its file into an HMAC context, a PSN, both released;
 * the context keeps SHA-256 after the key's padded block, as good as the
 * key: that is looked for too */
static void module_key(void)
{
    uint8_t key[MEDREG_PSN_KEY_BYTES], psn[MEDREG_PSN_BYTES], *loaded = NULL, block[64] = {0};
    hidden h, h_state;
    randombytes_buf(key, sizeof key);
    hide(&h, "a module key", key, sizeof key);
    memcpy(block, key, sizeof key);
    for (size_t i = 0; i < sizeof block; i++)
        block[i] ^= 0x36;
    SHA256_CTX inner;
    SHA256_Init(&inner);
    SHA256_Update(&inner, block, sizeof block);
    hide(&h_state, "a module key's HMAC state", (const uint8_t *)inner.h, sizeof inner.h);
    mr_wipe(&inner, sizeof inner);
    mr_wipe(block, sizeof block);
    char *file = path("module.key");
    CHECK(mr_secret_file_write(file, key, sizeof key) == MEDREG_OK);
    mr_wipe(key, sizeof key);
    size_t len = 0;
    mr_hmac *mac = NULL;
    CHECK(mr_secret_file_read(file, MEDREG_PSN_KEY_BYTES, 0, &loaded, &len) == MEDREG_OK);
    CHECK(loaded && mr_hmac_new(loaded, len, &mac) == MEDREG_OK);
    mr_secret_free(loaded);
    medreg_psn_field f = {"id", "12345"};
    CHECK(mac && mr_psn_derive_mac(mac, 1, "hip", &f, 1, psn) == MEDREG_OK);
    size_t held = scan(&h_state); /* the search finds the state while the context holds it */
    CHECK(held >= 1 && held != SIZE_MAX);
    mr_hmac_free(mac);
    expect_gone(&h);
    expect_gone(&h_state);
}

/* a secret inside a JSON document (an offline run's blinding seed) */
static void json_secret(void)
{
    uint8_t seed[32];
    char hex[65], *text = malloc(128);
    hidden h;
    randombytes_buf(seed, sizeof seed);
    sodium_bin2hex(hex, sizeof hex, seed, sizeof seed);
    hide(&h, "a secret in JSON", (const uint8_t *)hex, 64);
    snprintf(text, 128, "{\"seed\": \"%s\"}", hex);
    mr_wipe(hex, sizeof hex);
    mr_wipe(seed, sizeof seed);
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    mr_wipe(text, 128);
    free(text);
    CHECK(doc != NULL && json_string_length(json_object_get(doc, "seed")) == 64);
    json_decref(doc);
    mr_wipe(&jerr, sizeof jerr);
    expect_gone(&h);
}

/* an offline run's blinding seed, written to a state file's text and read
 * back (`pseudonymize --prepare`, then `--finish`) */
static void oprf_state_seed(void)
{
    mr_oprf_state *st = sodium_malloc(sizeof *st);
    hidden h_seed, h_text;
    char *err = NULL;
    if (st == NULL) {
        CHECK(0);
        return;
    }
    memset(st, 0, sizeof *st);
    snprintf(st->pin.module, sizeof st->pin.module, "hip");
    st->pin.key_id = 7;
    crypto_core_ristretto255_random(st->pin.pk);
    randombytes_buf(st->seed, sizeof st->seed);
    st->inputs = 3;
    char *b64 = mr_base64(st->seed, sizeof st->seed);
    CHECK(b64 != NULL && strlen(b64) == 44);
    hide(&h_seed, "an offline run's seed", st->seed, sizeof st->seed);
    hide(&h_text, "an offline run's seed, as text", (const uint8_t *)b64, b64 ? strlen(b64) : 0);
    if (b64) {
        mr_wipe(b64, strlen(b64));
        free(b64);
    }
    char *text = mr_oprf_state_text(st);
    mr_wipe(st, sizeof *st);
    CHECK(text != NULL && mr_oprf_state_parse(text, strlen(text), st, &err) == MEDREG_OK && st->inputs == 3);
    free(err);
    if (text) {
        mr_wipe(text, strlen(text));
        free(text);
    }
    mr_secret_free(st);
    expect_gone(&h_seed);
    expect_gone(&h_text);
}

/* A network-wide PSN's client side: two inputs blinded, evaluated by the
 * service's key, unblinded together (one inversion for both) and hashed.
 * A blind, its inverse and an unblinded element each tell the PSN of an
 * input to whoever holds them with the evaluation. */
typedef struct oprf_run {
    uint8_t sk[MR_OPRF_SCALAR_BYTES], pk[MR_OPRF_ELEMENT_BYTES], blind[2][MR_OPRF_SCALAR_BYTES];
    uint8_t blinded[2][MR_OPRF_ELEMENT_BYTES], evaluated[2][MR_OPRF_ELEMENT_BYTES], unblinded[2][MR_OPRF_ELEMENT_BYTES];
    uint8_t proof[MR_OPRF_PROOF_BYTES], out[2][MR_OPRF_OUTPUT_BYTES];
} oprf_run;

static const char *const OPRF_INPUTS[2] = {"family_name=Meier;given_name=Anna;birth_date=1970-01-01",
                                           "family_name=Keller;given_name=Urs;birth_date=1955-05-05"};

static void step_oprf_blind(void *arg)
{
    oprf_run *o = arg;
    for (size_t i = 0; i < 2; i++)
        CHECK(mr_oprf_blind(MR_OPRF_MODE_VERIFIABLE, (const uint8_t *)OPRF_INPUTS[i], strlen(OPRF_INPUTS[i]), NULL,
                            o->blind[i], o->blinded[i]) == MEDREG_OK);
}

static void step_oprf_evaluate(void *arg)
{
    oprf_run *o = arg;
    size_t bad = 0;
    CHECK(mr_oprf_evaluate(MR_OPRF_MODE_VERIFIABLE, o->sk, o->pk, (const uint8_t(*)[MR_OPRF_ELEMENT_BYTES])o->blinded,
                           2, o->evaluated, NULL, o->proof, &bad) == MEDREG_OK);
}

static void step_oprf_unblind(void *arg)
{
    oprf_run *o = arg;
    mr_oprf_unblind items[2] = {{o->blind[0], o->evaluated[0], o->unblinded[0]},
                                {o->blind[1], o->evaluated[1], o->unblinded[1]}};
    CHECK(mr_oprf_unblind_many(items, 2) == MEDREG_OK);
}

static void step_oprf_finalize(void *arg)
{
    oprf_run *o = arg;
    for (size_t i = 0; i < 2; i++)
        CHECK(mr_oprf_finalize_unblinded((const uint8_t *)OPRF_INPUTS[i], strlen(OPRF_INPUTS[i]), o->unblinded[i],
                                         o->out[i]) == MEDREG_OK);
}

/* p - x for the field prime p = 2^255 - 19, little-endian: the other sign
 * of an element's encoding, which libsodium tests on a copy in bytes while
 * it encodes (fe25519_abs): the copy is the result or this */
static void negate_mod_p(const uint8_t x[32], uint8_t out[32])
{
    int borrow = 0;
    for (size_t i = 0; i < 32; i++) {
        int p = i == 0 ? 0xed : i == 31 ? 0x7f : 0xff, d = p - x[i] - borrow;
        borrow = d < 0;
        out[i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
}

static void oprf_client(void)
{
    oprf_run *o = calloc(1, sizeof *o);
    hidden h_blind, h_inverse, h_unblinded, h_negated;
    uint8_t seed[32], inverse[MR_OPRF_SCALAR_BYTES], negated[MR_OPRF_ELEMENT_BYTES];
    if (o == NULL) {
        CHECK(0);
        return;
    }
    randombytes_buf(seed, sizeof seed);
    CHECK(mr_oprf_derive_key(MR_OPRF_MODE_VERIFIABLE, seed, sizeof seed, (const uint8_t *)"test", 4, o->sk, o->pk) ==
          MEDREG_OK);
    at_depth(4 * STEP_APART, step_oprf_blind, o);
    hide(&h_blind, "a VOPRF blind", o->blind[0], MR_OPRF_SCALAR_BYTES);
    CHECK(crypto_core_ristretto255_scalar_invert(inverse, o->blind[0]) == 0);
    hide(&h_inverse, "a VOPRF blind's inverse", inverse, sizeof inverse);
    mr_wipe(inverse, sizeof inverse);
    at_depth(3 * STEP_APART, step_oprf_evaluate, o);
    at_depth(2 * STEP_APART, step_oprf_unblind, o);
    hide(&h_unblinded, "an unblinded VOPRF element", o->unblinded[0], MR_OPRF_ELEMENT_BYTES);
    negate_mod_p(o->unblinded[0], negated);
    hide(&h_negated, "an unblinded VOPRF element, its other sign", negated, sizeof negated);
    mr_wipe(negated, sizeof negated);
    at_depth(STEP_APART, step_oprf_finalize, o);
    mr_wipe(o, sizeof *o);
    free(o);
    expect_gone(&h_blind);
    expect_gone(&h_inverse);
    expect_gone(&h_unblinded);
    expect_gone(&h_negated);
}

int main(int argc, char **argv)
{
#ifdef UNDER_ASAN
    fprintf(stderr, "AddressSanitizer maps terabytes of shadow memory: not searched, skipped\n");
    return 77;
#endif
    /* bound at start, as medregd runs (lazily bound, the dynamic linker
     * leaves copies of registers on the stack: mr_bind_now) */
    if (mr_bind_now(argv) != MEDREG_OK) {
        perror("test_wipe: cannot run itself again with LD_BIND_NOW=1");
        return 1;
    }
    const char *module = argc > 1 ? argv[1] : "/usr/lib/softhsm/libsofthsm2.so";
    CHECK(sodium_init() >= 0);
    mr_json_wipe_freed(); /* as every program of medreg starts */
    CHECK(softhsm_scratch("wipe"));
    scan_finds();
    module_key();
    json_secret();
    oprf_state_seed();
    oprf_client();
    if (access(module, R_OK) == 0) {
        char pki[600];
        snprintf(pki, sizeof pki, "%s", path("pki"));
        CHECK(mr_pki_init(pki) == MEDREG_OK);
        cards_and_consent(module, pki);
    } else {
        fprintf(stderr, "no PKCS#11 module at %s: cards not tried\n", module);
    }
    scratch_remove();
    return TEST_DONE();
}
