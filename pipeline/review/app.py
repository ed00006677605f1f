"""The review page: a small local web app where a person settles what the scanner was unsure of.

Server-rendered HTML (Flask + Jinja, autoescaped) with a little JavaScript for
keyboard shortcuts only; every action also works as a plain form post, so the
page stays usable without scripts and with any assistive technology.

Safety, because the page shows text read from strangers' handwriting and can
change the ledger:

* it listens on 127.0.0.1 unless told otherwise, and then only with an access
  token that the page asks for (`ReviewOptions` refuses anything else);
* on a local bind the Host header must name the loopback address, so a web
  page elsewhere cannot reach it through DNS rebinding;
* every state-changing request carries a per-session CSRF token and, when the
  browser sends one, a same-origin `Origin` header; the session cookie is
  SameSite=Strict and HttpOnly;
* all text goes through Jinja's autoescaping and a strict Content-Security-Policy
  (no inline script, no third-party anything) backs that up;
* images are looked up in the ledger by numeric id; no file path ever reaches
  the server from the browser.

Each request opens its own ledger connection (SQLite connections must not be
shared between threads): read-only for GET so a running scan is never blocked,
read-write only to record or undo a decision.  The pages themselves are the
Blueprint in `views`; this module builds the app around them and serves it.
"""

from __future__ import annotations

import contextlib
import errno
import hmac
import logging
import secrets
import socket
import sys
import threading
import webbrowser
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, abort, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

from pipeline import constants as C
from pipeline.errors import LedgerError, PaperVoiceError, UsageError
from pipeline.form.definition import FormRegistry
from pipeline.ledger import open_ledger
from pipeline.ledger import queries as Q
from pipeline.ledger.store import Ledger
from pipeline.ledger.url import parse_url
from pipeline.options import ReviewOptions
from pipeline.review import views, whole_page
from pipeline.review.safety import LOCAL_HOST_NAMES, host_name, local_path
from pipeline.text import plural

HERE = Path(__file__).resolve().parent

CSP = ("default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; "
       "form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


def create_app(options: ReviewOptions, registry: FormRegistry | None = None, review_prefix: str = "") -> Flask:
    """Build the review app for one ledger; `serve` runs it, tests run it in a thread.

    The office app (`pipeline.app`) builds on this one, with review's pages under `review_prefix`.
    """
    if not options.is_local and not options.token:  # ReviewOptions checks too; never rely on one guard
        raise UsageError(f"refusing to serve the review page on {options.host} without an access token",
                         "add --token SOME-LONG-SECRET, or leave --host at 127.0.0.1")
    db = options.db
    address = parse_url(db)
    if address.path is not None and not address.path.exists():
        raise LedgerError(f"no ledger at {address.shown}", "scan some returns first, or pass the right --db")
    open_ledger(db).close()  # create/upgrade the schema once, so every later read-only open finds it in place
    forms = registry or FormRegistry.from_dirs(list(options.forms_dirs))

    app = Flask(__name__, template_folder=str(HERE / "templates"), static_folder=str(HERE / "static"))
    app.config.update(
        SECRET_KEY=secrets.token_bytes(32),  # fresh per run: a restart signs everyone out
        SESSION_COOKIE_NAME="papervoice_review",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        MAX_CONTENT_LENGTH=C.REVIEW_MAX_POST_BYTES,
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.jinja_env.autoescape = True  # also for any template whose name does not end in .html
    app.jinja_env.filters["plural"] = plural  # "1 page", "2 pages": counts as a person writes them
    app.extensions[views.EXTENSION] = views.ReviewState(options, db, forms)
    app.before_request(_guard)
    app.after_request(_headers)
    app.context_processor(_context)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(PaperVoiceError, _pv_error)
    app.register_blueprint(views.bp, url_prefix=review_prefix or None)
    app.register_blueprint(whole_page.bp, url_prefix=review_prefix or None)
    return app


# --- guards, headers and what every page is rendered with ------------------------------------


def _guard() -> Any:
    options = views.state().options
    if options.is_local and host_name(request.host) not in LOCAL_HOST_NAMES:
        abort(400, "This page only answers on its local address.")
    if request.endpoint == "static":
        return None
    if options.token and not session.get("authed") and request.endpoint != "review.login":
        if request.method != "GET":
            abort(403, "Sign in with the access token first.")
        return redirect(url_for("review.login", next=local_path(request.full_path)))
    if request.method not in ("GET", "HEAD"):
        _check_csrf()
    return None


def _check_csrf() -> None:
    expected = session.get("csrf", "")
    sent = request.form.get("csrf_token", "")
    if not expected or not sent or not hmac.compare_digest(str(sent), str(expected)):
        abort(403, "This form has expired or did not come from the review page. Reload the page and try again.")
    origin = request.headers.get("Origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.host:
        abort(403, "This request came from another web site and was refused.")


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


def _headers(resp: Response) -> Response:
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    if request.endpoint not in ("review.image", "static"):
        resp.headers["Cache-Control"] = "no-store"  # reload and Back always show the ledger as it is now
    return resp


def _context() -> dict[str, Any]:
    token = views.state().options.token
    counts = {"answers": 0, "comments": 0, "pages": 0, "incomplete": 0}
    if request.endpoint != "review.login" and (session.get("authed") or not token):
        with contextlib.suppress(PaperVoiceError):  # the error page must render even if the ledger cannot
            counts = open_counts(views.ledger())
    return {"csrf_token": _csrf_token, "counts": counts, "describe": Q.describe_value, "when": _when,
            "authed": bool(session.get("authed")), "needs_token": bool(token),
            "last_decision": session.pop("last_decision", None)}


def _http_error(exc: HTTPException) -> tuple[str, int]:
    return render_template("error.html", code=exc.code, message=exc.description), exc.code or 500


def _pv_error(exc: PaperVoiceError) -> tuple[str, int]:
    return render_template("error.html", code=500, message=exc.message, advice=exc.advice), 500


def open_counts(led: Ledger) -> dict[str, int]:
    """How many questions of each kind are still open: the numbers in the navigation bar."""
    return {
        "answers": sum(1 for q in Q.answer_questions(led) if not q.settled),
        "comments": sum(1 for q in Q.comment_questions(led) if not q.settled),
        "pages": sum(1 for q in Q.page_questions(led) if not q.settled),
        "incomplete": sum(1 for c in Q.incomplete_copies(led) if not c.settled),
    }


def _when(stamp: str | None) -> str:
    """An ISO time stamp as the person's local time, in words."""
    if not stamp:
        return ""
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%d %b %Y, %H:%M:%S")
    except ValueError:
        return stamp


# --- serving ------------------------------------------------------------------------------


#: Bind addresses that mean "every address of this computer": no one can browse to them.
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
#: An address from the documentation range: connecting a UDP socket to it sends nothing but picks the outgoing
#: interface, whose address is the one other computers can reach this one on.
_ROUTE_PROBE = ("192.0.2.1", 9)


def _probe(host: str, port: int) -> None:
    """Resolve the host and bind the address once, so each failure gets our message, not werkzeug's exit.

    Werkzeug exits with 'address already in use' for any failure to bind, an unknown host name included.
    """
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as exc:
        raise UsageError(f"cannot open the review page on {host}: no such host name or address ({exc.strerror})",
                         "check --host: give a name or address of this computer (0.0.0.0 for all of them), "
                         "or leave it at 127.0.0.1") from exc
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def _address_for_others(host: str) -> str:
    """The address other computers can use: the bind address, or for 0.0.0.0 / :: this computer's own."""
    if host not in WILDCARD_HOSTS:
        return host
    family = socket.AF_INET6 if host == "::" else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as route:
            route.connect(_ROUTE_PROBE if family == socket.AF_INET else ("2001:db8::1", 9))
            return str(route.getsockname()[0])
    except OSError:  # no network route: the computer's name is the best guess
        return socket.gethostname()


def _url(host: str, port: int) -> str:
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


def serve(options: ReviewOptions, *, ready: Callable[[str], None] | None = None,
          factory: Callable[[Any], Flask] = create_app, what: str = "Review page") -> None:
    """Run the review page (or, given its `factory`, the office app) until Ctrl-C; prints the address on stderr
    and opens the browser."""
    app = factory(options)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request on the terminal
    busy = UsageError(f"cannot open the review page on {options.host}:{options.port}: the port is in use",
                      "another program (perhaps another review page) is using it: try --port 8001")
    try:
        _probe(options.host, options.port)
        server = make_server(options.host, options.port, app, threaded=True)
    except SystemExit as exc:  # werkzeug exits on any bind failure; the probe above makes that rare
        raise busy from exc
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise busy from exc
        raise UsageError(f"cannot open the review page on {options.host}:{options.port}: {exc.strerror or exc}",
                         "check --host names an address of this computer, or leave it at 127.0.0.1") from exc
    url = _url(_address_for_others(options.host), server.server_port)
    print(f"{what}: {url}", file=sys.stderr)
    local_url = url
    if options.host in WILDCARD_HOSTS:
        local_url = _url("127.0.0.1" if options.host != "::" else "::1", server.server_port)
        print(f"  (on this computer also {local_url})", file=sys.stderr)
    if options.token:
        print("People will be asked for the access token you gave with --token.", file=sys.stderr)
    print("Every decision is saved as you make it. Press Ctrl-C here to stop.", file=sys.stderr)
    try:
        if ready is not None:
            ready(url)
        if options.open_browser:
            threading.Timer(0.3, webbrowser.open, args=(local_url,)).start()
        server.serve_forever()
    except KeyboardInterrupt:
        print("Review page closed; every decision is in the ledger.", file=sys.stderr)
    finally:
        server.server_close()
