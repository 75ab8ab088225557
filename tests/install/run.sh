#!/usr/bin/env bash
# Install test: the .deb is installed for real (dpkg -i, as root), used the way a desktop
# user uses it, then removed (dpkg -r), which must leave the user's data alone.
#
#   1. bundle content: both programs, the model files and ONNX Runtime with their pinned
#      sha256, the icons, a .desktop entry registering x-scheme-handler/ferret;
#   2. dpkg -i; xdg-mime names Ferret's entry as the ferret:// handler; `ferret --version`
#      runs from PATH and reports the bundled model (FERRET_MODEL_DIR unset everywhere);
#   3. the installed CLI indexes a folder with the bundled model and finds code by meaning;
#   4. under Xvfb, `xdg-open 'ferret://search?q=…'` starts the installed app, which shows
#      that search (screenshot of its window); a second xdg-open goes to the running
#      instance (still one process, the link arrives there);
#   5. dpkg -r removes the programs and leaves the user's data directory.
#
# Uses the debug bundle (scripts/package.sh --debug) built from the binaries the tests
# already compiled. Screenshots go to $CARGO_TARGET_DIR/screenshots (default target/).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
shots="$target/screenshots"
cd "$repo"
log() { printf 'install-test: %s\n' "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || fail "installing a package needs root or sudo"
  sudo_cmd=(sudo)
fi
if dpkg-query -W -f='${Status}' ferret 2>/dev/null | grep -q "install ok installed"; then
  fail "a ferret package is already installed on this machine; the test will not replace it (dpkg -r ferret first)"
fi

scripts/package.sh --debug --no-build
deb=$(ls -t "$target"/debug/bundle/deb/*.deb | head -1)
model_src=${FERRET_MODEL_DIR:-$repo/.models}

# ------------------------------------------------------------------ 1. bundle content
log "checking the content of $(basename "$deb")"
unpacked=$(mktemp -d)
work=$(mktemp -d)
app_pid=
cleanup() {
  [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null || true
  pkill -x ferret-desktop 2>/dev/null || true
  if dpkg-query -W -f='${Status}' ferret 2>/dev/null | grep -q "install ok installed"; then
    "${sudo_cmd[@]}" dpkg -r ferret >/dev/null || true
  fi
  rm -rf "$unpacked" "$work"
}
trap cleanup EXIT
dpkg-deb -x "$deb" "$unpacked"
for f in usr/bin/ferret usr/bin/ferret-desktop; do
  [ -x "$unpacked/$f" ] || fail "$f is not in the package"
done
# Every model file the engine's catalogue pins, with the sha256 setup.sh checked.
while IFS='|' read -r _ _ dest want; do
  got=$(sha256sum "$unpacked/usr/lib/Ferret/models/$dest" 2>/dev/null | cut -d' ' -f1)
  [ "$got" = "$want" ] || fail "usr/lib/Ferret/models/$dest: sha256 ${got:-missing}, expected $want"
done < <(sed -n '/^files=(/,/^)/p' scripts/setup.sh | grep -o '"[^"]*"' | tr -d '"')
desktop=$unpacked/usr/share/applications/Ferret.desktop
[ -f "$desktop" ] || fail "no usr/share/applications/Ferret.desktop"
grep -qx 'MimeType=x-scheme-handler/ferret;' "$desktop" || fail "the .desktop entry does not register x-scheme-handler/ferret"
grep -qx 'Exec=ferret-desktop %u' "$desktop" || fail "the .desktop entry's Exec does not pass the link (%u)"
ls "$unpacked"/usr/share/icons/hicolor/*/apps/ferret-desktop.png >/dev/null || fail "no icons"
depends=$(dpkg-deb -f "$deb" Depends)
for dep in libwebkit2gtk-4.1-0 libayatana-appindicator3-1 gnome-keyring; do
  [[ $depends == *"$dep"* ]] || fail "Depends lacks $dep: $depends"
done
log "content ok: $(du -h "$deb" | cut -f1) package, Depends: $depends"

# ------------------------------------------------------------------ 2. install
log "dpkg -i $(basename "$deb")"
"${sudo_cmd[@]}" dpkg -i "$deb" >/dev/null
# The user: a fresh home, the default data directory under it, no model variable anywhere.
mkdir -p "$work/home"
export HOME="$work/home"
unset FERRET_MODEL_DIR FERRET_DATA_DIR XDG_DATA_HOME XDG_CONFIG_HOME
export RUST_LOG=ferret_desktop=info,warn
cd "$work"

[ "$(command -v ferret)" = /usr/bin/ferret ] || fail "ferret is not on PATH from the package ($(command -v ferret || echo none))"
handler=$(xdg-mime query default x-scheme-handler/ferret)
[ "$handler" = Ferret.desktop ] || fail "xdg-mime names '$handler' as the ferret:// handler, not Ferret.desktop"
version=$(ferret --version)
printf '%s\n' "$version" | sed 's/^/  /' >&2
grep -q '^model dir: /usr/lib/Ferret/models (bundled)$' <<<"$version" || fail "the installed CLI does not find its bundled model"
grep -q "^data dir: $HOME/.local/share/ferret\$" <<<"$version" || fail "the data directory is not the user's default"

# ------------------------------------------------------------------ 3 and 4, in a session
cp -r "$repo/tests/fixtures/polyglot" "$work/polyglot"
mkdir -p "$shots"
export WEBKIT_DISABLE_COMPOSITING_MODE=1
xvfb-run -a -s "-screen 0 1280x860x24" dbus-run-session -- bash -s "$work" "$shots" <<'SESSION'
set -euo pipefail
work=$1 shots=$2
log() { printf 'install-test: %s\n' "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }
echo -n ferret-install | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1

ferret profile create local >/dev/null
ferret profile use local >/dev/null
ferret repo add "$work/polyglot" >/dev/null
hits=$(ferret search --mode semantic --json "turn a title into a url-friendly string" | python3 -c 'import json,sys; print(" ".join(h["path"] for h in json.load(sys.stdin)["results"]))')
[[ $hits == *slugify.rb* ]] || fail "the installed CLI's semantic search did not find slugify (got: $hits)"
log "installed CLI indexed a folder with the bundled model and found slugify by meaning"

# The first link starts the app through the desktop entry, as a click in an editor would.
xdg-open 'ferret://search?q=slugify' >"$work/app.log" 2>&1 &
wait_for() { # description, seconds, command...
  local what=$1 secs=$2; shift 2
  for _ in $(seq $((secs * 4))); do "$@" >/dev/null && return 0; sleep 0.25; done
  log "app log:"; sed 's/^/  /' "$work/app.log" >&2
  fail "timed out waiting for $what"
}
shown() { [ "$(grep -c "link: showing the search \"$1\"" "$work/app.log")" -ge "${2:-1}" ]; }
wait_for "the installed app's window" 60 xdotool search --onlyvisible --name '^Ferret$'
wait_for "the linked search" 30 shown slugify
pgrep -x ferret-desktop | grep -q . || fail "no ferret-desktop process"
exe=$(readlink "/proc/$(pgrep -x ferret-desktop | head -1)/exe")
[ "$exe" = /usr/bin/ferret-desktop ] || fail "the running app is $exe, not the installed one"
grep -q "bundled model verified in /usr/lib/Ferret/models" "$work/app.log" || \
  wait_for "the bundled model check" 20 grep -q "bundled model verified in /usr/lib/Ferret/models" "$work/app.log"
sleep 2 # let the results render before the screenshot
wid=$(xdotool search --onlyvisible --name '^Ferret$' | head -1)
import -window "$wid" "$shots/install-deep-link.png"
log "screenshot $shots/install-deep-link.png"

# A second link goes to the running instance: the new process hands it over and exits.
xdg-open 'ferret://search?q=matrix' >>"$work/second.log" 2>&1
wait_for "the second link in the running app" 20 shown matrix
[ "$(pgrep -cx ferret-desktop)" = 1 ] || fail "a second app instance is running"
sleep 1
import -window "$wid" "$shots/install-deep-link-second.png"
log "second link went to the running instance (screenshot install-deep-link-second.png)"
if grep -E "ERROR|panicked" "$work/app.log"; then fail "the app logged errors"; fi
pkill -x ferret-desktop || true
SESSION

# ------------------------------------------------------------------ a damaged install
# A model file that is not the packaged one is reported when the app starts, naming it.
config=/usr/lib/Ferret/models/all-minilm-l6-v2-int8/config.json
"${sudo_cmd[@]}" cp "$config" "$work/config.json.orig"
echo " " | "${sudo_cmd[@]}" tee -a "$config" >/dev/null
xvfb-run -a -s "-screen 0 1280x860x24" dbus-run-session -- bash -s "$work" <<'SESSION'
set -euo pipefail
work=$1
ferret-desktop >"$work/damaged.log" 2>&1 &
for _ in $(seq 120); do
  grep -q "config.json is not the expected file" "$work/damaged.log" && break
  sleep 0.25
done
pkill -x ferret-desktop || true
grep -q "config.json is not the expected file" "$work/damaged.log" || {
  sed 's/^/  /' "$work/damaged.log" >&2
  echo "install-test: FAIL: the app did not report the damaged model file" >&2
  exit 1
}
SESSION
"${sudo_cmd[@]}" cp "$work/config.json.orig" "$config"
log "a damaged model file is reported at start, naming the file"

# ------------------------------------------------------------------ 5. remove
log "dpkg -r ferret"
"${sudo_cmd[@]}" dpkg -r ferret >/dev/null
[ ! -e /usr/bin/ferret ] && [ ! -e /usr/bin/ferret-desktop ] && [ ! -e /usr/lib/Ferret ] || fail "dpkg -r left the programs"
[ -f "$HOME/.local/share/ferret/user_data/local/meta.sqlite" ] || fail "dpkg -r took the user's data"
log "removed; the user's data directory is intact"
log "ok"
