# leaks FILE VALUE: does VALUE survive in FILE? A short value (digits only,
# or under six characters) counts only as a token of its own: "1961" or
# "Eva" inside a random hex or base64 string (a pseudonym, a signature) is
# chance, not the birth year or the name surviving, while "1961-03-07",
# "07.03.1961", "\"1961\"" or "\"Eva\"" are. (Three base64
# characters in a row match a given three about once in 260,000 places: a
# few kilobytes of signatures did, once.) Longer values match anywhere.
leaks() {
  case $2 in
    *[!0-9]*) if [ "${#2}" -ge 6 ]; then grep -q -- "$2" "$1"; else leaks_token "$1" "$2"; fi ;;
    *) leaks_token "$1" "$2" ;;
  esac
}
leaks_token() { grep -qE -- "(^|[^A-Za-z0-9+/=_])$2([^A-Za-z0-9+/=_]|\$)" "$1"; }
