/* GET /v1/fhir/Consent?module=M: the module's grants as FHIR R4 Consent
 * resources, each with a Provenance that carries the physician's card
 * signature over the session, the new fingerprint and the digest of the
 * terms the patient's card answered (docs/protocol.md), so that anyone
 * holding the CA certificate can check which terms were agreed in front of
 * which card. A searchset Bundle, as a FHIR server answers
 * GET Consent?_revinclude=Provenance:target. docs/fhir.md maps each field.
 *
 * The patient is named only by their opaque handle in the ledger (the
 * handle of their events), never by anything that identifies them. */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../consent/consent.h"
#include "../core/encode.h"
#include "../core/secret.h"
#include "service.h"

#define CERT_SYSTEM "urn:medreg:certificate-sha256"
#define CARD_SYSTEM "urn:medreg:card-certificate-sha256"

static const char *instant(int64_t t, char buf[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, 32, "1970-01-01T00:00:00Z");
    return buf;
}

/* urn:uuid: of 16 bytes of SHA-256(kind ‖ grant id): a stable, valid UUID URN */
static void entry_url(const char *kind, const char *id, char out[64])
{
    uint8_t h[32];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)kind, strlen(kind) + 1);
    crypto_hash_sha256_update(&st, (const uint8_t *)id, strlen(id));
    crypto_hash_sha256_final(&st, h);
    h[6] = (uint8_t)((h[6] & 0x0f) | 0x80); /* version 8: application-defined (RFC 9562) */
    h[8] = (uint8_t)((h[8] & 0x3f) | 0x80);
    char x[33];
    sodium_bin2hex(x, sizeof x, h, 16);
    snprintf(out, 64, "urn:uuid:%.8s-%.4s-%.4s-%.4s-%.12s", x, x + 8, x + 12, x + 16, x + 20);
}

static json_t *coding(const char *system, const char *code, const char *display)
{
    return json_pack("{s:s,s:s,s:s*}", "system", system, "code", code, "display", display);
}

static json_t *concept(const char *system, const char *code, const char *display)
{
    return json_pack("{s:[o]}", "coding", coding(system, code, display));
}

static json_t *by_identifier(const char *system, const char *value, const char *display)
{
    return json_pack("{s:{s:s,s:s},s:s*}", "identifier", "system", system, "value", value, "display", display);
}

static const char *sig_alg_name(int64_t alg)
{
    switch (alg) {
    case 1: return "rsa-pss-sha256";
    case 2: return "rsa-pkcs1-sha256";
    case 3: return "ecdsa-sha256";
    case 4: return "ecdsa-sha384";
    }
    return "unknown";
}

/* columns of the query in mr_fhir_consents */
enum { C_ID, C_PHYSICIAN, C_EXCLUDED, C_CREATED, C_EXPIRES, C_REVOKED, C_TERMS, C_SUBJECT, C_ALG, C_SIG, C_K2,
       C_CPK, C_IID, C_CARD, C_CARD_DER, C_NAME, C_SESSION };

/* The Provenance of one grant: the physician's card signature, with what it
 * signed and the card's certificate as extensions, so that it can be checked. */
static json_t *provenance(const char *module, const mr_rows *r, size_t i, const char *when)
{
    uint8_t sid[MR_SESSION_ID_BYTES], td[32], *tbs = NULL;
    size_t tl = 0, k2l = 0, cpkl = 0, sl = 0, dl = 0;
    const uint8_t *k2 = mr_rows_blob(r, i, C_K2, &k2l), *cpk = mr_rows_blob(r, i, C_CPK, &cpkl);
    const uint8_t *sig = mr_rows_blob(r, i, C_SIG, &sl), *der = mr_rows_blob(r, i, C_CARD_DER, &dl);
    char *tbs64 = NULL, *sig64 = NULL, *der64 = NULL, pid[40], ref[48];
    json_t *p = NULL;
    mr_consent_terms_digest(mr_rows_text(r, i, C_TERMS), td);
    if (!mr_unhex_exact(mr_rows_text(r, i, C_SESSION), sid, sizeof sid) || cpkl != 32 || !*mr_rows_text(r, i, C_TERMS) ||
        mr_consent_physician_tbs(sid, MR_PURPOSE_ROTATE, module, mr_rows_text(r, i, C_IID), k2, k2l, cpk, td, &tbs,
                                 &tl) != MEDREG_OK)
        return NULL; /* a grant made before its terms were kept: no checkable signature */
    tbs64 = mr_base64(tbs, tl);
    sig64 = mr_base64(sig, sl);
    der64 = der ? mr_base64(der, dl) : NULL;
    snprintf(pid, sizeof pid, "%s-p", mr_rows_text(r, i, C_ID));
    snprintf(ref, sizeof ref, "Consent/%s", mr_rows_text(r, i, C_ID));
    const char *name = mr_rows_text(r, i, C_NAME);
    if (tbs64 && sig64)
        p = json_pack(
            "{s:s,s:s,s:[{s:s}],s:s,s:o,s:[{s:o,s:o}],s:[{s:[o],s:s,s:o,s:s,s:s,s:s,s:[{s:s,s:s},{s:s,s:s},{s:s,s:s*}]}]}",
            "resourceType", "Provenance", "id", pid, "target", "reference", ref, "recorded", when, "activity",
            concept("http://terminology.hl7.org/CodeSystem/v3-DataOperation", "CREATE", "create"), "agent", "type",
            concept("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "author", "Author"), "who",
            by_identifier(CERT_SYSTEM, mr_rows_text(r, i, C_PHYSICIAN), name), "signature", "type",
            coding("urn:iso-astm:E1762-95:2013", "1.2.840.10065.1.12.1.7", "Consent Signature"), "when", when, "who",
            by_identifier(CARD_SYSTEM, mr_rows_text(r, i, C_CARD), name), "targetFormat", "application/octet-stream",
            "sigFormat", "application/octet-stream", "data", sig64, "extension", "url",
            "urn:medreg:fhir:signature-algorithm", "valueCode", sig_alg_name(mr_rows_int(r, i, C_ALG)), "url",
            "urn:medreg:fhir:signed-bytes", "valueBase64Binary", tbs64, "url", "urn:medreg:fhir:card-certificate",
            "valueBase64Binary", der64);
    free(tbs);
    free(tbs64);
    free(sig64);
    free(der64);
    return p;
}

static json_t *consent(mr_service *s, mr_conn *c, const char *module, const mr_rows *r, size_t i, int64_t now,
                       const char *when)
{
    char handle[33] = "", end[32], system[96];
    uint8_t key[32];
    int64_t exp = mr_rows_int(r, i, C_EXPIRES);
    int revoked = !mr_rows_isnull(r, i, C_REVOKED);
    json_t *patient;
    snprintf(system, sizeof system, "urn:medreg:ledger-subject:%s", module);
    if (s->cfg->events_ledger && mr_events_patient(s, c, module, mr_rows_text(r, i, C_SUBJECT), handle, key) == MEDREG_OK)
        patient = by_identifier(system, handle, "pseudonymous patient");
    else
        patient = json_pack("{s:s}", "display", "pseudonymous patient");
    mr_wipe(key, sizeof key);
    json_t *provision = json_pack(
        "{s:s,s:{s:s,s:s},s:[{s:o,s:o}],s:[o]}", "type", "permit", "period", "start", when, "end",
        instant(revoked && mr_rows_int(r, i, C_REVOKED) < exp ? mr_rows_int(r, i, C_REVOKED) : exp, end), "actor",
        "role", concept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP", "information recipient"),
        "reference", by_identifier(CERT_SYSTEM, mr_rows_text(r, i, C_PHYSICIAN), mr_rows_text(r, i, C_NAME)), "action",
        concept("http://terminology.hl7.org/CodeSystem/consentaction", "access", "Access"));
    /* withheld categories: a nested deny, one security label each */
    const char *ex = mr_rows_text(r, i, C_EXCLUDED);
    if (*ex) {
        json_t *labels = json_array();
        char buf[1100], *save = NULL, csys[96];
        snprintf(buf, sizeof buf, "%s", ex);
        snprintf(csys, sizeof csys, "urn:medreg:category:%s", module);
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
            json_array_append_new(labels, coding(csys, t, NULL));
        json_object_set_new(provision, "provision", json_pack("[{s:s,s:o}]", "type", "deny", "securityLabel", labels));
    }
    return json_pack("{s:s,s:s,s:s,s:o,s:[o],s:o,s:s,s:[o],s:o,s:[{s:b,s:o,s:s}],s:o}", "resourceType", "Consent", "id",
                     mr_rows_text(r, i, C_ID), "status", !revoked && exp > now ? "active" : "inactive", "scope",
                     concept("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy", "Privacy Consent"),
                     "category", concept("http://loinc.org", "59284-0", "Patient Consent"), "patient", patient,
                     "dateTime", when, "performer", json_deep_copy(patient), "policyRule",
                     concept("http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTIN", "opt-in"), "verification",
                     "verified", 1, "verifiedWith", json_deep_copy(patient), "verificationDate", when, "provision",
                     provision);
}

void mr_fhir_consents(mr_service *s, mr_request *req, mr_response *resp)
{
    const char *module = mr_req_query(req, "module");
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    if (module == NULL || mr_service_module(s, module, NULL) == NULL) {
        mr_resp_error(resp, 400, "invalid_query", "query 'module' must name a module of this registry");
        return;
    }
    if (!mr_require_role(s, req, resp, "fhir_consent", "admin", "", "monitor"))
        return;
    mr_param p[1] = {MR_TEXT(module)};
    medreg_err rc = mr_db_acquire(s->db, &c);
    if (rc == MEDREG_OK)
        rc = mr_conn_exec(c,
                          "SELECT g.id, g.physician, g.excluded, g.created_at, g.expires_at, g.revoked_at, g.terms,"
                          " g.subject, f.physician_alg, f.physician_sig, f.k2, f.client_pk, cs.internal_id, f.card_cert,"
                          " cc.cert, COALESCE((SELECT MIN(u.name) FROM users u WHERE u.fpr = g.physician), ''), g.session"
                          " FROM grants g JOIN fingerprints f ON f.session = g.session"
                          " JOIN consent_sessions cs ON cs.id = g.session"
                          " LEFT JOIN card_certs cc ON cc.fpr = f.card_cert"
                          " WHERE g.module = $1 ORDER BY g.created_at, g.id LIMIT 1000",
                          p, 1, &r);
    if (rc != MEDREG_OK) {
        mr_db_release(s->db, c);
        mr_resp_db_error(resp, rc);
        return;
    }
    json_t *entries = json_array();
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < mr_rows_count(r); i++) {
        char when[32], url[64];
        instant(mr_rows_int(r, i, C_CREATED), when);
        entry_url("Consent", mr_rows_text(r, i, C_ID), url);
        json_array_append_new(entries, json_pack("{s:s,s:o,s:{s:s}}", "fullUrl", url, "resource",
                                                 consent(s, c, module, r, i, now, when), "search", "mode", "match"));
        json_t *prov = provenance(module, r, i, when);
        if (prov) {
            entry_url("Provenance", mr_rows_text(r, i, C_ID), url);
            json_array_append_new(entries, json_pack("{s:s,s:o,s:{s:s}}", "fullUrl", url, "resource", prov, "search",
                                                     "mode", "include"));
        }
    }
    size_t total = mr_rows_count(r);
    mr_rows_free(r);
    mr_db_release(s->db, c);
    mr_resp_json(resp, 200, json_pack("{s:s,s:s,s:I,s:o}", "resourceType", "Bundle", "type", "searchset", "total",
                                      (json_int_t)total, "entry", entries));
    mr_resp_after_audit(resp, "", req->caller.fpr, "fhir_consent", module, "", "ok", "");
}
