"""The NB4xx detectors as the run store uses them (``find_secrets``) and NB406 on outputs."""

from __future__ import annotations

import nbformat
import pytest
from notebook_builder import make_notebook

from nbprod.lint.checker import LintConfig, lint
from nbprod.lint.rules.secrets import find_secrets
from nbprod.notebook import loads

PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1x\n-----END RSA PRIVATE KEY-----"


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("key=AKIAIOSFODNN7EXAMPLE,", "AWS access key", "AKIAIOSFODNN7EXAMPLE"),
        ("tok ghp_1234567890abcdefghijklmnopqrstuvwxyz.", "GitHub token",
         "ghp_1234567890abcdefghijklmnopqrstuvwxyz"),
        ("slack xoxb-112233445566-aabbccddeeff", "Slack token", "xoxb-112233445566-aabbccddeeff"),
        ("db postgresql://ana:s3cret-pw@db.internal/sales", "Password", "s3cret-pw"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbmEifQ.c2lnbmF0dXJl", "JSON Web Token",
         "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbmEifQ.c2lnbmF0dXJl"),
        (f"key:\n{PEM}\nafter", "Private key", PEM),
        ("{'user': 'ana', 'password': 'hunter22'}", "Credential", "hunter22"),
        ('DB_API_KEY = "k-9f8e7d6c"', "Credential", "k-9f8e7d6c"),
    ],
)
def test_find_secrets_returns_the_value_to_mask(text, kind, value):
    assert (kind, value) in find_secrets(text)


@pytest.mark.parametrize(
    "text",
    ["password='***'", "postgresql://ana:<password>@db/x", "max_tokens: '1024'x", "sk-learn-rocks",
     "tokens = 'abc'", "hello world", "{'password': 'your_password'}"],
)
def test_find_secrets_ignores_placeholders_and_words(text):
    assert find_secrets(text) == []


def _nb(*cells):
    return loads(nbformat.writes(make_notebook(*cells)), path="nb.ipynb")


def test_nb406_reports_a_credential_printed_in_an_output():
    nb = _nb({"source": "print(config)", "outputs": [
        {"output_type": "stream", "name": "stdout",
         "text": "{'host': 'db', 'password': 'hunter22'}\n"}]})
    found = [d for d in lint(nb, LintConfig(select=("NB406",))).diagnostics]
    assert len(found) == 1
    (diag,) = found
    assert (diag.cell, diag.output, diag.line, diag.column) == (1, 1, 1, 29)
    assert "Credential `password` printed with its value" in diag.message
    assert "hunter22" not in diag.message


def test_nb406_leaves_placeholders_in_outputs_alone():
    nb = _nb({"source": "print(config)", "outputs": [
        {"output_type": "stream", "name": "stdout", "text": "password='***' token: '<token>'\n"}]})
    assert lint(nb, LintConfig(select=("NB406",))).diagnostics == []


@pytest.mark.parametrize(
    ("source", "code"),
    [
        # The token starts before the cut at 60 characters and ends after it.
        ("!pip install git+https://oauth2:ghp_1234567890abcdefghijklmnopqrstuvwxyz@github.com/a/b",
         "NB203"),
        ("%cd /mnt/share/ghp_1234567890abcdefghijklmnopqrstuvwxyz", "NB204"),
    ],
)
def test_a_finding_that_quotes_a_line_masks_the_secret_in_it(source, code):
    (diag,) = lint(_nb({"source": source}), LintConfig(select=(code,))).diagnostics
    assert "ghp_1234" in source and "1234567" not in diag.message
    assert "ghp_****" in diag.message
