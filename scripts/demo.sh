#!/usr/bin/env bash
# The medreg demonstration: a registry for hip prostheses, two physicians,
# one patient whose name each types differently, and a research extract.
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

echo "medreg demonstration: a hip-prosthesis registry, two physicians, one patient."
say "1. A development PKI: a CA, the two services, an administrator, two physicians and a researcher."
run "$MEDREG" pki init pki
for who in dr-a dr-b researcher; do "$MEDREG" pki issue pki "$who" >/dev/null; done
echo "    issued pki/dr-a.crt, pki/dr-b.crt and pki/researcher.crt"

say "2. The hip module: which identifiers make the pseudonym, how they are normalised, the record schema."
cp "$SRC/examples/hip.ini" hip.ini
run "$MEDREG" key new hip.key
echo "    (the module file, examples/hip.ini, is shown by 'medreg modules' once the services run)"

PORT=$((30000 + RANDOM % 20000))
for role in identity registry; do
  port=$PORT; [ $role = registry ] && port=$((PORT + 1))
  {
    echo "[service]"; echo "role = $role"; echo "listen = 127.0.0.1:$port"
    echo "database = sqlite:$role.db"; echo "tls_cert = pki/$role.crt"; echo "tls_key = pki/$role.key"
    echo "client_ca = pki/ca.crt"
    if [ $role = identity ]; then
      echo "[identity]"; echo "signing_key = pki/identity.sign.key"
      echo "registry_seal_public = pki/registry.seal.pub"; echo "data_key = pki/identity.data.key"
    else
      echo "[registry]"; echo "seal_key = pki/registry.seal.key"; echo "identity_public = pki/identity.sign.pub"
      echo "consent_key = pki/registry-consent.key"; echo "consent_cert = pki/registry-consent.crt"
    fi
    echo "[modules]"; echo "hip = hip.ini"
  } > $role.ini
done
export MEDREG_IDENTITY="https://127.0.0.1:$PORT" MEDREG_REGISTRY="https://127.0.0.1:$((PORT + 1))"

say "3. Two services, two databases, two sets of keys: the identity service knows who, the registry knows what."
run "$MEDREGD" --config identity.ini --add-admin pki/admin.crt --name "Registry operator"
run "$MEDREGD" --config registry.ini --add-admin pki/admin.crt --name "Registry operator"
for role in identity registry; do
  "$MEDREGD" --config $role.ini >> $role.log 2>&1 &
  PIDS+=($!)
done
for url in "$MEDREG_IDENTITY" "$MEDREG_REGISTRY"; do
  for _ in $(seq 1 100); do curl -s --cacert pki/ca.crt "$url/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
done
echo "    identity service on $MEDREG_IDENTITY, registry on $MEDREG_REGISTRY (mutual TLS only)"

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
  --data '{"side":"left","implant":"Corail KA","surgery_date":"2021-05-04","harris_hip_score":62,"weight":81.5}'
run "$MEDREG" --as pki/dr-a record add --module hip --internal-id "$IA" \
  --data '{"side":"left","implant":"Corail KA","surgery_date":"2021-05-04","harris_hip_score":91}'
run "$MEDREG" --as pki/dr-b record add --module hip --internal-id "$IB" --token-file b.token \
  --data '{"side":"right","implant":"Pinnacle","surgery_date":"2023-09-12","harris_hip_score":70,"depression_screen":"negative"}'

say "8. Each physician sees only their own records."
run "$MEDREG" --as pki/dr-a record list --module hip
run "$MEDREG" --as pki/dr-b record list --module hip
RA=$(as dr-a --json record list --module hip | jq -r '.records[0].record_id')
echo "    Dr B tries to read Dr A's record $RA:"
run "$MEDREG" --as pki/dr-b record show "$RA" || true
echo "    (seeing it needs the patient's consent with their card: a later step of medreg)"

say "9. The registry keeps no identities; the researcher gets a study extract with study-specific pseudonyms."
run "$MEDREG" --as pki/admin stats
run "$MEDREG" --as pki/admin study create --module hip --name hip-outcomes-2026
run "$MEDREG" --as pki/researcher export --module hip --study hip-outcomes-2026 -o extract.csv
sed 's/^/    /' extract.csv
echo "    The patient's three records share one pseudonym; no internal IDs, no physicians."
if grep -qi "müller\|muller\|jürgen" registry.db*; then echo "    UNEXPECTED: the registry database holds a name"; exit 1; fi
echo "    (checked: the registry database contains neither 'Müller' nor 'Jürgen')"

say "10. Everything that was read, written, exported or refused is in the audit trail."
"$MEDREG" --as pki/admin audit --on registry | tail -n 6 | sed 's/^/    /'

say "Done: the services are stopped and the temporary directory is removed."
