"""Long operations (``nbprod run``, ``nbprod pipeline run``) as polled background processes.

The server keeps no job system of its own: a job is one ``nbprod`` subprocess in its own
process group, its output collected by an asyncio task. The browser polls the job; cancel
sends SIGTERM to the group, which reaches the kernel papermill started too.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
import time
from dataclasses import dataclass

from .cli_bridge import (
    CliFailure,
    CliResult,
    error_line,
    interpret,
    sanitize,
    start_nbprod,
    terminate_group,
)

__all__ = ["Job", "JobManager", "Busy"]

#: States a job moves through: running -> succeeded | failed | cancelled | error. A cancel
#: request keeps the job running (``cancel_requested``) until its processes have exited.
RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"
CANCELLED, ERROR = "cancelled", "error"
KEEP_FINISHED = 50


class Busy(Exception):
    """Raised when the number of running jobs has reached the limit."""


@dataclass
class Job:
    """One background ``nbprod`` process and what it printed so far."""

    id: str
    kind: str
    path: str
    command: str
    started: float
    process: asyncio.subprocess.Process | None = None
    state: str = RUNNING
    exit_code: int | None = None
    finished: float | None = None
    progress: str = ""
    result: object = None
    error: dict | None = None
    #: A visible copy of the executed notebook (relative to the root), when one was asked for.
    output_path: str | None = None
    cancel_requested: bool = False

    def to_dict(self) -> dict:
        """The job as the status endpoint returns it."""
        end = self.finished if self.finished is not None else time.time()
        return {
            "job_id": self.id,
            "kind": self.kind,
            "path": self.path,
            "state": self.state,
            "exit_code": self.exit_code,
            "elapsed_s": round(end - self.started, 3),
            "progress": self.progress,
            "result": self.result,
            "error": self.error,
            "output_path": self.output_path,
            "cancel_requested": self.cancel_requested,
        }


class JobManager:
    """Start, track and cancel background ``nbprod`` processes for one server."""

    def __init__(self, root: str, *, max_running: int = 2):
        self.root = root
        self.max_running = max_running
        self._jobs: dict[str, Job] = {}

    def running(self) -> int:
        return sum(1 for job in self._jobs.values() if job.state == RUNNING)

    async def start(
        self, kind: str, path: str, args: list[str], *, output_path: str | None = None,
        cwd: str | None = None,
    ) -> Job:
        """Start ``nbprod ARGS`` as job ``kind`` on notebook ``path`` (relative to the root).

        ``cwd`` (default: the server root) is where the command runs: a reproduce runs in the
        notebook's folder, so it finds the project and run store ``nbprod run`` used.

        Raises
        ------
        Busy
            When ``max_running`` jobs are already running.
        """
        if self.running() >= self.max_running:
            raise Busy
        self._forget_old()
        job = Job(id=secrets.token_hex(8), kind=kind, path=path, command=args[0],
                  started=time.time(), output_path=output_path)
        job.process = await start_nbprod(args, cwd=cwd or self.root, lifeline=True)
        self._jobs[job.id] = job
        asyncio.ensure_future(self._watch(job))
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def cancel(self, job: Job) -> None:
        """Ask a running job to stop (SIGTERM to its process group)."""
        if job.state == RUNNING and job.process is not None:
            job.cancel_requested = True
            terminate_group(job.process, signal.SIGTERM)

    async def _watch(self, job: Job) -> None:
        assert job.process is not None and job.process.stdout and job.process.stderr
        errors: list[str] = []

        async def read_stderr() -> None:
            async for raw in job.process.stderr:  # type: ignore[union-attr]
                line = raw.decode("utf-8", "replace").rstrip()
                errors.append(line)
                # Progress bars redraw with "\r"; the last segment is the current state.
                current = line.split("\r")[-1].strip()
                if current:
                    job.progress = sanitize(current, self.root)[:200]

        out_task = asyncio.ensure_future(job.process.stdout.read())
        await read_stderr()
        out = await out_task
        code = await job.process.wait()
        job.exit_code = code
        job.finished = time.time()
        self._settle(job, CliResult(code, out.decode("utf-8", "replace"), "\n".join(errors)))

    def _settle(self, job: Job, result: CliResult) -> None:
        if job.cancel_requested:
            job.state = CANCELLED
            job.error = {"error": "Cancelled", "message": f"nbprod {job.command} was cancelled"}
            job.result = _json_or_none(result.stdout)
            return
        if result.exit_code in (0, 1):
            job.result = _json_or_none(result.stdout)
            job.state = SUCCEEDED if result.exit_code == 0 else FAILED
            if result.exit_code == 1:
                message = (error_line(result.stderr) or _reported_error(job.result)
                           or f"nbprod {job.command} reported a failure")
                job.error = {"error": "ExecutionError", "message": sanitize(message, self.root)}
            return
        job.state = ERROR
        failure = _failure(result, self.root, job.command)
        job.error = {"error": failure.error, "message": failure.message}
        job.result = _json_or_none(result.stdout)

    def _forget_old(self) -> None:
        finished = sorted(
            (j for j in self._jobs.values() if j.state != RUNNING), key=lambda j: j.started
        )
        for job in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[job.id]


def _reported_error(result: object) -> str | None:
    """What failed, from a command's JSON answer: with ``--output-format json``, a failed
    run says which cell raised what in its receipt's ``error``, and a pipeline run in the
    ``message`` of its first failed step, not in an ``error:`` line."""
    if not isinstance(result, dict):
        return None
    error = result.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"]:
        return error["message"]
    for step in result.get("steps") or []:
        if isinstance(step, dict) and step.get("status") == "failed":
            return f"step {step.get('name')!r} failed: {step.get('message') or 'see its run'}"
    return None


def _json_or_none(text: str) -> object:
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return None


def _failure(result: CliResult, root: str, command: str) -> CliFailure:
    try:
        interpret(result, root=root, command=command)
    except CliFailure as failure:
        return failure
    return CliFailure(500, "InternalError", f"nbprod {command} failed unexpectedly")
