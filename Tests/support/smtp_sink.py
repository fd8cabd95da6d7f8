#!/usr/bin/env python3
"""A tiny SMTP server for tests: accepts every message and saves it as a JSON file.

    python3 smtp_sink.py PORT DIRECTORY

Listens on 127.0.0.1:PORT (PORT 0 picks a free port). The first line on standard output is the
port actually listening, printed once the server answers connections. Runs until killed.

Each message becomes DIRECTORY/msg-NNNN.json (written to a temporary name, then renamed, so a
reader never sees half a file) holding:

    mail_from   envelope sender (MAIL FROM)
    rcpt_tos    envelope recipients (RCPT TO)
    raw_base64  the message exactly as received after the DATA command, base64-encoded
    raw         the same, decoded as UTF-8 (invalid bytes replaced) for easy reading
    parsed      what Python's email package (a real MIME parser) makes of it: decoded headers,
                the text/plain and text/html bodies as text, content types and parser defects
"""

import base64
import email
import email.policy
import itertools
import json
import os
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class SavingHandler:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content if envelope.original_content is not None else envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "raw_base64": base64.b64encode(raw).decode("ascii"),
            "raw": raw.decode("utf-8", "replace"),
            "parsed": parse(raw),
        }
        with self.lock:
            number = next(self.counter)
        final = os.path.join(self.directory, "msg-%04d.json" % number)
        temporary = final + ".tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(record, handle, ensure_ascii=False, indent=2)
        os.replace(temporary, final)
        return "250 OK saved as %s" % os.path.basename(final)


def parse(raw):
    result = {"error": None}
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        result["subject"] = str(message.get("Subject", ""))
        result["from"] = str(message.get("From", ""))
        result["to"] = str(message.get("To", ""))
        result["message_id"] = str(message.get("Message-ID", ""))
        result["date"] = str(message.get("Date", ""))
        result["content_type"] = message.get_content_type()
        result["parts"] = [part.get_content_type() for part in message.walk()]
        plain = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        result["text"] = plain.get_content() if plain is not None else None
        result["html"] = html.get_content() if html is not None else None
        defects = [repr(d) for d in message.defects]
        for part in message.walk():
            defects.extend(repr(d) for d in part.defects)
        result["defects"] = defects
    except Exception as error:  # recorded, not raised: the test reports it
        result["error"] = "%s: %s" % (type(error).__name__, error)
    return result


class SinkController(Controller):
    """aiosmtpd's Controller checks the server by connecting to self.port, which is 0 when the
    OS picks the port; read the real one from the listening socket first."""

    def _trigger_server(self):
        if self.port == 0 and self.server is not None:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def main():
    if len(sys.argv) != 3:
        print("usage: smtp_sink.py PORT DIRECTORY", file=sys.stderr)
        return 2
    # A parent may start us with signals blocked (Foundation's Process on Linux passes on the
    # mask of the thread that spawns, and Dispatch threads block SIGTERM): unblock them, or
    # "terminate" would never stop us.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    port = int(sys.argv[1])
    directory = sys.argv[2]
    os.makedirs(directory, exist_ok=True)

    # SMTP_SINK_AUTH=user:password makes the sink require AUTH (PLAIN or LOGIN) before mail.
    options = {}
    credentials = os.environ.get("SMTP_SINK_AUTH")
    if credentials:
        from aiosmtpd.smtp import AuthResult, LoginPassword
        want_user, want_password = credentials.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == want_user
                  and auth_data.password.decode() == want_password)
            return AuthResult(success=ok, handled=False)

        options = {"authenticator": authenticator, "auth_required": True, "auth_require_tls": False}
    controller = SinkController(SavingHandler(directory), hostname="127.0.0.1", port=port, **options)
    controller.start()
    sys.stdout.write("%d\n" % controller.port)
    sys.stdout.flush()

    # Killed is the normal way to stop. Files are complete once renamed, so there is nothing to
    # tidy: exit at once rather than wait for aiosmtpd's orderly shutdown (over a second).
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: os._exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())
