#!/usr/bin/env bash
# Create .venv-airflow: a separate environment with Apache Airflow 3, used only by the test
# that imports nbprod's generated Airflow DAG files through airflow.models.DagBag. Airflow pins
# many packages that clash with nbprod's own environment, so it never goes into .venv.
# Safe to rerun; skips the work when the environment is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

AIRFLOW_VERSION="${NBPROD_AIRFLOW_VERSION:-3.3.2}"
venv=.venv-airflow
stamp="$venv/.airflow-$AIRFLOW_VERSION"

if [ -f "$stamp" ] && "$venv/bin/python" -c "import airflow" >/dev/null 2>&1; then
  echo "==> Airflow $AIRFLOW_VERSION already set up in $venv"
  exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "==> creating $venv"
  python3 -m venv "$venv"
fi
echo "==> installing apache-airflow==$AIRFLOW_VERSION into $venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q "apache-airflow==$AIRFLOW_VERSION"
touch "$stamp"
echo "==> Airflow ready: $venv/bin/python"
