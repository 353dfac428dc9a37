/* Opening a service: load modules, keys (into locked memory) and the
 * database; refuse to start on anything inconsistent, naming the cause. */
#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/secret.h"
#include "../core/work_pool.h"
#include "../crypto/psn_token.h"
#include "../ledger/log.h"
#include "../pki/cert_cache.h"
#include "../pseudonym/psn_input.h"
#include "../consent/consent.h"
#include "../token/key25519.h"
#include "../token/token.h"

static medreg_err read_public(const char *path, uint8_t *dst, size_t len, char **errmsg)
{
    char *buf = NULL;
    size_t n = 0;
    medreg_err rc = mr_regular_file_read(path, len, &buf, &n);
    const char *why = rc == MEDREG_ERR_INVALID ? "not a regular file" : medreg_strerror(rc);
    if (rc == MEDREG_OK && n != len)
        rc = MEDREG_ERR_INVALID;
    if (rc == MEDREG_OK)
        memcpy(dst, buf, len);
    else if (asprintf(errmsg, "%s: cannot read a %zu-byte public key: %s", path, len, why) < 0)
        *errmsg = NULL;
    free(buf);
    return rc;
}

static medreg_err read_secret(const char *path, size_t len, uint8_t **out, char **errmsg)
{
    medreg_err rc = mr_secret_file_read(path, len, 0, out, NULL);
    if (rc != MEDREG_OK &&
        asprintf(errmsg, "%s: cannot read a %zu-byte key: %s%s", path, len, medreg_strerror(rc),
                 rc == MEDREG_ERR_DENIED ? " (key files must be mode 0600)" : "") < 0)
        *errmsg = NULL;
    return rc;
}

static medreg_err read_pem(const char *path, char *dst, size_t cap, char **errmsg)
{
    char *buf = NULL;
    size_t n = 0;
    medreg_err rc = mr_regular_file_read(path, cap - 1, &buf, &n);
    if (rc == MEDREG_OK) {
        memcpy(dst, buf, n + 1);
    } else if (asprintf(errmsg, "%s: cannot read: %s", path,
                        rc == MEDREG_ERR_INVALID ? "not a regular file" : medreg_strerror(rc)) < 0) {
        *errmsg = NULL;
    }
    free(buf);
    return rc;
}

/* The ledger's step: the stored entries past the tree become a new signed
 * checkpoint (never one signature per entry). */
static void ledger_tick(mr_service *s)
{
    size_t added = 0;
    medreg_err rc = mr_ledger_integrate(s->ledger, (size_t)1 << 22, &added);
    if (rc != MEDREG_OK)
        fprintf(stderr, "medregd: ledger: sequencing failed (%s); retrying next interval\n", medreg_strerror(rc));
}

/* identity, registry: events to the ledger, as long as there are some, in
 * rounds as large as the ledger takes (a round's commits and round trip
 * cost the same for 10 events as for 1,000; the ledger takes up to 1,000
 * per request within its max_body) */
static void events_tick(mr_service *s)
{
    size_t n = 0;
    medreg_err rc;
    while ((rc = mr_events_ship(s, s->events_round, &n)) == MEDREG_OK ? n > 0 : rc == MEDREG_ERR_TOOBIG) {
        if (rc == MEDREG_ERR_TOOBIG) {
            if (s->events_round == 1)
                break; /* one event too large: post() has said so; retried next tick */
            s->events_round /= 2;
        }
    }
}

/* One thread per service that has periodic work: every tick_ms, tick(). */
static void *ticker(void *arg)
{
    mr_service *s = arg;
    pthread_mutex_lock(&s->tick_lock);
    while (!s->tick_stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        long ns = until.tv_nsec + (long)(s->tick_ms % 1000) * 1000000L;
        until.tv_sec += s->tick_ms / 1000 + ns / 1000000000L;
        until.tv_nsec = ns % 1000000000L;
        pthread_cond_timedwait(&s->tick_wake, &s->tick_lock, &until);
        if (s->tick_stop)
            break;
        pthread_mutex_unlock(&s->tick_lock);
        s->tick(s);
        pthread_mutex_lock(&s->tick_lock);
    }
    pthread_mutex_unlock(&s->tick_lock);
    return NULL;
}

/* A service's Curve25519 key, from its file or its token (the PIN as for
 * the TLS key), with the setting named in any error. */
static medreg_err open_key25519(const mr_service_config *cfg, const char *setting, const char *where,
                                mr_key25519_kind kind, mr_key25519 **out, char **errmsg)
{
    mr_token_spec ks = {.key = where, .module = cfg->pkcs11_module, .pin_file = cfg->pin_file,
                        .pin_env = "MEDREG_PKCS11_PIN"};
    char *kerr = NULL;
    medreg_err rc = mr_key25519_open(&ks, kind, out, &kerr);
    if (rc != MEDREG_OK) {
        if (asprintf(errmsg, "%s: %s: %s", cfg->path, setting, kerr ? kerr : medreg_strerror(rc)) < 0)
            *errmsg = NULL;
        rc = rc == MEDREG_ERR_NOMEM ? rc : MEDREG_ERR_CONFIG;
    }
    free(kerr);
    return rc;
}

/* A signed-note private key of type alg: PRIVATE+KEY+… in a 0600 file, or an
 * Ed25519 key on a token, which signs as `name`. */
static medreg_err read_note_signer(const mr_service_config *cfg, const char *setting, const char *path,
                                   const char *name, uint8_t alg, mr_note_signer *out, char **errmsg)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    medreg_err rc;
    memset(out, 0, sizeof *out);
    if (strncmp(path, "pkcs11:", 7) == 0) {
        mr_key25519 *k = NULL;
        if ((rc = open_key25519(cfg, setting, path, MR_KEY_ED25519, &k, errmsg)) != MEDREG_OK)
            return rc;
        if ((rc = mr_note_signer_from_key(name, alg, k, out)) != MEDREG_OK)
            mr_key25519_close(k);
        return rc;
    }
    if (mr_secret_file_read(path, 0, 1024, &raw, &len) != MEDREG_OK) {
        if (asprintf(errmsg, "%s: cannot read the key (a file of mode 0600; medreg ledger key new)", path) < 0)
            *errmsg = NULL;
        return MEDREG_ERR_CONFIG;
    }
    while (len > 0 && (raw[len - 1] == '\n' || raw[len - 1] == '\r'))
        raw[--len] = 0;
    char *skey = malloc(len + 1);
    rc = skey ? MEDREG_OK : MEDREG_ERR_NOMEM;
    if (skey) {
        memcpy(skey, raw, len);
        skey[len] = 0;
        rc = mr_note_signer_parse(skey, out);
        mr_wipe(skey, len);
        free(skey);
    }
    mr_secret_free(raw);
    if (rc == MEDREG_OK && out->v.alg != alg) {
        mr_note_signer_clear(out);
        rc = MEDREG_ERR_INVALID;
    }
    if (rc != MEDREG_OK) {
        if (asprintf(errmsg, "%s: not a %s private key (PRIVATE+KEY+NAME+ID+KEY)", path,
                     alg == MR_NOTE_ALG_COSIGNATURE ? "witness cosigning (medreg ledger key new --witness)"
                                                    : "signed-note") < 0)
            *errmsg = NULL;
        return MEDREG_ERR_CONFIG;
    }
    return MEDREG_OK;
}

static medreg_err witness_start(mr_service *s, char **errmsg)
{
    mr_service_config *cfg = s->cfg;
    medreg_err rc;
    s->witness = calloc(1, sizeof *s->witness);
    s->witness_logs = calloc(cfg->witness_n_logs, sizeof *s->witness_logs);
    if (s->witness == NULL || s->witness_logs == NULL)
        return MEDREG_ERR_NOMEM;
    if ((rc = read_note_signer(cfg, "[witness] signing_key", cfg->witness_signing_key, cfg->witness_name,
                               MR_NOTE_ALG_COSIGNATURE, s->witness, errmsg)) != MEDREG_OK)
        return rc;
    for (size_t i = 0; i < cfg->witness_n_logs; i++) {
        if (mr_note_verifier_parse(cfg->witness_logs[i], &s->witness_logs[i]) != MEDREG_OK ||
            s->witness_logs[i].alg != MR_NOTE_ALG_ED25519) {
            if (asprintf(errmsg, "%s: [witness] log '%.80s' is not a log's verifier key", cfg->path,
                         cfg->witness_logs[i]) < 0)
                *errmsg = NULL;
            return MEDREG_ERR_CONFIG;
        }
    }
    s->witness_n_logs = cfg->witness_n_logs;
    return MEDREG_OK;
}

static medreg_err start_ticker(mr_service *s)
{
    pthread_mutex_init(&s->tick_lock, NULL);
    pthread_cond_init(&s->tick_wake, NULL);
    if (pthread_create(&s->ticker, NULL, ticker, s) != 0)
        return MEDREG_ERR_NOMEM;
    s->ticker_running = 1;
    return MEDREG_OK;
}

static medreg_err ledger_start(mr_service *s, char **errmsg)
{
    mr_service_config *cfg = s->cfg;
    mr_note_signer signer;
    char *why = NULL;
    medreg_err rc;
    if ((rc = read_note_signer(cfg, "[ledger] signing_key", cfg->ledger_signing_key, cfg->ledger_origin,
                               MR_NOTE_ALG_ED25519, &signer, errmsg)) != MEDREG_OK)
        return rc;
    rc = mr_ledger_open(s->db, cfg->ledger_origin, &signer, &s->ledger, &why);
    mr_note_signer_clear(&signer);
    if (rc != MEDREG_OK) {
        if (asprintf(errmsg, "%s: the ledger cannot start: %s", cfg->path, why ? why : medreg_strerror(rc)) < 0)
            *errmsg = NULL;
        free(why);
        return rc;
    }
    if (cfg->ledger_n_witnesses) {
        s->ledger_witnesses = calloc(cfg->ledger_n_witnesses, sizeof *s->ledger_witnesses);
        if (s->ledger_witnesses == NULL)
            return MEDREG_ERR_NOMEM;
        for (size_t i = 0; i < cfg->ledger_n_witnesses; i++)
            if (mr_note_verifier_parse(cfg->ledger_witness_keys[i], &s->ledger_witnesses[i]) != MEDREG_OK ||
                s->ledger_witnesses[i].alg != MR_NOTE_ALG_COSIGNATURE) {
                if (asprintf(errmsg, "%s: [ledger] witness %s: not a witness's cosigning key", cfg->path,
                             cfg->ledger_witness_urls[i]) < 0)
                    *errmsg = NULL;
                return MEDREG_ERR_CONFIG;
            }
        s->ledger_n_witnesses = cfg->ledger_n_witnesses;
        if (strncmp(cfg->tls_key, "pkcs11:", 7) == 0) {
            if (asprintf(errmsg, "%s: asking witnesses needs the TLS key in a file (a pkcs11: key is not yet "
                                 "supported for the ledger's outgoing connections)", cfg->path) < 0)
                *errmsg = NULL;
            return MEDREG_ERR_CONFIG;
        }
        mr_ledger_set_cosigner(s->ledger, mr_witness_cosign, s);
    }
    s->tick = ledger_tick;
    s->tick_ms = cfg->ledger_interval_ms;
    return start_ticker(s);
}

static medreg_err events_start(mr_service *s, char **errmsg)
{
    mr_service_config *cfg = s->cfg;
    medreg_err rc = read_secret(cfg->events_key, 32, &s->events_key, errmsg);
    if (rc != MEDREG_OK)
        return rc;
    s->events_round = 1000;
    if (strncmp(cfg->tls_key, "pkcs11:", 7) == 0) {
        if (asprintf(errmsg, "%s: sending events to the ledger needs the TLS key in a file for now", cfg->path) < 0)
            *errmsg = NULL;
        return MEDREG_ERR_CONFIG;
    }
    s->tick = events_tick;
    s->tick_ms = 200;
    return start_ticker(s);
}

/* K, the PSN-token box key, from this service's key and the other's. */
static medreg_err token_key_agree(mr_service *s, mr_key25519 *own, const uint8_t peer[32])
{
    uint8_t z[32];
    s->token_key = sodium_malloc(MR_TOKEN_KEY_BYTES);
    if (s->token_key == NULL)
        return MEDREG_ERR_NOMEM;
    medreg_err rc = mr_key25519_agree(own, peer, z);
    if (rc == MEDREG_OK)
        rc = mr_psn_token_key(z, s->token_key);
    mr_wipe(z, sizeof z);
    return rc;
}

medreg_err mr_service_open(mr_service_config *cfg, mr_service **out, char **errmsg)
{
    medreg_err rc = MEDREG_OK;
    mr_service *s = NULL;
    uint8_t *data_key = NULL;

    *out = NULL;
    *errmsg = NULL;
    s = calloc(1, sizeof *s);
    ENSURE(s != NULL, MEDREG_ERR_NOMEM);
    s->cfg = cfg;
    for (size_t i = 0; i < cfg->n_modules; i++) {
        TRY(mr_module_load(cfg->module_paths[i], &s->modules[i], errmsg));
        s->n_modules++;
        if (strcmp(s->modules[i]->name, cfg->module_names[i]) != 0) {
            if (asprintf(errmsg, "%s: module file names module '%s' but [modules] lists it as '%s'",
                         cfg->path, s->modules[i]->name, cfg->module_names[i]) < 0)
                *errmsg = NULL;
            rc = MEDREG_ERR_CONFIG;
            goto out;
        }
    }
    mr_tls_key_source tls_src = {cfg->tls_cert, cfg->tls_key, cfg->pkcs11_module, cfg->pin_file};
    TRY(mr_tls_identity_load(&tls_src, &s->tls, errmsg));
    TRY(read_pem(cfg->client_ca, s->client_ca_pem, sizeof s->client_ca_pem, errmsg));
    if (cfg->role == MR_ROLE_IDENTITY) {
        for (size_t i = 0; i < s->n_modules; i++) {
            mr_module *m = s->modules[i];
            if (m->key_file == NULL) {
                if (asprintf(errmsg, "%s: [module] key_file is required by the identity service",
                             m->path) < 0)
                    *errmsg = NULL;
                rc = MEDREG_ERR_CONFIG;
                goto out;
            }
            char *kp = NULL;
            if (m->key_file[0] == '/') {
                kp = strdup(m->key_file);
            } else {
                const char *slash = strrchr(m->path, '/');
                int dl = slash ? (int)(slash - m->path) : 1;
                if (asprintf(&kp, "%.*s/%s", dl, slash ? m->path : ".", m->key_file) < 0)
                    kp = NULL;
            }
            ENSURE(kp != NULL, MEDREG_ERR_NOMEM);
            rc = read_secret(kp, MEDREG_PSN_KEY_BYTES, &s->module_keys[i], errmsg);
            free(kp);
            TRY(rc);
            s->oprf_sk[i] = sodium_malloc(32);
            ENSURE(s->oprf_sk[i] != NULL, MEDREG_ERR_NOMEM);
            TRY(mr_psn_oprf_key(s->module_keys[i], m->key_id, m->name, s->oprf_sk[i], s->oprf_pk[i]));
        }
        mr_key25519 *box = NULL;
        uint8_t registry_pk[crypto_box_PUBLICKEYBYTES];
        TRY(open_key25519(cfg, "[identity] signing_key", cfg->signing_key, MR_KEY_ED25519, &s->signer, errmsg));
        if (cfg->box_key != NULL) {
            TRY(open_key25519(cfg, "[identity] box_key", cfg->box_key, MR_KEY_X25519, &box, errmsg));
        } else if (mr_key25519_on_token(s->signer)) {
            if (asprintf(errmsg, "%s: [identity] box_key is required when signing_key is on a token (an Ed25519 "
                                 "key on a token cannot agree on the PSN-token key)", cfg->path) < 0)
                *errmsg = NULL;
            rc = MEDREG_ERR_CONFIG;
            goto out;
        }
        TRY(read_public(cfg->registry_seal_public, registry_pk, sizeof registry_pk, errmsg));
        rc = token_key_agree(s, box ? box : s->signer, registry_pk);
        mr_key25519_close(box); /* K is all the identity service needs of it */
        if (rc != MEDREG_OK) {
            if (asprintf(errmsg, "%s: not a usable X25519 public key", cfg->registry_seal_public) < 0)
                *errmsg = NULL;
            goto out;
        }
        TRY(read_secret(cfg->data_key, 32, &data_key, errmsg));
        /* two independent subkeys: one seals identifiers, one makes the search index */
        s->seal_key = sodium_malloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
        s->index_key = sodium_malloc(32);
        ENSURE(s->seal_key && s->index_key, MEDREG_ERR_NOMEM);
        crypto_kdf_derive_from_key(s->seal_key, crypto_aead_xchacha20poly1305_ietf_KEYBYTES, 1,
                                   "mr-seal_", data_key);
        crypto_kdf_derive_from_key(s->index_key, 32, 2, "mr-index", data_key);
    } else if (cfg->role == MR_ROLE_REGISTRY) {
        mr_key25519 *seal = NULL;
        uint8_t identity_box[crypto_box_PUBLICKEYBYTES];
        TRY(open_key25519(cfg, "[registry] seal_key", cfg->seal_key, MR_KEY_X25519, &seal, errmsg));
        rc = read_public(cfg->identity_public, s->identity_pk, sizeof s->identity_pk, errmsg);
        if (rc == MEDREG_OK && cfg->identity_box_public != NULL)
            rc = read_public(cfg->identity_box_public, identity_box, sizeof identity_box, errmsg);
        else if (rc == MEDREG_OK && crypto_sign_ed25519_pk_to_curve25519(identity_box, s->identity_pk) != 0)
            rc = MEDREG_ERR_CRYPTO;
        if (rc == MEDREG_OK && (rc = token_key_agree(s, seal, identity_box)) != MEDREG_OK &&
            asprintf(errmsg, "%s: not a usable %s public key",
                     cfg->identity_box_public ? cfg->identity_box_public : cfg->identity_public,
                     cfg->identity_box_public ? "X25519" : "Ed25519") < 0)
            *errmsg = NULL;
        /* the consent sessions' secret is the registry's own: derived from
         * its seal key, which the identity service never holds */
        s->session_secret = rc == MEDREG_OK ? sodium_malloc(32) : NULL;
        if (rc == MEDREG_OK && s->session_secret == NULL)
            rc = MEDREG_ERR_NOMEM;
        if (rc == MEDREG_OK && (rc = mr_consent_session_secret(seal, s->session_secret)) != MEDREG_OK &&
            asprintf(errmsg, "%s: [registry] seal_key: %s cannot agree", cfg->path, mr_key25519_describe(seal)) < 0)
            *errmsg = NULL;
        mr_key25519_close(seal);
        TRY(rc);
        mr_token_spec ts = {.key = cfg->consent_key, .cert = cfg->consent_cert, .module = cfg->pkcs11_module,
                            .pin_file = cfg->pin_file, .pin_env = "MEDREG_PKCS11_PIN"};
        char *terr = NULL;
        rc = mr_token_open(&ts, &s->consent, &terr);
        if (rc != MEDREG_OK) {
            if (asprintf(errmsg, "%s: consent_key: %s", cfg->path, terr ? terr : medreg_strerror(rc)) < 0)
                *errmsg = NULL;
            free(terr);
            goto out;
        }
        if ((rc = mr_token_selftest_decrypt(s->consent)) != MEDREG_OK) {
            if (asprintf(errmsg, "%s: consent_key: %s cannot %s with its key (%s); on a token the key needs %s",
                         cfg->path, mr_token_describe(s->consent),
                         EVP_PKEY_base_id(mr_token_public_key(s->consent)) == EVP_PKEY_RSA ? "decrypt" : "derive",
                         medreg_strerror(rc),
                         EVP_PKEY_base_id(mr_token_public_key(s->consent)) == EVP_PKEY_RSA ? "CKA_DECRYPT" : "CKA_DERIVE") < 0)
                *errmsg = NULL;
            goto out;
        }
        s->consent_oaep = MR_OAEP_SHA256;
        if (EVP_PKEY_base_id(mr_token_public_key(s->consent)) == EVP_PKEY_RSA)
            TRY(mr_token_oaep_hash(s->consent, &s->consent_oaep));
        TRY(read_pem(cfg->consent_cert, s->consent_cert_pem, sizeof s->consent_cert_pem, errmsg));
        /* a slot per physician's card for a few hundred physicians */
        TRY(mr_cert_cache_new(1024, &s->card_certs));
    }
    /* one more connection than the pool: the group committer keeps its own */
    rc = mr_db_open(cfg->database, cfg->db_pool + 1, &s->db);
    if (rc != MEDREG_OK) {
        if (asprintf(errmsg, "%s: cannot open database %s", cfg->path,
                     strncmp(cfg->database, "sqlite:", 7) == 0 ? cfg->database : "(postgresql)") < 0)
            *errmsg = NULL;
        goto out;
    }
    /* The identity service's registrations dirty random pages of several
     * hash-keyed indexes: a larger WAL writes each back once for many
     * commits (registrations at 32 clients +10 %, p99 27 -> 21 ms). Readers
     * look pages up in every part of the WAL not yet checkpointed, so the
     * registry, which mostly reads, keeps it smaller (reads -10 % at 128). */
    mr_db_set_wal_mib(s->db, cfg->sqlite_wal_mib ? cfg->sqlite_wal_mib : cfg->role == MR_ROLE_IDENTITY ? 128 : 32);
    rc = mr_db_migrate(s->db, cfg->role == MR_ROLE_IDENTITY   ? MR_SCHEMA_IDENTITY
                              : cfg->role == MR_ROLE_REGISTRY ? MR_SCHEMA_REGISTRY
                              : cfg->role == MR_ROLE_LEDGER   ? MR_SCHEMA_LEDGER
                                                              : MR_SCHEMA_WITNESS);
    if (rc != MEDREG_OK) {
        if (asprintf(errmsg, "%s: database migration failed", cfg->path) < 0)
            *errmsg = NULL;
        goto out;
    }
    TRY(mr_group_commit_new(s->db, &s->commits));
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    TRY(mr_work_pool_start(cpus < 1 ? 1 : cpus > 64 ? 64 : (unsigned)cpus, "medreg-compute", &s->compute));
    if (cfg->role == MR_ROLE_LEDGER)
        TRY(ledger_start(s, errmsg));
    if (cfg->role == MR_ROLE_WITNESS)
        TRY(witness_start(s, errmsg));
    if ((cfg->role == MR_ROLE_IDENTITY || cfg->role == MR_ROLE_REGISTRY) && cfg->events_ledger)
        TRY(events_start(s, errmsg));
    *out = s;
    s = NULL;
out:
    mr_secret_free(data_key);
    if (s)
        s->cfg = NULL; /* the caller still owns cfg on failure */
    mr_service_close(s);
    return rc;
}

void mr_service_close(mr_service *s)
{
    if (s == NULL)
        return;
    if (s->ticker_running) {
        pthread_mutex_lock(&s->tick_lock);
        s->tick_stop = 1;
        pthread_cond_signal(&s->tick_wake);
        pthread_mutex_unlock(&s->tick_lock);
        pthread_join(s->ticker, NULL);
        pthread_mutex_destroy(&s->tick_lock);
        pthread_cond_destroy(&s->tick_wake);
    }
    mr_ledger_close(s->ledger);
    if (s->witness) {
        mr_note_signer_clear(s->witness);
        free(s->witness);
    }
    free(s->witness_logs);
    free(s->ledger_witnesses);
    mr_secret_free(s->events_key);
    mr_work_pool_stop(s->compute);
    mr_group_commit_free(s->commits);
    mr_tls_identity_free(s->tls);
    mr_db_close(s->db);
    for (size_t i = 0; i < s->n_modules; i++) {
        mr_module_free(s->modules[i]);
        mr_secret_free(s->module_keys[i]);
        mr_secret_free(s->oprf_sk[i]);
    }
    mr_key25519_close(s->signer);
    mr_secret_free(s->seal_key);
    mr_secret_free(s->index_key);
    mr_secret_free(s->token_key);
    mr_secret_free(s->session_secret);
    mr_token_close(s->consent);
    mr_cert_cache_free(s->card_certs);
    mr_wipe(s, sizeof *s);
    free(s);
}

const mr_module *mr_service_module(const mr_service *s, const char *name, size_t *index)
{
    for (size_t i = 0; name && i < s->n_modules; i++)
        if (!strcmp(s->modules[i]->name, name)) {
            if (index)
                *index = i;
            return s->modules[i];
        }
    return NULL;
}

const mr_module *mr_body_module(const mr_service *s, json_t *body, mr_response *resp, size_t *index)
{
    json_t *v = json_object_get(body, "module");
    const mr_module *m = mr_service_module(s, json_string_value(v), index);
    if (m == NULL)
        mr_resp_error(resp, 400, v ? "invalid_field" : "missing_field",
                      "field 'module' must name a module of this service");
    return m;
}
