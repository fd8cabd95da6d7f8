"""Saving a card through Stripe Elements, against localstripe and its Stripe.js on 127.0.0.1.
A separate portal (its own demo database) runs with PORTAL_GATEWAY=stripe for this module."""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyotp
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import PORTAL, REPO, STARTUP_TIMEOUT, _free_port, _healthy, _stop
from test_onboarding import DEMO_TOTP_SECRET, WAIT, assert_dashboard, enter_sign_in_code, fresh_code, sign_in_with_password, wait_for_heading


@pytest.fixture(scope="module")
def stripe_portal():
    workdir = Path(tempfile.mkdtemp(prefix="portal-stripe-"))
    stripe = subprocess.Popen([sys.executable, str(REPO / "Tests/support/localstripe_server.py"), "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    stripe_port = int(stripe.stdout.readline().strip())
    stripe_base = f"http://127.0.0.1:{stripe_port}"
    port = _free_port()
    sandbox_port, creatio_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    log = open(workdir / "portal.log", "wb")
    portal = subprocess.Popen(
        [str(PORTAL), "demo", "--bind", f"127.0.0.1:{port}", "--resources", str(REPO), "--gateway", "stripe",
         "--sandbox-port", str(sandbox_port), "--creatio-port", str(creatio_port),
         "--stripe-api-base", stripe_base, "--stripe-js-url", stripe_base + "/js.stripe.com/v3/",
         "--stripe-secret-key", "sk_test_e2e", "--stripe-publishable-key", "pk_test_e2e", "--stripe-webhook-secret", "whsec_e2e"],
        cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _healthy(base + "/healthz"):
            assert portal.poll() is None, (workdir / "portal.log").read_text()
            assert time.monotonic() < deadline, "the Stripe-configured portal did not start"
            time.sleep(0.2)
        yield base, stripe_base, workdir
    finally:
        _stop(portal)
        _stop(stripe)
        log.close()


def test_a_card_is_saved_through_stripe_elements(stripe_portal, browser):
    base, stripe_base, workdir = stripe_portal
    sign_in_with_password(browser, base, "alice@example.com", "portal-demo-pass")
    code, _ = fresh_code(pyotp.TOTP(DEMO_TOTP_SECRET))
    enter_sign_in_code(browser, code)
    assert_dashboard(browser, "alice@example.com")
    browser.get(base + "/payment-methods")
    wait_for_heading(browser, "Payment methods")
    # The page admits Stripe's origin (here localstripe's) and nothing else.
    assert f'src="{stripe_base}/js.stripe.com/v3/"' in browser.page_source

    form = browser.find_element(By.ID, "add-card-form")
    form.find_element(By.NAME, "billing_name").send_keys("Alice Andersen")
    form.find_element(By.NAME, "billing_postcode").send_keys("80331")
    WebDriverWait(browser, WAIT).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#card-fields input[placeholder=number]")))
    # localstripe's Elements are plain inputs named by placeholder; its expiry year takes two digits.
    for placeholder, value in [("number", "4242424242424242"), ("exp_month", "12"), ("exp_year", "30"), ("cvc", "123"),
                               ("postal_code", "80331")]:
        browser.find_element(By.CSS_SELECTOR, f"#card-fields input[placeholder={placeholder}]").send_keys(value)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    WebDriverWait(browser, WAIT, ignored_exceptions=(StaleElementReferenceException,)).until(
        EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "Your card was saved."))
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#saved-cards tbody tr")]
    assert len(rows) == 1 and "Visa •••• 4242" in rows[0] and "default" in rows[0] and "12/2030" in rows[0], rows
    assert "4242424242424242" not in browser.page_source
    for path in list(workdir.rglob("*.sqlite*")) + [workdir / "portal.log"]:
        assert b"4242424242424242" not in path.read_bytes(), path
