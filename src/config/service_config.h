/* medregd's configuration file (INI). See docs/running.md. */
#ifndef MR_SERVICE_CONFIG_H
#define MR_SERVICE_CONFIG_H

#include <stddef.h>

#include "../core/safety.h"

typedef enum mr_role { MR_ROLE_NONE = 0, MR_ROLE_IDENTITY = 1, MR_ROLE_REGISTRY = 2, MR_ROLE_LEDGER = 3, MR_ROLE_WITNESS = 4 } mr_role;

#define MR_MAX_MODULES 64u
#define MR_MAX_WITNESSES 16u

typedef struct mr_service_config {
    char *path;
    mr_role role;
    char *listen_host;
    unsigned listen_port;
    char *database;
    unsigned connections; /* served at once */
    unsigned threads;     /* HTTP threads; 0: the service chooses (http.c) */
    unsigned db_pool;
    unsigned sqlite_wal_mib; /* WAL size before checkpoints; 0: the role's default (service.c) */
    size_t max_body;
    unsigned timeout_s;
    char *tls_cert, *tls_key, *client_ca;
    char *pkcs11_module, *pin_file; /* for a tls_key that is a pkcs11: URI */
    /* identity */
    /* signing_key: Ed25519, a file (32-byte seed) or a pkcs11: URI; box_key:
     * X25519 for the PSN-token key, the same; unset: the signing key's twin
     * (a file signing key only) */
    char *signing_key, *box_key, *registry_seal_public, *data_key;
    unsigned token_ttl_s;
    /* registry */
    /* seal_key: X25519, a file or a pkcs11: URI; identity_box_public: the
     * identity service's box_key public key (unset: identity_public's twin) */
    char *seal_key, *identity_public, *identity_box_public;
    long export_page; /* rows per page of a streamed export */
    char *consent_key, *consent_cert; /* the consent key: a file or a pkcs11: URI */
    unsigned consent_fail_max;        /* failed consents tolerated in the window */
    unsigned consent_fail_window_s, consent_session_ttl_s;
    unsigned pass_ttl_s;            /* a presence pass's lifetime (docs/ledger.md) */
    unsigned grant_max_days;
    unsigned alarm_idle_s;          /* access without new data for this long */
    unsigned alarm_replacements_max; /* card replacements per physician in 30 days */
    /* identity, registry: the ledger their events go to (docs/ledger.md) */
    char *events_ledger;     /* https://HOST:PORT of the ledger; none: events stay in the audit table only */
    char *events_key;        /* 32-byte secret file: opaque handles and the per-subject keys' wrapping */
    /* ledger */
    char *ledger_origin;      /* the checkpoint origin line, e.g. ledger.example.org/medreg */
    /* a file holding a C2SP signed-note private key (PRIVATE+KEY+…), or a
     * pkcs11: URI of an Ed25519 key, whose note name is then the origin */
    char *ledger_signing_key;
    unsigned ledger_interval_ms; /* checkpoint interval */
    char *ledger_witness_urls[MR_MAX_WITNESSES]; /* witnesses asked to cosign each checkpoint */
    char *ledger_witness_keys[MR_MAX_WITNESSES]; /* their cosigning verifier keys */
    size_t ledger_n_witnesses;
    /* witness */
    char *witness_signing_key; /* a cosigning key: PRIVATE+KEY+… of type 0x04, or a pkcs11: URI */
    char *witness_name;        /* the cosigning key's name, for a key on a token */
    char *witness_logs[MR_MAX_WITNESSES]; /* verifier keys of the logs it witnesses */
    size_t witness_n_logs;
    char *module_names[MR_MAX_MODULES];
    char *module_paths[MR_MAX_MODULES];
    size_t n_modules;
} mr_service_config;

/* Parse FILE. Relative paths are taken relative to FILE's directory. On
 * failure *errmsg (malloc'ed) names the file, line and problem. */
MR_MUST_CHECK medreg_err mr_service_config_load(const char *path, mr_role role_override,
                                                mr_service_config **out, char **errmsg);
void mr_service_config_free(mr_service_config *c);
const char *mr_role_name(mr_role r);

#endif
