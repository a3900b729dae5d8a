"""What the browser tests share: finding Chromium and chromedriver, the marks that skip (saying why)
where they or Graphviz's dot are missing, and starting headless Chromium.

Not a test module (pytest collects test_*.py only). Import it after pytest.importorskip has checked
selenium, so that a missing selenium skips the test module rather than failing its collection.
"""

import shutil

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
# a browser test module's pytestmark
NEEDS_CHROMIUM_AND_DOT = [
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER),
        reason="needs Chromium and chromedriver (Debian: apt-get install chromium chromium-driver)",
    ),
    pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot (apt-get install graphviz)"),
]

# Running as root, without network: no sandbox, and none of Chromium's background fetching.
FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run "
    "--disable-background-networking --disable-component-update --disable-sync"
).split()


def start_chromium(profile, window_size, browser_log=False):
    """Headless Chromium with its own profile folder; `browser_log` keeps the console for get_log."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--window-size={window_size}", f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    if browser_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
