#!/usr/bin/env bash
# Regenerates ui/src/generated/contract.ts from the Rust types the UI shares with the engine
# (crates/engine/src/contract.rs lists them). The test command fails while it is stale.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
FERRET_WRITE_TYPES=1 cargo test -p ferret-engine --features ts --lib --quiet \
  contract::tests::generated_typescript_is_up_to_date
echo "wrote ui/src/generated/contract.ts"
