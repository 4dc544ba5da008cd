"""The nbprod JSON API of the Jupyter server: thin authenticated handlers over the CLI.

Every route lives under ``<base_url>/nbprod``. Each answer is ``application/json`` with
``X-Content-Type-Options: nosniff``; successful answers are exactly the JSON that the
matching ``nbprod ... --output-format json`` command prints. Errors are ``{error, message}``.

Route table (``path`` is relative to the server root, ``/``-separated)::

    GET    /nbprod                     info: version and the commands this nbprod has
    GET    /nbprod/lint?path=P         nbprod lint P                          (findings)
    GET    /nbprod/lint/files?path=P   nbprod lint P --show-files  ([] when P is excluded)
    GET    /nbprod/lint/fix?path=P     nbprod lint P --diff  (what Fix would change)
    POST   /nbprod/lint/fix            {path, unsafe_fixes?}  nbprod lint P --fix
    GET    /nbprod/tags/suggest?path=P nbprod tag --suggest P
    GET    /nbprod/export?path=P       nbprod export P --dry-run              (preview)
    POST   /nbprod/export              {path, force?}  nbprod export P        (write)
    GET    /nbprod/export/check?path=P nbprod export P --check                (out of date?)
    GET    /nbprod/params?path=P       nbprod params P                        (parameter schema)
    POST   /nbprod/run                 {path, parameters?, output?}  start nbprod run P
                                       -p NAME VALUE... [-o OUTPUT] -> 202 {job}
    GET    /nbprod/jobs/ID             the job's state, progress and, once done, its JSON
    DELETE /nbprod/jobs/ID             cancel the job (SIGTERM to its process group)
    GET    /nbprod/runs?path=P         nbprod runs list --notebook P          (P's runs)
    GET    /nbprod/runs/diff?path=P&a=A&b=B   nbprod runs diff A B
    GET    /nbprod/runs/ID?path=P      nbprod runs show ID
    GET    /nbprod/runs/ID/report?path=P   nbprod runs report ID  (the page, as JSON)
    POST   /nbprod/runs/ID/reproduce {path, isolated?}  nbprod reproduce ID [--isolated]
                                       (202: a job)
    GET    /nbprod/pipeline/dag?path=P  nbprod pipeline show P  (steps, edges, cache, SVG)
    GET    /nbprod/pipeline?path=P     nbprod pipeline status P               (steps, cache)
    POST   /nbprod/pipeline/run        {path}  start nbprod pipeline run P -> 202 {job}
    GET    /nbprod/serve?path=P        the status of P's local model service
    POST   /nbprod/serve               {path, model?, run?}  start nbprod serve P on a free
                                       loopback port (or return the one running)
    DELETE /nbprod/serve?path=P        stop it
    POST   /nbprod/serve/predict       {path, record}  forwarded to the service's /predict
    GET    /nbprod/serve/drift?path=P  the service's /drift
    GET    /nbprod/serve/metadata?path=P   the service's /metadata (request schema, profile)

The runs and serve routes run the CLI in the notebook's folder, so they find the same project
(and run store) that ``nbprod run`` used for that notebook.

Status codes: 200 (the CLI exited 0 or 1: clean, or findings / a failed notebook), 202 (a job
started), 400 (bad request or a user error reported by the CLI, exit 2), 403 (no valid
credentials, XSRF), 404 (every refused or missing path, with one identical body), 409 (no
service runs for the notebook), 413 (body over 1 MiB), 422 (the service refused a record),
429 (too many running jobs or services), 500 (exit 3 or an internal error), 501 (this nbprod
lacks the command), 502 (the service failed to answer), 504 (the command, or a service's
start, timed out).

Security: every verb method carries ``@tornado.web.authenticated`` (Jupyter Server lets
undecorated methods through by default) and ``@authorized`` (the server's authorizer decides
read / write / execute on the ``nbprod`` resource). POST and DELETE also need the XSRF token,
which ``ServerConnection.makeRequest`` sends. Paths go through ``paths.resolve_request_path``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from http.client import responses
from pathlib import Path
from typing import Any, ClassVar

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from ..config import find_pyproject
from ..version import __version__
from .cli_bridge import CliFailure, interpret, run_nbprod, sanitize
from .jobs import Busy, Job, JobManager
from .paths import (
    NOT_FOUND_MESSAGE,
    NotFound,
    as_argument,
    check_run_id,
    resolve_output_path,
    resolve_request_path,
)
from .services import NotRunning, ServiceManager, TooMany, stopped

__all__ = ["NbprodState", "ROUTES", "setup_handlers", "MAX_BODY_BYTES"]

MAX_BODY_BYTES = 1 * 1024 * 1024
AUTH_RESOURCE = "nbprod"
# Query arguments Jupyter itself may add to any request; never an error.
_JUPYTER_QUERY = frozenset({"token", "_xsrf", "no_track_activity"})
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


@dataclass
class NbprodState:
    """What the handlers share: the server root, the background jobs, the model services."""

    root: str
    jobs: JobManager
    services: ServiceManager
    timeout: float = 300.0


class ApiError(web.HTTPError):
    """An HTTP error with the ``{error, message}`` body nbprod answers with."""

    def __init__(self, status: int, error: str, message: str):
        super().__init__(status)
        self.error = error
        self.message = message


def not_found() -> ApiError:
    return ApiError(404, "NotFound", NOT_FOUND_MESSAGE)


class NbprodHandler(APIHandler):
    """Base of every nbprod handler: JSON errors, strict inputs, the CLI bridge."""

    auth_resource = AUTH_RESOURCE
    #: The CLI command a route needs (None: always available).
    command: ClassVar[str | None] = None
    #: Query arguments a GET accepts.
    query_fields: ClassVar[frozenset[str]] = frozenset()
    #: JSON body fields a POST accepts: name -> (type or tuple of types, required).
    body_fields: ClassVar[dict[str, tuple[Any, bool]]] = {}

    @property
    def state(self) -> NbprodState:
        return self.settings["nbprod"]

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "no-store")

    # -- errors ---------------------------------------------------------------------------

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Answer every error as ``{error, message}``: no traceback, no absolute path."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ApiError):
            error, message = exc.error, exc.message
        elif isinstance(exc, web.HTTPError):
            reason = exc.reason or responses.get(status_code, "Error")
            error = reason.title().replace(" ", "").replace("-", "")
            message = reason
            if exc.log_message and status_code in (403, 405):
                # Tornado's own texts ("'_xsrf' argument missing from POST") hold no data.
                message = exc.log_message % exc.args if exc.args else exc.log_message
        else:
            error, message = "InternalError", "nbprod failed unexpectedly; see the server log"
        self.clear_header("Content-Disposition")
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": error, "message": message}))

    def reply(self, data: object, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(data))

    # -- inputs ---------------------------------------------------------------------------

    def require_command(self) -> None:
        """Answer 501 when this nbprod does not have the route's CLI command."""
        from ..cli import COMMANDS

        if self.command and self.command not in COMMANDS:
            raise ApiError(
                501, "NotAvailable",
                f"this nbprod ({__version__}) has no '{self.command}' command; upgrade nbprod",
            )

    def check_query(self) -> None:
        """Refuse query arguments the route does not know (400)."""
        unknown = {
            # JupyterLab's ServerConnection adds a numeric cache-busting key to every GET.
            key for key in self.request.query_arguments
            if key not in self.query_fields and key not in _JUPYTER_QUERY and not key.isdigit()
        }
        if unknown:
            raise ApiError(400, "BadRequest", f"unknown query argument {sorted(unknown)[0]!r}")

    def query(self, name: str) -> str:
        """The one value of query argument ``name``, refusing unknown arguments (400)."""
        self.check_query()
        values = self.request.query_arguments.get(name, [])
        if len(values) != 1:
            raise ApiError(400, "BadRequest", f"give exactly one query argument {name!r}")
        try:
            return values[0].decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "BadRequest", f"query argument {name!r} is not UTF-8") from None

    def path_query(self, name: str = "path") -> str:
        """A notebook path from the query string, checked; any problem is the one 404."""
        values = self.request.query_arguments.get(name, [])
        if len(values) != 1:
            raise not_found()
        try:
            text = values[0].decode("utf-8")
        except UnicodeDecodeError:
            raise not_found() from None
        self.check_query()
        return self.notebook(text)

    def query_argument(self) -> str:
        """The query's notebook path, checked, as the CLI's argument (``as_argument``)."""
        return as_argument(self.path_query())

    def notebook_argument(self, text: object) -> str:
        """A body's notebook path, checked, as the CLI's argument (``as_argument``)."""
        return as_argument(self.notebook(text))

    def notebook(self, text: object) -> str:
        """Check a notebook path and return it relative to the root (for the CLI's cwd)."""
        self.resolved(text)
        return str(text)

    def resolved(self, text: object) -> Path:
        """Check a notebook path and return its real location."""
        try:
            return resolve_request_path(self.state.root, text)
        except NotFound:
            raise not_found() from None

    def body(self) -> dict[str, Any]:
        """The JSON body: capped before parsing (413), an object (400), known fields (400)."""
        length = self.request.headers.get("Content-Length", "")
        declared = int(length) if length.isdigit() else 0
        if max(declared, len(self.request.body)) > MAX_BODY_BYTES:
            raise ApiError(
                413, "PayloadTooLarge", f"request bodies are limited to {MAX_BODY_BYTES} bytes"
            )
        try:
            data = json.loads(self.request.body or b"{}")
        except (ValueError, UnicodeDecodeError, RecursionError):  # nested too deep for json
            raise ApiError(400, "BadRequest", "the request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise ApiError(400, "BadRequest", "the request body must be a JSON object")
        unknown = sorted(set(data) - set(self.body_fields))
        if unknown:
            raise ApiError(400, "BadRequest", f"unknown field {unknown[0]!r} in the request body")
        for name, (kind, required) in self.body_fields.items():
            if name not in data:
                if required:
                    raise ApiError(400, "BadRequest", f"the request body needs the field {name!r}")
                continue
            # bool is an int in Python; a number field must not accept true/false.
            if not isinstance(data[name], kind) or (
                isinstance(data[name], bool) and bool not in _as_tuple(kind)
            ):
                raise ApiError(400, "BadRequest", f"field {name!r} has the wrong type")
        return data

    # -- the CLI --------------------------------------------------------------------------

    async def cli(self, *args: str, cwd: str | None = None) -> None:
        """Run ``nbprod ARGS --output-format json`` (in the root) and answer with its JSON."""
        try:
            result = await run_nbprod(
                [*args, "--output-format", "json"],
                cwd=cwd or self.state.root,
                timeout=self.state.timeout,
            )
            data = interpret(result, root=self.state.root, command=args[0])
        except CliFailure as failure:
            if failure.status >= 500:
                self.log.error("nbprod %s failed: %s", args[0], failure.message)
            raise ApiError(failure.status, failure.error, failure.message) from None
        self.reply(data)

    async def start_job(
        self, kind: str, path: str, args: list[str], output_path: str | None = None,
        cwd: str | None = None,
    ) -> None:
        try:
            job = await self.state.jobs.start(
                kind, path, [*args, "--output-format", "json"], output_path=output_path,
                cwd=cwd,
            )
        except Busy:
            raise ApiError(
                429, "Busy",
                f"{self.state.jobs.max_running} jobs are already running; wait or cancel one",
            ) from None
        self.reply(job.to_dict(), status=202)


def _as_tuple(kind: Any) -> tuple:
    return kind if isinstance(kind, tuple) else (kind,)


# -- the routes ---------------------------------------------------------------------------

_NEEDED = ("lint", "tag", "export", "params", "run", "runs", "pipeline", "reproduce", "serve")


class InfoHandler(NbprodHandler):
    """GET /nbprod: the version and which commands exist (the panel hides the others)."""

    @web.authenticated
    @authorized("read")
    def get(self) -> None:
        from ..cli import COMMANDS

        self.reply({"name": "nbprod", "version": __version__,
                    "commands": [c for c in _NEEDED if c in COMMANDS]})


class LintHandler(NbprodHandler):
    command = "lint"
    query_fields = frozenset({"path"})

    @web.authenticated
    @authorized("read")
    async def get(self) -> None:
        self.require_command()
        await self.cli("lint", self.query_argument())


class LintFilesHandler(NbprodHandler):
    """Whether the project lints the notebook at all: the panel asks when a lint found
    nothing, so that an excluded notebook is not shown as clean."""

    command = "lint"
    query_fields = frozenset({"path"})

    @web.authenticated
    @authorized("read")
    async def get(self) -> None:
        self.require_command()
        await self.cli("lint", self.query_argument(), "--show-files")


class LintFixHandler(NbprodHandler):
    command = "lint"
    body_fields = {"path": (str, True), "unsafe_fixes": (bool, False)}
    query_fields = frozenset({"path"})

    @web.authenticated
    @authorized("read")
    async def get(self) -> None:
        """What the fixes would change (``lint --diff``), shown before anything is written."""
        self.require_command()
        await self.cli("lint", self.query_argument(), "--diff")

    @web.authenticated
    @authorized("write")
    async def post(self) -> None:
        self.require_command()
        data = self.body()
        extra = ["--unsafe-fixes"] if data.get("unsafe_fixes") else []
        await self.cli("lint", self.notebook_argument(data["path"]), "--fix", *extra)


class TagSuggestHandler(NbprodHandler):
    command = "tag"
    query_fields = frozenset({"path"})

    @web.authenticated
    @authorized("read")
    async def get(self) -> None:
        self.require_command()
        await self.cli("tag", "--suggest", self.query_argument())


class ExportHandler(NbprodHandler):
    command = "export"
    query_fields = frozenset({"path"})
    body_fields = {"path": (str, True), "force": (bool, False)}

    @web.authenticated
    @authorized("read")
    async def get(self) -> None:
        self.require_command()
        await self.cli("export", self.query_argument(), "--dry-run")

    @web.authenticated
    @authorized("write")
    async def post(self) -> None:
        self.require_command()
        data = self.body()
        extra = ["--force"] if data.get("force") else []
        await self.cli("export", self.notebook_argument(data["path"]), *extra)


class ExportCheckHandler(NbprodHandler):
    command = "export"
    query_fields = frozenset({"path"})

    @web.authenticated
    @authorized("read")
    async def get(self) -> None:
        self.require_command()
        await self.cli("export", self.query_argument(), "--check")


class ParamsHandler(NbprodHandler):
    command = "params"
    query_fields = frozenset({"path"})

    @web.authenticated
    @authorized("read")
    async def get(self) -> None:
        self.require_command()
        await self.cli("params", self.query_argument())


class RunHandler(NbprodHandler):
    command = "run"
    body_fields = {"path": (str, True), "parameters": (dict, False), "output": (str, False)}

    @web.authenticated
    @authorized("execute")
    async def post(self) -> None:
        self.require_command()
        data = self.body()
        path = self.notebook(data["path"])
        args = ["run", as_argument(path)]
        for name, value in (data.get("parameters") or {}).items():
            args += ["-p", name, parameter_text(name, value)]
        output = data.get("output")
        if output is not None:
            # The run store lives in a hidden folder JupyterLab will not open; a visible
            # copy of the executed notebook is what the panel links to.
            try:
                resolve_output_path(self.state.root, output, source=self.resolved(path))
            except NotFound:
                raise not_found() from None
            args += ["--output", as_argument(output)]
        await self.start_job("run", path, args, output_path=output)


def parameter_text(name: str, value: object) -> str:
    """A parameter value as ``nbprod run -p NAME VALUE`` takes it (the CLI coerces types)."""
    if not _PARAM_NAME.match(name):
        raise ApiError(400, "BadRequest", f"{name!r} is not a valid parameter name")
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float, list, dict)) or value is None:
        return json.dumps(value)
    raise ApiError(400, "BadRequest", f"parameter {name!r} has a value of an unsupported type")


class JobHandler(NbprodHandler):
    """GET polls a job; DELETE cancels it."""

    def _job(self, job_id: str) -> Job:
        job = self.state.jobs.get(job_id)
        if job is None:
            raise ApiError(404, "NotFound", "no such job on this server")
        return job

    @web.authenticated
    @authorized("read")
    def get(self, job_id: str) -> None:
        self.reply(self._job(job_id).to_dict())

    @web.authenticated
    @authorized("execute")
    def delete(self, job_id: str) -> None:
        job = self._job(job_id)
        self.state.jobs.cancel(job)
        self.reply(job.to_dict())


class RunsHandler(NbprodHandler):
    """Shared by the runs routes: the CLI runs where ``nbprod run`` found the project."""

    command = "runs"

    def notebook_place(self) -> tuple[str, str]:
        """(the notebook's folder, its path relative to its project root, as receipts say)."""
        notebook = self.resolved(self.path_query())
        pyproject = find_pyproject(notebook)
        project = pyproject.parent if pyproject else notebook.parent
        try:
            recorded = notebook.relative_to(project.resolve()).as_posix()
        except ValueError:
            recorded = notebook.name
        return str(notebook.parent), recorded

    def run_id(self, text: str) -> str:
        try:
            return check_run_id(text)
        except NotFound:
            raise ApiError(404, "NotFound", "no such run") from None


class RunsListHandler(RunsHandler):
    query_fields = frozenset({"path"})

    @web.authenticated
    @authorized("read")
    async def get(self) -> None:
        self.require_command()
        folder, recorded = self.notebook_place()
        await self.cli("runs", "list", "--notebook", recorded, cwd=folder)


class RunsDiffHandler(RunsHandler):
    query_fields = frozenset({"path", "a", "b"})

    @web.authenticated
    @authorized("read")
    async def get(self) -> None:
        self.require_command()
        first, second = self.run_id(self.query("a")), self.run_id(self.query("b"))
        folder, _ = self.notebook_place()
        await self.cli("runs", "diff", first, second, cwd=folder)


class RunShowHandler(RunsHandler):
    query_fields = frozenset({"path"})

    @web.authenticated
    @authorized("read")
    async def get(self, run_id: str) -> None:
        self.require_command()
        run_id = self.run_id(run_id)
        folder, _ = self.notebook_place()
        await self.cli("runs", "show", run_id, cwd=folder)


class ReproduceHandler(RunsHandler):
    """POST /nbprod/runs/ID/reproduce: rerun a recorded run and compare, as a job; with
    ``isolated``, in the environment the run ran in (rebuilt with uv, or reused)."""

    command = "reproduce"
    body_fields = {"path": (str, True), "isolated": (bool, False)}

    @web.authenticated
    @authorized("execute")
    async def post(self, run_id: str) -> None:
        self.require_command()
        run_id = self.run_id(run_id)
        body = self.body()
        path = self.notebook(body["path"])
        folder = str(self.resolved(path).parent)
        isolated = ["--isolated"] if body.get("isolated") else []
        await self.start_job("reproduce", path, ["reproduce", run_id, *isolated], cwd=folder)


class RunReportHandler(RunsHandler):
    query_fields = frozenset({"path"})

    @web.authenticated
    @authorized("read")
    async def get(self, run_id: str) -> None:
        self.require_command()
        run_id = self.run_id(run_id)
        folder, _ = self.notebook_place()
        await self.cli("runs", "report", run_id, cwd=folder)


class PipelineHandler(NbprodHandler):
    command = "pipeline"
    query_fields = frozenset({"path"})

    @web.authenticated
    @authorized("read")
    async def get(self) -> None:
        self.require_command()
        await self.cli("pipeline", "status", self.query_argument())


class PipelineDagHandler(NbprodHandler):
    command = "pipeline"
    query_fields = frozenset({"path"})

    @web.authenticated
    @authorized("read")
    async def get(self) -> None:
        self.require_command()
        await self.cli("pipeline", "show", self.query_argument())


class PipelineRunHandler(NbprodHandler):
    command = "pipeline"
    body_fields = {"path": (str, True), "step": (str, False)}

    @web.authenticated
    @authorized("execute")
    async def post(self) -> None:
        self.require_command()
        data = self.body()
        path = self.notebook(data["path"])
        # One step (its upstream steps must be cached), as `--only STEP` does on the CLI.
        only = ["--only", data["step"]] if data.get("step") else []
        await self.start_job("pipeline", path, ["pipeline", "run", as_argument(path), *only])


class ServiceHandler(NbprodHandler):
    """Shared by the serve routes: a notebook's local model service (``server/services.py``)."""

    command = "serve"

    async def forward(self, path: str, method: str, route: str, body: bytes | None = None):
        """Answer with what the service answers at ``route``; 409 when none runs."""
        try:
            status, data = await self.state.services.forward(path, method, route, body)
        except NotRunning:
            raise ApiError(409, "NotRunning", f"no model service runs for {path}; start it"
                                              " first") from None
        if status == 200:
            self.reply(data)
            return
        # The service's refusal ({error, problems}) as nbprod's {error, message}, problems kept.
        answer = data if isinstance(data, dict) else {}
        message = sanitize(str(answer.get("error") or f"the service answered {status}"),
                           self.state.root)
        error = "InvalidRecord" if status in (400, 413, 422) else "ServiceError"
        self.reply({"error": error, "message": message,
                    "problems": answer.get("problems") or []},
                   status=status if status in (400, 413, 422) else 502)


_MODEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}(@[A-Za-z0-9][A-Za-z0-9_.-]{0,99})?$")


class ServeHandler(ServiceHandler):
    """GET: the status of the notebook's service; POST: start it (or return the running one);
    DELETE: stop it."""

    query_fields = frozenset({"path"})
    body_fields = {"path": (str, True), "model": (str, False), "run": (str, False)}

    def status(self, path: str) -> dict:
        service = self.state.services.get(path)
        return service.to_dict() if service is not None else stopped(path)

    @web.authenticated
    @authorized("read")
    def get(self) -> None:
        self.require_command()
        self.reply(self.status(self.path_query()))

    @web.authenticated
    @authorized("execute")
    async def post(self) -> None:
        self.require_command()
        data = self.body()
        path = self.notebook(data["path"])
        model, run = data.get("model") or None, data.get("run") or None
        if model and run:
            raise ApiError(400, "BadRequest", "give a model or a run, not both")
        if model and not _MODEL.match(model):
            raise ApiError(400, "BadRequest", f"{model!r} is not a model name (NAME or"
                                              " NAME@ALIAS)")
        if run:
            try:
                run = check_run_id(run)
            except NotFound:
                raise ApiError(404, "NotFound", "no such run") from None
        notebook = self.resolved(path)
        try:
            await self.state.services.start(path, folder=str(notebook.parent),
                                            notebook=notebook.name, model=model, run=run)
        except TooMany:
            raise ApiError(429, "Busy", f"{self.state.services.max_services} model services are"
                                        " already running; stop one") from None
        except CliFailure as failure:
            raise ApiError(failure.status, failure.error, failure.message) from None
        self.reply(self.status(path))

    @web.authenticated
    @authorized("execute")
    async def delete(self) -> None:
        self.require_command()
        path = self.path_query()
        await self.state.services.stop(path)
        self.reply(stopped(path))


class ServePredictHandler(ServiceHandler):
    """POST {path, record}: one record through the service's ``/predict``."""

    body_fields = {"path": (str, True), "record": (dict, True)}

    @web.authenticated
    @authorized("execute")
    async def post(self) -> None:
        self.require_command()
        data = self.body()
        path = self.notebook(data["path"])
        await self.forward(path, "POST", "/predict", json.dumps(data["record"]).encode())


class ServeDriftHandler(ServiceHandler):
    query_fields = frozenset({"path"})

    @web.authenticated
    @authorized("read")
    async def get(self) -> None:
        self.require_command()
        await self.forward(self.path_query(), "GET", "/drift")


class ServeMetadataHandler(ServiceHandler):
    query_fields = frozenset({"path"})

    @web.authenticated
    @authorized("read")
    async def get(self) -> None:
        self.require_command()
        await self.forward(self.path_query(), "GET", "/metadata")


#: (route below <base_url>/nbprod, handler). Order matters: "runs/diff" before "runs/ID".
ROUTES: list[tuple[str, type[NbprodHandler]]] = [
    ("", InfoHandler),
    ("lint", LintHandler),
    ("lint/files", LintFilesHandler),
    ("lint/fix", LintFixHandler),
    ("tags/suggest", TagSuggestHandler),
    ("export", ExportHandler),
    ("export/check", ExportCheckHandler),
    ("params", ParamsHandler),
    ("run", RunHandler),
    ("jobs/(?P<job_id>[^/]+)", JobHandler),
    ("runs", RunsListHandler),
    ("runs/diff", RunsDiffHandler),
    ("runs/(?P<run_id>[^/]+)/report", RunReportHandler),
    ("runs/(?P<run_id>[^/]+)/reproduce", ReproduceHandler),
    ("runs/(?P<run_id>[^/]+)", RunShowHandler),
    ("pipeline", PipelineHandler),
    ("pipeline/run", PipelineRunHandler),
    ("pipeline/dag", PipelineDagHandler),
    ("serve", ServeHandler),
    ("serve/predict", ServePredictHandler),
    ("serve/drift", ServeDriftHandler),
    ("serve/metadata", ServeMetadataHandler),
]


def setup_handlers(web_app: web.Application, root: str, *, max_running: int = 2) -> NbprodState:
    """Register the routes on ``web_app`` and share an ``NbprodState`` through its settings.

    Parameters
    ----------
    web_app:
        The Jupyter server's tornado application.
    root:
        The server root every path parameter is resolved against.
    max_running:
        How many runs / pipeline runs may run at once (429 beyond).

    Returns
    -------
    NbprodState
    """
    state = NbprodState(root=root, jobs=JobManager(root, max_running=max_running),
                        services=ServiceManager(root))
    web_app.settings["nbprod"] = state
    base = web_app.settings.get("base_url", "/")
    rules = [
        (url_path_join(base, "nbprod", route) if route else url_path_join(base, "nbprod"), handler)
        for route, handler in ROUTES
    ]
    web_app.add_handlers(".*$", rules)
    return state
