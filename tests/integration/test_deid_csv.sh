#!/usr/bin/env bash
# medreg pseudonymize csv through the real CLI: the example table with a BOM,
# quoted newlines, several scripts and date forms, ragged rows, invalid UTF-8
# and impossible dates; nothing identifying survives, output is deterministic,
# and a broken input or configuration leaves no output at all.
set -euo pipefail
BIN=${MEDREG_BIN:?}; SRC=${MEDREG_SRC:?}
MEDREG="$BIN/medreg"
W=$(mktemp -d "${TMPDIR:-/tmp}/medreg-deid.XXXXXX"); trap 'rm -rf "$W"' EXIT
FAILS=0; CHECKS=0
ok() { CHECKS=$((CHECKS + 1)); echo "ok   $*"; }
fail() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL $*"; }
. "$SRC/tests/integration/leaks.sh"
expect() { local want=$1 what=$2; shift 3; local got=0; "$@" >"$W/o" 2>"$W/e" || got=$?
  if [ "$got" = "$want" ]; then ok "$what"; else fail "$what (exit $got, wanted $want)"; cat "$W/o" "$W/e" | head -5; fi; }
cd "$W"
mkdir -p examples/deid data
cp "$SRC/examples/hip.ini" examples/; cp "$SRC/examples/deid/"* examples/deid/; cp "$SRC/data/"* data/
"$MEDREG" key new hip.key >/dev/null
T=examples/deid/hip-visits.ini
expect 0 "the example table is pseudonymised" -- "$MEDREG" pseudonymize csv --config $T --key hip.key \
  --in examples/deid/sample.csv --out out.csv
grep -q "7 rows: 3 written" "$W/o" && ok "3 rows written, 4 rejected" || fail "counts: $(cat "$W/o")"
[ "$(head -1 out.csv)" = $'psn,ZIP,Admission,Age,Side,Implant,Harris hip score\r' ] && ok "header: psn, then the kept columns" || fail "header $(head -1 out.csv)"
for v in Müller MÜLLER Jürgen Bahnhofstr Meier "30 1234" jm@example MRN-0001 Παπαδόπουλος Γιώργος 1961 10115; do
  leaks out.csv "$v" && fail "'$v' survived" || ok "'$v' is gone"
done
p1=$(sed -n 2p out.csv | cut -d, -f1); p2=$(sed -n 3p out.csv | cut -d, -f1)
[ "$p1" = "$p2" ] && [ ${#p1} = 64 ] && ok "the same patient typed two ways has one PSN" || fail "PSN linkage"
d1=$(sed -n 2p out.csv | cut -d, -f3); d2=$(sed -n 3p out.csv | cut -d, -f3)
[ "$d1" != 2021-05-04 ] && [ "$d2" != 2021-06-05 ] && ok "every date is shifted" || fail "an unshifted date"
[ $(( ($(date -ud "$d2" +%s) - $(date -ud "$d1" +%s)) / 86400 )) = 32 ] && ok "the keyed date shift keeps the interval (32 days)" || fail "interval $d1 $d2"
sed -n 4p out.csv | grep -q ',000,' && ok "a restricted ZIP prefix becomes 000" || fail "zip3 000"
sed -n 2p out.csv | grep -q ',101,' && ok "other ZIP codes keep three digits" || fail "zip3"
sed -n 4p out.csv | grep -q ',90+,' && ok "an age over 89 becomes 90+" || fail "90+"
grep -q '"Corail, KA"' out.csv && ok "kept fields stay RFC 4180 quoted" || fail "quoting"
[ "$(sed -n 2,5p out.csv.rejects.csv | cut -d, -f1 | tr '\n' ' ')" = "6 7 8 9 " ] && ok "rejects carry line numbers (a quoted newline counted)" || fail "reject lines: $(cat out.csv.rejects.csv)"
grep -q "fewer fields" out.csv.rejects.csv && grep -q "UTF-8" out.csv.rejects.csv && grep -q "malformed identifier: Date of birth" out.csv.rejects.csv \
  && ok "each reject says why" || fail "reasons"
[ "$(jq .rejected out.csv.report.json)" = 4 ] && [ "$(jq '.columns[] | select(.column=="Phone") | .values_removed_or_changed' out.csv.report.json)" = 1 ] \
  && ok "the report counts rows and actions per column" || fail "report"
expect 0 "again, same input, key and configuration" -- "$MEDREG" pseudonymize csv --config $T --key hip.key \
  --in examples/deid/sample.csv --out out2.csv
cmp -s out.csv out2.csv && ok "byte-identical output" || fail "output differs between runs"
# a bigger table through one and through four workers: the same bytes
python3 "$SRC/bench/csv/generate.py" 30000 > big.csv
cat > big.ini <<EOI
[pseudonymize]
module = $SRC/bench/csv/bench-module.ini
dates = shift
zip_restricted = data/hipaa-restricted-zip3.csv
[columns]
family = identifier family_name
given = identifier given_name
dob = identifier birth_date
insurance = identifier insurance_number
zip = zip
admission = date
age = age
phone = phone
email = email
side = keep
implant = keep
score = keep
EOI
expect 0 "30,000 rows with one thread" -- "$MEDREG" pseudonymize csv --config big.ini --key hip.key --in big.csv --out b1.csv --threads 1
expect 0 "and with four" -- "$MEDREG" pseudonymize csv --config big.ini --key hip.key --in big.csv --out b4.csv --threads 4
cmp -s b1.csv b4.csv && [ "$(wc -l < b4.csv)" = 30001 ] && ok "the same bytes whatever the number of threads" || fail "threads change the output"
# the same table as Windows tools write it (UTF-16, little-endian, with a byte order mark): the same bytes out
{ printf '\xff\xfe'; iconv -f UTF-8 -t UTF-16LE big.csv; } > big16.csv
sed 's/^dates = shift$/dates = shift\nencoding = utf-16/' big.ini > big16.ini
expect 0 "a UTF-16 export" -- "$MEDREG" pseudonymize csv --config big16.ini --key hip.key --in big16.csv --out b16.csv
cmp -s b1.csv b16.csv && ok "gives the same bytes as its UTF-8 original" || fail "UTF-16 changes the output"
# the same table without its header row (as bcp writes it): every column by position, named for the output
tail -n +2 big.csv > bare.csv
{ sed -n '1,/^\[columns\]$/p' big.ini | sed 's/^\[columns\]$/header = no\n[columns by position]/'
  i=0; sed '1,/^\[columns\]$/d' big.ini | while IFS=' =' read -r name role; do i=$((i + 1)); echo "$i = ${role# } : $name"; done; } > bare.ini
expect 0 "a table without a header row" -- "$MEDREG" pseudonymize csv --config bare.ini --key hip.key --in bare.csv --out bb.csv
cmp -s b1.csv bb.csv && ok "gives the same bytes as with its header" || fail "header = no: $(head -2 bb.csv)"
# streamed in through a pipe: the same bytes; network-wide PSNs read twice, so they need a file
"$MEDREG" pseudonymize csv --config big.ini --key hip.key --in - --out bp.csv < <(cat big.csv) >/dev/null &&
  cmp -s b1.csv bp.csv && ok "--in - reads standard input: the same bytes as the file" || fail "standard input"
expect 7 "a pipe is refused for network-wide PSNs" -- "$MEDREG" pseudonymize csv --config big.ini \
  --oprf-key hip.pin --in - --out bn.csv < <(cat big.csv)
grep -q "regular file" "$W/e" && ok "the message says why" || fail "message: $(cat "$W/e")"
"$MEDREG" key new other.key >/dev/null
"$MEDREG" pseudonymize csv --config $T --key other.key --in examples/deid/sample.csv --out out3.csv >/dev/null
[ "$(sed -n 2p out3.csv | cut -d, -f1)" != "$p1" ] && ok "another key, other pseudonyms" || fail "key independence"
sed 's/^dates = shift/dates = year/' $T > examples/deid/year.ini
"$MEDREG" pseudonymize csv --config examples/deid/year.ini --key hip.key --in examples/deid/sample.csv --out y.csv >/dev/null
[ "$(sed -n 2p y.csv | cut -d, -f3)" = 2021 ] && ok "dates = year keeps the year only" || fail "year mode"

# headers an INI key cannot hold, and one header twice: roles by position, each header checked
{ sed 's/^Harris hip score = keep$/Harris hip score = date/' $T; printf '[columns by position]\n13 = keep : HHS: total\n14 = date : Admission\n'; } > examples/deid/pos.ini
printf 'Surname,First name,Date of birth,Street,ZIP,Phone,E-mail,Medical record number,Admission,Age,Side,Implant,HHS: total,Admission\r\n' > pos.csv
printf 'Lee,Ann,1950-01-01 00:00:00,Main St 1,10115,555,a@b.c,M1,2021-05-04 08:15,71,left,KA,62,2021-06-05\r\nLee,Ann,1950-01-01,x,10115,5,e,M,2021-05-04,71,left,KA,62,soon\r\n' >> pos.csv
expect 0 "columns by position" -- "$MEDREG" pseudonymize csv --config examples/deid/pos.ini --key hip.key --in pos.csv --out pos-out.csv
[ "$(head -1 pos-out.csv)" = $'psn,ZIP,Admission,Age,Side,Implant,HHS: total,Admission\r' ] && ok "both Admission columns and 'HHS: total' kept in place" || fail "header $(head -1 pos-out.csv)"
[ "$(sed -n 2p pos-out.csv | cut -d, -f8)" != 2021-06-05 ] && ok "the second Admission is shifted as a date" || fail "second date: $(sed -n 2p pos-out.csv)"
sed -n 2p pos-out.csv | cut -d, -f3 | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2} 08:15$' && ! sed -n 2p pos-out.csv | grep -q 2021-05-04 \
  && ok "a datetime keeps its time of day beside the shifted date (a birth date at midnight is the date)" || fail "datetime: $(sed -n 2p pos-out.csv)"
grep -q "not a date: Admission (column 14)" pos-out.csv.rejects.csv && [ "$(jq -r '.columns[-1].column' pos-out.csv.report.json)" = "Admission (column 14)" ] \
  && ok "rejects and report name the position" || fail "labels: $(cat pos-out.csv.rejects.csv)"
sed -i '1s/,HHS: total,Admission\r$/,Admission,HHS: total\r/' pos.csv
expect 7 "another layout (a date where a kept column was) stops the run" -- "$MEDREG" pseudonymize csv --config examples/deid/pos.ini --key hip.key --in pos.csv --out pos2.csv
grep -q "column 13 of the input is 'Admission'.*expects 'HHS: total'" "$W/e" && [ ! -e pos2.csv ] && ok "and writes nothing, saying why" || fail "moved layout: $(cat "$W/e")"

# free text: kept, unless it names the row's own patient (case and diacritics ignored)
{ cat $T; echo 'Notes = text'; } > examples/deid/notes.ini
printf 'Surname,First name,Date of birth,Street,ZIP,Phone,E-mail,Medical record number,Admission,Age,Side,Implant,Harris hip score,Notes\r\n' > notes.csv
printf 'Meier,Anna,1950-01-01,x,10115,5,e,M,2021-05-04,71,left,KA,62,Mrs MEIER walks well\r\n' >> notes.csv
printf 'Meier,Anna,1950-01-01,x,10115,5,e,M,2021-05-04,71,left,KA,62,walks well\r\n' >> notes.csv
expect 0 "a free-text column" -- "$MEDREG" pseudonymize csv --config examples/deid/notes.ini --key hip.key --in notes.csv --out notes-out.csv
! grep -qi meier notes-out.csv && grep -q ',walks well' notes-out.csv && grep -q "^2,free text holds this row's Surname: Notes" notes-out.csv.rejects.csv \
  && ok "a note naming the row's patient is rejected, the other kept" || fail "free text: $(cat notes-out.csv notes-out.csv.rejects.csv)"

# failures leave nothing behind
printf 'Surname,First name,Date of birth,Street,ZIP,Phone,E-mail,Medical record number,Admission,Age,Side,Implant,Harris hip score,Notes\r\n' > extra.csv
expect 7 "a column without a role stops the run" -- "$MEDREG" pseudonymize csv --config $T --key hip.key --in extra.csv --out e.csv
grep -q "Notes" "$W/e" && ok "the message names the column" || fail "message: $(cat "$W/e")"
[ ! -e e.csv ] && [ ! -e e.csv.tmp ] && ok "no output file" || fail "output left behind"
{ head -c 300 examples/deid/sample.csv; printf '\r\nLee,Ann,1950-01-01,"unterminated,10115\r\n'; } > broken.csv
expect 4 "malformed CSV (an unterminated quote) stops the run" -- "$MEDREG" pseudonymize csv --config $T --key hip.key --in broken.csv --out b.csv
[ ! -e b.csv ] && [ ! -e b.csv.tmp ] && ok "no half-written output" || fail "partial output"
expect 2 "a number with trailing letters is refused, not read as its digits" -- "$MEDREG" pseudonymize csv --config $T --key hip.key --in examples/deid/sample.csv --out t.csv --threads 4x
grep -q "whole number from 1 to 256, not '4x'" "$W/e" && [ ! -e t.csv ] && ok "with a message, nothing written" || fail "message: $(cat "$W/e")"
chmod 644 hip.key
expect 7 "a module key others can read is refused" -- "$MEDREG" pseudonymize csv --config $T --key hip.key --in examples/deid/sample.csv --out k.csv
chmod 600 hip.key
sed 's/^Phone = phone/Phone = telephone/' $T > examples/deid/bad.ini
expect 7 "an unknown role is refused with file and line" -- "$MEDREG" pseudonymize csv --config examples/deid/bad.ini --key hip.key --in examples/deid/sample.csv --out k.csv
grep -q "bad.ini:16" "$W/e" && ok "the message names file and line" || fail "message: $(cat "$W/e")"
# what a configuration names must be a regular file: a FIFO nobody writes to would be waited on
# for ever, /dev/zero read for ever (timeout turns a hang into a failure)
mkfifo examples/deid/fifo
for k in module zip_restricted; do
  sed "s|^$k = .*|$k = fifo|" $T > examples/deid/fifo.ini
  expect 7 "$k naming a FIFO is refused" -- timeout 20 "$MEDREG" pseudonymize csv --config examples/deid/fifo.ini \
    --key hip.key --in examples/deid/sample.csv --out k.csv
  grep -q "fifo.*not a regular file" "$W/e" && [ ! -e k.csv ] && ok "saying so, nothing written" || fail "message: $(cat "$W/e")"
done
expect 7 "a configuration that is /dev/zero is refused" -- timeout 20 "$MEDREG" pseudonymize csv --config /dev/zero \
  --key hip.key --in examples/deid/sample.csv --out k.csv
grep -q "/dev/zero: not a regular file" "$W/e" && ok "saying so" || fail "message: $(cat "$W/e")"
rm -f examples/deid/fifo examples/deid/fifo.ini
echo "$((CHECKS - FAILS)) passed, $FAILS failed"
[ $FAILS -eq 0 ]
