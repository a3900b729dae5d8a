"""The backward_steps player in a real browser: headless Chromium, driven with selenium.

Skips (saying why) only where Chromium, chromedriver, selenium or Graphviz's dot is missing;
`make unit` installs Chromium and chromedriver through apt-get where it can. Two numbers are
measured and printed (not asserted: no timing asserts in tests): the size of a 55-frame MLP
replay and how long a 500-frame replay takes to open.
"""

import random
import re

import pytest

from puretorch_scalar import Tensor, Value, nn
from puretorch_scalar.demo import neuron
from puretorch_scalar.viz import backward_steps

pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
from browser import NEEDS_CHROMIUM_AND_DOT, start_chromium  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

pytestmark = NEEDS_CHROMIUM_AND_DOT

# What a player shows: its counter and caption, the names and texts of the red node, every
# Value's name and grad text, the red edges (with where their arrowhead is drawn), and the
# visit-order list.
STATE_JS = """
const player = document.querySelectorAll('.pts-steps')[arguments[0]];
const texts = (el) => Array.from(el.querySelectorAll('text'), (t) => t.textContent.trim());
const hot = player.querySelector('g.pts-hot[data-node]');
const nameOf = (id) => id.endsWith('_op') ? 'op' : texts(player.querySelector(`g[data-node="${id}"]`))[0];
const edges = Array.from(player.querySelectorAll('g.edge.pts-hot'), (edge) => ({
  ends: edge.querySelector('title').textContent.split('->').map(nameOf),
  markerStart: getComputedStyle(edge.querySelector('path')).markerStart,
  headShown: getComputedStyle(edge.querySelector('polygon')).display !== 'none',
}));
return {
  counter: player.querySelector('.pts-counter').textContent,
  caption: player.querySelector('.pts-caption').textContent,
  svgs: player.querySelectorAll('svg').length,
  highlighted: hot ? texts(hot) : [],
  names: Array.from(player.querySelectorAll('g[data-node]'), (g) => texts(g)[0]),
  grads: Array.from(player.querySelectorAll('.pts-grad'), (t) => t.textContent.trim()),
  updated: player.querySelectorAll('g.pts-updated').length,
  edges: edges,
  done: Array.from(player.querySelectorAll('.pts-order li.pts-done'), (li) => li.textContent),
  now: Array.from(player.querySelectorAll('.pts-order li.pts-now'), (li) => li.textContent),
};
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_chromium(
        tmp_path_factory.mktemp("chromium-profile"), window_size="1400,700", browser_log=True
    )
    yield driver
    driver.quit()


def open_page(browser, path):
    browser.get(path.as_uri())
    state = lambda k=0: browser.execute_script(STATE_JS, k)
    click = lambda name, k=0: browser.find_elements(By.CSS_SELECTOR, f".pts-{name}")[k].click()
    return state, click


def neuron_page(tmp_path):
    return backward_steps(neuron()).save(tmp_path / "steps.html")  # micrograd's o = tanh(x1·w1 + x2·w2 + b)


def test_next_moves_the_highlight_and_reveals_gradients(browser, tmp_path):
    state, click = open_page(browser, neuron_page(tmp_path))
    start = state()
    assert start["counter"] == "step 0 of 5" and start["svgs"] == 1
    assert start["highlighted"] == [] and start["edges"] == []
    assert sorted(start["grads"]) == ["grad"] * 9 + ["grad 1"]  # 10 Values, only o's gradient known
    assert sorted(start["names"]) == [
        "b",
        "n",
        "o",
        "t1",
        "t2",
        "t3",
        "w1",
        "w2",
        "x1",
        "x2",
    ]  # all different

    click("next")
    first = state()
    assert first["counter"] == "step 1 of 5"
    assert first["highlighted"][0] == "o"  # backward through tanh, the node that made o
    assert "grad 0.5" in first["grads"] and "grad 0.5" not in start["grads"]
    assert first["updated"] == 1  # n's grad cell
    assert first["now"] == ["o"] and first["done"] == []

    click("next")
    second = state()
    assert second["highlighted"][0] == "n" and second["now"] == ["n"] and second["done"] == ["o"]
    assert sum(g != "grad" for g in second["grads"]) > sum(g != "grad" for g in first["grads"])

    click("prev")
    assert state() == first
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_captions_give_the_arithmetic_and_the_counter_agrees(browser, tmp_path):
    state, click = open_page(browser, neuron_page(tmp_path))
    for k in range(1, 6):
        click("next")
        now = state()
        assert now["counter"] == f"step {k} of 5" and now["caption"].startswith(f"Step {k} of 5:")
    assert "∂t2/∂x2 = w2 = 1;  x2.grad = 0 + (1)(0.5) = 0.5" in state()["caption"]
    click("prev")
    assert "x1.grad = 0 + (−3)(0.5) = −1.5" in state()["caption"]


def test_a_diamond_shows_the_earlier_gradient_in_its_sum(browser, tmp_path):
    a = Value(3.0, label="a")
    state, click = open_page(browser, backward_steps(a + a).save(tmp_path / "diamond.html"))
    click("next")
    now = state()
    assert "a.grad = 0 + (1)(1) = 1" in now["caption"] and "a.grad = 1 + (1)(1) = 2" in now["caption"]
    assert "grad 2" in now["grads"]


def test_red_edges_point_backward(browser, tmp_path):
    state, click = open_page(browser, neuron_page(tmp_path))
    for _ in range(4):
        click("next")
    edges = state()["edges"]  # step 4: t1 = x1 × w1
    assert sorted(e["ends"] for e in edges) == [["op", "t1"], ["w1", "op"], ["x1", "op"]]  # drawn forward
    for edge in edges:
        # so the arrowhead is drawn at the tail end (the input's), and the forward one is hidden
        assert re.fullmatch(r'url\("?#pts-back-\w+"?\)', edge["markerStart"]) and not edge["headShown"]
    click("next")
    assert sorted(e["ends"] for e in state()["edges"]) == [["op", "t2"], ["w2", "op"], ["x2", "op"]]


def test_keys_work_as_soon_as_the_page_opens(browser, tmp_path):
    state, _ = open_page(browser, neuron_page(tmp_path))
    ActionChains(browser).send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT).perform()  # no click first
    assert state()["counter"] == "step 2 of 5"
    ActionChains(browser).send_keys(Keys.ARROW_LEFT).perform()
    assert state()["counter"] == "step 1 of 5"


def test_slider_play_speed_and_the_visit_order(browser, tmp_path):
    state, click = open_page(browser, neuron_page(tmp_path))
    browser.execute_script(
        "const s = document.querySelector('.pts-slider'); s.value = 5; s.dispatchEvent(new Event('input'));"
    )
    last = state()
    assert last["counter"] == "step 5 of 5" and "grad -1.5" in last["grads"]  # x1's final gradient
    assert last["done"] == ["o", "n", "t3", "t1"] and last["now"] == ["t2"]

    browser.find_elements(By.CSS_SELECTOR, ".pts-order li")[1].click()  # jump to n's step
    assert state()["counter"] == "step 2 of 5"

    # the interval play uses is the chosen speed's (recorded, so that nothing here is timed)
    browser.execute_script(
        "window.delays = []; const set = window.setInterval;"
        "window.setInterval = (f, ms) => { window.delays.push(ms); return set(f, ms); };"
    )
    Select(browser.find_element(By.CSS_SELECTOR, ".pts-speed")).select_by_visible_text("fastest")
    play = browser.find_element(By.CSS_SELECTOR, ".pts-play")
    play.click()  # plays on to the last frame, and stops there
    WebDriverWait(browser, 15).until(lambda _: play.text == "▶ play")
    assert state()["counter"] == "step 5 of 5" and browser.execute_script("return window.delays") == [120]
    play.click()  # at the end, play starts again from the first frame
    assert state()["counter"] == "step 0 of 5" and play.text == "❚❚ pause"
    Select(browser.find_element(By.CSS_SELECTOR, ".pts-speed")).select_by_visible_text("slow")
    assert browser.execute_script("return window.delays") == [120, 120, 2400]  # changed while playing
    play.click()  # pause
    assert play.text == "▶ play"


def test_two_players_on_one_page_are_independent(browser, tmp_path):
    steps = backward_steps(neuron())
    page = tmp_path / "two.html"
    page.write_text(
        f"<!DOCTYPE html><meta charset='utf-8'>{steps._repr_html_()}{steps._repr_html_()}", "utf-8"
    )
    state, click = open_page(browser, page)
    click("next", 1)
    assert state(0)["counter"] == "step 0 of 5" and state(1)["counter"] == "step 1 of 5"
    ActionChains(browser).send_keys(Keys.ARROW_RIGHT).perform()  # the focus is in the second one
    assert state(0)["counter"] == "step 0 of 5" and state(1)["counter"] == "step 2 of 5"


def test_a_55_frame_replay_is_small_and_a_500_frame_replay_opens_quickly(browser, tmp_path, record_property):
    random.seed(0)
    model = nn.MLP(3, [4, 4, 1])
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    loss = ((model(Tensor(xs)).reshape(4) - Tensor([1.0, -1.0, -1.0, 1.0])) ** 2).sum()
    small = backward_steps(loss, max_nodes=70)
    size = small.save(tmp_path / "mlp55.html").stat().st_size
    assert len(small) == 55 and size <= 1_000_000

    big = backward_steps((model(Tensor.randn(28, 3, seed=0)) ** 2).sum(), max_nodes=None)
    assert len(big) >= 500
    path = big.save(tmp_path / "mlp500.html")
    state, _ = open_page(browser, path)
    opened = browser.execute_script(
        "const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime;"
    )
    start = browser.execute_script("const t = performance.now(); return t;")
    browser.execute_script(
        f"const s = document.querySelector('.pts-slider'); s.value = {len(big) - 1};"
        "s.dispatchEvent(new Event('input'));"
    )
    last_frame = browser.execute_script("return performance.now();") - start
    assert state()["counter"] == f"step {len(big) - 1} of {len(big) - 1}"
    record_property("mlp55_bytes", size)
    record_property("mlp500_open_ms", round(opened))
    print(
        f"\n55-frame MLP replay: {size:,} bytes; {len(big)}-frame replay "
        f"({path.stat().st_size:,} bytes) opened in {opened:.0f} ms, last frame shown in {last_frame:.0f} ms"
    )
