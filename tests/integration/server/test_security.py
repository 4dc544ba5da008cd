"""The security model of the nbprod routes: authentication on every route and verb, XSRF,
origin checks, path containment, error hygiene, headers and body limits."""

from __future__ import annotations

import ast
import asyncio
import json
import os
import re
from pathlib import Path
from urllib.parse import quote, unquote

import nbformat
import pytest
from notebook_builder import make_notebook

import nbprod.server.handlers as handlers_module
from nbprod.server.handlers import MAX_BODY_BYTES, ROUTES
from nbprod.server.paths import NOT_FOUND_MESSAGE

VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")
NOT_FOUND = {"error": "NotFound", "message": NOT_FOUND_MESSAGE}
SAMPLE_GROUP = "0123456789abcdef"


def nbprod_rules(web_app) -> list[str]:
    """The URL patterns of every nbprod route registered on the running app's routers."""
    found: list[str] = []

    def walk(router) -> None:
        for rule in getattr(router, "rules", []):
            target = rule.target
            if hasattr(target, "rules"):
                walk(target)
                continue
            pattern = getattr(getattr(rule.matcher, "regex", None), "pattern", "")
            if "/nbprod" in pattern:
                found.append(pattern)

    walk(web_app.default_router)
    walk(web_app.wildcard_router)
    return sorted(set(found))


def concrete(pattern: str) -> str:
    """A request path for a route pattern: groups filled with a sample value."""
    path = re.sub(r"\(\?P<\w+>[^)]*\)", SAMPLE_GROUP, pattern)
    return path.rstrip("$")


async def fetch(client, path, method="GET", headers=None, body=None):
    if body is None and method in ("POST", "PUT", "PATCH"):
        body = b"{}"
    response = await client.fetch(
        path, method=method, headers=headers or {}, body=body, raise_error=False,
        allow_nonstandard_methods=True, follow_redirects=False,
    )
    return response


@pytest.fixture
def routes(jp_web_app, server_root):
    patterns = nbprod_rules(jp_web_app)
    # Every route of the table is registered, and nothing else under /nbprod.
    assert len(patterns) == len(ROUTES)
    return [concrete(p) for p in patterns]


def bytes_tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (links recorded as their target)."""
    tree = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            tree[rel] = b"->" + os.readlink(path).encode()
        elif path.is_file():
            tree[rel] = path.read_bytes()
    return tree


# -- authentication -----------------------------------------------------------------------


@pytest.mark.parametrize("credentials", ["none", "bad token", "good token"])
async def test_auth_matrix_every_route_and_verb(routes, http_server_client, jp_auth_header,
                                                credentials, server_root):
    headers = {
        "none": {},
        "bad token": {"Authorization": "token not-the-token"},
        "good token": dict(jp_auth_header),
    }[credentials]
    answered = []
    for path in routes:
        for verb in VERBS:
            response = await fetch(http_server_client, path, verb, headers)
            text = response.body.decode()
            assert response.headers["Content-Type"].startswith("application/json"), (path, verb)
            assert response.headers["X-Content-Type-Options"] == "nosniff", (path, verb)
            if credentials == "good token":
                assert response.code != 403, (path, verb, text)
                if response.code < 400:
                    answered.append((path, verb))
            else:
                assert response.code in (403, 405), (path, verb, response.code, text)
                assert set(json.loads(text)) == {"error", "message"}
    if credentials == "good token":
        # The token opens the doors that exist (the info route at least answers 200).
        assert any(verb == "GET" for _, verb in answered)


def test_every_handler_verb_method_is_decorated_authenticated():
    """Static check: a verb method without @web.authenticated would be open by default."""
    tree = ast.parse(Path(handlers_module.__file__).read_text())
    verbs = {"get", "post", "put", "patch", "delete", "head", "options"}
    checked = 0
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name in verbs:
                names = [ast.unparse(d) for d in item.decorator_list]
                assert names and names[0] == "web.authenticated", (
                    f"{node.name}.{item.name} must carry @web.authenticated as its outer decorator"
                )
                checked += 1
    # Every class in the route table defines at least one verb.
    for _, handler in ROUTES:
        assert any(verb in vars(handler) for verb in verbs), handler.__name__
    assert checked >= len(ROUTES)


async def test_cookie_post_without_xsrf_is_refused(http_server_client, jp_auth_header, jp_base_url,
                                                   server_root):
    # A token-authenticated request hands out the login cookie; replay the cookie alone.
    first = await fetch(http_server_client, jp_base_url + "nbprod", headers=dict(jp_auth_header))
    cookie = "; ".join(c.split(";")[0] for c in first.headers.get_list("Set-Cookie"))
    assert cookie
    path = jp_base_url + "nbprod/lint/fix"
    body = json.dumps({"path": "nb/sample.ipynb"})
    plain = await fetch(http_server_client, path, "POST", {"Cookie": cookie}, body)
    assert plain.code == 403
    assert "_xsrf" in json.loads(plain.body)["message"]
    # The same cookie with a matching _xsrf cookie and header passes the check.
    xsrf = "2|ab12cd34|0123456789abcdef0123456789abcdef|1700000000"
    with_xsrf = await fetch(
        http_server_client, path, "POST",
        {"Cookie": f"{cookie}; _xsrf={xsrf}", "X-XSRFToken": xsrf}, body,
    )
    assert with_xsrf.code == 200
    # A cookie-authenticated GET from a foreign origin is refused.
    foreign = await fetch(http_server_client, jp_base_url + "nbprod", "GET",
                          {"Cookie": cookie, "Origin": "http://evil.example.com"})
    assert foreign.code in (403, 404)


# -- paths --------------------------------------------------------------------------------


@pytest.fixture
def traversal_setup(server_root):
    """A sentinel tree beside the root, links out of the root and hidden files in it."""
    outside = server_root.parent / "sentinel"
    outside.mkdir()
    secret = nbformat.writes(make_notebook("SECRET = 'sentinel'", "   "))
    (outside / "secret.ipynb").write_text(secret)
    (outside / "secret.txt").write_text("sentinel")
    sibling = server_root.parent / f"{server_root.name}-secret"
    sibling.mkdir()
    (sibling / "secret.ipynb").write_text(secret)
    (server_root / "link.ipynb").symlink_to(outside / "secret.ipynb")
    (server_root / "linkdir").symlink_to(outside, target_is_directory=True)
    (server_root / ".hidden.ipynb").write_text(secret)
    (server_root / ".git").mkdir()
    (server_root / ".git" / "config").write_text("[core]")
    (server_root / ".env").write_text("TOKEN=x")
    (server_root / "nb" / ".ipynb_checkpoints").mkdir()
    (server_root / "nb" / ".ipynb_checkpoints" / "sample-checkpoint.ipynb").write_text(secret)
    return outside, sibling


def payloads(root: Path, outside: Path, sibling: Path) -> list[str]:
    """Path parameters as they go on the wire (already percent-encoded where shown)."""
    absolute = quote(str(outside / "secret.ipynb"))
    return [
        "../sentinel/secret.ipynb",
        "..%2fsentinel%2fsecret.ipynb",
        "%2e%2e/sentinel/secret.ipynb",
        "%2e%2e%2fsentinel%2fsecret.ipynb",
        "%252e%252e%252fsentinel%252fsecret.ipynb",
        "..%252fsentinel%252fsecret.ipynb",
        "..%5csentinel%5csecret.ipynb",
        "%2e%2e%5csentinel%5csecret.ipynb",
        "nb/../../sentinel/secret.ipynb",
        "nb/%2e%2e/%2e%2e/sentinel/secret.ipynb",
        "nb//..//..//sentinel/secret.ipynb",
        "....//....//sentinel/secret.ipynb",
        "..;/sentinel/secret.ipynb",
        absolute,
        "/etc/passwd",
        "%2fetc%2fpasswd",
        "//etc/passwd",
        "file:///etc/passwd",
        "~/.bashrc",
        "~root/.ssh/id_rsa.ipynb",
        "%7e/secret.ipynb",
        "C:%5cWindows%5cwin.ini",
        "C:/x.ipynb",
        "%5c%5chost%5cshare%5cx.ipynb",
        "//host/share/x.ipynb",
        "nb/sample.ipynb%00",
        "nb/sample.ipynb%00.txt",
        "%00../sentinel/secret.ipynb",
        "%c0%ae%c0%ae/sentinel/secret.ipynb",
        "%c0%ae%c0%ae%c0%afsentinel%c0%afsecret.ipynb",
        "%e0%80%ae%e0%80%ae/sentinel/secret.ipynb",
        "..%c0%afsentinel%c0%afsecret.ipynb",
        "..%e2%88%95sentinel%e2%88%95secret.ipynb",
        "..%u2215sentinel%u2215secret.ipynb",
        f"../{quote(sibling.name)}/secret.ipynb",
        ".git/config",
        ".env",
        ".hidden.ipynb",
        "nb/.ipynb_checkpoints/sample-checkpoint.ipynb",
        "link.ipynb",
        "linkdir/secret.ipynb",
        "nb/sample.ipynb%0a",
        "%20../sentinel/secret.ipynb",
        "a/" * 600 + "x.ipynb",
        "",
        ".",
        "..",
        "nb",
        "nb/",
        "nb/missing.ipynb",
    ]


GET_ROUTES = ["lint", "lint/fix", "tags/suggest", "export", "export/check", "params", "runs",
              "pipeline", "pipeline/dag", f"runs/{SAMPLE_GROUP}", f"runs/{SAMPLE_GROUP}/report",
              "serve", "serve/drift", "serve/metadata"]
POST_FIELDS = [("lint/fix", "path"), ("export", "path"), ("run", "path"), ("run", "output"),
               ("pipeline/run", "path"), (f"runs/{SAMPLE_GROUP}/reproduce", "path"),
               ("serve", "path"), ("serve/predict", "path")]
#: Other fields a POST route requires, so the path is what gets refused.
POST_REQUIRED = {"serve/predict": {"record": {}}}


async def test_traversal_corpus_is_refused_with_one_identical_404(
    http_server_client, jp_auth_header, jp_base_url, server_root, traversal_setup
):
    outside, sibling = traversal_setup
    before = bytes_tree(outside) | {"sibling/" + k: v for k, v in bytes_tree(sibling).items()}
    root_before = bytes_tree(server_root)
    corpus = payloads(server_root, outside, sibling)
    assert len(corpus) >= 40
    headers = dict(jp_auth_header)
    bodies = set()
    count = 0
    for raw in corpus:
        for route in GET_ROUTES:
            response = await fetch(http_server_client,
                                   f"{jp_base_url}nbprod/{route}?path={raw}", headers=headers)
            assert response.code == 404, (route, raw, response.body)
            bodies.add(response.body)
            count += 1
        response = await fetch(http_server_client, f"{jp_base_url}nbprod/serve?path={raw}",
                               "DELETE", headers)
        assert response.code == 404, ("DELETE serve", raw, response.body)
        bodies.add(response.body)
        if route == "runs/diff":
            continue
        response = await fetch(
            http_server_client, f"{jp_base_url}nbprod/runs/diff?path={raw}&a=x1&b=x2",
            headers=headers,
        )
        assert response.code == 404, (raw, response.body)
        bodies.add(response.body)
        for text in {raw, unquote(raw)}:
            for route, field in POST_FIELDS:
                if field == "output" and text == "nb/missing.ipynb":
                    continue  # a fine place for a new output copy
                body = {"path": "nb/sample.ipynb", **POST_REQUIRED.get(route, {}), field: text}
                response = await fetch(http_server_client, f"{jp_base_url}nbprod/{route}",
                                       "POST", headers, json.dumps(body))
                assert response.code == 404, (route, field, text, response.body)
                bodies.add(response.body)
                count += 1
    assert count > 40 * (len(GET_ROUTES) + len(POST_FIELDS))
    # One answer for all: nothing tells an existing target from a missing one.
    assert [json.loads(b) for b in bodies] == [NOT_FOUND]
    after = bytes_tree(outside) | {"sibling/" + k: v for k, v in bytes_tree(sibling).items()}
    assert after == before
    assert bytes_tree(server_root) == root_before


async def test_a_run_id_that_names_no_run_is_not_found(api, server_root):
    query = {"path": "nb/sample.ipynb"}
    status, _, data = await api("runs", "20990101T000000Z-abcdef", params=query)
    assert status == 404 and data["error"] == "NotFound", data  # no store yet
    status, _, job = await api("run", method="POST", body=query)
    assert status == 202, job
    for _ in range(600):  # a store now exists, with this run in it
        status, _, job = await api("jobs", job["job_id"])
        if job["state"] != "running":
            break
        await asyncio.sleep(0.1)
    status, _, data = await api("runs/diff", params={**query, "a": "nope", "b": "nope2"})
    assert status == 404 and data["error"] == "NotFound", data
    assert "no run 'nope'" in data["message"] and str(server_root) not in data["message"]


@pytest.mark.parametrize("run_id", ["..", "..%2f..%2fetc", "a%00b", "%2e%2e", "x" * 200,
                                    "-rf", "a b", "~", "..%5c..%5c"])
async def test_bad_run_ids_are_refused(api, run_id):
    query = {"path": "nb/sample.ipynb", "a": unquote(run_id), "b": "x"}
    status, _, data = await api("runs/diff", params=query)
    assert status == 404 and data == {"error": "NotFound", "message": "no such run"}


# -- bodies, headers, hygiene -------------------------------------------------------------


async def test_bodies_over_the_cap_malformed_or_with_unknown_fields_are_refused(api):
    status, _, data = await api("lint/fix", method="POST", body=b"x" * (MAX_BODY_BYTES + 1))
    assert status == 413 and data["error"] == "PayloadTooLarge"
    status, _, data = await api("lint/fix", method="POST", body=b"{not json")
    assert status == 400 and data["message"] == "the request body is not valid JSON"
    deep = b"[" * 100_000 + b"]" * 100_000  # under the cap, deeper than json can read
    for body in (deep, b'{"path": ' + deep + b"}"):
        status, _, data = await api("export", method="POST", body=body)
        assert status == 400 and data["message"] == "the request body is not valid JSON"
    status, _, data = await api("lint/fix", method="POST", body=b"[1, 2]")
    assert status == 400
    status, _, data = await api("lint/fix", method="POST",
                                body={"path": "nb/sample.ipynb", "shell": "rm -rf /"})
    assert status == 400 and "'shell'" in data["message"]
    status, _, data = await api("export", method="POST", body={"path": "nb/sample.ipynb",
                                                               "force": "yes"})
    assert status == 400 and "'force'" in data["message"]
    status, _, data = await api("run", method="POST",
                                body={"path": "nb/sample.ipynb", "parameters": {"a b": 1}})
    assert status == 400 and "not a valid parameter name" in data["message"]
    status, _, data = await api("lint", params={"path": "nb/sample.ipynb", "select": "NB"})
    assert status == 400 and "'select'" in data["message"]


async def test_error_bodies_hold_no_traceback_path_or_token(
    api, server_root, jp_web_app, jp_serverapp, monkeypatch
):
    token = jp_serverapp.identity_provider.token
    (server_root / "nb" / "broken.ipynb").write_text("{ not json")
    answers = [
        await api("lint/fix", method="POST", body=b"{"),
        await api("lint/fix", method="POST", body=b"x" * (MAX_BODY_BYTES + 1)),
        await api("params", params={"path": "nb/broken.ipynb"}),
        await api("lint", params={"path": "../etc/passwd"}),
        await api("jobs", "nope"),
        await api("lint", method="DELETE"),
    ]
    jp_web_app.settings["nbprod"].timeout = 0.001
    answers.append(await api("lint", params={"path": "nb/sample.ipynb"}))

    def crash(*args, **kwargs):
        raise RuntimeError(f"boom in {server_root}")

    monkeypatch.setattr(handlers_module, "run_nbprod", crash)
    answers.append(await api("lint", params={"path": "nb/sample.ipynb"}))
    statuses = {status for status, _, _ in answers}
    assert statuses >= {400, 404, 405, 413, 500, 504}
    for _, headers, data in answers:
        text = json.dumps(data)
        assert set(data) == {"error", "message"}, data
        assert "Traceback" not in text and str(server_root) not in text and "/tmp" not in text
        assert token not in text
        assert headers["Content-Type"] == "application/json"


async def test_a_notebook_named_like_an_option_is_only_ever_that_notebook(
    api, server_root, tmp_path
):
    """The routes call the CLI with the path as an argument: a name that starts with `-`
    must not turn into an option (`--extend-exclude=...` would lint and fix the whole root,
    through a link to a notebook outside it)."""
    fixable = make_notebook("import os\nx = 1")
    outside = tmp_path / "outside.ipynb"
    outside.write_text(nbformat.writes(fixable))
    before = outside.read_bytes()
    (server_root / "link.ipynb").symlink_to(outside)
    (server_root / "--extend-exclude=-*").mkdir()
    named = "--extend-exclude=-*/x.ipynb"
    (server_root / named).write_text(nbformat.writes(fixable))
    (server_root / "-o.ipynb").write_text(nbformat.writes(make_notebook(
        {"source": "n: int = 1", "tags": ["parameters"]}, "print(n)")))

    status, _, found = await api("lint", params={"path": named})
    assert status == 200, found
    assert {d["filename"] for d in found} == {named}
    status, _, left = await api("lint/fix", method="POST", body={"path": named})
    assert status == 200, left
    assert outside.read_bytes() == before and (server_root / "link.ipynb").is_symlink()
    status, _, params = await api("params", params={"path": "-o.ipynb"})
    assert status == 200 and [p["name"] for p in params["parameters"]] == ["n"], params
