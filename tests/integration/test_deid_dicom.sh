#!/usr/bin/env bash
# medreg deid dicom and deid verify through the real CLI, on files built
# with DCMTK's own tools (dump2dcm, img2dcm, dcmodify) that hide identifiers
# in nested sequences, private attributes, the meta header, references,
# dates and UIDs. The known pitfalls of other tools are checked one by one:
# UIDs left in nested sequences, a stale MediaStorageSOPInstanceUID,
# references that no longer match, private attributes leaking the
# accession number. Outputs must parse with dcmdump and carry none of it.
set -euo pipefail
BIN=${MEDREG_BIN:?}; SRC=${MEDREG_SRC:?}
MEDREG="$BIN/medreg"
W=$(mktemp -d "${TMPDIR:-/tmp}/medreg-dicom.XXXXXX"); trap '[ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
FAILS=0; CHECKS=0
ok() { CHECKS=$((CHECKS + 1)); echo "ok   $*"; }
fail() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL $*"; }
expect() { local want=$1 what=$2; shift 3; local got=0; "$@" >"$W/o" 2>"$W/e" || got=$?
  if [ "$got" = "$want" ]; then ok "$what"; else fail "$what (exit $got, wanted $want)"; cat "$W/o" "$W/e" | head -5; fi; }
for t in dump2dcm img2dcm dcmodify dcmdump dcmmkdir dcmcjpeg dcmdjpeg dcm2pnm dcmcrle; do
  command -v $t >/dev/null || { echo "DCMTK's tools are not installed: skipped"; exit 77; }
done
cd "$W"
mkdir -p examples/deid data in
cp "$SRC/examples/hip.ini" examples/; cp "$SRC/examples/deid/"* examples/deid/; cp "$SRC/data/"* data/
"$MEDREG" key new hip.key >/dev/null
C=examples/deid/dicom.ini
tag() { dcmdump +P "$2" "$1" 2>/dev/null | sed -n 1p | sed -n 's/.*\[\(.*\)\].*/\1/p'; } # FILE TAG -> first value

# the inputs: two CT slices referencing each other, an ultrasound, a
# secondary capture from img2dcm, a CT that says its pixels show text, an
# ultrasound that says they do not, a file without a birth date, garbage
for f in ct1 ct2 us1; do dump2dcm --write-xfer-little "$SRC/tests/data/dicom/$f.dump" in/$f.dcm; done
python3 - <<'EOP'
import struct
w, h = 4, 2
row = bytes([0, 0, 255] * w) + b"\0" * ((4 - (w * 3) % 4) % 4)
pix = row * h
hdr = b"BM" + struct.pack("<IHHI", 54 + len(pix), 0, 0, 54)
dib = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(pix), 2835, 2835, 0, 0)
open("in.bmp", "wb").write(hdr + dib + pix)
EOP
img2dcm -i BMP in.bmp in/sc1.dcm -k "PatientName=Müller^Jürgen" -k "PatientBirthDate=19610307" \
  -k "PatientID=PID-4711" -k "SpecificCharacterSet=ISO_IR 192" -k "InstitutionName=Klinik Sonnenberg"
mkdir -p in/nested/deeper
cp in/ct1.dcm in/nested/deeper/burned.dcm
dcmodify -nb -i "(0028,0301)=YES" -i "(0008,0018)=1.2.826.0.1.3680043.2.1125.9.114" in/nested/deeper/burned.dcm
cp in/us1.dcm in/nested/us-clean.dcm
dcmodify -nb -i "(0028,0301)=NO" -i "(0008,0018)=1.2.826.0.1.3680043.2.1125.9.115" in/nested/us-clean.dcm
cp in/ct1.dcm in/nobirth.dcm
dcmodify -nb -e "(0010,0030)" -i "(0008,0018)=1.2.826.0.1.3680043.2.1125.9.116" in/nobirth.dcm
echo "not DICOM at all" > in/garbage.dcm
head -c 200 in/ct1.dcm > in/damaged.dcm # a Part 10 file cut short
[ "$(tag in/ct1.dcm 0002,0016)" = MUELLERPACS ] && ok "inputs built with dump2dcm, img2dcm and dcmodify" || fail "inputs"

expect 4 "deid dicom: every file handled; the skipped ones make the exit code 4" -- "$MEDREG" deid dicom \
  --config $C --key hip.key --in in --out out
grep -q "9 files: 3 written to out, 3 quarantined .*, 2 skipped, 1 not DICOM" "$W/o" \
  && ok "3 written, 3 quarantined (US, SC, burned-in YES), 2 skipped, 1 not DICOM" || fail "counts: $(cat "$W/o")"
grep -q "skipped in/damaged.dcm: DCMTK cannot read it" "$W/e" && ok "an unreadable file is reported" || fail "damaged: $(cat "$W/e")"
grep -q "left out in/garbage.dcm: not DICOM: ASCII text" "$W/e" && [ "$(jq -r '.not_dicom' out.report.json)" = 1 ] \
  && ok "a text file is named as what it is, apart from the failures" || fail "garbage: $(cat "$W/e")"
grep -q "nobirth.dcm: no (0010,0030) for the PSN's birth_date" "$W/e" && ok "a file without the PSN's identifiers is reported" || fail "nobirth"
[ "$(stat -c %a out.report.json)" = 600 ] && ok "the report (it names input paths) is 0600" || fail "report mode"
[ "$(jq -r '.files[] | select(.in | endswith("burned.dcm")) | .outcome' out.report.json)" = quarantined ] \
  && ok "Burned In Annotation YES goes to quarantine" || fail "burned"
[ "$(jq -r '.files[] | select(.in | endswith("us-clean.dcm")) | .outcome' out.report.json)" = written ] \
  && ok "an ultrasound that says NO is written" || fail "US NO"
[ "$(jq -r '.files[] | select(.in | endswith("sc1.dcm")) | .outcome' out.report.json)" = quarantined ] \
  && ok "img2dcm's secondary capture (no Burned In Annotation) is quarantined" || fail "SC"
[ -z "$(find out -name '*.tmp')" ] && [ ! -e out/.medreg-partial ] && [ ! -e out.quarantine/.medreg-partial ] &&
  ok "no half-written file, and no folder for them left" || fail "tmp files"

n=0; bad=0
for f in $(find out out.quarantine -name '*.dcm' | sort); do
  n=$((n + 1))
  dcmdump "$f" > dump.txt 2>&1 || bad=1
  sop=$(tag "$f" 0008,0018); meta=$(tag "$f" 0002,0003)
  [ "$sop" = "$meta" ] || { bad=1; echo "stale MediaStorageSOPInstanceUID in $f"; }
  [ "$(basename "$f" .dcm)" = "$sop" ] || { bad=1; echo "name $f"; }
  for v in Müller MÜLLER Jürgen PID-4711 OTHERID 19610307 ACC-778899 MUELLERPACS Sonnenberg Hausarzt Requester \
           Bahnhofstrasse 49301234567 STUDY-55 REQ-9911 "OTHER VENDOR" 20210504 1.2.826.0.1.3680043.2.1125; do
    if grep -q -- "$v" dump.txt || grep -qa -- "$v" "$f"; then bad=1; echo "'$v' survives in $f"; fi
  done
done
[ $n = 6 ] && [ $bad = 0 ] && ok "all 6 outputs parse with dcmdump; no identifier, old UID or date survives (elements or bytes)" \
  || fail "outputs ($n files)"
o1=$(jq -r '.files[] | select(.in | endswith("/ct1.dcm")) | .out' out.report.json)
o2=$(jq -r '.files[] | select(.in | endswith("/ct2.dcm")) | .out' out.report.json)
ref1=$(dcmdump "$o1" | grep "(0008,1155)" | sed -n 1p | sed -n 's/.*\[\(.*\)\].*/\1/p')
[ "$ref1" = "$(tag "$o2" 0008,0018)" ] && ok "a reference inside a sequence names the referenced instance's new UID" || fail "reference $ref1"
nested=$(dcmdump "$o1" | grep "(0020,000d)" | sed -n 's/.*\[\(.*\)\].*/\1/p' | sort -u)
[ "$(echo "$nested" | wc -l)" = 1 ] && [ "$nested" = "$(tag "$o1" 0020,000d)" ] \
  && ok "the Study Instance UID two sequences deep is remapped like the top-level one" || fail "nested UID: $nested"
[ "$(tag "$o1" 0010,0010)" = "$(tag "$o1" 0010,0020)" ] && [ ${#ref1} -gt 5 ] && ok "PatientName and PatientID are the PSN" || fail "PSN"
printf 'fam,giv,dob\nMüller,Jürgen,19610307\n' > p.csv
printf '[pseudonymize]\nmodule = examples/hip.ini\n[columns]\nfam = identifier family_name\ngiv = identifier given_name\ndob = identifier birth_date\n' > p.ini
"$MEDREG" pseudonymize csv --config p.ini --key hip.key --in p.csv --out p.out.csv >/dev/null
[ "$(sed -n 2p p.out.csv | tr -d '\r')" = "$(tag "$o1" 0010,0020)" ] && ok "the DICOM PSN is the CSV tool's (and the identity service's) PSN" || fail "PSN differs from CSV"
[ "$(tag "$o1" 0012,0062)" = YES ] && dcmdump "$o1" | grep -c "113100" >/dev/null && dcmdump "$o1" | grep -c "113107" >/dev/null \
  && ok "Patient Identity Removed and the method code sequence are set" || fail "method"
[ "$(tag "$o1" 0028,0303)" = MODIFIED ] && ok "Longitudinal Temporal Information Modified says MODIFIED" || fail "0028,0303"
d1=$(tag "$o1" 0008,0020)
days=$(( ($(date -ud "${d1:0:4}-${d1:4:2}-${d1:6:2}" +%s) - $(date -ud 2021-05-04 +%s)) / 86400 ))
[ "$days" != 0 ] && [ "${days#-}" -le 365 ] && ok "the study date moved by the patient's keyed shift ($days days)" || fail "shift $d1"
[ "$(tag "$(jq -r '.files[] | select(.in | endswith("us1.dcm")) | .out' out.report.json)" 0008,0020)" = "$d1" ] \
  && ok "the same patient's dates move by the same shift in every file" || fail "shift differs"
dcmdump "$o1" | grep -c "SAFE-VALUE-1" >/dev/null && ok "the allow-listed private attribute is kept" || fail "safe private"
dcmdump "$o1" | grep -c "(0029,1010)" >/dev/null && fail "a private attribute with the accession number survives" || ok "other private attributes are gone"
desc=$(tag "$o1" 0008,1030)
[ "$desc" = "CT hip  follow-up" ] && ok "Clean Descriptors removes the patient's name from the study description" || fail "desc '$desc'"
[ "$(tag "$o1" 0008,0070)" = "ACME Medical" ] && ok "Retain Device Identity keeps the manufacturer" || fail "device"
[ "$(tag "$o1" 0010,0040)" = M ] && ok "Retain Patient Characteristics keeps the sex" || fail "sex"

expect 0 "again into another folder" -- "$MEDREG" deid dicom --config $C --key hip.key --in in/ct1.dcm --out out2 --threads 1
[ "$(find out2 -name '*.dcm' -printf '%P\n')" = "$(echo "$o1" | sed 's#^out/##')" ] && cmp -s "$o1" "out2/$(echo "$o1" | sed 's#^out/##')" \
  && ok "same input and key: the same UIDs and the same bytes" || fail "not deterministic"
again="out2/$(echo "$o1" | sed 's#^out/##')"
cp "$again" again.before
expect 0 "the same output folder again, every file read (--read-all): the same bytes are there, so the file counts as written" -- "$MEDREG" \
  deid dicom --config $C --key hip.key --in in/ct1.dcm --out out2 --read-all
grep -q "1 written to out2.*1 of the written and quarantined were there already" "$W/o" &&
  [ "$(jq -r '.already_there' out2.report.json)" = 1 ] && [ "$(jq -r '.files[0].already_there' out2.report.json)" = true ] &&
  [ "$(jq -r '.files[0].out' out2.report.json)" = "$again" ] && ok "and the report says so, with the output" ||
  fail "already there: $(cat "$W/o")"
# other bytes under the same name (same key, so the same UIDs; the manufacturer removed this time)
sed 's/ retain_device_identity//' $C > examples/deid/nodevice.ini
expect 4 "other bytes under an output's name are never replaced" -- "$MEDREG" deid dicom \
  --config examples/deid/nodevice.ini --key hip.key --in in/ct1.dcm --out out2
grep -q "another file is there already under its name" "$W/e" && cmp -s "$again" again.before && [ ! -e out2/.medreg-partial ] &&
  ok "it says why, and the file there is unchanged" || fail "exists: $(cat "$W/e")"

expect 0 "deid verify finds no identifier in the outputs" -- "$MEDREG" deid verify --config $C --report out.report.json
grep -q "6 outputs checked" "$W/o" && ok "every output was checked" || fail "verify count: $(cat "$W/o")"
head -c "$(($(wc -c < out.report.json) - 40))" out.report.json > cut.report.json
expect 7 "a report cut short is refused" -- "$MEDREG" deid verify --config $C --report cut.report.json
grep -q "cut.report.json: not a report of medreg deid dicom: .*(at byte [0-9]*)" "$W/e" && ok "naming the byte" ||
  fail "cut report: $(cat "$W/e")"
jq . out.report.json > jq.report.json
expect 0 "a report reindented by jq verifies the same" -- "$MEDREG" deid verify --config $C --report jq.report.json
grep -q "6 outputs checked" "$W/o" && ok "every output of it checked" || fail "jq verify: $(cat "$W/o")"
# plant identifiers the way other tools leave them, and the check must fail each time
plant() { # WHAT DCMODIFY-ARGS... (or: WHAT --dump LINE, for what dcmodify cannot write)
  local what=$1; shift
  cp "$o1" keep.dcm
  if [ "$1" = --dump ]; then
    dcmdump "$o1" > planted.dump; echo "$2" >> planted.dump
    rm -f "$o1"; dump2dcm --write-xfer-little planted.dump "$o1"
  else
    dcmodify -nb "$@" "$o1" >/dev/null 2>&1
  fi
  local got=0; "$MEDREG" deid verify --config $C --report out.report.json >"$W/v" 2>&1 || got=$?
  if [ $got = 1 ] && grep -q "$(basename "$o1")" "$W/v"; then ok "verify catches $what"; else fail "verify missed $what (exit $got)"; fi
  cp keep.dcm "$o1"
}
plant "the name in a description" -m "(0008,1030)=CT of Müller"
plant "the name in capitals in a description" -m "(0008,1030)=CT of MÜLLER"
plant "an accession number in a nested sequence" -m "(0040,0275)[0].(0008,0050)=ACC-778899"
plant "a private attribute leaking the accession number" --dump "(0029,1012) LO [ACC-778899]"
plant "a private attribute of unknown VR with the patient ID" --dump "(0029,1013) UN 50\\49\\44\\2d\\34\\37\\31\\31"
plant "an old UID in a reference" -m "(0008,1140)[0].(0008,1155)=1.2.826.0.1.3680043.2.1125.9.112"
plant "the original birth date" -i "(0010,0030)=19610307"
# two outputs with a survivor each: the findings come in the report's order, with one thread or four
cp "$o1" keep1.dcm; cp "$o2" keep2.dcm
dcmodify -nb -m "(0008,1030)=CT of Müller" "$o1" "$o2" >/dev/null 2>&1
"$MEDREG" deid verify --config $C --report out.report.json --threads 1 > v1.txt 2>/dev/null || true
"$MEDREG" deid verify --config $C --report out.report.json --threads 4 > v4.txt 2>/dev/null || true
seen=$(cut -d, -f1 v1.txt | uniq | tr '\n' ' ')
want=$(jq -r '.files[] | .out // empty' out.report.json | grep -F -x -e "$o1" -e "$o2" | tr '\n' ' ')
[ -s v1.txt ] && cmp -s v1.txt v4.txt && [ "$seen" = "$want" ] && [ "$(echo "$seen" | wc -w)" = 2 ] &&
  ok "findings in the report's order, the same with 1 and 4 threads" || fail "order: $(cat v1.txt v4.txt)"
cp keep1.dcm "$o1"; cp keep2.dcm "$o2"
expect 0 "and passes again once removed" -- "$MEDREG" deid verify --config $C --report out.report.json

# a CD export: its DICOMDIR names the patient and points at the input's file names. Never copied,
# and no failure: the exit code stays 0
mkdir -p media/IMG && cp in/ct1.dcm media/IMG/CT1 && cp in/ct2.dcm media/IMG/CT2
(cd media && dcmmkdir --general-purpose +I +r IMG >/dev/null 2>&1)
printf '[autorun]\r\nopen=VIEWER.EXE\r\n' > media/AUTORUN.INF; cp "$MEDREG" media/VIEWER.EXE # and a program
[ "$(tag media/DICOMDIR 0010,0020)" = PID-4711 ] && ok "a DICOMDIR made by dcmmkdir (it holds the patient ID)" || fail "dcmmkdir"
expect 0 "deid dicom of a CD export" -- "$MEDREG" deid dicom --config $C --key hip.key --in media --out mout
grep -q "2 written to mout, 0 quarantined .*, 0 skipped, 1 DICOMDIR not copied .*, 2 not DICOM" "$W/o" \
  && ok "the images written, the DICOMDIR, the autorun file and the program named apart" || fail "counts: $(cat "$W/o")"
grep -q "AUTORUN.INF: not DICOM: Microsoft Windows Autorun file" "$W/e" && grep -q "VIEWER.EXE: not DICOM: ELF" "$W/e" \
  && ok "each as what it is" || fail "kinds: $(cat "$W/e")"
[ "$(jq -r '.directories' mout.report.json)" = 1 ] && [ "$(jq -r '.files[] | select(.in | endswith("DICOMDIR")) | .outcome' \
  mout.report.json)" = directory ] && ok "the report says so" || fail "report: $(jq -c . mout.report.json)"
! grep -rqa -e PID-4711 -e DICOMDIR mout && [ -z "$(find mout -iname dicomdir)" ] \
  && ok "no DICOMDIR and no patient ID in the output" || fail "a DICOMDIR leaked"
expect 0 "and the images verify" -- "$MEDREG" deid verify --config $C --report mout.report.json

# compressed pixels (JPEG lossless) pass through untouched: same transfer syntax, same image
mkdir -p jin && dcmcjpeg +e1 in/ct1.dcm jin/ct1j.dcm
expect 0 "deid dicom of a JPEG-compressed file" -- "$MEDREG" deid dicom --config $C --key hip.key --in jin --out jout
jo=$(find jout -name '*.dcm' | head -1)
pixels() { dcmdjpeg "$1" "$1.raw.dcm" && dcmdump +P 7fe0,0010 +L "$1.raw.dcm" | sed 's/#.*//'; }
xfer() { dcmdump -Un +P 0002,0010 "$1" | sed -n 's/.*\[\(.*\)\].*/\1/p'; } # numeric, not the UID's name
[ -n "$jo" ] && [ "$(xfer "$jo")" = 1.2.840.10008.1.2.4.70 ] && [ "$(xfer jin/ct1j.dcm)" = 1.2.840.10008.1.2.4.70 ] &&
  [ -n "$(pixels "$jo")" ] &&
  [ "$(pixels "$jo")" = "$(pixels jin/ct1j.dcm)" ] && ok "the same transfer syntax, and the same pixels once decoded" \
  || fail "compressed: $jo"
expect 0 "and it verifies" -- "$MEDREG" deid verify --config $C --report jout.report.json

# text beside the image inside compressed pixels: a comment and an Exif segment with the name and
# ID in a single-frame file, and in the second of three frames; no attribute holds them, so only
# a look inside the JPEG streams finds them
mkdir -p tin && cp jin/ct1j.dcm tin/ct1-text.dcm && "$SRC/tests/integration/jpeg_text.py" tin/ct1-text.dcm 1 "Müller^Jürgen PID-4711"
cat > frames.dump <<'EOF'
(0008,0016) UI =CTImageStorage
(0008,0018) UI [1.2.826.0.1.3680043.2.1125.9.500]
(0008,0060) CS [CT]
(0010,0010) PN [Müller^Jürgen]
(0010,0020) LO [PID-4711]
(0010,0030) DA [19610307]
(0020,000d) UI [1.2.826.0.1.3680043.2.1125.9.501]
(0020,000e) UI [1.2.826.0.1.3680043.2.1125.9.502]
(0028,0002) US 1
(0028,0004) CS [MONOCHROME2]
(0028,0008) IS [3]
(0028,0010) US 4
(0028,0011) US 4
(0028,0100) US 8
(0028,0101) US 8
(0028,0102) US 7
(0028,0103) US 0
(7fe0,0010) OB 00\01\02\03\04\05\06\07\08\09\0a\0b\0c\0d\0e\0f\10\11\12\13\14\15\16\17\18\19\1a\1b\1c\1d\1e\1f\20\21\22\23\24\25\26\27\28\29\2a\2b\2c\2d\2e\2f
EOF
dump2dcm --write-xfer-little frames.dump frames.dcm && dcmcjpeg +e1 frames.dcm jin/frames.dcm
cp jin/frames.dcm tin/frames-text.dcm && "$SRC/tests/integration/jpeg_text.py" tin/frames-text.dcm 2 "Müller^Jürgen PID-4711"
cp tin/frames-text.dcm frames-text.dcm # pixels() writes beside its file
grep -qa PID-4711 tin/ct1-text.dcm && grep -qa PID-4711 tin/frames-text.dcm && [ "$(pixels frames-text.dcm)" = "$(pixels jin/frames.dcm)" ] \
  && ok "JPEG files with the name in a comment and an Exif segment, still decoding to their pixels" || fail "inputs with text"
expect 0 "deid dicom of JPEG files whose streams carry text" -- "$MEDREG" deid dicom --config $C --key hip.key --in tin --out tout
for f in ct1-text frames-text; do
  o=$(jq -r --arg f $f '.files[] | select(.in | endswith($f + ".dcm")) | .out' tout.report.json)
  ref=jin/$([ $f = ct1-text ] && echo ct1j || echo frames).dcm
  [ "$(jq -r --arg f $f '.files[] | select(.in | endswith($f + ".dcm")) | "\(.outcome) \(.actions.pixel_text_removed)"' \
    tout.report.json)" = "written 2" ] && ! grep -qa -e PID-4711 -e "ller^J" "$o" && dcmdump "$o" > /dev/null &&
    [ "$(xfer "$o")" = 1.2.840.10008.1.2.4.70 ] && [ "$(pixels "$o")" = "$(pixels "$ref")" ] &&
    ok "$f: both segments taken out (the report counts 2), the same transfer syntax and pixels" || fail "$f: $o"
done
o=$(jq -r '.files[] | select(.in | endswith("frames-text.dcm")) | .out' tout.report.json)
# one fragment a frame, and an offset table that points at each (dcmcjpeg's own file has the same)
[ "$(dcmdump "$o" | grep -c '(fffe,e000) pi ff\\d8')" = 3 ] &&
  [ "$(dcmdump "$o" | grep -m1 '(fffe,e000) pi' | cut -c1-60)" = "$(dcmdump jin/frames.dcm | grep -m1 '(fffe,e000) pi' | cut -c1-60)" ] \
  && ok "three frames in three fragments, the offset table as the encoder wrote it" || fail "offset table: $(dcmdump "$o" | tail -5)"
expect 0 "and they verify" -- "$MEDREG" deid verify --config $C --report tout.report.json
# verify finds a comment put back (text that names no one of the input, and which the search for
# the input's values would therefore miss)
"$SRC/tests/integration/jpeg_text.py" "$o" 1 "scanned at ward 7"
expect 1 "verify finds a comment in compressed pixels" -- "$MEDREG" deid verify --config $C --report tout.report.json
grep -q "(7FE0,0010),the compressed pixels carry text: 2 comment, application segment or offset table that is no image" "$W/o" \
  && ok "named with the element" || fail "finding: $(cat "$W/o")"
# JPEG 2000 (which DCMTK does not decode, and medreg need not): a codestream with the name in a
# comment of its main header and the ID in one of its tile-part header, in place of the JPEG stream
mkdir -p j2kin && python3 - jin/ct1j.dcm j2kin/j2k.dcm <<'EOP'
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
data = data.replace(b"1.2.840.10008.1.2.4.70", b"1.2.840.10008.1.2.4.90")  # JPEG 2000 lossless, same length
def seg(m, body): return bytes([0xFF, m]) + struct.pack(">H", len(body) + 2) + body
siz = struct.pack(">HIIIIIIIIH", 0, 2, 2, 0, 0, 2, 2, 0, 0, 1) + b"\x0b\x01\x01"
main = b"\xff\x4f" + seg(0x51, siz) + seg(0x52, bytes([0, 0, 0, 1, 0, 0, 4, 4, 0, 0])) + seg(0x5c, b"\x20\x40")
main += seg(0x64, b"\x00\x01" + "Müller^Jürgen".encode())
tile = seg(0x64, b"\x00\x01PID-4711")
body = b"\xff\x93" + bytes([0x80, 0x11, 0x22, 0x33])
cs = main + b"\xff\x90" + struct.pack(">HHIBB", 10, 0, 12 + len(tile) + len(body), 0, 1) + tile + body + b"\xff\xd9"
cs += b"\0" * (len(cs) % 2)
at = data.rfind(b"\xe0\x7f\x10\x00OB\x00\x00\xff\xff\xff\xff") + 12
tag, n = struct.unpack_from("<II", data, at)
at += 8 + n
tag, n = struct.unpack_from("<II", data, at)
data[at:at + 8 + n] = struct.pack("<II", tag, len(cs)) + cs
open(sys.argv[2], "wb").write(data)
EOP
expect 0 "deid dicom of a JPEG 2000 file with comments" -- "$MEDREG" deid dicom --config $C --key hip.key --in j2kin --out j2kout
o=$(find j2kout -name '*.dcm' | head -1)
# the tile-part's length (Psot) is 14 bytes shorter, by the comment taken out of its header
psot() { python3 -c "import sys; d = open(sys.argv[1], 'rb').read(); i = d.find(b'\xff\x90'); print(int.from_bytes(d[i + 6:i + 10], 'big'))" "$1"; }
[ "$(jq -r '.files[0] | "\(.outcome) \(.actions.pixel_text_removed)"' j2kout.report.json)" = "written 2" ] &&
  ! grep -qa -e PID-4711 -e "ller^J" "$o" && [ "$(xfer "$o")" = 1.2.840.10008.1.2.4.90 ] &&
  [ "$(psot "$o")" = $(($(psot j2kin/j2k.dcm) - 14)) ] \
  && ok "both comments out, the transfer syntax kept, the tile-part's length corrected" || fail "j2k: $(dcmdump "$o" | tail -3)"
expect 0 "and it verifies" -- "$MEDREG" deid verify --config $C --report j2kout.report.json

# offset tables that hold text instead of offsets: the basic one of a JPEG file ("MUELLER "), and an
# extended one with its lengths (7FE0,0001-0002) beside an empty basic one; no reader shows either
mkdir -p otin && cp jin/ct1j.dcm otin/basic.dcm && cp jin/frames.dcm otin/extended.dcm
python3 - otin/basic.dcm otin/extended.dcm <<'EOP'
import struct, sys
for path, kind in ((sys.argv[1], "basic"), (sys.argv[2], "extended")):
    data = bytearray(open(path, "rb").read())
    px = data.rfind(b"\xe0\x7f\x10\x00OB\x00\x00\xff\xff\xff\xff")
    at = px + 12
    tag, n = struct.unpack_from("<II", data, at)  # the basic offset table item
    if kind == "basic":
        data[at:at + 8 + n] = struct.pack("<II", tag, 8) + b"MUELLER "
    else:
        data[at:at + 8 + n] = struct.pack("<II", tag, 0)
        ext = b"\xe0\x7f\x01\x00OV\x00\x00" + struct.pack("<I", 16) + b"MUELLER JUERGEN "
        ext += b"\xe0\x7f\x02\x00OV\x00\x00" + struct.pack("<I", 16) + b"PID-4711PID-4711"
        data[px:px] = ext
    open(path, "wb").write(data)
EOP
expect 0 "deid dicom of offset tables that hold text" -- "$MEDREG" deid dicom --config $C --key hip.key --in otin --out otout
for f in basic extended; do
  o=$(jq -r --arg f $f '.files[] | select(.in | endswith($f + ".dcm")) | .out' otout.report.json)
  ref=jin/$([ $f = basic ] && echo ct1j || echo frames).dcm
  [ "$(jq -r --arg f $f '.files[] | select(.in | endswith($f + ".dcm")) | .outcome' otout.report.json)" = written ] &&
    ! grep -qa -e MUELLER -e PID-4711 "$o" && [ -z "$(dcmdump +P 7fe0,0001 "$o")" ] && [ "$(pixels "$o")" = "$(pixels "$ref")" ] &&
    [ "$(dcmdump "$o" | grep -m1 '(fffe,e000) pi' | cut -c1-60)" = "$(dcmdump "$ref" | grep -m1 '(fffe,e000) pi' | cut -c1-60)" ] \
    && ok "$f: written anew with offsets alone, the same pixels" || fail "$f offset table: $(dcmdump "$o" | tail -5)"
done
expect 0 "and they verify" -- "$MEDREG" deid verify --config $C --report otout.report.json

# pixels that cannot be looked through, and a frame lost with them, are never written as clean
mkdir -p bin && cp jin/ct1j.dcm bin/not-jpeg.dcm && cp tin/frames-text.dcm bin/lost-frame.dcm
python3 - bin/not-jpeg.dcm bin/lost-frame.dcm <<'EOP'
import sys
for path, frame in ((sys.argv[1], 1), (sys.argv[2], 1)):
    data = bytearray(open(path, "rb").read())
    at = [i for i in range(len(data)) if data[i:i + 2] == b"\xff\xd8"][frame - 1]
    data[at:at + 2] = b"\x00\x00"  # no start of image: not a JPEG stream any more
    open(path, "wb").write(data)
EOP
expect 0 "deid dicom of compressed pixels it cannot look through" -- "$MEDREG" deid dicom --config $C --key hip.key --in bin --out bout
[ "$(jq -r '.files[] | select(.in | endswith("not-jpeg.dcm")) | .reason' bout.report.json)" = \
  "its compressed pixels may carry text medreg cannot take out (the compressed pixels hold no JPEG, JPEG-LS or JPEG 2000 frame): check them" ] &&
  [ "$(jq -r '.files[] | select(.in | endswith("lost-frame.dcm")) | .reason' bout.report.json)" = \
  "its compressed pixels may carry text medreg cannot take out (2 frames found where the file says 3): check them" ] &&
  [ "$(jq '.quarantined' bout.report.json)" = 2 ] && ok "both quarantined, saying why" || fail "$(jq -c '.files[] | [.outcome, .reason]' bout.report.json)"

# the preamble: 128 bytes before "DICM" that a writer may fill as it likes (here the name spelled
# as no attribute spells it, and the ID); DCMTK writes again what it read
mkdir -p prein && cp in/ct1.dcm prein/preamble.dcm
python3 - prein/preamble.dcm <<'EOP'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
text = b"MUELLER JUERGEN PID-4711 *1961-03-07"
data[:len(text)] = text
open(sys.argv[1], "wb").write(data)
EOP
expect 0 "deid dicom of a file whose preamble names the patient" -- "$MEDREG" deid dicom --config $C --key hip.key --in prein --out preout
o=$(find preout -name '*.dcm' | head -1)
[ -n "$o" ] && [ "$(head -c 128 "$o" | tr -d '\0' | wc -c)" = 0 ] && [ "$(head -c 132 "$o" | tail -c 4)" = DICM ] &&
  head -c 40 prein/preamble.dcm | grep -qa JUERGEN && ok "the output's preamble is zeros" || fail "preamble: $(head -c 132 "$o" | od -c | head -3)"
expect 0 "and it verifies" -- "$MEDREG" deid verify --config $C --report preout.report.json
printf 'TIFF-ward-7' | dd of="$o" conv=notrunc status=none
expect 1 "verify finds text put back into the preamble" -- "$MEDREG" deid verify --config $C --report preout.report.json
grep -q "^$o,preamble,the file preamble holds bytes other than 0" "$W/o" && ok "named as the preamble" || fail "finding: $(cat "$W/o")"

# the meta header keeps only what a reader needs: a Source Presentation Address (a PACS's URL) and
# an element of no edition naming the hospital and the patient go
mkdir -p metain && sed 's#^(0002,0016) AE .*#&\n(0002,0026) UR [https://pacs.klinik-sonnenberg.example/]\n(0002,fd00) LO [Sonnenberg MUELLER]#' \
  "$SRC/tests/data/dicom/ct1.dump" > meta.dump && dump2dcm --write-xfer-little meta.dump metain/meta.dcm
expect 0 "deid dicom of a meta header with more than a reader needs" -- "$MEDREG" deid dicom --config $C --key hip.key --in metain --out metaout
o=$(find metaout -name '*.dcm' | head -1)
[ "$(tag metain/meta.dcm 0002,0026)" = https://pacs.klinik-sonnenberg.example/ ] && [ -n "$o" ] &&
  [ -z "$(dcmdump +P 0002,0026 "$o")" ] && [ -z "$(dcmdump +P 0002,fd00 "$o")" ] && ! grep -qa -e sonnenberg -e MUELLER "$o" \
  && ok "both removed" || fail "meta: $(dcmdump "$o" | grep '(0002')"
expect 0 "and it verifies" -- "$MEDREG" deid verify --config $C --report metaout.report.json

# a NUL inside a value the profile keeps: C, and a viewer, see "ACME" only, while the bytes after it
# hold the name
mkdir -p nulin && cp in/ct1.dcm nulin/nul.dcm
python3 - nulin/nul.dcm <<'EOP'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
at = data.find(b"ACME Medical")
data[at:at + 12] = "ACME\0Müller".encode()
open(sys.argv[1], "wb").write(data)
EOP
expect 0 "deid dicom of a kept value with the name behind a NUL" -- "$MEDREG" deid dicom --config $C --key hip.key --in nulin --out nulout
o=$(find nulout -name '*.dcm' | head -1)
grep -qa "ACME.Müller" nulin/nul.dcm && [ "$(tag "$o" 0008,0070)" = ACME ] && ! grep -qa "Müller" "$o" \
  && ok "the name is cleaned out of it, as out of any kept text" || fail "NUL: $(dcmdump +P 0008,0070 "$o")"
expect 0 "and it verifies" -- "$MEDREG" deid verify --config $C --report nulout.report.json
# a value the profile keeps, written as UN (unknown VR) in an explicit VR file: bytes to whoever
# does not look the tag up, text to any viewer that does
mkdir -p unin && cp in/ct1.dcm unin/un.dcm
python3 - unin/un.dcm <<'EOP'
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
at = data.find(b"\x08\x00\x70\x00LO")  # Manufacturer, LO
n, = struct.unpack_from("<H", data, at + 6)
value = "Müller ACME!".encode()
data[at:at + 8 + n] = b"\x08\x00\x70\x00UN\x00\x00" + struct.pack("<I", len(value)) + value
open(sys.argv[1], "wb").write(data)
EOP
expect 0 "deid dicom of a kept value written as UN" -- "$MEDREG" deid dicom --config $C --key hip.key --in unin --out unout
o=$(find unout -name '*.dcm' | head -1)
dcmdump +P 0008,0070 unin/un.dcm | grep -q " UN " && dcmdump +P 0008,0070 "$o" | grep -q " LO " &&
  [ "$(tag "$o" 0008,0070)" = " ACME!" ] && ! grep -qa "Müller" "$o" \
  && ok "read as the LO it is, and cleaned" || fail "UN: $(dcmdump +P 0008,0070 "$o")"
expect 0 "and it verifies" -- "$MEDREG" deid verify --config $C --report unout.report.json

# attributes no dictionary here knows (newer than DCMTK's, say), kept by the profile as bytes of
# unknown VR: one holding the name goes, one holding none stays
mkdir -p unkin && sed -e 's#^(0008,1030) LO .*#(0008,9998) UN 4d\\c3\\bc\\6c\\6c\\65\\72\\20\\6e\\6f\\74\\65\n(0008,9999) UN 43\\54\\20\\68\\69\\70#' \
  "$SRC/tests/data/dicom/ct1.dump" > unk.dump
grep -q "(0008,9998) UN" unk.dump && dump2dcm --write-xfer-little unk.dump unkin/unk.dcm
expect 0 "deid dicom of attributes of unknown VR" -- "$MEDREG" deid dicom --config $C --key hip.key --in unkin --out unkout
o=$(find unkout -name '*.dcm' | head -1)
dcmdump +P 0008,9998 unkin/unk.dcm | grep -q " UN " && [ -z "$(dcmdump +P 0008,9998 "$o")" ] &&
  dcmdump +P 0008,9999 "$o" | grep -q "UN 43\\\\54\\\\20\\\\68\\\\69\\\\70" \
  && ok "the one with the name removed, the other kept byte for byte" || fail "unknown VR: $(dcmdump "$o" | grep '(0008,999')"
expect 0 "and it verifies" -- "$MEDREG" deid verify --config $C --report unkout.report.json

# pixel data longer than its image (2 x 2 x 16 bits: 8 bytes), the name and ID in the bytes past it,
# which no viewer shows
mkdir -p tailin && cp in/ct1.dcm tailin/tail.dcm
tail_pixels() { # FILE TEXT: TEXT appended to FILE's Pixel Data, the last element
python3 - "$1" "$2" <<'EOP'
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
at = data.rfind(b"\xe0\x7f\x10\x00OW\x00\x00")
n, = struct.unpack_from("<I", data, at + 8)
assert at + 12 + n == len(data)
text = sys.argv[2].encode()
text += b" " * (len(text) % 2)
struct.pack_into("<I", data, at + 8, n + len(text))
open(sys.argv[1], "wb").write(data + text)
EOP
}
tail_pixels tailin/tail.dcm "Müller^Jürgen PID-4711"
expect 0 "deid dicom of pixel data with the name past its image" -- "$MEDREG" deid dicom --config $C --key hip.key --in tailin --out tailout
o=$(find tailout -name '*.dcm' | head -1)
[ "$(jq '.files[0].actions.pixel_bytes_past_image_removed' tailout.report.json)" = 24 ] && ! grep -qa PID-4711 "$o" &&
  [ "$(dcmdump +P 7fe0,0010 "$o" | sed 's/#.*//')" = "$(dcmdump +P 7fe0,0010 in/ct1.dcm | sed 's/#.*//')" ] \
  && ok "cut to the image (24 bytes counted), the image's own samples unchanged" || fail "tail: $(dcmdump +P 7fe0,0010 "$o")"
expect 0 "and it verifies" -- "$MEDREG" deid verify --config $C --report tailout.report.json
tail_pixels "$o" "ward 7"
expect 1 "verify finds bytes put back past the image" -- "$MEDREG" deid verify --config $C --report tailout.report.json
grep -q "^$o,(7FE0,0010),6 bytes past the image in the pixel data" "$W/o" && ok "named with the element" || fail "finding: $(cat "$W/o")"

# ages (Retain Patient Characteristics keeps Patient's Age): 90 years or more become Safe Harbor's
# "90 or older" (090Y); a value that is no age string may hold anything and is emptied
mkdir -p agein
age_file() { # NAME AGE INSTANCE
  sed "s#^(0010,0040) CS .*#&\n(0010,1010) AS [$2]#" "$SRC/tests/data/dicom/ct1.dump" > age.dump
  dump2dcm --write-xfer-little age.dump "agein/$1.dcm" 2>/dev/null
  dcmodify -nb -i "(0008,0018)=1.2.826.0.1.3680043.2.1125.9.$3" "agein/$1.dcm"
}
age_file old 095Y 140; age_file young 045Y 141; age_file prose "95 years" 142
[ "$(tag agein/old.dcm 0010,1010)" = 095Y ] && [ "$(tag agein/prose.dcm 0010,1010)" = "95 years" ] \
  && ok "inputs with Patient's Age 095Y, 045Y and '95 years'" || fail "age inputs"
expect 0 "deid dicom of the ages" -- "$MEDREG" deid dicom --config $C --key hip.key --in agein --out ageout
aged() { tag "$(jq -r ".files[] | select(.in | endswith(\"/$1.dcm\")) | .out" "$2.report.json")" 0010,1010; }
[ "$(aged old ageout)" = 090Y ] && [ "$(aged young ageout)" = 045Y ] && [ -z "$(aged prose ageout)" ] &&
  [ "$(jq '[.files[].actions.ages_over_89_aggregated] | add' ageout.report.json)" = 1 ] \
  && ok "095Y written 090Y (counted), 045Y kept, '95 years' emptied" \
  || fail "ages: $(aged old ageout) $(aged young ageout) '$(aged prose ageout)'"
expect 0 "and they verify" -- "$MEDREG" deid verify --config $C --report ageout.report.json
old=$(jq -r '.files[] | select(.in | endswith("/old.dcm")) | .out' ageout.report.json)
dcmodify -nb -m "(0010,1010)=097Y" "$old"
expect 1 "verify finds an age over 90 put back" -- "$MEDREG" deid verify --config $C --report ageout.report.json
grep -q "^$old,(0010,1010),an age over 90 years" "$W/o" && ok "named with the element" || fail "finding: $(cat "$W/o")"
sed 's/^options = /ages_over_89 = keep\noptions = /' $C > examples/deid/ages-kept.ini
expect 0 "with ages_over_89 = keep" -- "$MEDREG" deid dicom --config examples/deid/ages-kept.ini --key hip.key --in agein \
  --out agekept
[ "$(aged old agekept)" = 095Y ] && ok "the age is written as it was" || fail "kept: $(aged old agekept)"
expect 0 "and that verifies under the same configuration" -- "$MEDREG" deid verify --config examples/deid/ages-kept.ini \
  --report agekept.report.json
sed 's/^options = /ages_over_89 = 85\noptions = /' $C > examples/deid/ages-bad.ini
expect 7 "any other ages_over_89 is refused" -- "$MEDREG" deid dicom --config examples/deid/ages-bad.ini --key hip.key \
  --in agein --out o3
grep -q "ages-bad.ini:.*ages_over_89 is aggregate" "$W/e" && ok "saying what it may be" || fail "message: $(cat "$W/e")"

# a profile table edited wrongly (the birth date, the address and the referring physician kept): the
# de-identifier follows it, and verify, given the same table, still finds them (it looks for the
# direct identifiers whatever the table says)
sed -e 's#^"(0010,0030)",Patient.s Birth Date,N,Z,#"(0010,0030)",Patient'"'"'s Birth Date,N,K,#' \
    -e 's#^"(0010,1040)",Patient.s Address,N,X,#"(0010,1040)",Patient'"'"'s Address,N,K,#' \
    -e 's#^"(0008,0090)",Referring Physician.s Name,N,Z,#"(0008,0090)",Referring Physician'"'"'s Name,N,K,#' \
    data/dicom-ps3.15-table-e1-1.csv > data/tampered.csv
sed 's#^profile_table = .*#profile_table = ../../data/tampered.csv#' $C > examples/deid/tampered.ini
mkdir -p tamperin && cp in/ct1.dcm tamperin/
expect 0 "deid dicom under a table that keeps three direct identifiers" -- "$MEDREG" deid dicom \
  --config examples/deid/tampered.ini --key hip.key --in tamperin --out tamperout
o=$(find tamperout -name '*.dcm' | head -1)
[ "$(tag "$o" 0010,0030)" = 19610307 ] && [ "$(tag "$o" 0008,0090)" = "Hausarzt^Helga" ] \
  && ok "the de-identifier follows the table (the test's premise)" || fail "tampered table not followed"
expect 1 "verify under that table still fails the output" -- "$MEDREG" deid verify --config examples/deid/tampered.ini \
  --report tamperout.report.json
grep -q "^$o,(0010,0030),an identifying value" "$W/o" && grep -q "^$o,(0010,1040),an identifying value" "$W/o" &&
  grep -q "^$o,(0008,0090),an identifying value" "$W/o" && ok "naming the birth date, the address and the physician" \
  || fail "findings: $(cat "$W/o")"

# a file another tool de-identified before (institution and referring physician "ANONYMIZED", birth
# date 19000101): the values medreg writes itself for such attributes name no one, and the output verifies
sed -e 's#^(0008,0080) LO .*#(0008,0080) LO [ANONYMIZED]#' -e 's#^(0008,0090) PN .*#(0008,0090) PN [Anonymized]#' \
    -e 's#^(0010,0030) DA .*#(0010,0030) DA [19000101]#' "$SRC/tests/data/dicom/ct1.dump" > anon.dump
mkdir -p anonin && dump2dcm --write-xfer-little anon.dump anonin/anon.dcm 2>/dev/null
expect 0 "deid dicom of a file de-identified before" -- "$MEDREG" deid dicom --config $C --key hip.key --in anonin --out anonout
expect 0 "its output verifies (ANONYMIZED and 19000101 are no survivors)" -- "$MEDREG" deid verify --config $C \
  --report anonout.report.json
o=$(find anonout -name '*.dcm' | head -1)
dcmodify -nb -m "(0008,1030)=CT hip Requester" "$o"
expect 1 "while the same file's other values are still found" -- "$MEDREG" deid verify --config $C --report anonout.report.json

# short identifying values that are also codes and numbers of the same file: Study ID "400" and the
# Window Width 400, Series Number 12 and Admission ID "12", the department "CT" and the Modality CT.
# The outputs keep the width, number and modality (the input's own values there) and verify; the
# same short value moved into another element, and a long one in a kept code string, are found
sed -e 's#^(0020,0010) SH .*#(0020,0010) SH [400]#' -e 's#^(0008,0060) CS .*#&\n(0008,1040) LO [CT]\n(0018,0015) CS [HIP]#' \
    -e 's#^(0020,0013) IS .*#&\n(0020,0011) IS [12]\n(0028,1050) DS [40]\n(0028,1051) DS [400]\n(0038,0010) LO [12]#' \
    "$SRC/tests/data/dicom/ct1.dump" > codes.dump
mkdir -p codesin && dump2dcm --write-xfer-little codes.dump codesin/codes.dcm 2>/dev/null
sed -e 's#^(0008,0060) CS .*#&\n(0018,0015) CS [PID-4711]#' -e 's#^(0020,0010) SH .*#(0020,0010) SH [400]#' \
    -e 's#^(0020,0013) IS .*#&\n(0028,1051) DS [350]#' -e 's#^(0008,0018) UI .*#(0008,0018) UI [1.2.826.0.1.3680043.2.1125.9.150]#' \
    "$SRC/tests/data/dicom/ct1.dump" > codes2.dump
dump2dcm --write-xfer-little codes2.dump codesin/codes2.dcm 2>/dev/null
expect 0 "deid dicom of files whose short identifying values are also their codes" -- "$MEDREG" deid dicom --config $C \
  --key hip.key --in codesin --out codesout
oc=$(jq -r '.files[] | select(.in | endswith("/codes.dcm")) | .out' codesout.report.json)
oc2=$(jq -r '.files[] | select(.in | endswith("/codes2.dcm")) | .out' codesout.report.json)
[ "$(tag "$oc" 0028,1051)" = 400 ] && [ "$(tag "$oc" 0020,0011)" = 12 ] && [ "$(tag "$oc" 0008,0060)" = CT ] \
  && ok "the width, the series number and the modality kept" || fail "codes: $(dcmdump "$oc" | grep -E '0028,1051|0020,0011|0008,0060')"
expect 1 "verify: the patient ID in a kept code string is found, nothing else" -- "$MEDREG" deid verify --config $C \
  --report codesout.report.json
[ "$(grep -c . "$W/o")" = 2 ] && grep -q "^$oc2,(0018,0015),an identifying value" "$W/o" && grep -q "^$oc2,raw bytes" "$W/o" \
  && ok "one finding in its element and one in the raw bytes, none for the codes" || fail "findings: $(cat "$W/o")"
dcmodify -nb -m "(0018,0015)=CHEST" "$oc2"
expect 0 "with it gone the outputs verify" -- "$MEDREG" deid verify --config $C --report codesout.report.json
dcmodify -nb -m "(0028,1051)=400" "$oc2"
expect 1 "the Study ID moved into a width that was 350 is found" -- "$MEDREG" deid verify --config $C \
  --report codesout.report.json
grep -q "^$oc2,(0028,1051),an identifying value" "$W/o" && ok "named with the element" || fail "finding: $(cat "$W/o")"

# what cleaning leaves, and what the profile keeps as it was: a series description "CT hip" without the
# requesting physician "Hip" is "CT", the institution (a two-byte value, never cleaned out of text, is
# found standing alone): emptied; a comment that is the operator's two-letter name: emptied; the study
# date written into a description: taken out. Under the basic profile with retain_uids, the study
# description "PELVIS" beside the Body Part Examined PELVIS, and the kept instance UID in the meta
# header: the outputs verify
sed -e 's#^(0008,0080) LO .*#(0008,0080) LO [CT]#' -e 's#^(0032,1032) PN .*#(0032,1032) PN [Hip]#' \
    -e 's#^(0008,1030) LO .*#(0008,1030) LO [Follow-up 20210504]\n(0008,103e) LO [CT hip]\n(0008,1070) PN [Ng]\n(0020,4000) LT [Ng]#' \
    "$SRC/tests/data/dicom/ct1.dump" > left.dump
mkdir -p leftin && dump2dcm --write-xfer-little left.dump leftin/left.dcm 2>/dev/null
expect 0 "deid dicom of text that cleaning leaves a short value" -- "$MEDREG" deid dicom --config $C --key hip.key \
  --in leftin --out leftout
o=$(find leftout -name '*.dcm' | head -1)
[ -z "$(tag "$o" 0008,103e)" ] && [ -z "$(tag "$o" 0020,4000)" ] && [ "$(tag "$o" 0008,1030)" = "Follow-up" ] \
  && ok "'CT hip' and 'Ng' emptied, the date taken out of 'Follow-up 20210504'" \
  || fail "left: '$(tag "$o" 0008,103e)' '$(tag "$o" 0020,4000)' '$(tag "$o" 0008,1030)'"
expect 0 "and it verifies" -- "$MEDREG" deid verify --config $C --report leftout.report.json
printf '[deid]\nmodule = ../hip.ini\nprofile_table = ../../data/dicom-ps3.15-table-e1-1.csv\noptions = retain_uids\n' > examples/deid/uids.ini
sed -n '/^\[identifiers\]/,$p' $C >> examples/deid/uids.ini
sed -e 's#^(0008,1030) LO .*#(0008,1030) LO [PELVIS]\n(0018,0015) CS [PELVIS]#' "$SRC/tests/data/dicom/ct1.dump" > pelvis.dump
mkdir -p pelvisin && dump2dcm --write-xfer-little pelvis.dump pelvisin/pelvis.dcm 2>/dev/null
expect 0 "deid dicom under the basic profile with retain_uids" -- "$MEDREG" deid dicom --config examples/deid/uids.ini \
  --key hip.key --in pelvisin --out pelvisout
o=$(find pelvisout -name '*.dcm' | head -1)
[ "$(tag "$o" 0002,0003)" = "$(tag pelvisin/pelvis.dcm 0008,0018)" ] && [ "$(tag "$o" 0008,0018)" = "$(tag pelvisin/pelvis.dcm 0008,0018)" ] &&
  [ -z "$(tag "$o" 0008,1030)" ] && [ "$(tag "$o" 0018,0015)" = PELVIS ] \
  && ok "both instance UIDs kept, the description gone, the body part kept" || fail "uids: $(dcmdump "$o" | grep -E '0002,0003|0008,0018|0008,1030|0018,0015')"
expect 0 "and it verifies" -- "$MEDREG" deid verify --config examples/deid/uids.ini --report pelvisout.report.json
# the kept body part explains one PELVIS in the bytes, not a second copy hidden where no element
# shows it as text (here in the pixels, 1,000 bytes before the end)
cp "$o" pelvis-keep.dcm
python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(-1000, 2); f.write(b"PELVIS")' "$o"
expect 1 "a second PELVIS in the pixel bytes fails verify" -- "$MEDREG" deid verify --config examples/deid/uids.ini \
  --report pelvisout.report.json
grep -q "raw bytes,an identifying value of the input survives in the file's bytes" "$W/o" && ok "found in the raw bytes" ||
  fail "finding: $(cat "$W/o")"
cp pelvis-keep.dcm "$o"

# an archive's mix (dicom_mix.py): 200 files whose identifying values collide with each other and with
# what the profile keeps, under three option sets: every output verifies, and dcmdump finds none of the
# patients' IDs, accession and admission numbers or names of four characters or more in any output
mkdir -p mixin && "$SRC/tests/integration/dicom_mix.py" 7 200 mixin
sed 's/^options = .*/options = clean_descriptors retain_patient_characteristics/' $C > examples/deid/mix3.ini
for mc in $C examples/deid/uids.ini examples/deid/mix3.ini; do
  rm -rf mixout mixout.quarantine mixout.report.json
  "$MEDREG" deid dicom --config "$mc" --key hip.key --in mixin --out mixout >/dev/null 2>&1 || true
  [ "$(jq .written mixout.report.json)" = 200 ] && "$MEDREG" deid verify --config "$mc" --report mixout.report.json \
    >"$W/o" 2>&1 && "$SRC/tests/integration/dicom_mix.py" check mixout.report.json >>"$W/o" \
    && ok "the mix under $(basename "$mc"): 200 written, verified, no ID or name left" \
    || fail "the mix under $(basename "$mc"): $(head -5 "$W/o")"
done

# a content date as many days after the study date as the patient's shift: the study date, shifted,
# lands on the input's content date. That is no survivor; the study date left unshifted is
sed -e "s#^(0008,0021) DA .*#&\\n(0008,0023) DA [$d1]#" -e 's#^(0008,0018) UI .*#(0008,0018) UI [1.2.826.0.1.3680043.2.1125.9.160]#' \
    "$SRC/tests/data/dicom/ct1.dump" > onto.dump
mkdir -p ontoin && dump2dcm --write-xfer-little onto.dump ontoin/onto.dcm 2>/dev/null
expect 0 "deid dicom of a file with two dates the shift apart" -- "$MEDREG" deid dicom --config $C --key hip.key \
  --in ontoin --out ontoout
o=$(find ontoout -name '*.dcm' | head -1)
[ "$(tag "$o" 0008,0020)" = "$d1" ] && [ "$(tag "$o" 0008,0023)" != "$d1" ] \
  && ok "the study date shifted onto the input's content date (the test's premise)" || fail "dates: $(dcmdump "$o" | grep DA)"
expect 0 "which verifies" -- "$MEDREG" deid verify --config $C --report ontoout.report.json
dcmodify -nb -m "(0008,0020)=20210504" "$o"
expect 1 "the study date put back unshifted is found" -- "$MEDREG" deid verify --config $C --report ontoout.report.json
grep -q "^$o,(0008,0020),an identifying value" "$W/o" && grep -q "^$o,raw bytes" "$W/o" \
  && ok "in its element and in the raw bytes" || fail "finding: $(cat "$W/o")"

# the same instance twice (an export that repeats an image): one output, the other named as such,
# whichever of two threads gets there first
mkdir -p dup && for i in 1 2 3 4; do cp in/ct1.dcm dup/copy$i.dcm; done
expect 0 "the same SOP instance four times" -- "$MEDREG" deid dicom --config $C --key hip.key --in dup --out dout --threads 4
[ "$(jq '.written' dout.report.json)" = 4 ] && [ "$(jq '.already_there' dout.report.json)" = 3 ] &&
  [ "$(find dout -name '*.dcm' | wc -l)" = 1 ] && [ "$(jq -r '.files[].out' dout.report.json | sort -u | wc -l)" = 1 ] &&
  [ ! -e dout/.medreg-partial ] && ok "one output, the three others found there with the same bytes, no temporary left" \
  || fail "duplicates: $(cat "$W/o" "$W/e")"
# the same SOP Instance UID on another image: never written over the first
cp in/ct1.dcm dup/other.dcm && dcmodify -nb -m "(0008,0070)=Other Maker" dup/other.dcm >/dev/null 2>&1
rm -rf dout dout.*
expect 4 "another image with the same SOP Instance UID" -- "$MEDREG" deid dicom --config $C --key hip.key --in dup --out dout
[ "$(jq -r '.files[] | select(.in | endswith("other.dcm")) | .outcome' dout.report.json)" = skipped ] &&
  grep -q "skipped dup/other.dcm: not written: another file is there already" "$W/e" &&
  ok "is skipped and named" || fail "same UID, other image: $(cat "$W/e")"

# text in other character sets: the same patient written in Latin-1 has the same PSN; a name in
# Cyrillic, Greek or Japanese (ISO 2022, which DCMTK on glibc does not convert) is found in capitals in
# a description and removed; every output is UTF-8; a character set nobody knows is a skip, with why
mkdir -p cin
charset() { # NAME TERM ICONV PATIENT DESCRIPTION UID-SUFFIX
  sed -e "s/ISO_IR 192/$2/" -e "s/Müller^Jürgen/$4/" -e "s/CT hip Müller follow-up/$5/" \
      -e "s/1125\.9\.111\]/1125.9.$6]/" "$SRC/tests/data/dicom/ct1.dump" | iconv -f UTF-8 -t "$3" > $1.dump
  dump2dcm --write-xfer-little $1.dump cin/$1.dcm; }
charset latin1 "ISO_IR 100" ISO-8859-1 "Müller^Jürgen" "CT hip MÜLLER JÜRGEN follow-up" 301
charset cyrillic "ISO_IR 144" ISO-8859-5 "Иванов^Иван" "КТ ИВАНОВ контроль" 302
charset greek "ISO_IR 126" ISO-8859-7 "Παπαδόπουλος^Νίκος" "CT ΠΑΠΑΔΌΠΟΥΛΟΣ hip" 303
charset japanese '\\ISO 2022 IR 87' ISO-2022-JP "Yamada^Tarou=山田^太郎" "CT 山田 太郎 follow-up" 304
charset unknown "ISO_IR 999" UTF-8 "Muster^Eva" "CT" 305
grep -qa $'M\xfcller' latin1.dump && grep -qa $'\x1b$B' japanese.dump && ok "inputs in Latin-1, ISO 8859-5, ISO 8859-7 and ISO 2022" \
  || fail "charset inputs"
expect 4 "deid dicom of files in five character sets" -- "$MEDREG" deid dicom --config $C --key hip.key --in cin --out cout
grep -q "5 files: 4 written" "$W/o" && grep -q "unknown.dcm: its text cannot be read in its character set 'ISO_IR 999'" "$W/e" \
  && ok "four written; the unknown character set skipped with its name" || fail "charsets: $(cat "$W/o" "$W/e")"
cout() { jq -r --arg n "/$1.dcm" '.files[] | select(.in | endswith($n)) | .out' cout.report.json; }
[ "$(tag "$(cout latin1)" 0010,0020)" = "$(tag "$o1" 0010,0020)" ] \
  && ok "a patient's PSN is the same whether the file is in Latin-1 or UTF-8" || fail "Latin-1 PSN"
printf 'fam,giv,dob\nИванов,Иван,19610307\n' > pc.csv
"$MEDREG" pseudonymize csv --config p.ini --key hip.key --in pc.csv --out pc.out.csv >/dev/null
[ "$(sed -n 2p pc.out.csv | tr -d '\r')" = "$(tag "$(cout cyrillic)" 0010,0020)" ] \
  && ok "a Cyrillic name from ISO 8859-5 gets the CSV tool's PSN" || fail "Cyrillic PSN"
bad=0
for c in "latin1|CT hip   follow-up" "cyrillic|КТ  контроль" "greek|CT  hip" "japanese|CT   follow-up"; do
  f=$(cout "${c%%|*}")
  [ "$(tag "$f" 0008,0005)" = "ISO_IR 192" ] && [ "$(tag "$f" 0008,1030)" = "${c#*|}" ] \
    || { bad=1; echo "${c%%|*}: '$(tag "$f" 0008,0005)' '$(tag "$f" 0008,1030)'"; }
done
[ $bad = 0 ] && ok "each output is UTF-8 and its description lost the name in capitals (final sigma, kanji too)" \
  || fail "charset outputs"
expect 0 "and they verify" -- "$MEDREG" deid verify --config $C --report cout.report.json
cp cin/latin1.dcm "$(cout latin1)" # as a tool that changes nothing would leave it, in Latin-1
expect 1 "verify reads an output in Latin-1 too" -- "$MEDREG" deid verify --config $C --report cout.report.json
# an old device writes Latin-1 and declares nothing: skipped, saying what to do; the configuration
# that says so reads it, with the same PSN
mkdir -p nocs && grep -av "^(0008,0005)" latin1.dump > nocs.dump && dump2dcm --write-xfer-little nocs.dump nocs/old.dcm
expect 4 "a Latin-1 name in a file that declares no character set" -- "$MEDREG" deid dicom --config $C --key hip.key \
  --in nocs --out nout
grep -q "is not text in the file's character set (a file that declares none is read as ASCII; assume_character_set" \
  "$W/e" && ok "is skipped, and the message says what to do" || fail "no charset: $(cat "$W/e")"
sed 's/^options = /assume_character_set = ISO_IR 100\noptions = /' $C > examples/deid/assume.ini
expect 0 "with assume_character_set = ISO_IR 100" -- "$MEDREG" deid dicom --config examples/deid/assume.ini --key hip.key \
  --in nocs --out nout2
[ "$(tag "$(jq -r '.files[0].out' nout2.report.json)" 0010,0020)" = "$(tag "$o1" 0010,0020)" ] && \
  [ "$(tag "$(jq -r '.files[0].out' nout2.report.json)" 0008,0005)" = "ISO_IR 192" ] \
  && ok "it is read as Latin-1: the same PSN, written in UTF-8" || fail "assumed PSN"
expect 0 "and verifies under the same configuration" -- "$MEDREG" deid verify --config examples/deid/assume.ini \
  --report nout2.report.json
sed 's/^options = /assume_character_set = ISO_IR 999\noptions = /' $C > examples/deid/assume-bad.ini
expect 7 "a character set nobody reads is refused at load" -- "$MEDREG" deid dicom --config examples/deid/assume-bad.ini \
  --key hip.key --in nocs --out nout3

# burned-in text blanked where a pixel rule says a device prints it: an ultrasound of 64 x 32 RGB
# pixels whose top 8 rows are the banner (255) over the image (128), as it is and compressed (JPEG
# baseline, RLE); the same device at another size, and pixels the blanking cannot read, stay in the
# quarantine
python3 - <<'EOP'
import struct
def bmp(name, w, h):
    rows = [bytes([255 if h - 1 - y < 8 else 128] * 3 * w) for y in range(h)]  # BMP rows run bottom-up
    pix = b"".join(rows)
    hdr = b"BM" + struct.pack("<IHHI", 54 + len(pix), 0, 0, 54)
    open(name, "wb").write(hdr + struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(pix), 2835, 2835, 0, 0) + pix)
bmp("banner.bmp", 64, 32)
bmp("banner-big.bmp", 64, 40)
EOP
mkdir -p pin
for b in banner banner-big; do
  img2dcm -i BMP $b.bmp pin/$b.dcm -k "PatientName=Müller^Jürgen" -k "PatientBirthDate=19610307" -k "PatientID=PID-4711" \
    -k "SpecificCharacterSet=ISO_IR 192" -k "Modality=US" -k "Manufacturer=ACME Medical"
done
dcmcjpeg +eb pin/banner.dcm pin/banner-jpeg.dcm && dcmodify -nb -i "(0008,0018)=1.2.826.0.1.3680043.2.1125.9.400" pin/banner-jpeg.dcm
dcmcrle pin/banner.dcm pin/banner-rle.dcm && dcmodify -nb -i "(0008,0018)=1.2.826.0.1.3680043.2.1125.9.401" pin/banner-rle.dcm
cp pin/banner.dcm pin/banner-ybr.dcm # subsampled colour: two pixels share their chroma, not blanked here
dcmodify -nb -i "(0028,0004)=YBR_FULL_422" -i "(0008,0018)=1.2.826.0.1.3680043.2.1125.9.402" pin/banner-ybr.dcm
cp pin/banner-jpeg.dcm pin/banner-frames.dcm # a compressed file that claims 2.4 GB of frames decoded
dcmodify -nb -i "(0028,0008)=400000" -i "(0008,0018)=1.2.826.0.1.3680043.2.1125.9.403" pin/banner-frames.dcm
printf 'modality,manufacturer,model,rows,columns,x,y,width,height\n# the banner of the ACME scanner\nUS,ACME Medical,*,32,64,0,0,64,8\n' \
  > examples/deid/pixel-rules.csv
sed 's/^safe_private = .*/&\npixel_rules = pixel-rules.csv/' $C > examples/deid/pixels.ini
expect 0 "deid dicom with pixel rules" -- "$MEDREG" deid dicom --config examples/deid/pixels.ini --key hip.key --in pin --out pout
grep -q "6 files: 3 written to pout, 3 quarantined" "$W/o" && ok "the matching images written, the others quarantined" \
  || fail "pixel counts: $(cat "$W/o")"
pf() { jq -r --arg n "/$1.dcm" --arg k "$2" '.files[] | select(.in | endswith($n)) | .[$k]' pout.report.json; }
po=$(pf banner out)
[ "$(pf banner outcome)" = written ] && [ "$(tag "$po" 0028,0301)" = NO ] && dcmdump "$po" | grep -c "113101" >/dev/null &&
  pf banner reason | grep -c "blanked by the pixel rules: 1 region (line 3)" >/dev/null \
  && ok "blanked: Burned In Annotation NO, Clean Pixel Data Option in the method codes, the rule's line in the report" \
  || fail "blanked: $(pf banner reason)"
blanked() { # OUTPUT [lossy]: the banner's rows are all 0, the image's 128 (near it, if lossy)
  dcm2pnm --write-raw-pnm "$1" "$1.ppm" && python3 - "$1.ppm" "${2:-}" <<'EOP'
import sys
d = open(sys.argv[1], "rb").read()
magic, size, maxval, px = d.split(b"\n", 3)
w, h = map(int, size.split())
rows = [set(px[r * w * 3:(r + 1) * w * 3]) for r in range(h)]
image = all(r == {128} for r in rows[8:]) if not sys.argv[2] else all(max(abs(v - 128) for v in r) < 8 for r in rows[10:])
sys.exit(0 if magic == b"P6" and (w, h) == (64, 32) and all(r == {0} for r in rows[:8]) and image else 1)
EOP
}
blanked "$po" && ok "the banner's rows are 0, the image's rows untouched" || fail "pixels"
xfer_of() { dcmdump -Un +P 0002,0010 "$1" | sed -n 's/.*\[\(.*\)\].*/\1/p'; }
for c in jpeg rle; do
  o=$(pf banner-$c out)
  [ "$(pf banner-$c outcome)" = written ] && [ "$(xfer_of "$o")" = 1.2.840.10008.1.2.1 ] && blanked "$o" $([ $c = jpeg ] && echo lossy) \
    && ok "$c-compressed: decoded, blanked, written uncompressed (no compressed copy left)" || fail "$c: $(pf banner-$c reason)"
done
[ "$(pf banner-big outcome)" = quarantined ] && pf banner-big reason | grep -c "check them$" >/dev/null \
  && ok "another size of the same device: no rule, quarantined" || fail "big: $(pf banner-big reason)"
[ "$(pf banner-ybr outcome)" = quarantined ] && pf banner-ybr reason | grep -c "rule of line 3 matches, but this photometric" >/dev/null \
  && ok "pixels it cannot blank: the rule matches, but they stay quarantined, and the report says why" || fail "ybr: $(pf banner-ybr reason)"
[ "$(pf banner-frames outcome)" = quarantined ] && pf banner-frames reason | grep -c "would take more than 2 GiB" >/dev/null \
  && ok "a compressed file claiming 400,000 frames is not decoded" || fail "frames: $(pf banner-frames reason)"
expect 0 "and the outputs verify" -- "$MEDREG" deid verify --config examples/deid/pixels.ini --report pout.report.json
mkdir -p pxraw && dcmdump +W pxraw pin/banner.dcm >/dev/null && cp "$po" blanked.keep
dcmodify -nb -mf "(7fe0,0010)=$(ls pxraw/*.raw | head -1)" "$po" # the banner back, Burned In Annotation still NO
expect 1 "verify catches a banner the output says is gone" -- "$MEDREG" deid verify --config examples/deid/pixels.ini \
  --report pout.report.json
grep -q "pixels,the regions of the pixel rule of line 3 are not blank" "$W/o" && ok "and names the rule's line" \
  || fail "pixel finding: $(cat "$W/o")"
cp blanked.keep "$po"
printf 'modality,manufacturer,model,rows,columns,x,y,width,height\nUS,*,*,32,64,0,30,64,8\n' > examples/deid/pixel-rules.csv
expect 7 "a region outside its image is refused" -- "$MEDREG" deid dicom --config examples/deid/pixels.ini --key hip.key \
  --in pin --out pout2
grep -q "pixel-rules.csv:2: the region must be inside the image" "$W/e" && [ ! -e pout2 ] \
  && ok "naming the file and line, before anything is written" || fail "bad rule: $(cat "$W/e")"

# a file name that is not UTF-8 (Latin-1, as on old media): de-identified, named in the report for
# people, its bytes in in_hex, and verify opens it by those
mkdir -p latin && cp in/ct1.dcm "latin/$(printf 'M\xfcller.dcm')"
expect 0 "a file name in Latin-1 is de-identified" -- "$MEDREG" deid dicom --config $C --key hip.key --in latin \
  --out lout
[ "$(jq -r '.files[0].in_hex' lout.report.json)" = "$(printf 'latin/M\xfcller.dcm' | od -An -tx1 | tr -d ' \n')" ] &&
  jq -r '.files[0].in' lout.report.json | grep -q "^latin/M.*ller.dcm$" && ok "the report names it, with its bytes" ||
  fail "latin report: $(cat lout.report.json)"
lo=$(jq -r '.files[0].out' lout.report.json)
cp "$lo" lkeep.dcm && dcmodify -nb -m "(0008,1030)=CT of Müller" "$lo" >/dev/null 2>&1
expect 1 "verify opens the input by its bytes, and finds a survivor" -- "$MEDREG" deid verify --config $C \
  --report lout.report.json
cp lkeep.dcm "$lo"
expect 0 "and passes once it is gone" -- "$MEDREG" deid verify --config $C --report lout.report.json

# the report is written as files are done, under REPORT.partial until the
# end: a run killed half-way leaves no report that looks whole; the next
# run takes the .partial as its own
mkdir -p many && for k in 0 1 2; do # 500 copies at a time by one tee: a cp each took 10 s
  tee $(seq -f "many/%g.dcm" $((k * 500 + 1)) $((k * 500 + 500))) < in/ct1.dcm > /dev/null
done
(cd many && ls | xargs -n 500 dcmodify -nb -gin -gse -gst >/dev/null 2>&1)
sleep 1.1 # a file changed within the second before it is read is read again by the next run: not these
"$MEDREG" deid dicom --config $C --key hip.key --in many --out kout --threads 1 >/dev/null 2>&1 & pid=$!
for _ in $(seq 1 1000); do [ "$(stat -c %s kout.report.json.partial 2>/dev/null || echo 0)" -gt 3000 ] && break; sleep 0.01; done
if kill -9 $pid 2>/dev/null; then
  wait $pid 2>/dev/null || true
  [ ! -e kout.report.json ] && [ "$(stat -c %a kout.report.json.partial)" = 600 ] \
    && ok "killed half-way: no report, only the .partial (0600)" || fail "killed: $(ls kout.report.json*)"
  expect 7 "and that is refused by verify as cut" -- "$MEDREG" deid verify --config $C --report kout.report.json.partial
  # what a killed run leaves half-written: in OUT/.medreg-partial, never under an output's name;
  # one of a process gone and one of another host (a shared folder) planted beside it
  dead=$(sh -c 'echo $$')
  echo half > "kout/.medreg-partial/$(hostname).$dead.1.dcm"; echo other > kout/.medreg-partial/elsewhere.1.1.dcm
  expect 0 "the run again into the same folder finishes the job" -- "$MEDREG" deid dicom --config $C --key hip.key \
    --in many --out kout
  [ ! -e kout.report.json.partial ] && [ "$(jq -r '.written' kout.report.json)" = 1500 ] &&
    [ "$(jq -r '.already_there' kout.report.json)" -gt 0 ] && [ "$(jq -r '.files | length' kout.report.json)" = 1500 ] &&
    ok "the report whole, what the first run wrote found there, the .partial gone" ||
    fail "after the kill: $(ls kout.report.json*) $(cat "$W/o")"
  [ "$(ls kout/.medreg-partial)" = elsewhere.1.1.dcm ] && [ -z "$(find kout -name '*.tmp')" ] && [ "$(find kout -name '*.dcm' | wc -l)" = 1501 ] &&
    ok "the files half-written by the killed run are gone, another host's left alone" ||
    fail "partial: $(ls kout/.medreg-partial | tr "\n" " "), $(find kout -name "*.dcm" | wc -l) files"
  expect 0 "and every output of both runs verifies" -- "$MEDREG" deid verify --config $C --report kout.report.json
  grep -q "^1500 outputs checked" "$W/o" && ok "all 1500" || fail "verify after the kill: $(cat "$W/o")"
  killed_read=$(jq -r '.not_read_again' kout.report.json)
  [ "$killed_read" -gt 0 ] && [ "$(jq '[.files[] | select(.not_read_again)] | length' kout.report.json)" = "$killed_read" ] &&
    ok "what the killed run's .partial said it finished was not read again ($killed_read files)" ||
    fail "not read again: $killed_read"
  # a run again over an input that changed: one file touched, one output removed, one file new
  cp many/7.dcm many/new.dcm && dcmodify -nb -gin -gse -gst many/new.dcm >/dev/null 2>&1
  touch many/5.dcm
  rm "$(jq -r '.files[] | select(.in == "many/9.dcm") | .out' kout.report.json)"
  gone_out=$(jq -r '.files[] | select(.in == "many/3.dcm") | .out' kout.report.json)
  rm many/3.dcm # an image withdrawn from the archive
  expect 0 "the run again over the grown input" -- "$MEDREG" deid dicom --config $C --key hip.key --in many --out kout
  entry() { jq -c --arg in "many/$1.dcm" '.files[] | select(.in == $in) | [.outcome, .not_read_again, .already_there]' kout.report.json; }
  [ "$(jq -r '.not_read_again' kout.report.json)" = 1497 ] && [ "$(jq -r '.written' kout.report.json)" = 1500 ] &&
    [ "$(entry 5)" = '["written",null,true]' ] && [ "$(entry 9)" = '["written",null,null]' ] &&
    [ "$(entry new)" = '["written",null,null]' ] && [ "$(entry 6)" = '["written",true,null]' ] &&
    grep -q "; 1497 not read again: unchanged since the earlier run's report" "$W/o" &&
    ok "only the new file, the touched one and the one whose output was gone are read" ||
    fail "grown input: $(cat "$W/o") $(entry 5) $(entry 9) $(entry new)"
  [ "$(jq -r '.gone' kout.report.json)" = 1 ] && [ "$(entry 3)" = '["gone",null,null]' ] &&
    [ "$(jq -r '.files[] | select(.in == "many/3.dcm") | .out' kout.report.json)" = "$gone_out" ] && [ -f "$gone_out" ] &&
    grep -q "gone from the input since the earlier run: many/3.dcm; its output stays: $gone_out" "$W/e" &&
    grep -q "1 gone from the input since the earlier run whose outputs stay" "$W/o" &&
    ok "the withdrawn image is named with its output, which stays, in the report and on stderr" ||
    fail "gone: $(entry 3) $(cat "$W/e")"
  expect 0 "its report verifies whole" -- "$MEDREG" deid verify --config $C --report kout.report.json
  grep -q "^1500 outputs checked" "$W/o" && grep -q "^1 outputs not checked: their inputs are gone" "$W/o" &&
    ok "all 1500, those not read again among them; the one whose input is gone named apart" || fail "verify: $(cat "$W/o")"
  expect 0 "verify --new-only" -- "$MEDREG" deid verify --config $C --report kout.report.json --new-only
  grep -q "^3 outputs checked" "$W/o" && grep -q "^1497 outputs not checked again (--new-only)" "$W/o" &&
    ok "checks only the three this run wrote, and says so of the rest" || fail "verify --new-only: $(cat "$W/o")"
  expect 0 "--read-all reads every file" -- "$MEDREG" deid dicom --config $C --key hip.key --in many --out kout --read-all
  [ "$(jq -r '.not_read_again' kout.report.json)" = 0 ] && [ "$(jq -r '.already_there' kout.report.json)" = 1500 ] &&
    [ "$(jq -r '.gone' kout.report.json)" = 1 ] &&
    ok "and finds every output there, the withdrawn image's still named" || fail "--read-all: $(cat "$W/o")"
  rm "$gone_out"
  expect 0 "once the withdrawn image's output is removed" -- "$MEDREG" deid dicom --config $C --key hip.key --in many --out kout
  # (the two files changed just before the run before may be read again: they changed within a second of it)
  [ "$(jq -r '.gone' kout.report.json)" = 0 ] && [ "$(jq -r '.not_read_again' kout.report.json)" -ge 1498 ] &&
    ok "it is named no more" || fail "after removing the output: $(cat "$W/o")"
  cp kout.report.json kout-2026-11.json
  expect 0 "a run whose report gets a name of its own, --since the last one" -- "$MEDREG" deid dicom --config $C \
    --key hip.key --in many --out kout --report kout-2026-12.json --since kout-2026-11.json
  [ "$(jq -r '.not_read_again' kout-2026-12.json)" -ge 1498 ] && [ ! -e kout-2026-12.json.partial ] &&
    ok "takes that report up" || fail "--since: $(cat "$W/o" "$W/e")"
  expect 7 "--since a report that is not there" -- "$MEDREG" deid dicom --config $C --key hip.key --in many --out kout2 \
    --report kout-2027-01.json --since kout-2026-10.json
  grep -q "since kout-2026-10.json: No such file" "$W/e" && [ ! -e kout-2027-01.json ] && [ ! -e kout-2027-01.json.partial ] &&
    [ ! -e kout2 ] &&
    ok "is refused before anything is written" || fail "--since missing: $(cat "$W/e")"
  rm -f kout-2026-1[12].json
  # a run that reads all again, killed: the next takes its .partial up to the cut and the report before it behind that
  "$MEDREG" deid dicom --config $C --key hip.key --in many --out kout --read-all --threads 1 >/dev/null 2>&1 & pid=$!
  for _ in $(seq 1 1000); do [ "$(stat -c %s kout.report.json.partial 2>/dev/null || echo 0)" -gt 3000 ] && break; sleep 0.01; done
  if kill -9 $pid 2>/dev/null; then
    wait $pid 2>/dev/null || true
    expect 0 "a run again after that one was killed" -- "$MEDREG" deid dicom --config $C --key hip.key --in many --out kout
    [ "$(jq -r '.not_read_again' kout.report.json)" -ge 1498 ] &&
      ok "takes the killed run's .partial, and the report before it behind the cut ($(jq -r '.not_read_again' kout.report.json) not read again)" ||
      fail "after the second kill: $(cat "$W/o")"
  else
    fail "the run reading all ended before it could be killed"
  fi
  sed 's/ retain_device_identity//' $C > examples/deid/other.ini
  expect 4 "another configuration trusts nothing of the earlier run" -- "$MEDREG" deid dicom --config examples/deid/other.ini \
    --key hip.key --in many --out kout
  grep -q "every file is read: kout.report.json was made for another input or output, or under another key, configuration" "$W/e" && ok "and says so" ||
    fail "another configuration: $(cat "$W/e")"
else
  fail "the run ended before it could be killed"
fi
rm -rf many kout kout.*

# where which code runs cannot be told (no /proc: a sandbox), nothing is taken up, and the run goes on
if unshare -m sh -c 'mount -t tmpfs none /proc && "$0" key new "$1"' "$MEDREG" "$W/probe.key" >/dev/null 2>&1; then
  "$MEDREG" deid dicom --config $C --key hip.key --in in/ct1.dcm --out pout1 >/dev/null 2>&1
  expect 0 "a run again without /proc" -- unshare -m sh -c 'mount -t tmpfs none /proc && exec "$@"' sh "$MEDREG" \
    deid dicom --config $C --key hip.key --in in/ct1.dcm --out pout1
  grep -q "every file is read: which code runs cannot be told here" "$W/e" && [ "$(jq .not_read_again pout1.report.json)" = 0 ] &&
    [ "$(jq .already_there pout1.report.json)" = 1 ] && ok "reads every file, and says why" || fail "no /proc: $(cat "$W/e")"
  rm -rf pout1 pout1.*
else
  echo "skipped: no mount namespace here, or this build needs /proc to start (AddressSanitizer)"
fi

# an output inside the input would be walked into and read back as input
expect 7 "an output folder inside the input folder is refused" -- "$MEDREG" deid dicom --config $C --key hip.key \
  --in in --out in/nested/research
grep -q "must lie outside the input folder" "$W/e" && [ ! -e in/nested/research ] && ok "before anything is created" ||
  fail "inside: $(cat "$W/e")"
expect 7 "so is a report there" -- "$MEDREG" deid dicom --config $C --key hip.key --in in --out o4 --report in/r.json
[ ! -e o4 ] && [ ! -e in/r.json.partial ] && ok "nothing created for it either" || fail "report inside"

# a CT over 4 MiB (read by DCMTK's file stream; smaller ones are read whole),
# one of 2 MiB (written in pieces), and one cut inside its pixels: the two
# written with their pixels byte for byte, the cut one skipped, nothing of it written
mkdir -p sizes
for dims in "1024 1024 2mb" "1536 1536 4mb"; do
  set -- $dims
  head -c $(($1 * $2 * 2)) /dev/urandom > "px-$3.raw"
  sed -e "s#^(7fe0,0010) OW .*#(7fe0,0010) OW =px-$3.raw#" -e "s#(0028,0010) US 2#(0028,0010) US $1#" \
    -e "s#(0028,0011) US 2#(0028,0011) US $2#" "$SRC/tests/data/dicom/ct1.dump" > "ct-$3.dump"
  dump2dcm --write-xfer-little "ct-$3.dump" "sizes/$3.dcm"
done
dcmodify -nb -gin sizes/*.dcm >/dev/null 2>&1
head -c $(($(wc -c < sizes/4mb.dcm) - 5000)) sizes/4mb.dcm > sizes/cut.dcm # its UID the 4.5 MiB one's: read, it would clash
expect 4 "deid dicom of a 2 MiB, a 4.5 MiB and a cut image" -- "$MEDREG" deid dicom --config $C --key hip.key \
  --in sizes --out osz
ok_px=1
for n in 2mb 4mb; do
  o=$(jq -r --arg f "sizes/$n.dcm" '.files[] | select(.in == $f) | .out' osz.report.json)
  size=$(wc -c < "px-$n.raw")
  { [ -f "$o" ] && dcmdump "$o" >/dev/null 2>&1 && cmp -s <(tail -c "$size" "$o") "px-$n.raw"; } || ok_px=0
done
[ $ok_px = 1 ] && ok "both written, their pixels byte for byte" || fail "large images: $(cat "$W/e")"
grep -q "skipped sizes/cut.dcm: DCMTK cannot read it" "$W/e" && [ "$(find osz -type f | wc -l)" = 2 ] &&
  ok "the cut one skipped, and nothing of it in the output" || fail "cut: $(cat "$W/e"; find osz -type f)"
expect 0 "deid verify of them" -- "$MEDREG" deid verify --config $C --report osz.report.json
# verify reads an output's raw bytes a MiB at a time: the patient ID planted across the first MiB's
# end, in the pixels (where no element shows it), is still found
o=$(jq -r '.files[] | select(.in == "sizes/2mb.dcm") | .out' osz.report.json)
printf 'PID-4711' | dd of="$o" bs=1 seek=$((1048576 - 3)) conv=notrunc status=none
expect 1 "verify finds a value across the MiB its raw bytes are read in" -- "$MEDREG" deid verify --config $C \
  --report osz.report.json
grep -q "raw bytes" "$W/o" && ok "in the raw bytes" || fail "straddling: $(cat "$W/o" "$W/e")"
rm -rf sizes osz osz.* px-*.raw ct-*.dump

# A meta header whose group length is wrong (some writers get it wrong; a crafted file may on
# purpose) makes DCMTK hold dataset elements in the meta header, or meta elements in the dataset.
# Each must be judged where it belongs: a Patient's Address smuggled into the meta header, and a
# Source AE Title left in the dataset, once went through as a meta element and an unknown one.
mkdir -p misplaced
python3 - in/ct1.dcm misplaced <<'EOP'
import struct, sys
src = open(sys.argv[1], "rb").read()
def meta(d):
    i = d.index(b"\x02\x00\x00\x00UL\x04\x00")
    return i, struct.unpack_from("<I", d, i + 8)[0]
def element(d, tag_vr):
    j = d.index(tag_vr)
    return j, j + 8 + struct.unpack_from("<H", d, j + 6)[0]
def write(name, d, uid):  # each its own SOP Instance UID, so that each has its own output
    old = b"1.2.826.0.1.3680043.2.1125.9.111"
    open(f"{sys.argv[2]}/{name}.dcm", "wb").write(bytes(d).replace(old, uid.ljust(len(old), b"0")))
d = bytearray(src); i, gl = meta(d)  # the address moved in behind the meta group, its length stretched
a, b = element(d, b"\x10\x00\x40\x10LO"); e = bytes(d[a:b]); del d[a:b]
d[i + 12 + gl:i + 12 + gl] = e; struct.pack_into("<I", d, i + 8, gl + len(e)); write("address", d, b"1.2.826.0.1.3680043.2.1125.9.201")
d = bytearray(src); i, gl = meta(d)  # the length stops before the Source AE Title
a, _ = element(d, b"\x02\x00\x16\x00AE"); struct.pack_into("<I", d, i + 8, a - (i + 12))
write("ae-title", d, b"1.2.826.0.1.3680043.2.1125.9.202")
d = bytearray(src); i, gl = meta(d)  # the accession number in both
a, b = element(d, b"\x08\x00\x50\x00SH"); e = bytes(d[a:b])
d[i + 12 + gl:i + 12 + gl] = e; struct.pack_into("<I", d, i + 8, gl + len(e)); write("twice", d, b"1.2.826.0.1.3680043.2.1125.9.203")
EOP
dcmdump -M misplaced/address.dcm > "$W/d1" 2>&1 || true; dcmdump -M misplaced/ae-title.dcm > "$W/d2" 2>&1 || true
grep -q "Invalid Element (0010,1040) found in Meta" "$W/d1" && grep -q "Invalid Element (0002,0016) found in data set" "$W/d2" &&
  ok "DCMTK reads the address into the meta header, the AE title into the dataset" || fail "misplaced inputs"
expect 4 "deid dicom of them" -- "$MEDREG" deid dicom --config $C --key hip.key --in misplaced --out omis
leaked=0
for n in address ae-title; do
  o=$(jq -r --arg f "misplaced/$n.dcm" '.files[] | select(.in == $f) | .out' omis.report.json)
  { [ -f "$o" ] && dcmdump "$o" >/dev/null 2>&1; } || leaked=1
  grep -a -q -e Bahnhofstrasse -e MUELLERPACS "$o" && leaked=1
done
[ $leaked = 0 ] && ok "both written, readable, without the address or the AE title" || fail "misplaced: $(cat "$W/e")"
grep -q "skipped misplaced/twice.dcm: refused: (0008,0050) is both in its file meta header and in its dataset" "$W/e" &&
  ok "an element in both places: skipped, saying which" || fail "twice: $(cat "$W/e")"
expect 0 "deid verify of them" -- "$MEDREG" deid verify --config $C --report omis.report.json
# an output of a tool that kept the address where DCMTK put it: verify must find it
o=$(jq -r '.files[] | select(.in == "misplaced/address.dcm") | .out' omis.report.json)
python3 - "$o" <<'EOP'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
i = d.index(b"\x02\x00\x00\x00UL\x04\x00"); gl = struct.unpack_from("<I", d, i + 8)[0]
e = b"\x10\x00\x40\x10LO" + struct.pack("<H", 24) + b"Bahnhofstrasse 1, Berlin"
d[i + 12 + gl:i + 12 + gl] = e; struct.pack_into("<I", d, i + 8, gl + len(e))
open(sys.argv[1], "wb").write(d)
EOP
expect 1 "verify finds an address kept in an output's meta header" -- "$MEDREG" deid verify --config $C \
  --report omis.report.json
grep -q "(0010,1040),an identifying value" "$W/o" && ok "naming the element" || fail "meta leak: $(cat "$W/o" "$W/e")"
rm -rf misplaced omis omis.*

# Clean Structured Content keeps a report's Content Sequence and cleans it item by item; a Text
# Value has no row of its own in the table, and once went through with the patient's name and ID
mkdir -p sr
cp in/ct1.dcm sr/report.dcm
dcmodify -nb -i "(0040,A730)[0].(0040,A010)=CONTAINS" -i "(0040,A730)[0].(0040,A040)=TEXT" \
  -i "(0040,A730)[0].(0040,A160)=Patient Müller Jürgen (PID-4711) reports hip pain" sr/report.dcm
sed 's/^options = .*/options = retain_longitudinal_modified_dates clean_structured_content clean_descriptors/' $C \
  > examples/deid/sr.ini
expect 0 "deid dicom with clean_structured_content" -- "$MEDREG" deid dicom --config examples/deid/sr.ini \
  --key hip.key --in sr --out osr
o=$(jq -r '.files[0].out' osr.report.json)
text=$(dcmdump +P 0040,a160 "$o" 2>/dev/null)
case "$text" in *"reports hip pain"*) ok "the report's text is kept" ;; *) fail "text: $text" ;; esac
grep -a -q -i -e "Müller" -e "Jürgen" -e "PID-4711" "$o" && fail "the name or ID survived: $text" \
  || ok "without the patient's name and ID"
expect 0 "deid verify of it" -- "$MEDREG" deid verify --config examples/deid/sr.ini --report osr.report.json
rm -rf sr osr osr.*

# An overlay kept in the pixel data's unused high bits (a retired form; older archives have it):
# removing group 6000 only hides it, so the image is quarantined even when it says it has no
# burned-in text; an overlay with its own Overlay Data is removed with its group, and written
mkdir -p ov
cp in/ct1.dcm ov/embedded.dcm
dcmodify -nb -i "(0028,0301)=NO" -i "(6000,0010)=2" -i "(6000,0011)=2" -i "(6000,0040)=G" -i "(6000,0050)=1\\1" \
  -i "(6000,0100)=16" -i "(6000,0102)=12" ov/embedded.dcm
cp ov/embedded.dcm ov/separate.dcm
head -c 2 /dev/zero > "$W/ovd.raw"
dcmodify -nb -if "(6000,3000)=$W/ovd.raw" -i "(0008,0018)=1.2.826.0.1.3680043.2.1125.9.301" ov/separate.dcm
expect 0 "deid dicom of two images with overlays" -- "$MEDREG" deid dicom --config $C --key hip.key --in ov --out oov
[ "$(jq -r '.files[] | select(.in == "ov/embedded.dcm") | "\(.outcome) \(.reason)"' oov.report.json)" = \
  "quarantined an overlay (group 6000) lies in the pixel data's unused bits and may show text: check it" ] &&
  [ "$(jq -r '.files[] | select(.in == "ov/separate.dcm") | .outcome' oov.report.json)" = written ] &&
  ok "the embedded overlay quarantined, saying why; the separate one written" || fail "overlays: $(cat oov.report.json)"
rm -rf ov oov oov.*

# configurations that must stop before anything is read
printf '[deid]\nmodule = hip.ini\nprofile_table = ../../data/dicom-ps3.15-table-e1-1.csv\noptions = retain_everything\n' > examples/deid/bad.ini
expect 7 "an unknown option is refused" -- "$MEDREG" deid dicom --config examples/deid/bad.ini --key hip.key --in in --out o3
grep -q "bad.ini:4" "$W/e" && ok "naming file and line" || fail "message: $(cat "$W/e")"
sed 's/^options = .*/options = retain_longitudinal_full_dates retain_longitudinal_modified_dates/' $C > examples/deid/both.ini
expect 7 "full and modified dates together are refused" -- "$MEDREG" deid dicom --config examples/deid/both.ini --key hip.key --in in --out o3
[ ! -e o3 ] && ok "and nothing was written" || fail "o3 exists"
mkfifo examples/deid/fifo
for k in profile_table safe_private pixel_rules; do
  sed "s|^;* *$k = .*|$k = fifo|" $C > examples/deid/fifo.ini
  expect 7 "$k naming a FIFO is refused at once" -- timeout 20 "$MEDREG" deid dicom --config examples/deid/fifo.ini \
    --key hip.key --in in --out o3
  grep -q "fifo: not a regular file" "$W/e" && [ ! -e o3 ] && ok "saying so, nothing written" || fail "message: $(cat "$W/e")"
done
rm -f examples/deid/fifo examples/deid/fifo.ini
printf '# a comment\n"ACME, PRIVATE",0029,11\nACME PRIVATE,29,11\n' > examples/deid/bad-safe.csv
sed 's/^safe_private = .*/safe_private = bad-safe.csv/' $C > examples/deid/bad-safe.ini
expect 7 "a safe private attribute with a group of two digits is refused" -- "$MEDREG" deid dicom \
  --config examples/deid/bad-safe.ini --key hip.key --in in --out o3
grep -q "bad-safe.csv:3: write CREATOR,gggg,ee" "$W/e" && [ ! -e o3 ] &&
  ok "naming the file and line (a quoted creator with a comma passes)" || fail "safe list: $(cat "$W/e")"

echo "$((CHECKS - FAILS)) passed, $FAILS failed"
[ $FAILS -eq 0 ]
