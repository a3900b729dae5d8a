"""The learning path stays whole: every notebook is executed, error-free and on the site, every
page in the nav exists, and the code on the site's pages runs as written."""

import inspect
import json
import math
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def mkdocs_config() -> dict:
    yaml = pytest.importorskip("yaml")  # PyYAML comes with the docs extra (MkDocs needs it)
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


def nav_pages() -> list[str]:
    """Every page path listed under `nav:` in mkdocs.yml, in order."""

    def walk(items: list) -> list[str]:
        pages = []
        for item in items:
            target = next(iter(item.values())) if isinstance(item, dict) else item
            pages += walk(target) if isinstance(target, list) else [target]
        return pages

    return walk(mkdocs_config()["nav"])


def python_blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(encoding="utf-8"), re.S)


def test_every_nav_page_exists():
    missing = [page for page in nav_pages() if not (DOCS / page).is_file()]
    assert not missing, f"mkdocs.yml lists pages that do not exist under docs/: {missing}"


def test_every_notebook_is_in_the_nav():
    listed = set(nav_pages())
    missing = [nb.name for nb in NOTEBOOKS if f"notebooks/{nb.name}" not in listed]
    assert NOTEBOOKS, "no notebooks found"
    assert not missing, f"add these notebooks to the Notebooks section of mkdocs.yml's nav: {missing}"


def test_the_docs_build_renders_notebooks_without_running_them():
    plugins = [p for p in mkdocs_config()["plugins"] if isinstance(p, dict)]
    (jupyter,) = [p["mkdocs-jupyter"] for p in plugins if "mkdocs-jupyter" in p]
    assert jupyter["execute"] is False


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda nb: nb.stem)
def test_notebook_is_committed_executed_without_errors(notebook):
    """Stored outputs are what GitHub and the docs site show, so every code cell must have run."""
    cells = [c for c in json.loads(notebook.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
    not_run = [i for i, c in enumerate(cells) if c["execution_count"] is None]
    errors = [i for i, c in enumerate(cells) if any(o["output_type"] == "error" for o in c["outputs"])]
    counts = [c["execution_count"] for c in cells]
    assert not not_run, f"code cells {not_run} have no stored output: run `make notebooks-run`"
    assert not errors, f"code cells {errors} stored an error"
    assert counts == list(range(1, len(cells) + 1)), "cells were not run top to bottom in one go"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda nb: nb.stem)
def test_notebooks_do_not_link_to_other_ipynb_files(notebook):
    """A relative `(02_x.ipynb)` link works on GitHub but not on the site, where each notebook is
    a page of its own folder: name the next notebook instead of linking it."""
    text = "".join("".join(c["source"]) for c in json.loads(notebook.read_text(encoding="utf-8"))["cells"])
    assert not re.findall(r"\]\([^)]*\.ipynb\)", text)


def test_home_page_example_runs(capsys):
    pytest.importorskip("graphviz")
    (code,) = python_blocks("index.md")
    exec(compile(code, "index.md", "exec"), {})
    x1_grad, w1_grad = map(float, capsys.readouterr().out.split())
    slope = 1 - math.tanh(2.0 * -3.0 + 6.88) ** 2  # tanh' at the neuron's input
    assert (x1_grad, w1_grad) == pytest.approx((-3.0 * slope, 2.0 * slope))


def test_getting_started_runs_as_written(tmp_path, monkeypatch, capsys):
    pytest.importorskip("graphviz")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for i, code in enumerate(python_blocks("getting-started.md")):
        exec(compile(code, f"getting-started.md, block {i + 1}", "exec"), namespace)
    printed = capsys.readouterr().out.split()
    assert printed[:2] == ["-2.0", "2.0"]
    assert float(printed[2]) >= 0.9  # the moons model's final training accuracy
    assert (tmp_path / "c.svg").read_text().count("<svg") == 1
    assert not (tmp_path / "c").exists()  # rendered with cleanup: no stray DOT source
    assert 'class="pts-steps"' in (tmp_path / "c_backward.html").read_text()  # the player


def test_concepts_quotes_the_reference_algorithm_of_engine_py_verbatim():
    from puretorch_scalar import engine

    quoted = re.search(
        r"<!-- quoted from puretorch_scalar/engine.py.*?-->\n```python\n(.*?)```", _read("concepts.md"), re.S
    )
    assert quoted, "concepts.md lost its quote of the reference algorithm"
    source = (
        inspect.getsource(engine.topological_order) + "\n\n" + inspect.getsource(engine.reference_backward)
    )
    assert quoted.group(1) == source, "update the quote in docs/concepts.md from engine.py"


def _read(page: str) -> str:
    return (DOCS / page).read_text(encoding="utf-8")


def ops_table() -> str:
    """The table of operations that docs/api/ops.md must show, made from the registry."""
    from puretorch_scalar import ops

    lines = [
        "| op | operands | Value and Tensor methods | function | drawn as | local derivatives |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in ops.records():
        methods = (
            ", ".join(f"`{m}`" for m in r.methods) if r.arity else f"`Value.{r.name}` (one node over all)"
        )
        cells = [f"`{r.name}`", str(r.arity or "any"), methods, f"`ops.{r.function}`", r.symbol, r.caption]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def test_the_operations_page_lists_exactly_the_registry():
    page = re.search(r"<!-- ops table.*?-->\n(.*?)\n<!-- end of ops table -->", _read("api/ops.md"), re.S)
    assert page, "docs/api/ops.md lost its table of operations"
    assert page.group(1) == ops_table(), (
        "the table in docs/api/ops.md differs from the registry:\n" + ops_table()
    )


def test_the_operations_page_example_runs(capsys):
    (code,) = python_blocks("api/ops.md")
    exec(compile(code, "api/ops.md", "exec"), {})
    first, second = capsys.readouterr().out.splitlines()[:2]
    assert first == "1.3133 0.7311"
    assert second.startswith("tensor([0.6931, 1.3133]")
