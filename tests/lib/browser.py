"""A real browser for the tests that check what a user sees and does in a page (the admin
server's web console, examples/booking): Debian's chromium, headless, driven by selenium
through chromium-driver. A missing browser or driver is a failure, not a skip."""

import os

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARGS = ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        "--no-first-run", "--disable-extensions", "--window-size=1600,900")


def chromium():
    """A started selenium driver; the caller quits it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        assert os.access(path, os.X_OK), "%s is missing (scripts/deps.sh installs it)" % path
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ARGS:
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
