"""Onboarding and sign-in through a real browser against `portal demo`."""

import re
import secrets
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import urlparse

import pyotp
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# The demo's fixed TOTP secret is 64 bits; pyotp refuses secrets under 112 bits unless told.
pyotp.TOTP.min_secret_length_bits = 80  # harmless where the attribute is not checked

WAIT = 20
ALICE_EMAIL = "alice@example.com"
ALICE_PASSWORD = "portal-demo-pass"
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXP"
RECOVERY_CODE = re.compile(r"^[a-z2-9]{5}-[a-z2-9]{5}$")


# ---------------------------------------------------------------- helpers

def path_of(driver) -> str:
    return urlparse(driver.current_url).path


def describe(driver) -> str:
    """Where the browser is, for failure messages."""
    try:
        heading = driver.find_element(By.TAG_NAME, "h1").text
    except Exception:
        heading = "(no h1)"
    try:
        errors = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "[role=alert]")]
    except Exception:
        errors = []
    return f"url={driver.current_url!r} h1={heading!r} alerts={errors!r}"


def wait_for_path(driver, path: str, timeout: int = WAIT) -> None:
    try:
        WebDriverWait(driver, timeout).until(
            lambda d: path_of(d) == path and d.execute_script("return document.readyState") == "complete")
    except TimeoutException:
        raise AssertionError(f"expected to reach {path}; {describe(driver)}") from None


def wait_for_heading(driver, text: str, timeout: int = WAIT) -> None:
    try:
        WebDriverWait(driver, timeout).until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), text))
    except TimeoutException:
        raise AssertionError(f"expected a page headed {text!r}; {describe(driver)}") from None


def page_replaced(old):
    """A wait condition: `old`, an element of the page we were on, is gone because another page
    replaced it. Chromium sometimes answers for a node of a page being replaced with an inspector
    error ("does not belong to the document") instead of a stale element: that means gone too."""
    def predicate(_driver):
        try:
            old.is_enabled()
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in (error.msg or ""):
                return True
            raise
    return predicate


def submit(driver, form_selector: str) -> None:
    """Clicks the form's submit button and waits until the next page has replaced this one."""
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, f"{form_selector} button[type=submit]").click()
    try:
        WebDriverWait(driver, WAIT).until(page_replaced(page))
        WebDriverWait(driver, WAIT).until(lambda d: d.execute_script("return document.readyState") == "complete")
    except TimeoutException:
        raise AssertionError(f"submitting {form_selector} did not load a new page; {describe(driver)}") from None


def fill(driver, selector: str, value: str) -> None:
    field = WebDriverWait(driver, WAIT).until(EC.element_to_be_clickable((By.CSS_SELECTOR, selector)))
    field.clear()
    field.send_keys(value)


def step_after(totp: pyotp.TOTP, used_step: int) -> str:
    """A code from a time step later than `used_step`: the server refuses a step once used.
    Waits for the next 30-second step if need be (the one sleep these tests allow)."""
    deadline = time.monotonic() + totp.interval + 5
    while totp.timecode(time.time()) <= used_step:
        assert time.monotonic() < deadline, "the TOTP time step never advanced"
        time.sleep(0.25)
    return totp.now()


def fresh_code(totp: pyotp.TOTP) -> tuple[str, int]:
    """The current code and its step, avoiding the last two seconds of a step so the code the
    server checks is the one we meant (it would still accept a neighbouring step)."""
    now = time.time()
    if totp.interval - (now % totp.interval) < 2:
        step_after(totp, totp.timecode(now))
    now = time.time()
    return totp.at(now), totp.timecode(now)


def sign_in_with_password(driver, base_url: str, email: str, password: str) -> None:
    driver.get(base_url + "/login")
    wait_for_path(driver, "/login")
    wait_for_heading(driver, "Sign in")
    email_field = driver.find_element(By.CSS_SELECTOR, "form[action='/login'] input[name=email]")
    password_field = driver.find_element(By.CSS_SELECTOR, "form[action='/login'] input[name=password]")
    # Password managers rely on these.
    assert email_field.get_dom_attribute("autocomplete") == "username"
    assert email_field.get_dom_attribute("type") == "email"
    assert password_field.get_dom_attribute("autocomplete") == "current-password"
    assert password_field.get_dom_attribute("type") == "password"
    fill(driver, "form[action='/login'] input[name=email]", email)
    fill(driver, "form[action='/login'] input[name=password]", password)
    submit(driver, "form[action='/login']")
    wait_for_path(driver, "/login/mfa")
    wait_for_heading(driver, "Enter your code")
    code_field = driver.find_element(By.CSS_SELECTOR, "form[action='/login/mfa'] input[name=code]")
    assert code_field.get_dom_attribute("autocomplete") == "one-time-code"
    assert code_field.get_dom_attribute("inputmode") == "numeric"


def enter_sign_in_code(driver, code: str) -> None:
    fill(driver, "form[action='/login/mfa'] input[name=code]", code)
    submit(driver, "form[action='/login/mfa']")


def assert_dashboard(driver, email: str) -> None:
    wait_for_path(driver, "/")
    wait_for_heading(driver, "Overview")
    header = driver.find_element(By.CSS_SELECTOR, "header.site-header")
    assert header.find_element(By.CSS_SELECTOR, ".user-email").text == email, describe(driver)


def sign_out(driver) -> None:
    submit(driver, "header.site-header form[action='/logout']")
    wait_for_path(driver, "/login")
    wait_for_heading(driver, "Sign in")
    assert not driver.find_elements(By.CSS_SELECTOR, "header.site-header form[action='/logout']"), \
        "still signed in after signing out"


# ---------------------------------------------------------------- tests

def test_invited_customer_onboards_and_signs_in_again(portal, browser):
    driver = browser
    email = "carol@example.com"

    # The invitation email the demo sent holds the same link the banner printed.
    invite_mails = []
    for path in sorted(portal.mail_dir.glob("*.eml")):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if message["To"] == email:
            invite_mails.append(message)
    assert len(invite_mails) == 1, f"expected one invitation mail to {email} in {portal.mail_dir}"
    assert portal.carol_invite_link in invite_mails[0].get_body(preferencelist=("plain",)).get_content()

    # 1. Accept the invitation: choose a password.
    driver.get(portal.carol_invite_link)
    wait_for_heading(driver, "Welcome to the Payment Portal")
    assert email in driver.find_element(By.TAG_NAME, "main").text
    password = f"Quiet lantern {secrets.token_hex(4)} harbour"
    fill(driver, "input[name=new_password]", password)
    fill(driver, "input[name=new_password_confirm]", password)
    submit(driver, "form[action^='/invite/']")

    # 2. Straight on to authenticator enrolment.
    wait_for_path(driver, "/account/mfa/setup")
    wait_for_heading(driver, "Set up two-step sign-in")
    secret_element = WebDriverWait(driver, WAIT).until(EC.visibility_of_element_located((By.ID, "totp-secret")))
    assert driver.find_elements(By.CSS_SELECTOR, ".qr svg"), "no QR code on the setup page"
    ARTIFACTS.mkdir(exist_ok=True)
    assert driver.save_screenshot(str(ARTIFACTS / "mfa-setup.png")), "screenshot failed"
    secret = secret_element.get_dom_attribute("data-secret")
    assert secret and re.fullmatch(r"[A-Z2-7]+=*", secret), f"not a base32 secret: {secret!r}"
    # The grouped key shown to people is the same key.
    assert secret_element.text.replace(" ", "").upper() == secret.rstrip("=")
    totp = pyotp.TOTP(secret)

    code, enrol_step = fresh_code(totp)
    fill(driver, "form[action='/account/mfa/setup'] input[name=code]", code)
    submit(driver, "form[action='/account/mfa/setup']")

    # 3. Recovery codes, shown once.
    wait_for_heading(driver, "Save your recovery codes")
    codes = [item.text.strip() for item in driver.find_elements(By.CSS_SELECTOR, "#recovery-codes li")]
    assert len(codes) == 10, f"expected 10 recovery codes, got {codes!r}"
    assert len(set(codes)) == 10, "recovery codes repeat"
    for recovery in codes:
        assert RECOVERY_CODE.match(recovery), f"unexpected recovery code format: {recovery!r}"
    (ARTIFACTS / "carol-recovery-codes.txt").write_text("\n".join(codes) + "\n", encoding="utf-8")

    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.ID, "continue").click()
    WebDriverWait(driver, WAIT).until(page_replaced(page))
    assert_dashboard(driver, email)
    # Carol was invited to one account: it is named, and there is nothing to switch between.
    assert "Acme Widgets GmbH" in driver.find_element(By.TAG_NAME, "body").text, describe(driver)
    assert not driver.find_elements(By.ID, "account-switch")

    # 4. Sign out, and back in with the password and a new code.
    sign_out(driver)
    driver.get(portal.base_url + "/")
    wait_for_path(driver, "/login")  # the dashboard is closed again

    sign_in_with_password(driver, portal.base_url, email, password)
    enter_sign_in_code(driver, step_after(totp, enrol_step))
    assert_dashboard(driver, email)


def test_demo_customer_signs_in_and_a_wrong_code_is_refused(portal, browser):
    driver = browser
    totp = pyotp.TOTP(DEMO_TOTP_SECRET)

    sign_in_with_password(driver, portal.base_url, ALICE_EMAIL, ALICE_PASSWORD)

    # A wrong code: an error, and still on the code page.
    code, _ = fresh_code(totp)
    wrong = f"{(int(code) + 500000) % 1000000:06d}"
    enter_sign_in_code(driver, wrong)
    wait_for_path(driver, "/login/mfa")
    wait_for_heading(driver, "Enter your code")
    errors = driver.find_elements(By.CSS_SELECTOR, "#form-error")
    assert errors and errors[0].text.strip(), f"no error shown for a wrong code; {describe(driver)}"
    assert not driver.find_elements(By.CSS_SELECTOR, "header.site-header .user-email"), "signed in with a wrong code"

    # The right code then works.
    code, _ = fresh_code(totp)
    enter_sign_in_code(driver, code)
    assert_dashboard(driver, ALICE_EMAIL)

    # Both of her accounts are offered in the header's account switcher, one of them active.
    options = driver.find_elements(By.CSS_SELECTOR, "header.site-header #account-switch option")
    names = sorted(option.get_attribute("textContent").strip() for option in options)
    assert names == ["Acme Widgets GmbH", "Ørsted & Müller Consulting"], f"accounts offered: {names!r}; {describe(driver)}"
    selected = [option.get_attribute("textContent").strip() for option in options if option.is_selected()]
    assert len(selected) == 1, selected
    assert selected[0] in driver.find_element(By.TAG_NAME, "main").text, "the dashboard does not name the active account"
