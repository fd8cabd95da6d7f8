"""The staff console in a real browser: a staff member signs in with MFA, finds Alice, views the
portal as her (the banner on every page), opens an invoice, stops, and finds it all in the audit
trail. The demo's admin has the same TOTP secret as the demo customers, but its own time steps."""

import pyotp
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from test_onboarding import DEMO_TOTP_SECRET, describe, fill, fresh_code, path_of, step_after, submit, wait_for_heading, wait_for_path

ADMIN = "admin@example.com"
PASSWORD = "portal-demo-pass"


def staff_sign_in(driver, base_url: str) -> None:
    driver.get(base_url + "/staff/login")
    wait_for_heading(driver, "Staff sign in")
    fill(driver, "form[action='/staff/login'] input[name=email]", ADMIN)
    fill(driver, "form[action='/staff/login'] input[name=password]", PASSWORD)
    submit(driver, "form[action='/staff/login']")
    wait_for_path(driver, "/staff/login/mfa")
    totp = pyotp.TOTP(DEMO_TOTP_SECRET)
    code, step = fresh_code(totp)
    fill(driver, "form[action='/staff/login/mfa'] input[name=code]", code)
    submit(driver, "form[action='/staff/login/mfa']")
    if path_of(driver) == "/staff/login/mfa":
        fill(driver, "form[action='/staff/login/mfa'] input[name=code]", step_after(totp, step))
        submit(driver, "form[action='/staff/login/mfa']")
    wait_for_path(driver, "/staff")
    wait_for_heading(driver, "Staff console")


def test_staff_finds_alice_views_as_her_and_the_audit_trail_shows_it(portal, browser):
    base = portal.base_url
    staff_sign_in(browser, base)
    assert ADMIN in browser.find_element(By.CSS_SELECTOR, "header .user-email").text

    fill(browser, "form[role=search] input[name=q]", "Andersen")
    submit(browser, "form[role=search]")
    link = browser.find_element(By.CSS_SELECTOR, "#search-results a")
    assert link.text == "alice@example.com", describe(browser)
    link.click()
    wait_for_heading(browser, "alice@example.com")

    Select(browser.find_element(By.CSS_SELECTOR, "#impersonate select[name=category]")).select_by_value("billing_question")
    fill(browser, "#impersonate input[name=reason]", "Alice asked about an open invoice")
    submit(browser, "#impersonate form")
    wait_for_path(browser, "/")
    banner = browser.find_element(By.ID, "impersonation-banner")
    assert "Viewing as" in banner.text and "alice@example.com" in banner.text and ADMIN in banner.text, banner.text

    browser.get(base + "/invoices?status=all")
    assert "Viewing as" in browser.find_element(By.ID, "impersonation-banner").text
    browser.find_element(By.CSS_SELECTOR, "#invoice-table tbody tr td a").click()
    wait_for_heading(browser, "Invoice")
    assert browser.find_element(By.ID, "impersonation-banner").is_displayed()
    # Changes are refused while viewing.
    browser.get(base + "/account")
    fill(browser, "#current_password", "anything at all")
    fill(browser, "#new_password", "a new passphrase here")
    fill(browser, "#new_password_confirm", "a new passphrase here")
    submit(browser, "form[action='/account/password']")
    assert "Stop viewing as them first" in browser.page_source, describe(browser)

    browser.get(base + "/")
    submit(browser, "#impersonation-banner form")
    assert path_of(browser).startswith("/staff/customers/"), describe(browser)
    assert "You stopped viewing as the customer." in browser.page_source
    assert not browser.find_elements(By.ID, "impersonation-banner")

    browser.get(base + "/staff/audit?action=impersonation.")
    rows = browser.find_element(By.ID, "audit-events").text
    assert "impersonation.start" in rows and "impersonation.stop" in rows and "Alice asked about an open invoice" in rows, rows
