#!/usr/bin/env bash
# Set everything up (scripts/setup.sh), then run the whole nbprod story on examples/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
exec bash examples/demo.sh "$@"
