"""Drawing the DAG: text, Mermaid and a self-made SVG layout."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from nbprod.pipeline.plan import plan_pipeline
from nbprod.pipeline.render import layers, render
from nbprod.pipeline_ir import Pipeline, Step

PIPELINE = Pipeline("demo", (
    Step("load", notebook="load.ipynb"),
    Step("clean", notebook="clean.ipynb", needs=("load",)),
    Step("features", function="pkg.m:features", needs=("load",)),
    Step("train", notebook="train.ipynb", needs=("clean", "features")),
))


def test_layers(tmp_path):
    plan = plan_pipeline(PIPELINE, root=tmp_path)
    assert layers(plan.order, plan.upstream) == [["load"], ["clean", "features"], ["train"]]


def test_text_and_mermaid(tmp_path, golden):
    plan = plan_pipeline(PIPELINE, root=tmp_path)
    text = render(plan, "text", {"load": "cached"})
    assert "train  (train.ipynb)  <- clean, features" in text
    assert "load  (load.ipynb)  [cached]" in text
    mermaid = render(plan, "mermaid")
    assert mermaid.startswith("flowchart TD\n")
    assert "    s_clean --> s_train" in mermaid
    assert "    s_features --> s_train" in mermaid
    golden("pipeline/demo.mmd", mermaid)


def test_svg_is_valid_xml_with_every_step_and_edge(tmp_path):
    plan = plan_pipeline(PIPELINE, root=tmp_path)
    svg = render(plan, "svg", {"train": "failed"})
    root = ET.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    steps = [g.get("data-step") for g in root.findall("s:g", ns)]
    assert steps == ["load", "clean", "features", "train"]
    edges = {(e.get("data-from"), e.get("data-to")) for e in root.findall("s:line", ns)}
    assert edges == {("load", "clean"), ("load", "features"), ("clean", "train"),
                     ("features", "train")}
    # Every edge points downwards: the layered layout puts dependencies above.
    for line in root.findall("s:line", ns):
        assert float(line.get("y2")) > float(line.get("y1"))
