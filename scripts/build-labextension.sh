#!/usr/bin/env bash
# Build the JupyterLab extension (jupyter_extension/ -> nbprod/labextension/).
# Uses jlpm from the venv's jupyter-builder; with a committed yarn.lock the install is
# reproducible (--immutable). A cold install fetches ~100 MB and takes a few minutes.
# Usage: scripts/build-labextension.sh [--prod]   (--prod: minified build, as in the wheel)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
if ! command -v jlpm >/dev/null 2>&1; then
  echo "error: jlpm not found; install jupyter-builder into .venv (pip install 'jupyter-builder>=1.2,<2')" >&2
  exit 2
fi
cd jupyter_extension
if [ -s yarn.lock ]; then
  jlpm install --immutable
else
  jlpm install
fi
if [ "${1:-}" = "--prod" ]; then
  jlpm build:prod
else
  jlpm build
fi
echo "==> built nbprod/labextension"
