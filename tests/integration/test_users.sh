#!/usr/bin/env bash
# Taking access away: an administrator removes a user's roles (a physician
# who left, a lost certificate). The removal holds at once on every route
# that role opened, is audited, keeps the row for the audit trail, can be
# undone by registering the role again, and never leaves a service without
# an administrator. Each rule is attacked.
. "$(dirname "$0")/lib.sh"

REC='{"side":"left","implant":"Corail KA","surgery_date":"2021-05-04","harris_hip_score":62}'
raw() { # WHO METHOD PATH -> HTTP status, body in $W/body
  curl -s -o "$W/body" -w '%{http_code}' --cacert pki/ca.crt --cert "pki/$1.crt" --key "pki/$1.key" -X "$2" \
    "$MEDREG_REGISTRY$3" || true
}
FPR_A=$("$MEDREG" pki fingerprint pki/dr-a.crt)
FPR_ADMIN=$("$MEDREG" pki fingerprint pki/admin.crt)

as dr-a --json patient register --module hip --id family_name=Huber --id given_name=Lea --id birth_date=1980-02-02 > a.json
IA=$(json a.json .internal_id)
as dr-a --json record add --module hip --internal-id "$IA" --token "$(json a.json .psn_token)" --data "$REC" > r.json
RA=$(json r.json .record_id)
as dr-a --json patient register --module knee --id family_name=Huber --id given_name=Lea --id birth_date=1980-02-02 > k.json
IK=$(json k.json .internal_id)
expect 0 "Dr A reads her record" -- as dr-a record show "$RA"

# --- who may remove ---
expect 3 "a physician cannot remove another user" -- as dr-a user remove --on registry --cert-file pki/dr-b.crt
expect 3 "nor a researcher" -- as researcher user remove --on registry --cert-file pki/dr-b.crt
expect 0 "and Dr B keeps her role" -- as dr-b record list --module hip

# --- who may give roles (and see them): administrators only ---
expect 3 "a physician cannot make herself an administrator" -- as dr-a user add --on registry --cert-file pki/dr-a.crt \
  --role admin
expect 3 "nor a module administrator of the identity service" -- as dr-a user add --on identity \
  --cert-file pki/dr-a.crt --role module_admin --module hip
expect 3 "a researcher cannot give himself the physician role" -- as researcher user add --on registry \
  --cert-file pki/researcher.crt --role physician --module hip
expect 3 "a module administrator cannot make himself an administrator" -- as modadmin user add --on identity \
  --cert-file pki/modadmin.crt --role admin
expect 0 "the registry's users" -- as admin --json user list --on registry
[ "$(jq --arg f "$FPR_A" '[.users[] | select(.fingerprint == $f and .role == "admin")] | length' "$W/out")" = 0 ] &&
  [ "$(jq --arg f "$FPR_A" '[.users[] | select(.fingerprint == $f and .role == "physician")] | length' "$W/out")" -ge 1 ] &&
  ok "Dr A is a physician there and no administrator after it" || fail "Dr A's roles: $(cat "$W/out")"
expect 3 "a physician cannot list the users" -- as dr-a user list --on registry
expect 3 "nor can a researcher" -- as researcher user list --on registry

# --- the removal, on the registry, of one module's role ---
expect 0 "the administrator removes Dr A's physician role in hip" -- as admin user remove --on registry \
  --cert-file pki/dr-a.crt --role physician --module hip
contains "$W/out" "removed the role physician of module hip" "the CLI says what was removed"
expect 3 "Dr A can no longer read her own record" -- as dr-a record show "$RA"
expect 3 "nor list the module's records" -- as dr-a record list --module hip
expect 3 "nor correct a record" -- as dr-a record correct "$RA" --data "$REC"
expect 3 "nor file one" -- as dr-a record add --module hip --internal-id "$IA" --data "$REC"
[ "$(raw dr-a GET "/v1/records/$RA")" = 403 ] && jq -e '.error.code == "forbidden"' "$W/body" >/dev/null &&
  ok "the API answers 403 with the error shape" || fail "GET after removal: $(cat "$W/body")"
lacks "$W/body" "Corail" "and nothing of the record"
expect 0 "her role in another module stays" -- as dr-a record add --module knee --internal-id "$IK" \
  --token "$(json k.json .psn_token)" --data "$REC"
expect 0 "whoami still answers, with the role left" -- as dr-a --json whoami --on registry
[ "$(jq -c '[.roles[] | .module]' "$W/out")" = '["knee"]' ] && ok "whoami lists only the knee role" ||
  fail "roles: $(cat "$W/out")"
expect 0 "her identity-service roles are another service's" -- as dr-a patient register --module hip \
  --id family_name=Huber --id given_name=Lea --id birth_date=1980-02-02

# --- audited, listed, kept ---
as admin --json audit --on registry --limit 10000 > ev.json
[ "$(jq --arg f "$FPR_A" '[.events[] | select(.action == "user_remove" and .target == $f and .outcome == "ok")] | length' ev.json)" = 1 ] &&
  ok "the removal is in the audit trail" || fail "no user_remove event"
[ "$(jq --arg r "$RA" '[.events[] | select(.action == "record_read" and .target == $r and .outcome == "refused")] | length' ev.json)" -ge 1 ] &&
  ok "the refused read is in the audit trail" || fail "no refused record_read event"
expect 0 "the administrator lists the users" -- as admin --json user list --on registry
[ "$(jq --arg f "$FPR_A" --arg a "$FPR_ADMIN" '[.users[] | select(.fingerprint == $f and .module == "hip" and .removed_at > 0 and .removed_by == $a)] | length' "$W/out")" = 1 ] &&
  ok "the removed role is listed, with who removed it" || fail "removed role not listed: $(cat "$W/out")"
as admin user list --on registry | grep -q "removed" && ok "the CLI marks it removed" || fail "CLI list"

# --- removing again, and bad requests ---
expect 4 "removing a role no longer held: 404" -- as admin user remove --on registry --cert-file pki/dr-a.crt \
  --role physician --module hip
expect 2 "a malformed fingerprint is a usage error" -- as admin user remove --on registry --fingerprint 12/../34
expect 2 "a module without a role is a usage error" -- as admin user remove --on registry --cert-file pki/dr-a.crt --module hip
[ "$(raw admin DELETE "/v1/users/nothex")" = 400 ] && ok "a malformed fingerprint in the path: 400" || fail "bad path"
[ "$(raw admin DELETE "/v1/users/$FPR_A?role=pope")" = 400 ] && ok "an unknown role: 400" || fail "bad role"
[ "$(raw admin DELETE "/v1/users/$FPR_A?module=hip")" = 400 ] && ok "a module without a role: 400" || fail "module alone"
[ "$(raw admin DELETE "/v1/users/$FPR_A?role=physician&module=spleen")" = 400 ] && ok "an unknown module: 400" || fail "bad module"
expect 0 "an openssl-style fingerprint is understood" -- as admin user remove --on registry \
  --fingerprint "$(printf '%s' "$FPR_A" | tr a-f A-F | sed 's/../&:/g; s/:$//')" --role physician --module knee
expect 3 "and took the knee role away" -- as dr-a record list --module knee
expect 3 "with no role left, whoami is refused" -- as dr-a whoami --on registry
"$MEDREG" pki issue pki card-one --key-type p256 >/dev/null
expect 4 "nor is a physician's card registered for her" -- as admin card register --physician-cert pki/dr-a.crt \
  --card-cert pki/card-one.crt
expect 0 "while Dr B, a physician still, gets one" -- as admin card register --physician-cert pki/dr-b.crt \
  --card-cert pki/card-one.crt

# --- given back ---
expect 0 "the administrator gives the hip role back" -- as admin user add --on registry --cert-file pki/dr-a.crt \
  --role physician --module hip
expect 0 "Dr A reads her record again" -- as dr-a record show "$RA"
expect 4 "registering an active role twice: 409" -- as admin user add --on registry --cert-file pki/dr-a.crt \
  --role physician --module hip
as admin --json user list --on registry > u.json
[ "$(jq --arg f "$FPR_A" '[.users[] | select(.fingerprint == $f and .module == "hip")] | length' u.json)" = 1 ] &&
  [ "$(jq --arg f "$FPR_A" '[.users[] | select(.fingerprint == $f and .module == "hip" and has("removed_at"))] | length' u.json)" = 0 ] &&
  ok "one row, active again" || fail "user rows: $(cat u.json)"

# --- every role at once, on the identity service ---
expect 0 "all of Dr B's roles on the identity service are removed" -- as admin user remove --on identity --cert-file pki/dr-b.crt
[ "$(grep -c "removed the role physician" "$W/out")" = 2 ] && ok "both modules' roles" || fail "$(cat "$W/out")"
expect 3 "Dr B can no longer register patients" -- as dr-b patient register --module hip \
  --id family_name=Huber --id given_name=Lea --id birth_date=1980-02-02
expect 0 "but still files at the registry, another service" -- as dr-b record list --module hip

# --- the last administrator ---
expect 4 "the last administrator cannot remove herself" -- as admin user remove --on registry --cert-file pki/admin.crt
contains "$W/err" "last_admin" "the refusal says why"
expect 0 "she still administers" -- as admin user list --on registry
"$MEDREG" pki issue pki admin2 >/dev/null
expect 0 "a second administrator is registered" -- as admin user add --on registry --cert-file pki/admin2.crt --role admin
expect 0 "who then removes the first" -- as admin2 user remove --on registry --cert-file pki/admin.crt
expect 3 "the first is no longer an administrator" -- as admin user list --on registry
expect 4 "and the second is the last one now" -- as admin2 user remove --on registry --cert-file pki/admin2.crt
# the operator, on the server host, gives it back without the API (the running daemon sees it at once)
expect 0 "medregd --add-admin on the server host restores a removed administrator" -- \
  "$MEDREGD" --config registry.ini --add-admin pki/admin.crt --name admin
contains "$W/out" "added" "it says so"
expect 0 "who administers again" -- as admin user list --on registry
# (two administrators removing each other at once: unit.last_admin, which can interleave them)

finish
