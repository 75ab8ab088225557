#!/usr/bin/env bash
# Builds Ferret's Linux packages with the Tauri bundler into target/<profile>/bundle/.
#
#   scripts/package.sh            release build (stripped binaries), then the .deb
#   scripts/package.sh --debug    bundles the debug binaries the tests already compiled
#                                 (what the install test uses: nothing is compiled twice)
#   scripts/package.sh --no-build bundle what target/<profile>/ already holds
#
# A package holds the desktop app (/usr/bin/ferret-desktop), the `ferret` CLI on PATH
# (/usr/bin/ferret), the embedding model, its tokenizer and ONNX Runtime as resources
# (/usr/lib/Ferret/models: the engine finds them next to its executable, no environment
# variable needed, and the app checks their sha256 at start), the icons, and a .desktop entry
# that registers the ferret:// scheme (x-scheme-handler/ferret). Runtime dependencies are
# declared in the package; nothing is downloaded at install or first run.
#
# AppImage is not built: the bundler downloads linuxdeploy and the AppImage runtime from
# GitHub at bundle time, and no package registry reachable here ships them (see README).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
profile=release
build=1
for arg in "$@"; do
  case $arg in
    --debug) profile=debug ;;
    --no-build) build=0 ;;
    -h|--help) sed -n 2,17p "$0"; exit 0 ;;
    *) echo "package.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done
log() { printf 'package: %s\n' "$*" >&2; }

target_dir=${CARGO_TARGET_DIR:-$repo/target}
out=$target_dir/$profile
model_dir=${FERRET_MODEL_DIR:-$repo/.models}
triple=$(rustc -vV | sed -n 's/^host: //p')
tauri=$repo/ui/node_modules/.bin/tauri

scripts/setup.sh
[ -x "$tauri" ] || { log "the Tauri CLI is missing: run (cd ui && npm ci)"; exit 1; }

if [ "$build" = 1 ]; then
  (cd ui && npm run build --silent)
  if [ "$profile" = release ]; then
    # Users get stripped binaries; the workspace's release profile keeps line tables for
    # profiling, so the package build overrides them (same target dir, separate artifacts).
    CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=debuginfo \
      cargo build --release --locked -p ferret-desktop -p ferret-cli
  else
    # --workspace: the feature set `cargo test --workspace` built, so nothing recompiles.
    cargo build --workspace --bins --locked
  fi
fi
for bin in ferret-desktop ferret; do
  [ -x "$out/$bin" ] || { log "$out/$bin is missing: build it first (or drop --no-build)"; exit 1; }
done

# The model files must be the pinned ones: the package checks them again at start.
FERRET_SKIP_APT=1 scripts/setup.sh >/dev/null

# The bundler wants sidecar binaries named with the target triple.
cp -f "$out/ferret" "$out/ferret-$triple"

# Bundle settings live here, not in tauri.conf.json: tauri-build reads that file on every
# `cargo build` and would insist the sidecar and resources exist before they are built.
overlay=$(mktemp --suffix=.json)
link=$repo/src-tauri/tauri.conf.json
cleanup() { rm -f "$overlay"; [ -L "$link" ] && rm -f "$link"; }
trap cleanup EXIT
cat >"$overlay" <<JSON
{
  "bundle": {
    "active": true,
    "targets": ["deb"],
    "publisher": "Ferret",
    "category": "DeveloperTool",
    "shortDescription": "Private, local semantic and lexical code search",
    "longDescription": "Ferret searches your own code by meaning (local embeddings) and by words (BM25) at once, over local folders and GitHub repositories. Nothing leaves the machine.",
    "icon": [
      "$repo/icons/32x32.png",
      "$repo/icons/128x128.png",
      "$repo/icons/icon.png"
    ],
    "externalBin": ["$out/ferret"],
    "resources": {
      "$model_dir/onnxruntime/": "models/onnxruntime/",
      "$model_dir/all-minilm-l6-v2-int8/": "models/all-minilm-l6-v2-int8/"
    },
    "linux": {
      "deb": {
        "section": "devel",
        "desktopTemplate": "$repo/src-tauri/linux/ferret.desktop",
        "depends": ["gnome-keyring | kwalletmanager | keepassxc"]
      }
    }
  }
}
JSON

# The Tauri CLI looks for tauri.conf.json beside the app's Cargo.toml; the layout keeps the
# file at the top level, so it gets a link for the duration of the bundling.
[ -e "$link" ] || ln -s ../tauri.conf.json "$link"
bundle_args=(bundle --bundles deb --config "$overlay" --ci)
[ "$profile" = debug ] && bundle_args+=(--debug)
(cd src-tauri && "$tauri" "${bundle_args[@]}")

deb=$(ls -t "$out"/bundle/deb/*.deb | head -1)
log "built $deb ($(du -h "$deb" | cut -f1))"
