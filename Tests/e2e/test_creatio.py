"""Creatio in the demo, end to end: an invoice made in the Creatio simulator reaches the portal by
the sync, the demo's Creatio customer (Dana) pays it in the browser with a new card typed into the
gateway's hosted fields, and the simulator then shows it Paid, with the amount, the transaction id,
the card and the invoice's payment link — all written back by the push. The simulator's read-only
overview page (its Invoice records) is what the test reads Creatio through.
"""

import html
import re
import time
import urllib.request
from decimal import Decimal

from selenium.webdriver.common.by import By

from test_onboarding import describe, wait_for_heading
from test_paying import GOOD_CARD, assert_received, choose_new_card, confirm, formatted, open_invoices, review, signed_in

DANA = "dana@example.com"
NUMBER = "CR-2026-0102"
# The demo passes every 15 s; the first may run before the simulator listens.
SYNC_WAIT = 90


def crm_invoices(portal) -> dict[str, dict[str, str]]:
    """The simulator's Invoice records by number, as its overview page lists them."""
    with urllib.request.urlopen(portal.creatio_url + "/", timeout=5) as response:
        page = response.read().decode("utf-8")
    headers = [html.unescape(h) for h in re.findall(r"<th>(.*?)</th>", page)]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", page):
        cells = [html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", row)]
        if cells:
            record = dict(zip(headers, cells))
            rows[record["Number"]] = record
    return rows


def wait_for_crm(portal, number: str, condition, what: str) -> dict[str, str]:
    deadline = time.monotonic() + SYNC_WAIT
    while True:
        record = crm_invoices(portal).get(number, {})
        if condition(record):
            return record
        if time.monotonic() > deadline:
            raise AssertionError(f"Creatio's {number} never showed {what}: {record}\n{portal.log()[-4000:]}")
        time.sleep(1)


def test_an_invoice_made_in_creatio_is_paid_in_the_portal_and_creatio_then_shows_it_paid(portal, browser):
    base = portal.base_url
    # The pull brought the invoice in and the push wrote its payment link back.
    before = wait_for_crm(portal, NUMBER, lambda r: r.get("UsrPaymentLink", "").startswith(base + "/pay/"), "a payment link")
    assert before["PaymentStatusId"] == "Waiting for payment", before
    assert before["PaymentAmount"] == "0.00", before

    signed_in(browser, base, DANA)
    invoice = next((i for i in open_invoices(browser, base) if i.number == NUMBER), None)
    assert invoice is not None, describe(browser)
    assert invoice.balance == Decimal("375.00") and invoice.symbol == "$", invoice

    browser.get(base + "/pay?invoice=" + invoice.id)
    wait_for_heading(browser, "Pay invoices")
    choose_new_card(browser, GOOD_CARD, keep=False)
    review(browser)
    assert confirm(browser) == "Payment received", describe(browser)
    assert_received(browser, formatted(invoice.balance, invoice.symbol), [NUMBER])

    after = wait_for_crm(portal, NUMBER, lambda r: r.get("PaymentStatusId") == "Paid", "Paid")
    assert after["PaymentAmount"] == "375.00", after
    assert after["UsrPaymentStatus"] == "succeeded", after
    assert after["UsrGatewayTransactionId"], after
    assert (after["UsrCardType"], after["UsrCardLast4"]) == ("Visa", "4242"), after
    assert after["UsrPaymentLink"] == before["UsrPaymentLink"], after

    # The link Creatio shows now says there is nothing left to pay.
    browser.get(before["UsrPaymentLink"])
    wait_for_heading(browser, "Invoice already paid")
    # Another invoice of the same account is untouched.
    assert crm_invoices(portal)["CR-2026-0101"]["PaymentStatusId"] == "Waiting for payment"
