"""The backward_steps player in a real browser: headless Chromium, driven with selenium.

Skips (saying why) only where Chromium, chromedriver, selenium or Graphviz's dot is missing;
`make unit` installs Chromium and chromedriver through apt-get where it can.
"""

import shutil

import pytest

from puretorch_scalar.demo import neuron
from puretorch_scalar.viz import backward_steps

webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is not installed (pip install selenium)"
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER),
        reason="needs Chromium and chromedriver (Debian: apt-get install chromium chromium-driver)",
    ),
    pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot (apt-get install graphviz)"),
]

# Running as root, without network: no sandbox, and none of Chromium's background fetching.
FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run "
    "--disable-background-networking --disable-component-update --disable-sync --window-size=1400,700"
).split()

# What the visible frame of the first player shows: its counter, the labels of the highlighted
# node, and every grad cell's text.
STATE_JS = """
const player = document.querySelectorAll('.pts-steps')[arguments[0]];
const frame = player.querySelector('.pts-frame:not([hidden])');
const texts = (el) => Array.from(el.querySelectorAll('text'), (t) => t.textContent.trim());
const marked = frame.querySelector('g.node.highlight');
return {
  counter: player.querySelector('.pts-counter').textContent,
  visible: player.querySelectorAll('.pts-frame:not([hidden])').length,
  highlighted: marked ? texts(marked) : [],
  grads: texts(frame).filter((t) => t.startsWith('grad')),
};
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def neuron_steps():
    return backward_steps(neuron())  # micrograd's o = tanh(x1·w1 + x2·w2 + b)


def open_page(browser, path):
    browser.get(path.as_uri())
    state = lambda k=0: browser.execute_script(STATE_JS, k)
    click = lambda name, k=0: browser.find_elements(By.CSS_SELECTOR, f".pts-{name}")[k].click()
    return state, click


def test_next_moves_the_highlight_and_reveals_gradients(browser, tmp_path):
    state, click = open_page(browser, neuron_steps().save(tmp_path / "steps.html"))
    start = state()
    assert start["counter"] == "1 / 6" and start["visible"] == 1
    assert start["highlighted"] == []  # the start: only the output's gradient is known
    assert sorted(start["grads"]) == ["grad"] * 9 + ["grad 1"]  # 10 Values, only o's gradient known

    click("next")
    first = state()
    assert first["counter"] == "2 / 6"
    assert first["highlighted"][0] == "o"  # backward through tanh, the node that made o
    assert "grad 0.5" in first["grads"] and "grad 0.5" not in start["grads"]

    click("next")
    second = state()
    assert second["highlighted"][0] == "n" and second["highlighted"] != first["highlighted"]
    assert sum(g != "grad" for g in second["grads"]) > sum(g != "grad" for g in first["grads"])

    click("prev")
    assert state() == first
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_slider_keys_and_play(browser, tmp_path):
    state, click = open_page(browser, neuron_steps().save(tmp_path / "steps.html"))
    browser.execute_script(
        "const s = document.querySelector('.pts-slider'); s.value = 5; s.dispatchEvent(new Event('input'));"
    )
    last = state()
    assert last["counter"] == "6 / 6" and "grad -1.5" in last["grads"]  # x1's final gradient

    player = browser.find_element(By.CSS_SELECTOR, ".pts-steps")
    player.send_keys("\ue012")  # ← arrow
    assert state()["counter"] == "5 / 6"

    play = browser.find_element(By.CSS_SELECTOR, ".pts-play")
    play.click()  # plays on to the last frame, and stops there
    assert play.text == "❚❚ pause"
    WebDriverWait(browser, 15).until(lambda _: play.text == "▶ play")
    assert state()["counter"] == "6 / 6"
    play.click()  # at the end, play starts again from the first frame
    assert state()["counter"] == "1 / 6"
    play.click()  # pause
    assert play.text == "▶ play"


def test_two_players_on_one_page_are_independent(browser, tmp_path):
    steps = neuron_steps()
    page = tmp_path / "two.html"
    page.write_text(
        f"<!DOCTYPE html><meta charset='utf-8'>{steps._repr_html_()}{steps._repr_html_()}", "utf-8"
    )
    state, click = open_page(browser, page)
    click("next", 1)
    assert state(0)["counter"] == "1 / 6" and state(1)["counter"] == "2 / 6"
