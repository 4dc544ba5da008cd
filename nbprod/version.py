"""nbprod's version, on the lowest floor: generated files, SARIF output, the server's
``/version`` answer and ``nbprod --version`` all name it, and none of them should have to
import the public API (``nbprod/__init__``) to read it."""

__version__ = "0.1.0"
