"""Local model services for JupyterLab: ``nbprod serve`` processes this server starts and stops.

One service per notebook, at most ``max_services`` at once. A service is the CLI itself
(``nbprod serve NOTEBOOK --port N``, run in the notebook's folder as ``nbprod run`` is), on a
free loopback port, so it resolves the model, checks the export and refuses exactly as it does
in a terminal; the CLI's one-line error is what the browser sees. The browser never talks to
the service directly (it may run on another machine than the browser): the handlers forward
its requests, authenticated, to ``127.0.0.1:PORT``.

A service never outlives the server that started it. Like a run (``server/jobs.py``), it gets
a standard input this server never writes to: when the server ends, however it ends (stopped,
killed, crashed), the pipe closes and the service stops itself (``nbprod.cli.lifeline``).
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import time
from collections import deque
from dataclasses import dataclass, field

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from .cli_bridge import CliFailure, CliResult, interpret, start_nbprod, terminate_group

__all__ = ["Service", "ServiceManager", "TooMany", "NotRunning"]

#: Seconds a service may take to load its model before the start is given up.
READY_TIMEOUT_S = 120.0
#: Seconds a forwarded request may take.
FORWARD_TIMEOUT_S = 60.0
LOG_LINES = 200


class TooMany(Exception):
    """Raised when ``max_services`` services are already running."""


class NotRunning(Exception):
    """Raised when a request is forwarded to a notebook whose service is not running."""


@dataclass
class Service:
    """One ``nbprod serve`` process and what it said."""

    path: str
    port: int
    process: asyncio.subprocess.Process
    requested: dict
    started: float
    model: str | None = None
    run_id: str | None = None
    log: deque = field(default_factory=lambda: deque(maxlen=LOG_LINES))
    readers: list = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    def url(self, route: str) -> str:
        return f"http://127.0.0.1:{self.port}{route}"

    def to_dict(self) -> dict:
        """The service as the status route answers it."""
        return {"path": self.path, "running": self.running, "port": self.port,
                "model": self.model, "run_id": self.run_id, "requested": self.requested,
                "uptime_s": round(time.time() - self.started, 3)}


def stopped(path: str) -> dict:
    """The status of a notebook without a service."""
    return {"path": path, "running": False, "port": None, "model": None, "run_id": None,
            "requested": {"model": None, "run": None}, "uptime_s": None}


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1 (the service binds it a moment later; if
    another process took it meanwhile, the CLI says so in one line)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServiceManager:
    """Start, find, forward to and stop the services of one Jupyter server."""

    def __init__(self, root: str, *, max_services: int = 4,
                 ready_timeout: float = READY_TIMEOUT_S):
        self.root = root
        self.max_services = max_services
        self.ready_timeout = ready_timeout
        self._services: dict[str, Service] = {}
        self._starting: dict[str, Service] = {}
        self._stop_requested: set[str] = set()
        self._locks: dict[str, asyncio.Lock] = {}

    def get(self, path: str) -> Service | None:
        """The running service of notebook ``path``; one that exited is forgotten."""
        service = self._services.get(path)
        if service is not None and not service.running:
            del self._services[path]
            return None
        return service

    async def start(self, path: str, *, folder: str, notebook: str, model: str | None,
                    run: str | None) -> Service:
        """Start ``nbprod serve`` for ``path`` (or return the one already running).

        ``folder`` is where the CLI runs and ``notebook`` the notebook's name in it.

        Raises
        ------
        TooMany
            When ``max_services`` services run already.
        CliFailure
            The CLI's own error (400 for a user error: no serve cell, no model, a stale
            export), 504 when the model did not load within ``ready_timeout``, or 409 when
            ``stop`` was called meanwhile.
        """
        lock = self._locks.setdefault(path, asyncio.Lock())
        async with lock:  # a second start waits for the first, then finds it running
            running = self.get(path)
            if running is not None:
                return running
            if sum(1 for key in list(self._services) if self.get(key)) >= self.max_services:
                raise TooMany
            self._stop_requested.discard(path)  # a stop sent before this start is not for it
            port = free_port()
            args = ["serve", "--port", str(port)]
            args += ["--model", model] if model else []
            args += ["--run", run] if run else []
            # "--": a notebook named like an option is still the notebook.
            process = await start_nbprod([*args, "--", notebook], cwd=folder, lifeline=True)
            service = Service(path=path, port=port, process=process,
                              requested={"model": model, "run": run}, started=time.time())
            service.readers = [asyncio.ensure_future(self._drain(service, stream))
                               for stream in (process.stdout, process.stderr)]
            self._starting[path] = service
            try:
                if path not in self._stop_requested:
                    await self._wait_ready(service)
            except BaseException:
                if path not in self._stop_requested:  # else the stop explains the failure
                    await self._end(service)
                    raise
            finally:
                del self._starting[path]
            if path in self._stop_requested:
                self._stop_requested.discard(path)
                await self._end(service)
                raise CliFailure(409, "Stopped", f"the service of {path} was stopped before it"
                                 " was ready")
            self._services[path] = service
            return service

    async def stop(self, path: str) -> None:
        """Stop the service of ``path`` (SIGTERM, then SIGKILL after 10 s); a service still
        being started is stopped too, and its start answers 409."""
        service = self._services.pop(path, None)
        if service is not None:
            await self._end(service)
            return
        lock = self._locks.get(path)
        if lock is not None and lock.locked():
            self._stop_requested.add(path)
            starting = self._starting.get(path)
            if starting is not None:
                await self._end(starting)

    async def forward(self, path: str, method: str, route: str,
                      body: bytes | None = None) -> tuple[int, object]:
        """Send a request to the service of ``path``; return its status and JSON.

        Raises
        ------
        NotRunning
            When no service runs for ``path`` (or it stopped answering).
        """
        service = self.get(path)
        if service is None:
            raise NotRunning
        try:
            response = await AsyncHTTPClient().fetch(
                service.url(route), method=method, body=body, raise_error=False,
                headers={"Content-Type": "application/json"} if body is not None else None,
                request_timeout=FORWARD_TIMEOUT_S)
        except OSError:  # no connection: the process died under us
            await self.stop(path)
            raise NotRunning from None
        except HTTPClientError:  # the time limit
            return 504, {"error": f"the service did not answer within"
                                  f" {FORWARD_TIMEOUT_S:.0f} s"}
        try:
            return response.code, json.loads(response.body or b"null")
        except ValueError:
            return 502, None

    # -- the process ----------------------------------------------------------------------

    async def _drain(self, service: Service, stream: asyncio.StreamReader | None) -> None:
        """Keep the last lines the service printed; the pipes must be read or it blocks."""
        if stream is None:
            return
        async for raw in stream:
            service.log.append(raw.decode("utf-8", "replace").rstrip())

    async def _wait_ready(self, service: Service) -> None:
        """Wait until ``/ready`` answers 200, or the CLI exits with its error."""
        client = AsyncHTTPClient()
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            try:
                code = await asyncio.wait_for(asyncio.shield(service.process.wait()), 0.3)
            except asyncio.TimeoutError:
                code = None
            if code is not None:
                await asyncio.gather(*service.readers)
                raise _failure(CliResult(code, "", "\n".join(service.log)), self.root)
            try:
                response = await client.fetch(service.url("/ready"), raise_error=False,
                                              request_timeout=2)
            except OSError:  # not listening yet
                continue
            if response.code == 200:
                ready = json.loads(response.body)
                service.model, service.run_id = ready.get("model"), ready.get("run_id")
                return
        raise CliFailure(504, "Timeout", f"the service of {service.path} did not load its"
                         f" model within {self.ready_timeout:.0f} s and was stopped")

    async def _end(self, service: Service) -> None:
        if service.running:
            terminate_group(service.process, signal.SIGTERM)
            try:
                await asyncio.wait_for(service.process.wait(), 10)
            except asyncio.TimeoutError:
                terminate_group(service.process, signal.SIGKILL)
                await service.process.wait()
        await asyncio.gather(*service.readers, return_exceptions=True)


def _failure(result: CliResult, root: str) -> CliFailure:
    """The CLI's error for a service that exited before it was ready."""
    if result.exit_code not in (0, 1):
        try:
            interpret(result, root=root, command="serve")
        except CliFailure as failure:
            return failure
    return CliFailure(500, "InternalError",
                      "nbprod serve stopped before it was ready; see the server log")
