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
  # The editable install writes install.json into the venv's labextensions/nbprod, which the
  # step below makes a link to nbprod/labextension: unlink first, so it is never written
  # into the build folder (the wheel would then carry it twice).
  if [ -L .venv/share/jupyter/labextensions/nbprod ]; then
    rm .venv/share/jupyter/labextensions/nbprod
  fi
  .venv/bin/python -m pip install -q --upgrade pip
  # The extension is built below, explicitly; pip's build hook must not try it too.
  SKIP_JUPYTER_BUILDER=1 .venv/bin/python -m pip install -q -e ".[test]"
  touch "$stamp"
fi

# Airflow lives in its own venv (its pins clash with JupyterLab's); the DAG export test uses it.
bash scripts/setup-airflow.sh

# The JupyterLab extension (Node >= 20.19); the browser tests load nbprod/labextension.
if command -v node >/dev/null 2>&1; then
  if [ ! -f nbprod/labextension/package.json ] || [ -n "$(find jupyter_extension/src \
       jupyter_extension/style jupyter_extension/schema jupyter_extension/package.json \
       -newer nbprod/labextension/package.json -print -quit)" ]; then
    echo "==> building the JupyterLab extension"
    bash scripts/build-labextension.sh
  fi
else
  echo "warning: node is missing; the JupyterLab extension is not built, browser tests will fail" >&2
fi

# The editable install copies only install.json into the venv's labextensions folder (the
# bundle is built after it); link the built bundle there so `.venv/bin/jupyter lab` shows
# the nbprod sidebar, and `jlpm watch` takes effect on a page reload.
link=.venv/share/jupyter/labextensions/nbprod
if [ -f nbprod/labextension/package.json ] && \
   [ "$(readlink -f "$link" 2>/dev/null)" != "$(readlink -f nbprod/labextension)" ]; then
  echo "==> linking the JupyterLab extension into .venv"
  .venv/bin/jupyter-builder develop --overwrite . >/dev/null
fi
echo "==> environment ready: .venv/bin/nbprod"
