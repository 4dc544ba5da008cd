"""Secrets a notebook prints never reach the run store; the user's own --output copy keeps them."""

from __future__ import annotations

import json
import subprocess

from nbprod.store import Store
from tests.integration.run.runhelpers import child_env, nbprod_command, write_notebook

ENV_SECRET = "env-only-pa55word-9f3k"
AWS_KEY = "AKIAQWERTYUIOPASDFGH"
GITHUB = "ghp_" + "Z1y2X3w4V5u6T7s8R9q0P1o2N3m4L5k6J7i8"
URL_PASSWORD = "url-pa55-7h2q"
SLACK = "xoxb-112233445566-aabbccddeeff"
AWS_IN_ERROR = "AKIAZXCVBNMLKJHGFDSA"
PARAM = "param-s3cret-value"
URL_PARAM_PASSWORD = "in-a-url-p4ss"  # a parameter whose name says nothing, whose value does
PLANTED = (ENV_SECRET, AWS_KEY, GITHUB, URL_PASSWORD, SLACK, AWS_IN_ERROR, PARAM,
           URL_PARAM_PASSWORD)


def _split(value: str) -> str:
    """``value`` as a Python expression that builds it at run time: the planted values appear
    in outputs only, never in the notebook's source (which the store keeps as written)."""
    half = len(value) // 2
    return f"{value[:half]!r} + {value[half:]!r}"


CELLS = [
    {"source": "api_token = 'default-token'\ndb_url = 'sqlite://'", "tags": ["parameters"]},
    "import os, nbprod\nprint(os.environ['SERVICE_PASSWORD'])",
    f"print('aws', {_split(AWS_KEY)})\nprint('gh', {_split(GITHUB)})",
    "from IPython.display import HTML\n"
    f"HTML('<a href=\"postgresql://ana:' + {_split(URL_PASSWORD)} + '@db/x\">db</a>')",
    f"nbprod.record('slack', {_split(SLACK)})\nprint('token', api_token)",
    f"raise RuntimeError('cannot sign with ' + {_split(AWS_IN_ERROR)})",
]


def _everything_stored(folder) -> bytes:
    """Every byte under the store: files, receipts, SQLite database, WAL and objects."""
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_planted_secrets_are_masked_in_every_stored_copy(project):
    nb_path = write_notebook(project, "leaky.ipynb", *CELLS)
    env = {**child_env(project), "SERVICE_PASSWORD": ENV_SECRET}
    proc = subprocess.run(
        [*nbprod_command(), "run", str(nb_path), "-p", "api_token", PARAM, "-p", "db_url",
         f"postgresql://ana:{URL_PARAM_PASSWORD}@db/sales", "-o", "mine.ipynb"],
        cwd=project, env=env, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 1, proc.stderr  # the last cell raises
    assert "masked 7 secret values in the run store's copies" in proc.stderr

    stored = _everything_stored(project / ".nbprod")
    leaked = [value for value in PLANTED if value.encode() in stored]
    assert leaked == []

    (run,) = Store.open(project).list_runs()
    receipt = Store.open(project).read_receipt(run["run_id"])
    assert receipt["masked"] == 7
    assert receipt["records"]["slack"] == "***"
    assert receipt["parameters"] == {"api_token": "***", "db_url": "***"}
    assert "cannot sign with ***" in receipt["error"]["evalue"]

    # The user's own copy is the notebook as it ran, but for the secret parameter's value.
    mine = (project / "mine.ipynb").read_text(encoding="utf-8")
    for value in (ENV_SECRET, AWS_KEY, GITHUB, URL_PASSWORD, AWS_IN_ERROR):
        assert value in mine, value
    injected = [c for c in json.loads(mine)["cells"]
                if "injected-parameters" in c["metadata"].get("tags", [])]
    assert PARAM not in "".join(injected[0]["source"])
    assert URL_PARAM_PASSWORD not in "".join(injected[0]["source"])


def test_store_verify_reports_an_unmasked_secret(project, run_cli):
    nb_path = write_notebook(project, "clean.ipynb", "print('hello')")
    first = run_cli("run", nb_path, "-q", "--output-format", "json", cwd=project)
    run_id = json.loads(first.stdout)["run_id"]
    assert run_cli("store", "verify", cwd=project).exit_code == 0
    # A store written by an older nbprod, or edited by hand, holds a token in an output.
    output = project / ".nbprod" / "runs" / run_id / "output.ipynb"
    output.write_text(output.read_text().replace("hello", GITHUB))
    result = run_cli("store", "verify", cwd=project)
    assert result.exit_code == 1, result.output
    assert f"runs/{run_id}/output.ipynb" in result.output and "GitHub token" in result.output
    assert GITHUB not in result.output  # the report names it, masked
