"""Cache keys: what changes a key, and the reason status gives."""

from __future__ import annotations

from notebook_builder import make_notebook

from nbprod.pipeline.cache import (
    MISSING,
    KeyParts,
    code_hash_of_function,
    code_hash_of_notebook,
    environment_fingerprint,
    explain,
    hash_json,
)

BASE = KeyParts(code="c", parameters=hash_json({"lr": 0.1}), inputs={"data/a.csv": "h1"},
                upstream={"prepare": "k1"}, environment="e")


def test_every_part_changes_the_key():
    variants = [
        KeyParts("c2", BASE.parameters, BASE.inputs, BASE.upstream, "e"),
        KeyParts("c", hash_json({"lr": 0.2}), BASE.inputs, BASE.upstream, "e"),
        KeyParts("c", BASE.parameters, {"data/a.csv": "h2"}, BASE.upstream, "e"),
        KeyParts("c", BASE.parameters, BASE.inputs, {"prepare": "k2"}, "e"),
        KeyParts("c", BASE.parameters, BASE.inputs, BASE.upstream, "e2"),
    ]
    keys = {v.key for v in variants}
    assert len(keys) == len(variants)
    assert BASE.key not in keys
    assert KeyParts("c", BASE.parameters, dict(BASE.inputs), dict(BASE.upstream), "e").key \
        == BASE.key


def test_parameter_order_does_not_matter():
    assert hash_json({"a": 1, "b": 2}) == hash_json({"b": 2, "a": 1})


def test_explain_reasons():
    previous = BASE.to_dict()
    assert explain(BASE, previous) is None
    assert explain(BASE, None) == "never ran"
    assert explain(KeyParts("x", BASE.parameters, BASE.inputs, BASE.upstream, "e"),
                   previous) == "code changed"
    assert explain(KeyParts("c", "p2", BASE.inputs, BASE.upstream, "e"),
                   previous) == "parameters changed"
    assert explain(KeyParts("c", BASE.parameters, {"data/a.csv": "h9"}, BASE.upstream, "e"),
                   previous) == "input data/a.csv changed"
    assert explain(KeyParts("c", BASE.parameters, {"data/a.csv": MISSING}, BASE.upstream, "e"),
                   previous) == "input data/a.csv is missing"
    assert explain(KeyParts("c", BASE.parameters, BASE.inputs, BASE.upstream, "e9"),
                   previous).startswith("environment changed")
    assert explain(BASE, previous, {"prepare": "code changed"}) == \
        "upstream step 'prepare' will run"


def test_notebook_code_hash_ignores_outputs_and_markdown():
    plain = make_notebook("x = 1", {"source": "# title", "cell_type": "markdown"}, "print(x)")
    with_outputs = make_notebook(
        {"source": "x = 1", "execution_count": 1},
        {"source": "# another title", "cell_type": "markdown"},
        {"source": "print(x)", "execution_count": 2,
         "outputs": [{"output_type": "stream", "name": "stdout", "text": "1\n"}]},
    )
    edited = make_notebook("x = 2", "print(x)")
    assert code_hash_of_notebook(plain) == code_hash_of_notebook(with_outputs)
    assert code_hash_of_notebook(plain) != code_hash_of_notebook(edited)


MODULE = '''import math

def helper(v):
    return v + 1

def load(n=3):
    return list(range(n))

def train(data):
    return sum(data)
'''


def test_function_hash_covers_its_code_and_shared_code_only():
    steps = {"load", "train"}
    base = code_hash_of_function(MODULE, "train", steps)
    sibling_edited = MODULE.replace("range(n)", "range(n + 1)")
    assert code_hash_of_function(sibling_edited, "train", steps) == base
    assert code_hash_of_function(sibling_edited, "load", steps) != \
        code_hash_of_function(MODULE, "load", steps)
    helper_edited = MODULE.replace("v + 1", "v + 2")
    assert code_hash_of_function(helper_edited, "train", steps) != base
    assert code_hash_of_function(MODULE.replace("sum(data)", "max(data)"), "train", steps) != base


def test_environment_fingerprint_is_stable():
    assert environment_fingerprint() == environment_fingerprint()
    assert environment_fingerprint().startswith("blake3:")


def test_a_secret_parameter_counts_in_the_key_by_a_salted_hash_only(tmp_path, monkeypatch):
    from nbprod.pipeline.cache import parameters_hash, secret_salt

    monkeypatch.setenv("NBPROD_CACHE_DIR", str(tmp_path / "cache"))
    secret_salt.cache_clear()
    try:
        values = {"password": "hunter2", "k": 1}
        key = parameters_hash(values, {"password"})
        # Not the hash anyone could compute from a guessed password...
        assert key != hash_json(values)
        # ...but stable on this machine, and a new password still changes it.
        assert parameters_hash(values, {"password"}) == key
        assert parameters_hash({**values, "password": "hunter3"}, {"password"}) != key
        salt = tmp_path / "cache" / "secret-salt"
        assert len(salt.read_bytes()) == 32 and salt.stat().st_mode & 0o077 == 0
        assert parameters_hash({"k": 1}, set()) == hash_json({"k": 1})
    finally:
        secret_salt.cache_clear()
