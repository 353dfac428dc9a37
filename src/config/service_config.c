#include "service_config.h"

#include <stddef.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/encode.h"
#include "ini_file.h"
#include "module.h"

typedef struct cfg_state {
    mr_service_config *c;
    char *dir;
    char err[256];
    int max_body_set;
} cfg_state;

const char *mr_role_name(mr_role r)
{
    return r == MR_ROLE_IDENTITY   ? "identity"
           : r == MR_ROLE_REGISTRY ? "registry"
           : r == MR_ROLE_LEDGER   ? "ledger"
           : r == MR_ROLE_WITNESS  ? "witness"
                                   : "?";
}

static int fail(cfg_state *st, const char *fmt, const char *a)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(st->err, sizeof st->err, fmt, a);
#pragma GCC diagnostic pop
    return 0;
}

static char *resolve(cfg_state *st, const char *v)
{
    char *p = NULL;
    if (v[0] == '/' || strncmp(v, "postgres", 8) == 0)
        return strdup(v);
    if (strncmp(v, "sqlite:", 7) == 0) {
        if (v[7] == '/')
            return strdup(v);
        return asprintf(&p, "sqlite:%s/%s", st->dir, v + 7) < 0 ? NULL : p;
    }
    return mr_ini_resolve(st->dir, v);
}

static int set_path(cfg_state *st, char **dst, const char *v)
{
    free(*dst);
    *dst = resolve(st, v);
    return *dst != NULL ? 1 : fail(st, "%sout of memory", "");
}

/* A private key: a file (resolved like any path) or a token's pkcs11: URI. */
static int set_key(cfg_state *st, char **dst, const char *v)
{
    if (strncmp(v, "pkcs11:", 7) != 0)
        return set_path(st, dst, v);
    free(*dst);
    *dst = strdup(v);
    return *dst != NULL ? 1 : fail(st, "%sout of memory", "");
}

/* A signed-note key name (a ledger's origin, a witness's name). */
static int set_note_name(cfg_state *st, char **dst, const char *key, const char *v)
{
    if (strlen(v) == 0 || strlen(v) > 255 || strpbrk(v, " \t+") != NULL) {
        char what[160];
        snprintf(what, sizeof what, "%s '%.120s'", key, v);
        return fail(st, "%s must be 1..255 characters without spaces or '+'", what);
    }
    free(*dst);
    *dst = strdup(v);
    return *dst != NULL ? 1 : fail(st, "%sout of memory", "");
}

static int parse_uint(const char *v, unsigned long lo, unsigned long hi, unsigned long *out)
{
    uint64_t x = 0;
    if (!mr_parse_u64(v, strlen(v), &x) || x < lo || x > hi)
        return 0;
    *out = (unsigned long)x;
    return 1;
}

static int on_entry(void *user, const char *section, const char *key, const char *v)
{
    cfg_state *st = user;
    mr_service_config *c = st->c;
    unsigned long x;

    if (!strcmp(section, "service")) {
        if (!strcmp(key, "role")) {
            if (!strcmp(v, "identity"))
                c->role = MR_ROLE_IDENTITY;
            else if (!strcmp(v, "registry"))
                c->role = MR_ROLE_REGISTRY;
            else if (!strcmp(v, "ledger"))
                c->role = MR_ROLE_LEDGER;
            else if (!strcmp(v, "witness"))
                c->role = MR_ROLE_WITNESS;
            else
                return fail(st, "role '%s' is not identity, registry, ledger or witness", v);
        } else if (!strcmp(key, "listen")) {
            const char *colon = strrchr(v, ':');
            if (colon == NULL || colon == v || !parse_uint(colon + 1, 1, 65535, &x))
                return fail(st, "listen '%s' must be HOST:PORT", v);
            free(c->listen_host);
            c->listen_host = strndup(v, (size_t)(colon - v));
            c->listen_port = (unsigned)x;
        } else if (!strcmp(key, "database")) {
            if (strncmp(v, "sqlite:", 7) && strncmp(v, "postgresql://", 13) && strncmp(v, "postgres://", 11))
                return fail(st, "database '%s' must start with sqlite: or postgresql://", v);
            return set_path(st, &c->database, v);
        } else if (!strcmp(key, "connections")) {
            if (!parse_uint(v, 1, 1024, &x))
                return fail(st, "connections '%s' must be 1..1024", v);
            c->connections = (unsigned)x;
        } else if (!strcmp(key, "threads")) {
            if (!parse_uint(v, 1, 256, &x))
                return fail(st, "threads '%s' must be 1..256", v);
            c->threads = (unsigned)x;
        } else if (!strcmp(key, "db_pool")) {
            if (!parse_uint(v, 1, 256, &x))
                return fail(st, "db_pool '%s' must be 1..256", v);
            c->db_pool = (unsigned)x;
        } else if (!strcmp(key, "sqlite_wal_mib")) {
            if (!parse_uint(v, 4, 4096, &x))
                return fail(st, "sqlite_wal_mib '%s' must be 4..4096", v);
            c->sqlite_wal_mib = (unsigned)x;
        } else if (!strcmp(key, "max_body")) {
            if (!parse_uint(v, 1024, 16ul << 20, &x))
                return fail(st, "max_body '%s' must be 1024..16777216 bytes", v);
            c->max_body = (size_t)x;
            st->max_body_set = 1;
        } else if (!strcmp(key, "timeout")) {
            if (!parse_uint(v, 1, 3600, &x))
                return fail(st, "timeout '%s' must be 1..3600 seconds", v);
            c->timeout_s = (unsigned)x;
        } else if (!strcmp(key, "ledger")) {
            if (strncmp(v, "https://", 8) != 0)
                return fail(st, "ledger '%s' must be an https:// URL", v);
            free(c->events_ledger);
            c->events_ledger = strdup(v);
            return c->events_ledger != NULL;
        } else if (!strcmp(key, "events_key")) {
            return set_path(st, &c->events_key, v);
        } else if (!strcmp(key, "tls_cert")) {
            return set_path(st, &c->tls_cert, v);
        } else if (!strcmp(key, "tls_key")) {
            return set_key(st, &c->tls_key, v);
        } else if (!strcmp(key, "pkcs11_module")) {
            return set_path(st, &c->pkcs11_module, v);
        } else if (!strcmp(key, "pin_file")) {
            return set_path(st, &c->pin_file, v);
        } else if (!strcmp(key, "client_ca")) {
            return set_path(st, &c->client_ca, v);
        } else {
            return fail(st, "unknown key '%s' in [service]", key);
        }
        return 1;
    }
    if (!strcmp(section, "ledger")) {
        if (!strcmp(key, "origin"))
            return set_note_name(st, &c->ledger_origin, key, v);
        if (!strcmp(key, "signing_key"))
            return set_key(st, &c->ledger_signing_key, v);
        if (!strcmp(key, "interval_ms")) {
            if (!parse_uint(v, 10, 60000, &x))
                return fail(st, "interval_ms '%s' must be 10..60000", v);
            c->ledger_interval_ms = (unsigned)x;
            return 1;
        }
        if (!strcmp(key, "witness")) { /* "URL VKEY" */
            const char *sp = strchr(v, ' ');
            if (sp == NULL || strncmp(v, "https://", 8) != 0 || c->ledger_n_witnesses == MR_MAX_WITNESSES)
                return fail(st, "witness '%s' must be 'https://HOST:PORT VERIFIER-KEY' (at most 16)", v);
            c->ledger_witness_urls[c->ledger_n_witnesses] = strndup(v, (size_t)(sp - v));
            c->ledger_witness_keys[c->ledger_n_witnesses] = strdup(sp + strspn(sp, " "));
            c->ledger_n_witnesses++;
            return 1;
        }
        return fail(st, "unknown key '%s' in [ledger]", key);
    }
    if (!strcmp(section, "witness")) {
        if (!strcmp(key, "signing_key"))
            return set_key(st, &c->witness_signing_key, v);
        if (!strcmp(key, "name"))
            return set_note_name(st, &c->witness_name, key, v);
        if (!strcmp(key, "log")) {
            if (c->witness_n_logs == MR_MAX_WITNESSES)
                return fail(st, "log '%s': at most 16 logs", v);
            return (c->witness_logs[c->witness_n_logs++] = strdup(v)) != NULL;
        }
        return fail(st, "unknown key '%s' in [witness]", key);
    }
    if (!strcmp(section, "identity")) {
        if (!strcmp(key, "signing_key"))
            return set_key(st, &c->signing_key, v);
        if (!strcmp(key, "box_key"))
            return set_key(st, &c->box_key, v);
        if (!strcmp(key, "registry_seal_public"))
            return set_path(st, &c->registry_seal_public, v);
        if (!strcmp(key, "data_key"))
            return set_path(st, &c->data_key, v);
        if (!strcmp(key, "token_ttl")) {
            if (!parse_uint(v, 1, 7 * 86400, &x))
                return fail(st, "token_ttl '%s' must be 1..604800 seconds", v);
            c->token_ttl_s = (unsigned)x;
            return 1;
        }
        return fail(st, "unknown key '%s' in [identity]", key);
    }
    if (!strcmp(section, "registry")) {
        if (!strcmp(key, "seal_key"))
            return set_key(st, &c->seal_key, v);
        if (!strcmp(key, "identity_public"))
            return set_path(st, &c->identity_public, v);
        if (!strcmp(key, "identity_box_public"))
            return set_path(st, &c->identity_box_public, v);
        if (!strcmp(key, "consent_key"))
            return set_key(st, &c->consent_key, v);
        if (!strcmp(key, "consent_cert"))
            return set_path(st, &c->consent_cert, v);
        static const struct { const char *key; unsigned long lo, hi; size_t off; const char *what; } NUMS[] = {
            {"consent_fail_max", 1, 1000, offsetof(mr_service_config, consent_fail_max), "failures"},
            {"consent_fail_window", 60, 366 * 86400ul, offsetof(mr_service_config, consent_fail_window_s), "seconds"},
            {"consent_session_ttl", 10, 3600, offsetof(mr_service_config, consent_session_ttl_s), "seconds"},
            {"presence_pass_ttl", 1, 3600, offsetof(mr_service_config, pass_ttl_s), "seconds"},
            {"grant_max_days", 1, 36500, offsetof(mr_service_config, grant_max_days), "days"},
            {"alarm_idle_after", 1, 3660 * 86400ul, offsetof(mr_service_config, alarm_idle_s), "seconds"},
            {"alarm_replacements_max", 1, 1000, offsetof(mr_service_config, alarm_replacements_max), "replacements"},
        };
        for (size_t i = 0; i < sizeof NUMS / sizeof NUMS[0]; i++)
            if (!strcmp(key, NUMS[i].key)) {
                if (!parse_uint(v, NUMS[i].lo, NUMS[i].hi, &x)) {
                    snprintf(st->err, sizeof st->err, "%s '%.64s' must be %lu..%lu %s", key, v, NUMS[i].lo,
                             NUMS[i].hi, NUMS[i].what);
                    return 0;
                }
                *(unsigned *)(void *)((char *)c + NUMS[i].off) = (unsigned)x;
                return 1;
            }
        if (!strcmp(key, "export_page")) {
            if (!parse_uint(v, 1, 100000, &x))
                return fail(st, "export_page '%s' must be 1..100000 rows", v);
            c->export_page = (long)x;
            return 1;
        }
        return fail(st, "unknown key '%s' in [registry]", key);
    }
    if (!strcmp(section, "modules")) {
        if (!mr_valid_name(key))
            return fail(st, "module name '%s' must match [a-z][a-z0-9_]*", key);
        if (c->n_modules >= MR_MAX_MODULES)
            return fail(st, "%stoo many modules (at most 64)", "");
        for (size_t i = 0; i < c->n_modules; i++)
            if (!strcmp(c->module_names[i], key))
                return fail(st, "module '%s' listed twice", key);
        c->module_names[c->n_modules] = strdup(key);
        c->module_paths[c->n_modules] = resolve(st, v);
        c->n_modules++;
        return 1;
    }
    return fail(st, "unknown section [%s]", section);
}

static const char *missing(const mr_service_config *c)
{
    if (c->role == 0)
        return "[service] role";
    if (c->listen_host == NULL)
        return "[service] listen";
    if (c->database == NULL)
        return "[service] database";
    if (c->tls_cert == NULL)
        return "[service] tls_cert";
    if (c->tls_key == NULL)
        return "[service] tls_key";
    if (c->client_ca == NULL)
        return "[service] client_ca";
    if (c->role == MR_ROLE_WITNESS) {
        if (c->witness_signing_key == NULL)
            return "[witness] signing_key";
        if (strncmp(c->witness_signing_key, "pkcs11:", 7) == 0 && c->witness_name == NULL)
            return "[witness] name (the cosigning key's name, with a signing_key on a token)";
        if (c->witness_n_logs == 0)
            return "[witness] log (the verifier key of at least one log)";
        return NULL;
    }
    if (c->role == MR_ROLE_LEDGER) {
        if (c->ledger_origin == NULL)
            return "[ledger] origin";
        if (c->ledger_signing_key == NULL)
            return "[ledger] signing_key";
        return NULL;
    }
    if (c->n_modules == 0)
        return "[modules] (at least one module)";
    if (c->events_ledger != NULL && c->events_key == NULL)
        return "[service] events_key (with ledger)";
    if (c->role == MR_ROLE_IDENTITY) {
        if (c->signing_key == NULL)
            return "[identity] signing_key";
        if (c->registry_seal_public == NULL)
            return "[identity] registry_seal_public";
        if (c->data_key == NULL)
            return "[identity] data_key";
    } else {
        if (c->seal_key == NULL)
            return "[registry] seal_key";
        if (c->identity_public == NULL)
            return "[registry] identity_public";
        if (c->consent_key == NULL)
            return "[registry] consent_key";
        if (c->consent_cert == NULL)
            return "[registry] consent_cert";
    }
    return NULL;
}

medreg_err mr_service_config_load(const char *path, mr_role role_override, mr_service_config **out,
                                  char **errmsg)
{
    medreg_err rc = MEDREG_ERR_CONFIG;
    cfg_state st;

    *out = NULL;
    *errmsg = NULL;
    memset(&st, 0, sizeof st);
    st.c = calloc(1, sizeof *st.c);
    ENSURE(st.c, MEDREG_ERR_NOMEM);
    st.dir = mr_ini_dir(path);
    st.c->path = strdup(path);
    ENSURE(st.dir && st.c->path, MEDREG_ERR_NOMEM);
    st.c->connections = 256;
    st.c->max_body = 64 * 1024;
    st.c->timeout_s = 30;
    st.c->token_ttl_s = 600;
    st.c->export_page = 1000;
    st.c->consent_fail_max = 3;
    st.c->consent_fail_window_s = 86400;
    st.c->consent_session_ttl_s = 600;
    st.c->pass_ttl_s = 300;
    st.c->grant_max_days = 3650;
    st.c->alarm_idle_s = 30 * 86400;
    st.c->alarm_replacements_max = 3;
    st.c->ledger_interval_ms = 1000;
    if (mr_ini_parse(path, on_entry, &st, st.err, errmsg) != MEDREG_OK)
        goto out;
    if (role_override != MR_ROLE_NONE) {
        if (st.c->role != MR_ROLE_NONE && st.c->role != role_override) {
            if (asprintf(errmsg, "%s: [service] role is %s but --role says %s", path,
                         mr_role_name(st.c->role), mr_role_name(role_override)) < 0)
                *errmsg = NULL;
            goto out;
        }
        st.c->role = role_override;
    }
    const char *m = missing(st.c);
    if (m != NULL) {
        if (asprintf(errmsg, "%s: required setting %s is missing", path, m) < 0)
            *errmsg = NULL;
        goto out;
    }
    if (st.c->role == MR_ROLE_LEDGER && !st.max_body_set)
        st.c->max_body = 2u << 20; /* appends come in batches of up to 1000 entries */
    /* SQLite 16 (measured when every connection had a thread of its own: with
     * 8, 32 busy request threads queued for one; the HTTP threads are fewer
     * now, but rare writes still hold one while they wait for their commit).
     * PostgreSQL 8: each is a server process, and its default allows 100 in
     * all. */
    if (st.c->db_pool == 0) {
        unsigned cap = strncmp(st.c->database, "sqlite:", 7) == 0 ? 16 : 8;
        st.c->db_pool = st.c->connections < cap ? st.c->connections : cap;
    }
    *out = st.c;
    st.c = NULL;
    rc = MEDREG_OK;
out:
    free(st.dir);
    mr_service_config_free(st.c);
    return rc;
}

void mr_service_config_free(mr_service_config *c)
{
    if (c == NULL)
        return;
    free(c->path);
    free(c->listen_host);
    free(c->database);
    free(c->events_ledger);
    free(c->events_key);
    free(c->ledger_origin);
    free(c->ledger_signing_key);
    free(c->witness_signing_key);
    free(c->witness_name);
    for (size_t i = 0; i < MR_MAX_WITNESSES; i++) {
        free(c->ledger_witness_urls[i]);
        free(c->ledger_witness_keys[i]);
        free(c->witness_logs[i]);
    }
    free(c->tls_cert);
    free(c->tls_key);
    free(c->client_ca);
    free(c->pkcs11_module);
    free(c->pin_file);
    free(c->signing_key);
    free(c->box_key);
    free(c->identity_box_public);
    free(c->registry_seal_public);
    free(c->data_key);
    free(c->seal_key);
    free(c->identity_public);
    free(c->consent_key);
    free(c->consent_cert);
    for (size_t i = 0; i < c->n_modules; i++) {
        free(c->module_names[i]);
        free(c->module_paths[i]);
    }
    free(c);
}
