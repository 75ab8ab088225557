#!/usr/bin/env bash
# Desktop end-to-end test: builds the UI, the debug app and the local GitHub/git test servers,
# then drives the real window under Xvfb through tauri-driver + WebKitWebDriver
# (tests/desktop-e2e/e2e.mjs), with a real Secret Service keychain (gnome-keyring) in a
# private D-Bus session.
# Needs: webkit2gtk-driver (apt), tauri-driver (`cargo install tauri-driver --locked --debug`),
# xvfb, dbus, node >= 20, the model in .models/ (scripts/setup.sh).
# Screenshots go to $CARGO_TARGET_DIR/screenshots (default target/screenshots).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
cd "$repo"

command -v WebKitWebDriver >/dev/null || { echo "WebKitWebDriver missing: sudo apt-get install webkit2gtk-driver" >&2; exit 1; }
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
if ! command -v tauri-driver >/dev/null; then
  # A debug build: it only relays WebDriver calls, and compiles in about half the time.
  echo "installing tauri-driver (cargo install tauri-driver --locked --debug)"
  env -u CARGO_TARGET_DIR cargo install tauri-driver --locked --debug --quiet
fi

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  (cd ui && npm run build --silent)
  # --workspace: the same feature set as `cargo test --workspace`, so nothing is rebuilt
  # (with -p, env_logger and nix get fewer features and the engine compiles again).
  cargo build --workspace --bins --locked
fi

work="$(mktemp -d)"
[ "${KEEP_WORK:-0}" = 1 ] && echo "keeping $work" || trap 'rm -rf "$work"' EXIT
mkdir -p "$work/home" "$work/data"
# A private data dir, home (keyring, autostart, .desktop registration) and config.
export FERRET_DATA_DIR="$work/data" HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" \
  XDG_DATA_HOME="$work/home/.local/share"
export FERRET_MODEL_DIR="${FERRET_MODEL_DIR:-$repo/.models}"
export WEBKIT_DISABLE_COMPOSITING_MODE=1
# Every finished job raises a notification (not only those over 20 s), so the run sees one.
export FERRET_NOTIFY_AFTER_SECS=0

xvfb-run -a -s "-screen 0 1280x860x24" dbus-run-session -- bash -c '
  set -euo pipefail
  echo -n ferret-e2e | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
  exec node tests/desktop-e2e/e2e.mjs "$@"' e2e \
  "$target/debug/ferret-desktop" "$target/debug/ferret-test-servers" "$repo/tests/fixtures/polyglot" \
  "$target/screenshots" "$work"
