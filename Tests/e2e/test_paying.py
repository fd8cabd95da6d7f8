"""Paying invoices in a real browser: saved and new cards through the gateway's hosted fields, partial
payments, declines, 3-D Secure (the sandbox's challenge frame and Stripe.js against localstripe), and
autopay.

All of it is Alice's (Bob's data belongs to the invoice and payment-method tests). She signs in once
per portal — a TOTP step works once, and waiting for a new one in every test would cost minutes —
and each test's fresh browser carries that session's cookie. Each test claims its own open invoices
from the list, so the tests neither share invoices nor depend on their order.
"""

import dataclasses
import re
from decimal import Decimal
from urllib.parse import urlparse

import pyotp
import pytest
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from test_onboarding import (DEMO_TOTP_SECRET, WAIT, assert_dashboard, describe, enter_sign_in_code, fill, fresh_code,
                             page_replaced, path_of, sign_in_with_password, step_after, submit, wait_for_heading,
                             wait_for_path)
from test_payment_methods import saved_cards
from test_stripe import stripe_portal  # noqa: F401  (a fixture: this module gets its own Stripe-configured portal)

ALICE = "alice@example.com"
PASSWORD = "portal-demo-pass"
ACME = "Acme Widgets GmbH"

GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
SANDBOX_3DS_CARD = "4000 0025 0000 3155"
# localstripe's PaymentMethod._requires_authentication lists it (as Stripe's own docs do): confirming
# a SetupIntent or a PaymentIntent with it answers requires_action.
STRIPE_3DS_CARD = "4000002760003184"
# What the database-and-log scan in test_payment_methods also looks for.
TYPED_NUMBERS = [n.replace(" ", "") for n in (GOOD_CARD, DECLINED_CARD, SANDBOX_3DS_CARD, STRIPE_3DS_CARD)]

MONEY = re.compile(r"^(?P<symbol>[^\d-]+)(?P<amount>[\d,]+\.\d\d)$")


# ---------------------------------------------------------------- signing in once

_SESSIONS: dict[tuple[str, str], dict] = {}


def sign_in(driver, base_url: str, email: str = ALICE) -> None:
    """Password and code. The code's time step may already have been used for this user by another
    test (a step works once): then the next step's code."""
    sign_in_with_password(driver, base_url, email, PASSWORD)
    totp = pyotp.TOTP(DEMO_TOTP_SECRET)
    code, step = fresh_code(totp)
    enter_sign_in_code(driver, code)
    if path_of(driver) == "/login/mfa":
        enter_sign_in_code(driver, step_after(totp, step))
    assert_dashboard(driver, email)


def signed_in(driver, base_url: str, email: str = ALICE) -> None:
    """Puts this browser in the user's session for this portal, signing in only the first time."""
    key = (base_url, email)
    cookie = _SESSIONS.get(key)
    if cookie is not None:
        driver.get(base_url + "/healthz")
        driver.add_cookie(cookie)
        driver.get(base_url + "/")
        if path_of(driver) == "/" and driver.find_elements(By.CSS_SELECTOR, "header.site-header .user-email"):
            assert_dashboard(driver, email)
            return
    sign_in(driver, base_url, email)
    session = next(c for c in driver.get_cookies() if c["name"] == "portal_session")
    _SESSIONS[key] = {k: session[k] for k in ("name", "value", "path", "httpOnly", "sameSite") if k in session}


def alice_on_acme(driver, base_url: str) -> None:
    signed_in(driver, base_url)
    use_account(driver, ACME)


@pytest.fixture
def alice(portal, browser) -> str:
    """Alice signed in on the demo portal, Acme Widgets' account active: its base URL."""
    alice_on_acme(browser, portal.base_url)
    return portal.base_url


def use_account(driver, name: str) -> None:
    """Makes `name` the active account through the header's switcher (it submits on change)."""
    select = Select(driver.find_element(By.ID, "account-switch"))
    if select.first_selected_option.get_attribute("textContent").strip() == name:
        return
    page = driver.find_element(By.TAG_NAME, "html")
    option = next(o for o in select.options if o.get_attribute("textContent").strip() == name)
    select.select_by_value(option.get_attribute("value"))
    WebDriverWait(driver, WAIT).until(page_replaced(page))
    WebDriverWait(driver, WAIT, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: Select(d.find_element(By.ID, "account-switch")).first_selected_option.get_attribute("textContent").strip() == name)


# ---------------------------------------------------------------- money and invoices

def money(text: str) -> Decimal:
    match = MONEY.match(text.strip())
    assert match, f"not an amount: {text!r}"
    return Decimal(match.group("amount").replace(",", ""))


def formatted(amount: Decimal, symbol: str = "€") -> str:
    return f"{symbol}{amount:,.2f}"


@dataclasses.dataclass(frozen=True)
class Invoice:
    number: str
    id: str
    path: str
    status: str
    total: Decimal
    balance: Decimal
    symbol: str


_CLAIMED: set[tuple[str, str]] = set()


def open_invoices(driver, base_url: str) -> list[Invoice]:
    """The active account's open invoices, every page of them."""
    found = []
    driver.get(base_url + "/invoices?status=open")
    while True:
        wait_for_heading(driver, "Invoices")
        for row in driver.find_elements(By.CSS_SELECTOR, "#invoice-table tbody tr"):
            link = row.find_element(By.CSS_SELECTOR, "td a")
            total, balance = [cell.text for cell in row.find_elements(By.CSS_SELECTOR, "td.num")[-2:]]
            path = urlparse(link.get_attribute("href")).path
            found.append(Invoice(number=link.text, id=path.rsplit("/", 1)[-1], path=path,
                                 status=row.find_element(By.CSS_SELECTOR, ".status").text, total=money(total), balance=money(balance),
                                 symbol=MONEY.match(balance).group("symbol")))
        following = driver.find_elements(By.CSS_SELECTOR, "nav.pagination a[rel=next]")
        if not following:
            return found
        following[0].click()


def claim(driver, base_url: str, count: int, statuses=("Overdue",), minimum=Decimal("100")) -> list[Invoice]:
    """`count` open invoices of the active account that no other test of this session has taken,
    nothing paid on them yet, shown with one of `statuses` (an overdue invoice reads "Overdue" even
    when partly paid), each owing at least `minimum`.

    Acme's demo invoices are dated from today: ten overdue ones owe something and nothing is paid on
    them; two are not yet due ("Open"). Those two are left to the partial payment (which needs an
    invoice that will read "Partially paid") and to autopay (whose schedule lists invoices not yet due)."""
    candidates = [i for i in open_invoices(driver, base_url)
                  if i.status in statuses and i.balance == i.total and i.balance >= minimum and (base_url, i.number) not in _CLAIMED]
    assert len(candidates) >= count, f"only {len(candidates)} unclaimed invoices with status {statuses}: {candidates}"
    chosen = candidates[-count:]
    _CLAIMED.update((base_url, i.number) for i in chosen)
    return chosen


def invoice_state(driver, base_url: str, invoice: Invoice) -> tuple[str, str]:
    """The invoice page's status label and balance due."""
    driver.get(base_url + invoice.path)
    wait_for_heading(driver, f"Invoice {invoice.number}")
    head = driver.find_element(By.CSS_SELECTOR, ".invoice-head .status").text
    return head, driver.find_element(By.CSS_SELECTOR, ".invoice-summary dd.balance").text


def payment_rows(driver, base_url: str) -> list[str]:
    driver.get(base_url + "/payments")
    wait_for_heading(driver, "Payments")
    return [row.text for row in driver.find_elements(By.CSS_SELECTOR, "#payments-table tbody tr")]


# ---------------------------------------------------------------- cards

def type_in_card_frame(driver, number: str, expiry: str = "12/34", cvc: str = "123") -> None:
    """Types into the sandbox's hosted fields: an iframe on the gateway's origin."""
    frame = WebDriverWait(driver, WAIT).until(EC.presence_of_element_located((By.ID, "sandbox-card-frame")))
    driver.switch_to.frame(frame)
    try:
        for field, value in (("number", number), ("expiry", expiry), ("cvc", cvc)):
            element = WebDriverWait(driver, WAIT).until(EC.element_to_be_clickable((By.ID, field)))
            element.clear()
            element.send_keys(value)
    finally:
        driver.switch_to.default_content()


def ensure_saved_card(driver, base_url: str) -> str:
    """A saved Visa •••• 4242 on the active account, added through the hosted fields if it has none."""
    label = "Visa •••• 4242"
    driver.get(base_url + "/payment-methods")
    wait_for_heading(driver, "Payment methods")
    if not any(label in row for row in saved_cards(driver)):
        form = driver.find_element(By.ID, "add-card-form")
        for name, value in (("billing_name", "Alice Andersen"), ("billing_postcode", "80331")):
            form.find_element(By.NAME, name).clear()
            form.find_element(By.NAME, name).send_keys(value)
        type_in_card_frame(driver, GOOD_CARD)
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(driver, WAIT, ignored_exceptions=(StaleElementReferenceException,)).until(
            EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "Your card was saved."))
        assert any(label in row for row in saved_cards(driver)), saved_cards(driver)
    return label


# ---------------------------------------------------------------- the payment pages

def open_pay_page_from_invoice(driver, base_url: str, invoice: Invoice) -> None:
    driver.get(base_url + invoice.path)
    wait_for_heading(driver, f"Invoice {invoice.number}")
    button = driver.find_element(By.ID, "pay-invoice")
    assert button.text == f"Pay {formatted(invoice.balance, invoice.symbol)}", button.text
    button.click()
    wait_for_path(driver, "/pay")
    wait_for_heading(driver, "Pay invoices")
    assert pay_page_numbers(driver) == [invoice.number], describe(driver)


def pay_page_numbers(driver) -> list[str]:
    return [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#pay-invoices tbody td a")]


def choose_saved_card(driver, label: str) -> None:
    choice = next((m for m in driver.find_elements(By.CSS_SELECTOR, "#pay-form label.method") if label in m.text), None)
    assert choice is not None, f"no saved {label} offered; {describe(driver)}"
    radio = choice.find_element(By.CSS_SELECTOR, "input[name=method]")
    radio.click()
    assert radio.is_selected()


def choose_new_card(driver, number: str, keep: bool) -> None:
    """'A new card': the name and postcode on our page, the card itself in the gateway's frame."""
    driver.find_element(By.ID, "method-new").click()
    fill(driver, "#pay-form input[name=billing_name]", "Alice Andersen")
    fill(driver, "#pay-form input[name=billing_postcode]", "80331")
    type_in_card_frame(driver, number)
    keep_box = driver.find_element(By.CSS_SELECTOR, "#pay-form input[name=keep_card]")
    if keep_box.is_selected() != keep:
        keep_box.click()


def set_amount(driver, amount: Decimal) -> None:
    fill(driver, "#pay-form input[name=amount]", f"{amount:.2f}")


def review(driver) -> None:
    """'Review payment'. With a new card the page first has the gateway's frame tokenize it."""
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, "#pay-form button[type=submit]").click()
    try:
        WebDriverWait(driver, WAIT).until(page_replaced(page))
    except TimeoutException:
        errors = [e.text for e in driver.find_elements(By.ID, "card-error") if e.is_displayed()]
        raise AssertionError(f"the payment form did not go on to the review; card errors {errors}; {describe(driver)}") from None
    wait_for_heading(driver, "Review payment")


def confirm(driver) -> str:
    """'Pay …' on the review page; the heading of the page it ends on."""
    submit(driver, "#confirm-form")
    WebDriverWait(driver, WAIT).until(EC.presence_of_element_located((By.ID, "payment")))
    return driver.find_element(By.TAG_NAME, "h1").text


def pay_one_invoice_with_a_new_card(driver, base_url: str, number: str) -> tuple[Invoice, str]:
    """One invoice of its own paid from its payment form with a new card, not kept: the invoice and
    the heading of the page the payment ends on."""
    [invoice] = claim(driver, base_url, 1)
    driver.get(base_url + "/pay?invoice=" + invoice.id)
    wait_for_heading(driver, "Pay invoices")
    choose_new_card(driver, number, keep=False)
    review(driver)
    return invoice, confirm(driver)


def assert_received(driver, amount: str, numbers: list[str]) -> dict[str, str]:
    """The receipt: its amount, status and the invoices it was applied to (number → amount)."""
    wait_for_heading(driver, "Payment received")
    assert driver.find_element(By.ID, "payment-amount").text == amount, describe(driver)
    assert driver.find_element(By.ID, "payment-status").text == "Paid", describe(driver)
    allocations = {}
    for row in driver.find_elements(By.CSS_SELECTOR, "#payment-allocations tbody tr"):
        cells = row.find_elements(By.TAG_NAME, "td")
        allocations[cells[0].text] = cells[1].text
    assert sorted(allocations) == sorted(numbers), allocations
    return allocations


# ---------------------------------------------------------------- tests

def test_an_invoice_is_paid_in_full_with_a_saved_card(alice, browser):
    base = alice
    card = ensure_saved_card(browser, base)
    [invoice] = claim(browser, base, 1)
    amount = formatted(invoice.balance, invoice.symbol)

    open_pay_page_from_invoice(browser, base, invoice)
    assert browser.find_element(By.ID, "pay-balance").text == amount
    choose_saved_card(browser, card)
    review(browser)
    assert browser.find_element(By.ID, "review-amount").text == amount
    assert card in browser.find_element(By.ID, "payment-review").text
    assert browser.find_element(By.CSS_SELECTOR, "#confirm-form button[type=submit]").text == f"Pay {amount}"

    assert confirm(browser) == "Payment received", describe(browser)
    assert_received(browser, amount, [invoice.number])
    receipt = browser.find_element(By.ID, "payment").text
    assert card in receipt and "Authorisation code" in receipt, receipt

    status, balance = invoice_state(browser, base, invoice)
    assert (status, balance) == ("Paid", formatted(Decimal(0), invoice.symbol)), describe(browser)
    assert not browser.find_elements(By.ID, "pay-invoice"), "a paid invoice still offers to be paid"
    history = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#payment-history tbody tr")]
    assert any(card in r and amount in r for r in history), history

    rows = [r for r in payment_rows(browser, base) if invoice.number in r]
    assert len(rows) == 1 and "Paid" in rows[0] and amount in rows[0] and card in rows[0], rows


def test_two_invoices_are_paid_together_with_a_new_card_typed_into_the_hosted_fields(alice, browser):
    base = alice
    invoices = claim(browser, base, 2)
    total = sum((i.balance for i in invoices), Decimal(0))
    symbol = invoices[0].symbol

    # Tick both in the list, then "Pay selected invoices".
    browser.get(base + "/invoices?status=open")
    wait_for_heading(browser, "Invoices")
    for invoice in invoices:
        box = browser.find_element(By.CSS_SELECTOR, f"input[type=checkbox][aria-label='Select {invoice.number} to pay']")
        box.click()
        assert box.is_selected()
    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, "#pay-selected button[type=submit]").click()
    WebDriverWait(browser, WAIT).until(page_replaced(page))
    wait_for_heading(browser, "Pay invoices")
    assert sorted(pay_page_numbers(browser)) == sorted(i.number for i in invoices), describe(browser)
    assert browser.find_element(By.ID, "pay-balance").text == formatted(total, symbol)

    choose_new_card(browser, GOOD_CARD, keep=False)
    review(browser)
    assert browser.find_element(By.ID, "review-amount").text == formatted(total, symbol)
    review_text = browser.find_element(By.ID, "payment-review").text
    assert "4242" in review_text and all(i.number in review_text for i in invoices), review_text
    # Only the gateway's single-use token reached our page, never the number.
    assert "4242424242424242" not in browser.page_source and GOOD_CARD not in browser.page_source

    assert confirm(browser) == "Payment received", describe(browser)
    allocations = assert_received(browser, formatted(total, symbol), [i.number for i in invoices])
    assert allocations == {i.number: formatted(i.balance, symbol) for i in invoices}, allocations
    assert "Visa •••• 4242" in browser.find_element(By.ID, "payment").text

    for invoice in invoices:
        assert invoice_state(browser, base, invoice)[0] == "Paid", describe(browser)
    # One payment for both.
    rows = [r for r in payment_rows(browser, base) if any(i.number in r for i in invoices)]
    assert len(rows) == 1 and all(i.number in rows[0] for i in invoices), rows
    assert formatted(total, symbol) in rows[0] and "Paid" in rows[0], rows


def test_a_partial_payment_leaves_the_invoice_partially_paid(alice, browser):
    base = alice
    card = ensure_saved_card(browser, base)
    # Not overdue: an overdue invoice reads "Overdue" whatever has been paid.
    [invoice] = claim(browser, base, 1, statuses=("Open",))
    part = Decimal("50.00")
    rest = invoice.balance - part

    open_pay_page_from_invoice(browser, base, invoice)
    set_amount(browser, part)
    choose_saved_card(browser, card)
    review(browser)
    assert browser.find_element(By.ID, "review-amount").text == formatted(part, invoice.symbol)
    assert f"This is part of the {formatted(invoice.balance, invoice.symbol)} owed" in \
        browser.find_element(By.ID, "payment-review").text, describe(browser)

    assert confirm(browser) == "Payment received", describe(browser)
    assert_received(browser, formatted(part, invoice.symbol), [invoice.number])

    status, balance = invoice_state(browser, base, invoice)
    assert (status, balance) == ("Partially paid", formatted(rest, invoice.symbol)), describe(browser)
    # What is left can still be paid.
    assert browser.find_element(By.ID, "pay-invoice").text == f"Pay {formatted(rest, invoice.symbol)}"
    history = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#payment-history tbody tr")]
    assert len(history) == 1 and formatted(part, invoice.symbol) in history[0], history


def test_a_declined_card_is_explained_and_another_card_then_pays(alice, browser):
    base = alice
    invoice, outcome = pay_one_invoice_with_a_new_card(browser, base, DECLINED_CARD)
    amount = formatted(invoice.balance, invoice.symbol)
    assert outcome == "Payment not completed", describe(browser)
    declined = browser.find_element(By.ID, "payment-declined")
    assert "Your card was declined by your bank." in declined.text, declined.text
    assert "Contact your bank, or use another card." in declined.text, declined.text
    assert "card_declined" not in declined.text  # plain words, not the gateway's code
    assert browser.find_element(By.ID, "payment-status").text == "Failed"
    assert not browser.find_elements(By.ID, "payment-allocations")

    # The invoice is as it was.
    status, balance = invoice_state(browser, base, invoice)
    assert balance == amount and status in ("Open", "Overdue"), (status, balance)
    # The customer said not to keep the card: a declined card is not kept either.
    browser.get(base + "/payment-methods")
    wait_for_heading(browser, "Payment methods")
    assert not any("0002" in row for row in saved_cards(browser)), saved_cards(browser)

    # "Try again" from the failed payment: a fresh form for the same invoice.
    browser.get(base + "/payments")
    wait_for_heading(browser, "Payments")
    failed = [r for r in browser.find_elements(By.CSS_SELECTOR, "#payments-table tbody tr") if invoice.number in r.text]
    assert len(failed) == 1 and "Failed" in failed[0].text, [r.text for r in failed]
    failed[0].find_element(By.CSS_SELECTOR, "td a").click()
    wait_for_heading(browser, "Payment not completed")
    browser.find_element(By.LINK_TEXT, "Try again").click()
    wait_for_heading(browser, "Pay invoices")
    assert pay_page_numbers(browser) == [invoice.number], describe(browser)
    choose_new_card(browser, GOOD_CARD, keep=False)
    review(browser)
    assert confirm(browser) == "Payment received", describe(browser)
    assert_received(browser, amount, [invoice.number])

    assert invoice_state(browser, base, invoice)[0] == "Paid", describe(browser)
    rows = [r for r in payment_rows(browser, base) if invoice.number in r]
    assert sorted(("Paid" in r, "Failed" in r) for r in rows) == [(False, True), (True, False)], rows


def test_sandbox_3d_secure_is_confirmed_in_the_banks_frame(alice, browser):
    base = alice
    invoice, outcome = pay_one_invoice_with_a_new_card(browser, base, SANDBOX_3DS_CARD)
    amount = formatted(invoice.balance, invoice.symbol)
    assert outcome == "Confirm with your bank", describe(browser)
    assert browser.find_element(By.ID, "payment-status").text == "Waiting for your bank"

    # The bank's challenge is the gateway's own page, framed.
    frame = WebDriverWait(browser, WAIT).until(EC.presence_of_element_located((By.ID, "sandbox-challenge-frame")))
    assert urlparse(frame.get_attribute("src")).netloc != urlparse(base).netloc
    page = browser.find_element(By.TAG_NAME, "html")
    browser.switch_to.frame(frame)
    try:
        # Enabled once the portal's page has handed the frame the charge to confirm.
        WebDriverWait(browser, WAIT).until(EC.element_to_be_clickable((By.ID, "approve")))
        approve = browser.find_element(By.ID, "approve")
        assert approve.text == "Confirm payment"
        approve.click()
    finally:
        browser.switch_to.default_content()
    WebDriverWait(browser, WAIT).until(page_replaced(page))
    assert_received(browser, amount, [invoice.number])
    assert invoice_state(browser, base, invoice)[0] == "Paid", describe(browser)


def test_stripe_3d_secure_through_elements_and_confirm_card_payment(stripe_portal, browser):  # noqa: F811
    base, stripe_base, workdir = stripe_portal
    alice_on_acme(browser, base)
    [invoice] = claim(browser, base, 1)
    amount = formatted(invoice.balance, invoice.symbol)

    browser.get(base + "/pay?invoice=" + invoice.id)
    wait_for_heading(browser, "Pay invoices")
    browser.find_element(By.ID, "method-new").click()
    fill(browser, "#pay-form input[name=billing_name]", "Alice Andersen")
    fill(browser, "#pay-form input[name=billing_postcode]", "80331")
    WebDriverWait(browser, WAIT).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#card-fields input[placeholder=number]")))
    # localstripe's Elements are plain inputs named by placeholder; its expiry year takes two digits.
    for placeholder, value in (("number", STRIPE_3DS_CARD), ("exp_month", "12"), ("exp_year", "34"), ("cvc", "123"),
                               ("postal_code", "80331")):
        browser.find_element(By.CSS_SELECTOR, f"#card-fields input[placeholder={placeholder}]").send_keys(value)
    keep_box = browser.find_element(By.CSS_SELECTOR, "#pay-form input[name=keep_card]")
    if keep_box.is_selected():
        keep_box.click()

    # Saving the card (a SetupIntent) asks for authentication first: localstripe's Stripe.js shows its
    # 3-D Secure dialog in the page.
    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, "#pay-form button[type=submit]").click()
    complete = (By.XPATH, "//button[normalize-space()='Complete authentication']")
    WebDriverWait(browser, WAIT).until(EC.element_to_be_clickable(complete)).click()
    WebDriverWait(browser, WAIT).until(page_replaced(page))
    wait_for_heading(browser, "Review payment")
    assert browser.find_element(By.ID, "review-amount").text == amount

    # The off-session PaymentIntent needs the customer: the page says so, and Stripe.js's
    # confirmCardPayment brings up the bank's dialog.
    assert confirm(browser) == "Confirm with your bank", describe(browser)
    assert browser.find_element(By.ID, "payment-status").text == "Waiting for your bank"
    box = browser.find_element(By.ID, "authentication")
    assert box.get_attribute("data-gateway") == "stripe"
    assert re.fullmatch(r"pi_\w+_secret_\w+", box.get_attribute("data-client-secret") or ""), box.get_attribute("data-client-secret")
    page = browser.find_element(By.TAG_NAME, "html")
    WebDriverWait(browser, WAIT).until(EC.element_to_be_clickable(complete)).click()
    WebDriverWait(browser, WAIT).until(page_replaced(page))
    assert_received(browser, amount, [invoice.number])
    transaction = browser.find_element(By.ID, "payment").text
    assert re.search(r"Transaction\s+pi_\w+", transaction), transaction
    assert invoice_state(browser, base, invoice)[0] == "Paid", describe(browser)

    for path in list(workdir.rglob("*.sqlite*")) + [workdir / "portal.log"]:
        assert STRIPE_3DS_CARD.encode() not in path.read_bytes(), path


def test_autopay_is_turned_on_with_consent_shows_its_schedule_and_pauses(alice, browser):
    base = alice
    card = ensure_saved_card(browser, base)
    # Autopay charges on each invoice's due date, so it schedules the invoices not yet due (the
    # overdue ones it leaves to the customer). None is due today: the worker charges nothing here.
    not_yet_due = {i.number for i in open_invoices(browser, base) if i.status in ("Open", "Partially paid")}
    assert not_yet_due, "Acme has no invoice that is not yet due: nothing for autopay to schedule"

    browser.get(base + "/autopay")
    wait_for_heading(browser, "Autopay and payment plans")
    assert not browser.find_elements(By.ID, "autopay-status"), "autopay is already on"
    form = browser.find_element(By.ID, "autopay-form")
    chosen = [label.text for label in form.find_elements(By.CSS_SELECTOR, "label.method") if
              label.find_element(By.TAG_NAME, "input").is_selected()]
    assert any(card in c for c in chosen), chosen

    # Without the consent box ticked nothing is set up.
    submit(browser, "#autopay-form")
    error = browser.find_element(By.CSS_SELECTOR, "#autopay [role=alert]")
    assert "Tick the box to agree" in error.text, error.text
    assert not browser.find_elements(By.ID, "autopay-status")

    browser.find_element(By.CSS_SELECTOR, "#autopay-form input[name=consent]").click()
    submit(browser, "#autopay-form")
    wait_for_heading(browser, "Autopay and payment plans")
    assert "Autopay is on." in browser.find_element(By.CSS_SELECTOR, ".flash").text, describe(browser)
    assert browser.find_element(By.ID, "autopay-status").text == "active"
    autopay = browser.find_element(By.ID, "autopay").text
    assert card in autopay, autopay
    schedule = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "#autopay-schedule tbody tr")]
    scheduled = {m.group(0) for row in schedule for m in re.finditer(r"INV-\d+", row)}
    assert scheduled == not_yet_due, f"schedule {schedule}; open invoices not yet due {not_yet_due}"

    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.XPATH, "//button[normalize-space()='Pause autopay']").click()
    WebDriverWait(browser, WAIT).until(page_replaced(page))
    wait_for_heading(browser, "Autopay and payment plans")
    assert "Autopay is paused." in browser.find_element(By.CSS_SELECTOR, ".flash").text, describe(browser)
    assert browser.find_element(By.ID, "autopay-status").text == "paused"
    assert not browser.find_elements(By.ID, "autopay-schedule"), "a paused autopay still shows charges to come"
    assert browser.find_elements(By.XPATH, "//button[normalize-space()='Resume autopay']")
