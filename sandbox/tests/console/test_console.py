"""End-to-end test of the sandbox web console in headless Chromium (selenium + Debian's
chromium / chromium-driver).

It starts the real sandbox binary, creates security logins with real `client_initialize`
requests, opens each login's `qr_code_url` in Chromium, checks the QR image is shown, clicks
Approve / Reject and then asks the server through `client_try_get_initializers` whether the
cashier's poll now sees the grant / the rejection.

Run through `scripts/test-console.sh` (builds the binary, skips cleanly without Chromium).
Environment: CLOUDPAY_SANDBOX_BIN (default target/debug/cloud-pay-sandbox),
CHROMIUM_BIN (/usr/bin/chromium), CHROMEDRIVER_BIN (/usr/bin/chromedriver),
CONSOLE_SCREENSHOT (where to save the approved page's screenshot; default a temp file).
"""

import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import urllib.request
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

# Never let Selenium Manager look for (or download) a browser or a driver.
os.environ.setdefault("SE_OFFLINE", "true")

ROOT = Path(__file__).resolve().parents[3]
SANDBOX_BIN = Path(os.environ.get("CLOUDPAY_SANDBOX_BIN", ROOT / "target" / "debug" / "cloud-pay-sandbox"))
CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")

SUB_MCH = "sz01TESTSUBMCH000001"
SHOP = "sz01TESTSHOP00000001"
WAIT = 15  # seconds for anything the browser does


@pytest.fixture(scope="module")
def sandbox():
    """The real binary on ephemeral loopback ports; yields its `http://…/cpay/` base URL."""
    if not SANDBOX_BIN.exists():
        pytest.fail(f"{SANDBOX_BIN} missing: cargo build -p cloud-pay-sandbox")
    state = tempfile.mkdtemp(prefix="sbx-console-")
    proc = subprocess.Popen(
        [str(SANDBOX_BIN), "--quiet", "--state-dir", state],
        stdout=subprocess.PIPE,
        stderr=None,  # inherited: start-up errors show in the test output
        text=True,
    )
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout], daemon=True).start()
    base = None
    try:
        while base is None:
            try:
                line = lines.get(timeout=20)
            except queue.Empty:
                pytest.fail("the sandbox printed no CLOUDPAY_SANDBOX_HTTP= line within 20 s")
            if line.startswith("CLOUDPAY_SANDBOX_HTTP="):
                base = line.split("=", 1)[1].strip()
        assert base.startswith("http://127.0.0.1:") and base.endswith("/cpay/"), base
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",  # running as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1000,900",
        f"--user-data-dir={profile}",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield drv
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


def cpay(base, endpoint, content):
    """One protocol request; bootstrap endpoints take an envelope without authen_info.
    Returns the decoded response_content."""
    body = json.dumps({"request_content": json.dumps(content)}).encode()
    req = urllib.request.Request(base + endpoint, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
        envelope = json.load(r)
    return json.loads(envelope["response_content"])


def client_initialize(base):
    r = cpay(base, "client_initialize", {
        "out_sub_mch_id": SUB_MCH, "out_shop_id": SHOP, "authorize_terminal_type": 1,
        "nonce_str": "consoleTest0001",
    })
    assert r["status"] == 0, r
    return r["client_initialize"]


def try_get(base, token):
    return cpay(base, "client_try_get_initializers", {"out_sub_mch_id": SUB_MCH, "token": token})


def open_login(browser, login):
    """Opens the QR code's URL (what a WeChat scan would open) and checks the page."""
    browser.get(login["qr_code_url"])
    assert login["activator"] in browser.title
    qr = browser.find_element(By.ID, "qr")
    assert qr.tag_name == "svg"
    assert qr.is_displayed()
    size = qr.size
    assert size["width"] >= 200 and size["height"] >= 200, size
    assert browser.find_element(By.ID, "activator").text == login["activator"]
    assert SUB_MCH in browser.find_element(By.ID, "merchant").text
    assert SHOP in browser.find_element(By.ID, "shop").text
    assert browser.find_element(By.ID, "status").text == "pending"
    assert "s left of 300 s" in browser.find_element(By.ID, "ttl").text
    assert browser.find_element(By.ID, "staff").get_attribute("value") == "1001"
    for button in ("approve", "reject"):
        assert browser.find_element(By.ID, button).is_enabled()


def wait_status(browser, word):
    WebDriverWait(browser, WAIT).until(lambda d: d.find_element(By.ID, "status").text.startswith(word))
    return browser.find_element(By.ID, "status").text


def assert_no_console_errors(browser):
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def test_approve_through_the_console_grants_the_login(sandbox, browser):
    login = client_initialize(sandbox)
    first = try_get(sandbox, login["token"])
    assert first["status"] == 0 and first["client_try_get_initializers"]["initialization_granted"] is False, first

    open_login(browser, login)
    browser.find_element(By.ID, "approve").click()
    text = wait_status(browser, "approved")
    assert text == "approved (staff 1001)", text
    # The page updated in place: buttons off, no reload, no error message.
    assert not browser.find_element(By.ID, "approve").is_enabled()
    assert not browser.find_element(By.ID, "reject").is_enabled()
    assert browser.find_element(By.ID, "message").text == ""
    assert "ttl 300 s" in browser.find_element(By.ID, "ttl").text

    shot = os.environ.get("CONSOLE_SCREENSHOT") or os.path.join(tempfile.gettempdir(), "cloud-pay-console-approved.png")
    browser.execute_script("window.scrollTo(0, 0)")
    assert browser.save_screenshot(shot)
    assert os.path.getsize(shot) > 5000
    print(f"screenshot: {shot}")

    r = try_get(sandbox, login["token"])
    assert r["status"] == 0, r
    grant = r["client_try_get_initializers"]
    assert grant["initialization_granted"] is True, grant
    assert grant["staff_id"] == "1001"
    assert_no_console_errors(browser)


def test_reject_through_the_console_refuses_the_login(sandbox, browser):
    login = client_initialize(sandbox)
    open_login(browser, login)
    browser.find_element(By.ID, "reject").click()
    assert wait_status(browser, "rejected") == "rejected"
    assert not browser.find_element(By.ID, "approve").is_enabled()

    r = try_get(sandbox, login["token"])
    assert r["status"] == 104, r
    assert r["description"] == "login rejected", r
    assert "client_try_get_initializers" not in r
    assert_no_console_errors(browser)


def test_index_links_to_a_pending_login_and_empty_staff_is_refused(sandbox, browser):
    login = client_initialize(sandbox)
    browser.get(sandbox.replace("/cpay/", "/sandbox/console/"))
    browser.find_element(By.CSS_SELECTOR, f'a[href$="activator={login["activator"]}"]').click()
    WebDriverWait(browser, WAIT).until(lambda d: login["activator"] in d.title)
    open_login(browser, login)
    staff = browser.find_element(By.ID, "staff")
    staff.clear()
    browser.find_element(By.ID, "approve").click()
    WebDriverWait(browser, WAIT).until(lambda d: "staff id" in d.find_element(By.ID, "message").text)
    assert browser.find_element(By.ID, "status").text == "pending"
    # Approved elsewhere (the control API): the open page notices by itself.
    req = urllib.request.Request(
        sandbox.replace("/cpay/", "/sandbox/login/approve"),
        data=json.dumps({"activator": login["activator"], "staff_id": "1001"}).encode(),
    )
    urllib.request.urlopen(req, timeout=10).close()
    assert wait_status(browser, "approved") == "approved (staff 1001)"
    assert try_get(sandbox, login["token"])["client_try_get_initializers"]["initialization_granted"] is True
    assert_no_console_errors(browser)
