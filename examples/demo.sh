#!/usr/bin/env bash
# The whole nbprod story on the wine example, start to finish:
# lint -> fix -> tag (suggest) -> export -> test -> run with parameters -> sweep ->
# pipeline (local, then on a loopback Dask cluster) -> runs diff -> reproduce -> store verify ->
# serve (alias a run's model, serve it on 127.0.0.1, predict, watch drift).
#
# It works on a scratch copy of this folder (printed at the end), so the example stays pristine.
# Usage: examples/demo.sh [SCRATCH_DIR]      (nbprod must be on PATH, e.g. .venv/bin)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
work="${1:-$(mktemp -d -t nbprod-demo.XXXXXX)}"
mkdir -p "$work"
cp -r "$here/pyproject.toml" "$here/data" "$here/notebooks" "$work/"
cd "$work"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
# What to look for in the output that follows, in one line.
say() { printf '\033[2m    %s\033[0m\n' "$*"; }
# Commands that report findings or failures exit 1 by design; the demo shows them and goes on.
show() { echo "\$ $*"; "$@" || echo "(exit $?)"; }

step "1. Lint: the messy exploration notebook has production problems, the cleaned one has none"
say "Each finding names its cell; NB004 predicts a NameError on a rerun, NB401 a leaked key."
show nbprod lint notebooks/exploration.ipynb
nbprod lint notebooks/train.ipynb

step "2. Fix what is safe to fix automatically (saved errors, unused imports, pip installs...)"
say "The fixes are written atomically; what needs a person stays, counted per rule."
show nbprod lint notebooks/exploration.ipynb --fix --statistics

step "3. Tag suggestions for the untagged notebook"
say "Which cells would become the module (export) and which pipeline steps, and why."
nbprod tag --suggest notebooks/exploration.ipynb

step "4. Export the tagged notebook: a module, its tests and a step pipeline"
say "Generated files carry a hash; --check fails in CI when they are out of date."
nbprod export notebooks/train.ipynb
nbprod export notebooks/train.ipynb --check

step "5. The generated tests pass against the generated module"
say "The test cells of the notebook, run by pytest against wine/train.py."
python -m pytest -q -p no:cacheprovider -W ignore::DeprecationWarning tests

step "6. The parameters the notebook takes, and a run with one of them changed"
say "Typed parameters from the parameters cell; the run keeps a receipt in .nbprod/."
nbprod params notebooks/train.ipynb
nbprod run notebooks/train.ipynb -p n_estimators 10
first=$(nbprod runs list --output-format json | python -c 'import json,sys; print(json.load(sys.stdin)[0]["run_id"])')

step "7. A sweep: one receipt per combination, with the accuracy each run recorded"
say "Four runs, two at a time, each in its own kernel; accuracy comes from nbprod.record()."
nbprod sweep notebooks/train.ipynb -p max_depth 2,4 -p n_estimators 10,30 --max-parallel 2

step "8. The step: cells as a cached pipeline (a rerun skips every unchanged step)"
say "First run: every step runs. Second run: nothing changed, so every step is cached."
nbprod pipeline show notebooks/train.ipynb
nbprod pipeline run notebooks/train.ipynb
nbprod pipeline run notebooks/train.ipynb

step "9. The same pipeline on a Dask cluster (scheduler and two workers on 127.0.0.1)"
say "The same steps on other processes, with max_depth=3 (an int, as the parameter says)."
port=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python -m distributed.cli.dask_scheduler --host 127.0.0.1 --port "$port" --no-dashboard \
  >"$work/scheduler.log" 2>&1 &
pids=($!)
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for _ in 1 2; do
  python -m distributed.cli.dask_worker "tcp://127.0.0.1:$port" --host 127.0.0.1 --nthreads 1 \
    --no-dashboard >>"$work/workers.log" 2>&1 &
  pids+=($!)
done
nbprod pipeline run notebooks/train.ipynb --executor dask --cluster "tcp://127.0.0.1:$port" \
  --force -p max_depth 3

step "10. Every run left a receipt: list them and diff the first run with the latest one"
say "The diff names what differs: here only the parameter that was changed."
nbprod runs list --limit 8
nbprod run notebooks/train.ipynb -p n_estimators 30
last=$(nbprod runs list --kind run --output-format json | python -c 'import json,sys; print(json.load(sys.stdin)[0]["run_id"])')
nbprod runs diff "$first" "$last"

step "11. Reproduce the first run: same parameters, outputs compared with tolerances"
say "A rerun of the receipt; a mismatch would name the first differing cell."
nbprod reproduce "$first"

step "12. The store is sound"
say "Every receipt and stored object is checked against its hash."
nbprod store verify

step "13. Serve the model: alias the last run's model, serve it, predict, watch drift"
say "The service imports wine/train.py (the serve cell's predict); requests are checked"
say "against the training data; 356 requests with alcohol shifted make /drift flag it."
nbprod models alias wine@champion "$last"
nbprod models list
port=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
nbprod serve notebooks/train.ipynb --model wine@champion --port "$port" >"$work/serve.log" 2>&1 &
pids+=($!)
python - "$port" <<'PY'
import csv, json, random, sys, time, urllib.error, urllib.request

url = f"http://127.0.0.1:{sys.argv[1]}"
def call(path, body=None):
    data = None if body is None else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url + path, data=data)) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
for _ in range(300):
    try:
        if call("/ready")[0] == 200:
            break
    except OSError:
        time.sleep(0.1)
rows = [{k: float(v) for k, v in row.items() if k != "target"}
        for row in csv.DictReader(open("data/wine.csv"))]
print("$ POST /predict (3 rows) ->", call("/predict", {"records": rows[:3]}))
print("$ POST /predict (a row without proline) ->",
      call("/predict", {k: v for k, v in rows[0].items() if k != "proline"}))
random.Random(0).shuffle(rows)  # the file is sorted by class; live requests are not
for row in rows * 2:
    call("/predict", dict(row, alcohol=row["alcohol"] + 3))
drift = call("/drift")[1]
print(f"$ GET /drift -> drifted: {drift['drifted']} over the last {drift['rows']} rows")
PY
grep "drift: feature" "$work/serve.log" || true
python -c 'import pandas as p; f = p.read_csv("data/wine.csv"); f["alcohol"] += 3; f.to_csv("shifted.csv", index=False)'
show nbprod drift wine@champion shifted.csv

printf '\nDemo finished. Everything it made is in %s\n' "$work"
printf 'Open it in JupyterLab; the nbprod panel is the gears tab of the left sidebar:\n'
printf '  cd %s && %s/jupyter lab notebooks/train.ipynb\n' "$work" "$(dirname "$(command -v nbprod)")"
