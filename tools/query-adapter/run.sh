#!/usr/bin/env bash
# Rebuilds the query adapter from nothing: fetch the pinned packages, mine their
# (doc comment -> definition) pairs, embed both sides with the engine, train, and write the
# adapter with its report. About 40 minutes on 2 shared cores: fetch 3, mine 5, embed 25
# (13,600 questions, and their code without and with its comment), train 1.
#
#   tools/query-adapter/run.sh [WORK]     (WORK default: .cache/query-adapter)
#
# Needs a release build of `ferret` (cargo build --release -p ferret-cli), the model
# (scripts/setup.sh), Debian's package lists for the Go packages (apt-get update) and numpy
# (installed into WORK/venv from PyPI).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${1:-$repo/.cache/query-adapter}
ferret=${FERRET_BIN:-${CARGO_TARGET_DIR:-$repo/target}/release/ferret}
export FERRET_MODEL_DIR=${FERRET_MODEL_DIR:-$repo/.models}
[ -x "$ferret" ] || { echo "run.sh: $ferret is missing: cargo build --release -p ferret-cli" >&2; exit 1; }
mkdir -p "$work"
if [ ! -x "$work/venv/bin/python" ]; then
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install --quiet "numpy==2.4.6"
fi
python3 "$here/fetch.py" --work "$work"
python3 "$here/mine.py" --work "$work" --ferret "$ferret"
python3 "$here/embed.py" --work "$work" --ferret "$ferret"
# First on the train packages only: the held-out packages' figures (adapter-heldout.report.json);
# then the shipped adapter, on every package with the same settings.
"$work/venv/bin/python" "$here/train.py" --work "$work" --out "$work/adapter-heldout.bin"
"$work/venv/bin/python" "$here/train.py" --work "$work" --train-all --out "$work/adapter.bin"
sha256sum "$work/adapter.bin"
