#!/usr/bin/env bash
# Network-wide PSNs through the real CLI and the real identity service: the
# RFC 9497 VOPRF online, and the same exchange through files for a machine
# that is never online; both give the same bytes, and neither the service
# nor the files ever carry an identifier. Attacks: a service that evaluates
# with another key, an altered response, a response for another input, a
# caller without the pseudonymizer role, malformed and oversized batches.
# Then DICOM the same way: the patient's PSN in PatientID equals the CSV
# tool's network PSN, online and offline outputs are identical, and a
# --finish on a changed folder is refused.
. "$(dirname "$0")/lib.sh"

"$MEDREG" pki issue pki engineer >/dev/null
as admin user add --on identity --cert-file pki/engineer.crt --role pseudonymizer --module hip >/dev/null
mkdir -p data
cp "$SRC/data/"* data/
cp "$SRC/examples/deid/sample.csv" sample.csv
sed -e 's#^module = .*#module = hip.ini#' -e 's#^zip_restricted = .*#zip_restricted = data/hipaa-restricted-zip3.csv#' \
  "$SRC/examples/deid/hip-visits.ini" > visits.ini
# the knee module's pin: a real key of this service, but not hip's
as admin user add --on identity --cert-file pki/engineer.crt --role pseudonymizer --module knee >/dev/null

expect 0 "the pseudonymizer pins the module's VOPRF key" -- as engineer oprf key --module hip --out hip.pin
contains "$W/out" "VOPRF public key" "the key is shown for comparison"
expect 0 "and knee's" -- as engineer oprf key --module knee --out knee.pin
expect 3 "a physician may not fetch it" -- as dr-a oprf key --module hip --out x.pin
expect 4 "an unknown module" -- as engineer oprf key --module nope --out x.pin

# online
expect 0 "online: network-wide PSNs from the identity service" -- as engineer pseudonymize csv --config visits.ini \
  --oprf-key hip.pin --in sample.csv --out net.csv
grep -q "7 rows: 3 written" "$W/out" && ok "3 rows written, 4 rejected" || fail "counts: $(cat "$W/out")"
p1=$(sed -n 2p net.csv | cut -d, -f1); p2=$(sed -n 3p net.csv | cut -d, -f1)
[ "$p1" = "$p2" ] && [ ${#p1} = 64 ] && ok "the same patient typed two ways has one network PSN" || fail "PSN linkage"
[ "$(jq -r .psn net.csv.report.json)" = network ] && [ "$(jq .distinct_patients net.csv.report.json)" = 2 ] \
  && ok "the report names the PSN mode and the distinct patients" || fail "report $(cat net.csv.report.json)"
expect 0 "local PSNs of the same table" -- "$MEDREG" pseudonymize csv --config visits.ini --key hip.key \
  --in sample.csv --out local.csv
[ "$(sed -n 2p local.csv | cut -d, -f1)" != "$p1" ] && ok "network PSNs are not the local HMAC PSNs" || fail "same PSN"
expect 0 "online again (fresh blinds)" -- as engineer pseudonymize csv --config visits.ini --oprf-key hip.pin \
  --in sample.csv --out net2.csv
cmp -s net.csv net2.csv && ok "byte-identical output across runs" || fail "network output differs between runs"
for v in Müller MÜLLER Jürgen 1961 Παπαδόπουλος; do
  leaks net.csv "$v" && fail "'$v' survived" || ok "'$v' is gone"
done
sqlite3 -cmd ".timeout 10000" "$W/identity.db" "SELECT detail FROM events WHERE action = 'oprf_evaluate'" > audit.txt
grep -q "2 elements" audit.txt && ok "each evaluation is audited with its size" || fail "audit: $(cat audit.txt)"
n_pat=$(sqlite3 -cmd ".timeout 10000" "$W/identity.db" "SELECT COUNT(*) FROM patients")
[ "$n_pat" = 0 ] && ok "the service stored no patient: it never saw an identifier" || fail "$n_pat patients stored"

# offline: prepare here, evaluate elsewhere, finish here
expect 0 "offline: --prepare needs no network" -- env -u MEDREG_IDENTITY "$MEDREG" pseudonymize csv \
  --config visits.ini --oprf-key hip.pin --in sample.csv --prepare req.json --state st.json
[ "$(stat -c %a st.json)" = 600 ] && ok "the state file (the blinds' seed) is 0600" || fail "state mode"
[ "$(jq '.blinded | length' req.json)" = 2 ] && ok "the request carries one blinded element per patient" || fail "request"
for v in Müller muller jurgen 1961-03-07 Παπαδόπουλος; do
  grep -qi -- "$v" req.json st.json && fail "'$v' in the request or state" || ok "'$v' is in neither file"
done
expect 0 "the request is evaluated on an online machine" -- as engineer oprf evaluate --in req.json --out resp.json
expect 0 "--finish completes offline" -- env -u MEDREG_IDENTITY "$MEDREG" pseudonymize csv --config visits.ini \
  --oprf-key hip.pin --in sample.csv --finish resp.json --state st.json --out off.csv
cmp -s net.csv off.csv && ok "offline output equals online output" || fail "offline and online differ"

# attacks on the offline exchange
jq '.batches[0].evaluated |= reverse' resp.json > swapped.json
expect 4 "an altered response (two evaluations swapped) is refused" -- "$MEDREG" pseudonymize csv --config visits.ini \
  --oprf-key hip.pin --in sample.csv --finish swapped.json --state st.json --out bad.csv
[ ! -e bad.csv ] && [ ! -e bad.csv.tmp ] && ok "and nothing is written" || fail "output after a bad proof"
contains "$W/err" "does not verify" "the error says the proof failed"
jq --arg k "$(jq -r .public_key knee.pin)" '.public_key = $k' resp.json > otherkey.json
expect 4 "a response for another key is refused" -- "$MEDREG" pseudonymize csv --config visits.ini \
  --oprf-key hip.pin --in sample.csv --finish otherkey.json --state st.json --out bad.csv
head -5 sample.csv > other.csv
expect 4 "another input cannot be finished with this state" -- "$MEDREG" pseudonymize csv --config visits.ini \
  --oprf-key hip.pin --in other.csv --finish resp.json --state st.json --out bad.csv
jq --arg k "$(jq -r .public_key knee.pin)" '.public_key = $k' hip.pin > rekeyed.pin
expect 7 "a state prepared under another pinned key is refused" -- "$MEDREG" pseudonymize csv --config visits.ini \
  --oprf-key rekeyed.pin --in sample.csv --finish resp.json --state st.json --out bad.csv
contains "$W/err" "st.json was prepared with another pinned key" "the error names the state file"
chmod 644 st.json
expect 7 "a state file readable by others is refused" -- "$MEDREG" pseudonymize csv --config visits.ini \
  --oprf-key hip.pin --in sample.csv --finish resp.json --state st.json --out bad.csv
expect 0 "a second prepare" -- "$MEDREG" pseudonymize csv --config visits.ini --oprf-key hip.pin --in sample.csv \
  --prepare req2.json --state st2.json
expect 4 "a (valid) response to another run's request is refused" -- "$MEDREG" pseudonymize csv --config visits.ini \
  --oprf-key hip.pin --in sample.csv --finish resp.json --state st2.json --out bad.csv
contains "$W/err" "does not answer the request that was prepared with this state file" \
  "the error says the answers are for another request"
chmod 600 st.json
# the state commits to the request and to the run's patients, so --finish takes the answers by
# position and blinds nothing again; each commitment is checked before anything is used
[ "$(jq -r '.entries_sha256 | length' st.json)" = 64 ] && [ "$(jq -r '.request_sha256 | length' st.json)" = 64 ] &&
  ok "the state file commits to the run's patients and to its request" || fail "no commitments in the state file"
jq '.blinded |= reverse' req.json > rev-req.json
expect 0 "the same elements in another order, evaluated (a valid response)" -- as engineer oprf evaluate \
  --in rev-req.json --out rev-resp.json
expect 4 "is refused: the answers would go to other patients by position" -- "$MEDREG" pseudonymize csv \
  --config visits.ini --oprf-key hip.pin --in sample.csv --finish rev-resp.json --state st.json --out bad.csv
contains "$W/err" "does not answer the request" "the error says so"
# surname and first name swapped: the same input makes other patients
sed -e 's/^Surname = identifier family_name/Surname = identifier given_name/' \
    -e 's/^First name = identifier given_name/First name = identifier family_name/' visits.ini > swapped-roles.ini
expect 4 "a configuration that makes other patients of the same input is refused at --finish" -- "$MEDREG" \
  pseudonymize csv --config swapped-roles.ini --oprf-key hip.pin --in sample.csv --finish resp.json --state st.json \
  --out bad.csv
contains "$W/err" "is the configuration the same" "the error asks about the configuration"
# a state file of an older medreg (no commitments) still finishes, blinding every patient again
( umask 077; jq 'del(.entries_sha256, .request_sha256)' st.json > st-old.json )
expect 0 "--finish with a state file without commitments" -- "$MEDREG" pseudonymize csv --config visits.ini \
  --oprf-key hip.pin --in sample.csv --finish resp.json --state st-old.json --out old-state.csv
cmp -s old-state.csv off.csv && ok "the same output" || fail "an old state file gives another output"
( umask 077; jq 'del(.request_sha256)' st.json > st-half.json )
expect 7 "a state file with one commitment of two is refused" -- "$MEDREG" pseudonymize csv --config visits.ini \
  --oprf-key hip.pin --in sample.csv --finish resp.json --state st-half.json --out bad.csv
contains "$W/err" "entries_sha256 and request_sha256" "the error names them"
# an input without a patient (the header alone) goes through the files like any other
head -1 sample.csv > none.csv
expect 0 "online, an input without a patient" -- as engineer pseudonymize csv --config visits.ini \
  --oprf-key hip.pin --in none.csv --out none-net.csv
expect 0 "offline: --prepare of it" -- "$MEDREG" pseudonymize csv --config visits.ini --oprf-key hip.pin \
  --in none.csv --prepare none-req.json --state none-st.json
expect 0 "the empty request evaluates to an empty response" -- as engineer oprf evaluate --in none-req.json \
  --out none-resp.json
expect 0 "--finish of it" -- "$MEDREG" pseudonymize csv --config visits.ini --oprf-key hip.pin --in none.csv \
  --finish none-resp.json --state none-st.json --out none-off.csv
cmp -s none-net.csv none-off.csv && [ "$(wc -l < none-off.csv)" = 1 ] &&
  ok "online and offline agree: the header and no row" || fail "empty input: $(cat none-off.csv)"
# damaged and hostile files: refused before anything is used, saying what and where
head -c 200 resp.json > cut.json
expect 4 "a truncated response is refused" -- "$MEDREG" pseudonymize csv --config visits.ini \
  --oprf-key hip.pin --in sample.csv --finish cut.json --state st2.json --out bad.csv
contains "$W/err" "cut.json: not JSON" "the error says it is not JSON"
jq '.batches[0].evaluated[1] = "AAAA"' resp.json > short.json
expect 4 "a response with an evaluation of 3 bytes is refused" -- "$MEDREG" pseudonymize csv --config visits.ini \
  --oprf-key hip.pin --in sample.csv --finish short.json --state st2.json --out bad.csv
contains "$W/err" "batch 0: evaluated\\[1\\] is not 32 bytes of base64" "the error names the batch and the element"
truncate -s 3G huge.json
expect 4 "a response of 3 GB (a sparse file) is refused from its size" -- "$MEDREG" pseudonymize csv \
  --config visits.ini --oprf-key hip.pin --in sample.csv --finish huge.json --state st2.json --out bad.csv
contains "$W/err" "larger than 2147483648 bytes" "the error gives the bound"
rm -f huge.json
jq '.batches += .batches' resp.json > twice.json
expect 4 "a response with every batch twice is refused before any proof is checked" -- "$MEDREG" pseudonymize csv \
  --config visits.ini --oprf-key hip.pin --in sample.csv --finish twice.json --state st2.json --out bad.csv
contains "$W/err" "twice.json answers more elements than the run's [0-9]* patients" "the error says so"
expect 4 "the request given as the response is named for what it is" -- "$MEDREG" pseudonymize csv \
  --config visits.ini --oprf-key hip.pin --in sample.csv --finish req.json --state st2.json --out bad.csv
contains "$W/err" "not a medreg-oprf-response/v1 file (its format is medreg-oprf-request/v1)" "the error names both"
mkfifo pipe.json
expect 4 "a response that is not a regular file (a pipe) is refused without reading it" -- "$MEDREG" \
  pseudonymize csv --config visits.ini --oprf-key hip.pin --in sample.csv --finish pipe.json --state st2.json \
  --out bad.csv
contains "$W/err" "pipe.json: not a regular file" "the error says so"
rm -f pipe.json
# read twice: a file written between the two readings (pread_changes.so changes a blinded element
# in every batch --finish reads again) is refused, not used
expect 4 "a response that changes between its two readings is refused" -- env MEDREG_TEST_CHANGED_FILE=resp.json \
  LD_PRELOAD="$BIN/tests/pread_changes.so" ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
  "$MEDREG" pseudonymize csv --config visits.ini --oprf-key hip.pin --in sample.csv --finish resp.json \
  --state st.json --out bad.csv
contains "$W/err" "resp.json changed while it was read (batch [0-9]*); nothing was used" "the error says so"
[ ! -e bad.csv ] && [ ! -e bad.csv.tmp ] && ok "and nothing is written for any of them" || fail "output after a bad file"
jq '.blinded[1] = 5' req.json > badreq.json
expect 7 "oprf evaluate refuses a request with an element that is not base64" -- as engineer oprf evaluate \
  --in badreq.json --out x.json
contains "$W/err" "blinded\\[1\\] is not 32 bytes of base64" "the error names the element"
[ ! -e x.json ] && ok "and writes no response" || fail "a response to a bad request"
jq '.seed = "AAAA"' st2.json > st3.json && chmod 600 st3.json
expect 7 "a state file with a damaged seed is refused" -- "$MEDREG" pseudonymize csv --config visits.ini \
  --oprf-key hip.pin --in sample.csv --finish resp.json --state st3.json --out bad.csv
contains "$W/err" "seed is not 32 bytes of base64" "the error names the seed"

# a service that evaluates with another key than the pinned one
jq --arg k "$(jq -r .public_key knee.pin)" '.public_key = $k' hip.pin > wrong.pin
expect 5 "online: a proof under another key than the pinned one is refused" -- as engineer pseudonymize csv \
  --config visits.ini --oprf-key wrong.pin --in sample.csv --out bad.csv
[ ! -e bad.csv ] && ok "and nothing is written" || fail "output after a wrong key"
expect 7 "a pin for another module" -- as engineer pseudonymize csv --config visits.ini --oprf-key knee.pin \
  --in sample.csv --out bad.csv
expect 7 "the response given as the pin is named for what it is" -- as engineer pseudonymize csv \
  --config visits.ini --oprf-key resp.json --in sample.csv --out bad.csv
contains "$W/err" "not a medreg-oprf-key/v1 file (its format is medreg-oprf-response/v1)" "the error names both"
head -c 100000 /dev/zero > big.pin
expect 7 "a pin file of 100 kB is refused unread" -- as engineer pseudonymize csv --config visits.ini \
  --oprf-key big.pin --in sample.csv --out bad.csv
contains "$W/err" "big.pin: larger than 65536 bytes: not a pin file" "the error gives the bound"
rm -f big.pin
expect 7 "the network mode needs a regular file" -- as engineer pseudonymize csv --config visits.ini \
  --oprf-key hip.pin --in /dev/stdin --out bad.csv

# several batches (the service takes 1,024 elements at a time; the client checks and unblinds
# one answer while the next request is on its way): 2,500 patients, online equals offline
# (the CSV benchmark's table, no patient twice, under the hip module)
python3 "$SRC/bench/csv/generate.py" 2500 distinct > many.csv
sed -e 's#^module = .*#module = hip.ini#' -e 's#^zip_restricted = .*#zip_restricted = data/hipaa-restricted-zip3.csv#' \
  -e 's#^insurance = .*#insurance = health_plan#' "$SRC/bench/csv/bench-table.ini" > many.ini
conns() { as admin metrics --on identity | awk '/^medreg_http_connections_total /{print $2}'; }
c0=$(conns)
expect 0 "online, 2,500 patients: three batches" -- as engineer pseudonymize csv --config many.ini \
  --oprf-key hip.pin --in many.csv --out many-net.csv
c1=$(conns)
# one connection for the run's three requests, one for the second metrics request itself
[ -n "$c0" ] && [ "$((c1 - c0))" = 2 ] && ok "the run sent its three batches over one connection" ||
  fail "connections at the identity service: $c0 -> $c1"
[ "$(jq .distinct_patients many-net.csv.report.json)" = 2500 ] && [ "$(cut -d, -f1 many-net.csv | sort -u | wc -l)" = 2501 ] &&
  ok "2,500 distinct PSNs" || fail "many: $(cat many-net.csv.report.json)"
expect 0 "offline, the same table" -- "$MEDREG" pseudonymize csv --config many.ini --oprf-key hip.pin \
  --in many.csv --prepare many-req.json --state many-st.json
expect 0 "evaluated in three batches" -- as engineer oprf evaluate --in many-req.json --out many-resp.json
[ "$(jq '.batches | length' many-resp.json)" = 3 ] && ok "the response holds three batches" || fail "batches"
expect 0 "--finish" -- "$MEDREG" pseudonymize csv --config many.ini --oprf-key hip.pin --in many.csv \
  --finish many-resp.json --state many-st.json --out many-off.csv
cmp -s many-net.csv many-off.csv && ok "online and offline agree on every row" || fail "many: online and offline differ"
jq '.batches[1].evaluated |= reverse' many-resp.json > many-swapped.json
expect 4 "--finish, the middle batch altered (the batches are completed in parallel)" -- "$MEDREG" pseudonymize csv \
  --config many.ini --oprf-key hip.pin --in many.csv --finish many-swapped.json --state many-st.json --out many-bad.csv
[ ! -e many-bad.csv ] && ok "and nothing is written" || fail "output after a bad middle batch"
# the identity service is away when the first batch is sent and back while the client waits: the
# batch is sent again, and the output is the same
kill "$IDENTITY_PID"; wait "$IDENTITY_PID" 2>/dev/null || true
as engineer pseudonymize csv --config many.ini --oprf-key hip.pin --in many.csv --out many-retry.csv \
  > retry.out 2> retry.err &
cli_pid=$!
for _ in $(seq 200); do grep -q "sending it again" retry.err 2>/dev/null && break; sleep 0.05; done
restart_identity
wait "$cli_pid" && cmp -s many-net.csv many-retry.csv && ok "a batch without an answer is sent again; same output" ||
  fail "retry: $(cat retry.err)"
contains retry.err "batch 1 of 3: no answer; sending it again in 1 s" "the wait is said"
expect 5 "online, a wrong key: refused at the first batch" -- as engineer pseudonymize csv --config many.ini \
  --oprf-key wrong.pin --in many.csv --out many-bad.csv
[ ! -e many-bad.csv ] && [ "$(grep -c 'does not verify' "$W/err")" = 1 ] && ok "nothing written, one error" ||
  fail "wrong key, many: $(cat "$W/err")"

# the service's own checks, with a hand-made client
call() { curl -s -o "$W/body" -w '%{http_code}' --cacert pki/ca.crt --cert "pki/$1.crt" --key "pki/$1.key" \
  -H 'Content-Type: application/json' -X POST --data-binary "@$2" "$MEDREG_IDENTITY/v1/oprf/hip/evaluate"; }
z=$(head -c 32 /dev/zero | base64)
echo "{\"key_id\":1,\"blinded\":[\"$z\"]}" > identity.json
[ "$(call engineer identity.json)" = 400 ] && grep -q 'blinded\[0\]' "$W/body" && ok "the identity element is refused" || fail "identity element: $(cat "$W/body")"
g=$(jq -r '.blinded[0]' req.json)
# the same element with bit 255 set: a second encoding RFC 9496 refuses (libsodium 1.0.18 accepts it)
gh=$(echo "$g" | base64 -d | python3 -c "import sys,base64; b=bytearray(sys.stdin.buffer.read()); b[31]|=0x80; print(base64.b64encode(bytes(b)).decode())")
echo "{\"key_id\":1,\"blinded\":[\"$g\",\"$gh\"]}" > topbit.json
[ "$(call engineer topbit.json)" = 400 ] && grep -q 'blinded\[1\]' "$W/body" && ok "an element with its top bit set is refused" || fail "top bit: $(cat "$W/body")"
echo "{\"key_id\":9,\"blinded\":[\"$g\"]}" > kid.json
[ "$(call engineer kid.json)" = 409 ] && ok "a request for another key generation is refused" || fail "key_id: $(cat "$W/body")"
python3 -c "import json,sys; print(json.dumps({'key_id':1,'blinded':[sys.argv[1]]*1025}))" "$g" > big.json
[ "$(call engineer big.json)" = 400 ] && ok "a batch above 1024 elements is refused" || fail "batch limit: $(cat "$W/body")"
echo "{\"key_id\":1,\"blinded\":[\"$g\"]}" > one.json
[ "$(call dr-a one.json)" = 403 ] && ok "a physician may not evaluate" || fail "physician evaluated"
[ "$(call engineer one.json)" = 200 ] && ok "a well-formed batch is evaluated" || fail "evaluate $(cat "$W/body")"
# a pseudonymizer of one module computes no other module's PSNs
"$MEDREG" pki issue pki hip-engineer >/dev/null
as admin user add --on identity --cert-file pki/hip-engineer.crt --role pseudonymizer --module hip >/dev/null
[ "$(call hip-engineer one.json)" = 200 ] && ok "a pseudonymizer of hip evaluates for hip" || fail "hip: $(cat "$W/body")"
[ "$(curl -s -o "$W/body" -w '%{http_code}' --cacert pki/ca.crt --cert pki/hip-engineer.crt --key pki/hip-engineer.key \
  -H 'Content-Type: application/json' -X POST --data-binary @one.json "$MEDREG_IDENTITY/v1/oprf/knee/evaluate")" = 403 ] &&
  ok "but not for knee" || fail "hip's pseudonymizer evaluated for knee: $(cat "$W/body")"
expect 3 "nor pins knee's key" -- as hip-engineer oprf key --module knee --out x.pin

# DICOM, network-wide
if command -v dump2dcm >/dev/null && command -v dcmdump >/dev/null; then
  mkdir -p dcm/examples/deid dcm/data dcm/in/sub
  cp "$SRC/examples/hip.ini" dcm/examples/; cp "$SRC/examples/deid/"* dcm/examples/deid/; cp "$SRC/data/"* dcm/data/
  dump2dcm --write-xfer-little "$SRC/tests/data/dicom/ct1.dump" dcm/in/ct1.dcm
  dump2dcm --write-xfer-little "$SRC/tests/data/dicom/ct2.dump" dcm/in/sub/ct2.dcm
  sleep 1.1 # files changed in the second before a run reads them are read again by the next: not these
  D=dcm/examples/deid/dicom.ini
  dtag() { dcmdump +P "$2" "$1" 2>/dev/null | sed -n 1p | sed -n 's/.*\[\(.*\)\].*/\1/p'; }
  expect 0 "deid dicom --oprf-key: network-wide PSNs online" -- as engineer deid dicom --config $D --oprf-key hip.pin \
    --in dcm/in --out dcm/net
  [ "$(jq -r .psn dcm/net.report.json)" = network ] && [ "$(jq .written dcm/net.report.json)" = 2 ] &&
    ok "both files written, the report says network" || fail "report: $(cat dcm/net.report.json)"
  f1=$(find dcm/net -name '*.dcm' | sort | head -1)
  [ "$(dtag "$f1" 0010,0020)" = "$p1" ] && ok "PatientID is the same network PSN the CSV tool gave Jürgen Müller" ||
    fail "DICOM PSN $(dtag "$f1" 0010,0020) vs CSV $p1"
  expect 0 "the outputs pass deid verify" -- "$MEDREG" deid verify --config $D --report dcm/net.report.json
  expect 0 "local mode, for comparison" -- "$MEDREG" deid dicom --config $D --key hip.key --in dcm/in --out dcm/loc
  l1=$(find dcm/loc -name '*.dcm' | sort | head -1)
  [ -n "$l1" ] && [ "$(dtag "$l1" 0010,0020)" != "$p1" ] && [ "$(dtag "$l1" 0020,000d)" != "$(dtag "$f1" 0020,000d)" ] &&
    ok "local PSN and UIDs differ from the network ones" || fail "local and network DICOM agree"
  expect 0 "offline: --prepare reads the folder, needs no network" -- env -u MEDREG_IDENTITY "$MEDREG" deid dicom \
    --config $D --oprf-key hip.pin --in dcm/in --prepare dreq.json --state dst.json
  [ "$(jq '.blinded | length' dreq.json)" = 1 ] && ok "one blinded element: the two files are one patient" || fail "request"
  for v in Müller MUELLER PID-4711 19610307; do
    grep -qi -- "$v" dreq.json dst.json && fail "'$v' in the request or state" || ok "'$v' is in neither file"
  done
  expect 0 "evaluated elsewhere" -- as engineer oprf evaluate --in dreq.json --out dresp.json
  expect 0 "--finish writes the folder offline" -- env -u MEDREG_IDENTITY "$MEDREG" deid dicom --config $D \
    --oprf-key hip.pin --in dcm/in --finish dresp.json --state dst.json --out dcm/off
  diff -r dcm/net dcm/off >/dev/null && ok "offline output equals online output, file for file" || fail "offline DICOM differs"
  expect 0 "--finish into the online run's folder" -- env -u MEDREG_IDENTITY "$MEDREG" deid dicom --config $D \
    --oprf-key hip.pin --in dcm/in --finish dresp.json --state dst.json --out dcm/net
  [ "$(jq .not_read_again dcm/net.report.json)" = 2 ] && [ "$(jq .written dcm/net.report.json)" = 2 ] &&
    ok "takes the online run's report as its own: nothing read again (the same pinned key and configuration)" ||
    fail "network-wide resume: $(cat "$W/o" "$W/e")"
  expect 0 "and the report verifies" -- "$MEDREG" deid verify --config $D --report dcm/net.report.json
  touch -d '2001-01-01' dcm/in/sub/ct2.dcm
  expect 4 "--finish on a changed folder is refused" -- env -u MEDREG_IDENTITY "$MEDREG" deid dicom --config $D \
    --oprf-key hip.pin --in dcm/in --finish dresp.json --state dst.json --out dcm/off2
  [ ! -e dcm/off2 ] && ok "and nothing is written" || fail "output after a changed folder"
  expect 7 "a pin for another module" -- as engineer deid dicom --config $D --oprf-key knee.pin --in dcm/in --out dcm/x
  expect 2 "--key and --oprf-key together are refused" -- "$MEDREG" deid dicom --config $D --key hip.key \
    --oprf-key hip.pin --in dcm/in --out dcm/x
else
  echo "DCMTK's tools are not installed: DICOM part skipped"
fi

finish
