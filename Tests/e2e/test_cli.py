"""The `portal` command line: configuration errors, migrations, invitations and staff accounts,
run as an operator would, against real SQLite files in a temporary directory."""

import os
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import PORTAL, REPO


@pytest.fixture
def workdir(tmp_path):
    if not os.access(PORTAL, os.X_OK):
        pytest.fail(f"{PORTAL} not found: build it first")
    return tmp_path


def portal(args, workdir, env=None, stdin=""):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    clean.update(env or {})
    return subprocess.run([str(PORTAL), *args], cwd=workdir, env=clean, input=stdin, capture_output=True, text=True, timeout=120)


def settings(workdir, **extra):
    values = {
        "PORTAL_DATABASE": str(workdir / "portal.sqlite"),
        "PORTAL_KEY_FILE": str(workdir / "data.key"),
        "PORTAL_PUBLIC_URL": "https://pay.example.com",
        "PORTAL_SMTP_URL": f"file://{workdir}/mail",
        "PORTAL_MAIL_FROM": "Billing <billing@example.com>",
        "PORTAL_RESOURCES": str(REPO),
    }
    values.update(extra)
    return values


@pytest.mark.parametrize("missing", ["PORTAL_PUBLIC_URL", "PORTAL_KEY_FILE", "PORTAL_SMTP_URL", "PORTAL_MAIL_FROM"])
def test_serve_stops_with_one_line_naming_a_missing_setting(workdir, missing):
    assert portal(["key", "generate", "--out", str(workdir / "data.key")], workdir).returncode == 0
    env = settings(workdir)
    del env[missing]
    result = portal(["serve"], workdir, env)
    assert result.returncode == 78, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and missing in lines[0], result.stderr


@pytest.mark.parametrize("setting,value", [
    ("PORTAL_BIND", "localhost"), ("PORTAL_BIND", "127.0.0.1:99999"), ("PORTAL_PUBLIC_URL", "pay.example.com"),
    ("PORTAL_SMTP_URL", "mailto:x"), ("PORTAL_MAIL_FROM", "not-an-address"), ("PORTAL_KEY_FILE", "/nonexistent/key"),
    ("PORTAL_LOG_LEVEL", "loud"), ("PORTAL_PDF_FONT", "/nonexistent.ttf"), ("PORTAL_GATEWAY", "paypal"),
    ("PORTAL_BILLING_EMAIL", "nobody"), ("PORTAL_IMPERSONATION_MINUTES", "0"), ("PORTAL_MIN_PARTIAL_PAYMENT", "-5"),
    ("PORTAL_ALLOW_OVERPAYMENT", "maybe"), ("PORTAL_RECONCILE_AFTER", "soon"), ("PORTAL_RETRY_DAYS", "1,x"),
    ("PORTAL_REMINDER_DAYS_BEFORE", "400"), ("PORTAL_REMINDER_DAYS_AFTER", "-1"),
])
def test_serve_stops_with_one_line_naming_an_invalid_setting(workdir, setting, value):
    assert portal(["key", "generate", "--out", str(workdir / "data.key")], workdir).returncode == 0
    result = portal(["serve"], workdir, settings(workdir, **{setting: value}))
    assert result.returncode == 78, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and setting in lines[0], result.stderr


def test_options_override_the_environment(workdir):
    assert portal(["key", "generate", "--out", str(workdir / "data.key")], workdir).returncode == 0
    result = portal(["serve", "--bind", "nonsense"], workdir, settings(workdir, PORTAL_BIND="127.0.0.1:0"))
    assert result.returncode == 78 and "PORTAL_BIND" in result.stderr


def test_payment_options_override_the_environment(workdir):
    assert portal(["key", "generate", "--out", str(workdir / "data.key")], workdir).returncode == 0
    result = portal(["serve", "--retry-days", "two"], workdir, settings(workdir, PORTAL_RETRY_DAYS="1,2"))
    assert result.returncode == 78 and "PORTAL_RETRY_DAYS" in result.stderr


def test_every_subcommand_has_help(workdir):
    for command in [[], ["serve"], ["worker"], ["migrate"], ["demo"], ["user", "invite"], ["staff", "create"], ["key", "generate"]]:
        result = portal([*command, "--help"], workdir)
        assert result.returncode == 0, (command, result.stderr)
        assert "USAGE" in result.stdout.upper(), command


def test_migrate_status_invite_and_staff_create(workdir):
    env = settings(workdir)
    assert portal(["key", "generate", "--out", env["PORTAL_KEY_FILE"]], workdir).returncode == 0
    refused = portal(["key", "generate", "--out", env["PORTAL_KEY_FILE"]], workdir)
    assert refused.returncode != 0 and "refusing to overwrite" in refused.stderr

    status = portal(["migrate", "--status"], workdir, env)
    assert status.returncode == 0, status.stderr
    assert "pending  0001_foundation.sql" in status.stdout
    applied = portal(["migrate"], workdir, env)
    assert "applied  0001_foundation.sql" in applied.stdout, applied
    status = portal(["migrate", "--status"], workdir, env)
    assert "applied  0001_foundation.sql" in status.stdout and "pending" not in status.stdout
    assert "up to date" in portal(["migrate"], workdir, env).stdout

    db = sqlite3.connect(env["PORTAL_DATABASE"])
    db.execute("INSERT INTO accounts (id, external_id, name, status, created_at, updated_at) "
               "VALUES ('acc_cli', 'crm-42', 'Müller AG', 'active', 0, 0)")
    db.commit()

    invite = portal(["user", "invite", "--email", "Dana@Example.com", "--account", "crm-42", "--name", "Dana"], workdir, env)
    assert invite.returncode == 0, invite.stderr
    link = invite.stdout.strip()
    assert link.startswith("https://pay.example.com/invite/") and len(link.rsplit("/", 1)[1]) == 43
    row = db.execute("SELECT u.email, u.status, m.account_id FROM customer_users u "
                     "JOIN account_memberships m ON m.user_id = u.id").fetchone()
    assert row == ("dana@example.com", "invited", "acc_cli")
    # Only the token's hash is stored.
    token = link.rsplit("/", 1)[1]
    assert not db.execute("SELECT 1 FROM email_tokens WHERE token_hash = ?", (token,)).fetchone()
    assert db.execute("SELECT count(*) FROM outgoing_mail WHERE to_address = 'dana@example.com'").fetchone()[0] == 1

    unknown = portal(["user", "invite", "--email", "x@example.com", "--account", "nope"], workdir, env)
    assert unknown.returncode != 0 and "no account" in unknown.stderr

    weak = portal(["staff", "create", "--email", "ops@example.com", "--role", "admin"], workdir, env, stdin="short\n")
    assert weak.returncode != 0 and "password refused" in weak.stderr
    created = portal(["staff", "create", "--email", "ops@example.com", "--role", "admin", "--name", "Ops"], workdir, env,
                     stdin="a long staff passphrase\n")
    assert created.returncode == 0, created.stderr
    assert "created admin ops@example.com" in created.stdout
    staff = db.execute("SELECT role, status, password_hash FROM staff_users WHERE email = 'ops@example.com'").fetchone()
    assert staff[0] == "admin" and staff[1] == "active" and staff[2].startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    again = portal(["staff", "create", "--email", "ops@example.com", "--role", "admin"], workdir, env, stdin="a long staff passphrase\n")
    assert again.returncode != 0 and "already exists" in again.stderr
    bad_role = portal(["staff", "create", "--email", "x@example.com", "--role", "owner"], workdir, env)
    assert bad_role.returncode != 0 and "--role" in bad_role.stderr

    # An edited, already-applied migration stops startup, naming the file.
    migrations = workdir / "resources"
    for folder in ["Templates", "Public"]:
        (migrations / folder).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(REPO / folder, migrations / folder)
    (migrations / "Migrations").mkdir()
    for sql in sorted((REPO / "Migrations").glob("*.sql")):
        (migrations / "Migrations" / sql.name).write_text(sql.read_text())
    first = sorted((migrations / "Migrations").glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited\n")
    broken = portal(["serve"], workdir, settings(workdir, PORTAL_RESOURCES=str(migrations)))
    assert broken.returncode == 78 and first.name in broken.stderr, broken.stderr


def test_a_broken_template_stops_serve_with_one_line(workdir):
    env = settings(workdir)
    assert portal(["key", "generate", "--out", env["PORTAL_KEY_FILE"]], workdir).returncode == 0
    resources = workdir / "resources"
    resources.mkdir()
    for folder in ["Public", "Migrations"]:
        os.symlink(REPO / folder, resources / folder)
    import shutil
    shutil.copytree(REPO / "Templates", resources / "Templates")
    (resources / "Templates" / "login.mustache").write_text("{{#never}} closed")
    result = portal(["serve"], workdir, settings(workdir, PORTAL_RESOURCES=str(resources)))
    assert result.returncode == 78, result
    # Log lines (migrations applied) may come first; the error is one line, and the last.
    last = result.stderr.strip().splitlines()[-1]
    assert "login.mustache" in last and "does not parse" in last, result.stderr


def test_gateway_credentials_are_stored_encrypted_and_shown_masked(workdir):
    env = settings(workdir)
    assert portal(["key", "generate", "--out", env["PORTAL_KEY_FILE"]], workdir).returncode == 0
    assert portal(["gateway", "show"], workdir, env).stdout.strip() == "no gateway configured"
    configured = portal(["gateway", "configure", "sandbox", "--url", "http://127.0.0.1:8081", "--public-key", "pk_sandbox_cli"],
                        workdir, env, stdin="sk_sandbox_cli_secret_value\nwhsec_cli_secret_value\n")
    assert configured.returncode == 0, configured.stderr
    assert "sk_sandbox_cli_secret_value" not in configured.stdout
    shown = portal(["gateway", "show"], workdir, env)
    assert "gateway: sandbox" in shown.stdout and "public_key: pk_sandbox_cli" in shown.stdout
    assert "secret_key: sk_s…alue" in shown.stdout and "sk_sandbox_cli_secret_value" not in shown.stdout
    for path in workdir.glob("portal.sqlite*"):
        data = path.read_bytes()
        assert b"sk_sandbox_cli_secret_value" not in data and b"whsec_cli_secret_value" not in data, path
    missing = portal(["gateway", "configure", "sandbox", "--url", "http://127.0.0.1:8081", "--public-key", "pk"], workdir, env, stdin="")
    assert missing.returncode != 0 and "standard input" in missing.stderr


@pytest.mark.parametrize("missing", ["PORTAL_STRIPE_SECRET_KEY", "PORTAL_STRIPE_PUBLISHABLE_KEY", "PORTAL_STRIPE_WEBHOOK_SECRET"])
def test_a_stripe_gateway_needs_its_keys(workdir, missing):
    assert portal(["key", "generate", "--out", str(workdir / "data.key")], workdir).returncode == 0
    env = settings(workdir, PORTAL_GATEWAY="stripe", PORTAL_STRIPE_SECRET_KEY="sk_test_x", PORTAL_STRIPE_PUBLISHABLE_KEY="pk_test_x",
                   PORTAL_STRIPE_WEBHOOK_SECRET="whsec_x")
    del env[missing]
    result = portal(["serve"], workdir, env)
    assert result.returncode == 78 and missing in result.stderr.strip().splitlines()[-1], result.stderr


AUTHORIZENET = {
    "PORTAL_GATEWAY": "authorizenet", "PORTAL_AUTHORIZENET_API_LOGIN_ID": "5KP3u95bQpv",
    "PORTAL_AUTHORIZENET_TRANSACTION_KEY": "346HZ32z3fP4hTG2", "PORTAL_AUTHORIZENET_CLIENT_KEY": "7JmS3MNZz7Thr8Xz",
    "PORTAL_AUTHORIZENET_SIGNATURE_KEY": "2679A5D5785C9B26",
}


@pytest.mark.parametrize("missing", ["PORTAL_AUTHORIZENET_API_LOGIN_ID", "PORTAL_AUTHORIZENET_TRANSACTION_KEY",
                                     "PORTAL_AUTHORIZENET_CLIENT_KEY", "PORTAL_AUTHORIZENET_SIGNATURE_KEY"])
def test_an_authorizenet_gateway_needs_its_keys(workdir, missing):
    assert portal(["key", "generate", "--out", str(workdir / "data.key")], workdir).returncode == 0
    env = settings(workdir, **AUTHORIZENET)
    del env[missing]
    result = portal(["serve"], workdir, env)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 78 and len(lines) == 1 and missing in lines[0], result.stderr


@pytest.mark.parametrize("setting,value", [
    ("PORTAL_AUTHORIZENET_ENVIRONMENT", "staging"), ("PORTAL_AUTHORIZENET_ENDPOINT", "apitest.authorize.net"),
    ("PORTAL_AUTHORIZENET_ACCEPTUI_URL", "ftp://jstest.authorize.net/v3/AcceptUI.js"), ("PORTAL_AUTHORIZENET_CURRENCY", "dollars"),
])
def test_authorizenet_settings_are_checked(workdir, setting, value):
    assert portal(["key", "generate", "--out", str(workdir / "data.key")], workdir).returncode == 0
    result = portal(["serve"], workdir, settings(workdir, **AUTHORIZENET, **{setting: value}))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 78 and len(lines) == 1 and setting in lines[0], result.stderr


def serve_until_listening(workdir, env):
    """Starts `portal serve`, returns its log line saying it listens, and stops it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    clean.update(env, PORTAL_BIND=f"127.0.0.1:{port}")
    process = subprocess.Popen([str(PORTAL), "serve"], cwd=workdir, env=clean, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stderr:
            if "portal listening" in line:
                return line
        pytest.fail("serve stopped without listening")
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_stripe_and_authorizenet_settings_are_stored_encrypted_and_used_by_serve(workdir):
    env = settings(workdir)
    assert portal(["key", "generate", "--out", env["PORTAL_KEY_FILE"]], workdir).returncode == 0
    stripe = portal(["gateway", "configure", "stripe", "--public-key", "pk_test_cli"], workdir, env,
                    stdin="sk_test_cli_secret_value\nwhsec_cli_stripe_value\n")
    assert stripe.returncode == 0, stripe.stderr
    shown = portal(["gateway", "show"], workdir, env).stdout
    assert "gateway: stripe" in shown and "publishable_key: pk_test_cli" in shown and "api_base: https://api.stripe.com" in shown
    assert "sk_test_cli_secret_value" not in shown and "secret_key: sk_t…alue" in shown
    assert "gateway=stripe" in serve_until_listening(workdir, env)

    missing = portal(["gateway", "configure", "authorizenet", "--public-key", "client-key"], workdir, env,
                     stdin="anet_transaction_key\nanet_signature_key_value\n")
    assert missing.returncode == 78 and "--api-login-id" in missing.stderr
    anet = portal(["gateway", "configure", "authorizenet", "--api-login-id", "login-cli", "--public-key", "client-key-cli",
                   "--environment", "production"], workdir, env, stdin="anet_transaction_key\nanet_signature_key_value\n")
    assert anet.returncode == 0, anet.stderr
    assert "anet_transaction_key" not in anet.stdout
    shown = portal(["gateway", "show"], workdir, env).stdout
    assert "gateway: authorizenet" in shown and "api_login_id: login-cli" in shown and "client_key: client-key-cli" in shown
    assert "endpoint: https://api.authorize.net/xml/v1/request.api" in shown and "acceptui_url: https://js.authorize.net/v3/AcceptUI.js" in shown
    assert "currency: USD" in shown and "transaction_key: anet…_key" in shown and "anet_signature_key_value" not in shown
    for path in workdir.glob("portal.sqlite*"):
        data = path.read_bytes()
        for secret in [b"sk_test_cli_secret_value", b"whsec_cli_stripe_value", b"anet_transaction_key", b"anet_signature_key_value"]:
            assert secret not in data, (path, secret)
    assert "gateway=authorizenet" in serve_until_listening(workdir, env)


def test_api_keys_and_payment_link_signing_keys_are_managed_from_the_cli(workdir):
    env = settings(workdir)
    assert portal(["key", "generate", "--out", env["PORTAL_KEY_FILE"]], workdir).returncode == 0

    created = portal(["api-key", "create", "--name", "Creatio invoices", "--scope", "payment-links"], workdir, env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.split("store it now): ")[1].strip()
    key_id = created.stdout.split("created API key ")[1].split()[0]
    assert key.startswith("ppk_") and len(key) > 40
    with sqlite3.connect(env["PORTAL_DATABASE"]) as db:
        rows = db.execute("SELECT key_hash, name FROM api_keys").fetchall()
    assert len(rows) == 1 and rows[0][1] == "Creatio invoices" and key not in rows[0][0], "only a hash is kept"
    listed = portal(["api-key", "list"], workdir, env)
    assert key_id in listed.stdout and "active" in listed.stdout and key not in listed.stdout
    unknown_scope = portal(["api-key", "create", "--name", "x", "--scope", "everything"], workdir, env)
    assert unknown_scope.returncode != 0 and 'Unknown scope "everything"' in unknown_scope.stderr
    assert portal(["api-key", "revoke", key_id], workdir, env).returncode == 0
    assert "revoked" in portal(["api-key", "list"], workdir, env).stdout
    missing = portal(["api-key", "revoke", "key_nope"], workdir, env)
    assert missing.returncode != 0 and "no API key with that id" in missing.stderr

    first = portal(["payment-links", "rotate-key"], workdir, env)
    second = portal(["payment-links", "rotate-key"], workdir, env)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    keys = portal(["payment-links", "keys"], workdir, env).stdout.splitlines()
    assert len(keys) == 2 and "current" in keys[1] and "current" not in keys[0], keys
    current = portal(["payment-links", "retire-key", keys[1].split()[0]], workdir, env)
    assert current.returncode != 0 and "Rotate the key first" in current.stderr
    assert portal(["payment-links", "retire-key", keys[0].split()[0]], workdir, env).returncode == 0
    assert "retired" in portal(["payment-links", "keys"], workdir, env).stdout.splitlines()[0]
    with sqlite3.connect(env["PORTAL_DATABASE"]) as db:
        sealed = [row[0] for row in db.execute("SELECT sealed_key FROM payment_link_keys")]
    assert all(len(blob) > 32 for blob in sealed), "signing keys are sealed at rest"
