#!/usr/bin/env bash
# The medreg demonstration: a registry for hip prostheses, two physicians,
# one patient whose name each types differently, the patient's consent with
# their own card (SoftHSM2 tokens stand in for the smartcards), the ledger
# that holds every event and lets the patient check their own history, and a
# research extract.
# Usage: scripts/demo.sh BUILD-DIR
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
MEDREG="$BUILD/medreg"
MEDREGD="$BUILD/medregd"
SRC=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d "${TMPDIR:-/tmp}/medreg-demo.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT
cd "$W"

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
quote() { case $1 in *[\ \"\'{}\$]*) printf "'%s'" "$1" ;; *) printf '%s' "$1" ;; esac; }
run() {
  local line="" a
  for a in "$@"; do line+=" $(quote "$a")"; done
  printf '  $%s\n' "$line" | sed "s|$MEDREGD|medregd|; s|$MEDREG|medreg|"
  "$@" 2>&1 | sed 's/^/    /'
}
as() { local who=$1; shift; "$MEDREG" --as "pki/$who" "$@"; }

echo "medreg demonstration: a hip-prosthesis registry, two physicians, one patient and their card."
say "1. A development PKI: a CA, the two services, an administrator, two physicians and a researcher."
run "$MEDREG" pki init pki
for who in dr-a dr-b researcher; do "$MEDREG" pki issue pki "$who" >/dev/null; done
echo "    issued pki/dr-a.crt, pki/dr-b.crt and pki/researcher.crt"

say "2. The hip module: which identifiers make the pseudonym, how they are normalised, the record schema."
cp "$SRC/examples/hip.ini" hip.ini
run "$MEDREG" key new hip.key
echo "    (the module file, examples/hip.ini, is shown by 'medreg modules' once the services run)"

# below the ephemeral range (32768 and up), where outgoing connections take their ports
PORT=$((10000 + RANDOM % 20000))
"$MEDREG" pki issue pki ledger --service >/dev/null
"$MEDREG" ledger key new --name ledger.example/medreg --out ledger.skey >/dev/null
"$MEDREG" key new events.key >/dev/null
cat > ledger.ini <<EOC
[service]
role = ledger
listen = 127.0.0.1:$((PORT + 2))
database = sqlite:ledger.db
tls_cert = pki/ledger.crt
tls_key = pki/ledger.key
client_ca = pki/ca.crt
[ledger]
origin = ledger.example/medreg
signing_key = ledger.skey
EOC
export MEDREG_LEDGER="https://127.0.0.1:$((PORT + 2))"
for role in identity registry; do
  port=$PORT; [ $role = registry ] && port=$((PORT + 1))
  {
    echo "[service]"; echo "role = $role"; echo "listen = 127.0.0.1:$port"
    echo "database = sqlite:$role.db"; echo "tls_cert = pki/$role.crt"; echo "tls_key = pki/$role.key"
    echo "client_ca = pki/ca.crt"
    echo "ledger = $MEDREG_LEDGER"; echo "events_key = events.key"
    if [ $role = identity ]; then
      echo "[identity]"; echo "signing_key = pki/identity.sign.key"
      echo "registry_seal_public = pki/registry.seal.pub"; echo "data_key = pki/identity.data.key"
    else
      echo "[registry]"; echo "seal_key = pki/registry.seal.key"; echo "identity_public = pki/identity.sign.pub"
      echo "consent_key = pki/registry-consent.key"; echo "consent_cert = pki/registry-consent.crt"
      echo "alarm_idle_after = 2   ; seconds, so that the demonstration shows the alarm"
    fi
    echo "[modules]"; echo "hip = hip.ini"
  } > $role.ini
done
export MEDREG_IDENTITY="https://127.0.0.1:$PORT" MEDREG_REGISTRY="https://127.0.0.1:$((PORT + 1))"

say "3. Two services, two databases, two sets of keys: the identity service knows who, the registry knows what."
echo "    A third, the ledger, keeps every event of both in a signed Merkle log (docs/ledger.md)."
run "$MEDREGD" --config identity.ini --add-admin pki/admin.crt --name "Registry operator"
run "$MEDREGD" --config registry.ini --add-admin pki/admin.crt --name "Registry operator"
"$MEDREGD" --config ledger.ini --add-admin pki/admin.crt --name "Registry operator" >/dev/null
for role in identity registry ledger; do
  "$MEDREGD" --config $role.ini >> $role.log 2>&1 &
  PIDS+=($!)
done
for url in "$MEDREG_IDENTITY" "$MEDREG_REGISTRY" "$MEDREG_LEDGER"; do
  for _ in $(seq 1 100); do curl -s --cacert pki/ca.crt "$url/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
done
echo "    identity service on $MEDREG_IDENTITY, registry on $MEDREG_REGISTRY, ledger on $MEDREG_LEDGER"
echo "    (mutual TLS only); the two services may append to the ledger:"
for role in identity registry; do
  run "$MEDREG" --as pki/admin user add --on ledger --cert-file pki/$role.crt --role appender
done

say "4. The administrator registers the physicians (at both services) and a researcher (at the registry)."
for d in dr-a dr-b; do
  run "$MEDREG" --as pki/admin user add --on identity --cert-file pki/$d.crt --role physician --module hip
  run "$MEDREG" --as pki/admin user add --on registry --cert-file pki/$d.crt --role physician --module hip
done
run "$MEDREG" --as pki/admin user add --on registry --cert-file pki/researcher.crt --role researcher --module hip
run "$MEDREG" --as pki/admin user add --on identity --cert-file pki/admin.crt --role module_admin --module hip
run "$MEDREG" --as pki/admin modules --on identity

say "5. Dr A registers Jürgen Müller, born 7 March 1961."
run "$MEDREG" --as pki/dr-a patient register --module hip \
  --id family_name="Müller" --id given_name="Jürgen" --id birth_date=1961-03-07 --token-out a.token | tee a.out
IA=$(sed -n 's/.*internal ID: \([0-9A-Z-]*\).*/\1/p' a.out)
echo "    The PSN token is sealed to the registry and signed by the identity service:"
echo "    Dr A can forward it but can neither read nor forge it."

say "6. Dr B registers the same patient, typed differently: ' JÜRGEN  MÜLLER ', 07.03.1961."
run "$MEDREG" --as pki/dr-b patient register --module hip \
  --id family_name=" MÜLLER " --id given_name=" JÜRGEN " --id birth_date=07.03.1961 --token-out b.token | tee b.out
IB=$(sed -n 's/.*internal ID: \([0-9A-Z-]*\).*/\1/p' b.out)
echo "    The module administrator sees one patient (one PSN) with two physician relations:"
run "$MEDREG" --as pki/admin patient search --module hip --field family_name --value müller

say "7. Both file records at the registry; the first one carries the PSN token."
run "$MEDREG" --as pki/dr-a record add --module hip --internal-id "$IA" --token-file a.token \
  --data '{"side":"left","implant":"Corail KA","surgery_date":"2021-05-04","harris_hip_score":62,"weight":81.5,"depression_screen":"positive"}'
run "$MEDREG" --as pki/dr-a record add --module hip --internal-id "$IA" \
  --data '{"side":"left","implant":"Corail KA","surgery_date":"2021-05-04","harris_hip_score":91}'
run "$MEDREG" --as pki/dr-b record add --module hip --internal-id "$IB" --token-file b.token \
  --data '{"side":"right","implant":"Pinnacle","surgery_date":"2023-09-12","harris_hip_score":70,"depression_screen":"negative"}'

say "8. Each physician sees only their own records."
run "$MEDREG" --as pki/dr-a record list --module hip
run "$MEDREG" --as pki/dr-b record list --module hip
RA=$(as dr-a --json record list --module hip | jq -r '[.records[] | select(.data.depression_screen)][0].record_id')
echo "    Dr B tries to read Dr A's record $RA:"
run "$MEDREG" --as pki/dr-b record show "$RA" || true

say "9. Cards: SoftHSM2 tokens stand in for the patient's e-health card and the physicians' professional cards."
mkdir tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$W" > softhsm2.conf
export SOFTHSM2_CONF="$W/softhsm2.conf"
export MEDREG_CARD_PIN=1234 MEDREG_PATIENT_PIN=1234 MEDREG_PHYSICIAN_PIN=1234
echo "    (demonstration PINs come from the environment; medreg never takes a PIN on the command line)"
SOFTHSM=${MEDREG_SOFTHSM:-/usr/lib/softhsm/libsofthsm2.so}
card() { echo "pkcs11:token=$1?module-path=$SOFTHSM"; }
run "$MEDREG" card init --label patient-card --name juergen-mueller --pki pki --key-type rsa2048
run "$MEDREG" card init --label dr-a-card --name dr-a --pki pki --key-type p256 --cert-out dr-a-card.crt
run "$MEDREG" card init --label dr-b-card --name dr-b --pki pki --key-type p256 --cert-out dr-b-card.crt
"$MEDREG" card init --label forged-card --name juergen-mueller --pki pki --key-type rsa2048 >/dev/null
"$MEDREG" card init --label new-card --name juergen-mueller --pki pki --key-type p256 >/dev/null
echo "    (also a forged card whose certificate copies the patient's name, and the patient's next card, an EC one)"
run "$MEDREG" card show --card "$(card patient-card)"
echo "    The registry administrator registers the physicians' card certificates:"
run "$MEDREG" --as pki/admin card register --physician-cert pki/dr-a.crt --card-cert dr-a-card.crt
run "$MEDREG" --as pki/admin card register --physician-cert pki/dr-b.crt --card-cert dr-b-card.crt

say "10. At Dr A, the patient's card is enrolled: the registry keeps H(K) and K'' (only the card opens K''),"
echo "    signed by Dr A's card; it never sees the patient's certificate or public key."
run "$MEDREG" --as pki/dr-a consent enroll --module hip --internal-id "$IA" \
  --patient-card "$(card patient-card)" --physician-card "$(card dr-a-card)"
echo "    Without consent Dr B still cannot read Dr A's record:"
run "$MEDREG" --as pki/dr-b record show "$RA" || true

say "11. The patient, present at Dr B, consents with their card, withholding mental health."
run "$MEDREG" --as pki/dr-b consent request --module hip --internal-id "$IB" \
  --patient-card "$(card patient-card)" --physician-card "$(card dr-b-card)" --exclude mental-health --days 30
echo "    Dr B now reads Dr A's records of this patient, without the withheld category:"
run "$MEDREG" --as pki/dr-b record show "$RA"
run "$MEDREG" --as pki/dr-b record list --module hip --internal-id "$IB"

say "12. Someone presents a forged card that copies the patient's name: refused, and logged."
run "$MEDREG" --as pki/dr-b consent request --module hip --internal-id "$IB" \
  --patient-card "$(card forged-card)" --physician-card "$(card dr-b-card)" || true

say "13. The patient lost the card: Dr A checks their identity and enrolls the new card as a replacement."
run "$MEDREG" --as pki/dr-a consent replace --module hip --internal-id "$IA" \
  --patient-card "$(card new-card)" --physician-card "$(card dr-a-card)"
echo "    The old card no longer opens anything; the new one does:"
run "$MEDREG" --as pki/dr-b consent request --module hip --internal-id "$IB" \
  --patient-card "$(card patient-card)" --physician-card "$(card dr-b-card)" || true
run "$MEDREG" --as pki/dr-b consent request --module hip --internal-id "$IB" \
  --patient-card "$(card new-card)" --physician-card "$(card dr-b-card)" --exclude mental-health

say "14. The registry administrator's alarms: Dr B has access but has entered no data for the patient."
sleep 2
run "$MEDREG" --as pki/admin alarms
run "$MEDREG" --as pki/dr-b grants --module hip

say "15. The registry keeps no identities; the researcher gets a study extract with study-specific pseudonyms."
run "$MEDREG" --as pki/admin stats
run "$MEDREG" --as pki/admin study create --module hip --name hip-outcomes-2026
run "$MEDREG" --as pki/researcher export --module hip --study hip-outcomes-2026 -o extract.csv
sed 's/^/    /' extract.csv
echo "    The patient's three records share one pseudonym; no internal IDs, no physicians."
if grep -qi "müller\|muller\|jürgen" registry.db*; then echo "    UNEXPECTED: the registry database holds a name"; exit 1; fi
echo "    (checked: the registry database contains neither 'Müller' nor 'Jürgen')"

say "16. The patient, at Dr B with the new card, sees their own history: every event about them,"
echo "    each proven in a checkpoint signed by the ledger, its details opened with their key."
sleep 1.5
run "$MEDREG" --as pki/dr-b audit mine --module hip --internal-id "$IB" --patient-card "$(card new-card)" \
  --physician-card "$(card dr-b-card)" --vkey @ledger.skey.pub --scan
G=$(as dr-b --json grants --module hip | jq -r '[.grants[] | select(.state == "active")][0].id')
echo "    The patient shortens Dr B's access to 7 days, with the card:"
run "$MEDREG" --as pki/dr-b consent expire --module hip --internal-id "$IB" --patient-card "$(card new-card)" \
  --physician-card "$(card dr-b-card)" --grant "$G" --days 7

say "17. Everything that was read, written, exported or refused is in the ledger: the audit trail."
sleep 1.5
run "$MEDREG" --as pki/admin ledger verify --vkey @ledger.skey.pub
"$MEDREG" --as pki/admin ledger events --on registry --vkey @ledger.skey.pub | tail -n 8 | sed 's/^/    /'
echo "    The consent state, recomputed from the log alone, against the registry's tables:"
run "$MEDREG" --as pki/admin ledger audit-state --module hip --vkey @ledger.skey.pub
echo "    The grant as FHIR R4 (Consent, and a Provenance with Dr B's card signature over the terms):"
as admin grants --module hip --fhir | jq -c '[.entry[].resource | select(.resourceType == "Consent" and .status == "active")][0]
  | {resourceType, status, period: .provision.period, deny: .provision.provision}' \
  | sed 's/^/    /'

say "18. Dr B leaves the practice: the administrator takes her roles away at both services, at once."
run "$MEDREG" --as pki/admin user remove --on registry --cert-file pki/dr-b.crt
run "$MEDREG" --as pki/admin user remove --on identity --cert-file pki/dr-b.crt
echo "    The patient's grant opens nothing for her any more:"
run "$MEDREG" --as pki/dr-b record show "$RA" || true

say "Done: the services are stopped and the temporary directory is removed."
