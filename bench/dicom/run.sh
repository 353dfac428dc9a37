#!/usr/bin/env bash
# DICOM de-identification of N CT-sized files (512 x 512 x 16 bit, built
# with dump2dcm, new UIDs by dcmodify): medreg deid dicom against gdcmanon
# (its PS3.15 E.1 basic profile, with a certificate) and dcmodify (erasing
# the same identifying attributes at every level and generating new UIDs),
# each followed by sync so that every tool's output is on disk, as
# medreg's is; and cp -r + sync, the ceiling of this disk for any tool that
# reads every file and writes a new one. Prints one line per tool:
# "name files/s MB/s CPU-ms-per-file" (user + system, all threads: what
# the tool costs whatever the disk), "verify pairs/s CPU-ms-per-pair" (medreg
# deid verify of medreg's outputs), then "medreg-rss KIB-QUARTER KIB-ALL":
# medreg's peak RSS on a quarter of the files and on all of them (it must
# not grow). Run in TMPDIR: on a disk, or in memory (tmpfs) to see the
# tools' own speed.
# usage: bench/dicom/run.sh BUILD-DIR SRC-DIR N
set -euo pipefail
BUILD=$1; SRC=$2; N=${3:-2000}
W=$(mktemp -d "${TMPDIR:-/tmp}/medreg-bench-dicom.XXXXXX"); trap 'rm -rf "$W"' EXIT
cd "$W"
mkdir -p in ex data
cp -r "$SRC/examples/"* ex/; cp "$SRC/data/"* data/
head -c 524288 /dev/urandom > px.raw
sed -e 's#^(7fe0,0010) OW .*#(7fe0,0010) OW =px.raw#' -e 's#(0028,0010) US 2#(0028,0010) US 512#' \
    -e 's#(0028,0011) US 2#(0028,0011) US 512#' "$SRC/tests/data/dicom/ct1.dump" > ct.dump
dump2dcm --write-xfer-little ct.dump ct.dcm
for i in $(seq 1 "$N"); do cp ct.dcm "in/$i.dcm"; done
dcmodify -nb -gin -gse -gst in/*.dcm >/dev/null 2>&1 || true
MB=$(du -sm in | cut -f1)
"$BUILD/medreg" key new m.key >/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout k.pem -out c.pem -subj /CN=bench -days 2 2>/dev/null
sync
ERASE=()
for t in 0010,0010 0010,0020 0010,0030 0010,1000 0010,1040 0010,2154 0008,0050 0008,0080 0008,0090 0008,1030 \
         0020,0010 0032,1032 0040,1001 0009,1001 0029,1010 0008,0020 0008,0021 0008,1110; do ERASE+=(-ea "($t)"); done

run() { # NAME COMMAND...: one timed run, "files/s MB/s CPU-ms-per-file" into NAME.runs
  local name=$1; shift
  local t0 t1 u s
  # memory for the output first touched and freed again, untimed: a virtual
  # machine backs its memory on first touch, a cost (a second per GB here)
  # that would otherwise fall on whichever tool runs first
  cp -r in warm && rm -rf warm && sync
  t0=$(date +%s.%N); /usr/bin/time -f "%U %S %M" -o "$name.time" "$@" >/dev/null 2>&1 || true; sync; t1=$(date +%s.%N)
  read -r u s _ < "$name.time"
  awk -v n="$N" -v mb="$MB" -v a="$t0" -v b="$t1" -v u="$u" -v s="$s" \
    'BEGIN{printf "%.0f %.0f %.3f\n", n/(b-a), mb/(b-a), 1000*(u+s)/n}' >> "$name.runs"
}
# every tool twice, in turn; each one's faster run counts (this machine's
# speed drifts within a minute)
for round in 1 2; do
  rm -rf out out.* outg dm outc; cp -r in dm
  run medreg "$BUILD/medreg" deid dicom --config ex/deid/dicom.ini --key m.key --in in --out out
  run gdcmanon gdcmanon -e -c c.pem -r --continue -i in -o outg
  run dcmodify dcmodify -nb -ie -gin -gse -gst "${ERASE[@]}" dm/*.dcm
  # the disk's ceiling for any tool that reads each file and writes a new one
  run copy cp -r in outc
done
for t in medreg gdcmanon dcmodify copy; do echo "$t $(sort -n -r "$t.runs" | head -1)"; done
# medreg's independent check of its last outputs against their inputs
t0=$(date +%s.%N)
/usr/bin/time -f "%U %S" -o verify.time "$BUILD/medreg" deid verify --config ex/deid/dicom.ini --report out.report.json \
  >verify.out 2>&1 || echo "verify FAILED: $(tail -n 3 verify.out)" >&2
t1=$(date +%s.%N)
read -r u s < <(tail -n 1 verify.time) # after "Command exited with non-zero status", if it did
awk -v n="$N" -v a="$t0" -v b="$t1" -v u="$u" -v s="$s" 'BEGIN{printf "verify %.0f %.3f\n", n/(b-a), 1000*(u+s)/n}'
# the same run again into the same folder, nothing changed: what a resumed
# run or one over a grown archive pays for the files it does not read again
t0=$(date +%s.%N)
/usr/bin/time -f "%U %S" -o again.time "$BUILD/medreg" deid dicom --config ex/deid/dicom.ini --key m.key --in in \
  --out out >again.out 2>&1 || echo "run again FAILED: $(tail -n 3 again.out)" >&2
t1=$(date +%s.%N)
read -r u s < <(tail -n 1 again.time)
awk -v n="$N" -v a="$t0" -v b="$t1" -v u="$u" -v s="$s" 'BEGIN{printf "again %.0f %.3f\n", n/(b-a), 1000*(u+s)/n}'
mkdir quarter
for i in $(seq 1 $((N / 4))); do ln "in/$i.dcm" quarter/; done
/usr/bin/time -f "%M" -o rssq.txt "$BUILD/medreg" deid dicom --config ex/deid/dicom.ini --key m.key \
  --in quarter --out outq >/dev/null 2>&1 || true
echo "medreg-rss $(cat rssq.txt) $(cut -d' ' -f3 medreg.time)"
