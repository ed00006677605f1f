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
read-write only to record or undo a decision.
"""

from __future__ import annotations

import contextlib
import errno
import hmac
import json
import logging
import secrets
import socket
import sys
import threading
import time
import webbrowser
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, abort, flash, g, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

from pipeline.errors import LedgerError, PaperVoiceError, UsageError
from pipeline.form.definition import Form, FormRegistry
from pipeline.form.identity import is_valid_serial
from pipeline.ledger.store import Ledger
from pipeline.options import ReviewOptions
from pipeline.review import queue as Q

HERE = Path(__file__).resolve().parent
LOCAL_HOST_NAMES = ("127.0.0.1", "localhost", "::1")
IMAGE_MIMES = ("image/png", "image/jpeg", "image/webp")
#: Pause after a wrong access token, so guessing it over the network is slow.
WRONG_TOKEN_DELAY_S = 1.0

CSP = ("default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")

T = TypeVar("T")


def create_app(options: ReviewOptions, registry: FormRegistry | None = None) -> Flask:
    """Build the review app for one ledger; `serve` runs it, tests run it in a thread."""
    if not options.is_local and not options.token:  # ReviewOptions checks too; never rely on one guard
        raise UsageError(f"refusing to serve the review page on {options.host} without an access token",
                         "add --token SOME-LONG-SECRET, or leave --host at 127.0.0.1")
    db = Path(options.db)
    if not db.exists():
        raise LedgerError(f"no ledger at {db}", "scan some returns first, or pass the right --db")
    Ledger(db).close()  # create/upgrade the schema once, so every later read-only open finds it in place
    # `forms_dirs` is read if ReviewOptions grows it (for --forms-dir); until then the bundled forms
    forms = registry or FormRegistry.from_dirs([Path(d) for d in getattr(options, "forms_dirs", ())] or None)

    app = Flask(__name__, template_folder=str(HERE / "templates"), static_folder=str(HERE / "static"))
    app.config.update(
        SECRET_KEY=secrets.token_bytes(32),  # fresh per run: a restart signs everyone out
        SESSION_COOKIE_NAME="papervoice_review",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        MAX_CONTENT_LENGTH=256 * 1024,
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.jinja_env.autoescape = True  # also for any template whose name does not end in .html

    def ledger() -> Ledger:
        if "ledger" not in g:
            g.ledger = Ledger(db, readonly=request.method in ("GET", "HEAD"))
        return g.ledger  # type: ignore[no-any-return]

    def writable() -> Ledger:
        if "ledger" in g and g.ledger.readonly:
            g.ledger.close()
            g.pop("ledger")
        return ledger()

    @app.teardown_request
    def _close(_exc: BaseException | None) -> None:
        led = g.pop("ledger", None)
        if led is not None:
            led.close()

    def form_for(form_id: str, version: int) -> Form | None:
        return forms.find(form_id, version)

    # --- guards -------------------------------------------------------------------------------

    @app.before_request
    def _guard() -> Any:
        if options.is_local and _host_name(request.host) not in LOCAL_HOST_NAMES:
            abort(400, "This page only answers on its local address.")
        if request.endpoint == "static":
            return None
        if options.token and not session.get("authed") and request.endpoint != "login":
            if request.method != "GET":
                abort(403, "Sign in with the access token first.")
            return redirect(url_for("login", next=_local_path(request.full_path)))
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

    def csrf_token() -> str:
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(32)
        return str(session["csrf"])

    @app.after_request
    def _headers(resp: Response) -> Response:
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        if request.endpoint not in ("image", "static"):
            resp.headers["Cache-Control"] = "no-store"  # reload and Back always show the ledger as it is now
        return resp

    @app.context_processor
    def _context() -> dict[str, Any]:
        counts = {"answers": 0, "comments": 0, "pages": 0, "incomplete": 0}
        if request.endpoint not in ("login",) and (session.get("authed") or not options.token):
            with contextlib.suppress(PaperVoiceError):  # the error page must render even if the ledger cannot
                counts = open_counts(ledger())
        return {"csrf_token": csrf_token, "counts": counts, "describe": Q.describe_value, "when": _when,
                "authed": bool(session.get("authed")), "needs_token": bool(options.token),
                "last_decision": session.pop("last_decision", None)}

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[str, int]:
        return render_template("error.html", code=exc.code, message=exc.description), exc.code or 500

    @app.errorhandler(PaperVoiceError)
    def _pv_error(exc: PaperVoiceError) -> tuple[str, int]:
        return render_template("error.html", code=500, message=exc.message, advice=exc.advice), 500

    # --- sign in (only when a token is set) -----------------------------------------------------

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        if not options.token:
            return redirect(url_for("home"))
        error = None
        if request.method == "POST":  # the CSRF check already ran in _guard
            given = request.form.get("token", "")
            if hmac.compare_digest(given.encode(), options.token.encode()):
                session.clear()
                session["authed"] = True
                return redirect(_local_path(request.args.get("next")) or url_for("home"))
            time.sleep(WRONG_TOKEN_DELAY_S)
            error = "That access token is not right. Ask the person who started the review page for it."
        return render_template("login.html", error=error), (403 if error else 200)

    # --- overview -----------------------------------------------------------------------------

    @app.get("/")
    def home() -> str:
        led = ledger()
        by_statement: dict[tuple[str, int, str], list[int]] = {}
        for q in Q.answer_questions(led):
            entry = by_statement.setdefault((q.form_id, q.form_version, q.item), [0, 0])
            entry[0 if not q.settled else 1] += 1
        statements = []
        for (form_id, version, item), (open_, settled) in sorted(by_statement.items()):
            form = form_for(form_id, version)
            statements.append({"form_id": form_id, "version": version, "item": item, "open": open_,
                               "settled": settled, "text": _statement_text(form, item)})
        return render_template("home.html", statements=statements)

    # --- flagged answers ----------------------------------------------------------------------

    def scoped_answers(led: Ledger) -> list[Q.AnswerQuestion]:
        return Q.answer_questions(led, request.args.get("form") or None, request.args.get("statement") or None)

    def scope_args() -> dict[str, Any]:
        return {k: v for k in ("form", "statement") if (v := request.args.get(k, ""))}

    @app.get("/answers")
    def answers() -> Any:
        items = scoped_answers(ledger())
        first = next((q for q in items if not q.settled), None)
        if first is None:
            return render_template("done.html", what="flagged answers", scope=scope_args(), total=len(items))
        return redirect(url_for("answer", page_id=first.page_id, item=first.item, **scope_args()))

    @app.route("/answer/<int:page_id>/<item>", methods=["GET", "POST"])
    def answer(page_id: int, item: str) -> Any:
        if request.method == "POST":
            led = writable()
            q = Q.answer_question(led, page_id, item) or abort(404, "There is no such question.")
            form = form_for(q.form_id, q.form_version)
            raw = request.form.get("value", "")
            allowed = {str(v) for v in (form.scale_values if form else range(1, 6))}
            if raw not in allowed and raw != "blank":
                abort(400, "That answer is not one of the boxes on the form.")
            value = None if raw == "blank" else raw
            decision_id = led.decide("answer", page_id, item, value, by=_who())
            remember(decision_id, f"Saved {'blank' if value is None else value} for {item} on copy {q.serial}.")
            items = scoped_answers(led)
            target = _next_open(items, q.key)
            if target is None:
                return redirect(url_for("answers", **scope_args()))
            return redirect(url_for("answer", page_id=target.page_id, item=target.item, **scope_args()))
        led = ledger()
        items = scoped_answers(led)
        index = _index(items, (page_id, item))
        if index is None:
            q = Q.answer_question(led, page_id, item) or abort(404, "There is no such question.")
            items, index = [q], 0
        q = items[index]
        form = form_for(q.form_id, q.form_version)
        scale = [(p.value, p.label) for p in form.scale] if form else [(v, "") for v in range(1, 6)]
        # Enter accepts the highlighted box: the person's own choice, or an unclear mark's best guess.
        # Never pre-pick for two marks or two disagreeing scans, where any guess would steer the person.
        focus = q.value if q.settled else (q.machine_value if q.reason in ("uncertain", "poor_fit") else None)
        return render_template(
            "answer.html", q=q, form=form, scale=scale, statement=_statement_text(form, q.item),
            position=index + 1, total=len(items), left=sum(1 for x in items if not x.settled),
            prev=items[index - 1] if index > 0 else None,
            next=items[index + 1] if index + 1 < len(items) else None,
            scope=scope_args(), focus=focus, later_crops=Q.conflict_crops(led, q.page_id, q.item),
            history=Q.decision_history(led, page_id=q.page_id, item=q.item, limit=20))

    # --- comments -----------------------------------------------------------------------------

    @app.get("/comments")
    def comments() -> Any:
        items = Q.comment_questions(ledger())
        first = next((q for q in items if not q.settled), None)
        if first is None:
            return render_template("done.html", what="comments", scope={}, total=len(items))
        return redirect(url_for("comment", page_id=first.page_id, item=first.item))

    @app.route("/comment/<int:page_id>/<item>", methods=["GET", "POST"])
    def comment(page_id: int, item: str) -> Any:
        if request.method == "POST":
            led = writable()
            items = Q.comment_questions(led)
            index = _index(items, (page_id, item))
            if index is None:
                abort(404, "There is no such comment.")
            q = items[index]
            if request.form.get("action") == "none":
                text, said = "", "Marked as no comment"
            else:
                text = _clean_text(request.form.get("text", ""))
                said = "Saved the comment"
            decision_id = led.decide("comment", page_id, item, text, by=_who())
            remember(decision_id, f"{said} ({item} on copy {q.serial}).")
            target = _next_open(Q.comment_questions(led), q.key)
            if target is None:
                return redirect(url_for("comments"))
            return redirect(url_for("comment", page_id=target.page_id, item=target.item))
        led = ledger()
        items = Q.comment_questions(led)
        index = _index(items, (page_id, item))
        if index is None:
            abort(404, "There is no such comment.")
        q = items[index]
        form = form_for(q.form_id, q.form_version)
        prompt = ""
        if form is not None:
            try:
                prompt = form.free_text_field(q.item).prompt
            except KeyError:
                prompt = ""
        return render_template(
            "comment.html", q=q, prompt=prompt, form=form, position=index + 1, total=len(items),
            left=sum(1 for x in items if not x.settled), prev=items[index - 1] if index > 0 else None,
            next=items[index + 1] if index + 1 < len(items) else None,
            history=Q.decision_history(led, page_id=q.page_id, item=q.item, limit=20))

    # --- pages not recognised -----------------------------------------------------------------

    @app.get("/pages")
    def pages() -> Any:
        items = Q.page_questions(ledger())
        first = next((q for q in items if not q.settled), None)
        if first is None:
            return render_template("done.html", what="unrecognised pages", scope={}, total=len(items))
        return redirect(url_for("page", page_id=first.page_id))

    @app.route("/page/<int:page_id>", methods=["GET", "POST"])
    def page(page_id: int) -> Any:
        error = None
        if request.method == "POST":
            led = writable()
            items = Q.page_questions(led)
            index = _index(items, (page_id, ""))
            if index is None:
                abort(404, "There is no such page to sort out.")
            q = items[index]
            value: dict[str, Any] | None = None
            if request.form.get("action") == "not_form":
                value, said = {"action": "not_form"}, "Set aside as not a form"
            else:
                value, error = _assignment(led, forms, request.form)
                said = "Assigned by hand" if value else ""
            if value is not None:
                decision_id = led.decide("page", page_id, "", json.dumps(value, sort_keys=True), by=_who())
                if value["action"] == "assign":
                    said += _read_assigned(led, page_id, value, forms, options.ocr)
                remember(decision_id, f"{said}: {Q.describe_value('page', json.dumps(value))}.")
                target = _next_open(Q.page_questions(led), q.key)
                if target is None:
                    return redirect(url_for("pages"))
                return redirect(url_for("page", page_id=target.page_id))
        led = ledger()
        items = Q.page_questions(led)
        index = _index(items, (page_id, ""))
        if index is None:
            abort(404, "There is no such page to sort out.")
        q = items[index]
        return render_template(
            "page.html", q=q, forms=forms.all(), error=error, entered=request.form if error else {},
            position=index + 1, total=len(items), left=sum(1 for x in items if not x.settled),
            prev=items[index - 1] if index > 0 else None,
            next=items[index + 1] if index + 1 < len(items) else None,
            history=Q.decision_history(led, page_id=q.page_id, item="", limit=20)), (400 if error else 200)

    # --- incomplete copies --------------------------------------------------------------------

    @app.get("/incomplete")
    def incomplete() -> str:
        return render_template("incomplete.html", copies=Q.incomplete_copies(ledger()))

    @app.post("/incomplete/<int:page_id>")
    def acknowledge(page_id: int) -> Any:
        led = writable()
        copy = next((c for c in Q.incomplete_copies(led) if c.anchor_page_id == page_id), None)
        if copy is None:
            abort(404, "That copy is no longer missing pages.")
        value = {"action": "acknowledge_missing", "serial": copy.serial, "missing": list(copy.missing)}
        decision_id = led.decide("page", page_id, "", json.dumps(value, sort_keys=True), by=_who())
        remember(decision_id, f"Acknowledged: copy {copy.serial} is missing page {_join(copy.missing)}.")
        return redirect(url_for("incomplete"))

    # --- audit trail --------------------------------------------------------------------------

    @app.get("/history")
    def history() -> str:
        return render_template("history.html", rows=Q.decision_history(ledger(), limit=1000))

    @app.post("/decision/<int:decision_id>/undo")
    def undo(decision_id: int) -> Any:
        led = writable()
        row = Q.decision(led, decision_id) or abort(404, "There is no such decision.")
        if row.reverted_at is None:
            led.revert(decision_id)
            flash(f"Undone: {row.kind} decision {decision_id} ({Q.describe_value(row.kind, row.value)}).")
        session.pop("last_decision", None)
        return redirect(_local_path(request.form.get("return_to")) or url_for("history"))

    # --- images, by ledger id only ------------------------------------------------------------

    @app.get("/image/<int:image_id>")
    def image(image_id: int) -> Response:
        found = ledger().image(image_id)
        if found is None or found[0] not in IMAGE_MIMES:
            abort(404, "There is no such image.")
        mime, data = found
        resp = Response(data, mimetype=mime)
        resp.headers["Cache-Control"] = "private, max-age=3600"  # an image id never changes its bytes
        resp.headers["Content-Disposition"] = "inline"
        return resp

    def remember(decision_id: int, message: str) -> None:
        session["last_decision"] = {"id": decision_id, "message": message}

    return app


def open_counts(led: Ledger) -> dict[str, int]:
    """How many questions of each kind are still open: the numbers in the navigation bar."""
    return {
        "answers": sum(1 for q in Q.answer_questions(led) if not q.settled),
        "comments": sum(1 for q in Q.comment_questions(led) if not q.settled),
        "pages": sum(1 for q in Q.page_questions(led) if not q.settled),
        "incomplete": sum(1 for c in Q.incomplete_copies(led) if not c.settled),
    }


def _read_assigned(led: Ledger, page_id: int, value: dict[str, Any], forms: FormRegistry, ocr: str) -> str:
    """Read the kept page under its new identity, so its answers join the copy's; says how that went."""
    from pipeline.review.reassign import read_assigned_page

    try:
        result = read_assigned_page(led, page_id, value["form"], int(value["version"]), value["serial"],
                                    int(value["page"]), forms, ocr)
    except PaperVoiceError as exc:  # tesseract missing and the like: the assignment itself stands
        return f" (its boxes could not be read: {exc.message})"
    if result is None:
        return " (its boxes could not be read from the picture: enter its answers from the paper)"
    flagged = sum(1 for i in result.items if i.state == "flagged")
    return f" and read: {len(result.items)} answers" + (f", {flagged} to check" if flagged else "")


def _assignment(led: Ledger, forms: FormRegistry, data: Any) -> tuple[dict[str, Any] | None, str | None]:
    """Check a hand assignment of a page; returns (decision value, None) or (None, what to fix)."""
    form_key = str(data.get("form", ""))
    serial = str(data.get("serial", "")).strip().upper().replace(" ", "")
    page_text = str(data.get("page", "")).strip()
    form_id, _, version_text = form_key.partition("@")
    form = forms.find(form_id, int(version_text)) if version_text.isdigit() else None
    if form is None:
        return None, "Choose which form this page belongs to."
    if not is_valid_serial(serial):
        return None, (f"'{serial}' is not a copy number. It is six digits and a letter, printed at the top of "
                      "each page, e.g. 000012K.")
    if not page_text.isdigit():
        return None, "Enter the page number, e.g. 1."
    page_no = int(page_text)
    row = led.execute("SELECT pages, form_id FROM serials WHERE serial = ?", (serial,)).fetchone()
    if row is not None and row["form_id"] != form.id:
        return None, f"Copy {serial} was printed as {row['form_id']}, not {form.id}. Check the copy number."
    most = int(row["pages"]) if row is not None else 20
    if not 1 <= page_no <= most:
        return None, f"Page {page_no} does not exist: this copy has {most} pages."
    return {"action": "assign", "form": form.id, "version": form.version, "serial": serial, "page": page_no}, None


def _statement_text(form: Form | None, item: str) -> str:
    if form is None:
        return ""
    try:
        return form.item(item).text
    except KeyError:
        return ""


def _index(items: Sequence[Any], key: tuple[int, str]) -> int | None:
    return next((i for i, q in enumerate(items) if q.key == key), None)


def _next_open(items: Sequence[T], key: tuple[int, str]) -> T | None:
    """The next unsettled question after `key`, wrapping round, so a person never has to hunt."""
    start = _index(items, key)
    start = -1 if start is None else start
    n = len(items)
    for step in range(1, n + 1):
        q = items[(start + step) % n]
        if not q.settled:  # type: ignore[attr-defined]
            return q
    return None


def _clean_text(text: str) -> str:
    """Keep what the person typed, minus control characters and stray whitespace at the ends."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in "\n\t" or ch >= " ").strip()[:20_000]


def _who() -> str:
    return f"review page ({request.remote_addr})"


def _join(values: Sequence[int]) -> str:
    return ", ".join(str(v) for v in values)


def _when(stamp: str | None) -> str:
    """An ISO time stamp as the person's local time, in words."""
    if not stamp:
        return ""
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%d %b %Y, %H:%M:%S")
    except ValueError:
        return stamp


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _local_path(target: str | None) -> str | None:
    """Only ever redirect within this site: a path, never another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target.rstrip("?") or "/"


def _probe(host: str, port: int) -> None:
    """Bind and release the address once, so a busy port becomes our message rather than werkzeug's exit."""
    if port == 0:
        return
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def serve(options: ReviewOptions, *, ready: Callable[[str], None] | None = None) -> None:
    """Run the review page until Ctrl-C; prints the address on stderr and opens the browser."""
    app = create_app(options)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request on the terminal
    busy = UsageError(f"cannot open the review page on {options.host}:{options.port}: the port is in use",
                      "another program (perhaps another review page) is using it: try --port 8001")
    try:
        _probe(options.host, options.port)
        server = make_server(options.host, options.port, app, threaded=True)
    except SystemExit as exc:  # werkzeug exits on EADDRINUSE; the probe above makes that rare
        raise busy from exc
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise busy from exc
        raise UsageError(f"cannot open the review page on {options.host}:{options.port}: {exc.strerror or exc}",
                         "check --host names an address of this computer, or leave it at 127.0.0.1") from exc
    host = f"[{options.host}]" if ":" in options.host else options.host
    url = f"http://{host}:{server.server_port}/"
    print(f"Review page: {url}", file=sys.stderr)
    if options.token:
        print("People will be asked for the access token you gave with --token.", file=sys.stderr)
    print("Every decision is saved as you make it. Press Ctrl-C here to stop.", file=sys.stderr)
    if ready is not None:
        ready(url)
    if options.open_browser:
        threading.Timer(0.3, webbrowser.open, args=(url,)).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("Review page closed; every decision is in the ledger.", file=sys.stderr)
    finally:
        server.server_close()
