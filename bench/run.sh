#!/usr/bin/env bash
# medreg benchmarks, measured in one run on this machine, printed as one
# table beside their baselines. Usage: bench/run.sh BUILD-DIR
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
SECS=${BENCH_SECONDS:-5}
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT

# A process's CPU seconds so far (user + system), from /proc.
cpu_s() { awk -v t="$(getconf CLK_TCK)" '{print ($14 + $15) / t}' "/proc/$1/stat"; }

psn=$("$BUILD/bench/bench_psn")
merkle=$("$BUILD/bench/bench_merkle")
fsync=$("$BUILD/bench/fsync_rate" "$BUILD/fsync.tmp" 1)

for engine in sqlite postgres; do
  (
    export MEDREG_BIN=$BUILD MEDREG_SRC=$SRC MEDREG_TEST_DB=$engine MEDREG_CONNECTIONS=64
    . "$SRC/tests/integration/lib.sh" >/dev/null
    LG=("$BUILD/bench/loadgen" --cert pki/dr-a.crt --key pki/dr-a.key --cacert pki/ca.crt --seconds "$SECS")
    as dr-a --json patient register --module hip --id family_name=Bench --id given_name=Read --id birth_date=1970-01-01 > p.json
    as dr-a --json record add --module hip --internal-id "$(json p.json .internal_id)" --token "$(json p.json .psn_token)" \
      --data '{"side":"left","implant":"x","surgery_date":"2020-01-01","harris_hip_score":50}' > r.json
    RID=$(json r.json .record_id)
    # the 32-client runs, which the targets are about, run REPEAT times (default 3): the median run's
    # line, then every run's rate (the same binary varies by a sixth between runs on a shared VM).
    # Each run's line ends with the service's CPU microseconds per item, from /proc: the load
    # generator shares the cores, so the rate alone does not say what the service costs.
    one_run() { # PID LOADGEN-ARGS...
      local pid=$1 c0 out; shift
      c0=$(cpu_s "$pid"); out=$("${LG[@]}" "$@")
      echo "$out $(awk -v a="$c0" -v b="$(cpu_s "$pid")" -v r="${out%% *}" -v s="$SECS" \
        'BEGIN{printf "%.0f", (r > 0 ? (b - a) * 1e6 / (r * s) : 0)}')"
    }
    median_of() { # N PID LOADGEN-ARGS...
      local n=$1 runs=(); shift
      for _ in $(seq "$n"); do runs+=("$(one_run "$@")"); done
      printf '%s\n' "${runs[@]}" | sort -n -k1,1 | sed -n "$(( (n + 1) / 2 ))p" | tr -d '\n'
      [ "$n" -gt 1 ] && printf '|%s' "$(printf '%s\n' "${runs[@]}" | awk '{print $1}' | sort -n | paste -sd' ')"
      echo
    }
    for c in 1 32; do
      n=1; [ $c = 1 ] || n=${BENCH_REPEAT:-3}
      echo "reg|registrations/s, $engine, $c clients|$(median_of $n "$IDENTITY_PID" --url "$MEDREG_IDENTITY" --mode register --threads $c)"
      echo "batch|registrations/s, $engine, $c clients, batches of 100|$(median_of $n "$IDENTITY_PID" --url "$MEDREG_IDENTITY" --mode batch --threads $c)"
      echo "read|record reads/s, $engine, $c clients|$(median_of $n "$REGISTRY_PID" --url "$MEDREG_REGISTRY" --mode read --record "$RID" --threads $c)"
    done
    if [ "$engine" = sqlite ]; then
      # the same reads measured by a packaged tool (ApacheBench: one thread, HTTP/1.0 keep-alive,
      # the client certificate from one PEM file), as a check on bench/loadgen's count
      cat pki/dr-a.crt pki/dr-a.key > dr-a-both.pem
      ab -q -k -c 32 -t "$SECS" -n 100000000 -E dr-a-both.pem "$MEDREG_REGISTRY/v1/records/$RID" > ab.txt 2>&1 || true
      rm -f dr-a-both.pem
      echo "abread|record reads/s, $engine, 32 clients, by ab (apache2-utils)|$(awk '
        /^Requests per second:/ {r = $4} /^Failed requests:/ {f += $3} /^Non-2xx responses:/ {f += $3}
        /^  50%/ {p50 = $2} /^  99%/ {p99 = $2} END {printf "%.0f %s %s %d", r, p50, p99, f}' ab.txt)"
    fi
    if [ "$engine" = sqlite ]; then
      # the research export: NEXP records (synthetic rows written into the database, five a
      # subject) streamed as CSV to a file; baseline: the sqlite3 shell reading the same rows in
      # the same order from the same database as CSV
      NEXP=${BENCH_EXPORT_RECORDS:-200000}
      DB=${REGISTRY_DB#sqlite:}
      sqlite3 "$DB" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $NEXP / 5)
          INSERT INTO subjects SELECT printf('b%031x', i), 'hip', 1, randomblob(32), 0 FROM n;
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $NEXP)
          INSERT INTO records SELECT printf('b%031x', i), 1, 'hip', printf('b%031x', 1 + i % ($NEXP / 5)),
            internal_id, physician, created_at, data FROM records, n WHERE record_id = '$RID';"
      as admin study create --module hip --name bench >/dev/null
      /usr/bin/time -f "%e %M" -o e.txt "$MEDREG" --as pki/researcher export --module hip --study bench -o bench.csv 2>/dev/null
      read -r esecs ekib < e.txt
      erows=$(($(wc -l < bench.csv) - 1))
      /usr/bin/time -f "%e" -o s.txt sqlite3 -csv "$DB" \
        "SELECT subject, record_id, version, created_at, data FROM records WHERE module = 'hip' ORDER BY subject, record_id" > raw.csv
      echo "export|research export rows/s, $engine, $erows records to a file|$(awk -v r="$erows" -v s="$esecs" 'BEGIN{printf "%.0f", r / (s > 0 ? s : 0.01)}') $ekib $(stat -c %s bench.csv)|$(awk -v r="$erows" -v s="$(cat s.txt)" 'BEGIN{printf "%.0f", r / (s > 0 ? s : 0.01)}')"
      rm -f bench.csv raw.csv
    fi
    echo "rss|daemon peak RSS MiB, $engine (identity / registry)|$(awk '/VmHWM/{printf "%.1f", $2/1024}' /proc/$IDENTITY_PID/status) / $(awk '/VmHWM/{printf "%.1f", $2/1024}' /proc/$REGISTRY_PID/status)"
    PIDS=() ; kill "$IDENTITY_PID" "$REGISTRY_PID"; wait "$IDENTITY_PID" "$REGISTRY_PID" 2>/dev/null || true
  ) >> "$OUT"
done

# The consent protocol: the registry's side, RSA and EC consent keys, cards in software.
SPEED_RSA=$(openssl speed -seconds 2 -multi "$(nproc)" rsa2048 2>/dev/null | awk '/^rsa 2048 bits/{print $6}')
SPEED_ECDH=$(openssl speed -seconds 2 -multi "$(nproc)" ecdhp256 2>/dev/null | awk '/ecdh \(nistp256\)/{print $NF}')
(
  export MEDREG_BIN=$BUILD MEDREG_SRC=$SRC MEDREG_TEST_DB=sqlite MEDREG_CONNECTIONS=32
  . "$SRC/tests/integration/lib.sh" >/dev/null
  "$MEDREG" pki issue pki bench-patient --key-type p256 >/dev/null
  "$MEDREG" pki issue pki bench-dr-card --key-type p256 >/dev/null
  "$MEDREG" pki issue pki registry-consent-rsa --key-type rsa2048 >/dev/null
  as admin card register --physician-cert pki/dr-a.crt --card-cert pki/bench-dr-card.crt >/dev/null
  CL=("$BUILD/bench/consent_load" --identity "$MEDREG_IDENTITY" --registry "$MEDREG_REGISTRY" --cert pki/dr-a.crt
      --key pki/dr-a.key --cacert pki/ca.crt --patient-card pki/bench-patient.key
      --physician-card pki/bench-dr-card.key --seconds "$SECS" --threads 32)
  # consent_load's line, then "|" and the registry's CPU milliseconds per operation in the timed run
  consent_run() {
    local c0 c1 out
    c0=$(cpu_s "$REGISTRY_PID"); out=$("${CL[@]}" "$@"); c1=$(cpu_s "$REGISTRY_PID")
    echo "$out|$(awk -v a="$c0" -v b="$c1" -v r="${out%% *}" -v s="$SECS" 'BEGIN{printf "%.2f", (r > 0 ? (b - a) * 1000 / (r * s) : 0)}')"
  }
  echo "health|HTTP ceiling: GET /healthz at the registry, 32 clients|$("$BUILD/bench/loadgen" --url "$MEDREG_REGISTRY" \
    --cert pki/dr-a.crt --key pki/dr-a.key --cacert pki/ca.crt --seconds "$SECS" --mode health --threads 32)"
  for kt in ec rsa; do
    if [ $kt = rsa ]; then
      kill "$REGISTRY_PID"; wait "$REGISTRY_PID" 2>/dev/null || true
      sed -i 's|^consent_key = .*|consent_key = pki/registry-consent-rsa.key|; s|^consent_cert = .*|consent_cert = pki/registry-consent-rsa.crt|' registry.ini
      restart_registry
      bound=$SPEED_RSA; what="RSA-2048 decryptions"
    else
      bound=$SPEED_ECDH; what="P-256 ECDH"
    fi
    r=$(consent_run --mode enroll --prepare 1000)
    echo "cenroll|enrollments/s, $kt consent key, 32 clients|${r%|*}|$bound|$what|${r##*|}"
    r=$(consent_run --mode reid)
    echo "creid|re-identifications/s, $kt consent key, 32 clients|${r%|*}|$(awk "BEGIN{print $bound / 2}")|$what, 2 per request|${r##*|}"
    if [ $kt = ec ]; then
      # again with 100,000 more patients enrolled (written straight into the database): a session
      # finds its patient's fingerprints by the PSN, whatever the size of the registry
      sqlite3 -cmd ".timeout 20000" "${REGISTRY_DB#sqlite:}" \
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
         INSERT INTO subjects SELECT printf('bulk%028d', i), 'hip', 1, randomblob(32), 0 FROM n;
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
         INSERT INTO fingerprints SELECT printf('fbulk%027d', i), 'hip', printf('bulk%028d', i), randomblob(32),
           randomblob(150), 'x', 'x', 1, randomblob(64), randomblob(32), 'x', 1, 0, 0, NULL FROM n;"
      r=$(consent_run --mode reid)
      echo "creid|re-identifications/s, ec, 32 clients, 100,000 more enrolled|${r%|*}|$(awk "BEGIN{print $bound / 2}")|$what, 2 per request|${r##*|}"
    fi
  done
  kill "$IDENTITY_PID" "$REGISTRY_PID"; wait "$IDENTITY_PID" "$REGISTRY_PID" 2>/dev/null || true; PIDS=()
) >> "$OUT"

# Network-wide PSNs: VOPRF evaluations in the identity service, through HTTPS,
# against libsodium's scalar multiplications and medreg's in-process batch
# evaluation on every core of this machine, measured before and after the
# service: this machine's speed drifts by a third within minutes, and a
# bound is the best rate seen. Each element costs the service one
# constant-time multiplication (the evaluation) and its share of the proof's
# multi-scalar sum, about a fifth of one more (src/crypto/ristretto_msm.h)
read -r OPRF_BOUND OPRF_INPROC <<<"$("$BUILD/bench/bench_oprf" 2)"
(
  export MEDREG_BIN=$BUILD MEDREG_SRC=$SRC MEDREG_TEST_DB=sqlite MEDREG_CONNECTIONS=16
  . "$SRC/tests/integration/lib.sh" >/dev/null
  "$MEDREG" pki issue pki engineer >/dev/null
  as admin user add --on identity --cert-file pki/engineer.crt --role pseudonymizer --module hip >/dev/null
  "$BUILD/bench/bench_oprf" body 1 1024 > body.json
  # 2 clients, and 4: each answer waits for its audit event's commit and crosses the network while
  # its compute thread has nothing to do, unless another client's batch is waiting
  oprf_rate() {
    "$BUILD/bench/loadgen" --url "$MEDREG_IDENTITY" --cert pki/engineer.crt --key pki/engineer.key \
      --cacert pki/ca.crt --seconds "$SECS" --mode post --path /v1/oprf/hip/evaluate --body body.json --batch 1024 \
      --threads "$1"
  }
  r=$(oprf_rate 2)
  r4=$(oprf_rate 4)
  # the network-wide CSV tool as a data engineer runs it (blind, evaluate, check, unblind, write),
  # client and service on these same cores, against the same table with the local key
  # the CSV benchmark's table (bench/csv), no patient twice, under the hip module the service holds
  python3 "$SRC/bench/csv/generate.py" 20000 distinct > net-in.csv
  mkdir -p data && cp "$SRC/data/"* data/
  sed -e 's#^module = .*#module = hip.ini#' -e 's#^zip_restricted = .*#zip_restricted = data/hipaa-restricted-zip3.csv#' \
    -e 's#^insurance = .*#insurance = health_plan#' "$SRC/bench/csv/bench-table.ini" > visits.ini
  as engineer oprf key --module hip --out hip.pin >/dev/null
  t0=$(date +%s.%N)
  as engineer pseudonymize csv --config visits.ini --oprf-key hip.pin --in net-in.csv --out net-out.csv >/dev/null
  t1=$(date +%s.%N)
  "$MEDREG" pseudonymize csv --config visits.ini --key hip.key --in net-in.csv --out loc-out.csv >/dev/null
  t2=$(date +%s.%N)
  # the offline exchange (prepare here, evaluate "elsewhere", finish here) at 20,000 and 200,000
  # patients (BENCH_OFFLINE_PATIENTS): each step's seconds and peak RSS. The table grows with the patients (docs/deid.md:
  # about 80 bytes each at its peak); the files are read a piece at a time and should not.
  offline() { # IN.csv: "seconds KiB" of prepare, evaluate, finish
    local t=(/usr/bin/time -f "%e %M" -o step.txt) out=""
    rm -f req.json resp.json st.json
    "${t[@]}" "$MEDREG" pseudonymize csv --config visits.ini --oprf-key hip.pin --in "$1" --out off.csv \
      --prepare req.json --state st.json >/dev/null; out="$out $(cat step.txt)"
    "${t[@]}" "$MEDREG" --as pki/engineer oprf evaluate --in req.json --out resp.json >/dev/null
    out="$out $(cat step.txt)"
    "${t[@]}" "$MEDREG" pseudonymize csv --config visits.ini --oprf-key hip.pin --in "$1" --out off.csv \
      --finish resp.json --state st.json >/dev/null; out="$out $(cat step.txt)"
    echo $out
  }
  NOFF=${BENCH_OFFLINE_PATIENTS:-200000}
  python3 "$SRC/bench/csv/generate.py" "$NOFF" distinct > off-in.csv
  echo "offline|offline VOPRF exchange: prepare / evaluate / finish|$(offline net-in.csv) $(offline off-in.csv)|$NOFF"
  kill "$IDENTITY_PID" "$REGISTRY_PID"; wait "$IDENTITY_PID" "$REGISTRY_PID" 2>/dev/null || true; PIDS=()
  read -r b2 i2 <<<"$("$BUILD/bench/bench_oprf" 2)"
  echo "netcsv|network-wide pseudonymize csv rows/s, 20000 rows, each a new patient|$(awk \
    "BEGIN{printf \"%.0f\", 20000 / ($t1 - $t0)}")|$(awk "BEGIN{printf \"%.0f\", 20000 / ($t2 - $t1)}")"
  bound=$(awk "BEGIN{print ($OPRF_BOUND > $b2 ? $OPRF_BOUND : $b2)}")
  inproc=$(awk "BEGIN{print ($OPRF_INPROC > $i2 ? $OPRF_INPROC : $i2)}")
  echo "oprf|VOPRF evaluations/s in the identity service, batches of 1024, 2 clients|$r|$bound|$inproc"
  echo "oprf|VOPRF evaluations/s in the identity service, batches of 1024, 4 clients|$r4|$bound|$inproc"
) >> "$OUT"

# The ledger: sustained appends (batches of 1000 entries of 100 bytes, 2 clients) with the
# 1 s interval, and the time from an acknowledged append to a checkpoint that covers it.
(
  export MEDREG_BIN=$BUILD MEDREG_SRC=$SRC MEDREG_TEST_DB=sqlite MEDREG_CONNECTIONS=16
  . "$SRC/tests/integration/lib.sh" >/dev/null
  setup_ledger 1000
  python3 -c "import base64,json; print(json.dumps({'entries':[base64.b64encode(b'x'*100).decode()]*1000}))" > entries.json
  echo "lappend|ledger appends/s, sqlite, 1 s interval, batches of 1000, 2 clients|$("$BUILD/bench/loadgen" \
    --url "$MEDREG_LEDGER" --cert pki/appender.crt --key pki/appender.key --cacert pki/ca.crt --seconds "$SECS" \
    --mode post --path /v1/ledger/entries --body entries.json --batch 1000 --threads 2)"
  echo "llat|ledger: append to inclusion in a checkpoint, ms (p50 p99 max of 40)|$("$BUILD/bench/ledger_latency" \
    "$MEDREG_LEDGER" pki/appender.crt pki/appender.key pki/ca.crt 40)"
  kill "$IDENTITY_PID" "$REGISTRY_PID" "$LEDGER_PID"; wait "$IDENTITY_PID" "$REGISTRY_PID" "$LEDGER_PID" 2>/dev/null || true; PIDS=()
) >> "$OUT"

# The offline CSV tool against a straightforward Python csv + hmac script doing the same job.
(
  CSVW=$(mktemp -d); trap 'rm -rf "$CSVW"' EXIT
  mkdir -p "$CSVW/bench/csv" "$CSVW/data"
  cp "$SRC/bench/csv/"* "$CSVW/bench/csv/"; cp "$SRC/data/"* "$CSVW/data/"
  cd "$CSVW/bench/csv"
  "$BUILD/medreg" key new bench.key >/dev/null
  ROWS=${BENCH_CSV_ROWS:-1000000}; PYROWS=$((ROWS / 10))
  python3 generate.py "$ROWS" > in.csv
  # REPEAT runs (default 3), as for the 32-client runs: the median's rate and
  # peak RSS, then every run's rate
  csv_runs() { # OUT: "rate kib" of the median run, then |rate rate rate
    local runs=() n=${BENCH_REPEAT:-3}
    for _ in $(seq "$n"); do
      # the last run's output goes first: replaced by the new one's rename,
      # its 100 MB were freed inside the timed run (40 ms on ext4), as
      # Python's output is truncated by the shell outside its own
      rm -f "$1"
      /usr/bin/time -f "%e %M" -o t.txt "$BUILD/medreg" pseudonymize csv --config bench-table.ini --key bench.key \
        --in in.csv --out "$1" >/dev/null
      runs+=("$(awk -v rows="$ROWS" '{printf "%.0f %s", rows / $1, $2}' t.txt)")
    done
    printf '%s\n' "${runs[@]}" | sort -n -k1,1 | sed -n "$(( (n + 1) / 2 ))p" | tr -d '\n'
    printf '|%s\n' "$(printf '%s\n' "${runs[@]}" | awk '{print $1}' | sort -n | paste -sd' ')"
  }
  IFS='|' read -r csv_med csv_all < <(csv_runs out.csv)
  head -n $((PYROWS + 1)) in.csv > py.csv
  # peak RSS on a tenth of the rows: streamed, it does not grow with the input
  /usr/bin/time -f "%M" -o t.txt "$BUILD/medreg" pseudonymize csv --config bench-table.ini --key bench.key \
    --in py.csv --out tenth.csv >/dev/null
  tenth_kib=$(cat t.txt); rm -f tenth.csv
  /usr/bin/time -f "%e %M" -o p.txt python3 baseline.py bench.key < py.csv > py.out
  read -r psecs pkib < p.txt
  same=$(cmp -s py.out <(head -n $((PYROWS + 1)) out.csv) && echo "byte-identical" || echo "DIFFERENT")
  echo "csv|CSV rows/s, $ROWS rows x 12 columns, 4 identifiers|$csv_med $tenth_kib|$(awk "BEGIN{printf \"%.0f\", $PYROWS/$psecs}")|$same|$csv_all"
  # the same with no family name seen twice: what the normalisation memo cannot help
  python3 generate.py "$ROWS" distinct > in.csv
  IFS='|' read -r csvd_med csvd_all < <(csv_runs distinct.csv)
  echo "csvd|CSV rows/s, the same, no family name seen twice|$csvd_med|$(awk "BEGIN{printf \"%.0f\", $PYROWS/$psecs}")||$csvd_all"
) >> "$OUT"

# DICOM: medreg deid dicom against gdcmanon and dcmodify, each made durable (sync), in
# TMPDIR (a disk), then in memory (/dev/shm, when it has room): there the disk is out of the
# way and the tools' own speed shows.
NDCM=${BENCH_DICOM_FILES:-2000}
dicom_line() { # WHERE (run in TMPDIR)
  "$SRC/bench/dicom/run.sh" "$BUILD" "$SRC" "$NDCM" > "$OUT.dicom"
  read -r _ dm_fps dm_mbs dm_cpu < <(grep '^medreg ' "$OUT.dicom")
  read -r _ dg_fps dg_mbs dg_cpu < <(grep '^gdcmanon ' "$OUT.dicom")
  read -r _ dd_fps dd_mbs dd_cpu < <(grep '^dcmodify ' "$OUT.dicom")
  read -r _ dc_fps dc_mbs _ < <(grep '^copy ' "$OUT.dicom")
  read -r _ dr_quarter dr_all < <(grep '^medreg-rss ' "$OUT.dicom")
  read -r _ dv_fps dv_cpu < <(grep '^verify ' "$OUT.dicom")
  read -r _ da_fps da_cpu < <(grep '^again ' "$OUT.dicom")
  best=$(( dg_fps > dd_fps ? dg_fps : dd_fps ))
  echo "dicom|DICOM files/s, $NDCM CT files of 512 KiB, $1|$dm_fps|$best|gdcmanon $dg_fps/s ($dg_mbs MB/s), dcmodify $dd_fps/s ($dd_mbs MB/s); cp -r + sync $dc_fps/s ($dc_mbs MB/s) = $(awk "BEGIN{printf \"%.2f\", $dc_fps/$best}")x the fastest; CPU ms per file: medreg $dm_cpu (all cores), gdcmanon $dg_cpu, dcmodify $dd_cpu; medreg $dm_mbs MB/s, peak RSS $((dr_all / 1024)) MiB ($((dr_quarter / 1024)) MiB on a quarter of the files); medreg deid verify of its outputs $dv_fps pairs/s (CPU $dv_cpu ms a pair); the same run again, nothing changed, $da_fps files/s (CPU $da_cpu ms a file); best of 2 runs each" >> "$OUT"
  rm -f "$OUT.dicom"
}
dicom_line "on disk, output synced"
# in memory: in, dm, the outputs and a copy, about 5 times the input
if [ -w /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR==2{print $4}')" -gt $((NDCM * 512 * 6)) ]; then
  TMPDIR=/dev/shm dicom_line "in memory (tmpfs)"
fi

printf '\nmedreg benchmark (%s, %s cores, %ss per load run, mutual TLS with keep-alive)\n\n' "$(date -u +%F)" "$(nproc)" "$SECS"
printf '%-58s %12s %9s %9s  %s\n' "measure" "value" "p50 ms" "p99 ms" "baseline / target"
printf '%-58s %12s %9s %9s  %s\n' "-------" "-----" "------" "------" "-----------------"
read -r psn_rate hmac_rate <<<"$psn"
printf '%-58s %12s %9s %9s  %s\n' "PSN derivations/s (1 core)" "$psn_rate" "" "" \
  "raw OpenSSL HMAC-SHA256 of the same bytes: $hmac_rate/s ($(awk "BEGIN{printf \"%.2f\", $hmac_rate/$psn_rate}")x; target <= 2x)"
printf '%-58s %12s %9s %9s  %s\n' "fsync/s of this disk (4 KiB write + fsync)" "$fsync" "" "" "bounds one-commit-per-request writes"
read -r incl_rate cons_rate <<<"$merkle"
printf '%-58s %12s %9s %9s  %s\n' "ledger: inclusion proofs verified/s (1 core, 1 M entries)" "$incl_rate" "" "" \
  "target >= 20000/s; consistency proofs $cons_rate/s"
while IFS='|' read -r kind name vals bound what extra; do
  read -r v p50 p99 err cpu_us <<<"$vals"
  errs=""; [ "${err:-0}" != 0 ] && errs=" (failed requests: $err)"
  case $kind in
    rss) printf '%-58s %12s %9s %9s  %s\n' "$name" "$vals" "" "" "target < 64 MiB" ;;
    export) read -r rate kib bytes <<<"$vals"
      printf '%-58s %12s %9s %9s  %s\n' "$name" "$rate" "" "" \
        "sqlite3 -csv of the same rows: $bound/s ($(awk "BEGIN{printf \"%.2f\", $rate/$bound}")x; no target); the client's peak RSS $((kib / 1024)) MiB for $((bytes / 1048576)) MiB of CSV (streamed)" ;;
    reg|batch|read)
      runs=""; [ -z "$bound" ] || runs="; median of runs $bound"
      case $kind in
        reg) t="target >= 5000/s; gPAS ~100/s, E-PIX ~9/s" ;;
        batch) t="target >= 5000/s; latency is per batch" ;;
        read) t="target >= 15000/s, p99 < 20 ms at 32" ;;
      esac
      printf '%-58s %12s %9s %9s  %s\n' "$name" "$v" "$p50" "$p99" "$t; service CPU ${cpu_us} us per item$runs$errs" ;;
    csv) read -r rate kib tkib <<<"$vals"
      printf '%-58s %12s %9s %9s  %s\n' "$name" "$rate" "" "" \
        "Python csv+hmac: $bound/s ($(awk "BEGIN{printf \"%.1f\", $rate/$bound}")x; target >= 20x and >= 1000000/s); outputs $what; peak RSS $((kib / 1024)) MiB ($((tkib / 1024)) MiB on a tenth of the rows); median of runs $extra" ;;
    csvd) read -r rate kib <<<"$vals"
      printf '%-58s %12s %9s %9s  %s\n' "$name" "$rate" "" "" \
        "$(awk "BEGIN{printf \"%.1f\", $rate/$bound}")x Python's rate above (real tables repeat names: the rows above); peak RSS $((kib / 1024)) MiB; median of runs $extra" ;;
    lappend) printf '%-58s %12s %9s %9s  %s\n' "$name" "$v" "$p50" "$p99" \
      "target >= 50000/s; Trillian 400-1000/s, Tessera ~10000/s (published); latency per batch$errs" ;;
    llat) read -r l50 l99 lmax <<<"$vals"
      printf '%-58s %12s %9s %9s  %s\n' "$name" "" "$l50" "$l99" "target p99 <= 1100 ms (interval + 100 ms); max $lmax ms" ;;
    dicom) printf '%-58s %12s %9s %9s  %s\n' "$name" "$vals" "" "" \
      "$what: $(awk "BEGIN{printf \"%.2f\", $vals/$bound}")x the fastest (target >= 3x)" ;;
    oprf) printf '%-58s %12s %9s %9s  %s\n' "$name" "$v" "$p50" "$p99" \
      "bound: $bound ristretto255 scalar mults/s ($(nproc) cores): $(awk "BEGIN{printf \"%.0f\", 100*$v/$bound}")% (target >= 80%); in process $what/s = $(awk "BEGIN{printf \"%.0f\", 100*$what/$bound}")%$errs" ;;
    offline) read -r _ pk _ ek _ fk ps PK es EK fs FK <<<"$vals"
      printf '%-58s %12s %9s %9s  %s\n' "$name" "" "" "" \
        "peak RSS at 20000 patients $((pk / 1024)) / $((ek / 1024)) / $((fk / 1024)) MiB, at $bound $((PK / 1024)) / $((EK / 1024)) / $((FK / 1024)) MiB ($(awk "BEGIN{printf \"%.0f / %.0f\", 1024 * ($PK - $pk) / ($bound - 20000), 1024 * ($FK - $fk) / ($bound - 20000)}") bytes a patient more for prepare / finish; evaluate flat); at $bound: $ps / $es / $fs s (no target; BENCH_OFFLINE_PATIENTS sets the larger run)" ;;
    netcsv) printf '%-58s %12s %9s %9s  %s\n' "$name" "$vals" "" "" \
      "the same table with the local key: $bound rows/s (no target; the client and the identity service share these cores)" ;;
    abread) printf '%-58s %12s %9s %9s  %s\n' "$name" "$v" "$p50" "$p99" \
      "the read row above, measured by another client (its latencies in whole ms, handshakes included)$errs" ;;
    health) printf '%-58s %12s %9s %9s  %s\n' "$name" "$v" "$p50" "$p99" "mutual TLS + one trivial query: what any request costs at least$errs" ;;
    cenroll|creid) read -r _ _ _ _ rq50 rq99 <<<"$vals"
      printf '%-58s %12s %9s %9s  %s\n' "$name" "$v" "$p50" "$p99" \
      "bound $bound/s ($what, openssl speed, $(nproc) cores): $(awk "BEGIN{printf \"%.0f\", 100*$v/$bound}")%; target >= 70%, p99 < 30 ms; the latencies are whole rounds (the client's card work included), the registry's answer to each request alone: p50 $rq50 ms, p99 $rq99 ms; the registry spent ~$extra ms CPU per operation, the private-key work $(awk "BEGIN{printf \"%.3f\", 1000*$(nproc)/$bound}") ms of it$errs" ;;
  esac
done < "$OUT"
