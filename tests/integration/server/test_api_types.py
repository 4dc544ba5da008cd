"""Every route's answer has the shape the JupyterLab client declares for it.

The responses of a real server (one call of each route, plus an error) are written into a
TypeScript file as values of the types in ``jupyter_extension/src/api.ts``, and the
TypeScript compiler checks them: a field the server drops or renames, a type that changes,
or a field the client does not declare fails here, not in a user's browser.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import nbformat
import pytest
from notebook_builder import make_notebook
from test_api import NOTEBOOK, wait_for_job
from test_serve_routes import prepared, project  # noqa: F401  (fixtures)

from nbprod.server.handlers import ROUTES

EXTENSION = Path(__file__).parents[3] / "jupyter_extension"
TSC = EXTENSION / "node_modules" / ".bin" / "tsc"


async def _record(api, server_root) -> list[tuple[str, str, object]]:
    """(route pattern, client type, body) for one call of every route."""
    (server_root / "pyproject.toml").write_text("[tool.nbprod]\n")
    (server_root / "nb" / "steps.ipynb").write_text(nbformat.writes(make_notebook(
        {"source": "n: int = 3", "tags": ["parameters"]},
        {"source": "data = list(range(n))", "tags": ["step:prepare"]},
        {"source": "total = sum(data)\nprint(total)", "tags": ["step:train"]},
    )))
    at = {"path": NOTEBOOK}
    recorded: list[tuple[str, str, object]] = []

    async def call(route: str, type_name: str, *parts, expect: int = 200, **kwargs):
        status, _, body = await api(*parts, **kwargs)
        assert status == expect, (route, body)
        recorded.append((route, type_name, body))
        return body

    await call("", "IInfo")
    await call("lint", "IDiagnostic[]", "lint", params=at)
    await call("lint/files", "ILintFiles", "lint/files", params=at)
    await call("lint/fix", "IFixPreview", "lint/fix", params=at)
    await call("tags/suggest", "ITagSuggestions", "tags/suggest", params=at)
    await call("params", "IParams", "params", params=at)
    await call("export", "IExportReport", "export", params=at)
    await call("export", "IExportWritten", "export", method="POST", body=at)
    await call("export/check", "IExportReport", "export/check", params=at)
    job = await call("run", "IJob", "run", method="POST", expect=202,
                     body={**at, "parameters": {"epochs": 7}})
    first = await wait_for_job(api, job["job_id"])
    job = await call("run", "IJob", "run", method="POST", expect=202,
                     body={**at, "parameters": {"epochs": 2}})
    await wait_for_job(api, job["job_id"])
    done = await call("jobs/(?P<job_id>[^/]+)", "IJob", "jobs", job["job_id"])
    a, b = first["result"]["run_id"], done["result"]["run_id"]
    await call("runs", "IRunSummary[]", "runs", params=at)
    await call("runs/(?P<run_id>[^/]+)", "IReceipt", "runs", a, params=at)
    await call("runs/diff", "IRunDiff", "runs/diff", params={**at, "a": a, "b": b})
    await call("runs/(?P<run_id>[^/]+)/report", "IRunReport", "runs", f"{a}/report", params=at)
    job = await call("runs/(?P<run_id>[^/]+)/reproduce", "IJob", "runs", f"{a}/reproduce",
                     method="POST", expect=202, body=at)
    reproduced = await wait_for_job(api, job["job_id"])
    recorded.append(("jobs/(?P<job_id>[^/]+)", "IJob", reproduced))
    steps = {"path": "nb/steps.ipynb"}
    await call("pipeline", "IPipelineStep[]", "pipeline", params=steps)
    await call("pipeline/dag", "IPipelineDag", "pipeline/dag", params=steps)
    job = await call("pipeline/run", "IJob", "pipeline/run", method="POST", expect=202,
                     body=steps)
    recorded.append(("jobs/(?P<job_id>[^/]+)", "IJob", await wait_for_job(api, job["job_id"])))
    await call("lint/fix", "IDiagnostic[]", "lint/fix", method="POST", body=at)
    await call("runs", "IErrorBody", "runs", "20000101T000000Z-000000", params=at, expect=404)
    served = {"path": "examples/notebooks/train.ipynb"}
    await call("serve", "IServeStatus", "serve", params=served)
    await call("serve", "IServeStatus", "serve", method="POST", body=served)
    meta = await call("serve/metadata", "IServeMetadata", "serve/metadata", params=served)
    record = {name: 1.0 for name in meta["schema"]["$defs"]["Row"]["properties"]}
    await call("serve/predict", "IPrediction", "serve/predict", method="POST",
               body={**served, "record": record})
    await call("serve/predict", "IServeRefusal", "serve/predict", method="POST",
               body={**served, "record": {}}, expect=422)
    await call("serve/drift", "IDriftReport", "serve/drift", params=served)
    await call("serve", "IServeStatus", "serve", method="DELETE", params=served)
    return recorded


def _check_source(recorded: list[tuple[str, str, object]]) -> str:
    types = sorted({re.sub(r"\[\]$", "", type_name) for _, type_name, _ in recorded})
    api_ts = (EXTENSION / "src" / "api").as_posix()
    lines = [f"import type {{ {', '.join(types)} }} from '{api_ts}';", ""]
    for index, (route, type_name, body) in enumerate(recorded):
        lines.append(f"// {route or '(info)'}")
        lines.append(f"export const answer{index}: {type_name} = {json.dumps(body, indent=2)};")
    return "\n".join(lines) + "\n"


@pytest.mark.usefixtures("project")  # the example project, run: a model to serve
async def test_every_route_answers_as_the_client_types_declare(api, server_root, tmp_path):
    recorded = await _record(api, server_root)
    assert {route for route, _, _ in recorded} == {pattern for pattern, _ in ROUTES}, (
        "a route without a recorded answer: add it to _record and its type to api.ts")
    check = tmp_path / "answers.ts"
    check.write_text(_check_source(recorded), encoding="utf-8")
    done = subprocess.run(
        [str(TSC), "--noEmit", "--strict", "--target", "es2020", "--module", "esnext",
         "--moduleResolution", "node", str(check)],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


async def test_the_check_fails_on_a_wrong_shape(tmp_path):
    """The compiler does reject an answer that does not fit (the test above can fail)."""
    check = tmp_path / "answers.ts"
    check.write_text(_check_source([("", "IInfo", {"name": "nbprod", "version": 1})]))
    done = subprocess.run([str(TSC), "--noEmit", "--strict", str(check)],
                          capture_output=True, text=True, check=False)
    assert done.returncode != 0 and "is not assignable to type 'string'" in done.stdout
