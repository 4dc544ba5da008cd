"""The model service: a FastAPI app around a notebook's exported module and a stored model.

The generated ``<package>/<notebook>_service.py`` is three lines: it imports the exported
module and calls ``create_app(module, notebook)``. The ``predict`` the app calls is therefore
``module.predict``, the serve cell's function in the very module the pipeline and the tests
import, with the module's preprocessing as its globals: there is no second copy to drift
away from training.

Which model to serve comes from the arguments or from the environment that ``nbprod serve``
sets (``NBPROD_MODEL`` = ``wine@champion`` or ``wine``, ``NBPROD_RUN``, ``NBPROD_STORE``), and
is loaded from the run store when the app starts (``/ready`` answers 503 until then). The app
binds to whatever uvicorn is told; ``nbprod serve`` uses 127.0.0.1. It has no authentication
of its own: expose it only behind a proxy that authenticates (see docs/serve.md).

Endpoints: ``POST /predict``, ``GET /health``, ``/ready``, ``/metadata``, ``/metrics``
(Prometheus), ``/drift``. No request can crash the worker: a refused body is a 4xx with the
problem named, a failing ``predict`` a 500 with the error logged.
"""

from __future__ import annotations

import json
import logging
import os
import time
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from ..errors import ExportError
from .schema import RequestError

__all__ = ["DEFAULT_MAX_BODY", "ENV", "Service", "create_app"]

#: The environment variables that choose what the app serves.
ENV = {"model": "NBPROD_MODEL", "run": "NBPROD_RUN", "store": "NBPROD_STORE",
       "max_body": "NBPROD_MAX_BODY_BYTES", "window": "NBPROD_DRIFT_WINDOW"}
DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_WINDOW = 1000
#: The most of a refused body read and dropped; past it the connection is closed.
DRAIN_LIMIT = 64 * 1024 * 1024
#: Rows between two looks at drift for the log (a look costs one count per feature).
CHECK_EVERY = 100

log = logging.getLogger("nbprod.serve")


class Service:
    """What the app serves: the model, its schema, its monitors. Built once per worker."""

    def __init__(self, module: ModuleType, notebook: str, *, model: str | None,
                 run: str | None, store_dir: str | None, max_body: int, window: int,
                 bundle: Path | None = None):
        predict = getattr(module, "predict", None)
        if not callable(predict):
            raise ExportError(
                f"{notebook}: the module {module.__name__} has no predict function; define"
                " def predict(model, rows) in a cell tagged serve and export again"
            )
        self.module = module
        self.notebook = notebook
        self.predict = predict
        self.max_body = max_body
        self.window = window
        self.selection = {"model": model, "run": run, "store_dir": store_dir}
        self.bundle = bundle
        self.ref: Any = None
        self.model: Any = None
        self.schema: Any = None
        self.monitor: Any = None
        self.warned: set[str] = set()
        self.checked = 0
        from .metrics import Metrics

        self.metrics = Metrics()

    def load(self) -> None:
        """Resolve the model in the store, load it (hash checked), build schema and monitor.

        Raises
        ------
        StoreError
            When the model cannot be found or has no training profile.
        """
        from ..store import open_project_store
        from . import registry
        from .drift import DriftMonitor
        from .schema import RowSchema

        if self.bundle is not None:  # a packaged service: the model travels with the app
            from .bundle import load_bundle

            ref, self.model = load_bundle(self.bundle)
        else:
            start = Path(self.module.__file__ or ".").parent
            store = open_project_store(start, store_dir=self.selection["store_dir"],
                                       create=False)
            try:
                ref = registry.resolve(store, self.selection["model"], self.selection["run"],
                                       notebook=self.notebook)
                registry.require_profile(ref)
                self.model = registry.load(store, ref)
            finally:
                store.close()
        ref.parameters  # noqa: B018 - read the run's defaults now, not on the first /metadata
        self.schema = RowSchema(ref.entry["profile"])
        self.monitor = DriftMonitor(ref.entry["profile"], window=self.window)
        self.ref = ref
        log.info("serving model %s of run %s (%s)", ref.name, ref.run_id, self.notebook)

    def answer(self, body: bytes) -> dict:
        """Predictions for a request body (bytes of JSON).

        Raises
        ------
        RequestError
            400 for a body that is not JSON, 422 for one the schema refuses.
        """
        try:  # NaN, Infinity and 1e999 parse (to floats); the schema refuses them, 422
            data = json.loads(body)
        except ValueError as exc:
            raise RequestError(400, f"the body is not JSON ({exc})") from None
        except RecursionError:
            raise RequestError(400, "the body is not JSON a service takes (nested too"
                                    " deeply)") from None
        batch = self.schema.batch(data)
        result = self.predict(self.model, batch.frame)
        values = result.tolist() if hasattr(result, "tolist") else list(result)
        if len(values) != len(batch.frame):
            raise RuntimeError(f"predict returned {len(values)} values for"
                               f" {len(batch.frame)} rows")
        self.monitor.observe(batch.numbers, batch.categories)
        self.metrics.predictions(values)
        self._watch_drift()
        return {"predictions": values, "model": self.ref.name, "run_id": self.ref.run_id}

    def _watch_drift(self) -> None:
        """Warn in the log, once per feature, when a feature's verdict becomes drifted."""
        if self.monitor.seen - self.checked < CHECK_EVERY:
            return
        self.checked = self.monitor.seen
        for feature in self.monitor.report()["features"]:
            name = feature["feature"]
            if feature["verdict"] == "drifted" and name not in self.warned:
                self.warned.add(name)
                log.warning(
                    "drift: feature %r has drifted from the training data of run %s (PSI %s,"
                    " missing rate %s -> %s over the last %d rows); see GET /drift",
                    name, self.ref.run_id, feature["psi"],
                    feature["missing_rate"]["training"], feature["missing_rate"]["live"],
                    self.monitor.rows)

    def metadata(self) -> dict:
        """Model, run, code and data hashes, environment, training metrics, request schema."""
        return {
            **self.ref.metadata(),
            "service": {"notebook": self.notebook, "module": self.module.__name__,
                        "predict": f"{self.module.__name__}.{self.predict.__qualname__}",
                        "max_body_bytes": self.max_body, "drift_window": self.window},
            "schema": self.schema.json_schema(),
            "profile": self.ref.entry.get("profile"),
        }


def _setting(value: Any, key: str, default: Any = None) -> Any:
    return value if value is not None else os.environ.get(ENV[key]) or default


def create_app(module: ModuleType, notebook: str, *, model: str | None = None,
               run: str | None = None, store_dir: str | None = None,
               max_body: int | None = None, window: int | None = None,
               bundle: Path | None = None) -> Any:
    """The FastAPI app serving ``module.predict`` with a model from the run store, or from
    ``bundle``, the model folder ``nbprod export --to service`` wrote.

    Arguments left out are read from the environment (``ENV``); with neither, the newest
    succeeded run of ``notebook`` that recorded a model is served.
    """
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     nbprod: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    service = Service(
        module, notebook, model=_setting(model, "model"), run=_setting(run, "run"),
        store_dir=_setting(store_dir, "store"),
        max_body=int(_setting(max_body, "max_body", DEFAULT_MAX_BODY)),
        window=int(_setting(window, "window", DEFAULT_WINDOW)), bundle=bundle,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        service.load()
        yield

    app = FastAPI(title=f"nbprod service of {notebook}", lifespan=lifespan)
    app.state.service = service
    metrics = service.metrics

    @app.post("/predict")
    async def predict(request: Request):
        started = time.perf_counter()
        try:
            body = await _read_body(request, service.max_body)
            answer = service.answer(body)
        except RequestError as exc:
            metrics.error({400: "bad_json", 413: "too_large"}.get(exc.status, "validation"))
            metrics.request("/predict", exc.status)
            return JSONResponse(exc.to_dict(), status_code=exc.status)
        except Exception as exc:  # the worker lives on: a 500 that says what failed
            log.exception("predict failed")
            metrics.error("internal")
            metrics.request("/predict", 500)
            return JSONResponse({"error": f"predict failed: {type(exc).__name__}: {exc};"
                                          " see the service log", "problems": []},
                                status_code=500)
        metrics.request("/predict", 200, time.perf_counter() - started)
        return JSONResponse(answer)

    @app.get("/health")
    async def health():
        metrics.request("/health", 200)
        return {"status": "ok"}

    @app.get("/ready")
    async def ready():
        if service.ref is None:
            metrics.request("/ready", 503)
            return JSONResponse({"ready": False}, status_code=503)
        metrics.request("/ready", 200)
        return {"ready": True, "model": service.ref.name, "run_id": service.ref.run_id}

    @app.get("/metadata")
    async def metadata():
        metrics.request("/metadata", 200)
        return service.metadata()

    @app.get("/metrics")
    async def prometheus():
        metrics.request("/metrics", 200)
        drift = service.monitor.report() if service.monitor is not None else None
        return PlainTextResponse(metrics.render(drift),
                                 media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/drift")
    async def drift():
        metrics.request("/drift", 200)
        return service.monitor.report()

    return app


async def _read_body(request: Any, limit: int) -> bytes:
    """The request body, refused with 413 past ``limit`` bytes.

    The rest of a refused body is read and dropped (up to ``DRAIN_LIMIT``) rather than kept,
    so the client, still sending, reads the 413 instead of a reset connection.
    """
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            if size > DRAIN_LIMIT:
                break
            continue
        chunks.append(chunk)
    if size > limit:
        raise RequestError(413, f"the body is larger than the limit of {limit} bytes; send"
                                " fewer rows per request")
    return b"".join(chunks)
