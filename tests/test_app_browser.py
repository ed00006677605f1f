"""The whole office job through the app, in a real browser (Playwright over Debian's Chromium).

Print three copies on the Print page and download the PDF; simulated returns of exactly those copies (the
practice run, `simulate --printed`) are dropped into the watched folder, then a covering letter; the Scan page
shows the progress without being reloaded (the letter "Needs a look"); a flagged answer
is settled by keyboard in Review; the workbook is downloaded from Results and opened with openpyxl.  Then
every page is looked at 1280 and 390 px wide (screenshots into $PAPERVOICE_APP_SCREENSHOTS when set), put
through axe-core (no serious or critical WCAG 2.2 AA violation) and walked with the Tab key (every control
reachable).  SQLite only: about the pages in a browser (the app on PostgreSQL is in test_app).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pikepdf
import pytest
from werkzeug.serving import make_server

from pipeline.app.server import create_office_app
from pipeline.form.definition import FormRegistry
from pipeline.ledger import queries as Q
from pipeline.ledger.store import Ledger
from pipeline.options import AppOptions
from pipeline.simulate.returns import SimulationSpec, simulate_returns
from pipeline.simulate.world import AnswerMix
from tests.test_app import FORM, letter
from tests.test_review import (
    _cell_for,
    _workbook_cells,
    browser,  # noqa: F401  (the Chromium fixture, one for all browser tests)
)

pytestmark = pytest.mark.browser

WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture
def office(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    db = tmp_path / "survey.db"
    Ledger(db).close()
    watch = tmp_path / "scanner"
    watch.mkdir()
    app = create_office_app(AppOptions(db=db, port=0, open_browser=False, jobs=1, watch=watch))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", db, watch
    server.shutdown()
    server.server_close()
    app.extensions["papervoice_office"].stop()


def _axe(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG}, "resultTypes": ["violations"]})
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def _narrow_menu(page: Any, shot: Path) -> list[str]:
    """On a phone the navigation folds behind one Menu button: little room above the work, and the button
    opens and closes it by keyboard, saying which it is."""
    found = []
    header = page.evaluate("document.querySelector('header.top').getBoundingClientRect().height")
    if header > 80:
        found.append(f"the navigation takes {header:.0f} px above the page")
    button = page.locator("#menu-button")
    if not button.is_visible():
        return [*found, "no Menu button on a narrow screen"]
    links = "#site-menu a"
    if page.locator(links).first.is_visible() or button.get_attribute("aria-expanded") != "false":
        found.append("the menu starts open")
    button.focus()
    page.keyboard.press("Enter")
    if not page.locator(links).first.is_visible() or button.get_attribute("aria-expanded") != "true":
        found.append("Enter on Menu does not open it")
    page.screenshot(path=str(shot))
    page.keyboard.press("Tab")
    if not page.evaluate("!!document.activeElement.closest('#site-menu')"):
        found.append("Tab after Menu does not reach its first link")
    page.keyboard.press("Escape")
    if page.locator(links).first.is_visible() or page.evaluate("document.activeElement.id") != "menu-button":
        found.append("Escape does not close the menu and return to its button")
    return found


def _every_control_by_tab(page: Any) -> list[str]:
    """Tab through the page; returns the controls the focus never reached."""
    count = page.evaluate("""() => {
        const controls = 'a[href], button, input:not([type=hidden]), select, textarea, summary';
        const all = [...document.querySelectorAll(controls)]
            .filter(el => el.checkVisibility());
        all.forEach((el, i) => el.dataset.tabProbe = String(i));
        return all.length; }""")
    page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    page.focus("body") if page.locator("body").count() else None
    reached: set[str] = set()
    radios_seen: set[str] = set()
    for _ in range(count * 2 + 5):
        page.keyboard.press("Tab")
        probe = page.evaluate("""() => { const el = document.activeElement;
            return el ? [el.dataset.tabProbe || '', el.type === 'radio' ? el.name : ''] : ['', '']; }""")
        if probe[0]:
            reached.add(probe[0])
        if probe[1]:
            radios_seen.add(probe[1])
    missed = page.evaluate("""([reached, radios]) => [...document.querySelectorAll('[data-tab-probe]')]
        .filter(el => !reached.includes(el.dataset.tabProbe) && !(el.type === 'radio' && radios.includes(el.name)))
        .map(el => el.outerHTML.slice(0, 120))""", [sorted(reached), sorted(radios_seen)])
    return list(missed)


def test_the_whole_job_in_the_browser(browser: Any, office: tuple[str, Path, Path], tmp_path: Path) -> None:  # noqa: F811
    base, db, watch = office
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True, bypass_csp=False)
    page = context.new_page()

    # 1. Print three copies, by keyboard on the real form, and download the PDF
    page.goto(base + "/print")
    preview = page.locator(f"img[src*='/print/preview/{FORM}/']")
    preview.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 300", arg=preview.element_handle())
    page.fill(f"#copies-{FORM}", "3")
    page.focus(f"#label-{FORM}")
    page.keyboard.type("North team")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Ready: 3 copies" in page.inner_text("[role=status]")
    with page.expect_download() as got:
        page.click("#download")
    printed = tmp_path / "printed.pdf"
    got.value.save_as(printed)
    with pikepdf.open(printed) as pdf:
        assert len(pdf.pages) >= 3
    with Ledger(db, readonly=True) as led:
        issued = [r[0] for r in led.execute("SELECT serial FROM serials ORDER BY number")]
        label = led.execute("SELECT label FROM issue_batches").fetchone()[0]
    assert len(issued) == 3 and label == "North team"

    # 2. Simulated returns of exactly those copies into the scanner folder: the office guide's practice run
    #    (`simulate --printed`), which fills the printed copies and only reads the ledger
    truth = simulate_returns(SimulationSpec(
        forms=(FORM,), copies=3, seed=11, db=db, output_dir=tmp_path / "returns", styles=("standard",),
        junk=False, answers=AnswerMix(multiple=0.25), jobs=1, blank_comments=True, printed=True),
        FormRegistry.from_dirs([]))
    files = sorted(truth.files)
    assert sorted(c["serial"] for c in json.loads(truth.truth_path.read_text())["copies"]) == sorted(issued)
    page.goto(base + "/scan")
    assert str(watch) in page.inner_text("main")
    for f in files:
        shutil.copy(f, watch / f.name)

    # 3. Progress, seen without reloading: the table fills in as the files are read
    page.wait_for_function("n => document.querySelectorAll('#scan-files tr.state-done').length === n",
                           arg=len(files), timeout=90_000)
    assert "pages read in all" in page.inner_text("#scan-state")
    # a covering letter: read, but it needs a person, and says so in words (not a tick)
    (watch / "covering letter.png").write_bytes(letter().getvalue())
    page.wait_for_selector("#scan-files tr.state-needs-a-look", timeout=90_000)
    row = page.inner_text("#scan-files tr.state-needs-a-look")
    assert "covering letter.png" in row and "Needs a look:" in row and "Review" in row, row

    # 4. A flagged answer, settled by keyboard in Review
    page.click("nav.parts >> text=Review")
    with Ledger(db, readonly=True) as led:
        open_before = [q for q in Q.answer_questions(led) if not q.settled]
    assert open_before, "the returns should hold at least one flagged answer"
    page.click("a.tile[href$='/review/answers']")
    page.wait_for_selector(".choice")
    first = open_before[0]
    assert first.serial in page.inner_text(".meta")
    page.click("details.whole-page summary")  # the whole page, on demand, beside the question
    page.wait_for_function("() => document.querySelector('details.whole-page img').naturalWidth > 500")
    page.keyboard.press("2")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert f"Saved 2 for {first.item}" in page.inner_text(".banner")

    # 5. The workbook from Results, opened with openpyxl: the answers are there, the settled one as chosen
    page.click("nav.parts >> text=Results")
    with page.expect_download() as got:
        page.click("#workbook")
    data = Path(got.value.path()).read_bytes()
    cells = _workbook_cells(openpyxl.load_workbook(io.BytesIO(data), read_only=True))
    assert _cell_for(cells, first.serial, first.item) in (2, "2")
    for serial in issued:
        assert serial in cells.values()
    page.close()

    # 6. Every page at 1280 and 390 px: screenshots, axe-core, the Tab key
    shots = Path(os.environ.get("PAPERVOICE_APP_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    with Ledger(db, readonly=True) as led:
        q = next(q for q in Q.answer_questions(led))
    pages = {"status": "/", "print": "/print", "scan": "/scan", "review": "/review/",
             "answer": f"/review/answer/{q.page_id}/{q.item}", "history": "/review/history",
             "results": "/results", "help": "/help"}
    problems: dict[str, list[str]] = {}
    for width in (1280, 390):
        view = context.new_page()
        view.set_viewport_size({"width": width, "height": 900})
        for name, path in pages.items():
            view.goto(base + path)
            view.wait_for_load_state("networkidle")
            view.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
            found = _axe(view)
            found += [f"not reached by Tab: {m}" for m in _every_control_by_tab(view)]
            if width == 390:
                found += _narrow_menu(view, shots / f"{name}-{width}-menu.png")
            wide = view.evaluate("document.documentElement.scrollWidth") - width
            if wide > 2:
                found.append(f"wider than the screen by {wide} px")
            if found:
                problems[f"{name}@{width}"] = found
        view.close()
    context.close()
    assert problems == {}, problems
