"""Masking secrets in what a run stores: outputs, records and error messages.

A notebook prints what it holds: an environment variable read with ``os.environ``, a token
in a connection string, a key in an exception message. Whatever reaches the run store
(``output.ipynb``, ``receipt.json``, the SQLite index) stays there and travels with it, so
every text bound for the store is masked first:

- values known to be secret: parameters whose name says so (``api_token``) and environment
  variables whose name says so (``AWS_SECRET_ACCESS_KEY``), which the kernel inherits;
- values the NB4xx lint detectors recognise (``nbprod.lint.rules.secrets.find_secrets``):
  AWS keys, GitHub and API tokens, JWTs, private keys, passwords in URLs, credentials
  printed with their value.

Each is replaced by ``***`` (the mark redacted parameters carry), which no detector reports
again. The masker counts the distinct values it masked, for the receipt and the CLI.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from ..params.redact import REDACTED

__all__ = [
    "MASK",
    "MIN_ENV_SECRET_LENGTH",
    "SecretMasker",
    "environment_secrets",
]

#: The mark that replaces a masked value: the one redacted parameters carry.
MASK = REDACTED
#: Environment values shorter than this are not masked: a secret-named variable holding
#: ``1`` or ``true`` is a switch, and masking it would blank out unrelated text.
MIN_ENV_SECRET_LENGTH = 6


def environment_secrets(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of environment variables whose names say they hold secrets (``*_TOKEN``,
    ``*PASSWORD*``, ``*_API_KEY`` ...): the kernel inherits them and may print them."""
    from ..params.redact import is_secret

    environ = os.environ if environ is None else environ
    return [value for name, value in environ.items()
            if is_secret(name.lower()) and len(value) >= MIN_ENV_SECRET_LENGTH
            and not value.isdigit()]


class SecretMasker:
    """Masks known secret values and detected ones in text and JSON data.

    Parameters
    ----------
    known:
        Values to mask wherever they appear (secret parameters, secret environment values).
    """

    def __init__(self, known: Iterable[str] = ()):
        # Longest first, so a value that contains another is masked whole.
        self.known = sorted({str(v) for v in known if v}, key=len, reverse=True)
        self.masked: set[str] = set()
        # The output notebook is saved (and masked) after every cell, and the outputs of
        # finished cells do not change: each text is scanned once. A str caches its own
        # hash, so finding the same text again costs nothing.
        self._done: dict[str, str] = {}

    @property
    def count(self) -> int:
        """How many distinct values were masked so far."""
        return len(self.masked)

    def text(self, text: str) -> str:
        """``text`` with every secret value replaced by ``***``."""
        done = self._done.get(text)
        if done is None:
            done = self._done[text] = self._mask(text)
        return done

    def _mask(self, text: str) -> str:
        from ..lint.rules.secrets import find_secrets

        for value in self.known:
            if value in text:
                text = text.replace(value, MASK)
                self.masked.add(value)
        for _kind, value in sorted(find_secrets(text), key=lambda f: -len(f[1])):
            if value in text:
                text = text.replace(value, MASK)
                self.masked.add(value)
        return text

    def data(self, node: Any) -> Any:
        """JSON data with every text masked (mappings and lists in place; keys too)."""
        if isinstance(node, str):
            return self.text(node)
        if isinstance(node, list):
            for index, item in enumerate(node):
                node[index] = self.data(item)
        elif isinstance(node, dict):
            for key in list(node):
                value = self.data(node[key])
                clean = self.text(key) if isinstance(key, str) else key
                if clean != key:
                    del node[key]
                node[clean] = value
        return node

    def outputs(self, nb_node: Any) -> Any:
        """The outputs of every cell of a notebook node masked in place; binary MIME data
        (base64 images, PDF) is left alone, as lint leaves it unscanned."""
        for container, key in _output_slots(nb_node):
            container[key] = self.data(container[key])
        return nb_node

    def finds_any(self, nb_node: Any) -> bool:
        """Whether some output of the notebook holds a secret (nothing is changed)."""
        return any(self._holds_secret(container[key])
                   for container, key in _output_slots(nb_node))

    def _holds_secret(self, node: Any) -> bool:
        if isinstance(node, str):
            return self.text(node) != node
        if isinstance(node, list):
            return any(self._holds_secret(item) for item in node)
        if isinstance(node, dict):
            return any(self._holds_secret(k) or self._holds_secret(v) for k, v in node.items())
        return False


def _output_slots(nb_node: Any):
    """(container, key) of every output field that may hold text: stream text, error name,
    value and traceback, and text-like MIME entries."""
    for cell in nb_node.get("cells", []):
        for output in cell.get("outputs", []) or []:
            for key in list(output):
                if key == "data" and isinstance(output[key], dict):
                    bundle = output[key]
                    for mime in list(bundle):
                        if _is_text_mime(mime):
                            yield bundle, mime
                elif key in ("text", "ename", "evalue", "traceback"):
                    yield output, key


def _is_text_mime(mime: str) -> bool:
    return mime.startswith("text/") or "json" in mime or "javascript" in mime
