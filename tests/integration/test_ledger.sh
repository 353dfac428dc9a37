#!/usr/bin/env bash
# The ledger (medregd --role ledger) through the real CLI and curl, on
# either storage engine: appends by services, checkpoints at the interval,
# C2SP tiles and entry bundles, RFC 9162 proofs, `medreg ledger verify`;
# then every way a ledger can cheat, each detected: a checkpoint under
# another key, two checkpoints of one size (a fork), a rollback, a stored
# entry rewritten, the log truncated; and a SIGKILL while appending loses
# no acknowledged entry.
. "$(dirname "$0")/lib.sh"

SIGN="$BIN/tests/note_sign"
for who in reader stranger; do "$MEDREG" pki issue pki "$who" >/dev/null; done
setup_ledger 200 && ok "the ledger starts" || fail "ledger start"
VKEY=$(cat ledger.skey.pub)
[ "$(stat -c %a ledger.skey)" = 600 ] && [[ "$VKEY" == ledger.example/medreg+* ]] && ok "the private key is 0600; the verifier key is beside it" || fail "key files"
as admin user list --on ledger 2>/dev/null | grep -q appender && ok "an administrator registered the service that appends" || fail "appender"
expect 3 "an unregistered certificate cannot append" -- as stranger ledger append --data x
expect 4 "no checkpoint while the log is empty" -- as reader ledger checkpoint

# 300 entries in batches, as services send them
for b in 0 1 2; do
  python3 -c "import base64,json,sys; b=int(sys.argv[1]); print(json.dumps({'entries':[base64.b64encode(('event %d' % (b*100+i)).encode()).decode() for i in range(100)]}))" $b > batch.json
  curl -s --cacert pki/ca.crt --cert pki/appender.crt --key pki/appender.key -H 'Content-Type: application/json' \
    --data-binary @batch.json "$MEDREG_LEDGER/v1/ledger/entries" > "idx$b.json"
done
[ "$(jq -c '.indices | [.[0], .[99]]' idx0.json idx2.json | tr -d '\n')" = "[0,99][200,299]" ] && ok "appends get their indices, in order" || fail "indices $(cat idx0.json | head -c 80)"
sleep 0.6
expect 0 "a reader verifies the checkpoint (any certificate of the CA may read)" -- as stranger ledger verify \
  --vkey "$VKEY" --state trusted.note --index 257
contains "$W/out" "300 entries, signature valid" "the checkpoint covers all 300"
contains "$W/out" "entry 257 is included" "and an entry's inclusion is proven"
get() { curl -s -o "$W/body" -w '%{http_code}' --cacert pki/ca.crt --cert pki/reader.crt --key pki/reader.key "$MEDREG_LEDGER$1"; }
[ "$(get /tile/0/000)" = 200 ] && [ "$(stat -c %s "$W/body")" = 8192 ] && ok "a full level-0 tile: 256 hashes" || fail "tile 0/000"
[ "$(get /tile/0/001.p/44)" = 200 ] && [ "$(stat -c %s "$W/body")" = 1408 ] && ok "the partial tile 001.p/44" || fail "partial tile"
[ "$(get /tile/1/000.p/1)" = 200 ] && [ "$(stat -c %s "$W/body")" = 32 ] && ok "a level-1 tile: the hash of 256 leaves" || fail "level-1 tile"
[ "$(get /tile/0/001)" = 404 ] && ok "a full tile that is not full yet is not served" || fail "incomplete tile served"
[ "$(get /tile/entries/000.p/2)" = 200 ] && [ "$(xxd -p "$W/body" | tr -d '\n')" = "00076576656e7420300007657665"6e742031 ] \
  && ok "an entry bundle: each entry behind its 16-bit length" || fail "bundle $(xxd -p "$W/body" | head -c 60)"
for bad in /tile/0/1 /tile/9/000 /tile/0/000.p/0 /tile/0/000.p/256 /tile/x/000 /tile/0/x000; do
  code=$(get "$bad"); [ "$code" = 400 ] || { fail "bad tile path $bad gave $code"; continue; }
done; ok "malformed tile paths are refused with 400"
[ "$(get '/v1/ledger/proof/inclusion?index=300&size=300')" = 404 ] && [ "$(get '/v1/ledger/proof/inclusion?index=1&size=9999')" = 404 ] \
  && [ "$(get '/v1/ledger/proof/consistency?old=01&size=5')" = 400 ] && ok "proofs outside the published tree are refused" || fail "proof bounds"

# growth stays consistent
# only the services that append may: not the ledger's administrator, not a reader
expect 3 "the ledger's administrator cannot append" -- as admin ledger append --data "forged"
expect 3 "nor can a reader" -- as reader ledger append --data "forged"
expect 0 "one more entry" -- as appender ledger append --data "event 300"
sleep 0.5
expect 0 "the new checkpoint is consistent with the trusted one" -- as reader ledger verify --vkey "$VKEY" --state trusted.note
contains "$W/out" "consistent with the trusted checkpoint of 300 entries" "consistency proven from 300 to 301"

# a dishonest ledger
"$MEDREG" ledger key new --name ledger.example/medreg --out other.skey >/dev/null
printf 'ledger.example/medreg\n301\n%s\n' "$(head -c 32 /dev/urandom | base64)" | "$SIGN" other.skey > forged.note
# a server that serves a checkpoint signed by another key (TLS from the ledger's own certificate)
FPORT=$((IPORT + 3))
fake_ledger "$FPORT" forged.note && ok "a dishonest server serves a checkpoint under another key" || fail "fake server"
expect 1 "a checkpoint signed by another key is refused" -- env MEDREG_LEDGER="https://127.0.0.1:$FPORT" \
  "$MEDREG" --as pki/reader ledger verify --vkey "$VKEY" --state trusted.note
contains "$W/err" "not signed by" "and named"
stop_fake
printf 'ledger.example/medreg\n301\n%s\n' "$(head -c 32 /dev/urandom | base64)" | "$SIGN" ledger.skey > fork.note
cp trusted.note good.note; cp fork.note trusted.note
expect 1 "a fork (another checkpoint of the same size, validly signed) is detected" -- as reader ledger verify \
  --vkey "$VKEY" --state trusted.note
contains "$W/err" "not consistent" "and named as a rewrite or fork"
printf 'ledger.example/medreg\n100000\n%s\n' "$(head -c 32 /dev/urandom | base64)" | "$SIGN" ledger.skey > trusted.note
expect 1 "a rollback (the log shorter than a checkpoint once seen) is detected" -- as reader ledger verify \
  --vkey "$VKEY" --state trusted.note
contains "$W/err" "rollback" "and named"
cp good.note trusted.note
expect 0 "the honest checkpoint still verifies" -- as reader ledger verify --vkey "$VKEY" --state trusted.note

sql() { # run SQL on the ledger database (either engine)
  if [ "$ENGINE" = postgres ]; then psql -qAt -p "$PG_PORT" -h /var/run/postgresql "${LEDGER_DB%%\?*}" -c "$1"
  else sqlite3 -cmd ".timeout 10000" "$W/ledger.db" "$1"; fi
}
# append-only in the database itself
sql "UPDATE ledger_entries SET data = data WHERE idx = 5" >/dev/null 2>&1 && fail "an entry could be updated" || ok "the database refuses to update an entry"
sql "DELETE FROM ledger_checkpoints" >/dev/null 2>&1 && fail "checkpoints could be deleted" || ok "the database refuses to delete a checkpoint"

# SIGKILL while appending: every acknowledged entry survives, and no checkpoint
# covers entries that were not stored
( i=0; while [ ! -e stop ]; do i=$((i + 1))
    out=$(curl -s --cacert pki/ca.crt --cert pki/appender.crt --key pki/appender.key -H 'Content-Type: application/json' \
      --data "{\"entries\":[\"$(printf 'kill %d' $i | base64)\"]}" "$MEDREG_LEDGER/v1/ledger/entries" 2>/dev/null) || continue
    echo "$out" | jq -r '.indices[0] // empty' >> acked.txt 2>/dev/null
  done ) &
APP=$!
sleep 1.5
kill -9 "$LEDGER_PID"; KILLED+=("$LEDGER_PID"); wait "$LEDGER_PID" 2>/dev/null || true
touch stop; wait "$APP" 2>/dev/null || true
n_acked=$(grep -c . acked.txt || true)
start_ledger && ok "the ledger restarts after SIGKILL: its entries reproduce its last checkpoint" || fail "restart after kill"
sleep 0.6
last=$(sort -n acked.txt | tail -1)
expect 0 "the newest acknowledged entry is in the published tree" -- as reader ledger verify --vkey "$VKEY" \
  --state trusted.note --index "$last"
[ "$n_acked" -gt 0 ] && ok "$n_acked appends were acknowledged before the kill" || fail "no appends acknowledged"
missing=0
for i in $(cat acked.txt); do [ "$(get "/v1/ledger/entries/$i")" = 200 ] || missing=$((missing + 1)); done
[ $missing = 0 ] && ok "every acknowledged entry is there" || fail "$missing acknowledged entries lost"

# a rewritten entry: served by the running ledger, refused by the client (its inclusion proof
# leads elsewhere); a rewritten or missing entry stops the ledger at start
if [ "$ENGINE" = postgres ]; then
  sql "ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only" >/dev/null
  sql "UPDATE ledger_entries SET data = '\\x6576696c' WHERE idx = 17" >/dev/null
else
  sql "DROP TRIGGER ledger_entries_no_update; UPDATE ledger_entries SET data = X'6576696c' WHERE idx = 17"
fi
expect 1 "an entry rewritten under the running ledger is refused by the client" -- as reader ledger verify \
  --vkey "$VKEY" --state trusted.note --index 17
contains "$W/err" "not in the checkpoint's tree" "and named"
kill "$LEDGER_PID"; wait "$LEDGER_PID" 2>/dev/null || true
# the newest checkpoint must be this ledger's own: under another key (of the same name) it does not start
sed 's/^signing_key = .*/signing_key = other.skey/' ledger.ini > other-key.ini
expect 3 "the ledger does not start under another signing key" -- "$MEDREGD" --config other-key.ini --check
contains "$W/err" "the newest stored checkpoint is not signed by this ledger's key" "and says its checkpoint is not its own"
expect 3 "a rewritten entry stops the ledger" -- "$MEDREGD" --config ledger.ini --check
contains "$W/err" "do not reproduce checkpoint" "and says the entries do not reproduce the checkpoint"
if [ "$ENGINE" = postgres ]; then
  sql "UPDATE ledger_entries SET data = convert_to('event 17', 'UTF8') WHERE idx = 17" >/dev/null
  sql "DELETE FROM ledger_entries WHERE idx = (SELECT MAX(idx) FROM ledger_entries)" >/dev/null
else
  sql "UPDATE ledger_entries SET data = CAST('event 17' AS BLOB) WHERE idx = 17; DROP TRIGGER ledger_entries_no_delete; DELETE FROM ledger_entries WHERE idx = (SELECT MAX(idx) FROM ledger_entries)"
fi
expect 3 "a truncated log stops the ledger" -- "$MEDREGD" --config ledger.ini --check

finish
