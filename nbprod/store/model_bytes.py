"""Model bytes: skops for scikit-learn (no code runs on load), else joblib or pickle.

joblib and pickle can run any code while loading, so a model is only ever loaded from the run
store, by the hash its receipt recorded, and the bytes are hashed again before every load: a
file swapped in the store is refused, never unpickled. Nothing is loaded from a request.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

from ..errors import StoreError
from .hashing import hash_bytes

__all__ = ["FORMATS", "dump_model", "load_model"]

FORMATS = ("skops", "joblib", "pickle")


def dump_model(model: Any) -> tuple[bytes, dict]:
    """Serialise ``model``; returns the bytes and ``{"format", "trusted"}``.

    scikit-learn objects go through skops when it is installed and accepts them; ``trusted``
    lists the types skops would not load by default, as found at save time (loading trusts
    exactly those, once the hash proves the bytes are the ones saved).
    """
    if type(model).__module__.split(".")[0] == "sklearn":
        try:
            import skops.io as sio

            data = sio.dumps(model)
            return data, {"format": "skops", "trusted": sorted(sio.get_untrusted_types(data=data))}
        except ImportError:
            pass
        except Exception:  # a custom step skops cannot represent: joblib keeps it
            pass
    try:
        import joblib

        buffer = io.BytesIO()
        joblib.dump(model, buffer)
        return buffer.getvalue(), {"format": "joblib", "trusted": []}
    except ImportError:
        return pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL), {
            "format": "pickle", "trusted": []}


def load_model(data: bytes, entry: dict) -> Any:
    """Load a model stored by ``dump_model`` after checking ``data`` against ``entry["hash"]``.

    Raises
    ------
    StoreError
        When the bytes do not have the recorded hash, or the format is unknown.
    MissingDependencyError
        When the format's library is not installed.
    """
    digest = hash_bytes(data)
    if digest != entry.get("hash"):
        raise StoreError(
            f"model {entry.get('name')!r}: the stored bytes hash to {digest}, not the recorded"
            f" {entry.get('hash')}; the store was altered, refusing to load it"
            " (nbprod store verify shows the damage)"
        )
    kind = entry.get("format")
    if kind == "skops":
        from ..errors import MissingDependencyError

        try:
            import skops.io as sio
        except ImportError:
            raise MissingDependencyError("skops", "serve", "loading this model") from None
        return sio.loads(data, trusted=list(entry.get("trusted") or []))
    if kind == "joblib":
        import joblib

        return joblib.load(io.BytesIO(data))
    if kind == "pickle":
        return pickle.loads(data)
    raise StoreError(f"model {entry.get('name')!r}: unknown format {kind!r}")
