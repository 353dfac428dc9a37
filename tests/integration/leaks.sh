# leaks FILE VALUE: does VALUE survive in FILE? A value of digits only counts
# as a token of its own: "1961" inside a random hex or base64 string (a
# pseudonym, a signature) is chance, not the birth year surviving, while
# "1961-03-07", "07.03.1961" or "\"1961\"" are the year.
leaks() {
  case $2 in
    *[!0-9]*) grep -q -- "$2" "$1" ;;
    *) grep -qE -- "(^|[^A-Za-z0-9+/=_])$2([^A-Za-z0-9+/=_]|\$)" "$1" ;;
  esac
}
