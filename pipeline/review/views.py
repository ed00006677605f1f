"""The review page's views: one Flask Blueprint, one module-level function per page.

Each kind of question (flagged answers, comments, unrecognised pages) has a list
URL that jumps to the first open question and a question URL that shows one and
records the person's decision; after a decision the page moves on to the next
open question, wrapping round, so a person never has to hunt.

Everything about the running app (its options, its ledger, its forms) is in
`current_app.extensions`, put there by `create_app`: the views hold no state.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from pipeline import constants as C
from pipeline.errors import PaperVoiceError
from pipeline.form.definition import Form, FormRegistry
from pipeline.ledger import open_ledger
from pipeline.ledger import queries as Q
from pipeline.ledger.sharing import set_shared, shared_comments
from pipeline.ledger.store import Ledger, Overtaken
from pipeline.options import ReviewOptions
from pipeline.review import overtaken
from pipeline.review.assign import SERIAL_WHERE, parse_assignment
from pipeline.review.safety import LoginLimiter, local_path, token_matches
from pipeline.text import EXCEL_MAX_CELL_CHARS, clean_text
from pipeline.vocab import FlagReason, ItemState

EXTENSION = "papervoice_review"
IMAGE_MIMES = ("image/png", "image/jpeg", "image/webp")
#: A ledger row id in a URL: SQLite's integers stop at 2**63 - 1; anything larger is no such row (404).
ID = f"int(max={2**63 - 1})"

T = TypeVar("T")

bp = Blueprint("review", __name__)


@dataclass(frozen=True)
class ReviewState:
    """What one running review page serves: its options, its ledger file and the forms it knows."""

    options: ReviewOptions
    db: str  # the ledger's address
    forms: FormRegistry
    logins: LoginLimiter = field(default_factory=lambda: LoginLimiter(
        C.REVIEW_LOGIN_MAX_PER_CLIENT, C.REVIEW_LOGIN_MAX_TOTAL, C.REVIEW_LOGIN_WINDOW_S))


def state() -> ReviewState:
    found: ReviewState = current_app.extensions[EXTENSION]
    return found


def ledger() -> Ledger:
    """This request's connection: read-only for GET so a running scan is never blocked."""
    if "ledger" not in g:
        g.ledger = open_ledger(state().db, readonly=request.method in ("GET", "HEAD"))
    return g.ledger  # type: ignore[no-any-return]


def writable() -> Ledger:
    if "ledger" in g and g.ledger.readonly:
        g.ledger.close()
        g.pop("ledger")
    return ledger()


@bp.teardown_app_request
def _close(_exc: BaseException | None) -> None:
    led = g.pop("ledger", None)
    if led is not None:
        led.close()


def form_for(form_id: str, version: int) -> Form | None:
    return state().forms.find(form_id, version)


@dataclass(frozen=True)
class AsPrinted:
    """The wording a copy was printed in, when that is not the form's own language: the page shows the
    statement (or prompt) in the form's language, and beside it what the person read on paper, marked up
    in its language so a screen reader speaks it in that language."""

    text: str
    lang: str
    dir: str
    name: str


def as_printed(led: Ledger, q: Q.EffectiveAnswer | Q.EffectiveComment, form: Form | None,
               wording: Callable[[Form], str]) -> AsPrinted | None:
    """What `wording` gives on the copy as printed (a bilingual print: its first language), or None when the
    copy was printed in the form's own language, or its translation is not defined here."""
    from pipeline.form.i18n import language_name, text_direction

    language = led.batch_language(q.serial)
    if form is None or not language:
        return None
    first = language.split("+")[0]
    printed = state().forms.find(q.form_id, q.form_version, first)
    if printed is None or first == form.language:
        return None
    text = wording(printed)
    return AsPrinted(text, first, text_direction(first), language_name(first)) if text else None


# --- sign in (only when a token is set) -----------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    token = state().options.token
    if not token:
        return redirect(url_for("review.home"))
    error = None
    if request.method == "POST":  # the CSRF check already ran in the app's guard
        client = request.remote_addr or "?"
        wait_s = state().logins.attempt(client)
        if wait_s:
            minutes = max(1, round(wait_s / 60))
            error = (f"Too many tries to sign in. Wait about {minutes} minute{'s' if minutes > 1 else ''}, "
                     "then try again with the access token from the person who started the page.")
            return render_template("login.html", error=error), 429
        if token_matches(request.form.get("token", ""), token):
            state().logins.succeeded(client)
            session.clear()
            session["authed"] = True
            return redirect(local_path(request.args.get("next")) or url_for("review.home"))
        time.sleep(C.REVIEW_WRONG_TOKEN_DELAY_S)
        error = "That access token is not right. Ask the person who started the review page for it."
    return render_template("login.html", error=error), (403 if error else 200)


# --- overview -----------------------------------------------------------------------------


@bp.get("/")
def home() -> str:
    by_statement: dict[tuple[str, int, str], list[int]] = {}
    for q in Q.answer_questions(ledger()):
        entry = by_statement.setdefault((q.form_id, q.form_version, q.item), [0, 0])
        entry[0 if not q.settled else 1] += 1
    statements = []
    for (form_id, version, item), (open_, settled) in sorted(by_statement.items()):
        form = form_for(form_id, version)
        statements.append({"form_id": form_id, "version": version, "item": item, "open": open_,
                           "settled": settled, "text": form.statement(item) if form else ""})
    return render_template("home.html", statements=statements)


# --- moving through a queue -------------------------------------------------------------------


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


def _place(items: Sequence[Any], index: int) -> dict[str, Any]:
    """Where a question stands in its queue: what every question page shows above and below it."""
    return {"position": index + 1, "total": len(items), "left": sum(1 for x in items if not x.settled),
            "prev": items[index - 1] if index > 0 else None,
            "next": items[index + 1] if index + 1 < len(items) else None}


def _first_open(items: Sequence[Any], what: str, scope: dict[str, Any], endpoint: str) -> Any:
    """A queue's list URL: the first open question, or 'all done'."""
    first = next((q for q in items if not q.settled), None)
    if first is None:
        one = what.removesuffix("s")  # "flagged answers" -> "flagged answer": "the one ... is settled"
        return render_template("done.html", what=what, what_one=one, scope=scope, total=len(items))
    return redirect(url_for(endpoint, **first.key_args, **scope))


def _after_decision(items: Sequence[Any], key: tuple[int, str], endpoint: str, scope: dict[str, Any]) -> Any:
    """After a decision: on to the next open question of the queue, or back to its list when none is left."""
    target = _next_open(items, key)
    if target is None:
        return redirect(url_for(f"{endpoint}s", **scope))
    return redirect(url_for(endpoint, **target.key_args, **scope))


def _remember(decision_id: int, message: str) -> None:
    session["last_decision"] = {"id": decision_id, "message": message}


def _who() -> str:
    return f"review page ({request.remote_addr})"


# --- flagged answers ----------------------------------------------------------------------


def _scope() -> dict[str, Any]:
    return {k: v for k in ("form", "statement") if (v := request.args.get(k, ""))}


def _scoped_answers(led: Ledger) -> list[Q.AnswerQuestion]:
    return Q.answer_questions(led, request.args.get("form") or None, request.args.get("statement") or None)


@bp.get("/answers")
def answers() -> Any:
    return _first_open(_scoped_answers(ledger()), "flagged answers", _scope(), "review.answer")


@bp.route(f"/answer/<{ID}:page_id>/<item>", methods=["GET", "POST"])
def answer(page_id: int, item: str) -> Any:
    if request.method == "POST":
        led = writable()
        q = Q.answer_question(led, page_id, item) or abort(404, "There is no such question.")
        form = form_for(q.form_id, q.form_version)
        raw = request.form.get("value", "")
        allowed = {str(v) for v, _ in _choices(form, item)}
        if raw not in allowed and raw != "blank":
            abort(400, "That answer is not one of the boxes printed for this question.")
        value = None if raw == "blank" else raw
        try:
            decision_id = led.decide("answer", page_id, item, value, by=_who(), seen=overtaken.seen_decision())
        except Overtaken as exc:
            overtaken.tell(exc, "answer")
            return redirect(url_for("review.answer", page_id=page_id, item=item, **_scope()))
        _remember(decision_id, f"Saved {'blank' if value is None else value} for {item} on copy {q.serial}.")
        return _after_decision(_scoped_answers(led), q.key, "review.answer", _scope())
    led = ledger()
    items = _scoped_answers(led)
    index = _index(items, (page_id, item))
    if index is None:
        q = Q.answer_question(led, page_id, item) or abort(404, "There is no such question.")
        items, index = [q], 0
    q = items[index]
    form = form_for(q.form_id, q.form_version)
    scale = list(_choices(form, q.item))
    # Enter accepts the highlighted box: the person's own choice, or an unclear mark's best guess.
    # Never pre-pick for two marks or two disagreeing scans, where any guess would steer the person.
    guessable = q.reason in (FlagReason.UNCERTAIN, FlagReason.POOR_FIT)
    focus = q.value if q.settled else (q.machine_value if guessable else None)
    return render_template(
        "answer.html", q=q, form=form, scale=scale, statement=form.statement(q.item) if form else "",
        printed=as_printed(led, q, form, lambda f: f.statement(q.item)),
        scope=_scope(), focus=focus, later_crops=Q.conflict_crops(led, q.page_id, q.item),
        history=Q.decision_history(led, page_id=q.page_id, item=q.item, limit=20), **_place(items, index))


def _choices(form: Form | None, item: str) -> tuple[tuple[int, str], ...]:
    """The boxes a person may choose for this item (a form not known here: the usual 1 to 5)."""
    return form.answer_choices(item) if form is not None else tuple((v, "") for v in range(1, 6))


# --- comments -----------------------------------------------------------------------------


def _prompt(form: Form, item: str) -> str:
    """A comment field's printed prompt, or '' when this version of the form has no such field."""
    try:
        return form.free_text_field(item).prompt
    except KeyError:
        return ""


@bp.get("/comments")
def comments() -> Any:
    return _first_open(Q.comment_questions(ledger()), "comments", {}, "review.comment")


@bp.route(f"/comment/<{ID}:page_id>/<item>", methods=["GET", "POST"])
def comment(page_id: int, item: str) -> Any:
    led = writable() if request.method == "POST" else ledger()
    items = Q.comment_questions(led)
    index = _index(items, (page_id, item))
    if index is None:
        abort(404, "There is no such comment.")
    q = items[index]
    if request.method == "POST":
        if request.form.get("action") == "none":
            text, said = "", "Marked as no comment"
        else:
            typed = request.form.get("text", "")
            if len(typed) > EXCEL_MAX_CELL_CHARS:  # never cut a person's words without telling them
                abort(400, f"That comment is {len(typed):,} characters long; a workbook cell holds at most "
                           f"{EXCEL_MAX_CELL_CHARS:,}. Shorten it (or keep the full text elsewhere) and save again.")
            text = clean_text(typed).strip()
            said = "Saved the comment"
        try:
            decision_id = led.decide("comment", page_id, item, text, by=_who(), seen=overtaken.seen_decision())
        except Overtaken as exc:
            overtaken.tell(exc, "comment")
            return redirect(url_for("review.comment", page_id=page_id, item=item))
        share = bool(text) and request.form.get("share") == "1"
        set_shared(led, page_id, item, share, by=_who())
        said += " (fine to share)" if share else ""
        _remember(decision_id, f"{said} ({item} on copy {q.serial}).")
        return _after_decision(Q.comment_questions(led), q.key, "review.comment", {})
    form = form_for(q.form_id, q.form_version)
    prompt = _prompt(form, q.item) if form is not None else ""
    return render_template("comment.html", q=q, prompt=prompt, form=form,
                           printed=as_printed(led, q, form, lambda f: _prompt(f, q.item)),
                           shared=(q.page_id, q.item) in shared_comments(led),
                           history=Q.decision_history(led, page_id=q.page_id, item=q.item, limit=20),
                           **_place(items, index))


# --- pages not recognised -----------------------------------------------------------------


@bp.get("/pages")
def pages() -> Any:
    return _first_open(Q.page_questions(ledger()), "unrecognised pages", {}, "review.page")


@bp.route(f"/page/<{ID}:page_id>", methods=["GET", "POST"])
def page(page_id: int) -> Any:
    led = writable() if request.method == "POST" else ledger()
    items = Q.page_questions(led)
    index = _index(items, (page_id, ""))
    if index is None:
        abort(404, "There is no such page to sort out.")
    q = items[index]
    error = None
    if request.method == "POST":
        value: dict[str, Any] | None
        if request.form.get("action") == "not_form":
            value, said = {"action": "not_form"}, "Set aside as not a form"
        elif q.status == "foreign":  # another survey's copy number means nothing in this ledger
            value, said = None, ""
            error = "This page was printed for another survey: scan it into that survey's ledger."
        else:
            value, error = parse_assignment(led, state().forms, request.form)
            said = "Assigned by hand" if value else ""
        if value is not None:
            text = json.dumps(value, sort_keys=True)
            try:
                if value["action"] == "assign":  # read first, then decision and reading in one transaction
                    decision_id, read_said = _assign_and_read(led, page_id, value, text, overtaken.seen_decision())
                    said += read_said
                else:
                    decision_id = led.decide("page", page_id, "", text, by=_who(), seen=overtaken.seen_decision())
            except Overtaken as exc:
                overtaken.tell(exc, "page")
                return redirect(url_for("review.page", page_id=page_id))
            _remember(decision_id, f"{said}: {Q.describe_value('page', text)}.")
            return _after_decision(Q.page_questions(led), q.key, "review.page", {})
    return render_template(
        "page.html", q=q, forms=state().forms.all(), error=error, entered=request.form if error else {},
        serial_where=SERIAL_WHERE,
        history=Q.decision_history(led, page_id=q.page_id, item="", limit=20),
        **_place(items, index)), (400 if error else 200)


def _assign_and_read(led: Ledger, page_id: int, value: dict[str, Any], text: str,
                     seen: int | bool | None) -> tuple[int, str]:
    """Read the kept page under its new identity, so its answers join the copy's, then record the person's
    assignment and that reading together (a crash in between loses both, never one); says how that went."""
    from pipeline.review.reassign import read_assigned

    try:
        result = read_assigned(led, page_id, value["form"], int(value["version"]), value["serial"],
                               int(value["page"]), state().forms, ocr=state().options.ocr)
    except PaperVoiceError as exc:  # the engine missing and the like: the assignment itself stands
        return (led.decide("page", page_id, "", text, by=_who(), seen=seen),
                f" (its boxes could not be read: {exc.message})")
    decision_id, _ = led.assign_page(page_id, text, result, by=_who(), seen=seen)
    if result is None:
        return decision_id, " (its boxes could not be read from the picture: enter its answers from the paper)"
    flagged = sum(1 for i in result.items if i.state == ItemState.FLAGGED)
    return decision_id, f" and read: {len(result.items)} answers" + (f", {flagged} to check" if flagged else "")


# --- incomplete copies --------------------------------------------------------------------


@bp.get("/incomplete")
def incomplete() -> str:
    return render_template("incomplete.html", copies=Q.incomplete_copies(ledger()))


@bp.post(f"/incomplete/<{ID}:page_id>")
def acknowledge(page_id: int) -> Any:
    led = writable()
    copy = next((c for c in Q.incomplete_copies(led) if c.anchor_page_id == page_id), None)
    if copy is None:
        abort(404, "That copy is no longer missing pages.")
    value = {"action": "acknowledge_missing", "serial": copy.serial, "missing": list(copy.missing)}
    decision_id = led.decide("page", page_id, "", json.dumps(value, sort_keys=True), by=_who())
    _remember(decision_id, f"Acknowledged: copy {copy.serial} is missing page "
                           f"{', '.join(str(v) for v in copy.missing)}.")
    return redirect(url_for("review.incomplete"))


# --- audit trail --------------------------------------------------------------------------


@bp.get("/history")
def history() -> str:
    return render_template("history.html", rows=Q.decision_history(ledger(), limit=1000))


@bp.post(f"/decision/<{ID}:decision_id>/undo")
def undo(decision_id: int) -> Any:
    led = writable()
    row = Q.decision(led, decision_id) or abort(404, "There is no such decision.")
    if row.reverted_at is None:
        led.revert(decision_id)
        flash(f"Undone: {row.kind} decision {decision_id} ({Q.describe_value(row.kind, row.value)}).")
    session.pop("last_decision", None)
    return redirect(local_path(request.form.get("return_to")) or url_for("review.history"))


# --- images, by ledger id only ------------------------------------------------------------


@bp.get(f"/image/<{ID}:image_id>")
def image(image_id: int) -> Response:
    found = ledger().image(image_id)
    if found is None or found[0] not in IMAGE_MIMES:
        abort(404, "There is no such image.")
    mime, data = found
    resp = Response(data, mimetype=mime)
    resp.headers["Cache-Control"] = "private, max-age=3600"  # an image id never changes its bytes
    resp.headers["Content-Disposition"] = "inline"
    return resp
