"""Saving cards through the sandbox gateway's hosted fields in a real browser. The card number is
typed into the gateway's iframe only; it must never appear in our page, our logs or any database."""

import re
import time
from pathlib import Path

import pyotp
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from test_onboarding import (DEMO_TOTP_SECRET, WAIT, assert_dashboard, describe, enter_sign_in_code, fresh_code,
                             sign_in_with_password, step_after, wait_for_heading)

BOB = "bob@example.com"
PASSWORD = "portal-demo-pass"
TYPED_NUMBERS = ["4242424242424242", "5555555555554444", "4242424242424241"]
# A run of 13–19 digits standing alone: not part of a longer token such as a hex hash, where
# digit runs occur by chance.
LUHN_CANDIDATE = re.compile(rb"(?<![0-9A-Za-z])[0-9]{13,19}(?![0-9A-Za-z])")


def luhn_ok(digits: bytes) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits.decode())):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def type_card(driver, number: str, expiry: str = "12/30", cvc: str = "123") -> None:
    frame = WebDriverWait(driver, WAIT).until(EC.presence_of_element_located((By.ID, "sandbox-card-frame")))
    driver.switch_to.frame(frame)
    try:
        field = WebDriverWait(driver, WAIT).until(EC.element_to_be_clickable((By.ID, "number")))
        field.clear()
        field.send_keys(number)
        driver.find_element(By.ID, "expiry").clear()
        driver.find_element(By.ID, "expiry").send_keys(expiry)
        driver.find_element(By.ID, "cvc").clear()
        driver.find_element(By.ID, "cvc").send_keys(cvc)
    finally:
        driver.switch_to.default_content()


def save_card(driver, number: str) -> None:
    form = driver.find_element(By.ID, "add-card-form")
    for name, value in [("billing_name", "Bob Baker"), ("billing_postcode", "90-001")]:
        field = form.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    type_card(driver, number)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def saved_cards(driver):
    """The saved-card rows' text; retried if the page is replaced while being read."""
    for _ in range(5):
        try:
            return [row.text for row in driver.find_elements(By.CSS_SELECTOR, "#saved-cards tbody tr")]
        except StaleElementReferenceException:
            continue
    return []


def wait(driver):
    return WebDriverWait(driver, WAIT, ignored_exceptions=(StaleElementReferenceException,))


def test_cards_are_saved_made_default_and_removed_through_hosted_fields(portal, browser):
    sign_in_with_password(browser, portal.base_url, BOB, PASSWORD)
    totp = pyotp.TOTP(DEMO_TOTP_SECRET)
    code, step = fresh_code(totp)
    enter_sign_in_code(browser, code)
    if browser.current_url.endswith("/login/mfa"):
        # The invoices test signed Bob in during this time step, and a step works once: use the next.
        enter_sign_in_code(browser, step_after(totp, step))
    assert_dashboard(browser, BOB)

    browser.find_element(By.LINK_TEXT, "Payment methods").click()
    wait_for_heading(browser, "Payment methods")

    # A number the gateway refuses: its message shows, nothing is saved.
    save_card(browser, "4242424242424241")
    error = WebDriverWait(browser, WAIT).until(EC.visibility_of_element_located((By.ID, "card-error")))
    assert "card number is invalid" in error.text, describe(browser)
    assert not browser.find_elements(By.ID, "saved-cards")

    save_card(browser, "4242424242424242")
    wait(browser).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "Your card was saved."))
    save_card(browser, "5555555555554444")
    wait(browser).until(lambda d: len(saved_cards(d)) == 2)
    cards = saved_cards(browser)
    assert any("Visa •••• 4242" in c and "default" in c for c in cards), cards
    assert any("Mastercard •••• 4444" in c for c in cards), cards

    # The page never held the number: only the gateway's frame did.
    for number in TYPED_NUMBERS:
        assert number not in browser.page_source

    mastercard_row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "#saved-cards tbody tr") if "4444" in r.text)
    mastercard_row.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "default card was changed"))
    assert any("Mastercard •••• 4444" in c and "default" in c for c in saved_cards(browser)), saved_cards(browser)

    mastercard_row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "#saved-cards tbody tr") if "4444" in r.text)
    mastercard_row.find_element(By.LINK_TEXT, "Remove").click()
    wait_for_heading(browser, "Remove Mastercard •••• 4444?")
    browser.find_element(By.ID, "confirm-remove").click()
    wait(browser).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "The card was removed."))
    cards = saved_cards(browser)
    assert len(cards) == 1 and "Visa •••• 4242" in cards[0] and "default" in cards[0], cards


@pytest.mark.after_browser_tests
def test_no_card_number_in_any_database_or_log(portal):
    """Runs after all the browser tests (see conftest): scans the portal's and the sandbox's database
    files (with their write-ahead logs) and the server's logs, for the numbers typed here and in
    the payment tests, and for any card-like number at all."""
    from test_paying import TYPED_NUMBERS as PAID_WITH_NUMBERS  # here: test_paying imports from this module
    files = [p for p in Path(portal.workdir).rglob("*.sqlite*") if p.is_file()]
    files += [portal.stdout_path, portal.stderr_path]
    assert any(p.suffix == ".sqlite" for p in files), files
    for path in files:
        data = path.read_bytes()
        for number in TYPED_NUMBERS + PAID_WITH_NUMBERS:
            assert number.encode() not in data, f"{number} found in {path}"
        hits = [m.group(0) for m in LUHN_CANDIDATE.finditer(data) if luhn_ok(m.group(0))]
        assert not hits, f"card-like numbers {hits[:3]} in {path}"
