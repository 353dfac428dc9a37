/* An attacking consent client for the integration tests: the real client
 * half (cli_consent_run) with hooks that alter what it sends, plus helpers
 * that play a dishonest registry (a K'' the card never signed) or read a
 * card's public key. Never installed.
 *
 * usage: consent_attack --as PATH/NAME enroll|request ARGS [--tamper T]
 *            [--save-k F] [--save-answer F] [--replay-answer F] [--use-k F]
 *            [--before-send CMD]   (a shell command run between start and answer)
 *            [--finish-as PATH/NAME] (another caller sends the answer)
 *            [--finish-again]      (then the unaltered finish to the same session)
 *        consent_attack craft-k2 --patient-card CARD
 *        consent_attack pubkey --patient-card CARD
 * T: flip-k3, no-physician-sig, flip-answer, other-nonce, other-terms, remove-card */
#include <curl/curl.h>
#include <dirent.h>
#include <getopt.h>
#include <openssl/core_names.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/cli/consent_client.h"
#include "../../src/core/secret.h"
#include "../../src/crypto/hybrid.h"

static const char *tamper, *save_k, *save_answer, *replay_answer, *card_label, *before_cmd;
/* --finish-as: the certificate and key the answer is sent with */
static cli *client;
static char finish_cert[4096], finish_key[4096];

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (fp == NULL || fwrite(p, 1, n, fp) != n)
        fprintf(stderr, "consent_attack: cannot write %s\n", path);
    if (fp)
        fclose(fp);
}

/* Pull the card out: remove the SoftHSM2 token directory holding its label. */
static void remove_card(const consent_tamper *t)
{
    (void)t;
    char conf[4096] = "", dir[4096] = "", cmd[8300];
    FILE *fp = fopen(getenv("SOFTHSM2_CONF"), "r");
    static const char key[] = "directories.tokendir = ";
    while (fp && fgets(conf, sizeof conf, fp))
        if (strncmp(conf, key, sizeof key - 1) == 0) {
            snprintf(dir, sizeof dir, "%.*s", (int)strcspn(conf + sizeof key - 1, " \t\r\n"), conf + sizeof key - 1);
            break;
        }
    if (fp)
        fclose(fp);
    snprintf(cmd, sizeof cmd, "grep -l -a -F '%s' '%s'/*/token.object | xargs -r -n1 dirname | xargs -r rm -rf",
             card_label, dir);
    if (system(cmd) != 0)
        fprintf(stderr, "consent_attack: could not remove the card\n");
}

static medreg_err before_send(const consent_tamper *t, mr_fingerprint_msg *fm, const uint8_t k[MR_CONSENT_K_BYTES],
                              uint8_t **m, size_t *m_len)
{
    (void)t;
    if (before_cmd && system(before_cmd) != 0)
        fprintf(stderr, "consent_attack: the --before-send command failed\n");
    if (save_k)
        write_file(save_k, k, MR_CONSENT_K_BYTES);
    if (tamper && !strcmp(tamper, "flip-k3"))
        fm->k3[fm->k3_len / 2] ^= 1;
    if (tamper && !strcmp(tamper, "no-physician-sig"))
        fm->physician_sig_len = 0;
    if (tamper && !strcmp(tamper, "flip-answer") && *m)
        (*m)[*m_len / 2] ^= 1;
    if (replay_answer) {
        char *old = NULL;
        size_t n = 0;
        if (mr_file_read(replay_answer, MR_HYBRID_MAX, &old, &n) != MEDREG_OK)
            return MEDREG_ERR_IO;
        free(*m);
        *m = (uint8_t *)old;
        *m_len = n;
    }
    if (save_answer && *m)
        write_file(save_answer, *m, *m_len);
    if (finish_cert[0]) /* each request connects anew (no cli_http): the next one is this caller's */
        client->cert = finish_cert, client->key = finish_key;
    return MEDREG_OK;
}

/* an answer sealed for this very session, but for another nonce, or for
 * other terms than the request and the physician's card signature say */
static void before_answer(const consent_tamper *t, uint8_t nonce[MR_CONSENT_NONCE_BYTES], uint8_t terms_digest[32])
{
    (void)t;
    if (tamper && !strcmp(tamper, "other-nonce"))
        nonce[0] ^= 1;
    if (tamper && !strcmp(tamper, "other-terms"))
        terms_digest[0] ^= 1;
}

static mr_token *open_card(const char *spec)
{
    mr_token_spec ts = {.key = spec, .pin_env = "MEDREG_PATIENT_PIN"};
    mr_token *t = NULL;
    char *err = NULL;
    if (mr_token_open(&ts, &t, &err) != MEDREG_OK)
        fprintf(stderr, "consent_attack: %s\n", err ? err : "cannot open the card");
    free(err);
    return t;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"as", required_argument, NULL, 'a'},           {"module", required_argument, NULL, 'm'},
        {"internal-id", required_argument, NULL, 'i'},  {"patient-card", required_argument, NULL, 'p'},
        {"physician-card", required_argument, NULL, 'd'}, {"exclude", required_argument, NULL, 'x'},
        {"days", required_argument, NULL, 'n'},         {"tamper", required_argument, NULL, 't'},
        {"save-k", required_argument, NULL, 'k'},       {"save-answer", required_argument, NULL, 's'},
        {"replay-answer", required_argument, NULL, 'r'}, {"use-k", required_argument, NULL, 'u'},
        {"before-send", required_argument, NULL, 'b'},  {"finish-as", required_argument, NULL, 'f'},
        {"finish-again", no_argument, NULL, 'g'},       {NULL, 0, NULL, 0}};
    cli c;
    consent_args a = {.days = 365};
    consent_tamper t = {.before_send = before_send};
    char cert[4096], key[4096], ca[4096], *use_k = NULL;
    int opt;

    memset(&c, 0, sizeof c);
    client = &c;
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    c.registry_url = getenv("MEDREG_REGISTRY");
    /* the subcommand may follow --as */
    const char *sub = NULL;
    for (int i = 1; i < argc && sub == NULL; i++)
        if (argv[i][0] != '-' && (i == 1 || strcmp(argv[i - 1], "--as") != 0)) {
            sub = argv[i];
            memmove(argv + i, argv + i + 1, (size_t)(argc - i) * sizeof *argv);
            argc--;
        }
    if (sub == NULL)
        return 2;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'a': {
            snprintf(cert, sizeof cert, "%s.crt", optarg);
            snprintf(key, sizeof key, "%s.key", optarg);
            const char *slash = strrchr(optarg, '/');
            snprintf(ca, sizeof ca, "%.*s/ca.crt", slash ? (int)(slash - optarg) : 1, slash ? optarg : ".");
            c.cert = cert, c.key = key, c.cacert = ca;
            break;
        }
        case 'm': a.module = optarg; break;
        case 'i': a.internal_id = optarg; break;
        case 'p': a.patient = optarg; break;
        case 'd': a.physician = optarg; break;
        case 'x': a.exclude = optarg; break;
        case 'n': a.days = strtol(optarg, NULL, 10); break;
        case 't': tamper = optarg; break;
        case 'k': save_k = optarg; break;
        case 's': save_answer = optarg; break;
        case 'r': replay_answer = optarg; break;
        case 'u': use_k = optarg; break;
        case 'b': before_cmd = optarg; break;
        case 'g': t.finish_again = 1; break;
        case 'f':
            snprintf(finish_cert, sizeof finish_cert, "%s.crt", optarg);
            snprintf(finish_key, sizeof finish_key, "%s.key", optarg);
            break;
        default: return 2;
        }
    }
    if (!strcmp(sub, "pubkey") || !strcmp(sub, "craft-k2")) {
        mr_token *card = open_card(a.patient);
        if (card == NULL)
            return 7;
        EVP_PKEY *pub = mr_token_public_key(card);
        uint8_t buf[1024], *ct = NULL;
        size_t n = 0, cl = 0;
        if (!strcmp(sub, "pubkey")) {
            BIGNUM *mod = NULL;
            if (EVP_PKEY_base_id(pub) == EVP_PKEY_RSA && EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &mod) == 1)
                n = (size_t)BN_bn2bin(mod, buf);
            else
                EVP_PKEY_get_octet_string_param(pub, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof buf, &n);
            BN_free(mod);
            ct = buf, cl = n;
        } else {
            /* what a dishonest registry would send: sealed to the card, with no card signature */
            uint8_t fake[36 + 64];
            int hash = MR_OAEP_SHA1;
            memset(fake, 0x5a, sizeof fake);
            fake[0] = 1, fake[1] = EVP_PKEY_base_id(pub) == EVP_PKEY_RSA ? 1 : 3, fake[34] = 0, fake[35] = 64;
            if (EVP_PKEY_base_id(pub) == EVP_PKEY_RSA && mr_token_oaep_hash(card, &hash) != MEDREG_OK)
                return 7;
            mr_hybrid_to to;
            mr_hybrid_to_token(card, hash, &to);
            if (mr_hybrid_seal(&to, (const uint8_t *)"medreg/consent/k2/v1", 20, fake, sizeof fake, &ct, &cl) !=
                MEDREG_OK)
                return 7;
        }
        for (size_t i = 0; i < cl; i++)
            printf("%02x", ct[i]);
        putchar('\n');
        if (ct != buf)
            free(ct);
        mr_token_close(card);
        return 0;
    }
    if (use_k) {
        char *k = NULL;
        size_t n = 0;
        if (mr_file_read(use_k, 64, &k, &n) != MEDREG_OK || n != MR_CONSENT_K_BYTES)
            return 7;
        memcpy(t.k, k, n);
        t.use_k = 1;
        free(k);
    }
    t.before_answer = before_answer;
    if (tamper && !strcmp(tamper, "remove-card")) {
        const char *l = strstr(a.patient, "token=");
        static char label[64];
        snprintf(label, sizeof label, "%.*s", l ? (int)strcspn(l + 6, ";?") : 0, l ? l + 6 : "");
        card_label = label;
        t.after_start = remove_card;
    }
    int code = cli_consent_run(&c, !strcmp(sub, "request") ? "consent" : sub, &a, &t);
    curl_global_cleanup();
    return code;
}
