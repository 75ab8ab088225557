#!/usr/bin/env bash
# Measures a new user's install-to-first-search with the installed package (not part of the
# test command: it prints figures, it asserts nothing about time):
#
#   tests/install/first-search.sh DIR LEXICAL_QUERY SEMANTIC_QUERY EXPECTED_PATH_PART
#
# Needs the .deb installed (sudo apt install ./target/release/bundle/deb/Ferret_*.deb), Xvfb,
# dbus, gnome-keyring and xdotool. In a fresh HOME (no profile, default data directory, no
# FERRET_MODEL_DIR) it times: the app's launch to a visible window (local profile, sign-in
# skipped), then `ferret repo add DIR` (what "Add local folder" runs) until the first
# lexical hit for LEXICAL_QUERY, the first semantic hit whose path contains
# EXPECTED_PATH_PART, and the end of the run (every chunk embedded).
set -euo pipefail
[ $# -eq 4 ] || { sed -n 2,12p "$0"; exit 2; }
dir=$(cd "$1" && pwd) lexical=$2 semantic=$3 expect=$4
command -v ferret-desktop >/dev/null || { echo "install the .deb first" >&2; exit 1; }
work=$(mktemp -d)
trap 'pkill -x ferret-desktop 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/home"
export HOME=$work/home
unset FERRET_MODEL_DIR FERRET_DATA_DIR XDG_DATA_HOME XDG_CONFIG_HOME
export WEBKIT_DISABLE_COMPOSITING_MODE=1
lines=$(find "$dir" -type f \( -name '*.rs' -o -name '*.py' -o -name '*.go' -o -name '*.ts' -o -name '*.js' -o -name '*.java' -o -name '*.c' -o -name '*.h' \) -print0 | xargs -0 cat | wc -l)

xvfb-run -a -s "-screen 0 1280x860x24" dbus-run-session -- bash -s "$dir" "$lexical" "$semantic" "$expect" "$lines" <<'SESSION'
set -euo pipefail
dir=$1 lexical=$2 semantic=$3 expect=$4 lines=$5
echo -n ferret | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
now() { date +%s.%N; }
since() { python3 -c "print(f'{$(now) - $1:.2f}')"; }

ferret profile create local >/dev/null && ferret profile use local >/dev/null
t=$(now)
ferret-desktop >/dev/null 2>&1 &
until xdotool search --onlyvisible --name '^Ferret$' >/dev/null 2>&1; do sleep 0.05; done
echo "app launch to window: $(since "$t") s"
pkill -x ferret-desktop; sleep 1

has_hit() { ferret search --json --in-process --mode "$1" -n 10 "$2" 2>/dev/null | grep -q "$3"; }
t=$(now)
ferret repo add "$dir" >/dev/null 2>&1 &
add=$!
lex=""
sem=""
while kill -0 "$add" 2>/dev/null; do
  [ -z "$lex" ] && has_hit lexical "$lexical" '"path"' && lex=$(since "$t")
  [ -z "$sem" ] && has_hit semantic "$semantic" "$expect" && sem=$(since "$t")
  sleep 0.2
done
wait "$add"
done_at=$(since "$t")
[ -z "$lex" ] && has_hit lexical "$lexical" '"path"' && lex="$done_at (after the run)"
[ -z "$sem" ] && has_hit semantic "$semantic" "$expect" && sem="$done_at (after the run)"
chunks=$(ferret stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["chunks"])')
echo "folder: $dir ($lines lines of code, $chunks chunks)"
echo "first lexical result: ${lex:-never} s"
echo "first semantic result: ${sem:-never} s"
echo "fully indexed (every chunk embedded): $done_at s"
SESSION
