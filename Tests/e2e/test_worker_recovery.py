"""The worker against real processes: a portal killed with SIGKILL in the middle of a charge is
settled by the reconciler after restart, and recurring failures and reminders reach a real SMTP
server. Each test runs its own `portal serve`, `portal sandbox-gateway` and database."""

import http.cookiejar
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pyotp
import pytest

from conftest import PORTAL, REPO, _free_port, _healthy

pyotp.TOTP.min_secret_length_bits = 80  # the demo's well-known secret is 80 bits
SECRET = "JBSWY3DPEHPK3PXP"
PASSWORD = "portal-demo-pass"
SANDBOX_SECRET = "sk_sandbox_e2e"
SANDBOX_PUBLIC = "pk_sandbox_e2e"
CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Client:
    """Just enough of a browser: cookies, CSRF tokens, no automatic redirects."""

    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)
        self.csrf = ""

    def request(self, method, path, fields=None, timeout=30):
        data = None
        if fields is not None:
            pairs = list(fields.items()) if isinstance(fields, dict) else list(fields)
            pairs.append(("_csrf", self.csrf))
            data = urllib.parse.urlencode(pairs).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        try:
            with self.opener.open(request, timeout=timeout) as response:
                status, body, location = response.status, response.read().decode(), response.headers.get("Location")
        except urllib.error.HTTPError as error:
            status, body, location = error.code, error.read().decode(), error.headers.get("Location")
        match = CSRF.search(body)
        if match:
            self.csrf = match.group(1)
        return status, body, location

    def sign_in(self, email):
        self.request("GET", "/login")
        status, _, location = self.request("POST", "/login", {"email": email, "password": PASSWORD})
        assert location == "/login/mfa", (status, location)
        self.request("GET", "/login/mfa")
        totp = pyotp.TOTP(SECRET)
        for code in (totp.now(), totp.at(time.time() + 30)):
            status, _, location = self.request("POST", "/login/mfa", {"code": code})
            if location == "/":
                return
            time.sleep(1)
        raise AssertionError(f"sign-in did not finish: {status} {location}")


class Stack:
    """A seeded demo database served by `portal serve`, with the sandbox gateway as its own process."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = _free_port()
        self.sandbox_port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.sandbox = f"http://127.0.0.1:{self.sandbox_port}"
        self.database = workdir / "var" / "demo" / "portal.sqlite"
        self.sandbox_database = workdir / "sandbox.sqlite"
        self.processes = []
        self.env = dict(os.environ)
        self.env.update({
            "PORTAL_RESOURCES": str(REPO), "PORTAL_DATABASE": str(self.database),
            "PORTAL_KEY_FILE": str(workdir / "var" / "demo" / "portal.key"),
            "PORTAL_PUBLIC_URL": self.base, "PORTAL_BIND": f"127.0.0.1:{self.port}",
            "PORTAL_SMTP_URL": f"file://{workdir}/mail", "PORTAL_MAIL_FROM": "Billing <billing@example.com>",
            "PORTAL_GATEWAY": "sandbox", "PORTAL_SANDBOX_URL": self.sandbox, "PORTAL_SANDBOX_SECRET_KEY": SANDBOX_SECRET,
            "PORTAL_SANDBOX_PUBLIC_KEY": SANDBOX_PUBLIC, "PORTAL_SANDBOX_WEBHOOK_SECRET": "whsec_e2e",
        })
        subprocess.run([str(PORTAL), "demo", "--seed-only"], cwd=workdir, env=self.env, check=True, capture_output=True, timeout=120)

    def start(self, args, name, url):
        out = open(self.workdir / f"{name}.log", "ab")
        process = subprocess.Popen([str(PORTAL), *args], cwd=self.workdir, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.processes.append(process)
        deadline = time.time() + 60
        while not _healthy(url):
            assert process.poll() is None, (self.workdir / f"{name}.log").read_text()
            assert time.time() < deadline, f"{name} did not start"
            time.sleep(0.2)
        return process

    def start_sandbox(self):
        return self.start(["sandbox-gateway", "--bind", f"127.0.0.1:{self.sandbox_port}", "--database", str(self.sandbox_database),
                           "--secret-key", SANDBOX_SECRET, "--public-key", SANDBOX_PUBLIC, "--allowed-origin", self.base],
                          "sandbox", self.sandbox + "/v1/hosted-fields.js")

    def start_portal(self):
        return self.start(["serve"], "portal", self.base + "/healthz")

    def worker_once(self, *extra, env=None):
        result = subprocess.run([str(PORTAL), "worker", "--once", *extra], cwd=self.workdir, env={**self.env, **(env or {})},
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def query(self, sql, *args, database=None):
        with sqlite3.connect(f"file:{database or self.database}?mode=ro", uri=True, timeout=10) as db:
            return db.execute(sql, args).fetchall()

    def save_card(self, client, number):
        token_request = urllib.request.Request(self.sandbox + "/v1/tokens", method="POST", headers={"Content-Type": "application/json"},
                                               data=json.dumps({"key": SANDBOX_PUBLIC, "number": number, "exp_month": 12,
                                                                "exp_year": 2034, "cvc": "123"}).encode())
        with urllib.request.urlopen(token_request, timeout=10) as response:
            token = json.loads(response.read())["id"]
        client.request("GET", "/payment-methods")
        status, _, _ = client.request("POST", "/payment-methods", {"token": token, "billing_name": "Alice", "billing_postcode": "80331"})
        assert status == 303
        return self.query("SELECT id FROM payment_methods WHERE removed_at IS NULL ORDER BY created_at DESC LIMIT 1")[0][0]

    def stop(self):
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture
def stack(tmp_path):
    stack = Stack(tmp_path)
    yield stack
    stack.stop()


def open_invoice(client):
    """The first invoice the list offers to pay, in the signed-in customer's current account."""
    _, page, _ = client.request("GET", "/invoices?status=open&sort=due&dir=asc")
    return re.search(r'name="invoice" value="([^"]+)"', page).group(1)


def test_a_charge_interrupted_by_sigkill_is_settled_once_by_the_reconciler(stack):
    stack.start_sandbox()
    portal = stack.start_portal()
    client = Client(stack.base)
    client.sign_in("alice@example.com")
    # The sandbox charges this card but answers only after 20 s: the portal is killed while it waits.
    method = stack.save_card(client, "4000000000000259")
    invoice = open_invoice(client)
    before = stack.query("SELECT status, balance FROM invoices WHERE id = ?", invoice)
    _, form, _ = client.request("GET", f"/pay?invoice={invoice}")
    key = re.search(r'name="request_key" value="([^"]+)"', form).group(1)

    posting = threading.Thread(target=lambda: _ignore_errors(
        lambda: client.request("POST", "/pay", [("request_key", key), ("invoice", invoice), ("method", method)], timeout=60)))
    posting.start()
    deadline = time.time() + 20
    while not stack.query("SELECT 1 FROM charges", database=stack.sandbox_database):
        assert time.time() < deadline, "the sandbox never received the charge"
        time.sleep(0.05)
    portal.send_signal(signal.SIGKILL)
    portal.wait(timeout=10)
    posting.join(timeout=60)

    # The gateway charged; the portal had recorded the attempt but not its result.
    assert stack.query("SELECT status, gateway_phase FROM payments WHERE request_key = ?", key) == [("pending", "created")]
    assert stack.query("SELECT status, balance FROM invoices WHERE id = ?", invoice) == before

    stack.start_portal()
    report = stack.worker_once("--reconcile-after", "0")
    assert "payments reconciled: 1" in report, report
    assert stack.query("SELECT status FROM payments WHERE request_key = ?", key) == [("succeeded",)]
    assert stack.query("SELECT status, balance FROM invoices WHERE id = ?", invoice) == [("paid", 0)]
    assert stack.query("SELECT count(*) FROM charges", database=stack.sandbox_database) == [(1,)]
    assert stack.query("SELECT count(*) FROM payments") == stack.query("SELECT count(*) FROM payments WHERE request_key IS NULL OR request_key = ?", key)
    # A second pass finds nothing left to settle and charges nothing.
    stack.worker_once("--reconcile-after", "0")
    assert stack.query("SELECT count(*) FROM charges", database=stack.sandbox_database) == [(1,)]


def test_dunning_and_reminders_reach_a_real_smtp_server(stack, tmp_path):
    mail_dir = tmp_path / "smtp"
    mail_dir.mkdir()
    sink = subprocess.Popen([sys.executable, str(REPO / "Tests" / "support" / "smtp_sink.py"), "0", str(mail_dir)],
                            stdout=subprocess.PIPE, text=True)
    try:
        smtp_port = int(sink.stdout.readline().strip())
        stack.start_sandbox()
        stack.start_portal()
        client = Client(stack.base)
        client.sign_in("alice@example.com")
        method = stack.save_card(client, "4000000000000002")  # declined, may succeed later: retried
        client.request("GET", "/autopay")
        status, _, _ = client.request("POST", "/autopay", {"method": method, "timing": "days_before", "days_before": "30", "consent": "yes"})
        assert status == 303
        report = stack.worker_once(env={"PORTAL_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}"})
        assert re.search(r"failed: [1-9]", report), report
        deadline = time.time() + 20
        subjects = []
        while time.time() < deadline:
            messages = [json.loads(path.read_text()) for path in sorted(mail_dir.glob("msg-*.json"))]
            subjects = [message["parsed"]["subject"] for message in messages]
            if any("did not go through" in s for s in subjects) and any(s.startswith("Overdue: invoice") for s in subjects):
                break
            time.sleep(0.2)
        dunning = [m for m in messages if "did not go through" in m["parsed"]["subject"]]
        assert dunning, subjects
        assert "alice@example.com" in dunning[0]["rcpt_tos"]
        body = dunning[0]["parsed"]["text"]
        assert "We will try again on" in body and f"{stack.base}/payment-methods" in body
        assert any(s.startswith("Overdue: invoice") for s in subjects), subjects
        retries = stack.query("SELECT count(*) FROM scheduled_charges WHERE state = 'scheduled' AND attempt = 2")
        assert retries[0][0] >= 1
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=10)


def _ignore_errors(call):
    try:
        call()
    except Exception:  # the server is killed under this request: its connection drops by design
        pass
