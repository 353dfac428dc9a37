# Shared set-up for the integration tests: a PKI, two modules, the identity
# service and the registry on loopback, on SQLite or PostgreSQL
# (MEDREG_TEST_DB), with an administrator, two physicians, a module
# administrator and a researcher registered. Everything is torn down on exit.
set -euo pipefail

BIN=${MEDREG_BIN:?MEDREG_BIN must point at the build directory}
SRC=${MEDREG_SRC:?MEDREG_SRC must point at the source directory}
ENGINE=${MEDREG_TEST_DB:-sqlite}
# every SQLite statement the daemons prepare must find its rows by a key,
# and be a literal (src/store/sqlite.c, plan_scans, get_stmt): one that is
# not fails its request
export MEDREG_SQLITE_CHECKS=${MEDREG_SQLITE_CHECKS:-1}
MEDREG="$BIN/medreg"
MEDREGD="$BIN/medregd"
W=$(mktemp -d "${TMPDIR:-/tmp}/medreg-it.XXXXXX")
PIDS=()
PG_DBS=()
PG_PORT=""
PORT_LOCK=""
FAILS=0
CHECKS=0

PIDS_FAKE=()
cleanup() {
  local rc=$?
  for p in "${PIDS_FAKE[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for d in "${PG_DBS[@]}"; do dropdb -p "$PG_PORT" "$d" >/dev/null 2>&1 || true; done
  if [ $rc -ne 0 ] || [ $FAILS -ne 0 ]; then
    echo "--- daemon logs ($W) ---"
    tail -n 30 "$W"/*.log 2>/dev/null || true
  fi
  [ -n "${KEEP:-}" ] || rm -rf "$W"
  [ -z "$PORT_LOCK" ] || rmdir "$PORT_LOCK" 2>/dev/null || true
}
trap cleanup EXIT

ok() { CHECKS=$((CHECKS + 1)); echo "ok   $*"; }
fail() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL $*"; }
# expect CODE DESCRIPTION -- COMMAND...: run COMMAND, compare its exit status
expect() {
  local want=$1 what=$2
  shift 3
  local got=0
  "$@" >"$W/out" 2>"$W/err" || got=$?
  if [ "$got" = "$want" ]; then ok "$what"; else
    fail "$what (exit $got, wanted $want)"; sed 's/^/     /' "$W/out" "$W/err" | head -n 10
  fi
}
# contains FILE TEXT DESCRIPTION / lacks FILE TEXT DESCRIPTION
# on_tty CMD...: run CMD on a pseudo-terminal (stdout and stderr both), what
# it printed in $W/tty; returns CMD's exit status
on_tty() {
  python3 - "$@" >"$W/tty" <<'PY'
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b""
while True:
    try:
        d = os.read(fd, 65536)
    except OSError:
        break
    if not d:
        break
    out += d
_, st = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(st))
PY
}
contains() { if grep -q -- "$2" "$1"; then ok "$3"; else fail "$3 ('$2' missing)"; fi; }
. "$(dirname "${BASH_SOURCE[0]}")/leaks.sh"
lacks() { if grep -qi -- "$2" "$1"; then fail "$3 ('$2' present)"; else ok "$3"; fi; }
KILLED=()
# Stop the daemons gracefully: each must exit 0, and no sanitizer may have
# reported anything (the daemons run under ASan/UBSan in the sanitizer build).
stop_services() {
  local p st
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    st=0; wait "$p" 2>/dev/null || st=$?
    case " ${KILLED[*]} " in *" $p "*) continue ;; esac
    [ "$st" = 0 ] && ok "daemon $p stopped cleanly" || fail "daemon $p exited with status $st"
  done
  PIDS=()
  if grep -lE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$W"/*.log >/dev/null 2>&1; then
    fail "a sanitizer reported an error in a daemon"
    grep -hE -A20 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$W"/*.log | head -n 60
  else
    ok "no sanitizer report in the daemon logs"
  fi
}
finish() {
  stop_services
  echo "$((CHECKS - FAILS)) passed, $FAILS failed"
  [ $FAILS -eq 0 ]
}

db_url() { # NAME -> database URL for this engine
  if [ "$ENGINE" = postgres ]; then
    local db="medreg_it_$$_$1_$RANDOM"
    createdb -p "$PG_PORT" "$db"
    PG_DBS+=("$db")
    echo "postgresql:///$db?host=/var/run/postgresql&port=$PG_PORT"
  else
    echo "sqlite:$W/$1.db"
  fi
}

if [ "$ENGINE" = postgres ]; then
  PG_PORT=$(pg_lsclusters -h 2>/dev/null | awk '$4=="online"{print $3; exit}')
  if [ -z "$PG_PORT" ]; then
    if [ "${MEDREG_REQUIRE_POSTGRES:-0}" = 1 ]; then echo "PostgreSQL is not running" >&2; exit 1; fi
    echo "PostgreSQL is not running: skipped"; exit 77
  fi
fi

cd "$W"
"$MEDREG" pki init pki >/dev/null
for who in dr-a dr-b dr-x modadmin researcher monitor; do "$MEDREG" pki issue pki "$who" >/dev/null; done
cp "$SRC/examples/hip.ini" hip.ini
sed -e 's/^name = hip/name = knee/' -e 's/^key_file = hip.key/key_file = knee.key/' hip.ini > knee.ini
"$MEDREG" key new hip.key >/dev/null
"$MEDREG" key new knee.key >/dev/null

IDENTITY_DB=$(db_url identity)
REGISTRY_DB=$(db_url registry)

write_configs() { # IDENTITY_PORT REGISTRY_PORT
  cat > identity.ini <<EOC
[service]
role = identity
listen = 127.0.0.1:$1
database = $IDENTITY_DB
connections = ${MEDREG_CONNECTIONS:-64}
tls_cert = pki/identity.crt
tls_key = pki/identity.key
client_ca = pki/ca.crt
[identity]
signing_key = pki/identity.sign.key
registry_seal_public = pki/registry.seal.pub
data_key = pki/identity.data.key
token_ttl = 600
[modules]
hip = hip.ini
knee = knee.ini
EOC
  cat > registry.ini <<EOC
[service]
role = registry
listen = 127.0.0.1:$2
database = $REGISTRY_DB
connections = ${MEDREG_CONNECTIONS:-64}
tls_cert = pki/registry.crt
tls_key = pki/registry.key
client_ca = pki/ca.crt
[registry]
seal_key = pki/registry.seal.key
identity_public = pki/identity.sign.pub
export_page = ${MEDREG_EXPORT_PAGE:-2}
consent_key = pki/registry-consent.key
consent_cert = pki/registry-consent.crt
consent_fail_max = ${MEDREG_CONSENT_FAIL_MAX:-3}
alarm_idle_after = ${MEDREG_ALARM_IDLE:-2592000}
alarm_replacements_max = ${MEDREG_ALARM_REPLACEMENTS:-3}
[modules]
hip = hip.ini
knee = knee.ini
EOC
}

healthy() { # URL
  curl -s --max-time 1 --cacert pki/ca.crt "$1/healthz" 2>/dev/null | grep -q '"ok"'
}

start_daemon() { # CONFIG LOGNAME URL -> sets LAST_PID; 0 when healthy
  ${MEDREG_DAEMON_WRAPPER:-} "$MEDREGD" --config "$1" >>"$W/$2.log" 2>&1 &
  LAST_PID=$!
  for _ in $(seq 1 100); do
    if healthy "$3"; then return 0; fi
    kill -0 "$LAST_PID" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# reserve_ports: a block of ten ports, IPORT .. IPORT + 9, for this test's
# daemons (the services take the first two, the others what each test says).
# Below the kernel's ephemeral range, which every outgoing connection draws its
# local port from, so that no client of this or another test can hold one; free
# when checked; and kept from the tests running beside this one by a lock
# folder, made atomically by mkdir and removed on exit.
ports_free() { # FIRST COUNT
  python3 -c 'import socket, sys
f, n = int(sys.argv[1]), int(sys.argv[2])
for p in range(f, f + n):
    s = socket.socket()
    try: s.bind(("127.0.0.1", p))
    except OSError: sys.exit(1)
    finally: s.close()' "$1" "$2"
}
release_ports() { if [ -n "$PORT_LOCK" ]; then rmdir "$PORT_LOCK" 2>/dev/null || true; PORT_LOCK=""; fi; }
reserve_ports() {
  local lo hi slots lock
  release_ports
  read -r lo hi < /proc/sys/net/ipv4/ip_local_port_range
  slots=$(( (lo - 10000) / 10 ))
  [ "$slots" -gt 0 ] || slots=$(( (65535 - hi - 10) / 10 ))
  [ "$slots" -gt 0 ] || { echo "no ports outside the ephemeral range $lo-$hi" >&2; return 1; }
  for _ in $(seq 1 100); do
    if [ "$lo" -gt 10010 ]; then IPORT=$((10000 + (RANDOM % slots) * 10)); else IPORT=$((hi + 1 + (RANDOM % slots) * 10)); fi
    lock="${TMPDIR:-/tmp}/medreg-ports.$IPORT"
    mkdir "$lock" 2>/dev/null || continue
    if ports_free "$IPORT" 10; then PORT_LOCK=$lock; return 0; fi
    rmdir "$lock"
  done
  echo "no free block of ten ports" >&2
  return 1
}

start_services() {
  local tries
  for tries in 1 2 3 4 5; do
    reserve_ports; RPORT=$((IPORT + 1))
    write_configs "$IPORT" "$RPORT"
    export MEDREG_IDENTITY="https://127.0.0.1:$IPORT" MEDREG_REGISTRY="https://127.0.0.1:$RPORT"
    if start_daemon identity.ini identity "$MEDREG_IDENTITY"; then
      IDENTITY_PID=$LAST_PID; PIDS+=("$LAST_PID")
      if start_daemon registry.ini registry "$MEDREG_REGISTRY"; then
        REGISTRY_PID=$LAST_PID; PIDS+=("$LAST_PID")
        return 0
      fi
      kill "$IDENTITY_PID"; wait "$IDENTITY_PID" 2>/dev/null || true
    fi
  done
  echo "could not start the services" >&2
  return 1
}

restart_registry() {
  start_daemon registry.ini registry "$MEDREG_REGISTRY"
  REGISTRY_PID=$LAST_PID; PIDS+=("$LAST_PID")
}

restart_identity() {
  start_daemon identity.ini identity "$MEDREG_IDENTITY"
  IDENTITY_PID=$LAST_PID; PIDS+=("$LAST_PID")
}

# The first administrator is bootstrapped on the server host, before start.
write_configs 1 2
"$MEDREGD" --config identity.ini --add-admin pki/admin.crt --name admin >/dev/null
"$MEDREGD" --config registry.ini --add-admin pki/admin.crt --name admin >/dev/null
start_services

as() { local who=$1; shift; "$MEDREG" --as "pki/$who" "$@"; }
for d in dr-a dr-b; do
  for m in hip knee; do
    as admin user add --on identity --cert-file "pki/$d.crt" --role physician --module "$m" >/dev/null
    as admin user add --on registry --cert-file "pki/$d.crt" --role physician --module "$m" >/dev/null
  done
done
as admin user add --on identity --cert-file pki/modadmin.crt --role module_admin --module hip >/dev/null
as admin user add --on registry --cert-file pki/researcher.crt --role researcher --module hip >/dev/null
as admin user add --on registry --cert-file pki/monitor.crt --role monitor >/dev/null

# json FILE EXPR: read one value with jq
json() { jq -r "$2" "$1"; }

# setup_witness NAME PORT: a witness following the ledger (its key in
# NAME.wkey, the verifier key in NAME.wkey.pub; WITNESS_EXTRA: more [witness]
# lines), started; sets WITNESS_PID.
setup_witness() {
  "$MEDREG" pki issue pki "$1" --service >/dev/null
  "$MEDREG" ledger key new --witness --name "witness.example/$1" --out "$1.wkey" >/dev/null
  cat > "$1.ini" <<EOC
[service]
role = witness
listen = 127.0.0.1:$2
database = $(db_url "$1")
connections = 16
tls_cert = pki/$1.crt
tls_key = pki/$1.key
client_ca = pki/ca.crt
[witness]
signing_key = $1.wkey
log = $(cat ledger.skey.pub)
${WITNESS_EXTRA:-}
EOC
  start_daemon "$1.ini" "$1" "https://127.0.0.1:$2" && WITNESS_PID=$LAST_PID && PIDS+=("$LAST_PID")
}

# setup_ledger INTERVAL_MS: a ledger key, configuration and database, the
# ledger started (MEDREG_LEDGER, LEDGER_PID, LEDGER_DB), and the holder of
# pki/appender.crt registered to append. LEDGER_KEY: another signing_key
# (a token's URI); LEDGER_SERVICE_EXTRA: more [service] lines.
setup_ledger() {
  "$MEDREG" pki issue pki ledger --service >/dev/null
  "$MEDREG" pki issue pki appender >/dev/null
  [ -n "${LEDGER_KEY:-}" ] || [ -e ledger.skey ] ||
    "$MEDREG" ledger key new --name ledger.example/medreg --out ledger.skey >/dev/null
  LEDGER_DB=$(db_url ledger)
  cat > ledger.ini <<EOC
[service]
role = ledger
listen = 127.0.0.1:$((IPORT + 2))
database = $LEDGER_DB
connections = ${MEDREG_CONNECTIONS:-64}
max_body = 2097152
tls_cert = pki/ledger.crt
tls_key = pki/ledger.key
client_ca = pki/ca.crt
${LEDGER_SERVICE_EXTRA:-}
[ledger]
origin = ledger.example/medreg
signing_key = ${LEDGER_KEY:-ledger.skey}
interval_ms = $1
${LEDGER_WITNESSES:-}
EOC
  export MEDREG_LEDGER="https://127.0.0.1:$((IPORT + 2))"
  "$MEDREGD" --config ledger.ini --add-admin pki/admin.crt --name admin >/dev/null
  start_ledger || return 1
  as admin user add --on ledger --cert-file pki/appender.crt --role appender >/dev/null
}
start_ledger() { start_daemon ledger.ini ledger "$MEDREG_LEDGER" && LEDGER_PID=$LAST_PID && PIDS+=("$LAST_PID"); }

# ship_events: after setup_ledger, both services ship their events to the
# ledger (the events key in events.key): registered as appenders, restarted.
ship_events() {
  for svc in identity registry; do
    as admin user add --on ledger --cert-file "pki/$svc.crt" --role appender >/dev/null
  done
  [ -e events.key ] || "$MEDREG" key new events.key >/dev/null
  kill "$IDENTITY_PID" "$REGISTRY_PID"; wait "$IDENTITY_PID" "$REGISTRY_PID" 2>/dev/null || true
  for f in identity.ini registry.ini; do
    grep -q '^ledger = ' $f || sed -i "s#^client_ca = pki/ca.crt#client_ca = pki/ca.crt\nledger = $MEDREG_LEDGER\nevents_key = events.key#" $f
  done
  start_daemon identity.ini identity "$MEDREG_IDENTITY" && IDENTITY_PID=$LAST_PID && PIDS+=("$LAST_PID") &&
    start_daemon registry.ini registry "$MEDREG_REGISTRY" && REGISTRY_PID=$LAST_PID && PIDS+=("$LAST_PID")
}

# issue_dated DIR/NAME FROM TO: an EC P-256 key DIR/NAME.key and a certificate
# DIR/NAME.crt (CN=NAME) from the test CA in pki/, valid from FROM to TO
# (openssl's YYYYMMDDHHMMSSZ): what `medreg pki issue` never makes, for
# tests of certificates outside their validity.
issue_dated() {
  local out=$1 from=$2 to=$3 name; name=$(basename "$1")
  if [ ! -f dated-ca.cnf ]; then
    printf '%s\n' '[ca]' 'default_ca = d' '[d]' 'database = dated-ca.idx' 'new_certs_dir = .' \
      'serial = dated-ca.serial' 'default_md = sha256' 'policy = p' 'unique_subject = no' '[p]' \
      'commonName = supplied' > dated-ca.cnf
    : > dated-ca.idx; echo 01 > dated-ca.serial
  fi
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$out.key" -subj "/CN=$name" \
    -out "$out.csr" >/dev/null 2>&1 &&
  openssl ca -batch -config dated-ca.cnf -cert pki/ca.crt -keyfile pki/ca.key -in "$out.csr" -out "$out.crt" \
    -startdate "$from" -enddate "$to" -notext >/dev/null 2>&1 && rm -f "$out.csr"
}

# fake_server PORT NAME PROBE SCRIPT [ARGS...]: the python3 SCRIPT, which defines the
# request handler class H (its ARGS in sys.argv[4:]), served over TLS with pki/NAME's
# certificate on PORT until killed; returns once PROBE (a path) answers. Sets FAKE_PID.
fake_server() {
  local port=$1 name=$2 probe=$3 script=$4
  shift 4
  python3 -c '
import http.server, ssl, sys
exec(open(sys.argv[1]).read())
srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain("pki/%s.crt" % sys.argv[3], "pki/%s.key" % sys.argv[3])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()' "$script" "$port" "$name" "$@" &
  FAKE_PID=$!
  PIDS_FAKE+=("$FAKE_PID")
  for _ in $(seq 1 100); do
    curl -s --max-time 1 --cacert pki/ca.crt "https://127.0.0.1:$port$probe" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  return 1
}

# fake_ledger PORT NOTE [BUNDLE]: a dishonest ledger over TLS (with the
# ledger's certificate) that serves NOTE as /checkpoint and BUNDLE for any
# other path, until killed; returns once it answers. Sets FAKE_PID.
fake_ledger() {
  cat > fake-ledger.py <<'EOP'
note = open(sys.argv[4], "rb").read()
bundle = open(sys.argv[5], "rb").read() if sys.argv[5] else b""
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = note if self.path == "/checkpoint" else bundle
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
EOP
  fake_server "$1" ledger /checkpoint fake-ledger.py "$2" "${3:-}"
}
stop_fake() { kill "$FAKE_PID" 2>/dev/null || true; wait "$FAKE_PID" 2>/dev/null || true; }
