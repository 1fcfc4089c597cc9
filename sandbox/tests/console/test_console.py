"""End-to-end test of the sandbox web console in headless Chromium (selenium + Debian's
chromium / chromium-driver).

It starts the real sandbox binary, creates security logins with real `client_initialize`
requests, opens each login's `qr_code_url` in Chromium, checks the QR image is shown, clicks
Approve / Reject and then asks the server through `client_try_get_initializers` whether the
cashier's poll now sees the grant / the rejection.

The dashboard tests drive a real payment from the C cashier example
(`examples-c/cashier.c --wait-for-customer`, linked against the SDK's cdylib): the order shows
up in the dashboard as "paying", the test presses "Customer pays", and the cashier's
query_order sees 0 and the program exits 0. Then refunds, faults and a scan-code QR code
through the page's buttons. Screenshots of each stage go to SCREENSHOT_DIR.

Run through `scripts/test-console.sh` (builds the binary, the cdylib and the cashier; skips
cleanly without Chromium). Environment: CLOUDPAY_SANDBOX_BIN (default
target/debug/cloud-pay-sandbox), CASHIER_BIN (default target/debug/examples-c/cashier),
CHROMIUM_BIN (/usr/bin/chromium), CHROMEDRIVER_BIN (/usr/bin/chromedriver),
CONSOLE_SCREENSHOT (where to save the approved page's screenshot; default a temp file),
SCREENSHOT_DIR (the dashboard's screenshots, cloud-pay-console-dashboard-*.png; default the
temp directory).
"""

import hashlib
import hmac
import json
import os
import re
import secrets
import queue
import shutil
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from selenium.webdriver.support.ui import WebDriverWait

# Never let Selenium Manager look for (or download) a browser or a driver.
os.environ.setdefault("SE_OFFLINE", "true")

ROOT = Path(__file__).resolve().parents[3]
SANDBOX_BIN = Path(os.environ.get("CLOUDPAY_SANDBOX_BIN", ROOT / "target" / "debug" / "cloud-pay-sandbox"))
CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")
CASHIER_BIN = Path(os.environ.get("CASHIER_BIN", ROOT / "target" / "debug" / "examples-c" / "cashier"))
SCREENSHOT_DIR = Path(os.environ.get("SCREENSHOT_DIR") or tempfile.gettempdir())
MCH = "sz01TESTMCH000000001"
KEY = b"TESTONLY0123456789ABCDEFGHIJKLMN"  # the demo merchant's TEST-ONLY key
# What the sandbox printed at start (CLOUDPAY_SANDBOX_HTTP / _HTTPS / _CA).
SANDBOX_ENV = {}

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
        while len(SANDBOX_ENV) < 3:
            try:
                line = lines.get(timeout=20)
            except queue.Empty:
                pytest.fail(f"the sandbox printed only {sorted(SANDBOX_ENV)} within 20 s")
            if line.startswith("CLOUDPAY_SANDBOX_") and "=" in line:
                k, v = line.strip().split("=", 1)
                SANDBOX_ENV[k] = v
        base = SANDBOX_ENV["CLOUDPAY_SANDBOX_HTTP"]
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


# ---------------------------------------------------------------------------------------------
# The QA dashboard


def control(base, action, body):
    """A control-API POST (what the dashboard's buttons send); returns (HTTP status, JSON)."""
    req = urllib.request.Request(base.replace("/cpay/", "/sandbox/") + action, data=json.dumps(body).encode())
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def signed(base, endpoint, content):
    """A protocol request authenticated with the demo merchant's HMAC; the decoded response_content."""
    text = json.dumps(content)
    code = hmac.new(KEY, text.encode(), hashlib.sha256).hexdigest().upper()
    body = json.dumps({"request_content": text, "authen_info": {"a": {"authen_type": 1, "authen_code": code}}}).encode()
    req = urllib.request.Request(base + endpoint, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(json.load(r)["response_content"])


def order_no(tag):
    return f"sz0100test{tag}{secrets.token_hex(5)}"


def pay_request(no, fee, author_code=None, platform=None):
    key = {"out_mch_id": MCH, "out_sub_mch_id": SUB_MCH, "out_shop_id": SHOP}
    if platform:
        key["pay_platform"] = platform
    content = {"out_trade_no": no, "total_fee": fee, "fee_type": "CNY", "body": "dashboard test"}
    if author_code:
        content["author_code"] = author_code
    return {"pay_mch_key": key, "pay_content": content, "order_client": {"device_id": "dev01", "staff_id": "1001",
            "terminal_type": 1}, "nonce_str": secrets.token_hex(8)}


def dashboard(browser, base):
    browser.get(base.replace("/cpay/", "/sandbox/console/"))
    assert "Dashboard" in browser.title


def row(browser, no):
    return browser.find_element(By.CSS_SELECTOR, f'tr[data-order="{no}"]')


def click(browser, css):
    """Clicks `css` once it is present; the table re-renders when data change, so a stale
    element is looked up again."""
    def attempt(d):
        try:
            d.find_element(By.CSS_SELECTOR, css).click()
            return True
        except StaleElementReferenceException:
            return False
    WebDriverWait(browser, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, css))
    WebDriverWait(browser, WAIT).until(attempt)


def badge_text(browser, css):
    try:
        return browser.find_element(By.CSS_SELECTOR, css).text
    except Exception:  # noqa: BLE001 - absent or re-rendered: not there yet
        return None


def wait_badge(browser, css, word):
    WebDriverWait(browser, WAIT).until(lambda d: badge_text(d, css) == word)


def screenshot(browser, name, element_id=None):
    """Saves the page, scrolled to the top or to the element with that id."""
    path = SCREENSHOT_DIR / f"cloud-pay-console-dashboard-{name}.png"
    if element_id:
        browser.execute_script("document.getElementById(arguments[0]).scrollIntoView({block: 'center'})", element_id)
    else:
        browser.execute_script("window.scrollTo(0, 0)")
    assert browser.save_screenshot(str(path))
    assert path.stat().st_size > 5000
    print(f"screenshot: {path}")
    return path


def test_dashboard_customer_pays_a_payment_from_the_c_cashier(sandbox, browser):
    if not CASHIER_BIN.exists():
        pytest.fail(f"{CASHIER_BIN} missing: scripts/test-console.sh builds it")
    dashboard(browser, sandbox)
    state = tempfile.mkdtemp(prefix="cashier-state-")
    env = dict(os.environ, CLOUDPAY_STATE_DIR=state, CLOUDPAY_WAIT_SECS="60", **SANDBOX_ENV)
    proc = subprocess.Popen([str(CASHIER_BIN), "--wait-for-customer"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    out = queue.Queue()
    threading.Thread(target=lambda: [out.put(l) for l in proc.stdout], daemon=True).start()
    seen = []
    try:
        no = None
        while no is None:
            try:
                line = out.get(timeout=30)
            except queue.Empty:
                pytest.fail("the cashier printed no order number within 30 s:\n" + "".join(seen))
            seen.append(line)
            m = re.search(r"for order (\S+) in the sandbox dashboard", line)
            no = m and m.group(1)

        # The order shows up by itself (auto-refresh) as paying, with the customer's buttons.
        WebDriverWait(browser, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, f'tr[data-order="{no}"] button.pay'))
        wait_badge(browser, f'tr[data-order="{no}"] [data-role=order-status]', "paying")
        assert "12.34" in row(browser, no).text
        screenshot(browser, "1-paying")
        assert proc.poll() is None, "the cashier waits for the customer"

        click(browser, f'tr[data-order="{no}"] button.pay')
        wait_badge(browser, f'tr[data-order="{no}"] [data-role=order-status]', "paid")
        assert not row(browser, no).find_elements(By.CSS_SELECTOR, "button.pay")
        screenshot(browser, "2-paid")

        assert proc.wait(timeout=60) == 0, "".join(seen)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        shutil.rmtree(state, ignore_errors=True)
    while not out.empty():
        seen.append(out.get())
    text = "".join(seen)
    assert "query_order -> code 0" in text and "cashier: OK" in text, text
    status, truth = control(sandbox, "order", {"out_trade_no": no})
    assert status == 200 and truth["charge_count"] == 1 and truth["order"]["paid"] is True, truth
    assert browser.find_element(By.ID, "dash-message").text == ""
    assert_no_console_errors(browser)


def test_dashboard_refunds_faults_and_qr_code(sandbox, browser):
    # A paid order with a refund that the tester makes fail, and one held processing.
    paid = order_no("P")
    r = signed(sandbox, "micro_pay", pay_request(paid, 500, author_code="134567890123456789"))
    assert r["status"] == 0, r
    refunds = []
    for i, fee in enumerate((100, 200)):
        rno = f"{paid}R{i}"
        r = signed(sandbox, "refund", {"pay_mch_key": {"out_mch_id": MCH, "out_sub_mch_id": SUB_MCH, "out_shop_id": SHOP},
                                       "refund_content": {"out_trade_no": paid, "out_refund_no": rno, "total_fee": 500,
                                                          "refund_fee": fee, "refund_fee_type": "CNY"},
                                       "order_client": {"device_id": "dev01", "staff_id": "1001", "terminal_type": 1},
                                       "nonce_str": secrets.token_hex(8)})
        assert r["status"] == 0, r
        refunds.append(rno)
        # Held processing at once, so neither ends by itself while the page is looked at.
        assert control(sandbox, "refund_outcome", {"out_refund_no": rno, "outcome": "Processing"})[0] == 200
    # A scan-code order waiting for the customer: its code_url as a QR code in the page.
    qr_no = order_no("Q")
    r = signed(sandbox, "scan_code_pay", pay_request(qr_no, 888, platform=1))
    assert r["status"] == 0, r
    code_url = r["scan_code_pay"]["code_url"]

    dashboard(browser, sandbox)
    WebDriverWait(browser, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, f'tr[data-order="{qr_no}"] img.qr'))
    img = row(browser, qr_no).find_element(By.CSS_SELECTOR, "img.qr")
    WebDriverWait(browser, WAIT).until(lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img))
    assert img.get_attribute("alt") == f"QR code of {code_url}"
    assert img.size["width"] >= 100
    wait_badge(browser, f'tr[data-order="{qr_no}"] [data-role=order-status]', "waiting")
    for rno in refunds:
        wait_badge(browser, f'[data-refund="{rno}"] [data-role=refund-status]', "processing")
    screenshot(browser, "3-refunds-and-qr")

    # Refund buttons: one fails, one succeeds; the sandbox's truth follows.
    click(browser, f'[data-refund="{refunds[0]}"] button.fail')
    wait_badge(browser, f'[data-refund="{refunds[0]}"] [data-role=refund-status]', "failed")
    click(browser, f'[data-refund="{refunds[1]}"] button.success')
    wait_badge(browser, f'[data-refund="{refunds[1]}"] [data-role=refund-status]', "success")
    states = {x["out_refund_no"]: x["state"] for x in control(sandbox, "order", {"out_trade_no": paid})[1]["refunds"]}
    assert states == {refunds[0]: 3, refunds[1]: 2}, states

    # The customer scans and pays the QR order from the page; its QR code is then gone.
    click(browser, f'tr[data-order="{qr_no}"] button.pay')
    wait_badge(browser, f'tr[data-order="{qr_no}"] [data-role=order-status]', "paid")
    assert not row(browser, qr_no).find_elements(By.CSS_SELECTOR, "img.qr")

    # A fault for the next 2 query_order requests: status 3 twice, then through.
    Select(browser.find_element(By.ID, "fault-endpoint")).select_by_value("query_order")
    Select(browser.find_element(By.ID, "fault-kind")).select_by_value("Status3")
    times = browser.find_element(By.ID, "fault-times")
    times.clear()
    times.send_keys("2")
    browser.find_element(By.ID, "fault-add").click()
    WebDriverWait(browser, WAIT).until(lambda d: "Status3 on query_order, 2 more" in d.find_element(By.ID, "fault-list").text)
    screenshot(browser, "4-fault", "fault-list")
    query = {"pay_mch_key": {"out_mch_id": MCH, "out_sub_mch_id": SUB_MCH, "out_shop_id": SHOP}, "out_trade_no": paid,
             "order_client": {"device_id": "dev01", "staff_id": "1001", "terminal_type": 1}}
    assert [signed(sandbox, "query_order", dict(query, nonce_str=secrets.token_hex(8)))["status"] for _ in range(3)] == [3, 3, 0]
    WebDriverWait(browser, WAIT).until(lambda d: d.find_element(By.ID, "fault-list").text == "none")

    # Remove from the page: a rule until cleared, then Remove.
    browser.find_element(By.ID, "fault-times").clear()
    browser.find_element(By.ID, "fault-times").send_keys("5")
    browser.find_element(By.ID, "fault-add").click()
    click(browser, "#fault-list li[data-fault] button")
    WebDriverWait(browser, WAIT).until(lambda d: d.find_element(By.ID, "fault-list").text == "none")
    assert control(sandbox, "faults", {}) == (200, [])
    assert browser.find_element(By.ID, "dash-message").text == ""
    assert_no_console_errors(browser)
