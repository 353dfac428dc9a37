#!/usr/bin/env bash
# The benchmark's load generators against the real daemons, briefly: every
# mode completes requests without errors, and a refused request is counted
# as an error rather than as throughput (else `make bench` could report
# refusals as speed). bench/loadgen, then bench/consent_load.
. "$(dirname "$0")/lib.sh"

LG=("$MEDREG_BIN/bench/loadgen" --cert pki/dr-a.crt --key pki/dr-a.key --cacert pki/ca.crt --seconds 0.5 --threads 4)
as dr-a --json patient register --module hip --id family_name=Load --id given_name=Gen --id birth_date=1970-01-01 > p.json
as dr-a --json record add --module hip --internal-id "$(json p.json .internal_id)" --token "$(json p.json .psn_token)" \
  --data '{"side":"left","implant":"x","surgery_date":"2020-01-01","harris_hip_score":50}' > r.json
RID=$(json r.json .record_id)

ok_run() { # WHAT LOADGEN-ARGS...: "rate p50 p99 errors" with rate > 0 and no errors
  local what=$1 out; shift
  out=$("${LG[@]}" "$@")
  read -r rate _ p99 errors <<<"$out"
  if [ "${rate:-0}" -gt 0 ] && [ "${errors:-1}" = 0 ] && [ "${p99%.*}" -lt 10000 ]; then
    ok "$what ($out)"
  else
    fail "$what: $out"
  fi
}
before=$(sqlite3 "${IDENTITY_DB#sqlite:}" "SELECT count(*) FROM patients" 2>/dev/null || echo -)
ok_run "register mode" --url "$MEDREG_IDENTITY" --mode register
ok_run "batch mode" --url "$MEDREG_IDENTITY" --mode batch --batch 20
ok_run "read mode" --url "$MEDREG_REGISTRY" --mode read --record "$RID"
ok_run "health mode" --url "$MEDREG_REGISTRY" --mode health
echo '{"module":"hip","patients":[{"family_name":"Post","given_name":"Mode","birth_date":"1950-05-05"}]}' > one.json
ok_run "post mode" --url "$MEDREG_IDENTITY" --mode post --path /v1/patients/batch --body one.json --batch 1
if [ "$before" != - ]; then
  after=$(sqlite3 "${IDENTITY_DB#sqlite:}" "SELECT count(*) FROM patients")
  [ "$after" -gt $((before + 20)) ] && ok "the registrations were stored ($before -> $after patients)" \
    || fail "registrations not stored: $before -> $after"
fi

# refusals are errors, not throughput
out=$("${LG[@]}" --url "$MEDREG_REGISTRY" --mode read --record 00000000000000000000000000000000)
read -r rate _ _ errors _ <<<"$out"
[ "$rate" = 0 ] && [ "$errors" -gt 0 ] && ok "a refused read counts as an error ($out)" || fail "refused reads: $out"
out=$("$MEDREG_BIN/bench/loadgen" --cert pki/dr-b.crt --key pki/dr-b.key --cacert pki/ca.crt --seconds 0.3 \
  --threads 2 --url "$MEDREG_REGISTRY" --mode read --record "$RID")
read -r rate _ _ errors _ <<<"$out"
[ "$rate" = 0 ] && [ "$errors" -gt 0 ] && ok "Dr B's reads of Dr A's record count as errors ($out)" || fail "Dr B: $out"
# a service whose certificate another CA issued is not talked to
"$MEDREG" pki init other >/dev/null
out=$("$MEDREG_BIN/bench/loadgen" --cert pki/dr-a.crt --key pki/dr-a.key --cacert other/ca.crt --seconds 0.3 \
  --threads 2 --url "$MEDREG_REGISTRY" --mode health)
read -r rate _ _ errors _ <<<"$out"
[ "$rate" = 0 ] && [ "$errors" -gt 0 ] && ok "a service certificate from another CA is refused ($out)" || fail "CA check: $out"
expect 2 "an unknown mode is a usage error" -- "${LG[@]}" --url "$MEDREG_REGISTRY" --mode nonsense
expect 2 "read without a record is a usage error" -- "${LG[@]}" --url "$MEDREG_REGISTRY" --mode read

# the consent protocol's client: whole enrollments and re-identifications, cards in key files
"$MEDREG" pki issue pki load-patient --key-type p256 >/dev/null
"$MEDREG" pki issue pki load-dr-card --key-type p256 >/dev/null
as admin card register --physician-cert pki/dr-a.crt --card-cert pki/load-dr-card.crt >/dev/null
CL=("$MEDREG_BIN/bench/consent_load" --identity "$MEDREG_IDENTITY" --registry "$MEDREG_REGISTRY" --key pki/dr-a.key
    --cacert pki/ca.crt --patient-card pki/load-patient.key --physician-card pki/load-dr-card.key --seconds 0.5
    --threads 2)
for mode in enroll reid; do
  out=$("${CL[@]}" --cert pki/dr-a.crt --mode $mode --prepare 50)
  read -r rate p50 _ errors rq50 rq99 <<<"$out"
  # a round takes at least as long as a request
  [ "${rate:-0}" -gt 0 ] && [ "${errors:-1}" = 0 ] && awk -v a="$p50" -v b="$rq50" -v c="$rq99" 'BEGIN{exit !(b > 0 && c >= b && a >= b)}' &&
    ok "consent_load $mode ($out)" || fail "consent_load $mode: $out"
done
# Dr B presents Dr A's physician card: every finish is refused, and counted as an error
out=$("${CL[@]}" --cert pki/dr-b.crt --key pki/dr-b.key --mode enroll --prepare 20 2>/dev/null)
read -r rate _ _ errors _ <<<"$out"
[ "$rate" = 0 ] && [ "$errors" -gt 0 ] && ok "refused enrollments count as errors ($out)" || fail "refused: $out"
expect 1 "consent_load does not talk to a registry whose certificate another CA issued" -- \
  "${CL[@]}" --cert pki/dr-a.crt --cacert other/ca.crt
expect 2 "consent_load without its cards is a usage error" -- \
  "$MEDREG_BIN/bench/consent_load" --identity "$MEDREG_IDENTITY" --registry "$MEDREG_REGISTRY"
finish
