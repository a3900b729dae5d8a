"""What a learner going through the path meets: the documented install runs every notebook, the
docs site loads nothing from a CDN, and the API pages list what a Tensor can do."""

import ast
import configparser
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from puretorch_scalar import ops

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CDN = re.compile(r"unpkg\.com|cdnjs\.|jsdelivr\.|cdn\.jsdelivr|ajax\.googleapis|code\.jquery|cdn\.plot\.ly")

# import name -> the distribution that provides it
DISTRIBUTION = {"IPython": "ipykernel", "ipywidgets": "ipywidgets", "matplotlib": "matplotlib"}


def required_imports(source: str) -> set[str]:
    """Top-level modules a cell imports, leaving out imports inside `try: … except ImportError`
    (optional ones, such as PyTorch as an oracle)."""
    tree = ast.parse(source)
    optional = {
        id(node)
        for t in ast.walk(tree)
        if isinstance(t, ast.Try)
        and any(getattr(h.type, "id", "") in ("ImportError", "ModuleNotFoundError") for h in t.handlers)
        for stmt in t.body
        for node in ast.walk(stmt)
    }
    names = set()
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def code_of(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def test_the_notebooks_extra_installs_everything_the_notebooks_import():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    options = config["options"]
    installed = {
        re.split(r"[<>=\[ ]", line.strip())[0].lower()
        for text in (options["install_requires"], config["options.extras_require"]["notebooks"])
        for line in text.splitlines()
        if line.strip()
    }
    stdlib = set(sys.stdlib_module_names) | {"puretorch_scalar"}
    missing = {
        notebook.name: sorted(
            name
            for name in required_imports(code_of(notebook)) - stdlib
            if DISTRIBUTION.get(name, name).lower() not in installed
        )
        for notebook in NOTEBOOKS
    }
    assert not any(missing.values()), f"add these to the notebooks extra in setup.cfg: {missing}"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocs_jupyter")
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert build.returncode == 0, build.stderr[-3000:]
    return out


# mkdocs-material's own script bundle names two URLs it would load only when needed: mermaid,
# for pages with a mermaid diagram (none here, checked below), and a ResizeObserver polyfill, for
# browsers without one. Nothing else in the site may name a CDN.
THEME_BUNDLE = re.compile(r"assets/javascripts/bundle\.[0-9a-f]+\.min\.js(\.map)?$")
THEME_ALLOWED = re.compile(r"unpkg\.com/(mermaid@\d+/dist/mermaid\.min\.js|resize-observer-polyfill)")


def test_the_built_site_loads_nothing_from_a_cdn(site):
    offenders = {}
    for path in site.rglob("*"):
        if not path.is_file() or path.suffix not in {".html", ".js", ".css", ".map", ".json", ".xml"}:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        relative = path.relative_to(site).as_posix()
        hits = [m.group(0) for m in CDN.finditer(text)]
        if THEME_BUNDLE.search(relative):  # its URLs only (its comments mention unpkg too)
            urls = re.findall(r"https?://[^\s\"'\\]+", text)
            hits = [url for url in urls if CDN.search(url) and not THEME_ALLOWED.search(url)]
        if hits:
            offenders[relative] = hits[:3]
    assert not offenders, f"pages that name a CDN: {offenders}"
    pages = [p.read_text(encoding="utf-8") for p in site.rglob("*.html")]
    assert not any('class="mermaid"' in page for page in pages)  # so the theme never loads mermaid
    notebook_pages = [p for p in site.glob("notebooks/*/index.html")]
    assert len(notebook_pages) == len(NOTEBOOKS)


def test_class_headings_show_the_constructor_signature(site):
    engine = (site / "api/engine/index.html").read_text(encoding="utf-8")
    tensor = (site / "api/tensor/index.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", "", engine + tensor)
    assert re.search(r"Value\(\s*data", text), "the Value heading shows no Value(data, …) signature"
    assert re.search(r"Tensor\(\s*data", text), "the Tensor heading shows no Tensor(data) signature"


def test_the_tensor_page_lists_operators_indexing_and_every_elementwise_op():
    page = (ROOT / "docs/api/tensor.md").read_text(encoding="utf-8")
    for thing in ("`a @ b`", "Indexing", "`t[", "broadcast"):
        assert thing in page, f"docs/api/tensor.md does not mention {thing}"
    unary = [r.name for r in ops.BUILTINS if r.arity == 1 and r.name.isidentifier() and r.name != "neg"]
    missing = [name for name in unary if f".{name}()" not in page]
    assert not missing, f"docs/api/tensor.md does not list {missing}"


def test_plot_history_names_the_held_out_curve_as_told():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from puretorch_scalar.plot import plot_history

    history = {"loss": [1.0, 0.5], "accuracy": [0.5, 0.8], "val_loss": [1.1, 0.6], "val_accuracy": [0.4, 0.7]}
    for label in ("validation", "test"):
        fig = plot_history(history, **({} if label == "validation" else {"val_label": label}))
        legends = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in fig.axes]
        assert legends == [["train", label]] * 2


def test_the_learning_page_example_runs(capsys):
    page = (ROOT / "docs/api/learning.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"```python\n(.*?)```", page, re.S)
    exec(compile(code, "docs/api/learning.md", "exec"), {})
    out = capsys.readouterr().out
    assert "value_mul (notebook 00)" in out and "all 7 checks passed" in out
    assert "def __mul__" in out and "bug 3:" in out


@pytest.mark.parametrize("page", ["docs/index.md", "README.md"])
def test_the_home_page_and_the_readme_list_every_notebook(page):
    text = (ROOT / page).read_text(encoding="utf-8")
    missing = [nb.name for nb in NOTEBOOKS if f"notebooks/{nb.name}" not in text]
    assert not missing, f"{page} does not list {missing}"
