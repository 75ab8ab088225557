#!/usr/bin/env bash
# Sets up (scripts/setup.sh), builds the UI and launches the Ferret desktop app.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
scripts/setup.sh
export FERRET_MODEL_DIR=${FERRET_MODEL_DIR:-$repo/.models}
(cd ui && npm run build --silent)
exec cargo run --release -p ferret-desktop "$@"
