#!/usr/bin/env bash
# The patient's own view of the ledger (docs/ledger.md, "The patient's
# history"): with their card present, `medreg audit mine` lists every event
# about them, each proven against a signed checkpoint and opened with their
# key; they revoke a grant or change when it ends; `medreg ledger
# audit-state` recomputes the consent state from the log alone. And the
# attacks: another card, a registry that hides an event, lists another
# patient's, or changes a grant behind the log's back.
export MEDREG_CONSENT_FAIL_MAX=1000
. "$(dirname "$0")/lib.sh"

SOFTHSM=${MEDREG_SOFTHSM:-/usr/lib/softhsm/libsofthsm2.so}
if [ ! -r "$SOFTHSM" ]; then echo "SoftHSM2 is not installed: skipped"; exit 77; fi
mkdir -p "$W/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$W" > "$W/softhsm2.conf"
export SOFTHSM2_CONF="$W/softhsm2.conf" MEDREG_CARD_PIN=1234 MEDREG_PATIENT_PIN=1234 MEDREG_PHYSICIAN_PIN=1234
card() { echo "pkcs11:token=$1?module-path=$SOFTHSM"; }
sql() { sqlite3 -cmd ".timeout 10000" "$W/registry.db" "$1"; }

setup_ledger 200 && ok "the ledger starts" || fail "ledger start"
VKEY=$(cat ledger.skey.pub)
ship_events && ok "both services ship their events to the ledger" || fail "restart"

for d in dr-a dr-b; do
  expect 0 "card for $d" -- "$MEDREG" card init --label "$d-card" --name "$d" --pki pki --key-type p256 --cert-out "$d-card.crt"
  expect 0 "registered" -- as admin card register --physician-cert "pki/$d.crt" --card-cert "$d-card.crt"
done
for c in patient other; do
  expect 0 "$c card" -- "$MEDREG" card init --label "$c" --name "$c" --pki pki --key-type p256
done
DA=$(card dr-a-card); DB=$(card dr-b-card); P=$(card patient); O=$(card other)

# the patient at Dr A: registered, a record, the card enrolled
expect 0 "Dr A registers the patient" -- as dr-a --json patient register --module hip \
  --id family_name=Lindqvist --id given_name=Eva --id birth_date=1958-11-30
IA=$(json "$W/out" .internal_id); json "$W/out" .psn_token > a.tok
expect 0 "Dr A files a record" -- as dr-a --json record add --module hip --internal-id "$IA" --token-file a.tok \
  --data '{"side":"left","implant":"Corail","surgery_date":"2020-01-02","depression_screen":"negative"}'
RA=$(json "$W/out" .record_id)
expect 0 "Dr A enrolls the patient's card" -- as dr-a consent enroll --module hip --internal-id "$IA" \
  --patient-card "$P" --physician-card "$DA"
# another patient of Dr A's, whose events must never be shown to the first
expect 0 "Dr A registers another patient" -- as dr-a --json patient register --module hip \
  --id family_name=Berg --id given_name=Olof --id birth_date=1949-04-05
IO=$(json "$W/out" .internal_id)
expect 0 "and files a record" -- as dr-a --json record add --module hip --internal-id "$IO" \
  --token "$(json "$W/out" .psn_token)" --data '{"side":"right","implant":"Pinnacle","surgery_date":"2021-01-02"}'
expect 0 "and enrolls the other card" -- as dr-a consent enroll --module hip --internal-id "$IO" \
  --patient-card "$O" --physician-card "$DA"

# at Dr B: consent, then reads under the grant
expect 0 "Dr B registers the patient" -- as dr-b --json patient register --module hip \
  --id family_name=Lindqvist --id given_name=Eva --id birth_date=1958-11-30
IB=$(json "$W/out" .internal_id); json "$W/out" .psn_token > b.tok
expect 0 "the patient consents at Dr B, withholding mental health" -- as dr-b --json consent request --module hip \
  --internal-id "$IB" --token-file b.tok --patient-card "$P" --physician-card "$DB" --exclude mental-health --days 30
G=$(json "$W/out" .grant.id)
expect 0 "Dr B reads Dr A's record under the grant" -- as dr-b record show "$RA"
PID_A=$(as modadmin --json patient search --module hip --field family_name --value lindqvist | jq -r '.patients[0].id')
expect 0 "a module administrator views the patient's identity" -- as modadmin patient show "$PID_A"

MINE=(--module hip --internal-id "$IB" --patient-card "$P" --physician-card "$DB" --vkey "$VKEY")
expect 3 "another patient's card opens no history" -- as dr-b audit mine --module hip --internal-id "$IB" \
  --patient-card "$O" --physician-card "$DB" --vkey "$VKEY"
contains "$W/err" "not enrolled for this patient" "the physician is told why"
expect 2 "the history needs the log's key" -- as dr-b audit mine --module hip --internal-id "$IB" \
  --patient-card "$P" --physician-card "$DB"

shipped() { # the services ship their events to the ledger every second: wait until both have
  for _ in $(seq 1 100); do
    [ "$(sql "SELECT COUNT(*) FROM events")$(sqlite3 -cmd ".timeout 10000" "$W/identity.db" "SELECT COUNT(*) FROM events")" = 00 ] && break
    sleep 0.2
  done
}
shipped
expect 0 "the patient sees their history at Dr B" -- as dr-b audit mine "${MINE[@]}" --state mine.state --scan
cp "$W/out" mine.txt
for t in enroll record_write consent_start consent_failure consent_success grant record_read; do
  contains mine.txt " $t " "the history shows $t"
done
contains mine.txt "under grant $G" "the read names the grant it was made under"
sed -n '/at the identity service/,$p' mine.txt > id.txt
grep -E " patient_register .*dr-a" id.txt >/dev/null && grep -E " patient_register .*dr-b" id.txt >/dev/null \
  && ok "the identity service's events too: each physician's registration" || fail "identity events: $(cat id.txt | head -5)"
grep -E " patient_view .*modadmin" id.txt >/dev/null && ok "and the module administrator's look at the identity" \
  || fail "patient_view missing"
grep -E " consent_failure .*card_mismatch" mine.txt >/dev/null && ok "the attempt with another card is in it, with its reason" \
  || fail "failure: $(grep consent_failure mine.txt)"
grep -E " record_read .*dr-b" mine.txt >/dev/null && ok "and who read" || fail "reader not named: $(grep record_read mine.txt)"
contains mine.txt "$G  active" "the grant is listed, active"
contains mine.txt "withheld: mental-health" "with what it withholds"
contains mine.txt "proven in ledger.example/medreg's checkpoint" "every event is proven in a signed checkpoint"
contains mine.txt "no other event about you" "the scan of the whole log finds nothing left out"
lacks mine.txt "$IO" "nothing of the other patient"
n_other=$(sql "SELECT COUNT(*) FROM ledger_shipped l JOIN relations r ON r.subject = l.subject WHERE r.internal_id = '$IO'")
[ "$n_other" -gt 0 ] && ok "the other patient has $n_other events of their own" || fail "no events for the other patient"

shipped # the look just taken (audit_view), which the next one must show
expect 0 "JSON output" -- as dr-b --json audit mine "${MINE[@]}" --state mine.state
READ_IDX=$(jq '[.events[] | select(.event.type == "record_read") | .index] | first' "$W/out")
PASS=$(jq -r .identity_pass "$W/out")
jq -e '[.events[] | select(.service == "identity") | .event.type] | index("history_view")' "$W/out" >/dev/null \
  && ok "the identity service recorded the patient's earlier look at their identity" || fail "history_view missing"
idpost() { # CERT BODY -> HTTP status of POST /v1/events/patient at the identity service
  curl -s -o "$W/idpost.json" -w '%{http_code}' --cert "pki/$1.crt" --key "pki/$1.key" --cacert pki/ca.crt \
    -H 'Content-Type: application/json' -d "$2" "$MEDREG_IDENTITY/v1/events/patient"
}
[ "$(idpost dr-b "{\"module\":\"hip\",\"pass\":\"$PASS\"}")" = 403 ] && grep -q pass_used "$W/idpost.json" \
  && ok "a presence pass works once" || fail "pass reuse: $(cat "$W/idpost.json")"
TAMPERED=$(python3 -c "import sys; p=sys.argv[1]; i=len(p)//2; print(p[:i] + ('A' if p[i] != 'A' else 'B') + p[i+1:])" "$PASS")
[ "$(idpost dr-b "{\"module\":\"hip\",\"pass\":\"$TAMPERED\"}")" = 403 ] && grep -q invalid_pass "$W/idpost.json" \
  && ok "a tampered pass is refused" || fail "tampered pass: $(cat "$W/idpost.json")"
as dr-b --json audit mine "${MINE[@]}" > fresh.json
PASS2=$(jq -r .identity_pass fresh.json)
[ "$(idpost dr-a "{\"module\":\"hip\",\"pass\":\"$PASS2\"}")" = 403 ] && grep -q "another physician" "$W/idpost.json" \
  && ok "another physician cannot use it" || fail "pass by dr-a: $(cat "$W/idpost.json")"
[ "$(idpost dr-b "{\"module\":\"knee\",\"pass\":\"$PASS2\"}")" = 403 ] && grep -q "another module" "$W/idpost.json" \
  && ok "nor in another module" || fail "pass for knee: $(cat "$W/idpost.json")"
# a physician whose role at the identity service was removed cannot use the pass they still hold
as admin user remove --on identity --cert-file pki/dr-b.crt --role physician --module hip >/dev/null
[ "$(idpost dr-b "{\"module\":\"hip\",\"pass\":\"$PASS2\"}")" = 403 ] && grep -q "physician" "$W/idpost.json" \
  && ok "nor once the physician's role is removed" || fail "pass without the role: $(cat "$W/idpost.json")"
as admin user add --on identity --cert-file pki/dr-b.crt --role physician --module hip >/dev/null
# a pass past its end: the registry, restarted, hands out passes that last a second
registry_with() { # INI LINE for [registry], or nothing: restart the registry with it
  kill "$REGISTRY_PID" 2>/dev/null || true; st=0; wait "$REGISTRY_PID" || st=$?; KILLED+=("$REGISTRY_PID")
  [ "$st" = 0 ] || fail "the registry exited with status $st"
  sed -i '/^presence_pass_ttl = /d' registry.ini
  [ -z "$1" ] || sed -i "/^\[registry\]/a $1" registry.ini
  restart_registry || fail "the registry did not restart"
}
registry_with "presence_pass_ttl = 1"
as dr-b --json audit mine "${MINE[@]}" > brief.json || true
PASS3=$(jq -r '.identity_pass // empty' brief.json)
sleep 2.1
[ -n "$PASS3" ] && [ "$(idpost dr-b "{\"module\":\"hip\",\"pass\":\"$PASS3\"}")" = 403 ] &&
  grep -q "expired" "$W/idpost.json" && ok "a pass past its end is refused" || fail "expired pass: $(cat "$W/idpost.json")"
registry_with ""
jq -e '.events | length > 5' "$W/out" >/dev/null && jq -e '.events[0].details.actor | length == 64' "$W/out" >/dev/null \
  && ok "events with their opened details" || fail "json: $(head -c 300 "$W/out")"
jq -e '[.events[].event.type] | index("audit_view")' "$W/out" >/dev/null \
  && ok "the patient's earlier look at their history is in it too" || fail "audit_view missing"

# the grants as FHIR R4 Consent resources, with the physician's card signature in a Provenance
FHIR=(python3 "$SRC/tests/integration/fhir_check.py" "$SRC/tests/data/fhir/fhir-r4-consent.schema.json")
expect 3 "physicians cannot export the grants as FHIR" -- as dr-b grants --module hip --fhir
expect 0 "the administrator exports the grants as FHIR R4" -- as admin grants --module hip --fhir
cp "$W/out" consent.fhir.json
expect 0 "the export has the FHIR R4 structure, and the card signed exactly the agreed terms" -- "${FHIR[@]}" \
  consent.fhir.json pki/ca.crt --expect-terms "$G" "grant;exclude=mental-health;days=30"
contains "$W/out" "1 Consent, 1 verified card signatures" "one Consent, its signature checked with OpenSSL"
jq -e --arg g "$G" '.entry[] | select(.resource.id == $g) | .resource | .status == "active"
  and .provision.provision[0].type == "deny" and .provision.provision[0].securityLabel[0].code == "mental-health"
  and (.patient.identifier.value | length == 32)' consent.fhir.json >/dev/null \
  && ok "active, mental health denied, the patient named by their ledger handle only" || fail "consent content"
for v in Lindqvist Eva 1958 "$IA" "$IB"; do
  leaks consent.fhir.json "$v" && fail "'$v' in the FHIR export"
done
ok "no name, birth date or internal ID in the export"
jq 'del(.entry[0].resource.status)' consent.fhir.json > no-status.json
expect 1 "a Consent without its status fails the structure check" -- "${FHIR[@]}" no-status.json pki/ca.crt
contains "$W/out" "schema: 'status' is a required property" "named"
sql "UPDATE grants SET terms = 'grant;exclude=;days=30' WHERE id = '$G'"
expect 0 "exported again after the terms were changed in the database" -- as admin grants --module hip --fhir
cp "$W/out" forged.fhir.json
expect 1 "the forged terms are caught: the card's signature no longer verifies" -- "${FHIR[@]}" forged.fhir.json pki/ca.crt
contains "$W/out" "the card signature does not verify" "named"
sql "UPDATE grants SET terms = 'grant;exclude=mental-health;days=30' WHERE id = '$G'"

# the patient manages the grant: a new end, then a revocation
expect 0 "the patient shortens the grant to 3 days" -- as dr-b consent expire --module hip --internal-id "$IB" \
  --patient-card "$P" --physician-card "$DB" --grant "$G" --days 3
contains "$W/out" "ends in 3 days" "reported"
left=$(( $(sql "SELECT expires_at FROM grants WHERE id = '$G'") - $(date +%s) ))
[ "$left" -le $((3 * 86400)) ] && [ "$left" -gt $((3 * 86400 - 120)) ] && ok "the registry holds the new end" \
  || fail "ends in $left s"
# every read of the event keys is an event (its action then leaves for the
# ledger, so count events by their sequence numbers)
last_seq() { sql "SELECT MAX(m) FROM (SELECT MAX(seq) AS m FROM events UNION ALL SELECT MAX(seq) FROM ledger_shipped)"; }
seq0=$(last_seq)
expect 0 "the consent state recomputed from the log matches the registry" -- as admin ledger audit-state \
  --module hip --vkey "$VKEY"
contains "$W/out" "is the one the log records" "audit-state agrees"
seq1=$(last_seq)
[ "$seq1" -gt "$seq0" ] && ok "the key read is on record before it is answered" || fail "no event for the key read"
expect 3 "physicians cannot read the event keys" -- as dr-b ledger audit-state --module hip --vkey "$VKEY"
[ "$(last_seq)" -gt "$seq1" ] && ok "and so is the refused one" || fail "no event for the refused key read"

# a registry that changes a grant behind the log's back is caught
sql "UPDATE grants SET expires_at = expires_at + 86400 * 365 WHERE id = '$G'"
expect 1 "a grant extended in the database alone: audit-state reports it" -- as admin ledger audit-state \
  --module hip --vkey "$VKEY"
contains "$W/out" "grant $G: ends at" "the difference is named"
sql "UPDATE grants SET expires_at = expires_at - 86400 * 365 WHERE id = '$G'"
expect 0 "restored" -- as admin ledger audit-state --module hip --vkey "$VKEY"

expect 0 "the patient revokes that one grant" -- as dr-b consent revoke --module hip --internal-id "$IB" \
  --patient-card "$P" --physician-card "$DB" --grant "$G"
contains "$W/out" "revoked 1" "reported"
expect 3 "Dr B can no longer read Dr A's record" -- as dr-b record show "$RA"
expect 0 "audit-state agrees after the revocation" -- as monitor ledger audit-state --module hip --vkey "$VKEY"
sql "UPDATE grants SET revoked_at = NULL, revoked_by = NULL WHERE id = '$G'"
expect 1 "a revocation undone in the database: reported" -- as admin ledger audit-state --module hip --vkey "$VKEY"
contains "$W/out" "not revoked in the registry, revoked in the log" "named"
sql "UPDATE grants SET revoked_at = 1, revoked_by = 'patient' WHERE id = '$G'"
sql "INSERT INTO grants (id, module, subject, physician, excluded, created_at, expires_at, session)
     SELECT 'ffffffffffffffffffffffffffffffff', module, subject, physician, '', created_at, expires_at + 999, session
     FROM grants WHERE id = '$G'"
expect 1 "a grant the log never saw: reported" -- as admin ledger audit-state --module hip --vkey "$VKEY"
contains "$W/out" "never granted in the log" "named"
sql "DELETE FROM grants WHERE id = 'ffffffffffffffffffffffffffffffff'"

expect 0 "after the revocation, the history shows it" -- as dr-b audit mine "${MINE[@]}" --state mine.state
contains "$W/out" " revoke " "the revoke event"
contains "$W/out" " grant_expiry " "the new end"
contains "$W/out" "$G  revoked" "the grant's state"

# a registry that hides an event from the patient: --scan finds it
sql "UPDATE ledger_shipped SET subject = 'hidden' WHERE idx = $READ_IDX"
expect 0 "without --scan, the hidden read is simply not listed" -- as dr-b audit mine "${MINE[@]}"
lacks "$W/out" " record_read " "(the registry's list alone cannot show it)"
expect 1 "with --scan, the patient is told the registry hid an event" -- as dr-b audit mine "${MINE[@]}" --scan
contains "$W/err" "the registry did not list it" "named"
sed -n '/found by reading the whole log/,$p' "$W/out" | grep -q " record_read " \
  && ok "and the hidden read is shown anyway, proven and opened" || fail "hidden read not shown"
# an identity service that hides an event is caught the same way
REG_IDX=$(jq '[.events[] | select(.event.type == "patient_register") | .index] | first' fresh.json)
sqlite3 -cmd ".timeout 10000" "$W/identity.db" "UPDATE ledger_shipped SET subject = 'hidden' WHERE idx = $REG_IDX"
expect 1 "an identity service that hides a registration: caught by --scan" -- as dr-b audit mine "${MINE[@]}" --scan
contains "$W/err" "the identity service did not list it" "named"
# a registry that slips another patient's event in: refused
sql "UPDATE ledger_shipped SET subject = (SELECT subject FROM relations WHERE internal_id = '$IB')
     WHERE idx = (SELECT MIN(l.idx) FROM ledger_shipped l JOIN relations r ON r.subject = l.subject WHERE r.internal_id = '$IO')"
expect 1 "another patient's event listed as theirs: refused" -- as dr-b audit mine "${MINE[@]}"
contains "$W/err" "not an event about you" "named"

# a ledger whose checkpoint is not signed by the log's key
"$MEDREG" ledger key new --name ledger.example/medreg --out other.skey >/dev/null
expect 1 "a checkpoint under another key: refused" -- as dr-b audit mine "${MINE[@]:0:8}" --vkey "$(cat other.skey.pub)"
contains "$W/err" "not signed by" "named"

finish
