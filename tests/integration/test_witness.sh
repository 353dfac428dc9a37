#!/usr/bin/env bash
# Witnesses (medregd --role witness, C2SP tlog-witness and tlog-cosignature)
# and the monitor: the ledger collects two witnesses' cosignatures on every
# checkpoint; clients apply a k-of-n policy; each witness refuses what it
# must (an unknown log, a forged signature, a stale or impossible old size,
# a fork, a bad proof); the monitor rebuilds every checkpoint from every
# entry and catches a log whose entries do not match.
. "$(dirname "$0")/lib.sh"

SIGN="$BIN/tests/note_sign"
"$MEDREG" pki issue pki reader >/dev/null
"$MEDREG" ledger key new --name ledger.example/medreg --out ledger.skey >/dev/null
W1PORT=$((IPORT + 3)); W2PORT=$((IPORT + 4))
# witness 1 follows a second log too, which it has not heard of yet
"$MEDREG" ledger key new --name other.example/log --out other.skey >/dev/null
WITNESS_EXTRA="log = $(cat other.skey.pub)" setup_witness w1 "$W1PORT" && W1_PID=$WITNESS_PID && ok "witness 1 starts" ||
  fail "witness 1"
setup_witness w2 "$W2PORT" && W2_PID=$WITNESS_PID && ok "witness 2 starts" || fail "witness 2"
LEDGER_WITNESSES="witness = https://127.0.0.1:$W1PORT $(cat w1.wkey.pub)
witness = https://127.0.0.1:$W2PORT $(cat w2.wkey.pub)"
setup_ledger 200 && ok "the ledger starts with two witnesses" || fail "ledger start"
VKEY=$(cat ledger.skey.pub)
POLICY=(--vkey "$VKEY" --witness @w1.wkey.pub --witness @w2.wkey.pub)

for i in 1 2 3; do as appender ledger append --data "event $i" >/dev/null; done
sleep 0.8
expect 0 "a checkpoint cosigned by both witnesses passes a 2-of-2 policy" -- as reader ledger verify "${POLICY[@]}" \
  --quorum 2 --state trusted.note --index 2
contains "$W/out" "cosigned by 2 of 2 witnesses" "both cosignatures verify"
as appender ledger append --data "event 4" >/dev/null
sleep 0.6
expect 0 "the next one too: each witness checked consistency from what it cosigned" -- as reader ledger verify \
  "${POLICY[@]}" --quorum 2 --state trusted.note
expect 0 "the monitor rebuilds the checkpoint from every entry" -- as reader ledger monitor "${POLICY[@]}" \
  --state monitor.note --once
contains "$W/out" "every entry of the 4 rebuilds the checkpoint, and every hash tile matches" "and says so"

# offline receipts (C2SP tlog-proof) and a static export
expect 0 "a receipt for entry 2" -- as reader ledger receipt --index 2 --out e2.tlog-proof
head -1 e2.tlog-proof | grep -qx "c2sp.org/tlog-proof@v1" && ok "in the C2SP tlog-proof format" || fail "receipt format"
expect 0 "checked offline (no ledger): the entry, the log's key, 2 of 2 witnesses" -- env -u MEDREG_LEDGER "$MEDREG" \
  ledger check-receipt "${POLICY[@]}" --quorum 2 --data "event 3" e2.tlog-proof
expect 1 "another entry's text does not match the receipt" -- "$MEDREG" ledger check-receipt "${POLICY[@]}" \
  --data "event 2" e2.tlog-proof
sed '3s/^./A/' e2.tlog-proof > e2.bad; sed -n 3p e2.tlog-proof | grep -q '^A' && sed '3s/^./B/' e2.tlog-proof > e2.bad
expect 1 "an altered proof line is refused" -- "$MEDREG" ledger check-receipt "${POLICY[@]}" --data "event 3" e2.bad
"$MEDREG" ledger key new --witness --name witness.example/w9 --out w9.wkey >/dev/null
expect 1 "a policy needing a witness that did not cosign is not met" -- "$MEDREG" ledger check-receipt --vkey "$VKEY" \
  --witness @w9.wkey.pub --quorum 1 --data "event 3" e2.tlog-proof
expect 2 "a quorum that is not a number is refused, not read as 0 (no witness needed)" -- "$MEDREG" ledger \
  check-receipt --vkey "$VKEY" --witness @w9.wkey.pub --quorum one --data "event 3" e2.tlog-proof
expect 2 "the same for verify" -- as reader ledger verify --vkey "$VKEY" --witness @w9.wkey.pub --quorum 1x
expect 0 "export: the checkpoint, tiles and bundles as static files" -- as reader ledger export pub
[ -s pub/checkpoint ] && [ -s pub/tile/0/000.p/4 ] && [ "$(xxd -p pub/tile/entries/000.p/4 | tr -d '\n' | head -c 18)" = 00076576656e742031 ] \
  && ok "under C2SP tlog-tiles paths" || fail "export tree $(find pub -type f | head)"

# the witness protocol, by hand
post() { # PORT BODY-FILE -> status; body in $W/body
  curl -s -o "$W/body" -w '%{http_code}' --cacert pki/ca.crt --cert pki/reader.crt --key pki/reader.key \
    --data-binary "@$2" "https://127.0.0.1:$1/add-checkpoint"; }
cp4=$(as reader ledger checkpoint)
size=$(echo "$cp4" | sed -n 2p)
root=$(echo "$cp4" | sed -n 3p)
printf 'old %s\n\n%s\n' "$size" "$cp4" > same.txt
[ "$(post "$W1PORT" same.txt)" = 200 ] && grep -q "witness.example/w1" "$W/body" && ok "the same checkpoint again is cosigned" || fail "same: $(cat "$W/body")"
printf 'old 1\n\n%s\n' "$cp4" > stale.txt
[ "$(post "$W1PORT" stale.txt)" = 409 ] && [ "$(cat "$W/body")" = "$size" ] && ok "a stale old size: 409 with the size the witness holds" || fail "stale"
printf 'unknown.example/log\n%s\n%s\n' "$size" "$root" | "$SIGN" ledger.skey > other.note
printf 'old %s\n\n%s' "$size" "$(cat other.note)" > unknown.txt; echo >> unknown.txt
[ "$(post "$W1PORT" unknown.txt)" = 404 ] && ok "a log the witness does not follow: 404" || fail "unknown log"
"$MEDREG" ledger key new --name ledger.example/medreg --out impostor.skey >/dev/null
printf 'ledger.example/medreg\n%s\n%s\n' "$((size + 1))" "$root" | "$SIGN" impostor.skey > impostor.note
printf 'old %s\n\n%s\n' "$size" "$(cat impostor.note)" > forged.txt
[ "$(post "$W1PORT" forged.txt)" = 403 ] && ok "a checkpoint signed by another key: 403" || fail "forged"
fork_root=$(head -c 32 /dev/urandom | base64)
printf 'ledger.example/medreg\n%s\n%s\n' "$size" "$fork_root" | "$SIGN" ledger.skey > fork.note
printf 'old %s\n\n%s\n' "$size" "$(cat fork.note)" > fork.txt
[ "$(post "$W1PORT" fork.txt)" = 409 ] && ok "a fork (same size, another root, validly signed): 409" || fail "fork $(cat "$W/body")"
printf 'ledger.example/medreg\n%s\n%s\n' "$((size + 5))" "$fork_root" | "$SIGN" ledger.skey > bigger.note
printf 'old %s\n%s\n\n%s\n' "$size" "$(head -c 32 /dev/urandom | base64)" "$(cat bigger.note)" > badproof.txt
[ "$(post "$W1PORT" badproof.txt)" = 422 ] && ok "a bigger tree with a proof that does not verify: 422" || fail "bad proof $(cat "$W/body")"
printf 'old %s\n\n%s\n' "$((size + 9))" "$cp4" > toobig.txt
[ "$(post "$W1PORT" toobig.txt)" = 400 ] && ok "an old size above the checkpoint's: 400" || fail "old > size"
# a log's first checkpoint: trusted as it comes, so there is nothing to prove from
printf 'other.example/log\n3\n%s\n' "$root" | "$SIGN" other.skey > first.note
printf 'old 0\n%s\n\n%s\n' "$(head -c 32 /dev/urandom | base64)" "$(cat first.note)" > first-proof.txt
[ "$(post "$W1PORT" first-proof.txt)" = 422 ] && ok "a log's first checkpoint with a consistency proof: 422" ||
  fail "first with proof $(cat "$W/body")"
printf 'old 0\n\n%s\n' "$(cat first.note)" > first.txt
[ "$(post "$W1PORT" first.txt)" = 200 ] && grep -q "witness.example/w1" "$W/body" &&
  ok "without one, cosigned" || fail "first $(cat "$W/body")"
printf 'nonsense\n' > junk.txt
[ "$(post "$W1PORT" junk.txt)" = 400 ] && ok "a malformed body: 400" || fail "junk"
expect 0 "after all that, the witness still cosigns the honest log" -- as reader ledger verify "${POLICY[@]}" \
  --quorum 2 --state trusted.note

# one witness down: the policy decides
kill "$W2_PID"; wait "$W2_PID" 2>/dev/null || true
as appender ledger append --data "event 5" >/dev/null
sleep 0.8
expect 1 "with one witness down, a 2-of-2 policy refuses the new checkpoint" -- as reader ledger verify \
  "${POLICY[@]}" --quorum 2 --state trusted.note
contains "$W/err" "1 of the 2 witness cosignatures" "and says how many it has"
expect 0 "a 1-of-2 policy accepts it" -- as reader ledger verify "${POLICY[@]}" --quorum 1 --state trusted.note

# a log whose entries do not rebuild its checkpoint (a fake server, validly signed)
FPORT=$((IPORT + 5))
printf 'ledger.example/medreg\n2\n%s\n' "$(head -c 32 /dev/urandom | base64)" | "$SIGN" ledger.skey > lie.note
printf '\000\001a\000\001b' > lie.bundle
fake_ledger "$FPORT" lie.note lie.bundle && ok "a dishonest server serves a signed checkpoint and other entries" || fail "fake server"
expect 1 "the monitor catches entries that do not rebuild the signed root" -- env MEDREG_LEDGER="https://127.0.0.1:$FPORT" \
  "$MEDREG" --as pki/reader ledger monitor --vkey "$VKEY" --state fresh.note --once
contains "$W/err" "do not rebuild" "an invalid step, named"
stop_fake
# the same, but the entries do rebuild the signed root and a hash tile is tampered
python3 -c "
import hashlib, base64
l = [hashlib.sha256(b'\\x00' + e).digest() for e in (b'a', b'b')]
print(base64.b64encode(hashlib.sha256(b'\\x01' + l[0] + l[1]).digest()).decode())" > root.txt
printf 'ledger.example/medreg\n2\n%s\n' "$(cat root.txt)" | "$SIGN" ledger.skey > honest-root.note
fake_ledger "$FPORT" honest-root.note lie.bundle && ok "a dishonest server serves true entries but a false hash tile" || fail "fake server"
expect 1 "the monitor catches a tampered hash tile" -- env MEDREG_LEDGER="https://127.0.0.1:$FPORT" \
  "$MEDREG" --as pki/reader ledger monitor --vkey "$VKEY" --state fresh2.note --once
contains "$W/err" "hash tile tile/0/000.p/2 does not hold" "naming the tile"
stop_fake
KILLED+=("$W2_PID")

finish
