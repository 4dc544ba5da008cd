#!/usr/bin/env bash
# Run the whole test suite (unit, integration, browser), setting up first if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest -n 2 --dist loadgroup "$@"
