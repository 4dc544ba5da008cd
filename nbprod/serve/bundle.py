"""``nbprod export --to service``: a folder that runs the service without the run store.

``services/<module>/`` holds the app (``app.py``), the model (``model/manifest.json`` with
its receipt entry and the provenance the service reports, and the model bytes), a
``requirements.txt`` pinned from the receipt (``pins.pinned_requirements``: only what the app
imports, transitively) and a ``Dockerfile`` (slim Python of the receipt's version, a non-root
user, a HEALTHCHECK on /health). The exported module is not copied: the app imports it from
the project, and the Dockerfile copies its package from the project root (the build context).
Every file is a pure function of the notebook, the module and the run, so regenerating gives
the same bytes; the text files carry nbprod's provenance header like every generated file.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path, PurePosixPath
from typing import Any

from ..export.base import Artifact
from ..export.provenance import stamp_json, stamp_python
from .registry import ModelRef

__all__ = ["MANIFEST", "MODEL_FILE", "load_bundle", "service_files"]

MANIFEST = "manifest.json"
MODEL_FILE = "model.bin"
#: What the service reports from the receipt; the rest stays in the store.
_RECEIPT_KEYS = ("run_id", "notebook", "parameters", "data", "environment")

_APP = '''"""The HTTP service of {notebook}, packaged with its model (model/).

Run it from the project root: `uvicorn {folder_import}.app:app` (see the Dockerfile).
predict and its preprocessing come from {module_import}, imported, not copied.
"""

from pathlib import Path

from nbprod.serve.app import create_app

import {module_import} as module

app = create_app(module, {notebook!r}, bundle=Path(__file__).parent / "model")
'''

_HEALTHCHECK = ("import urllib.request;"
                " urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)")
_DOCKERFILE = '''# Build from the project root (the module's package is copied from there):
#   docker build -f {folder}/Dockerfile -t {name}-service .
#   docker run -p 127.0.0.1:8000:8000 {name}-service
# The service has no authentication: publish it on 127.0.0.1, or behind a proxy that has.
FROM python:{python}-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --create-home --uid 10001 service
WORKDIR /app
COPY {folder}/requirements.txt /app/requirements.txt
RUN pip install --no-cache-dir -r /app/requirements.txt
COPY {package}/ /app/{package_import}/
COPY {folder}/ /app/service/
USER service
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \\
  CMD ["python", "-c", "{healthcheck}"]
CMD ["python", "-m", "uvicorn", "service.app:app", "--host", "0.0.0.0", "--port", "8000"]
'''


def module_imports(module_text: str, own: str) -> list[str]:
    """Top-level third-party modules a module imports (the standard library and the
    project's own package left out)."""
    found = set()
    for node in ast.parse(module_text).body:
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return sorted(n for n in found if n not in sys.stdlib_module_names and n != own
                  and n != "__future__")


def service_files(*, folder: PurePosixPath, notebook: str, module_import: str,
                  package: PurePosixPath, module_text: str, ref: ModelRef,
                  model_bytes: bytes) -> tuple[list[Artifact], dict[PurePosixPath, bytes]]:
    """The generated text files (``Artifact``s, for the export writer) and the model bytes.

    ``folder`` is the bundle's folder and ``package`` the top package folder of the module,
    both relative to the project root.
    """
    from .pins import pinned_requirements

    environment = ref.receipt.get("environment") or {}
    own = module_import.split(".")[0]
    roots = [*module_imports(module_text, own), "nbprod[serve]", "uvicorn",
             (ref.entry.get("class") or "").split(".")[0]]
    if ref.entry.get("format") in ("skops", "joblib"):
        roots.append(ref.entry["format"])
    pins = pinned_requirements([r for r in roots if r], environment)
    requirements = (f"# What {folder.as_posix()}/app.py imports, transitively, at the versions"
                    f" run {ref.run_id} used.\n" + "\n".join(pins) + "\n")
    python = environment.get("python") or "{}.{}".format(*sys.version_info[:2])
    docker = _DOCKERFILE.format(folder=folder.as_posix(), name=ref.name, python=python,
                                package=package.as_posix(), package_import=own,
                                healthcheck=_HEALTHCHECK)
    app = _APP.format(notebook=notebook, module_import=module_import,
                      folder_import=".".join(folder.parts))
    receipt = {k: ref.receipt.get(k) for k in _RECEIPT_KEYS}
    receipt["parameters"] = ref.parameters  # the notebook's defaults too: no run dir later
    receipt["records"] = {k: v for k, v in (ref.receipt.get("records") or {}).items()
                          if not isinstance(v, (list, dict))}
    manifest = {"name": ref.name, "run_id": ref.run_id, "file": MODEL_FILE,
                "entry": ref.entry, "receipt": receipt}
    artifacts = [
        Artifact(folder / "app.py", stamp_python(app, notebook), "service", notebook),
        Artifact(folder / "requirements.txt", stamp_python(requirements, notebook), "service",
                 notebook),
        Artifact(folder / "Dockerfile", stamp_python(docker, notebook), "service", notebook),
        Artifact(folder / "model" / MANIFEST, stamp_json(manifest, notebook), "service",
                 notebook),
    ]
    return artifacts, {folder / "model" / MODEL_FILE: model_bytes}


def load_bundle(folder: Path) -> tuple[ModelRef, Any]:
    """The model of a service folder: its reference and the loaded object (hash checked).

    Raises
    ------
    StoreError
        When the manifest or the bytes are missing, or the bytes do not match the hash.
    """
    from ..errors import StoreError
    from ..store.model_bytes import load_model

    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        data = (folder / manifest["file"]).read_bytes()
    except (OSError, ValueError, KeyError) as exc:
        raise StoreError(f"{folder}: not a packaged model ({exc}); regenerate it with"
                         " nbprod export --to service") from None
    ref = ModelRef(manifest["name"], manifest["run_id"], manifest["entry"], manifest["receipt"])
    return ref, load_model(data, ref.entry)
