#!/usr/bin/env bash
# Tests and packages the VS Code extension: installs its npm packages (only when
# node_modules is missing or package-lock.json changed), runs the unit tests, builds
# ferret-search-<version>.vsix and checks what is in it. Exits non-zero on any failure.
set -euo pipefail

dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$dir"
started=$(date +%s)
step=setup
log=$(mktemp)
trap 'status=$?; rm -f "$log"; [ $status -eq 0 ] || echo "editors/vscode: FAILED at $step (exit $status) after $(( $(date +%s) - started ))s" >&2' EXIT

# The same stamp as scripts/setup.sh keeps for ui/: the sha256 of the lock installed from.
stamp=node_modules/.ferret-lock-sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  step="npm install"
  npm install --no-audit --no-fund --loglevel=error >/dev/null
  echo "$want" >"$stamp"
fi

# The number of passed tests from node --test's closing lines.
count() { sed -n 's/^# pass \([0-9]*\)$/\1/p' "$1"; }

step="npm test"
npm test --silent >"$log" 2>&1 || { cat "$log"; exit 1; }
unit=$(count "$log")

step="npm run package"
rm -f ./*.vsix
npm run package --silent </dev/null >"$log" 2>&1 || { cat "$log"; exit 1; }
vsix=$(ls ./*.vsix)

step="VSIX test"
npm run test:vsix --silent >"$log" 2>&1 || { cat "$log"; exit 1; }
packaged=$(count "$log")

echo "editors/vscode: $unit unit tests and $packaged VSIX tests passed, built ${vsix#./} in $(( $(date +%s) - started ))s"
