"""Invoices through a real browser: sign in, filter the list, open an invoice, download its PDF."""

import io
import urllib.request
from urllib.parse import urlparse

import pyotp
from pypdf import PdfReader
from selenium.webdriver.common.by import By

from test_onboarding import (DEMO_TOTP_SECRET, assert_dashboard, describe, enter_sign_in_code, fresh_code,
                             sign_in_with_password, submit, wait_for_heading, wait_for_path)

BOB_EMAIL = "bob@example.com"
PASSWORD = "portal-demo-pass"


def rows(driver):
    return driver.find_elements(By.CSS_SELECTOR, "#invoice-table tbody tr")


def statuses(driver):
    return [row.find_element(By.CSS_SELECTOR, ".status").text for row in rows(driver)]


def test_customer_filters_invoices_opens_one_and_downloads_its_pdf(portal, browser):
    # Bob, not Alice: the onboarding tests use Alice's code for this time step, and a step is single-use.
    sign_in_with_password(browser, portal.base_url, BOB_EMAIL, PASSWORD)
    code, _ = fresh_code(pyotp.TOTP(DEMO_TOTP_SECRET))
    enter_sign_in_code(browser, code)
    assert_dashboard(browser, BOB_EMAIL)
    assert browser.find_element(By.CSS_SELECTOR, "#balance-due .big").text.startswith("€"), describe(browser)

    browser.find_element(By.LINK_TEXT, "View open invoices").click()
    wait_for_path(browser, "/invoices")
    wait_for_heading(browser, "Invoices")
    open_statuses = statuses(browser)
    assert open_statuses, describe(browser)
    assert set(open_statuses) <= {"Open", "Overdue", "Partially paid"}, open_statuses

    # Filter: the Paid tab shows only paid invoices.
    browser.find_element(By.CSS_SELECTOR, "nav.tabs a[href*='status=paid']").click()
    wait_for_path(browser, "/invoices")
    paid_statuses = statuses(browser)
    assert paid_statuses and set(paid_statuses) == {"Paid"}, paid_statuses

    # Search by number within all invoices.
    browser.find_element(By.CSS_SELECTOR, "nav.tabs a[href*='status=all']").click()
    wait_for_path(browser, "/invoices")
    first_number = rows(browser)[0].find_element(By.CSS_SELECTOR, "td a").text
    search = browser.find_element(By.CSS_SELECTOR, "form.search-form input[name=q]")
    search.clear()
    search.send_keys(first_number)
    submit(browser, "form.search-form")
    numbers = [row.find_element(By.CSS_SELECTOR, "td a").text for row in rows(browser)]
    assert numbers == [first_number], numbers

    # Open it.
    rows(browser)[0].find_element(By.CSS_SELECTOR, "td a").click()
    wait_for_heading(browser, f"Invoice {first_number}")
    assert urlparse(browser.current_url).path.startswith("/invoices/inv_")
    lines = browser.find_elements(By.CSS_SELECTOR, "table.lines tbody tr")
    assert lines, describe(browser)
    first_description = lines[0].find_element(By.CSS_SELECTOR, "td").text

    # Download its PDF with the browser's own session cookie.
    pdf_link = browser.find_element(By.ID, "download-pdf").get_attribute("href")
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in browser.get_cookies())
    request = urllib.request.Request(pdf_link, headers={"Cookie": cookie})
    with urllib.request.urlopen(request) as response:
        assert response.headers["Content-Type"] == "application/pdf"
        body = response.read()
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    flattened = " ".join(text.split())
    assert first_number in text
    assert " ".join(first_description.split()[:3]) in flattened, (first_description, flattened[:500])
    assert "Łódź" in text  # the bill-to address, through the embedded font
