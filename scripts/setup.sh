#!/usr/bin/env bash
# Set up a development environment from scratch: system packages, .venv, nbprod and its
# test dependencies, the JupyterLab extension. Safe to rerun; skips what is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the browser tests need (headless chromium).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    echo "==> installing chromium (apt-get)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "warning: chromium is missing and this is not root; browser tests will fail" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  python3 -m venv .venv
fi
stamp=.venv/.nbprod-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "==> installing nbprod[test] into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test]"
  touch "$stamp"
fi
echo "==> environment ready: .venv/bin/nbprod"
