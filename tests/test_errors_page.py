"""docs/errors.md is executable: every row raises the exception it names, with the message it shows."""

import builtins
import re
from pathlib import Path

import pytest

PAGE = (Path(__file__).parent.parent / "docs" / "errors.md").read_text()
SETUP = re.search(r"```python\n(.*?)```", PAGE, re.S).group(1)
CELL = r"`([^`]+)`"
ERROR_ROWS = re.findall(rf"^\| {CELL} \| {CELL} \| {CELL} \|$", PAGE, re.M)  # code, exception, message
RESULT_ROWS = re.findall(rf"^\| {CELL} \| {CELL} \|$", PAGE, re.M)  # code, repr of the result


def fresh_namespace():
    """The page's setup, run afresh for every row: no row sees another's model or optimizer."""
    namespace = {}
    exec(SETUP, namespace)
    return namespace


def test_every_row_of_every_table_is_checked():
    rows = [line for line in PAGE.splitlines() if line.startswith("| `")]
    assert len(rows) == len(ERROR_ROWS) + len(RESULT_ROWS)
    assert {exception for _, exception, _ in ERROR_ROWS} >= {
        "TypeError",
        "ValueError",
        "IndexError",
        "KeyError",
    }


@pytest.mark.parametrize("code, exception, message", ERROR_ROWS, ids=[row[0] for row in ERROR_ROWS])
def test_error_row(code, exception, message):
    namespace = fresh_namespace()
    expected = namespace.get(exception) or getattr(builtins, exception)
    with pytest.raises(expected) as info:
        eval(code, namespace)
    assert type(info.value) is expected
    assert str(info.value.args[0]).startswith(message)


@pytest.mark.parametrize("code, result", RESULT_ROWS, ids=[row[0] for row in RESULT_ROWS])
def test_not_an_error_row(code, result):
    assert repr(eval(code, fresh_namespace())) == result


def test_the_gradcheck_table_shown_is_what_gradcheck_prints():
    shown = re.search(r"```text\n(.*?)\n```", PAGE, re.S).group(1)
    code = next(code for code, exception, _ in ERROR_ROWS if exception == "GradcheckError")
    with pytest.raises(Exception, match="gradcheck") as info:
        eval(code, fresh_namespace())
    assert str(info.value) == shown
