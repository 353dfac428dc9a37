/* Versioned schema migrations, the same for both engines.
 *
 * Each step is written once in portable SQL; the two words that differ
 * between engines are spelled BLOBTYPE and SERIALPK and replaced here. Steps
 * that only make sense for one engine (triggers) carry a per-engine text.
 * A step runs in one transaction together with its schema_version row, so a
 * crash never leaves a half-migrated database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"

typedef struct migration {
    int version;
    unsigned roles; /* MR_SCHEMA_* mask */
    const char *sql;
    const char *sqlite_only;
    const char *postgres_only;
} migration;

static const migration MIGRATIONS[] = {
    {1, MR_SCHEMA_ALL,
     "CREATE TABLE users (fpr TEXT NOT NULL, role TEXT NOT NULL, module TEXT NOT NULL,"
     " name TEXT NOT NULL, created_at BIGINT NOT NULL, created_by TEXT NOT NULL,"
     " PRIMARY KEY (fpr, role, module));"
     "CREATE TABLE audit (seq SERIALPK, at BIGINT NOT NULL, actor TEXT NOT NULL,"
     " action TEXT NOT NULL, module TEXT NOT NULL, target TEXT NOT NULL,"
     " outcome TEXT NOT NULL, detail TEXT NOT NULL);",
     /* the audit table is append-only, enforced by the database itself */
     "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;"
     "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;",
     "CREATE OR REPLACE FUNCTION medreg_append_only() RETURNS trigger LANGUAGE plpgsql AS"
     " $$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$;"
     "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit"
     " FOR EACH ROW EXECUTE FUNCTION medreg_append_only();"},
    {2, MR_SCHEMA_IDENTITY,
     "CREATE TABLE patients (id TEXT PRIMARY KEY, module TEXT NOT NULL, key_id BIGINT NOT NULL,"
     " psn BLOBTYPE NOT NULL, sealed BLOBTYPE NOT NULL, created_at BIGINT NOT NULL,"
     " updated_at BIGINT NOT NULL, UNIQUE (module, key_id, psn));"
     "CREATE TABLE patient_index (module TEXT NOT NULL, field TEXT NOT NULL,"
     " digest BLOBTYPE NOT NULL, patient_id TEXT NOT NULL REFERENCES patients(id),"
     " PRIMARY KEY (module, field, digest, patient_id));"
     "CREATE TABLE relations (module TEXT NOT NULL, physician TEXT NOT NULL,"
     " patient_id TEXT NOT NULL REFERENCES patients(id), internal_id TEXT NOT NULL UNIQUE,"
     " created_at BIGINT NOT NULL, PRIMARY KEY (module, physician, patient_id));",
     NULL, NULL},
    {3, MR_SCHEMA_REGISTRY,
     "CREATE TABLE used_tokens (nonce BLOBTYPE PRIMARY KEY, expires_at BIGINT NOT NULL);"
     "CREATE TABLE subjects (subject TEXT PRIMARY KEY, module TEXT NOT NULL,"
     " key_id BIGINT NOT NULL, psn BLOBTYPE NOT NULL, created_at BIGINT NOT NULL);"
     "CREATE INDEX subjects_psn ON subjects (module, key_id, psn);"
     "CREATE TABLE relations (module TEXT NOT NULL, internal_id TEXT NOT NULL,"
     " physician TEXT NOT NULL, subject TEXT NOT NULL REFERENCES subjects(subject),"
     " created_at BIGINT NOT NULL, PRIMARY KEY (module, internal_id));"
     "CREATE INDEX relations_physician ON relations (physician, module);"
     "CREATE TABLE records (record_id TEXT NOT NULL, version BIGINT NOT NULL,"
     " module TEXT NOT NULL, subject TEXT NOT NULL REFERENCES subjects(subject),"
     " internal_id TEXT NOT NULL, physician TEXT NOT NULL, created_at BIGINT NOT NULL,"
     " data TEXT NOT NULL, PRIMARY KEY (record_id, version));"
     "CREATE INDEX records_subject ON records (module, subject);"
     "CREATE INDEX records_internal ON records (module, internal_id);"
     "CREATE TABLE studies (module TEXT NOT NULL, name TEXT NOT NULL,"
     " study_key BLOBTYPE NOT NULL, created_at BIGINT NOT NULL, created_by TEXT NOT NULL,"
     " PRIMARY KEY (module, name));",
     /* records are immutable: a correction is a new version */
     "CREATE TRIGGER records_no_update BEFORE UPDATE ON records BEGIN SELECT RAISE(ABORT, 'records are immutable'); END;"
     "CREATE TRIGGER records_no_delete BEFORE DELETE ON records BEGIN SELECT RAISE(ABORT, 'records are immutable'); END;",
     "CREATE TRIGGER records_append_only BEFORE UPDATE OR DELETE ON records"
     " FOR EACH ROW EXECUTE FUNCTION medreg_append_only();"},
    /* a correction rewrites a patient's index rows: find them without a scan */
    {4, MR_SCHEMA_IDENTITY, "CREATE INDEX patient_index_patient ON patient_index (patient_id);", NULL, NULL},
    {5, MR_SCHEMA_IDENTITY, "CREATE INDEX relations_patient ON relations (patient_id);", NULL, NULL},
    /* the card consent protocol (docs/protocol.md) */
    {6, MR_SCHEMA_REGISTRY,
     "CREATE TABLE card_certs (fpr TEXT PRIMARY KEY, physician TEXT NOT NULL, cert BLOBTYPE NOT NULL,"
     " created_at BIGINT NOT NULL, created_by TEXT NOT NULL);"
     "CREATE INDEX card_certs_physician ON card_certs (physician);"
     "CREATE TABLE fingerprints (id TEXT PRIMARY KEY, module TEXT NOT NULL,"
     " subject TEXT NOT NULL REFERENCES subjects(subject), hk BLOBTYPE NOT NULL, k2 BLOBTYPE NOT NULL,"
     " physician TEXT NOT NULL, card_cert TEXT NOT NULL, physician_alg BIGINT NOT NULL,"
     " physician_sig BLOBTYPE NOT NULL, client_pk BLOBTYPE NOT NULL, session TEXT NOT NULL,"
     " purpose BIGINT NOT NULL, replacement BIGINT NOT NULL, created_at BIGINT NOT NULL, retired_at BIGINT);"
     "CREATE INDEX fingerprints_subject ON fingerprints (module, subject);"
     /* consent reads only live fingerprints; rotation leaves many retired ones */
     "CREATE INDEX fingerprints_live ON fingerprints (module, subject) WHERE retired_at IS NULL;"
     "CREATE INDEX fingerprints_physician ON fingerprints (physician, created_at);"
     "CREATE TABLE consent_sessions (id TEXT PRIMARY KEY, module TEXT NOT NULL, physician TEXT NOT NULL,"
     " kind TEXT NOT NULL, internal_id TEXT NOT NULL, subject TEXT NOT NULL, nonce BLOBTYPE NOT NULL,"
     " candidates TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,"
     " status TEXT NOT NULL, reason TEXT NOT NULL, finished_at BIGINT);"
     "CREATE INDEX consent_sessions_physician ON consent_sessions (physician, status, created_at);"
     "CREATE TABLE grants (id TEXT PRIMARY KEY, module TEXT NOT NULL, subject TEXT NOT NULL,"
     " physician TEXT NOT NULL, excluded TEXT NOT NULL, created_at BIGINT NOT NULL,"
     " expires_at BIGINT NOT NULL, revoked_at BIGINT, revoked_by TEXT, session TEXT NOT NULL);"
     "CREATE INDEX grants_physician ON grants (physician, module, subject);"
     "CREATE INDEX grants_subject ON grants (module, subject);",
     NULL, NULL},
    /* the ledger: entries in log order and the checkpoints signed over them;
     * both append-only (the tree's hashes are rebuilt from the entries) */
    {7, MR_SCHEMA_LEDGER,
     "CREATE TABLE ledger_entries (idx BIGINT PRIMARY KEY, data BLOBTYPE NOT NULL, leaf BLOBTYPE NOT NULL,"
     " at BIGINT NOT NULL);"
     "CREATE TABLE ledger_checkpoints (size BIGINT PRIMARY KEY, note TEXT NOT NULL, at BIGINT NOT NULL);",
     "CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;"
     "CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;"
     "CREATE TRIGGER ledger_checkpoints_no_update BEFORE UPDATE ON ledger_checkpoints BEGIN SELECT RAISE(ABORT, 'ledger_checkpoints is append-only'); END;"
     "CREATE TRIGGER ledger_checkpoints_no_delete BEFORE DELETE ON ledger_checkpoints BEGIN SELECT RAISE(ABORT, 'ledger_checkpoints is append-only'); END;",
     "CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries"
     " FOR EACH ROW EXECUTE FUNCTION medreg_append_only();"
     "CREATE TRIGGER ledger_checkpoints_append_only BEFORE UPDATE OR DELETE ON ledger_checkpoints"
     " FOR EACH ROW EXECUTE FUNCTION medreg_append_only();"},
    /* a witness: the newest checkpoint it cosigned, per log */
    {8, MR_SCHEMA_WITNESS,
     "CREATE TABLE witness_state (origin TEXT PRIMARY KEY, size BIGINT NOT NULL, root BLOBTYPE NOT NULL,"
     " note TEXT NOT NULL, at BIGINT NOT NULL);",
     NULL, NULL},
    /* identity, registry: which audit rows reached the ledger (and at which
     * index), and the per-subject keys of the events' details: deleting a
     * subject's key erases its details while the ledger stays verifiable */
    {9, MR_SCHEMA_IDENTITY | MR_SCHEMA_REGISTRY,
     "CREATE TABLE ledger_shipped (seq BIGINT PRIMARY KEY, idx BIGINT NOT NULL, at BIGINT NOT NULL);"
     "CREATE TABLE event_keys (handle BLOBTYPE PRIMARY KEY, key BLOBTYPE NOT NULL, created_at BIGINT NOT NULL);",
     NULL, NULL},
    /* the registry subject an audit row is about, so that a patient's events
     * share one handle in the ledger and can be found again (audit mine) */
    {10, MR_SCHEMA_ALL,
     "ALTER TABLE audit ADD COLUMN subject TEXT NOT NULL DEFAULT '';"
     "CREATE INDEX audit_subject ON audit (module, subject);",
     NULL, NULL},
    /* a grant's terms exactly as the patient's answer and the physician's
     * card signed them, so that the signature can be checked later (FHIR) */
    {11, MR_SCHEMA_REGISTRY, "ALTER TABLE grants ADD COLUMN terms TEXT NOT NULL DEFAULT '';", NULL, NULL},
    /* the audit table becomes the events outbox: never changed, and (below)
     * emptied into the ledger where a service ships to one */
    {12, MR_SCHEMA_ALL, "ALTER TABLE audit RENAME TO events;",
     "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;"
     "CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;",
     "DROP TRIGGER audit_append_only ON events;"
     "CREATE TRIGGER events_no_update BEFORE UPDATE ON events FOR EACH ROW EXECUTE FUNCTION medreg_append_only();"},
    {13, MR_SCHEMA_LEDGER | MR_SCHEMA_WITNESS, "",
     "CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;",
     "CREATE TRIGGER events_no_delete BEFORE DELETE ON events FOR EACH ROW EXECUTE FUNCTION medreg_append_only();"},
    /* identity, registry: an event leaves the outbox only once the ledger
     * holds it; the ledger index keeps its module and subject, so that a
     * patient's events can be found again (audit mine) */
    {14, MR_SCHEMA_IDENTITY | MR_SCHEMA_REGISTRY,
     "ALTER TABLE ledger_shipped ADD COLUMN module TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE ledger_shipped ADD COLUMN subject TEXT NOT NULL DEFAULT '';"
     "UPDATE ledger_shipped SET module = COALESCE((SELECT e.module FROM events e WHERE e.seq = ledger_shipped.seq), ''),"
     " subject = COALESCE((SELECT e.subject FROM events e WHERE e.seq = ledger_shipped.seq), '');"
     "CREATE INDEX ledger_shipped_subject ON ledger_shipped (module, subject);"
     "DELETE FROM events WHERE seq IN (SELECT seq FROM ledger_shipped);",
     "CREATE TRIGGER events_shipped_only BEFORE DELETE ON events"
     " WHEN NOT EXISTS (SELECT 1 FROM ledger_shipped WHERE seq = OLD.seq)"
     " BEGIN SELECT RAISE(ABORT, 'an event leaves the outbox only once the ledger holds it'); END;",
     "CREATE OR REPLACE FUNCTION medreg_shipped_only() RETURNS trigger LANGUAGE plpgsql AS"
     " $$ BEGIN IF NOT EXISTS (SELECT 1 FROM ledger_shipped WHERE seq = OLD.seq) THEN"
     " RAISE EXCEPTION 'an event leaves the outbox only once the ledger holds it'; END IF; RETURN OLD; END $$;"
     "CREATE TRIGGER events_shipped_only BEFORE DELETE ON events FOR EACH ROW EXECUTE FUNCTION medreg_shipped_only();"},
    /* identity: the presence passes already used (one-time) */
    {15, MR_SCHEMA_IDENTITY, "CREATE TABLE used_passes (nonce BLOBTYPE PRIMARY KEY, expires_at BIGINT NOT NULL);",
     NULL, NULL},
    /* registry: every consent replaces the physician's grant on the subject,
     * so revoked grants pile up under one key; the live one is found without
     * visiting them */
    {16, MR_SCHEMA_REGISTRY, "CREATE INDEX grants_live ON grants (physician, module, subject) WHERE revoked_at IS NULL;",
     NULL, NULL},
    /* registry: the alarms read a window of time, the FHIR export joins a
     * grant's fingerprint by session; without these they read every row
     * (found by the plan check of src/store/sqlite.c) */
    {17, MR_SCHEMA_REGISTRY,
     "CREATE INDEX consent_sessions_created ON consent_sessions (created_at);"
     "CREATE INDEX fingerprints_replaced ON fingerprints (created_at) WHERE replacement = 1;"
     "CREATE INDEX fingerprints_session ON fingerprints (session);"
     "CREATE INDEX grants_live_created ON grants (created_at) WHERE revoked_at IS NULL;",
     NULL, NULL},
    /* every service: an administrator takes a role away (a physician who
     * left, a lost certificate); the row stays, so that the names in the
     * audit trail still resolve and the list shows who removed it when */
    {18, MR_SCHEMA_ALL,
     "ALTER TABLE users ADD COLUMN removed_at BIGINT;"
     "ALTER TABLE users ADD COLUMN removed_by TEXT NOT NULL DEFAULT '';",
     NULL, NULL},
    /* registry: a physician's card that was lost or replaced is taken out;
     * the certificate stays, for the signatures it made (FHIR Provenance) */
    {19, MR_SCHEMA_REGISTRY,
     "ALTER TABLE card_certs ADD COLUMN removed_at BIGINT;"
     "ALTER TABLE card_certs ADD COLUMN removed_by TEXT NOT NULL DEFAULT '';",
     NULL, NULL},
    /* registry: the export pages in (subject, record_id) order; with the
     * subject alone indexed, every page sorted all of a subject's records
     * again, quadratic in a subject with many (one with 300,000: 0.19 s a
     * page, where the index takes 0.001 s). It serves the subject's lookups
     * as the old one did. */
    {20, MR_SCHEMA_REGISTRY,
     "CREATE INDEX records_subject_record ON records (module, subject, record_id);"
     "DROP INDEX records_subject;",
     NULL, NULL},
};

static char *substitute(const char *sql, mr_engine engine)
{
    static const struct { const char *word, *sqlite, *pg; } subst[] = {
        {"BLOBTYPE", "BLOB", "BYTEA"},
        {"SERIALPK", "INTEGER PRIMARY KEY AUTOINCREMENT",
         "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"},
    };
    size_t cap = strlen(sql) * 3 + 1, n = 0;
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    while (*sql) {
        size_t i;
        for (i = 0; i < sizeof subst / sizeof subst[0]; i++) {
            size_t wl = strlen(subst[i].word);
            if (strncmp(sql, subst[i].word, wl) == 0) {
                const char *rep = engine == MR_ENGINE_SQLITE ? subst[i].sqlite : subst[i].pg;
                memcpy(out + n, rep, strlen(rep));
                n += strlen(rep);
                sql += wl;
                break;
            }
        }
        if (i == sizeof subst / sizeof subst[0])
            out[n++] = *sql++;
    }
    out[n] = 0;
    return out;
}

medreg_err mr_db_migrate(mr_db *db, unsigned roles)
{
    medreg_err rc = MEDREG_OK;
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    char *sql = NULL;
    mr_engine engine = mr_db_engine(db);

    TRY(mr_db_acquire(db, &c));
    TRY(mr_conn_script(c, "CREATE TABLE IF NOT EXISTS schema_version"
                          " (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)"));
    for (size_t i = 0; i < sizeof MIGRATIONS / sizeof MIGRATIONS[0]; i++) {
        const migration *m = &MIGRATIONS[i];
        if (!(m->roles & roles))
            continue;
        TRY(mr_conn_begin(c));
        mr_param v = MR_INT(m->version);
        TRY(mr_conn_exec(c, "SELECT version FROM schema_version WHERE version = $1", &v, 1, &r));
        int done = mr_rows_count(r) > 0;
        mr_rows_free(r);
        r = NULL;
        if (done) {
            mr_conn_rollback(c);
            continue;
        }
        if (*m->sql) { /* a step may be for one engine only */
            sql = substitute(m->sql, engine);
            ENSURE(sql != NULL, MEDREG_ERR_NOMEM);
            TRY(mr_conn_script(c, sql));
            free(sql);
            sql = NULL;
        }
        const char *extra = engine == MR_ENGINE_SQLITE ? m->sqlite_only : m->postgres_only;
        if (extra)
            TRY(mr_conn_script(c, extra));
        mr_param p[2] = {MR_INT(m->version), MR_INT(time(NULL))};
        TRY(mr_conn_exec(c, "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)", p, 2,
                         NULL));
        TRY(mr_conn_commit(c));
    }
out:
    free(sql);
    mr_rows_free(r);
    if (c)
        mr_db_release(db, c); /* rolls back an unfinished step */
    return rc;
}
