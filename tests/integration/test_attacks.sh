#!/usr/bin/env bash
# Hostile input against the real daemons: malformed and oversized bodies,
# wrong types, unknown fields, missing certificates, forged, expired,
# replayed, foreign and cross-module PSN tokens. Every one gets a 4xx with
# the error shape, and nothing is stored.
. "$(dirname "$0")/lib.sh"

REC='{"side":"right","implant":"Corail KA","surgery_date":"2022-01-10"}'
raw() { # WHO METHOD URL [BODY-FILE] -> prints status, body in $W/body
  local who=$1 method=$2 url=$3 body=${4:-}
  local args=(-s -o "$W/body" -w '%{http_code}' --cacert pki/ca.crt -X "$method")
  [ "$who" != none ] && args+=(--cert "pki/$who.crt" --key "pki/$who.key")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "@$body")
  curl "${args[@]}" "$url" || true
}
status() { # WANT DESCRIPTION -- raw args...
  local want=$1 what=$2; shift 3
  local got; got=$(raw "$@")
  if [ "$got" = "$want" ] && jq -e '.error.code and .error.message' "$W/body" >/dev/null 2>&1; then
    ok "$what → $got $(jq -r .error.code "$W/body")"
  else fail "$what (HTTP $got, wanted $want)"; head -c 300 "$W/body"; echo; fi
}
records() { as admin --json stats | jq '[.modules[].versions] | add'; }
subjects() { as admin --json stats | jq '[.modules[].subjects] | add'; }
patients_hip() { as modadmin --json patient search --module hip --field family_name --value "$1" | jq '.patients | length'; }

as dr-a --json patient register --module hip --id family_name=Meier --id given_name=Anna --id birth_date=1970-01-01 > a.json
IA=$(json a.json .internal_id); TA=$(json a.json .psn_token)
as dr-a --json patient register --module hip --id family_name=Keller --id given_name=Urs --id birth_date=1955-05-05 > a2.json
IA2=$(json a2.json .internal_id); TA2=$(json a2.json .psn_token)
as dr-a --json patient register --module knee --id family_name=Meier --id given_name=Anna --id birth_date=1970-01-01 > k.json
IK=$(json k.json .internal_id); TK=$(json k.json .psn_token)
as dr-b --json patient register --module hip --id family_name=Meier --id given_name=Anna --id birth_date=1970-01-01 > b.json
IB=$(json b.json .internal_id); TB=$(json b.json .psn_token)
R0=$(records); S0=$(subjects)

# --- HTTP layer ---
printf '{"module":"hip",' > broken.json
status 400 "malformed JSON" -- dr-a POST "$MEDREG_IDENTITY/v1/patients" broken.json
printf '[1,2,3]' > array.json
status 400 "a JSON array instead of an object" -- dr-a POST "$MEDREG_IDENTITY/v1/patients" array.json
printf '{"module":5,"identifiers":{}}' > types.json
status 400 "module of the wrong type" -- dr-a POST "$MEDREG_IDENTITY/v1/patients" types.json
printf '{"module":"hip","identifiers":{"family_name":1,"given_name":"a","birth_date":"2000-01-01"}}' > types2.json
status 400 "an identifier of the wrong type" -- dr-a POST "$MEDREG_IDENTITY/v1/patients" types2.json
printf '{"module":"hip","identifiers":{"family_name":"a","given_name":"b","birth_date":"2000-01-01"},"admin":true}' > unknown.json
status 400 "an unknown field" -- dr-a POST "$MEDREG_IDENTITY/v1/patients" unknown.json
# a key twice, in a body that is otherwise valid (a reader that keeps the last would register)
printf '{"module":"hip","identifiers":{"family_name":"Dup","given_name":"Key","birth_date":"2000-01-01"},"module":"hip"}' > dup.json
status 400 "a duplicated key" -- dr-a POST "$MEDREG_IDENTITY/v1/patients" dup.json
contains "$W/body" "duplicate" "the refusal names the duplicate"
head -c 70000 /dev/zero | tr '\0' 'a' | sed 's/^/{"module":"/; s/$/"}/' > big.json
status 413 "an oversized body" -- dr-a POST "$MEDREG_IDENTITY/v1/patients" big.json
status 413 "an oversized record" -- dr-a POST "$MEDREG_REGISTRY/v1/records" big.json
status 401 "no client certificate" -- none GET "$MEDREG_REGISTRY/v1/records?module=hip"
status 403 "an unregistered certificate" -- dr-x GET "$MEDREG_REGISTRY/v1/records?module=hip"
status 404 "an unknown endpoint" -- dr-a GET "$MEDREG_REGISTRY/v1/nothing"
status 405 "a wrong method" -- dr-a DELETE "$MEDREG_REGISTRY/v1/records"
status 400 "an unknown module in a query" -- dr-a GET "$MEDREG_REGISTRY/v1/records?module=spleen"
# TLS 1.2 and 1.3 only: a client that would speak TLS 1.0 or 1.1 (OpenSSL does at security level 0)
# gets no handshake, while the same client offering TLS 1.2 gets one
handshake() { # VERSION-OPTION
  openssl s_client -connect "${MEDREG_REGISTRY#https://}" "$1" -cipher 'DEFAULT:@SECLEVEL=0' -CAfile pki/ca.crt \
    -cert pki/dr-a.crt -key pki/dr-a.key </dev/null >"$W/tls.out" 2>&1
}
handshake -tls1_2 && grep -q "Protocol.*TLSv1.2" "$W/tls.out" && ok "a TLS 1.2 handshake" || fail "TLS 1.2: $(tail -3 "$W/tls.out")"
for v in tls1 tls1_1; do
  handshake "-$v" && fail "the registry spoke ${v/_/.} ($(grep Protocol "$W/tls.out"))" || ok "no ${v/_/.} handshake"
done
# the services run with every library call bound at start: bound lazily, the
# dynamic linker saves registers (a key, K, identifiers among them) on stacks
# the first time a library calls a function (unit.wipe, mr_bind_now)
for pid in "$IDENTITY_PID" "$REGISTRY_PID"; do
  if ! tr '\0' '\n' <"/proc/$pid/environ" >"$W/environ" 2>/dev/null; then
    echo "  (the environment of process $pid cannot be read here: not checked)"
  elif grep -qx 'LD_BIND_NOW=1' "$W/environ"; then ok "medregd (process $pid) runs with its libraries bound at start"
  else fail "medregd (process $pid) runs lazily bound"; fi
done
# no core dumps, of the services or of the client (keys, PINs, K, identifiers): the client's
# limits read while it waits for a record on its standard input
mkfifo "$W/in.fifo"
exec 9<>"$W/in.fifo"
"$MEDREG" --as pki/dr-a record add --module hip --internal-id "$IA" --data - <"$W/in.fifo" >/dev/null 2>&1 9>&- &
CLI_PID=$!
no_core() { grep -Eq '^Max core file size +0 +0 ' "/proc/$1/limits" 2>/dev/null; }
for pid in "$REGISTRY_PID" "$CLI_PID"; do
  for _ in $(seq 1 50); do no_core "$pid" && break; sleep 0.1; done # the client: once it has started
  if no_core "$pid"; then ok "process $pid ($(basename "$(readlink "/proc/$pid/exe")")) dumps no core"
  else fail "process $pid may dump core: $(grep -i core "/proc/$pid/limits")"; fi
done
exec 9>&-
wait "$CLI_PID" 2>/dev/null || true
# a certificate from another CA is refused during the handshake
mkdir -p other && "$MEDREG" pki init other/pki >/dev/null
got=$(curl -s -o /dev/null -w '%{http_code}' --cacert pki/ca.crt --cert other/pki/admin.crt --key other/pki/admin.key \
  "$MEDREG_REGISTRY/v1/whoami" || true)
[ "$got" = 401 ] || [ "$got" = 000 ] && ok "a certificate from a foreign CA is not accepted ($got)" || fail "foreign CA ($got)"
# certificates of the trusted CA outside their validity: refused even when registered
for w in expired:20200101000000Z:20210101000000Z not-yet-valid:20990101000000Z:21000101000000Z; do
  IFS=: read -r n from to <<<"$w"
  issue_dated "pki/dr-$n" "$from" "$to"
  expect 0 "an administrator registers a physician's $n certificate" -- as admin user add --on registry \
    --cert-file "pki/dr-$n.crt" --role physician --module hip
  status 401 "the $n certificate is refused all the same" -- "dr-$n" GET "$MEDREG_REGISTRY/v1/records?module=hip"
done
# a certificate that expires during a keep-alive connection: refused from then on, on that connection
issue_dated pki/dr-brief "$(date -u -d '-1 hour' +%Y%m%d%H%M%SZ)" "$(date -u -d '+4 seconds' +%Y%m%d%H%M%SZ)"
as admin user add --on registry --cert-file pki/dr-brief.crt --role physician --module hip >/dev/null
if python3 - "$MEDREG_REGISTRY" > brief.out 2>&1 <<'EOP'
import http.client, ssl, sys, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
ctx = ssl.create_default_context(cafile="pki/ca.crt")
ctx.load_cert_chain("pki/dr-brief.crt", "pki/dr-brief.key")
c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx)
c.request("GET", "/v1/records?module=hip"); r = c.getresponse(); r.read(); first = r.status
sock = c.sock
time.sleep(6)
c.request("GET", "/v1/records?module=hip"); r = c.getresponse(); body = r.read()
print(first, r.status, c.sock is sock, body.decode()[:200])
sys.exit(0 if (first, r.status, c.sock is sock) == (200, 401, True) else 1)
EOP
then ok "a certificate that expires on an open connection is refused there from then on ($(cut -c1-9 brief.out))"
else fail "expiry during a keep-alive connection: $(cat brief.out)"; fi

# --- identifiers ---
expect 4 "a missing identifier" -- as dr-a patient register --module hip --id family_name=X --id given_name=Y
contains "$W/err" "identifiers.birth_date" "the error names the missing field"
expect 4 "an impossible date" -- as dr-a patient register --module hip --id family_name=X --id given_name=Y --id birth_date=1999-02-30
contains "$W/err" "identifiers.birth_date" "the error names the bad field"
expect 4 "an identifier of another module's schema" -- as dr-a patient register --module hip --id family_name=X --id given_name=Y --id birth_date=1999-02-03 --id ssn=1
expect 4 "a name that is only punctuation" -- as dr-a patient register --module hip --id family_name="'-." --id given_name=Y --id birth_date=1999-02-03
[ "$(patients_hip X)" = 0 ] && ok "no patient was stored by the refused registrations" || fail "partial patient stored"

# --- PSN tokens ---
expect 3 "a forged token (random bytes)" -- as dr-a record add --module hip --internal-id "$IA" \
  --token "$(head -c 200 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')" --data "$REC"
contains "$W/err" invalid_token "refused as invalid_token"
FLIP=$(echo "$TA" | sed 's/^\(.\{40\}\)\(.\)/\1\2/' | awk '{c=substr($0,41,1); r=(c=="A")?"B":"A"; print substr($0,1,40) r substr($0,42)}')
expect 3 "a token with one character changed" -- as dr-a record add --module hip --internal-id "$IA" --token "$FLIP" --data "$REC"
expect 3 "Dr B presents Dr A's token with Dr A's internal ID" -- as dr-b record add --module hip --internal-id "$IA" --token "$TA" --data "$REC"
contains "$W/err" token_mismatch "refused as token_mismatch"
expect 3 "Dr A presents a token for another internal ID" -- as dr-a record add --module hip --internal-id "$IA" --token "$TA2" --data "$REC"
expect 3 "a hip token for a knee record" -- as dr-a record add --module knee --internal-id "$IA" --token "$TA" --data "$REC"
expect 3 "a knee token for a hip record" -- as dr-a record add --module hip --internal-id "$IK" --token "$TK" --data "$REC"
expect 4 "the first record without a token" -- as dr-a record add --module hip --internal-id "$IA" --data "$REC"
contains "$W/err" psn_token_required "refused as psn_token_required"
expect 4 "an internal ID with a wrong check character" -- as dr-a record add --module hip \
  --internal-id "${IA%?}$( [ "${IA: -1}" = 0 ] && echo 1 || echo 0)" --token "$TA" --data "$REC"
expect 4 "a record that does not fit the schema" -- as dr-a record add --module hip --internal-id "$IA" --token "$TA" \
  --data '{"side":"middle","implant":"x","surgery_date":"2022-01-10"}'
contains "$W/err" "data.side" "the error names the field"
expect 4 "a record with an unknown field" -- as dr-a record add --module hip --internal-id "$IA" --token "$TA" \
  --data '{"side":"left","implant":"x","surgery_date":"2022-01-10","patient_name":"Anna Meier"}'
# a value that would command the terminal of whoever reads it: another physician under consent, a
# researcher (OSC 52 writes the reader's clipboard; U+009B is C1's CSI)
expect 4 "a text value with an escape sequence" -- as dr-a record add --module hip --internal-id "$IA" --token "$TA" \
  --data '{"side":"left","implant":"\u001b]52;c;Y3VybCBldmlsfHNo\u0007Corail","surgery_date":"2022-01-10"}'
contains "$W/err" "data.implant" "the error names the field"
contains "$W/err" "control characters" "and says why"
expect 4 "a text value with C1's CSI" -- as dr-a record add --module hip --internal-id "$IA" --token "$TA" \
  --data '{"side":"left","implant":"\u009b2JCorail","surgery_date":"2022-01-10"}'
# what a service says reaches a terminal without its control characters:
# the identity service quotes an unknown identifier's name in its refusal
ESCNAME=$(printf 'x\033]52;c;Y3VybCBldmlsfHNo\007\302\2332J')
rc=0; on_tty "$MEDREG" --as pki/dr-a patient register --module hip --id "$ESCNAME=1" --id family_name=Tty || rc=$?
[ "$rc" = 4 ] && ok "an unknown identifier with escape sequences in its name is refused" || fail "exit $rc, wanted 4"
if grep -q "identifiers.x?]52;c;Y3VybCBldmlsfHNo??2J" "$W/tty" && ! LC_ALL=C grep -q $'[\x1b\x07\x9b]' "$W/tty"; then
  ok "on a terminal, the refusal shows its escape sequences as '?'"
else fail "control characters reached the terminal"; od -c "$W/tty" | head; fi
rc=0; as dr-a patient register --module hip --id "$ESCNAME=1" --id family_name=Tty 2>"$W/err" || rc=$?
LC_ALL=C grep -q $'\x1b]52' "$W/err" && ok "into a file the message keeps its bytes (for whoever reads it)" \
  || fail "the message was changed for a file"
[ "$(records)" = "$R0" ] && [ "$(subjects)" = "$S0" ] && ok "nothing was stored by the refused requests" || fail "partial data stored"
expect 0 "the genuine token still works once" -- as dr-a record add --module hip --internal-id "$IA" --token "$TA" --data "$REC"
expect 3 "the same token replayed" -- as dr-a record add --module hip --internal-id "$IA" --token "$TA" --data "$REC"
contains "$W/err" token_replayed "refused as token_replayed"
# the same fresh token sent eight times at once: the writes share group
# commits, and still exactly one of them may spend it
as dr-a --json patient register --module hip --id family_name=Race --id given_name=Token --id birth_date=1980-05-05 > race.json
RI=$(json race.json .internal_id) RT=$(json race.json .psn_token)
racers=()
for i in 1 2 3 4 5 6 7 8; do
  (rc=0; as dr-a record add --module hip --internal-id "$RI" --token "$RT" --data "$REC" >"race.$i.out" 2>"race.$i.err" || rc=$?
   echo $rc >"race.$i.rc") &
  racers+=($!)
done
wait "${racers[@]}" || true # not the daemons
[ "$(cat race.*.rc | grep -c '^0$')" = 1 ] && ok "eight concurrent uses of one token: one stored" \
  || fail "concurrent uses of one token: $(cat race.*.rc | tr '\n' ' ')"
[ "$(cat race.*.err | grep -c token_replayed)" = 7 ] && ok "the seven others refused as token_replayed" \
  || fail "concurrent replays: $(cat race.*.err)"
R0=$((R0 + 1))
expect 3 "Dr B uses Dr A's internal ID with Dr B's own token" -- as dr-b record add --module hip --internal-id "$IA" --token "$TB" --data "$REC"
expect 3 "Dr B files under Dr A's internal ID without a token" -- as dr-b record add --module hip --internal-id "$IA" --data "$REC"

# an expired token: a second identity instance with a one-second lifetime, same keys and database
sed -e "s/^listen = .*/listen = 127.0.0.1:$((IPORT + 2))/" -e 's/^token_ttl = .*/token_ttl = 1/' identity.ini > identity-short.ini
if start_daemon identity-short.ini identity-short "https://127.0.0.1:$((IPORT + 2))"; then
  PIDS+=("$LAST_PID")
  MEDREG_IDENTITY="https://127.0.0.1:$((IPORT + 2))" as dr-a --json patient register --module hip \
    --id family_name=Keller --id given_name=Urs --id birth_date=1955-05-05 > short.json
  sleep 2.2
  expect 3 "an expired token" -- as dr-a record add --module hip --internal-id "$IA2" --token "$(json short.json .psn_token)" --data "$REC"
  contains "$W/err" token_expired "refused as token_expired"
else
  fail "could not start the short-lived identity instance"
fi
[ "$(records)" = "$((R0 + 1))" ] && ok "only the one genuine record was stored" || fail "record count $(records)"

# --- configuration: a bad file stops the daemon, naming file, line and problem ---
sed 's/^type = integer$/type = float/' hip.ini > badhip.ini
sed 's|^hip = hip.ini|hip = badhip.ini|' registry.ini > badreg.ini
expect 3 "a module file with an unknown type stops medregd" -- "$MEDREGD" --config badreg.ini --check
line=$(grep -n '^type = float' badhip.ini | head -1 | cut -d: -f1)
contains "$W/err" "badhip.ini:$line: type 'float'" "the message names the module file, the line and the problem"
sed 's/^connections = .*/connections = many/' registry.ini > badthreads.ini
expect 3 "a service file with a bad value stops medregd" -- "$MEDREGD" --config badthreads.ini --check
contains "$W/err" "badthreads.ini:$(grep -n '^connections' badthreads.ini | cut -d: -f1): connections 'many'" "the message names the service file and line"
sed 's/^connections = .*/&\nthreads = 0/' registry.ini > zerothreads.ini
expect 3 "zero HTTP threads stops medregd" -- "$MEDREGD" --config zerothreads.ini --check
contains "$W/err" "zerothreads.ini:$(grep -n '^threads' zerothreads.ini | cut -d: -f1): threads '0' must be 1..256" "the message names the file, line and range"
grep -v '^seal_key' registry.ini > nokey.ini
expect 3 "a missing key setting stops medregd" -- "$MEDREGD" --config nokey.ini --check
contains "$W/err" "seal_key is missing" "the message names the setting"
cp pki/registry.seal.key loose.key && chmod 0644 loose.key
sed 's|^seal_key = .*|seal_key = loose.key|' registry.ini > loose.ini
expect 3 "a key file others can read stops medregd" -- "$MEDREGD" --config loose.ini --check
contains "$W/err" "mode 0600" "the message says why"
# a path that names a FIFO (or a device, a folder) stops medregd with its name: opening a FIFO
# to read waits for a writer, and /dev/zero never ends (timeout turns a hang into a failure)
mkfifo fifo
for k in tls_cert client_ca seal_key identity_public consent_cert consent_key hip; do
  sed "s|^$k = .*|$k = fifo|" registry.ini > fifo-$k.ini
  expect 3 "$k naming a FIFO stops medregd at once" -- timeout 20 "$MEDREGD" --config fifo-$k.ini --check
  contains "$W/err" "fifo" "the message names the file"
done
sed "s|^consent_key = .*|consent_key = pkcs11:token=x;object=y?module-path=$W/fifo|" registry.ini > fifo-p11.ini
expect 3 "a PKCS#11 module that is a FIFO stops medregd" -- timeout 20 "$MEDREGD" --config fifo-p11.ini --check
contains "$W/err" "the PKCS#11 module is not a regular file: $W/fifo" "the message says so"
sed "s|^hip = .*|hip = /dev/zero|" registry.ini > zero.ini
expect 3 "a module file that is /dev/zero stops medregd" -- timeout 20 "$MEDREGD" --config zero.ini --check
contains "$W/err" "/dev/zero: not a regular file" "the message says so"
expect 3 "a service file that is a FIFO stops medregd" -- timeout 20 "$MEDREGD" --config fifo --check
contains "$W/err" "fifo: not a regular file" "the message says so"
for f in cert key cacert; do # the client's files, which libcurl opens itself
  args=(--cert pki/dr-a.crt --key pki/dr-a.key --cacert pki/ca.crt)
  case $f in cert) args[1]=fifo ;; key) args[3]=fifo ;; cacert) args[5]=fifo ;; esac
  expect 7 "the client's --$f naming a FIFO is refused at once" -- timeout 20 "$MEDREG" "${args[@]}" whoami --on registry
  contains "$W/err" "fifo: not a regular file" "the message says so"
done
rm -f fifo

for q in "" " 5" "5x" "-1" "+5" "99999999999999999999"; do
  expect 4 "audit --after '$q' is refused, not read as a number" -- as admin audit --on registry --after "$q"
done
contains "$W/err" "'after' must be a non-negative integer" "the refusal names the parameter"
expect 4 "audit --limit 0 is refused" -- as admin audit --on registry --limit 0
expect 0 "the audit trail" -- as admin --json audit --on registry --limit 1000
for code in invalid_token token_mismatch token_replayed token_expired psn_token_required; do
  [ "$(jq "[.events[] | select(.outcome==\"refused\" and .detail==\"$code\")] | length" "$W/out")" -ge 1 ] \
    && ok "audit records the $code refusal" || fail "audit lacks $code"
done
finish
