"""Parameter values from YAML (or JSON): a file (``--parameters-file params.yaml``) or a
``-y`` string."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ParameterError

__all__ = ["load_parameter_file", "parameter_mapping"]


def load_parameter_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML (or JSON) file of parameters: a mapping of name to value.

    Raises
    ------
    ParameterError
        When the file is missing, not YAML, or not a mapping with text keys.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParameterError(f"{path}: no such parameter file; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(f"{path}: cannot read parameter file: {exc}") from None
    return parameter_mapping(text, str(path))


def parameter_mapping(text: str, where: str) -> dict[str, Any]:
    """Parameter values from YAML (or JSON) text: a file's, or a ``-y`` string's.

    Raises
    ------
    ParameterError
        When the text is not YAML, or not a mapping with text keys; ``where`` names it.
    """
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        raise ParameterError(f"{where}{line}: not valid YAML; fix it") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ParameterError(f"{where}: must be a YAML mapping of parameter names to values")
    return data
