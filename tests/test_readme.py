"""The README's example runs as written (in a temporary folder, where it renders its picture)."""

import math
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs(tmp_path, monkeypatch, capsys):
    pytest.importorskip("graphviz")
    (code,) = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out.split("\n")
    grads = [float(g) for g in printed[0].split()]
    slope = 1 - math.tanh(0.5 * -1.5 + 0.25) ** 2
    assert grads == pytest.approx([-1.5 * slope, 0.5 * slope, slope])
    assert (tmp_path / "y.svg").read_text().count("<svg") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["y.svg"]  # no stray DOT source left behind
    assert float(printed[1]) >= 0.95
