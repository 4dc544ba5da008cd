#!/usr/bin/env bash
# Run the whole test suite (unit, integration, browser), setting up first if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# --durations: the slowest tests, so a slow newcomer is seen. NBPROD_FUZZ=long runs the long
# fuzzing profile (a scheduled job's); every other run gets a fifth of it.
exec .venv/bin/python -m pytest -n 2 --dist loadgroup --durations=15 "$@"
