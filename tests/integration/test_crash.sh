#!/usr/bin/env bash
# Crash safety: writers file records as fast as they can; the registry is
# killed with SIGKILL mid-stream and restarted. Every write that was
# acknowledged must be there, and nothing half-written: each stored record
# is complete, readable and has its audit row. Then the same for batches of
# registrations at the identity service.
. "$(dirname "$0")/lib.sh"

WRITERS=${MEDREG_CRASH_WRITERS:-4}
for w in $(seq 1 "$WRITERS"); do
  as dr-a --json patient register --module hip --id family_name="Crash$w" --id given_name=Test \
    --id birth_date=1980-01-0$w > "p$w.json"
  as dr-a record add --module hip --internal-id "$(json "p$w.json" .internal_id)" \
    --token "$(json "p$w.json" .psn_token)" --data '{"side":"left","implant":"seed","surgery_date":"2020-01-01"}' >/dev/null
done

writer() { # N: write until told to stop; log every acknowledged record id
  local n=$1 i=0 iid; iid=$(json "p$n.json" .internal_id)
  while [ ! -e stop ]; do
    i=$((i + 1))
    if out=$(as dr-a --json record add --module hip --internal-id "$iid" \
        --data "{\"side\":\"right\",\"implant\":\"w$n-$i\",\"surgery_date\":\"2020-01-01\",\"harris_hip_score\":$((i % 100))}" 2>/dev/null); then
      echo "$out" | jq -r .record_id >> "writer.$n"
    fi
  done
}
# acked_at_least FN MIN: wait (at most 60 s) until the clients running FN
# have logged MIN acknowledgements, so that a slow machine or a sanitizer
# build still kills the daemon with writes behind it, not before them
acked_at_least() {
  local fn=$1 min=$2 _
  for _ in $(seq 600); do
    [ "$(cat "$fn".[0-9]* 2>/dev/null | wc -l)" -ge "$min" ] && return 0
    sleep 0.1
  done
  return 1
}
# crash_under_load FN N PID WHAT MIN: N clients run FN until the daemon PID
# has been killed with SIGKILL mid-stream, after MIN acknowledgements; their
# acknowledgement logs FN.* are then joined into FN.acked
crash_under_load() {
  local fn=$1 n=$2 pid=$3 what=$4 min=$5 pids=() j
  rm -f stop
  for j in $(seq 1 "$n"); do "$fn" "$j" & pids+=($!); done
  sleep "${MEDREG_CRASH_SECONDS:-3}"
  acked_at_least "$fn" "$min" || true
  kill -9 "$pid"
  KILLED+=("$pid")
  ok "$what killed with SIGKILL under load"
  sleep 0.5
  touch stop
  for j in "${pids[@]}"; do wait "$j" 2>/dev/null || true; done
  cat "$fn".[0-9]* > "$fn.acked" 2>/dev/null || true
}
crash_under_load writer "$WRITERS" "$REGISTRY_PID" "registry" 10
mv writer.acked acked
N=$(wc -l < acked)
[ "$N" -ge 10 ] && ok "$N writes were acknowledged before the kill" || fail "too few acknowledged writes ($N)"

restart_registry && ok "the registry restarts on the same database" || fail "restart"
as dr-a --json record list --module hip > all.json
jq -r '.records[].record_id' all.json | sort > stored
missing=$(sort acked | comm -23 - stored | wc -l)
[ "$missing" = 0 ] && ok "every acknowledged record survived" || fail "$missing acknowledged records are lost"
bad=$(jq '[.records[] | select(.data.implant == null or .data.side == null or .version != 1)] | length' all.json)
[ "$bad" = 0 ] && ok "no stored record is half-written" || fail "$bad incomplete records"
as admin --json audit --on registry --limit 10000 > audit.json
jq -r '.events[] | select(.action=="record_write" and .outcome=="ok") | .target' audit.json | sort > audited
unaudited=$(comm -23 stored audited | wc -l)
[ "$unaudited" = 0 ] && ok "every stored record has its audit row (same transaction)" || fail "$unaudited records without audit"
extra=$(comm -13 stored audited | wc -l)
[ "$extra" = 0 ] && ok "no audit row without its record" || fail "$extra audit rows without a record"
if [ "$ENGINE" = sqlite ]; then
  [ "$(sqlite3 registry.db 'PRAGMA integrity_check')" = ok ] && ok "SQLite integrity check" || fail "integrity check"
fi
# the streamed export pages through everything (page size 2 in the tests): each record once
as admin study create --module hip --name crash >/dev/null
as admin user add --on registry --cert-file pki/researcher.crt --role researcher --module knee >/dev/null
expect 0 "a streamed export of every record" -- as researcher export --module hip --study crash -o crash.csv
[ "$(($(wc -l < crash.csv) - 1))" = "$(wc -l < stored)" ] && ok "the export has exactly one row per stored record" \
  || fail "export rows $(($(wc -l < crash.csv) - 1)) vs records $(wc -l < stored)"
[ "$(tail -n +2 crash.csv | cut -d, -f2 | sort -u | wc -l)" = "$(wc -l < stored)" ] && ok "no record twice" || fail "duplicate export rows"
expect 0 "the registry still accepts writes" -- as dr-a record add --module hip --internal-id "$(json p1.json .internal_id)" \
  --data '{"side":"left","implant":"after","surgery_date":"2020-01-01"}'

# A graceful stop under load: SIGTERM while requests wait for their commits
# (their connections set aside, no HTTP thread holding them). The registry
# answers what it took, exits 0 within seconds, and keeps every write it
# acknowledged.
rm -f stop writer.[0-9]*
pids=()
for j in $(seq 1 "$WRITERS"); do writer "$j" & pids+=($!); done
sleep 2
acked_at_least writer 1 || true
kill -TERM "$REGISTRY_PID"
for _ in $(seq 100); do kill -0 "$REGISTRY_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$REGISTRY_PID" 2>/dev/null; then
  fail "the registry did not stop within 10 s of SIGTERM under load"
  kill -9 "$REGISTRY_PID"
fi
st=0; wait "$REGISTRY_PID" || st=$?
KILLED+=("$REGISTRY_PID")
[ "$st" = 0 ] && ok "SIGTERM under load: the registry exits 0" || fail "SIGTERM under load: exit status $st"
touch stop
for j in "${pids[@]}"; do wait "$j" 2>/dev/null || true; done
cat writer.[0-9]* > termed 2>/dev/null || true
[ -s termed ] && ok "$(wc -l < termed) writes were acknowledged before the stop" || fail "no write acknowledged before the stop"
restart_registry && ok "the registry restarts after the stop" || fail "restart after SIGTERM"
as dr-a --json record list --module hip | jq -r '.records[].record_id' | sort > stored2
missing=$(sort termed | comm -23 - stored2 | wc -l)
[ "$missing" = 0 ] && ok "every write acknowledged before SIGTERM is stored" || fail "$missing acknowledged writes lost at SIGTERM"

# The identity service, killed while batches of registrations are stored: a
# batch is all or nothing, and every acknowledged one is there.
batcher() { # N: register batches of 50 new patients until told to stop
  local n=$1 i=0
  while [ ! -e stop ]; do
    i=$((i + 1))
    jq -nc --arg t "$n-$i" '[range(50) | {family_name: "Batch\($t)x\(.)", given_name: "Crash", birth_date: "1970-01-01"}]' \
      > "batch.$n.$i.json"
    as dr-a --json patient register-batch --module hip --file "batch.$n.$i.json" >/dev/null 2>&1 && echo "$n.$i" >> "batcher.$n"
  done
}
crash_under_load batcher 3 "$IDENTITY_PID" "identity service" 2
mv batcher.acked backed
[ "$(wc -l < backed)" -ge 2 ] && ok "$(wc -l < backed) batches were acknowledged before the kill" || fail "too few acknowledged batches"
restart_identity && ok "the identity service restarts on the same database" || fail "identity restart"
# registering a batch again says, per patient, whether the relation is new: an
# acknowledged batch must be all known, and no batch may be partly known
lost=0; half=0
for f in batch.*.json; do
  t=${f#batch.}; t=${t%.json}
  as dr-a --json patient register-batch --module hip --file "$f" > again.json || { half=$((half + 1)); continue; }
  known=$(jq '[.results[] | select(.new_relation == false)] | length' again.json)
  if grep -qx "$t" backed; then [ "$known" = 50 ] || lost=$((lost + 1)); fi
  [ "$known" = 0 ] || [ "$known" = 50 ] || half=$((half + 1))
done
[ "$lost" = 0 ] && ok "every acknowledged batch survived whole" || fail "$lost acknowledged batches lost patients"
[ "$half" = 0 ] && ok "no batch is half-stored" || fail "$half batches half-stored"
if [ "$ENGINE" = sqlite ]; then
  [ "$(sqlite3 identity.db 'PRAGMA integrity_check')" = ok ] && ok "SQLite integrity check (identity)" || fail "identity integrity check"
fi
finish
