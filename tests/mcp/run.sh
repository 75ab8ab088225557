#!/usr/bin/env bash
# Drives `ferret mcp` with the official Python MCP SDK (pinned below) in a private venv.
# Needs a built `ferret` (FERRET_BIN, default target/debug/ferret) and FERRET_MODEL_DIR.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
venv=$repo/.cache/mcp-venv
MCP_VERSION=2.3.0
if ! "$venv/bin/python" -c "import mcp, importlib.metadata as m; assert m.version('mcp') == '$MCP_VERSION'" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "mcp==$MCP_VERSION"
fi
export FERRET_BIN=${FERRET_BIN:-$repo/target/debug/ferret}
exec "$venv/bin/python" "$repo/tests/mcp/test_mcp.py"
