#!/usr/bin/env bash
# The identity service and the registry ship every audited event to the
# ledger (docs/ledger.md): every audit row becomes one ledger entry, in
# which no identifier appears (names, fingerprints, internal IDs, patient
# IDs); events survive the ledger being away; a shipped event's inclusion
# can be proven.
. "$(dirname "$0")/lib.sh"

"$MEDREG" pki issue pki reader >/dev/null
# a ledger that takes small requests only: the services send fewer events at a time until they fit
LEDGER_SERVICE_EXTRA="max_body = 2048" setup_ledger 200 && ok "the ledger starts" || fail "ledger start"
VKEY=$(cat ledger.skey.pub)
ship_events && ok "both services restart with the ledger configured" || fail "restart"

expect 0 "a patient is registered" -- as dr-a --json patient register --module hip --id family_name=Müller \
  --id given_name=Jürgen --id birth_date=1961-03-07
cp "$W/out" p.json
expect 0 "a record is filed" -- as dr-a --json record add --module hip --internal-id "$(json p.json .internal_id)" \
  --token "$(json p.json .psn_token)" --data '{"side":"left","implant":"Corail","surgery_date":"2021-05-04"}'
cp "$W/out" r.json
expect 0 "and read" -- as dr-a record show "$(json r.json .record_id)"
expect 3 "a refused read is an event too" -- as dr-b record show "$(json r.json .record_id)"
jq -nc '[range(6) | {family_name: "Burst\(.)", given_name: "Events", birth_date: "1970-01-01"}]' > burst.json
expect 0 "six registrations at once: more events than one small request holds" -- \
  as dr-a patient register-batch --module hip --file burst.json
sqlc() { sqlite3 -cmd ".timeout 10000" "$W/$1.db" "$2"; }
drained() { # wait (up to 20 s) until the services' outboxes are empty: they ship every second
  local i
  for i in $(seq 1 100); do
    [ "$ENGINE" != sqlite ] && { sleep 1.5; return 0; }
    [ "$(sqlc identity "SELECT COUNT(*) FROM events")$(sqlc registry "SELECT COUNT(*) FROM events")" = 00 ] && return 0
    sleep 0.2
  done
  return 1
}
drained || true
grep -q "sending fewer at a time" "$W/identity.log" \
  && ok "a round too large for the ledger (413) is sent again in smaller ones" || fail "no smaller rounds after a 413"
if [ "$ENGINE" = sqlite ]; then
  for svc in identity registry; do
    a=$(sqlc $svc "SELECT COUNT(*) FROM events"); s=$(sqlc $svc "SELECT COUNT(*) FROM ledger_shipped")
    [ "$a" = 0 ] && [ "$s" -gt 0 ] && ok "$svc: all $s events are in the ledger, none left in the outbox" \
      || fail "$svc: $s shipped, $a left"
  done
fi
expect 0 "the ledger exports its entries" -- as reader ledger export pub
python3 - pub > events.txt <<'EOP'
import glob, json, sys, base64
for f in sorted(glob.glob(sys.argv[1] + "/tile/entries/**/*", recursive=True)):
    try: b = open(f, "rb").read()
    except IsADirectoryError: continue
    i = 0
    while i < len(b):
        n = b[i] << 8 | b[i + 1]; e = b[i + 2:i + 2 + n]; i += 2 + n
        print(base64.b64decode(e).decode() if e[:1] != b"{" else e.decode())
EOP
head -1 events.txt | python3 -c "import json,sys; e=json.loads(sys.stdin.read()); assert set(e)=={'v','type','module','time','actor','subject','details'}" \
  && ok "each entry is an event: type, module, time, opaque actor and subject, encrypted details" || fail "event shape: $(head -1 events.txt)"
grep -q '"type":"record_read"' events.txt && grep -q '"type":"patient_register"' events.txt \
  && ok "registrations and reads are among them" || fail "types: $(cut -c1-80 events.txt | head -3)"
fpr=$("$MEDREG" pki fingerprint pki/dr-a.crt)
leak=0
for v in Müller Jürgen muller jurgen 1961 "$fpr" "$(json p.json .internal_id)" "$(json r.json .record_id)" Corail dr-a; do
  case $v in
    *[!0-9]*) grep -qi -- "$v" events.txt ;;
    *) leaks events.txt "$v" ;; # a year only as a token of its own, not by chance inside base64
  esac && { leak=1; echo "'$v' in the ledger"; }
done
[ $leak = 0 ] && ok "no name, date, fingerprint, internal ID, record ID or value is in the ledger" || fail "identifiers in the ledger"

# the ledger away: events wait, then arrive
kill "$LEDGER_PID"; wait "$LEDGER_PID" 2>/dev/null || true
expect 0 "the registry works while the ledger is away" -- as dr-a record show "$(json r.json .record_id)"
if [ "$ENGINE" = sqlite ]; then
  sleep 0.5
  a=$(sqlc registry "SELECT COUNT(*) FROM events")
  [ "$a" -gt 0 ] && ok "meanwhile its $a event(s) wait in the outbox" || fail "no event waiting"
fi
start_ledger && ok "the ledger is back" || fail "ledger restart"
drained || true
if [ "$ENGINE" = sqlite ]; then
  a=$(sqlc registry "SELECT COUNT(*) FROM events")
  [ "$a" = 0 ] && ok "the events of the outage arrived" || fail "$a events left after the outage"
  idx=$(sqlc registry "SELECT MAX(idx) FROM ledger_shipped")
  # the ledger signs a checkpoint every interval: wait until one covers idx
  for _ in $(seq 1 25); do as reader ledger verify --vkey "$VKEY" --index "$idx" >/dev/null 2>&1 && break; sleep 0.2; done
  expect 0 "the newest event's inclusion is proven" -- as reader ledger verify --vkey "$VKEY" --index "$idx"
fi

# the audit trail is the ledger: read back and opened with each service's keys
expect 3 "physicians cannot read the trail's keys" -- as dr-a ledger events --on registry --vkey "$VKEY"
expect 0 "the registry's trail, from the ledger" -- as admin ledger events --on registry --vkey "$VKEY" --type record_read
contains "$W/out" "${fpr:0:24}" "each read names its reader (opened with the registry's keys)"
contains "$W/out" "$(json r.json .record_id)" "and the record"
lacks "$W/out" "patient_register" "only the type asked for"
expect 0 "the identity service's trail" -- as admin ledger events --on identity --vkey "$VKEY" --module hip
contains "$W/out" "patient_register" "registrations"
drained || true
expect 0 "the events table keeps nothing the ledger holds" -- as admin --json audit --on registry --limit 1000
[ "$(jq '.events | length' "$W/out")" = 0 ] && ok "it is empty" || fail "$(jq '.events | length' "$W/out") events left"

finish
