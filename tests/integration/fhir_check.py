#!/usr/bin/env python3
"""Check a consent export (medreg grants --fhir) against the FHIR R4 structure
(tests/data/fhir, with its source) and the invariants a JSON schema cannot
state; then check every Provenance signature with OpenSSL against the card
certificate, which must chain to the CA.

usage: fhir_check.py SCHEMA BUNDLE CA_CERT [--expect-terms ID TERMS]...
Prints one line per finding; exits 1 on any."""
import base64, hashlib, json, os, subprocess, sys, tempfile

import jsonschema

schema_path, bundle_path, ca = sys.argv[1:4]
expect = {}
rest = sys.argv[4:]
while rest:
    assert rest[0] == "--expect-terms"
    expect[rest[1]] = rest[2]
    rest = rest[3:]
bundle = json.load(open(bundle_path))
errors = []

schema = json.load(open(schema_path))


def check(instance, definition, where):
    s = {"$ref": "#/definitions/" + definition, "definitions": schema["definitions"]}
    for e in sorted(jsonschema.Draft7Validator(s).iter_errors(instance), key=lambda e: list(e.path)):
        errors.append("schema: %s at %s" % (e.message[:200], "/".join([where] + list(map(str, e.path)))))


# each resource against its own definition (precise messages), then the whole bundle
for i, e in enumerate(bundle.get("entry", []) if isinstance(bundle, dict) else []):
    r = e.get("resource", {}) if isinstance(e, dict) else {}
    if r.get("resourceType") in ("Consent", "Provenance"):
        check(r, r["resourceType"], "entry/%d/resource" % i)
if not errors:
    check(bundle, "Bundle", "")


def empty(node, path):  # ele-1: no element without a value or children
    if node in ({}, [], ""):
        errors.append("ele-1: empty element at " + path)
    if isinstance(node, dict):
        for k, x in node.items():
            empty(x, path + "/" + k)
    elif isinstance(node, list):
        for i, x in enumerate(node):
            empty(x, "%s/%d" % (path, i))


empty(bundle, "")
entries = bundle.get("entry", [])
urls = [e.get("fullUrl") for e in entries]
if len(urls) != len(set(urls)):
    errors.append("bdl-7: fullUrl values are not unique")
if "total" in bundle and bundle["type"] not in ("searchset", "history"):
    errors.append("bdl-1: total only in a search or history")
consents = {e["resource"]["id"]: e["resource"] for e in entries if e["resource"]["resourceType"] == "Consent"}
if bundle.get("total") != len(consents):
    errors.append("total %s, but %d Consent resources" % (bundle.get("total"), len(consents)))
for cid, c in consents.items():
    if "policy" not in c and "policyRule" not in c:
        errors.append("ppc-1: Consent/%s has neither policy nor policyRule" % cid)
    scopes = [(x.get("system"), x.get("code")) for x in c["scope"].get("coding", [])]
    if ("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy") in scopes and "patient" not in c:
        errors.append("ppc-2: Consent/%s is a privacy consent without a patient" % cid)

signed = 0
with tempfile.TemporaryDirectory() as d:
    for e in entries:
        p = e["resource"]
        if p["resourceType"] != "Provenance":
            continue
        target = p["target"][0].get("reference", "")
        if not target.startswith("Consent/") or target[8:] not in consents:
            errors.append("Provenance/%s: target %s is not in the bundle" % (p["id"], target))
            continue
        for s in p.get("signature", []):
            ext = {x["url"]: x for x in s.get("extension", [])}
            tbs = base64.b64decode(ext["urn:medreg:fhir:signed-bytes"]["valueBase64Binary"])
            der = base64.b64decode(ext["urn:medreg:fhir:card-certificate"]["valueBase64Binary"])
            sig = base64.b64decode(s["data"])
            alg = ext["urn:medreg:fhir:signature-algorithm"]["valueCode"]
            if alg not in ("ecdsa-sha256", "rsa-pkcs1-sha256"):
                errors.append("signature algorithm %s: not checked by this test" % alg)
                continue
            for name, data in (("tbs", tbs), ("sig", sig), ("card.der", der)):
                open(os.path.join(d, name), "wb").write(data)
            run = lambda *a: subprocess.run(a, cwd=d, capture_output=True, text=True)
            run("openssl", "x509", "-inform", "DER", "-in", "card.der", "-out", "card.pem")
            run("openssl", "x509", "-in", "card.pem", "-pubkey", "-noout", "-out", "pub.pem")
            if run("openssl", "verify", "-CAfile", os.path.abspath(ca), "card.pem").returncode != 0:
                errors.append("Provenance/%s: the card certificate does not chain to the CA" % p["id"])
            if run("openssl", "dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig", "tbs").returncode != 0:
                errors.append("Provenance/%s: the card signature does not verify" % p["id"])
                continue
            if hashlib.sha256(der).hexdigest() != s["who"]["identifier"]["value"]:
                errors.append("Provenance/%s: signature.who is not the card that signed" % p["id"])
            cid = target[8:]
            if cid in expect and tbs[-32:] != hashlib.sha256(expect[cid].encode()).digest():
                errors.append("Consent/%s: the card signed other terms than %r" % (cid, expect[cid]))
            signed += 1
for cid in expect:
    if cid not in consents:
        errors.append("Consent/%s is missing" % cid)
for e in errors:
    print(e)
print("%d Consent, %d verified card signatures, %d findings" % (len(consents), signed, len(errors)))
sys.exit(1 if errors else 0)
