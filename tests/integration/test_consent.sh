#!/usr/bin/env bash
# The card consent protocol end to end (docs/protocol.md), through the real
# CLI against the real daemons, with SoftHSM2 cards: enrollment, consent with
# an excluded category, reading under the grant, revocation, card
# replacement, the one-time rule, every attack the protocol must refuse, and
# the alarms; once with RSA cards and once with EC cards.
export MEDREG_CONSENT_FAIL_MAX=1000 MEDREG_ALARM_REPLACEMENTS=1 MEDREG_ALARM_IDLE=1
. "$(dirname "$0")/lib.sh"

SOFTHSM=${MEDREG_SOFTHSM:-/usr/lib/softhsm/libsofthsm2.so}
if [ ! -r "$SOFTHSM" ]; then echo "SoftHSM2 is not installed: skipped"; exit 77; fi
mkdir -p "$W/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$W" > "$W/softhsm2.conf"
export SOFTHSM2_CONF="$W/softhsm2.conf" MEDREG_CARD_PIN=1234 MEDREG_PATIENT_PIN=1234 MEDREG_PHYSICIAN_PIN=1234
ATTACK="$BIN/tests/consent_attack"
card() { echo "pkcs11:token=$1?module-path=$SOFTHSM"; }
sql_cmd() { # SQL -> a shell command that runs it on the registry database (either engine)
  if [ "$ENGINE" = postgres ]; then printf 'psql -qAt -p %q -h /var/run/postgresql %q -c %q' "$PG_PORT" "${REGISTRY_DB%%\?*}" "$1"
  else printf 'sqlite3 -cmd %q %q %q' ".timeout 10000" "$W/registry.db" "$1"; fi
}
sql() { eval "$(sql_cmd "$1")"; } # run SQL on the registry database, print the result
blob_hex() { # SQL expression for a blob column as lowercase hex
  if [ "$ENGINE" = postgres ]; then echo "encode($1, 'hex')"; else echo "lower(hex($1))"; fi
}
blob_lit() { # HEX -> SQL blob literal
  if [ "$ENGINE" = postgres ]; then echo "'\\x$1'::bytea"; else echo "X'$1'"; fi
}
contains_blob() { # COLUMN HEX -> SQL condition: the blob column contains these bytes
  if [ "$ENGINE" = postgres ]; then echo "position('\\x$2'::bytea in $1) > 0"; else echo "instr($1, X'$2') > 0"; fi
}
audit_count() { # ACTION -> number of audit rows with this action
  sql "SELECT COUNT(*) FROM events WHERE action = '$1'"
}
grants_active() { sql "SELECT COUNT(*) FROM grants WHERE revoked_at IS NULL"; }
# fake_registry PORT PAD: a dishonest registry in front of the real one (TLS with the
# registry's certificate) that passes every request on as Dr B, but adds PAD copies of
# the first candidate to a consent session's start; an abandon it passes on is also
# kept in fake-abandon.json. Returns once it answers; sets FAKE_PID.
fake_registry() {
  rm -f fake-abandon.json
  cat > fake-registry.py <<'EOP'
import json, urllib.error, urllib.request
pad, upstream = int(sys.argv[4]), sys.argv[5]
up = ssl.create_default_context(cafile="pki/ca.crt"); up.load_cert_chain("pki/dr-b.crt", "pki/dr-b.key")
class H(http.server.BaseHTTPRequestHandler):
    def relay(self, method):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        req = urllib.request.Request(upstream + self.path, data=body, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=up) as r: status, out = r.status, r.read()
        except urllib.error.HTTPError as e: status, out = e.code, e.read()
        if method == "POST" and self.path == "/v1/consent/sessions" and status == 201:
            j = json.loads(out)
            if j.get("candidates"):
                j["candidates"] += [j["candidates"][0]] * pad
                out = json.dumps(j).encode()
        if body and b'"abandon"' in body: open("fake-abandon.json", "wb").write(body)
        self.send_response(status); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out))); self.end_headers(); self.wfile.write(out)
    def do_GET(self): self.relay("GET")
    def do_POST(self): self.relay("POST")
    def log_message(self, *a): pass
EOP
  fake_server "$1" registry /healthz fake-registry.py "$2" "$MEDREG_REGISTRY"
}
FPORT=$((IPORT + 7))

# physicians' cards: registered by the registry administrator
# Dr B's card is RSA-3072 (PSS signatures), the others EC
for d in dr-a:p256 dr-b:rsa3072 dr-x:brainpoolp256r1; do
  expect 0 "card for ${d%%:*}" -- "$MEDREG" card init --label "${d%%:*}-card" --name "${d%%:*}" --pki pki \
    --key-type "${d##*:}" --cert-out "${d%%:*}-card.crt"
done
expect 0 "the administrator registers Dr A's card" -- as admin card register --physician-cert pki/dr-a.crt --card-cert dr-a-card.crt
expect 0 "and Dr B's" -- as admin card register --physician-cert pki/dr-b.crt --card-cert dr-b-card.crt
expect 3 "a physician cannot register cards" -- as dr-a card register --physician-cert pki/dr-a.crt --card-cert dr-x-card.crt
expect 4 "a card for someone who is not a physician is refused" -- as admin card register --physician-cert pki/researcher.crt --card-cert dr-x-card.crt
"$MEDREG" pki init pki-other >/dev/null
expect 0 "a card from another CA" -- "$MEDREG" card init --label dr-y-card --name dr-a --pki pki-other --key-type p256 \
  --cert-out dr-y-card.crt
expect 4 "a card certificate from another CA is refused" -- as admin card register --physician-cert pki/dr-a.crt \
  --card-cert dr-y-card.crt
contains "$W/err" "not issued by the trusted CA" "the administrator is told why"
as admin user add --on registry --cert-file pki/dr-x.crt --role physician --module hip >/dev/null
DA=$(card dr-a-card); DB=$(card dr-b-card); DX=$(card dr-x-card)
DR_B_FPR=$("$MEDREG" pki fingerprint pki/dr-b.crt)

round() { # KEY_TYPE FAMILY_NAME
  local kt=$1 fam=$2
  echo "=== $kt cards ==="
  for c in patient other forged new; do
    expect 0 "$c card ($kt)" -- "$MEDREG" card init --label "$c-$kt" --name "patient-$kt" --pki pki --key-type "$kt"
  done
  local P N O F
  P=$(card "patient-$kt"); N=$(card "new-$kt"); O=$(card "other-$kt"); F=$(card "forged-$kt")
  expect 0 "the forged card's certificate copies the patient's name" -- "$MEDREG" card show --card "$F"
  contains "$W/out" "CN=patient-$kt" "same subject name, different key"

  expect 0 "Dr A registers the patient" -- as dr-a --json patient register --module hip \
    --id family_name="$fam" --id given_name=Anna --id birth_date=1970-01-02
  local IA; IA=$(json "$W/out" .internal_id); json "$W/out" .psn_token > a.tok
  expect 0 "Dr A files a record with a mental-health field" -- as dr-a --json record add --module hip \
    --internal-id "$IA" --token-file a.tok \
    --data '{"side":"right","implant":"Pinnacle","surgery_date":"2022-02-03","harris_hip_score":70,"depression_screen":"positive"}'
  local RA; RA=$(json "$W/out" .record_id)

  expect 3 "a wrong patient PIN: a clear error" -- env MEDREG_PATIENT_PIN=0000 "$MEDREG" --as pki/dr-a consent enroll \
    --module hip --internal-id "$IA" --patient-card "$P" --physician-card "$DA"
  contains "$W/err" "PIN" "the message names the PIN"
  [ "$(sql "SELECT COUNT(*) FROM consent_sessions")" = "$SESSIONS" ] && ok "nothing stored after a wrong PIN" || fail "a session was stored"
  expect 3 "enrollment signed by an unregistered physician card is refused" -- as dr-a consent enroll --module hip \
    --internal-id "$IA" --patient-card "$P" --physician-card "$DX"
  expect 3 "enrollment without the physician's signature is refused" -- "$ATTACK" --as pki/dr-a enroll \
    --module hip --internal-id "$IA" --patient-card "$P" --physician-card "$DA" --tamper no-physician-sig
  expect 3 "K''' flipped in one bit: refused, nothing stored" -- "$ATTACK" --as pki/dr-a enroll \
    --module hip --internal-id "$IA" --patient-card "$P" --physician-card "$DA" --tamper flip-k3
  [ "$(sql "SELECT COUNT(*) FROM fingerprints f JOIN relations r ON r.subject = f.subject WHERE r.internal_id = '$IA'")" = 0 ] \
    && ok "no fingerprint after the refused enrollments" || fail "a fingerprint was stored"
  expect 0 "Dr A enrolls the patient's card" -- as dr-a consent enroll --module hip --internal-id "$IA" \
    --patient-card "$P" --physician-card "$DA"
  contains "$W/out" "enrolled" "enrollment reported"
  expect 4 "a second enrollment is refused: consent or replacement instead" -- as dr-a consent enroll --module hip \
    --internal-id "$IA" --patient-card "$O" --physician-card "$DA"
  local SUBJ; SUBJ=$(sql "SELECT subject FROM relations WHERE internal_id = '$IA'")
  local PUB; PUB=$("$ATTACK" pubkey --patient-card "$P")
  [ "$(sql "SELECT COUNT(*) FROM fingerprints WHERE $(contains_blob k2 "$PUB") OR $(contains_blob client_pk "$PUB")")" = 0 ] \
    && [ "$(sql "SELECT COUNT(*) FROM card_certs WHERE $(contains_blob cert "$PUB")")" = 0 ] \
    && ok "the registry holds neither the patient's certificate nor public key" || fail "patient key found on the registry"

  expect 0 "Dr B registers the same patient" -- as dr-b --json patient register --module hip \
    --id family_name="$fam" --id given_name=Anna --id birth_date=02.01.1970
  local IB; IB=$(json "$W/out" .internal_id); json "$W/out" .psn_token > b.tok
  expect 3 "before consent, Dr B cannot read Dr A's record" -- as dr-b record show "$RA"

  local g0; g0=$(grants_active)
  expect 3 "another patient's card: refused" -- as dr-b consent request --module hip --internal-id "$IB" \
    --token-file b.tok --patient-card "$O" --physician-card "$DB"
  contains "$W/err" "not enrolled for this patient" "the physician is told why"
  expect 3 "a card with the patient's name but another key: refused" -- as dr-b consent request --module hip \
    --internal-id "$IB" --patient-card "$F" --physician-card "$DB"
  # K'' altered on the server: the card opens nothing
  local FP K2 FLIP
  FP=$(sql "SELECT id FROM fingerprints WHERE subject = '$SUBJ' AND retired_at IS NULL")
  K2=$(sql "SELECT $(blob_hex k2) FROM fingerprints WHERE id = '$FP'")
  FLIP=$(python3 -c "import sys; h=bytearray.fromhex(sys.argv[1]); h[len(h)//2]^=1; print(h.hex())" "$K2")
  sql "UPDATE fingerprints SET k2 = $(blob_lit "$FLIP") WHERE id = '$FP'"
  expect 3 "K'' flipped in one bit: refused" -- as dr-b consent request --module hip --internal-id "$IB" \
    --patient-card "$P" --physician-card "$DB"
  # a K'' the card did not sign: the server cannot make the card answer for it
  "$ATTACK" craft-k2 --patient-card "$P" > crafted.hex
  sql "UPDATE fingerprints SET k2 = $(blob_lit "$(cat crafted.hex)") WHERE id = '$FP'"
  expect 3 "a K'' the card never signed: the client refuses to answer" -- as dr-b consent request --module hip \
    --internal-id "$IB" --patient-card "$P" --physician-card "$DB"
  contains "$W/err" "never signed" "the physician is warned about the registry"
  sql "UPDATE fingerprints SET k2 = $(blob_lit "$K2") WHERE id = '$FP'"
  # a registry offering more candidates than the protocol's 16: the card is not used at all
  # (all 17 are the patient's own K'', which the card would open at once)
  fake_registry "$FPORT" 16 || fail "the dishonest registry did not start"
  expect 3 "17 candidates from a dishonest registry: the client refuses before using the card" -- \
    as dr-b --registry "https://127.0.0.1:$FPORT" consent request --module hip --internal-id "$IB" \
    --patient-card "$P" --physician-card "$DB"
  contains "$W/err" "more than the protocol's 16" "the physician is told why"
  contains fake-abandon.json "too_many_candidates" "the session is abandoned, saying why"
  stop_fake
  expect 3 "the answer flipped in one bit: refused" -- "$ATTACK" --as pki/dr-b request --module hip --internal-id "$IB" \
    --patient-card "$P" --physician-card "$DB" --tamper flip-answer
  expect 4 "the true answer sent again to the session the flipped one closed: refused" -- "$ATTACK" --as pki/dr-b \
    request --module hip --internal-id "$IB" --patient-card "$P" --physician-card "$DB" --tamper flip-answer --finish-again
  contains "$W/err" "session_closed" "the registry says the session is over"
  expect 4 "a true answer after the session's end: refused" -- "$ATTACK" --as pki/dr-b request --module hip \
    --internal-id "$IB" --patient-card "$P" --physician-card "$DB" \
    --before-send "$(sql_cmd "UPDATE consent_sessions SET expires_at = 1 WHERE status = 'open'")"
  contains "$W/err" "session_expired" "the registry says the session has expired"
  # answers that open, for this very session, but say another nonce, or other terms than the request
  # and the physician's card signature (the consent the patient gave is not the one asked for)
  expect 3 "an answer for another nonce: refused" -- "$ATTACK" --as pki/dr-b request --module hip --internal-id "$IB" \
    --patient-card "$P" --physician-card "$DB" --exclude mental-health --days 30 --tamper other-nonce
  contains "$W/err" "not for this session or these terms" "the registry says why"
  expect 3 "an answer for other terms: refused" -- "$ATTACK" --as pki/dr-b request --module hip --internal-id "$IB" \
    --patient-card "$P" --physician-card "$DB" --exclude mental-health --days 30 --tamper other-terms
  contains "$W/err" "not for this session or these terms" "the registry says why"
  expect 3 "Dr X sends the answer to Dr B's session: refused" -- "$ATTACK" --as pki/dr-b request --module hip \
    --internal-id "$IB" --patient-card "$P" --physician-card "$DB" --finish-as pki/dr-x
  contains "$W/err" "belongs to another physician" "the registry says why"
  cp -a tokens tokens.saved # the card goes back in afterwards
  expect 7 "the card removed mid-protocol: a clear error" -- "$ATTACK" --as pki/dr-b request --module hip \
    --internal-id "$IB" --patient-card "$P" --physician-card "$DB" --tamper remove-card
  contains "$W/err" "removed" "the error says the card was removed"
  contains "$W/err" "nothing was stored" "and that nothing was stored"
  rm -rf tokens && mv tokens.saved tokens
  [ "$(grants_active)" = "$g0" ] && ok "no grant after any refused attempt" || fail "a grant appeared"
  [ "$(sql "SELECT COUNT(*) FROM fingerprints WHERE subject = '$SUBJ' AND retired_at IS NULL")" = 1 ] \
    && [ "$(sql "SELECT id FROM fingerprints WHERE subject = '$SUBJ' AND retired_at IS NULL")" = "$FP" ] \
    && ok "the enrolled fingerprint is unchanged" || fail "fingerprint state changed"

  expect 0 "the patient consents at Dr B, withholding mental health" -- "$ATTACK" --as pki/dr-b request --module hip \
    --internal-id "$IB" --patient-card "$P" --physician-card "$DB" --exclude mental-health --days 30 \
    --save-k used.k --save-answer used.answer
  [ "$(sql "SELECT CASE WHEN retired_at IS NULL THEN 0 ELSE 1 END FROM fingerprints WHERE id = '$FP'")" = 1 ] && ok "the used fingerprint is retired" || fail "not retired"
  expect 0 "Dr B reads the patient's records" -- as dr-b --json record list --module hip --internal-id "$IB"
  [ "$(jq '[.records[] | select(.own == false)] | length' "$W/out")" = 1 ] && ok "Dr A's record is visible to Dr B" || fail "grant read"
  lacks "$W/out" "depression_screen" "the withheld category is not shown"
  contains "$W/out" "mental-health" "the reply says what was withheld"
  lacks "$W/out" "$IA" "Dr A's internal ID is not revealed"
  expect 0 "Dr B opens Dr A's record" -- as dr-b --json record show "$RA"
  contains "$W/out" "Pinnacle" "granted categories are shown"
  lacks "$W/out" "positive" "the withheld field is absent"
  lacks "$W/out" "$IA" "nor is Dr A's internal ID"
  expect 3 "Dr B still cannot correct Dr A's record" -- as dr-b record correct "$RA" --data '{"side":"left","implant":"x","surgery_date":"2022-02-03"}'
  expect 3 "Dr B's grant opens nothing for another physician of the module (Dr X)" -- as dr-x record show "$RA"
  # the grants list: a physician sees their own, under their own internal ID; another physician none of them
  expect 0 "Dr B lists their grants" -- as dr-b --json grants --module hip
  [ "$(jq --arg i "$IB" '[.grants[] | select(.internal_id == $i and .state == "active")] | length' "$W/out")" -ge 1 ] &&
    ok "the grant, under Dr B's internal ID" || fail "Dr B's grants: $(cat "$W/out")"
  lacks "$W/out" "$IA" "not Dr A's internal ID"
  expect 3 "a researcher cannot list grants" -- as researcher grants --module hip
  expect 0 "Dr X lists grants" -- as dr-x --json grants --module hip
  [ "$(jq '.grants | length' "$W/out")" = 0 ] && ok "Dr X sees none of Dr B's grants" || fail "Dr X's grants: $(cat "$W/out")"
  lacks "$W/out" "$IB" "nor Dr B's internal ID"
  # a grant is for one module's subject: the same patient's knee records stay closed to Dr B
  as dr-a --json patient register --module knee --id family_name="$fam" --id given_name=Anna \
    --id birth_date=1970-01-02 > ak.json
  as dr-a --json record add --module knee --internal-id "$(json ak.json .internal_id)" --token "$(json ak.json .psn_token)" \
    --data '{"side":"left","implant":"Corail","surgery_date":"2023-03-04"}' > rk.json
  as dr-b --json patient register --module knee --id family_name="$fam" --id given_name=Anna \
    --id birth_date=1970-01-02 > bk.json
  as dr-b --json record add --module knee --internal-id "$(json bk.json .internal_id)" --token "$(json bk.json .psn_token)" \
    --data '{"side":"right","implant":"Exeter","surgery_date":"2024-05-06"}' > /dev/null
  expect 3 "Dr B's hip grant does not open Dr A's knee record of the patient" -- as dr-b record show "$(json rk.json .record_id)"
  expect 0 "Dr B's list of the patient's knee records" -- as dr-b --json record list --module knee \
    --internal-id "$(json bk.json .internal_id)"
  [ "$(jq '[.records[] | select(.own == false)] | length' "$W/out")" = 0 ] &&
    [ "$(jq '[.records[] | select(.own == true)] | length' "$W/out")" = 1 ] && ok "holds Dr B's own and none of Dr A's" ||
    fail "a hip grant lists knee records: $(cat "$W/out")"

  expect 3 "the captured answer replayed in a new session: refused" -- "$ATTACK" --as pki/dr-b request --module hip \
    --internal-id "$IB" --patient-card "$P" --physician-card "$DB" --replay-answer used.answer
  expect 3 "the used key with a fresh nonce: refused (one-time)" -- "$ATTACK" --as pki/dr-b request --module hip \
    --internal-id "$IB" --patient-card "$P" --physician-card "$DB" --use-k used.k
  expect 0 "the rotated fingerprint works with the card again" -- as dr-b consent request --module hip \
    --internal-id "$IB" --patient-card "$P" --physician-card "$DB" --exclude mental-health --days 30
  # the card answers a second session while the first waits: the first's answer is for a fingerprint
  # that has just been used, and is refused (the finish checks the fingerprint is still unused)
  expect 3 "an answer for a fingerprint used meanwhile in another session: refused (one-time)" -- \
    "$ATTACK" --as pki/dr-b request --module hip --internal-id "$IB" --patient-card "$P" --physician-card "$DB" \
    --exclude mental-health --days 30 --before-send "'$MEDREG' --as pki/dr-b consent request --module hip \
    --internal-id '$IB' --patient-card '$P' --physician-card '$DB' --exclude mental-health --days 30 > meanwhile.out 2>&1"
  contains meanwhile.out "grant" "the other session's consent went through"
  contains "$W/err" "consent_refused" "the waiting session's answer is refused"
  fake_registry "$FPORT" 15 || fail "the relaying registry did not start"
  expect 0 "16 candidates, the protocol's most: the card answers" -- \
    as dr-b --registry "https://127.0.0.1:$FPORT" consent request --module hip --internal-id "$IB" \
    --patient-card "$P" --physician-card "$DB" --exclude mental-health --days 30
  stop_fake
  # a physician's card outside its validity is not registered, and once registered signs nothing
  # after its end (a PEM key file as the card)
  for w in expired:20200101000000Z:20210101000000Z not-yet-valid:20990101000000Z:21000101000000Z; do
    IFS=: read -r n from to <<<"$w"
    issue_dated "dr-b-$n-$kt" "$from" "$to"
    expect 4 "the administrator cannot register a card that is $n" -- as admin card register \
      --physician-cert pki/dr-b.crt --card-cert "dr-b-$n-$kt.crt"
    contains "$W/err" "card_expired" "the refusal names the card's validity"
  done
  local end; end=$(($(date +%s) + 5))
  issue_dated "dr-b-brief-$kt" "$(date -u -d '-1 hour' +%Y%m%d%H%M%SZ)" "$(date -u -d "@$end" +%Y%m%d%H%M%SZ)"
  expect 0 "the administrator registers a card of Dr B's that ends in 5 seconds" -- as admin card register \
    --physician-cert pki/dr-b.crt --card-cert "dr-b-brief-$kt.crt"
  while [ "$(date +%s)" -le "$end" ]; do sleep 0.5; done
  expect 3 "past its end, the card's signature is refused" -- as dr-b consent request --module hip --internal-id "$IB" \
    --patient-card "$P" --physician-card "dr-b-brief-$kt.key"
  contains "$W/err" "card_expired" "the refusal names the card's validity"
  # an administrator takes Dr B's role away: the grant opens nothing, and a consent under way is not finished
  g1=$(grants_active)
  expect 3 "Dr B's physician role is removed while the patient answers: the answer is refused" -- "$ATTACK" --as pki/dr-b request --module hip \
    --internal-id "$IB" --patient-card "$P" --physician-card "$DB" --exclude mental-health --days 30 \
    --before-send "$MEDREG --as pki/admin user remove --on registry --cert-file pki/dr-b.crt --role physician --module hip"
  contains "$W/err" "physician role" "the refusal names the missing role"
  [ "$(grants_active)" = "$g1" ] && ok "no new grant after the removal" || fail "a grant was made for a removed physician"
  expect 3 "a removed physician's grant opens nothing" -- as dr-b record show "$RA"
  local s0; s0=$(sql "SELECT COUNT(*) FROM consent_sessions")
  expect 3 "without the role, Dr B cannot start a consent session" -- as dr-b consent request --module hip \
    --internal-id "$IB" --patient-card "$P" --physician-card "$DB"
  [ "$(sql "SELECT COUNT(*) FROM consent_sessions")" = "$s0" ] && ok "no session was opened, the card never asked" ||
    fail "a session was opened for a physician without the role"
  expect 0 "the role is given back" -- as admin user add --on registry --cert-file pki/dr-b.crt --role physician --module hip
  expect 0 "and with it the grant" -- as dr-b record show "$RA"
  # a grant past its end opens nothing: its end moved 31 days back in the database (time passing)
  sql "UPDATE grants SET expires_at = expires_at - 86400 * 31 WHERE revoked_at IS NULL"
  expect 3 "a grant past its end opens nothing" -- as dr-b record show "$RA"
  expect 0 "Dr B's list of the patient's records" -- as dr-b --json record list --module hip --internal-id "$IB"
  [ "$(jq '[.records[] | select(.own == false)] | length' "$W/out")" = 0 ] && ok "holds none of Dr A's once the grant has ended" ||
    fail "an ended grant still lists: $(cat "$W/out")"
  sql "UPDATE grants SET expires_at = expires_at + 86400 * 31 WHERE revoked_at IS NULL"
  expect 0 "within its time again, the grant opens the record" -- as dr-b record show "$RA"
  # Dr B's card is lost: the administrator takes it out, and it signs nothing more
  g2=$(grants_active)
  expect 0 "Dr B's card is lost: the administrator takes it out" -- as admin card remove --card-cert dr-b-card.crt
  expect 3 "the removed card signs no consent" -- as dr-b consent request --module hip --internal-id "$IB" \
    --patient-card "$P" --physician-card "$DB" --exclude mental-health --days 30
  contains "$W/err" "card_not_registered" "refused as card_not_registered"
  [ "$(grants_active)" = "$g2" ] && ok "no grant from a removed card" || fail "a removed card made a grant"
  expect 4 "a card taken out twice: not found" -- as admin card remove --card-cert dr-b-card.crt
  expect 3 "a physician cannot take cards out" -- as dr-a card remove --card-cert dr-a-card.crt
  expect 0 "the card is registered again" -- as admin card register --physician-cert pki/dr-b.crt --card-cert dr-b-card.crt
  expect 0 "and signs again" -- as dr-b consent request --module hip --internal-id "$IB" \
    --patient-card "$P" --physician-card "$DB" --exclude mental-health --days 30

  expect 0 "the patient revokes Dr B's grant at Dr A" -- as dr-a consent revoke --module hip --internal-id "$IA" \
    --patient-card "$P" --physician-card "$DA" --grantee "$DR_B_FPR"
  contains "$W/out" "revoked 1" "one grant revoked"
  expect 3 "after revocation Dr B cannot read Dr A's record" -- as dr-b record show "$RA"

  expect 0 "the card is lost: Dr A enrolls the new card as a replacement" -- as dr-a consent replace --module hip \
    --internal-id "$IA" --patient-card "$N" --physician-card "$DA"
  [ "$(sql "SELECT replacement FROM fingerprints WHERE subject = '$SUBJ' AND retired_at IS NULL")" = 1 ] \
    && ok "the new fingerprint is flagged as a replacement" || fail "replacement flag"
  expect 3 "the old card no longer works" -- as dr-b consent request --module hip --internal-id "$IB" \
    --patient-card "$P" --physician-card "$DB"
  expect 0 "the new card does" -- as dr-b consent request --module hip --internal-id "$IB" \
    --patient-card "$N" --physician-card "$DB"
}

SESSIONS=$(sql "SELECT COUNT(*) FROM consent_sessions")
round rsa2048 Rsamann
SESSIONS=$(sql "SELECT COUNT(*) FROM consent_sessions")
round p256 Eckmann

echo "=== logging and alarms ==="
for a in enroll consent_success consent_failure grant revoke card_replace record_read; do
  [ "$(audit_count "$a")" -gt 0 ] && ok "audit has $a events" || fail "no $a in the audit"
done
sleep 1.2
expect 0 "alarms for the registry administrator" -- as admin --json alarms
contains "$W/out" '"replacements"' "more replacements than allowed raise an alarm"
[ "$(sql "SELECT COUNT(*) FROM events WHERE action = 'alarm' AND outcome = 'raised' AND detail = 'replacements'")" -gt 0 ] &&
  ok "the replacement alarm is in the audit trail, when it was raised" || fail "no replacement alarm in the audit trail"
contains "$W/out" '"access_without_data"' "access without new data raises an alarm"
expect 3 "a physician cannot see alarms" -- as dr-a alarms
expect 0 "the monitor sees the alarm gauges" -- as monitor metrics --on registry
contains "$W/out" 'medreg_alarms{kind="replacements"} 1' "replacement alarm in /metrics"
# the failure limit back to its default: Dr B has failed far more than 3 times today
stop_services
sed -i 's/^consent_fail_max = .*/consent_fail_max = 3/' registry.ini
start_daemon identity.ini identity "$MEDREG_IDENTITY" && PIDS+=("$LAST_PID")
restart_registry
expect 3 "a physician over the failure limit is blocked" -- as dr-b consent request --module hip \
  --internal-id "$(sql "SELECT internal_id FROM relations WHERE physician = '$DR_B_FPR' LIMIT 1")" \
  --patient-card "$(card new-p256)" --physician-card "$DB"
contains "$W/err" "consent_blocked" "the refusal says so"
expect 0 "alarms" -- as admin --json alarms
contains "$W/out" '"consent_blocked"' "the blocked physician is an alarm"
finish
