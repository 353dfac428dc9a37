#!/usr/bin/env bash
# The identity service's TLS key on a PKCS#11 token (SoftHSM2): the service
# starts, serves mutual TLS and registers patients with the key on the token;
# a wrong PIN, a PIN file others can read, a missing object, a key that does
# not match the certificate and a missing PIN each stop it with a clear message.
# Then the registry with its TLS key and its consent key on the token (ECDH
# on the token for every fingerprint and answer), through a whole consent.
# Last, the PSN-token keys on tokens: the identity service's Ed25519 signing
# key (CKM_EDDSA) and X25519 box key, the registry's X25519 seal key (ECDH on
# the token), made there by medreg key new-sign/new-seal --token, through a
# registration, a record and a consent; and each way of getting them wrong.
# Then the ledger's signing key and a witness's cosigning key on a token,
# through a witnessed checkpoint.
. "$(dirname "$0")/lib.sh"
# full stacks under LeakSanitizer, so that tests/lsan.supp can name SoftHSM2's
# own leak (its frames have no frame pointers)
[ -n "${ASAN_OPTIONS:-}" ] && export ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0"

P11=${MEDREG_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
if [ ! -e "$P11" ] || ! command -v softhsm2-util >/dev/null; then
  echo "SoftHSM2 is not installed: skipped"; exit 77
fi
export SOFTHSM2_CONF="$W/softhsm2.conf"
mkdir -p "$W/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$W/tokens" > "$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label medreg --pin 1234 --so-pin 5678 >/dev/null
softhsm2-util --import pki/identity.key --token medreg --label identity-tls --id 01 --pin 1234 >/dev/null
softhsm2-util --import pki/registry.key --token medreg --label other-key --id 02 --pin 1234 >/dev/null
ok "a SoftHSM2 token holds the identity service's TLS key"

P11PORT=$((IPORT + 5))
p11_config() { # FILE KEY-URI PIN-FILE-LINE
  sed -e "s|^listen = .*|listen = 127.0.0.1:$P11PORT|" -e "s|^tls_key = .*|tls_key = $2\npkcs11_module = $P11\n$3|" \
    identity.ini > "$1"
}
URI='pkcs11:token=medreg;object=identity-tls;type=private'
( umask 077; echo 1234 > pin; echo 9999 > wrong.pin )
p11_config id-p11.ini "$URI" "pin_file = pin"
expect 0 "medregd --check accepts the token key" -- "$MEDREGD" --config id-p11.ini --check

if start_daemon id-p11.ini identity-p11 "https://127.0.0.1:$P11PORT"; then
  PIDS+=("$LAST_PID")
  ok "the identity service runs with its TLS key on the token"
  export MEDREG_IDENTITY="https://127.0.0.1:$P11PORT"
  expect 0 "mutual TLS works with the token key" -- as admin whoami --on identity
  expect 0 "a physician registers a patient through it" -- as dr-a patient register --module hip \
    --id family_name=Token --id given_name=Key --id birth_date=1980-08-08
  got=$(curl -s --cacert pki/ca.crt -o /dev/null -w '%{http_code}' "$MEDREG_IDENTITY/healthz" || true)
  [ "$got" = 200 ] && ok "the server certificate verifies against the CA" || fail "healthz over the token key ($got)"
else
  fail "the identity service did not start with the token key"
fi

p11_config bad.ini "$URI" "pin_file = wrong.pin"
expect 3 "a wrong PIN stops the service" -- "$MEDREGD" --config bad.ini --check
contains "$W/err" "cannot open the key on the token" "the message says the key could not be opened"
chmod 0644 pin
p11_config bad.ini "$URI" "pin_file = pin"
expect 3 "a PIN file others can read is refused" -- "$MEDREGD" --config bad.ini --check
contains "$W/err" "mode 0600" "the message names the mode"
chmod 0600 pin
p11_config bad.ini 'pkcs11:token=medreg;object=no-such-key;type=private' "pin_file = pin"
expect 3 "a missing object stops the service" -- "$MEDREGD" --config bad.ini --check
p11_config bad.ini 'pkcs11:token=medreg;object=other-key;type=private' "pin_file = pin"
expect 3 "a token key that does not match the certificate is refused" -- "$MEDREGD" --config bad.ini --check
contains "$W/err" "does not belong to the certificate" "the message says so"
p11_config bad.ini "$URI" ""
expect 3 "no PIN at all is refused" -- env -u MEDREG_PKCS11_PIN "$MEDREGD" --config bad.ini --check
expect 0 "the PIN may come from the environment instead" -- env MEDREG_PKCS11_PIN=1234 "$MEDREGD" --config bad.ini --check
expect 3 "a PIN in the environment longer than any PIN is refused" -- \
  env MEDREG_PKCS11_PIN="$(head -c 300 /dev/zero | tr '\0' 1)" "$MEDREGD" --config bad.ini --check
contains "$W/err" "the PIN in the environment is too long: MEDREG_PKCS11_PIN (for tls_key)" "the message says so, and for which key"
sed "s|^pkcs11_module = .*|pkcs11_module = $W|" id-p11.ini > bad.ini
expect 3 "a PKCS#11 module that is no regular file is not loaded (the TLS key)" -- "$MEDREGD" --config bad.ini --check
contains "$W/err" "the PKCS#11 module is not a regular file" "the message says so"

# the registry: TLS key and consent key on the token
softhsm2-util --import pki/registry.key --token medreg --label registry-tls --id 03 --pin 1234 >/dev/null
softhsm2-util --import pki/registry-consent.key --token medreg --label registry-consent --id 04 --pin 1234 >/dev/null
RP11PORT=$((IPORT + 6))
reg_config() { # FILE CONSENT-KEY-URI
  sed -e "s|^listen = .*|listen = 127.0.0.1:$RP11PORT|" \
      -e "s|^tls_key = .*|tls_key = pkcs11:token=medreg;object=registry-tls;type=private\npkcs11_module = $P11\npin_file = pin|" \
      -e "s|^consent_key = .*|consent_key = $2|" registry.ini > "$1"
}
reg_config bad.ini 'pkcs11:token=medreg;object=registry-tls;type=private'
expect 3 "a consent key that does not match its certificate stops the registry" -- "$MEDREGD" --config bad.ini --check
contains "$W/err" "consent_key" "the message names the setting"
reg_config bad.ini 'pkcs11:token=medreg;object=registry-consent;type=private'
expect 3 "a consent key imported without the derive usage stops the registry" -- "$MEDREGD" --config bad.ini --check
contains "$W/err" "CKA_DERIVE" "the message names the missing usage"
# the consent key made on a token of its own and certified, as an HSM would
MEDREG_CARD_PIN=1234 "$MEDREG" card init --label registry-consent --name registry-consent --pki pki \
  --key-type p256 --cert-out registry-consent-token.crt >/dev/null
reg_config reg-p11.ini 'pkcs11:token=registry-consent'
sed -i 's|^consent_cert = .*|consent_cert = registry-consent-token.crt|' reg-p11.ini
expect 0 "medregd --check accepts the consent key on its token" -- "$MEDREGD" --config reg-p11.ini --check
stop_services
start_services
if start_daemon reg-p11.ini registry-p11 "https://127.0.0.1:$RP11PORT"; then
  PIDS+=("$LAST_PID")
  ok "the registry runs with its TLS and consent keys on the token"
  export MEDREG_REGISTRY="https://127.0.0.1:$RP11PORT"
  for k in patient dr-a-card dr-b-card; do "$MEDREG" pki issue pki "$k" --key-type p256 >/dev/null; done
  as admin card register --physician-cert pki/dr-a.crt --card-cert pki/dr-a-card.crt >/dev/null
  as admin card register --physician-cert pki/dr-b.crt --card-cert pki/dr-b-card.crt >/dev/null
  as dr-a --json patient register --module hip --id family_name=Token --id given_name=Consent --id birth_date=1975-05-05 > a.json
  as dr-b --json patient register --module hip --id family_name=Token --id given_name=Consent --id birth_date=1975-05-05 > b.json
  json a.json .psn_token > a.tok; json b.json .psn_token > b.tok
  expect 0 "enrollment with the consent key on the token" -- as dr-a consent enroll --module hip \
    --internal-id "$(json a.json .internal_id)" --token-file a.tok --patient-card pki/patient.key --physician-card pki/dr-a-card.key
  expect 0 "consent with the consent key on the token" -- as dr-b consent request --module hip \
    --internal-id "$(json b.json .internal_id)" --token-file b.tok --patient-card pki/patient.key --physician-card pki/dr-b-card.key
else
  fail "the registry did not start with its keys on the token"
fi
# The PSN-token keys on tokens of their own
stop_services
softhsm2-util --init-token --free --label services --pin 1234 --so-pin 5678 >/dev/null
KT='pkcs11:token=services'
for k in "new-sign tok-sign psn-sign" "new-seal tok-box psn-box" "new-seal tok-seal registry-seal"; do
  set -- $k
  expect 0 "medreg key $1 --token makes $3 on the token" -- \
    env MEDREG_PKCS11_PIN=1234 "$MEDREG" key "$1" "$2" --token "$KT;object=$3" --module "$P11"
done
[ "$(stat -c %s tok-sign.pub)" = 32 ] && [ ! -e tok-sign.key ] && ok "only the 32-byte public key is written" ||
  fail "key new-sign --token wrote a private key or a bad public key"
expect 7 "a PKCS#11 module that is no regular file is not loaded (a key, a card)" -- \
  env MEDREG_PKCS11_PIN=1234 "$MEDREG" key new-seal again --token "$KT;object=other" --module "$W"
contains "$W/err" "the PKCS#11 module is not a regular file" "the message says so"
expect 7 "a second key under the same label is refused" -- \
  env MEDREG_PKCS11_PIN=1234 "$MEDREG" key new-seal again --token "$KT;object=psn-box" --module "$P11"
contains "$W/err" "already on" "the message says the label is taken"
expect 7 "a wrong PIN makes nothing" -- \
  env MEDREG_PKCS11_PIN=0000 "$MEDREG" key new-seal again --token "$KT;object=other" --module "$P11"
contains "$W/err" "refused the PIN" "the message says the PIN was refused"
IKPORT=$((IPORT + 7)) RKPORT=$((IPORT + 8))
id_keys() { # FILE SIGNING-KEY BOX-KEY-LINE
  sed -e "s|^listen = .*|listen = 127.0.0.1:$IKPORT|" -e "s|^signing_key = .*|signing_key = $2\n$3|" \
      -e "s|^registry_seal_public = .*|registry_seal_public = tok-seal.pub|" \
      -e "s|^tls_key = .*|&\npkcs11_module = $P11\npin_file = pin|" identity.ini > "$1"
}
reg_keys() { # FILE IDENTITY-BOX-PUBLIC
  sed -e "s|^listen = .*|listen = 127.0.0.1:$RKPORT|" -e "s|^seal_key = .*|seal_key = $KT;object=registry-seal|" \
      -e "s|^identity_public = .*|identity_public = tok-sign.pub\nidentity_box_public = $2|" \
      -e "s|^tls_key = .*|&\npkcs11_module = $P11\npin_file = pin|" registry.ini > "$1"
}
id_keys bad.ini "$KT;object=psn-sign" ""
expect 3 "an Ed25519 signing key on a token without a box key stops the identity service" -- "$MEDREGD" --config bad.ini --check
contains "$W/err" "box_key is required" "the message names the missing setting"
id_keys bad.ini "$KT;object=psn-box" "box_key = $KT;object=psn-box"
expect 3 "an X25519 key named as the signing key is refused" -- "$MEDREGD" --config bad.ini --check
contains "$W/err" "signing_key: the key is not an Ed25519 key" "the message names the setting and the key type"
id_keys bad.ini "$KT;object=psn-sign" "box_key = $KT;object=psn-sign"
expect 3 "an Ed25519 key named as the box key is refused" -- "$MEDREGD" --config bad.ini --check
contains "$W/err" "box_key: the key is not an X25519 key" "the message says so"
id_keys bad.ini "$KT;object=no-such-key" "box_key = $KT;object=psn-box"
expect 3 "a missing signing key stops the identity service" -- "$MEDREGD" --config bad.ini --check
id_keys id-keys.ini "$KT;object=psn-sign" "box_key = $KT;object=psn-box"
expect 0 "medregd --check accepts the identity service's keys on the token" -- "$MEDREGD" --config id-keys.ini --check
reg_keys reg-keys.ini tok-box.pub
expect 0 "medregd --check accepts the registry's seal key on the token" -- "$MEDREGD" --config reg-keys.ini --check
start_services
if start_daemon id-keys.ini identity-keys "https://127.0.0.1:$IKPORT" && PIDS+=("$LAST_PID") &&
   start_daemon reg-keys.ini registry-keys "https://127.0.0.1:$RKPORT" && PIDS+=("$LAST_PID"); then
  ok "both services run with their PSN-token keys on the token"
  export MEDREG_IDENTITY="https://127.0.0.1:$IKPORT" MEDREG_REGISTRY="https://127.0.0.1:$RKPORT"
  as dr-a --json patient register --module hip --id family_name=Keys --id given_name=On --id birth_date=1966-06-06 > a.json
  as dr-b --json patient register --module hip --id family_name=Keys --id given_name=On --id birth_date=1966-06-06 > b.json
  json a.json .psn_token > a.tok; json b.json .psn_token > b.tok
  expect 0 "a PSN token signed on the token opens at the registry (K agreed on both tokens)" -- as dr-a record add \
    --module hip --internal-id "$(json a.json .internal_id)" --token-file a.tok \
    --data '{"side":"left","implant":"x","surgery_date":"2020-01-01","harris_hip_score":50}'
  as dr-a --json patient register --module hip --id family_name=Keys --id given_name=On --id birth_date=1966-06-06 > a.json
  json a.json .psn_token > a.tok
  expect 0 "enrollment with the session secret from the token's seal key" -- as dr-a consent enroll --module hip \
    --internal-id "$(json a.json .internal_id)" --token-file a.tok --patient-card pki/patient.key --physician-card pki/dr-a-card.key
  expect 0 "consent through the same keys" -- as dr-b consent request --module hip \
    --internal-id "$(json b.json .internal_id)" --token-file b.tok --patient-card pki/patient.key --physician-card pki/dr-b-card.key
  # a token made by the file-keyed identity service does not open here: another K, another signer
  stop_services
  start_services
  as dr-a --json patient register --module hip --id family_name=Keys --id given_name=Off --id birth_date=1966-06-07 > f.json
  export MEDREG_REGISTRY="https://127.0.0.1:$RKPORT"
  start_daemon reg-keys.ini registry-keys "$MEDREG_REGISTRY" && PIDS+=("$LAST_PID")
  json f.json .psn_token > f.tok
  expect 3 "a PSN token from an identity service with other keys is refused" -- as dr-a record add \
    --module hip --internal-id "$(json f.json .internal_id)" --token-file f.tok \
    --data '{"side":"left","implant":"x","surgery_date":"2020-01-01","harris_hip_score":50}'
  contains "$W/err" "PSN token is not valid" "as an invalid token"
else
  fail "the services did not start with their PSN-token keys on the token"
fi
# The ledger's checkpoint key and a witness's cosigning key on a token
stop_services
softhsm2-util --init-token --free --label ledger --pin 1234 --so-pin 5678 >/dev/null
LT='pkcs11:token=ledger'
expect 0 "medreg ledger key new --token makes the checkpoint key on the token" -- env MEDREG_PKCS11_PIN=1234 \
  "$MEDREG" ledger key new --name ledger.example/medreg --out tok-ledger --token "$LT;object=checkpoints" --module "$P11"
[ -s tok-ledger.pub ] && [ ! -e tok-ledger ] && ok "only the verifier key is written" || fail "ledger key new --token wrote a key file"
expect 0 "and a witness's cosigning key" -- env MEDREG_PKCS11_PIN=1234 "$MEDREG" ledger key new --witness \
  --name witness.example/tw --out tok-w --token "$LT;object=cosign" --module "$P11"
"$MEDREG" pki issue pki tw --service >/dev/null
WPORT=$((IPORT + 9))
cat > tw.ini <<EOC
[service]
role = witness
listen = 127.0.0.1:$WPORT
database = $(db_url tw)
connections = 16
tls_cert = pki/tw.crt
tls_key = pki/tw.key
client_ca = pki/ca.crt
pkcs11_module = $P11
pin_file = pin
[witness]
signing_key = $LT;object=cosign
log = $(cat tok-ledger.pub)
EOC
expect 3 "a cosigning key on a token without the witness's name is refused" -- "$MEDREGD" --config tw.ini --check
contains "$W/err" "\[witness\] name" "the message names the setting"
sed -i "s|^signing_key = .*|&\nname = witness.example/tw|" tw.ini
start_services
if start_daemon tw.ini tw "https://127.0.0.1:$WPORT" && PIDS+=("$LAST_PID") &&
   LEDGER_KEY="$LT;object=checkpoints" LEDGER_SERVICE_EXTRA="pkcs11_module = $P11
pin_file = pin" LEDGER_WITNESSES="witness = https://127.0.0.1:$WPORT $(cat tok-w.pub)" setup_ledger 200; then
  ok "the ledger and the witness run with their keys on the token"
  expect 0 "an entry is appended" -- "$MEDREG" --as pki/appender ledger append --data "signed on a token"
  for _ in $(seq 1 50); do
    "$MEDREG" --as pki/appender ledger verify --vkey @tok-ledger.pub --index 0 --witness @tok-w.pub --quorum 1 \
      >/dev/null 2>&1 && break
    sleep 0.2
  done
  expect 0 "its checkpoint verifies with the token's key, cosigned with the witness's token key" -- \
    "$MEDREG" --as pki/appender ledger verify --vkey @tok-ledger.pub --index 0 --witness @tok-w.pub --quorum 1
  "$MEDREG" ledger key new --name ledger.example/medreg --out other.skey >/dev/null
  expect 1 "and not with another key of the same name" -- \
    "$MEDREG" --as pki/appender ledger verify --vkey @other.skey.pub
else
  fail "the ledger or the witness did not start with its key on the token"
fi
finish
