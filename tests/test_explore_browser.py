"""viz.explore for real: a Jupyter server on 127.0.0.1, a notebook opened in headless Chromium,
its cell run, a slider moved through the page, and the gradient drawn in the picture changes.

The server gets a random free port, a random token and its own config, data and runtime folders
(nothing of the user's Jupyter setup is read or written), and is shut down by the test itself:
through its API, then by signal if it has not exited within 10 s. Skips (saying why) only where
Chromium, chromedriver, selenium, Jupyter (notebook 7), ipywidgets or Graphviz's dot is missing.
"""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

for module in ("selenium", "notebook", "ipywidgets", "ipykernel"):
    pytest.importorskip(module, reason=f"{module} is not installed (pip install -e '.[test,notebooks]')")
from browser import NEEDS_CHROMIUM_AND_DOT, start_chromium  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = NEEDS_CHROMIUM_AND_DOT

CELL = """\
from puretorch_scalar.viz import explore

def neuron(x1, x2, w1, w2, b):
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o

explore(neuron, x1=2.0, x2=0.0, w1=-3.0, w2=1.0, b=6.8813735870195432)
"""

# The grad text of each labelled box in the explorer's picture: {"w2": "grad 0", …}
GRADS_JS = """
const boxes = document.querySelectorAll('.widget-html svg g.node');
const grads = {};
boxes.forEach((g) => {
  const words = Array.from(g.querySelectorAll('text'), (t) => t.textContent.trim());
  if (words.length === 3 && words[2].startsWith('grad')) grads[words[0]] = words[2];
});
return grads;
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kernel_idle(url, token):
    """Whether the server runs a kernel and it is idle (started, and ready to run a cell)."""
    with urllib.request.urlopen(f"{url}/api/kernels?token={token}", timeout=5) as answer:
        return any(kernel["execution_state"] == "idle" for kernel in json.load(answer))


def write_notebook(path):
    notebook = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": CELL}
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook), encoding="utf-8")


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory):
    """A notebook server for this module: yields (base url, token, folder); shut down afterwards."""
    root = tmp_path_factory.mktemp("jupyter")
    home = {name: root / name for name in ("config", "data", "runtime", "ipython")}
    for folder in home.values():
        folder.mkdir()
    env = os.environ | {
        "JUPYTER_CONFIG_DIR": str(home["config"]),
        "JUPYTER_DATA_DIR": str(home["data"]),
        "JUPYTER_RUNTIME_DIR": str(home["runtime"]),
        "IPYTHONDIR": str(home["ipython"]),
        "JUPYTER_PLATFORM_DIRS": "0",
    }
    port, token = free_port(), secrets.token_hex(16)
    notebooks = root / "notebooks"
    notebooks.mkdir()
    log = (root / "server.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable, "-m", "notebook", "--no-browser", "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={notebooks}", "--ServerApp.allow_root=True",
        ],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, f"the server exited: {(root / 'server.log').read_text()}"
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, (
                    f"no server after 30 s: {(root / 'server.log').read_text()}"
                )
                time.sleep(0.2)
        yield url, token, notebooks
    finally:
        try:  # shuts its kernels down too
            urllib.request.urlopen(
                urllib.request.Request(f"{url}/api/shutdown?token={token}", method="POST"), timeout=5
            )
        except OSError:
            pass
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)  # the server's own process group (start_new_session)
            server.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"), window_size="1400,1000")
    yield driver
    driver.quit()


def test_moving_a_slider_redraws_the_gradients(jupyter, browser):
    url, token, notebooks = jupyter
    write_notebook(notebooks / "explore.ipynb")
    started = time.monotonic()
    browser.get(f"{url}/notebooks/explore.ipynb?token={token}")
    wait = WebDriverWait(browser, 45)
    wait.until(lambda _: kernel_idle(url, token))
    editor = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, ".jp-Cell .cm-content")))
    editor.click()
    editor.send_keys(Keys.SHIFT, Keys.ENTER)  # run the cell

    wait.until(
        lambda b: b.find_elements(By.CSS_SELECTOR, ".widget-slider .noUi-handle, .jp-OutputArea-output pre")
    )
    errors = browser.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output pre")
    assert not errors, f"the cell failed: {errors[0].text}"
    assert len(browser.find_elements(By.CSS_SELECTOR, ".widget-slider .noUi-handle")) == 5
    before = wait.until(lambda b: b.execute_script(GRADS_JS) or None)
    assert before["x1"] == "grad -1.5" and before["w2"] == "grad 0"  # micrograd's numbers; w2 gets x2 = 0

    sliders = browser.find_elements(By.CSS_SELECTOR, ".widget-slider")
    [x2] = [s for s in sliders if s.find_element(By.CSS_SELECTOR, ".widget-label").text == "x2"]
    handle = x2.find_element(By.CSS_SELECTOR, ".noUi-handle")
    ActionChains(browser).click_and_hold(handle).move_by_offset(40, 0).release().perform()  # drag x2 up

    after = WebDriverWait(browser, 20).until(lambda b: (g := b.execute_script(GRADS_JS)) != before and g)
    readout = x2.find_element(By.CSS_SELECTOR, ".widget-readout").text
    assert float(readout) > 0 and after["w2"] != "grad 0"  # ∂o/∂w2 = x2·∂o/∂n: no longer 0
    assert after["x1"] != before["x1"]  # a new n moves tanh's slope, and with it every gradient
    print(f"\nexplore in Jupyter: opened, ran and redrawn in {time.monotonic() - started:.1f} s")
