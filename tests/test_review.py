"""The review page: a person settles what the scanner was unsure of, and nothing they decide is lost.

Two layers.  Fast tests drive the Flask app with its test client (guards,
escaping, CSRF, audit trail, the queue queries).  Browser tests (marked
`browser`) run the real server in a thread and drive Debian's chromium with
Playwright, the way a person would: keyboard only, reload, export.

Ledgers are built in code from synthetic readings, so no scanner or OCR runs.
Set PAPERVOICE_REVIEW_SCREENSHOTS=DIR to also write the README screenshots.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from browsers import ARGS as CHROMIUM_ARGS
from browsers import MISSING as CHROMIUM_MISSING
from browsers import find_chromium
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from pipeline.errors import LedgerError, UsageError
from pipeline.form.definition import FormRegistry
from pipeline.form.identity import PageIdentity
from pipeline.form.layout import compute_layout
from pipeline.ledger import queries as Q
from pipeline.ledger.store import Ledger
from pipeline.options import ReviewOptions
from pipeline.review.app import create_app
from pipeline.scan.results import CommentReading, FileInfo, ItemReading, PageResult, PageSource

FORM = "care-planning-person"
XSS = "<script>window.__pwned = 1; document.title = 'pwned'</script><img src=x onerror=\"window.__pwned=2\">"
CONFLICT_FORM = "coproduction-operating-rules"


# --- synthetic images ------------------------------------------------------------------------

def _png(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


def boxes_png(marks: dict[int, str]) -> bytes:
    """A row of five boxes as the scanner crops it: 'tick', 'cross' or 'faint' in the given boxes."""
    img = np.full((120, 760, 3), 255, np.uint8)
    for v in range(1, 6):
        x = 40 + (v - 1) * 145
        cv2.rectangle(img, (x, 30), (x + 60, 90), (0, 0, 0), 3)
        cv2.putText(img, str(v), (x + 22, 115), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (60, 60, 60), 2, cv2.LINE_AA)
        kind = marks.get(v)
        ink = (170, 160, 150) if kind == "faint" else (90, 40, 20)
        if kind in ("tick", "faint"):
            cv2.polylines(img, [np.array([[x + 8, 58], [x + 24, 80], [x + 70, 12]])], False, ink, 5, cv2.LINE_AA)
        elif kind == "cross":
            cv2.line(img, (x + 6, 34), (x + 54, 86), ink, 5, cv2.LINE_AA)
            cv2.line(img, (x + 54, 34), (x + 6, 86), ink, 5, cv2.LINE_AA)
    return _png(img)


def handwriting_png(lines: list[str]) -> bytes:
    img = np.full((60 + 70 * len(lines), 900, 3), 255, np.uint8)
    for i, line in enumerate(lines):
        y = 70 + 70 * i
        cv2.line(img, (20, y + 10), (880, y + 10), (190, 190, 190), 1)
        cv2.putText(img, line, (30, y), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.4, (90, 40, 20), 2, cv2.LINE_AA)
    return _png(img)


def page_png(title: str) -> bytes:
    img = np.full((840, 600, 3), 250, np.uint8)
    cv2.putText(img, title, (50, 90), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (30, 30, 30), 2, cv2.LINE_AA)
    for i in range(14):
        cv2.line(img, (50, 150 + 40 * i), (540 - (i % 3) * 60, 150 + 40 * i), (120, 120, 120), 3)
    return _png(img)


# --- synthetic ledgers -----------------------------------------------------------------------

@dataclass(frozen=True)
class Built:
    db: str | Path  # the ledger's address: a SQLite file or a PostgreSQL database
    serials: list[str]
    conflict_serial: str


def _identity(form_id: str, version: int, page: int, pages: int, serial: str) -> PageIdentity:
    return PageIdentity(form_id, version, "standard", "a4", page, pages, serial)


def _form_pages(registry: FormRegistry, form_id: str) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    layout = compute_layout(registry.get(form_id), "a4", "standard")
    return [(tuple(p.items), tuple(t.item for t in p.text_fields)) for p in layout.pages]


def build_ledger(db: str | Path, registry: FormRegistry, copies: int = 3) -> Built:
    """Copies of the person form with one of each kind of question, a conflict, and two stray pages."""
    layout = _form_pages(registry, FORM)
    pages = len(layout)
    with Ledger(db) as ledger:
        serials = ledger.issue_serials(FORM, 1, "standard", "a4", pages, copies, "out.pdf")
        conflict_serial = ledger.issue_serials(CONFLICT_FORM, 1, "standard", "a4",
                                               len(_form_pages(registry, CONFLICT_FORM)), 1, "rules.pdf")[0]
        flags = {  # (copy, item): reading
            (0, "S03"): ItemReading("S03", None, "flagged", "multiple", "boxes 2 and 4 are both marked", 0.4,
                                    boxes_png({2: "tick", 4: "tick"})),
            (0, "S06"): ItemReading("S06", 4, "flagged", "uncertain", "box 4 has a faint mark (coverage 6%)", 0.5,
                                    boxes_png({4: "faint"})),
            (1, "S03"): ItemReading("S03", None, "flagged", "multiple", "boxes 1 and 5 are both marked", 0.4,
                                    boxes_png({1: "cross", 5: "tick"})),
            (2, "S09"): ItemReading("S09", 2, "flagged", "poor_fit", "the page fitted 1.6 mm off", 0.6,
                                    boxes_png({2: "tick"})),
        }
        texts = {0: XSS, 1: "My social worker listened and the plan\nwas ready on time.", 2: ""}
        for c, serial in enumerate(serials):
            results = []
            for page_no, (items, fields) in enumerate(layout, start=1):
                if c == 2 and page_no == pages:
                    continue  # copy 3 came back without its last page
                readings = [flags.get((c, item)) or ItemReading(item, 1 + (c + n) % 5, "answered", None, "", 0.97,
                                                                boxes_png({1 + (c + n) % 5: "tick"}))
                            for n, item in enumerate(items)]
                comments = [CommentReading(f, bool(texts[c]), texts[c], 71.0, "tesseract", 0.02,
                                           handwriting_png(["My social worker listened", "and the plan was on time."]))
                            for f in fields]
                results.append(PageResult(PageSource(f"returns-{c}.pdf", page_no - 1), "form",
                                          identity=_identity(FORM, 1, page_no, pages, serial),
                                          items=readings, comments=comments))
            ledger.record_file(FileInfo(f"returns-{c}.pdf", f"sha-{c}", 1000), results)
        # a copy of another form scanned twice, the second time reading R02 differently
        rules = _form_pages(registry, CONFLICT_FORM)
        for scan, r02 in ((0, 3), (1, 5)):
            items = rules[0][0]
            readings = [ItemReading(i, r02 if i == "R02" else 2, "answered", None, "", 0.95,
                                    boxes_png({r02 if i == "R02" else 2: "tick"})) for i in items]
            ledger.record_file(FileInfo(f"rules-scan-{scan}.pdf", f"sha-rules-{scan}", 1000), [PageResult(
                PageSource(f"rules-scan-{scan}.pdf", 0), "form",
                identity=_identity(CONFLICT_FORM, 1, 1, len(rules), conflict_serial), items=readings)])
        ledger.record_file(FileInfo("post-bag.pdf", "sha-strays", 2000), [
            PageResult(PageSource("post-bag.pdf", 0), "not_form", "no PaperVoice code found",
                       image_png=page_png("Dear team, thank you")),
            PageResult(PageSource("post-bag.pdf", 1), "unreadable", "too dark to read", image_png=page_png("????")),
        ])
    return Built(db, serials, conflict_serial)


@pytest.fixture
def built(ledger_url: str, registry: FormRegistry) -> Built:
    """The review tests run on both backends (`ledger_url`: SQLite, and a PostgreSQL test server)."""
    return build_ledger(ledger_url, registry)


def _client(built: Built, **kw: Any) -> FlaskClient:
    app = create_app(ReviewOptions(db=built.db, open_browser=False, **kw))
    app.config["TESTING"] = True
    return app.test_client()


@pytest.fixture
def client(built: Built) -> FlaskClient:
    return _client(built)


def _csrf(client: FlaskClient, path: str = "/") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def _ids(ledger_path: str | Path, serial: str, item: str) -> int:
    with Ledger(ledger_path, readonly=True) as led:
        row = led.execute("SELECT page_id FROM effective_answers WHERE serial = ? AND item = ?",
                          (serial, item)).fetchone()
    return int(row[0])


# --- the queue --------------------------------------------------------------------------------

def test_queue_lists_every_kind_of_question(built: Built) -> None:
    with Ledger(built.db, readonly=True) as led:
        answers = Q.answer_questions(led)
        reasons = sorted((q.serial, q.item, q.reason) for q in answers)
        assert reasons == sorted([(built.serials[0], "S03", "multiple"), (built.serials[0], "S06", "uncertain"),
                                  (built.serials[1], "S03", "multiple"), (built.serials[2], "S09", "poor_fit"),
                                  (built.conflict_serial, "R02", "conflict")])
        conflict = next(q for q in answers if q.reason == "conflict")
        assert "first scan read 3" in conflict.detail and len(Q.conflict_crops(led, conflict.page_id, "R02")) == 1
        assert [q.serial for q in Q.comment_questions(led)] == built.serials[:2]
        assert sorted(q.status for q in Q.page_questions(led)) == ["not_form", "unreadable"]
        incomplete = Q.incomplete_copies(led)
        rules_pages = len(_form_pages(FormRegistry.from_dirs(), CONFLICT_FORM))
        missing_rules = tuple(range(2, rules_pages + 1))
        assert [(c.serial, c.missing) for c in incomplete] == [(built.serials[2], (3,)),
                                                               (built.conflict_serial, missing_rules)]
        assert {q.serial for q in Q.answer_questions(led, FORM, "S03")} == set(built.serials[:2])


def test_decisions_are_audited_reversible_and_survive_rescans(built: Built, registry: FormRegistry) -> None:
    page_id = _ids(built.db, built.conflict_serial, "R02")
    with Ledger(built.db) as led:
        first = led.decide("answer", page_id, "R02", "5")
        second = led.decide("answer", page_id, "R02", "4")
        rows = Q.decision_history(led, page_id=page_id, item="R02")
        assert [(r.previous, r.value, r.active) for r in rows] == [("5", "4", True), ("3", "5", False)]
        # a third scan of the same page disagrees again: the person's decision still stands
        items = _form_pages(registry, CONFLICT_FORM)[0][0]
        led.record_file(FileInfo("rules-scan-2.pdf", "sha-rules-2", 1000), [PageResult(
            PageSource("rules-scan-2.pdf", 0), "form",
            identity=_identity(CONFLICT_FORM, 1, 1, 2, built.conflict_serial),
            items=[ItemReading(i, 1, "answered", None, "", 0.9) for i in items])])
        q = Q.answer_question(led, page_id, "R02")
        assert q is not None and q.value == 4 and q.settled
        led.revert(second)
        q = Q.answer_question(led, page_id, "R02")
        assert q is not None and q.value == 5 and q.decision_id == first
        led.revert(first)
        q = Q.answer_question(led, page_id, "R02")
        assert q is not None and not q.settled and q.value == 3


# --- guards -----------------------------------------------------------------------------------

def test_non_local_bind_needs_a_token(built: Built) -> None:
    with pytest.raises(UsageError, match="without an access token"):
        ReviewOptions(db=built.db, host="0.0.0.0")
    from pipeline.cli import main

    assert main(["review", "--db", str(built.db), "--host", "0.0.0.0", "--no-browser"]) == 2


def test_missing_ledger_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="no ledger"):
        create_app(ReviewOptions(db=tmp_path / "nope.db", open_browser=False))


def test_token_is_asked_for_and_checked(built: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pipeline.constants.REVIEW_WRONG_TOKEN_DELAY_S", 0)
    client = _client(built, host="0.0.0.0", token="Correct-Horse-Battery-9x")
    resp = client.get("/answers")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    token_csrf = _csrf(client, "/login")
    assert client.post("/login", data={"csrf_token": token_csrf, "token": "wrong-wrong-wrong"}).status_code == 403
    assert client.get("/image/1").status_code == 302  # images need the token too
    resp = client.post("/login?next=/history", data={"csrf_token": token_csrf, "token": "Correct-Horse-Battery-9x"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/history")
    assert client.get("/history").status_code == 200


def test_local_server_refuses_other_host_names(client: FlaskClient) -> None:
    assert client.get("/", headers={"Host": "evil.example:8000"}).status_code == 400
    assert client.get("/", headers={"Host": "localhost:8000"}).status_code == 200


def test_posts_need_the_csrf_token_and_same_origin(built: Built, client: FlaskClient) -> None:
    page_id = _ids(built.db, built.serials[0], "S03")
    url = f"/answer/{page_id}/S03"
    assert client.post(url, data={"value": "2"}).status_code == 403
    token = _csrf(client, url)
    assert client.post(url, data={"value": "2", "csrf_token": "x" + token}).status_code == 403
    assert client.post(url, data={"value": "2", "csrf_token": token},
                       headers={"Origin": "http://evil.example"}).status_code == 403
    with Ledger(built.db, readonly=True) as led:
        assert led.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 0
    assert client.post(url, data={"value": "9", "csrf_token": token}).status_code == 400
    assert client.post(url, data={"value": "2", "csrf_token": token}).status_code == 302


def test_ocr_text_is_escaped(built: Built, client: FlaskClient) -> None:
    with Ledger(built.db, readonly=True) as led:
        q = next(q for q in Q.comment_questions(led) if q.serial == built.serials[0])
    resp = client.get(f"/comment/{q.page_id}/{q.item}")
    html = resp.get_data(as_text=True)
    assert "<script>window" not in html and "<img src=x" not in html
    assert "&lt;script&gt;window.__pwned" in html
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]


def test_file_names_and_reasons_are_escaped(built: Built, client: FlaskClient) -> None:
    """A scanned file's name and a page's reason reach the page as text too."""
    with Ledger(built.db) as led:
        led.execute("UPDATE files SET path = ? WHERE path = 'post-bag.pdf'", (XSS,))
        led.execute("UPDATE pages SET reason = ? WHERE status = 'not_form'", (XSS,))
        stray = next(q for q in Q.page_questions(led) if q.status == "not_form")
    html = client.get(f"/page/{stray.page_id}").get_data(as_text=True)
    assert "<script>window" not in html and "&lt;script&gt;" in html


def test_app_refuses_a_non_local_bind_even_if_options_were_forged(built: Built) -> None:
    forged = object.__new__(ReviewOptions)
    for name, value in {"db": built.db, "host": "0.0.0.0", "port": 8000, "token": None,
                        "open_browser": False}.items():
        object.__setattr__(forged, name, value)
    with pytest.raises(UsageError, match="without an access token"):
        create_app(forged)


def test_images_only_by_id(built: Built, client: FlaskClient) -> None:
    with Ledger(built.db, readonly=True) as led:
        crop = Q.answer_questions(led)[0].crop_id
    resp = client.get(f"/image/{crop}")
    assert resp.status_code == 200 and resp.mimetype == "image/png" and resp.data[:4] == b"\x89PNG"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/image/999999").status_code == 404
    assert client.get("/image/../../etc/passwd").status_code == 404
    assert client.get("/image/%2Fetc%2Fpasswd").status_code == 404


def test_pages_assign_not_form_and_acknowledge(built: Built, client: FlaskClient) -> None:
    with Ledger(built.db, readonly=True) as led:
        stray, unreadable = sorted(Q.page_questions(led), key=lambda q: q.status)
        copy = next(c for c in Q.incomplete_copies(led) if c.form_id == FORM)
    token = _csrf(client, f"/page/{stray.page_id}")
    bad = client.post(f"/page/{stray.page_id}", data={"csrf_token": token, "action": "assign", "form": f"{FORM}@1",
                                                      "serial": "000001X", "page": "3"})
    assert bad.status_code == 400 and "not a copy number" in bad.get_data(as_text=True)
    # where to find the copy number is said as the printed page has it: in the small print at its foot
    from markupsafe import escape

    from pipeline.form.definition import FormRegistry
    from pipeline.form.layout import compute_layout
    from pipeline.review.assign import SERIAL_WHERE

    assert escape(SERIAL_WHERE) in bad.get_data(as_text=True) and "foot of every page" in SERIAL_WHERE
    layout = compute_layout(FormRegistry.from_dirs([]).latest(FORM), "a4", "standard")
    for printed in layout.pages:
        ident = next(b for b in printed.text_blocks if b.kind == "identity")
        assert ident.y > 0.9 * layout.page_size[1], "the copy number moved: say where it is now"
    ok = client.post(f"/page/{stray.page_id}", data={"csrf_token": token, "action": "assign", "form": f"{FORM}@1",
                                                     "serial": copy.serial.lower(), "page": "3"})
    assert ok.status_code == 302
    resp = client.post(f"/page/{unreadable.page_id}", data={"csrf_token": token, "action": "not_form"})
    assert resp.status_code == 302
    assert client.post(f"/incomplete/{copy.anchor_page_id}", data={"csrf_token": token}).status_code == 302
    with Ledger(built.db, readonly=True) as led:
        assert all(q.settled for q in Q.page_questions(led))
        values = {q.page_id: q.decision for q in Q.page_questions(led)}
        assert values[stray.page_id] == {"action": "assign", "form": FORM, "version": 1, "serial": copy.serial,
                                         "page": 3}
        assert values[unreadable.page_id] == {"action": "not_form"}
        ack = next(c for c in Q.incomplete_copies(led) if c.form_id == FORM)
        assert ack.settled and ack.assigned == ((3, stray.page_id),)
    incomplete = client.get("/incomplete").get_data(as_text=True)
    assert "Acknowledged" in incomplete and "assigned by hand" in incomplete
    history = client.get("/history").get_data(as_text=True)
    assert "confirmed: not a form" in history and f"copy {copy.serial}, page 3" in history


def test_undo_reopens_the_question(built: Built, client: FlaskClient) -> None:
    page_id = _ids(built.db, built.serials[2], "S09")
    url = f"/answer/{page_id}/S09"
    token = _csrf(client, url)
    client.post(url, data={"value": "blank", "csrf_token": token})
    with Ledger(built.db, readonly=True) as led:
        q = Q.answer_question(led, page_id, "S09")
        assert q is not None and q.settled and q.value is None
        decision_id = q.decision_id
    assert client.post(f"/decision/{decision_id}/undo", data={"csrf_token": token, "return_to": "//evil.example/"}
                       ).headers["Location"].endswith("/history")
    with Ledger(built.db, readonly=True) as led:
        q = Q.answer_question(led, page_id, "S09")
        assert q is not None and not q.settled and q.value == 2
        (row,) = Q.decision_history(led)
        assert row.reverted_at is not None and row.previous == "2" and row.value is None


def test_every_page_renders(built: Built, client: FlaskClient) -> None:
    for path in ("/", "/answers", "/comments", "/pages", "/incomplete", "/history",
                 f"/answers?form={FORM}&statement=S03"):
        resp = client.get(path, follow_redirects=True)
        assert resp.status_code == 200, path
        assert re.search(r"<h1[ >]", resp.get_data(as_text=True)), path
    assert client.get("/answer/999/S01").status_code == 404


def _tiles(html: str) -> dict[str, int]:
    return {k: int(n) for n, k in re.findall(r'<span class="big">(\d+)</span> (answers|comments|pages|copies)', html)}


def _nav(html: str) -> dict[str, int]:
    pattern = r'>(Answers|Comments|Pages|Missing pages) <span class="count">(\d+)</span>'
    return {k: int(n) for k, n in re.findall(pattern, html)}


def test_overview_and_navigation_count_what_is_left(built: Built, client: FlaskClient) -> None:
    """The overview's tiles and every page's navigation bar, counted by hand from the built ledger:
    5 answers (2 multiple, uncertain, poor fit, conflict), 2 comments, 2 stray pages, 2 copies missing pages."""
    home = client.get("/").get_data(as_text=True)
    assert _tiles(home) == {"answers": 5, "comments": 2, "pages": 2, "copies": 2}
    for path in ("/", "/comments", "/pages", "/incomplete", "/history"):
        html = client.get(path, follow_redirects=True).get_data(as_text=True)
        assert _nav(html) == {"Answers": 5, "Comments": 2, "Pages": 2, "Missing pages": 2}, path
    # the per-statement table: S03 is open on two copies, none done yet
    row = re.search(r'<span class="item-id">S03</span>.*?</tr>', home, re.S)
    assert row is not None and re.findall(r"<td>(\d+)</td>", row.group(0)) == ["2", "0"]
    # settle one answer: the numbers follow the ledger
    page_id = _ids(built.db, built.serials[0], "S03")
    token = _csrf(client, f"/answer/{page_id}/S03")
    assert client.post(f"/answer/{page_id}/S03", data={"csrf_token": token, "value": "2"}).status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert _tiles(home)["answers"] == 4 and _nav(home)["Answers"] == 4
    row = re.search(r'<span class="item-id">S03</span>.*?</tr>', home, re.S)
    assert row is not None and re.findall(r"<td>(\d+)</td>", row.group(0)) == ["1", "1"]


# --- the real thing: a browser ----------------------------------------------------------------

def test_chromium_is_found_wherever_it_is_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not only Debian's /usr/bin/chromium: the names other systems use on PATH, or a path given in
    PAPERVOICE_CHROMIUM (a wrong one is not silently replaced by another browser)."""
    import browsers

    monkeypatch.setattr(browsers, "DEBIAN", tmp_path / "no-debian-chromium")
    monkeypatch.delenv("PAPERVOICE_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert browsers.find_chromium() is None
    for name in ("google-chrome", "chromium-browser", "chromium"):  # the later ones are preferred
        exe = tmp_path / name
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
        assert browsers.find_chromium() == exe
    own = tmp_path / "own" / "chrome"
    own.parent.mkdir()
    own.write_text("#!/bin/sh\n")
    own.chmod(0o755)
    monkeypatch.setenv("PAPERVOICE_CHROMIUM", str(own))
    assert browsers.find_chromium() == own
    monkeypatch.setenv("PAPERVOICE_CHROMIUM", str(tmp_path / "missing"))
    assert browsers.find_chromium() is None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = find_chromium()
    if chromium is None:
        pytest.skip(CHROMIUM_MISSING)
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def live(built: Built) -> Iterator[str]:
    app = create_app(ReviewOptions(db=built.db, port=0, open_browser=False))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.mark.browser
def test_browser_review_by_keyboard_persists_and_exports(browser: Any, live: str, built: Built,
                                                          tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live}/answers?form={FORM}&statement=S03")
    first, second = built.serials[:2]
    assert first in page.inner_text(".meta")
    assert "2 left" in page.inner_text(".progress")
    page.keyboard.press("4")
    assert page.evaluate("document.activeElement.value") == "4"
    with page.expect_navigation():  # the save redirects to the next open question
        page.keyboard.press("Enter")
    assert second in page.inner_text(".meta") and "1 left" in page.inner_text(".progress")
    assert "Saved 4 for S03" in page.inner_text(".banner")
    page.keyboard.press("ArrowLeft")  # back to the one just settled: it shows the decision
    page.wait_for_function(f"document.querySelector('.meta').textContent.includes('{first}')")
    assert page.get_attribute('.choice[data-key="4"]', "aria-pressed") == "true"

    # correct a comment: keyboard only (the text box has focus; Ctrl+Enter saves)
    page.goto(f"{live}/comments")
    assert page.evaluate("document.activeElement.id") == "text"
    page.keyboard.press("Control+a")
    page.keyboard.type("The plan was late but kind.")
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    assert "Saved the comment" in page.inner_text(".banner")

    # reload everything from the ledger: both persisted
    page_id = _ids(built.db, first, "S03")
    page.goto(f"{live}/answer/{page_id}/S03")
    page.reload()
    assert page.get_attribute('.choice[data-key="4"]', "aria-pressed") == "true"
    assert "Settled" in page.inner_text(".settled")
    with Ledger(built.db, readonly=True) as led:
        c = next(q for q in Q.comment_questions(led) if q.serial == first)
    page.goto(f"{live}/comment/{c.page_id}/C1")
    page.reload()
    assert page.input_value("#text") == "The plan was late but kind."
    page.goto(f"{live}/history")
    assert "The plan was late but kind." in page.inner_text("table")
    page.close()

    from openpyxl import load_workbook

    from pipeline.export.workbook import export_workbook
    from pipeline.options import ExportOptions

    out = export_workbook(ExportOptions(output=tmp_path / "results.xlsx", db=built.db))
    cells = _workbook_cells(load_workbook(out, read_only=True))
    assert any(v == "The plan was late but kind." for v in cells.values()), "corrected comment not exported"
    assert XSS not in cells.values()
    assert _cell_for(cells, first, "S03") in (4, "4"), "reviewed answer not exported"


def _workbook_cells(wb: Any) -> dict[tuple[str, int, int], Any]:
    return {(ws.title, r, c): v for ws in wb.worksheets
            for r, row in enumerate(ws.iter_rows(values_only=True)) for c, v in enumerate(row) if v is not None}


def _cell_for(cells: dict[tuple[str, int, int], Any], serial: str, item: str) -> Any:
    """The value in the row naming `serial`, column headed `item`, on the first sheet that has both."""
    sheets = list(dict.fromkeys(sheet for sheet, _r, _c in cells))
    for sheet in sheets:
        heads = [(r, c) for (s, r, c), v in cells.items() if s == sheet and v == item]
        rows = [r for (s, r, _c), v in cells.items() if s == sheet and v == serial]
        for hr, hc in heads:
            for r in rows:
                if r > hr:
                    return cells.get((sheet, r, hc))
    return None


@pytest.mark.browser
def test_browser_ocr_script_is_inert(browser: Any, live: str, built: Built) -> None:
    page = browser.new_page()
    with Ledger(built.db, readonly=True) as led:
        c = next(q for q in Q.comment_questions(led) if q.serial == built.serials[0])
    page.goto(f"{live}/comment/{c.page_id}/C1")
    page.wait_for_timeout(200)
    assert page.evaluate("window.__pwned === undefined")
    assert "pwned" not in page.title()
    assert page.input_value("#text") == XSS  # shown as text, exactly as read
    assert page.locator("script").count() == 1  # only our own review.js
    page.close()


@pytest.mark.browser
def test_browser_post_without_csrf_is_refused(browser: Any, live: str, built: Built) -> None:
    page = browser.new_page()
    page.goto(live)
    page_id = _ids(built.db, built.serials[0], "S03")
    # a form built in the page itself, like a forged one, but without the hidden token
    page.evaluate("""(url) => {
        const f = document.createElement('form');
        f.method = 'post'; f.action = url;
        const v = document.createElement('input');
        v.name = 'value'; v.value = '2'; f.appendChild(v);
        document.body.appendChild(f); f.submit(); }""", f"{live}/answer/{page_id}/S03")
    page.wait_for_load_state()
    assert "Refused" in page.inner_text("h1")
    # and straight from the browser's own request context (its cookies, no token)
    assert page.request.post(f"{live}/answer/{page_id}/S03", form={"value": "2"}).status == 403
    with Ledger(built.db, readonly=True) as led:
        assert led.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 0
    page.close()


@pytest.mark.browser
def test_browser_focus_opens_on_the_work_not_the_navigation(browser: Any, live: str, built: Built) -> None:
    """Opening a question puts the focus on it: its heading (two marks: no box is pre-picked), or the box the
    scanner guessed; a Tab from the heading reaches the page's own controls, never the navigation above."""
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live}/answer/{_ids(built.db, built.serials[0], 'S03')}/S03")  # boxes 2 and 4 both marked
    focused = page.evaluate("() => ({id: document.activeElement.id, tag: document.activeElement.tagName})")
    assert focused == {"id": "work", "tag": "H1"}, focused
    assert page.evaluate("document.querySelector('#work').getBoundingClientRect().top") >= 0  # and in view
    page.keyboard.press("Tab")
    assert page.evaluate("!!document.activeElement.closest('main') && !document.activeElement.closest('header')")
    page.keyboard.press("4")  # the number keys still pick a box from the heading
    assert page.evaluate("document.activeElement.dataset.key") == "4"
    page.goto(f"{live}/answer/{_ids(built.db, built.serials[0], 'S06')}/S06")  # a faint mark: its guess is focused
    assert page.evaluate("document.activeElement.dataset.key") == "4"
    with Ledger(built.db, readonly=True) as led:
        stray = Q.page_questions(led)[0]
    page.goto(f"{live}/page/{stray.page_id}")
    assert page.evaluate("document.activeElement.id") == "work"
    page.close()


@pytest.mark.browser
def test_browser_screenshots(browser: Any, live: str, built: Built) -> None:
    """Queue and comment pages render calmly; writes the README pictures when asked to."""
    out = os.environ.get("PAPERVOICE_REVIEW_SCREENSHOTS")
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(f"{live}/answers")
    assert page.locator(".choice").count() == 6
    font_px = float(page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)"))
    assert font_px >= 19, "body text should be large"
    _assert_basic_accessibility(page)
    page.keyboard.press("2")
    with page.expect_navigation():  # settle the first: the next one shows the saved banner with Undo
        page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.dataset.key") == "4"  # the scanner's guess has the focus
    if out:
        page.screenshot(path=str(Path(out) / "review-queue.png"), full_page=True)
    with Ledger(built.db, readonly=True) as led:
        c = next(q for q in Q.comment_questions(led) if q.serial == built.serials[1])
    page.goto(f"{live}/comment/{c.page_id}/C1")
    _assert_basic_accessibility(page)
    for path in ("/", "/pages", "/incomplete", "/history"):
        page.goto(live + path)
        _assert_basic_accessibility(page)
    page.goto(f"{live}/comment/{c.page_id}/C1")
    if out:
        page.screenshot(path=str(Path(out) / "review-comment.png"), full_page=True)
    page.close()


def _assert_basic_accessibility(page: Any) -> None:
    """The checks a screen-reader user notices first: language, one h1, alt text, labelled controls."""
    problems = page.evaluate("""() => {
        const out = [];
        if (!document.documentElement.lang) out.push('no lang');
        if (document.querySelectorAll('h1').length !== 1) out.push('h1 count');
        for (const img of document.images) if (!img.alt) out.push('img without alt ' + img.src);
        for (const el of document.querySelectorAll('input:not([type=hidden]), textarea, select')) {
            if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label')) out.push('unlabelled ' + el.name);
        }
        return out; }""")
    assert problems == [], problems


def test_history_json_values_render(built: Built, client: FlaskClient) -> None:
    """Page decisions are JSON in the ledger; the history shows them in words."""
    assert Q.describe_value("page", json.dumps({"action": "acknowledge_missing", "missing": [2, 3]})) == \
        "acknowledged: page 2, 3 missing"
    assert Q.describe_value("comment", "") == "no comment"
    assert Q.describe_value("answer", None) == "blank"
    # acknowledge the copy missing page 3 on the page itself: the history page says so in words, not JSON
    with Ledger(built.db, readonly=True) as led:
        copy = next(c for c in Q.incomplete_copies(led) if c.serial == built.serials[2])
    token = _csrf(client, "/incomplete")
    assert client.post(f"/incomplete/{copy.anchor_page_id}", data={"csrf_token": token}).status_code == 302
    history = client.get("/history").get_data(as_text=True)
    assert "acknowledged: page 3 missing" in history
    assert "acknowledge_missing" not in history and "&#34;missing&#34;" not in history


# --- serve(): the command -------------------------------------------------------------------

def test_serve_reports_a_busy_port(built: Built) -> None:
    import socket

    from pipeline.review.app import serve

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(UsageError, match="try --port"):
            serve(ReviewOptions(db=built.db, port=port, open_browser=False))


def test_command_prints_the_address_and_serves(built: Built) -> None:
    import subprocess
    import sys
    import urllib.request

    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "review", "--db", str(built.db), "--port", "0",
                             "--no-browser"], stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parent.parent)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert match, line
        with urllib.request.urlopen(match.group(1) + "answers") as resp:  # follows the redirect to a question
            html = resp.read().decode()
        assert "Which box did the person mean?" in html
    finally:
        proc.terminate()
        proc.wait(timeout=10)
