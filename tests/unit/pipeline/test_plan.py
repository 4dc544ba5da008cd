"""Planning: edges, order, selection and every error raised before anything runs."""

from __future__ import annotations

import pytest

from nbprod.errors import PipelineError
from nbprod.params.model import Parameter
from nbprod.pipeline.plan import plan_pipeline
from nbprod.pipeline_ir import Pipeline, Step


def pipe(*steps, parameters=()):
    return Pipeline(name="p", steps=tuple(steps), parameters=tuple(parameters))


def test_order_follows_dependencies_then_declaration(tmp_path):
    pipeline = pipe(
        Step("report", notebook="r.ipynb", needs=("train", "clean")),
        Step("train", notebook="t.ipynb", inputs=("data/clean.csv",)),
        Step("clean", notebook="c.ipynb", outputs=("data/clean.csv",)),
        Step("other", notebook="o.ipynb"),
    )
    plan = plan_pipeline(pipeline, root=tmp_path)
    assert plan.order == ("clean", "other", "train", "report")
    assert plan.upstream["train"] == ("clean",)
    assert set(plan.upstream["report"]) == {"train", "clean"}
    assert plan.downstream("clean") == {"train", "report"}


def test_cycle_is_named(tmp_path):
    pipeline = pipe(Step("a", needs=("c",)), Step("b", needs=("a",)), Step("c", needs=("b",)))
    with pytest.raises(PipelineError) as info:
        plan_pipeline(pipeline, root=tmp_path)
    message = str(info.value)
    assert "cycle" in message
    for name in ("a", "b", "c"):
        assert name in message
    assert message.count("->") == 3


def test_missing_step_suggests(tmp_path):
    pipeline = pipe(Step("prepare"), Step("train", needs=("prepar",)))
    with pytest.raises(PipelineError, match="needs 'prepar'.*did you mean 'prepare'"):
        plan_pipeline(pipeline, root=tmp_path)


def test_input_nobody_produces(tmp_path):
    pipeline = pipe(Step("train", notebook="t.ipynb", inputs=("data/missing.csv",)))
    with pytest.raises(PipelineError, match="reads 'data/missing.csv', which no step writes"):
        plan_pipeline(pipeline, root=tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "missing.csv").write_text("a\n")
    assert plan_pipeline(pipeline, root=tmp_path).order == ("train",)


def test_argument_nobody_returns(tmp_path):
    pipeline = pipe(Step("a", function="m:a", returns=("x",)),
                    Step("b", function="m:b", args=("x", "y")))
    with pytest.raises(PipelineError, match="step 'b' takes 'y', but no earlier step returns it"):
        plan_pipeline(pipeline, root=tmp_path)


def test_argument_comes_from_latest_earlier_producer(tmp_path):
    pipeline = pipe(Step("a", function="m:a", returns=("x",)),
                    Step("b", function="m:b", args=("x",), returns=("x",)),
                    Step("c", function="m:c", args=("x",)))
    plan = plan_pipeline(pipeline, root=tmp_path)
    assert plan.producers["c"] == {"x": "b"}
    assert plan.producers["b"] == {"x": "a"}


def test_two_writers_of_one_file(tmp_path):
    pipeline = pipe(Step("a", outputs=("out.csv",)), Step("b", outputs=("out.csv",)))
    with pytest.raises(PipelineError, match="both write 'out.csv'"):
        plan_pipeline(pipeline, root=tmp_path)


def test_duplicate_names(tmp_path):
    with pytest.raises(PipelineError, match="two steps are named 'a'"):
        plan_pipeline(pipe(Step("a"), Step("a")), root=tmp_path)


def test_parameters_overrides_typed_and_unknown(tmp_path):
    pipeline = pipe(
        Step("a", notebook="a.ipynb", parameters={"lr": 0.1, "rows": 5}),
        Step("b", notebook="b.ipynb", parameters={"rows": 5}, accepts=("seed",)),
        parameters=[Parameter("lr", "float", 0.1), Parameter("rows", "int", 5),
                    Parameter("seed", "int", None, required=True)],
    )
    plan = plan_pipeline(pipeline, root=tmp_path, overrides={"rows": "7", "seed": "3"})
    assert plan.parameters["a"] == {"lr": 0.1, "rows": 7}
    assert plan.parameters["b"] == {"rows": 7, "seed": 3}
    with pytest.raises(PipelineError, match="unknown parameter 'lrr'.*did you mean 'lr'"):
        plan_pipeline(pipeline, root=tmp_path, overrides={"lrr": "1"})


def test_bad_parameter_value_is_a_user_error(tmp_path):
    pipeline = pipe(Step("a", parameters={"rows": 5}), parameters=[Parameter("rows", "int", 5)])
    with pytest.raises(Exception, match="parameter 'rows' expects int, got 'x'") as info:
        plan_pipeline(pipeline, root=tmp_path, overrides={"rows": "x"})
    assert info.value.exit_code == 2


def test_only_and_from_selection(tmp_path):
    pipeline = pipe(Step("a"), Step("b", needs=("a",)), Step("c", needs=("b",)), Step("d"))
    assert plan_pipeline(pipeline, root=tmp_path, only=["b"]).selected == ("b",)
    assert plan_pipeline(pipeline, root=tmp_path, start="b").selected == ("b", "c")
    with pytest.raises(PipelineError, match="no step 'x'"):
        plan_pipeline(pipeline, root=tmp_path, only=["x"])
    with pytest.raises(PipelineError, match="either --only or --from"):
        plan_pipeline(pipeline, root=tmp_path, only=["a"], start="b")
