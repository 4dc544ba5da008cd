"""NB4xx: credentials in cell sources, in saved outputs and in metadata.

Every text a notebook stores is scanned, MIME-aware: sources, stream output, text-like
MIME bundles (text/*, JSON, JavaScript), error tracebacks, cell and notebook metadata.
Binary MIME types (images, PDF) are base64 and never scanned. A finding names the cell
and output it is in; the value itself is masked in the message and never stored in a
``Diagnostic``.

The same detectors keep secrets out of the run store: ``find_secrets`` gives the values
they recognise in any text, which ``nbprod.run.masking`` masks in stored outputs, records
and error messages and ``nbprod store verify`` looks for in what is already stored.
"""

from __future__ import annotations

import ast
import json
import re
from typing import ClassVar, NamedTuple

from ...notebook import Cell
from ..rule import LintContext, Rule, Severity
from ._helpers import nodes_of, span

__all__ = ["RULES", "find_secrets", "mask"]

_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TEXT_MIME_EXTRA = ("application/json", "application/javascript", "application/x-javascript")
_MAX_SCANNED = 2_000_000  # characters per text; larger outputs are cut, not skipped


def mask(value: str) -> str:
    """Show the first and last four characters of a long secret, stars for the rest."""
    if len(value) >= 12:
        return value[:4] + "*" * min(len(value) - 8, 20) + value[-4:]
    return value[:2] + "*" * max(len(value) - 2, 4)


def quoted(text: str, limit: int) -> str:
    """A line of a notebook as a message or a table quotes it: stripped, every secret in it
    masked, then cut to ``limit`` characters with an ellipsis. Masked before it is cut: half
    a key is no longer recognised as one, and would be shown (``!pip install
    git+https://user:TOKEN@...`` in NB203's message)."""
    text = text.strip()
    for _kind, value in find_secrets(text):
        text = text.replace(value, mask(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Text(NamedTuple):
    """One scanned text and where it lives (a tuple: a notebook has thousands, all kept
    while the secret rules run)."""

    cell: Cell | None
    output: int | None
    where: str  # "source", "output 2 (text/html)", "cell metadata", "notebook metadata"
    text: str


def _is_text_mime(mime: str) -> bool:
    return mime.startswith("text/") or mime in _TEXT_MIME_EXTRA or mime.endswith("+json")


def _output_text(output: dict) -> list[tuple[str, str]]:
    """(label, text) pairs of one output; binary MIME types are left out."""
    kind = output.get("output_type")
    found: list[tuple[str, str]] = []
    if kind == "stream":
        found.append((str(output.get("name", "stream")), str(output.get("text", ""))))
    elif kind == "error":
        parts = [str(output.get("ename", "")), str(output.get("evalue", ""))]
        traceback = output.get("traceback", [])
        if isinstance(traceback, list):
            parts += [str(t) for t in traceback]
        found.append(("traceback", _ANSI_RE.sub("", "\n".join(parts))))
    data = output.get("data")
    if isinstance(data, dict):
        for mime, value in data.items():
            if not isinstance(mime, str) or not _is_text_mime(mime):
                continue
            if isinstance(value, list):
                value = "".join(str(v) for v in value)
            elif not isinstance(value, str):
                if not _may_hold_secret(value):
                    continue
                value = json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False)
            found.append((mime, value))
    return found


def _may_hold_secret(value: object) -> bool:
    """Whether the JSON text of ``value`` contains a hint of some secret pattern.

    The indented, sorted text the rules scan is built by json's pure-Python encoder, which
    is slow on large widget and plot outputs; the compact text (C encoder) holds the same
    strings with the same escapes, and no hint contains JSON punctuation, so it answers
    the same question before the indented one is built.
    """
    compact = json.dumps(value, ensure_ascii=False, default=str)
    return any(hint in compact for hint in _ALL_HINTS)


def _texts(ctx: LintContext) -> list[_Text]:
    def build() -> list[_Text]:
        texts: list[_Text] = []
        for cell in ctx.nb.cells:
            texts.append(_Text(cell, None, "source", cell.source[:_MAX_SCANNED]))
            for number, output in enumerate(cell.outputs, start=1):
                for label, text in _output_text(output):
                    texts.append(_Text(cell, number, f"output {number} ({label})",
                                       text[:_MAX_SCANNED]))
            metadata = cell.node.get("metadata", {})
            if metadata and _may_hold_secret(metadata):
                texts.append(_Text(cell, None, "cell metadata",
                                   json.dumps(metadata, indent=1, sort_keys=True, default=str)))
        metadata = ctx.nb.node.get("metadata", {})
        if metadata and _may_hold_secret(metadata):
            texts.append(_Text(None, None, "notebook metadata",
                               json.dumps(metadata, indent=1, sort_keys=True, default=str)))
        return texts

    return ctx.memo("secret_texts", build)


def _all_text(ctx: LintContext) -> str:
    """Every scanned text in one string: a hint absent from it is absent from each text."""
    return ctx.memo("secret_all_text", lambda: "\0".join(item.text for item in _texts(ctx)))


def _span(text: str, start: int, length: int) -> dict[str, int]:
    """The 1-based ``line``/``column``/``end_line``/``end_column`` of ``text[start:start+length]``,
    as keywords for ``Rule.diagnostic``."""
    line, column = _position(text, start)
    end_line, end_column = _position(text, start + length)
    return {"line": line, "column": column, "end_line": end_line, "end_column": end_column}


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


class _PatternRule(Rule):
    """A secret recognised by regular expressions; group 1 (or the whole match) is the secret."""

    patterns: ClassVar[tuple[tuple[str, re.Pattern[str]], ...]]
    # Substrings every match contains: texts without any of them are skipped unscanned.
    # No hint may contain JSON punctuation (quotes, colons, commas, brackets): see
    # ``_may_hold_secret``.
    hints: ClassVar[tuple[str, ...]]
    # Further substrings every match contains, all of them (texts without one are skipped).
    needs: ClassVar[tuple[str, ...]] = ()
    severity = Severity.ERROR

    def describe(self, label: str, secret: str, match: re.Match[str]) -> str:
        return f"{label} {mask(secret)}"

    def accept(self, secret: str) -> bool:
        return True

    def check(self, ctx):
        # One finding per secret and place: an output's text/plain and text/html usually
        # hold the same value twice.
        reported: set[tuple[int | None, int | None, str, str]] = set()
        everything = _all_text(ctx)
        hints = [hint for hint in self.hints if hint in everything]
        if not hints or not all(need in everything for need in self.needs):
            return  # most notebooks: no text can match
        for item in _texts(ctx):
            if not any(hint in item.text for hint in hints):
                continue
            if not all(need in item.text for need in self.needs):
                continue
            place = item.where if item.output is None else "output"
            for label, pattern in self.patterns:
                for match in pattern.finditer(item.text):
                    secret = match.group(1) if pattern.groups else match.group(0)
                    key = (item.cell.index if item.cell else None, item.output, place, secret)
                    if not self.accept(secret) or key in reported:
                        continue
                    reported.add(key)
                    start = match.start(1) if pattern.groups else match.start()
                    yield self.diagnostic(
                        ctx,
                        item.cell,
                        f"{self.describe(label, secret, match)} in {item.where}; revoke it and"
                        " load credentials from the environment",
                        output=item.output,
                        **_span(item.text, start, len(secret)),
                    )


class AwsCredentials(_PatternRule):
    """## What it does
    Checks sources, outputs and metadata for AWS access key ids (`AKIA...`, `ASIA...`) and
    secret access keys assigned to `aws_secret_access_key`.

    ## Why is this bad?
    Notebooks are shared, pushed to GitHub and rendered on the web, outputs included.
    A leaked key gives its holder your AWS account; bots scan public repositories for
    them within minutes.

    ## Example
    ```python
    s3 = boto3.client("s3", aws_access_key_id="AKIAIOSFODNN7EXAMPLE", ...)
    ```

    ## Use instead
    Revoke the key, then let boto3 read credentials from the environment or
    `~/.aws/credentials`:
    ```python
    s3 = boto3.client("s3")
    ```
    """

    code = "NB401"
    name = "aws-credentials"
    hints = ("AKIA", "ASIA", "ABIA", "ACCA", "ws_secret_access_key", "WS_SECRET_ACCESS_KEY")
    patterns = (
        (
            "AWS access key",
            re.compile(r"(?<![A-Z0-9])((?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16})(?![A-Z0-9])"),
        ),
        (
            "AWS secret key",
            re.compile(
                r"aws_secret_access_key[\"']?\s*[=:]\s*[\"']([A-Za-z0-9/+=]{40})[\"']", re.I
            ),
        ),
    )


class GithubToken(_PatternRule):
    """## What it does
    Checks sources, outputs and metadata for GitHub tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`,
    `ghr_` and fine-grained `github_pat_` tokens).

    ## Why is this bad?
    A token acts as you on GitHub: it can read private repositories and push code.

    ## Example
    ```python
    headers = {"Authorization": "token ghp_1234567890abcdefghijklmnopqrstuvwxyz"}
    ```

    ## Use instead
    Revoke the token and read it from the environment:
    ```python
    headers = {"Authorization": f"token {os.environ['GITHUB_TOKEN']}"}
    ```
    """

    code = "NB402"
    name = "github-token"
    hints = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")
    patterns = (
        ("GitHub token", re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36,255})\b")),
        ("GitHub token", re.compile(r"\b(github_pat_[A-Za-z0-9_]{22,255})\b")),
    )


class ApiToken(_PatternRule):
    """## What it does
    Checks sources, outputs and metadata for API tokens of common services: OpenAI and
    Anthropic (`sk-...`), Slack (`xoxb-...`, webhook URLs), Google (`AIza...`), Stripe
    live keys (`sk_live_...`), Hugging Face (`hf_...`).

    ## Why is this bad?
    Whoever reads the notebook can spend your quota, read your workspace or charge your
    card.

    ## Example
    ```python
    client = OpenAI(api_key="sk-proj-abcdefghijklmnopqrstuvwxyz012345")
    ```

    ## Use instead
    Revoke the token and read it from the environment (the OpenAI client reads
    `OPENAI_API_KEY` by itself):
    ```python
    client = OpenAI()
    ```
    """

    code = "NB403"
    name = "api-token"
    hints = ("sk-", "xox", "hooks.slack.com", "AIza", "k_live_", "hf_")
    patterns = (
        (
            "OpenAI/Anthropic key",
            re.compile(r"(?<![\w-])(sk-(?:[A-Za-z0-9]+-)?[A-Za-z0-9_-]{32,})"),
        ),
        ("Slack token", re.compile(r"\b(xox[abposr]-[A-Za-z0-9-]{10,})\b")),
        (
            "Slack webhook",
            re.compile(r"(https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+)"),
        ),
        ("Google API key", re.compile(r"\b(AIza[0-9A-Za-z_-]{35})(?![0-9A-Za-z_-])")),
        ("Stripe key", re.compile(r"\b([rs]k_live_[0-9a-zA-Z]{24,})\b")),
        ("Hugging Face token", re.compile(r"\b(hf_[A-Za-z0-9]{34,})\b")),
    )

    def accept(self, secret):
        # Long identifiers such as "sk-learn-..." are words, not keys: keys mix in digits.
        return not secret.startswith("sk-") or any(c.isdigit() for c in secret)


class PrivateKey(_PatternRule):
    """## What it does
    Checks sources, outputs and metadata for PEM private key blocks
    (`-----BEGIN RSA PRIVATE KEY-----`, OpenSSH, EC, PGP).

    ## Why is this bad?
    A private key is the identity of a server or a person: with it anybody can log in,
    sign or decrypt as its owner.

    ## Example
    ```python
    key = \"\"\"-----BEGIN OPENSSH PRIVATE KEY-----
    b3BlbnNzaC1rZXktdjEAAAAA...
    -----END OPENSSH PRIVATE KEY-----\"\"\"
    ```

    ## Use instead
    Revoke the key, keep it in a file outside the repository (or a secrets manager) and
    pass its path.
    """

    code = "NB404"
    name = "private-key"
    hints = ("PRIVATE KEY",)
    patterns = (
        (
            "Private key",
            re.compile(
                r"-----BEGIN (?:(?:RSA|DSA|EC|OPENSSH|PGP|ENCRYPTED) )?PRIVATE KEY(?: BLOCK)?-----"
            ),
        ),
    )

    def describe(self, label, secret, match):
        return f"{label} block ({secret.strip('-').removeprefix('BEGIN ')})"


_PLACEHOLDER_RE = re.compile(
    r"^(<.*>|\{.*\}|\[.*\]|\$\{?\w+\}?|%\(?\w*\)?s|x+|\*+|\.+|your[_ -].*|.*_here|none|null|"
    r"test|example|dummy|changeme|password|passwd|pass|pwd|secret|token|todo|tbd|\?+)$",
    re.I,
)


class PasswordInUrl(_PatternRule):
    """## What it does
    Checks sources, outputs and metadata for URLs with a password in them:
    `postgresql://user:s3cret@db.example.com/sales`. Placeholders (`<password>`,
    `${PASSWORD}`, `***`) are not reported.

    ## Why is this bad?
    Connection strings get printed, logged and saved in outputs (`engine` reprs, error
    messages). The password then travels with every copy of the notebook.

    ## Example
    ```python
    engine = create_engine("postgresql://ana:s3cret@db.internal/sales")
    ```

    ## Use instead
    ```python
    engine = create_engine(os.environ["DATABASE_URL"])
    ```
    """

    code = "NB405"
    name = "password-in-url"
    hints = ("@",)
    needs = ("://",)
    patterns = (
        (
            "Password",
            re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,20}://[^\s:/@'\"<>]+:([^\s@/'\"<>]{1,200})@[\w.-]+"),
        ),
    )

    def accept(self, secret):
        return not _PLACEHOLDER_RE.match(secret)

    def describe(self, label, secret, match):
        url = match.group(0)
        scheme, _, rest = url.partition("://")
        user = rest.split(":", 1)[0]
        host = rest.rsplit("@", 1)[-1]
        return f"Password in URL ({scheme}://{user}:{'*' * 8}@{host})"


_SECRET_NAME_RE = re.compile(
    r"(?:^|_)(password|passwd|pwd|secret|secret_key|api_?key|access_key|access_token|"
    r"auth_token|token|client_secret|private_key)$",
    re.I,
)


class HardcodedPassword(Rule):
    """## What it does
    Checks code for string literals assigned to names that hold credentials: `password`,
    `db_password`, `api_key`, `secret`, `token`, `client_secret`..., as variables, keyword
    arguments or dictionary keys. Placeholders (`""`, `"<password>"`, `"your_api_key"`,
    `"xxx"`) are not reported. Saved outputs are checked too, for the same names printed
    with a quoted value (`password='s3cret'`, `{"api_key": "..."}` in a repr, a log line
    or a JSON output).

    ## Why is this bad?
    The credential is in the notebook's source: in git history, on GitHub, in every
    exported module and in every run receipt.

    ## Example
    ```python
    conn = psycopg.connect(host="db", user="ana", password="s3cret-pa55")
    ```

    ## Use instead
    ```python
    conn = psycopg.connect(host="db", user="ana", password=os.environ["PGPASSWORD"])
    ```
    """

    code = "NB406"
    name = "hardcoded-password"
    severity = Severity.ERROR

    def check(self, ctx):
        for cell, result in ctx.python_cells:
            named = nodes_of(ctx, result, ast.Assign, ast.AnnAssign, ast.keyword, ast.Dict)
            for name, value in _named_literals(named):
                text = value.value
                if len(text) < 4 or _PLACEHOLDER_RE.match(text) or " " in text.strip():
                    continue
                yield self.diagnostic(
                    ctx,
                    cell,
                    f"Credential `{name}` is a string literal ({'*' * 8}); load it from the"
                    " environment or a secrets manager",
                    **span(result, value).kwargs(),
                )
        yield from self._printed(ctx)

    def _printed(self, ctx):
        """Credentials that outputs show with their value (a repr, a log line, JSON)."""
        for item in _texts(ctx):
            if item.output is None:
                continue
            for name, secret, start in _assigned_secrets(item.text):
                yield self.diagnostic(
                    ctx,
                    item.cell,
                    f"Credential `{name}` printed with its value ({'*' * 8}) in {item.where};"
                    " change the password and do not print it",
                    output=item.output,
                    **_span(item.text, start, len(secret)),
                )


# A credential name with a quoted value, as printed: ``password='s3cret'``,
# ``"api_key": "..."``, ``DB_PASSWORD = "..."``. The regex finds the credential word and the
# quoted value (without spaces); the name around the word is read afterwards, which keeps the
# scan of large outputs linear (a pattern for the whole name backtracks on every word).
_ASSIGNED_RE = re.compile(
    r"""(password|passwd|pwd|secret_key|secret|api_?key|access_key|access_token|auth_token|"""
    r"""client_secret|private_key|token)['"]?\s*[=:]\s*(['"])([^'"\s\\]{4,200})\2""",
    re.I,
)
_ASSIGNED_HINTS = ("pass", "pwd", "secret", "key", "token")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _assigned_secrets(text: str) -> list[tuple[str, str, int]]:
    """(name, value, offset of the value) of each credential assignment shown in ``text``.

    The credential word must end the name and start it or follow an underscore
    (``db_password``, not ``mypassword`` nor ``tokens``).
    """
    lowered = text.lower()
    if not any(word in lowered for word in _ASSIGNED_HINTS):
        return []  # most outputs: lower() and a few substring scans beat the regex
    found = []
    for match in _ASSIGNED_RE.finditer(text):
        start = match.start(1)
        if start and text[start - 1] in _NAME_CHARS and text[start - 1] != "_":
            continue
        begin = start
        while begin and text[begin - 1] in _NAME_CHARS:
            begin -= 1
        if _PLACEHOLDER_RE.match(match.group(3)):
            continue
        found.append((text[begin:match.end(1)], match.group(3), match.start(3)))
    return found


def _named_literals(nodes: list[ast.AST]):
    """(name, string literal) pairs for assignments, keywords and dict items."""
    found: list[tuple[str, ast.Constant]] = []

    def add(name: str | None, value: ast.AST | None) -> None:
        if (name and isinstance(value, ast.Constant) and isinstance(value.value, str)
                and _SECRET_NAME_RE.search(name)):
            found.append((name, value))

    for node in nodes:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    add(target.id, node.value)
                elif isinstance(target, ast.Attribute):
                    add(target.attr, node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            add(node.target.id, node.value)
        elif isinstance(node, ast.keyword):
            add(node.arg, node.value)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    add(key.value, value)
    found.sort(key=lambda item: (item[1].lineno, item[1].col_offset))
    return found


class JsonWebToken(_PatternRule):
    """## What it does
    Checks sources, outputs and metadata for JSON Web Tokens (`eyJ...eyJ...signature`).

    ## Why is this bad?
    A JWT is a bearer credential: until it expires, whoever holds it is logged in as its
    subject. Tokens printed by an auth call end up in saved outputs.

    ## Example
    ```python
    headers = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbmEifQ.c2lnbmF0dXJl"}
    ```

    ## Use instead
    Obtain the token at run time (from the environment or an auth call) and do not print it.
    """

    code = "NB407"
    name = "json-web-token"
    hints = ("eyJ",)
    patterns = (
        (
            "JSON Web Token",
            re.compile(r"\b(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})"),
        ),
    )


RULES = (
    AwsCredentials,
    GithubToken,
    ApiToken,
    PrivateKey,
    PasswordInUrl,
    HardcodedPassword,
    JsonWebToken,
)

# Every hint of the pattern rules: a JSON output or metadata holding none of them is not
# scanned at all.
_ALL_HINTS = tuple(
    dict.fromkeys(hint for rule in RULES if issubclass(rule, _PatternRule) for hint in rule.hints)
)


# For masking, a private key is the whole block, not only the header NB404 reports: up to
# its END line, or every base64 line after the header when the block is cut short.
_PEM_BLOCK_RE = re.compile(
    r"-----BEGIN (?:(?:RSA|DSA|EC|OPENSSH|PGP|ENCRYPTED) )?PRIVATE KEY(?: BLOCK)?-----"
    r"(?:[\s\S]*?-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s]*)"
)
_DETECTORS = tuple(rule() for rule in RULES
                   if issubclass(rule, _PatternRule) and rule is not PrivateKey)


def find_secrets(text: str) -> list[tuple[str, str]]:
    """(kind, value) of every secret the NB4xx detectors recognise in ``text``.

    The pattern rules' matches (AWS, GitHub, API tokens, JWTs, passwords in URLs), whole
    private key blocks, and credentials shown with their value (NB406's names). Each rule's
    cheap hints are checked first, so text without any costs a few substring tests.
    """
    found: list[tuple[str, str]] = []
    for rule in _DETECTORS:
        if not any(hint in text for hint in rule.hints):
            continue
        if not all(need in text for need in rule.needs):
            continue
        for label, pattern in rule.patterns:
            for match in pattern.finditer(text):
                secret = match.group(1) if pattern.groups else match.group(0)
                if rule.accept(secret):
                    found.append((label, secret))
    if "PRIVATE KEY" in text:
        found.extend(("Private key", match.group(0)) for match in _PEM_BLOCK_RE.finditer(text))
    found.extend(("Credential", secret) for _name, secret, _start in _assigned_secrets(text))
    return found
