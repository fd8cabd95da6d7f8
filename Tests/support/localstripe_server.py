"""Runs localstripe (a Stripe API fake, run as a separate process, never linked) on 127.0.0.1 only,
without its on-disk store, on the port given (0 picks one). Prints the port once listening."""
import socket, sys, signal, os
import localstripe.resources as resources
resources.Store.dump_to_disk = lambda self: None
from localstripe.server import app
from aiohttp import web
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0))
sock.listen(128)
print(sock.getsockname()[1], flush=True)
web.run_app(app, sock=sock, print=None, access_log=None)
