"""``StateGraph.to_mermaid``: edges, conditional edges and nested subgraph blocks."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from locus.multiagent import END, START, StateGraph


def test_mermaid_draws_subgraphs_as_nested_blocks_three_deep() -> None:
    innermost = StateGraph("approval")
    innermost.add_node("approve", lambda s: None)
    innermost.add_edge(START, "approve").add_edge("approve", END)
    middle = StateGraph("refund")
    middle.add_node("approval", innermost).add_edge(START, "approval").add_edge("approval", END)
    top = StateGraph("desk")
    top.add_node("triage", lambda s: None).add_node("refund", middle)
    top.add_node("answer", lambda s: None)
    top.add_edge(START, "triage")
    top.add_conditional_edges("triage", lambda s: "r", {"r": "refund", "a": "answer"})
    top.add_edge("refund", END).add_edge("answer", END)

    text = top.to_mermaid()
    lines = [line.strip() for line in text.splitlines()]
    assert lines[0] == "flowchart TD"
    assert 'subgraph n_refund ["refund"]' in lines
    assert 'subgraph n_refund_2f_approval ["approval"]' in lines
    assert 'n_refund_2f_approval_2f_approve["approve"]' in lines
    assert lines.count("end") == 2  # each block is closed
    assert 'n_triage -.->|"r"| n_refund' in lines
    assert "n_refund --> n___end__" in lines


def test_mermaid_marks_an_undeclared_router() -> None:
    graph = StateGraph("g")
    graph.add_node("a", lambda s: None).add_edge(START, "a")
    graph.add_conditional_edges("a", lambda s: END)
    assert "n_a -.-> n_a_3f_" in graph.to_mermaid()


def test_readme_mermaid_drawing_is_what_to_mermaid_draws(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Graphs built from graphs", 1)[1]
    code = re.search(r"^```python\n(.*?)^```", section, re.S | re.M)
    drawing = re.search(r"^```mermaid\n(.*?)^```", section, re.S | re.M)
    assert code is not None and drawing is not None
    script = tmp_path / "block.py"
    script.write_text(code.group(1), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True
    )
    printed = done.stdout[done.stdout.index("flowchart TD") :]
    assert printed.strip() == drawing.group(1).strip()
