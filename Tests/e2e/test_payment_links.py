"""Paying an invoice through its payment link in a real browser, without signing in: Creatio's
process asks the API for the link (with a key made by `portal api-key create`), the payer opens it
in a browser with no session, types a new card into the gateway's hosted fields and pays."""

import json
import re
import subprocess
import urllib.request

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import PORTAL, REPO
from test_onboarding import WAIT, describe, fill, submit, wait_for_heading
from test_paying import GOOD_CARD, claim, formatted, invoice_state, signed_in, type_in_card_frame
from test_paying import alice  # noqa: F401  (a fixture)

KEY_LINE = re.compile(r"key \(shown once, store it now\): (ppk_\S+)")


def api_key(portal) -> str:
    """A payment-links key made with the CLI against the demo's own database and master key."""
    demo = portal.workdir / "var" / "demo"
    result = subprocess.run(
        [str(PORTAL), "api-key", "create", "--name", "Creatio e2e", "--scope", "payment-links",
         "--database", str(demo / "portal.sqlite"), "--key-file", str(demo / "portal.key"), "--resources", str(REPO)],
        cwd=portal.workdir, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    match = KEY_LINE.search(result.stdout)
    assert match, result.stdout
    return match.group(1)


def payment_link(base_url: str, key: str, invoice_id: str) -> str:
    request = urllib.request.Request(
        base_url + "/api/v1/payment-links", method="POST", data=json.dumps({"invoiceId": invoice_id}).encode(),
        headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
        assert "Set-Cookie" not in response.headers
        body = json.load(response)
    assert body["url"].startswith(base_url + "/pay/"), body
    return body["url"]


def test_an_invoice_is_paid_through_its_payment_link_without_signing_in(portal, alice, browser):
    base = alice
    [invoice] = claim(browser, base, 1)
    url = payment_link(base, api_key(portal), invoice.id)

    # The payer: no session at all.
    browser.delete_all_cookies()
    browser.get(url)
    wait_for_heading(browser, "Pay invoice " + invoice.number)
    assert browser.find_element(By.ID, "link-balance").text == formatted(invoice.balance, invoice.symbol)
    assert not browser.find_elements(By.CSS_SELECTOR, "input[name=method]"), "no saved cards without signing in"
    assert not browser.find_elements(By.ID, "account-switch")
    fill(browser, "#pay-link-form input[name=billing_name]", "Paula Payer")
    fill(browser, "#pay-link-form input[name=billing_postcode]", "10115")
    type_in_card_frame(browser, GOOD_CARD)
    submit(browser, "#pay-link-form")
    WebDriverWait(browser, WAIT).until(EC.presence_of_element_located((By.ID, "payment")))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Payment received", describe(browser)
    assert browser.find_element(By.ID, "payment-amount").text == formatted(invoice.balance, invoice.symbol)
    assert GOOD_CARD.replace(" ", "") not in browser.page_source
    assert not any(c["name"] == "portal_session" for c in browser.get_cookies())

    # The link now says the invoice is paid; signed in, Alice sees it paid.
    browser.get(url)
    wait_for_heading(browser, "Invoice already paid")
    signed_in(browser, base)
    assert invoice_state(browser, base, invoice)[0] == "Paid", describe(browser)
