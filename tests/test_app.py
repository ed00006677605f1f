"""The office app (`papervoice app`): every part through its real pages, the background scanner, the guards.

Returns are simulated in code (print -> mark -> scan-degrade), the app is the real Flask app; the watched
folder test starts the real command on a real port, and compares what it read with `papervoice scan` run
by hand on a copy of the same ledger.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import NewLedger
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from pipeline.app.server import create_office_app
from pipeline.form.definition import FormRegistry
from pipeline.ledger import queries as Q
from pipeline.ledger.status import reconcile
from pipeline.ledger.store import Ledger
from pipeline.ledger.url import local_path
from pipeline.options import AppOptions
from pipeline.review.safety import LoginLimiter
from pipeline.simulate.returns import SimulationSpec, simulate_returns
from pipeline.simulate.world import AnswerMix

FORM = "care-planning-person"
HOST = {"Host": "127.0.0.1"}
REPO = Path(__file__).resolve().parents[1]


# --- fixtures: a ledger with printed copies, and simulated returns of them -------------------------------


def simulate(db: Path, out: Path, copies: int = 3, seed: int = 3) -> list[Path]:
    """Print `copies` copies into `db` (as generate does) and make their filled-in, scanned returns."""
    truth = simulate_returns(SimulationSpec(
        forms=(FORM,), copies=copies, seed=seed, db=db, output_dir=out, styles=("standard",), junk=False,
        answers=AnswerMix(multiple=0.25), jobs=1, blank_comments=True), FormRegistry.from_dirs([]))
    return sorted(truth.files)


@pytest.fixture(scope="module")
def returns(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """A ledger that printed three copies (kept pristine: tests copy it) and the scans of those copies."""
    root = tmp_path_factory.mktemp("returns")
    db = root / "printed.db"
    return db, simulate(db, root / "out")


def copy_ledger(db: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with Ledger(db, readonly=True) as src:
        src.execute("VACUUM INTO ?", (str(dest),))
    from pipeline.ledger.stations import claim

    with Ledger(dest) as twin, twin.transaction() as copied:  # a hand copy would refuse to print (W8): this
        claim(copied)  # twin prints the same serials on purpose, to simulate the returns of the office's copies
    return dest


def beside(db: Path | str, suffix: str) -> Path:
    """Where the app keeps a folder that belongs to the ledger `db` (uploads, prints)."""
    return local_path(db).with_name(local_path(db).stem + suffix)


def make_app(db: Path | str, **kw: Any) -> Flask:
    kw.setdefault("open_browser", False)
    kw.setdefault("jobs", 1)
    start = kw.pop("start_inbox", True)
    return create_office_app(AppOptions(db=db, **kw), start_inbox=start)


def csrf(client: FlaskClient, path: str = "/scan") -> str:
    page = client.get(path, headers=HOST).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


def wait_for(check: Callable[[], Any], timeout_s: float = 120.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def responses(path: Path | bytes) -> list[tuple[Any, ...]]:
    """The Responses rows of a workbook, as values."""
    wb = openpyxl.load_workbook(io.BytesIO(path) if isinstance(path, bytes) else path, read_only=True)
    sheet = next(ws for ws in wb.worksheets if ws.title.lower().startswith("responses"))
    return [tuple(r) for r in sheet.iter_rows(values_only=True)]


# --- every part renders, behind the review page's guards ----------------------------------------------


def test_every_part_renders_and_is_guarded(returns: tuple[Path, list[Path]], new_ledger: NewLedger) -> None:
    db = new_ledger.like(returns[0], "l")
    app = make_app(db, start_inbox=False)
    client = app.test_client()
    for path in ("/", "/status", "/print", "/scan", "/review/", "/results", "/help", "/scan/progress.json"):
        resp = client.get(path, headers=HOST)
        assert resp.status_code == 200, path
    page = client.get("/", headers=HOST).get_data(as_text=True)
    for part in ("Print", "Scan", "Status", "Review", "Results", "Help"):
        assert f">{part}</a>" in page
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400  # DNS rebinding
    assert client.post("/print", data={"form": FORM, "copies": "1"}, headers=HOST).status_code == 403  # no CSRF
    assert client.post("/scan/upload", headers=HOST).status_code == 403
    preview = client.get(f"/print/preview/{FORM}/standard/a4.png", headers=HOST)
    assert preview.mimetype == "image/png" and Image.open(io.BytesIO(preview.data)).size[0] > 300


def test_api_status_is_the_status_command(returns: tuple[Path, list[Path]], new_ledger: NewLedger) -> None:
    db = new_ledger.like(returns[0], "l")
    client = make_app(db, start_inbox=False).test_client()
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "status", "--json", "--db", db],
                          capture_output=True, text=True, check=True, cwd=REPO)
    assert client.get("/api/status", headers=HOST).get_data(as_text=True) == proc.stdout


def test_print_records_serials_as_generate_does(new_ledger: NewLedger) -> None:
    db = new_ledger("l")
    Ledger(db).close()
    client = make_app(db, start_inbox=False).test_client()
    token = csrf(client, "/print")
    resp = client.post("/print", headers=HOST, data={"csrf_token": token, "form": FORM, "copies": "3",
                                                      "style": "large-print", "paper": "letter",
                                                      "label": "North team"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Download the PDF" in body
    link = re.search(r'href="(/print/pdf/[^"]+)"', body)
    assert link
    pdf = client.get(link.group(1), headers=HOST)
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    with Ledger(db, readonly=True) as led:
        rows = led.execute("SELECT style, paper, copies, label FROM issue_batches").fetchall()
        serials = led.execute("SELECT COUNT(*) FROM serials").fetchone()[0]
    assert [tuple(r) for r in rows] == [("large-print", "letter", 3, "North team")] and serials == 3
    status = client.get("/", headers=HOST).get_data(as_text=True)
    assert "North team · care-planning-person" in status and "0 of 3 back" in status
    bad = client.post("/print", headers=HOST, data={"csrf_token": token, "form": FORM, "copies": "0",
                                                     "style": "standard", "paper": "a4"})
    assert bad.status_code == 400 and "from 1 to" in bad.get_data(as_text=True)
    assert client.get("/print/pdf/..%2F..%2Fl.db", headers=HOST).status_code == 404
    assert client.get(f"/print/pdf/..%2F{local_path(db).name}", headers=HOST).status_code == 404


def letter() -> io.BytesIO:
    """A typed covering letter, scanned at 300 dpi: a page that is not a form."""
    from PIL import ImageDraw

    page = Image.new("L", (2480, 3508), 255)
    draw = ImageDraw.Draw(page)
    for n in range(30):
        draw.rectangle((250, 300 + 90 * n, 250 + 60 * (n % 7 + 20), 330 + 90 * n), fill=40)
    out = io.BytesIO()
    page.save(out, format="PNG", dpi=(300, 300))
    out.seek(0)
    return out


def test_uploads_are_stored_under_generated_names_and_hostile_files_refused(
        tmp_path: Path, returns: tuple[Path, list[Path]], new_ledger: NewLedger) -> None:
    db = new_ledger.like(returns[0], "l")
    app = make_app(db)
    client = app.test_client()
    token = csrf(client)
    scan_file = returns[1][0]
    files = [
        (io.BytesIO(scan_file.read_bytes()), "../../<img src=x onerror=alert(1)>" + scan_file.suffix),
        (io.BytesIO(b"%PDF-1.4 this is not really a PDF"), "broken.pdf"),
        (io.BytesIO(b"MZ\x90\x00 a program"), "setup.exe"),
        (letter(), "covering letter.png"),
    ]
    resp = client.post("/scan/upload", headers=HOST, data={"csrf_token": token, "files": files},
                       content_type="multipart/form-data")
    assert resp.status_code == 302
    stored = sorted(p.name for p in beside(db, "-uploads").iterdir())
    assert len(stored) == 3 and all(re.fullmatch(r"upload-\d{8}-\d{6}-[0-9a-f]{12}\.(pdf|tif|png)", n)
                                    for n in stored)
    assert not (tmp_path / "evil.pdf").exists()
    wait_for(lambda: len(app.extensions["papervoice_office"].snapshot()["files"]) == 3, what="the files read")
    snap = client.get("/scan/progress.json", headers=HOST).get_json()
    by_name = {e["name"]: e for e in snap["files"]}
    assert by_name["<img src=x onerror=alert(1)>" + scan_file.suffix]["state"] == "done"
    broken = by_name["broken.pdf"]
    assert broken["state"] == "failed" and broken["advice"]
    # in the user's words: their own file name (never the made-up upload name), the advice in its own column
    assert "upload-" not in broken["words"] + broken["advice"] and "What to do" not in broken["words"]
    assert "damaged" in broken["words"] and "scan the paper again" in broken["advice"].lower()
    # a page that is not a form needs a person: it must not look like success (words, icon, colour)
    assert by_name["covering letter.png"]["state"] == "needs a look" and "Review" in by_name["covering letter.png"][
        "advice"]
    page = client.get("/scan", headers=HOST).get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    row = re.search(r'<tr class="state-([a-z-]+)"><th scope="row">covering letter.png</th>.*?</tr>', page, re.S)
    assert row and row.group(1) == "needs-a-look" and '<span class="outcome">Needs a look:</span>' in row.group(0)
    assert not re.search(r"upload-\d{8}", page)
    assert client.get("/", headers=HOST).status_code == 200  # the app is still up
    app.extensions["papervoice_office"].stop()


def test_upload_size_limit(new_ledger: NewLedger) -> None:
    db = new_ledger("l")
    Ledger(db).close()
    client = make_app(db, start_inbox=False, max_upload_bytes=10_000).test_client()
    token = csrf(client)
    big = (io.BytesIO(b"\0" * 50_000), "big.tif")
    resp = client.post("/scan/upload", headers=HOST, data={"csrf_token": token, "files": [big]},
                       content_type="multipart/form-data")
    assert resp.status_code == 413
    assert not beside(db, "-uploads").exists() or not any(beside(db, "-uploads").iterdir())


# --- sign-in is limited per client and in total ----------------------------------------------------------


def test_login_limiter_per_client_and_total() -> None:
    limiter = LoginLimiter(per_client=3, total=5, window_s=60)
    assert [limiter.attempt("a", now=0) for _ in range(4)] == [0, 0, 0, 60]
    assert limiter.attempt("b", now=1) == 0 and limiter.attempt("c", now=1) == 0
    assert limiter.attempt("d", now=2) > 0  # five in all: everyone waits
    assert limiter.attempt("a", now=61) == 0  # the window moved on


def test_fifty_parallel_guesses_do_not_all_get_through(new_ledger: NewLedger, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline import constants as C

    monkeypatch.setattr(C, "REVIEW_WRONG_TOKEN_DELAY_S", 0.0)
    db = new_ledger("l")
    Ledger(db).close()
    app = make_app(db, start_inbox=False, token="Correct-Horse-Battery-9x")
    results: list[int] = []

    def guess(n: int) -> None:
        client = app.test_client()
        token = csrf(client, "/review/login")
        resp = client.post("/review/login", headers=HOST, data={"csrf_token": token, "token": f"guess-{n}"},
                           environ_base={"REMOTE_ADDR": f"10.0.{n // 5}.1"})
        results.append(resp.status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(403) <= C.REVIEW_LOGIN_MAX_TOTAL and results.count(429) >= 10
    client = app.test_client()
    token = csrf(client, "/review/login")
    resp = client.post("/review/login", headers=HOST, data={"csrf_token": token, "token": "Correct-Horse-Battery-9x"})
    assert resp.status_code == 429  # even the right token waits while the window is used up


# --- several people at once ----------------------------------------------------------------------------


def test_two_reviewers_and_a_scanner_lose_nothing_and_never_settle_twice(
        tmp_path: Path, returns: tuple[Path, list[Path]], new_ledger: NewLedger) -> None:
    db = new_ledger.like(returns[0], "l")
    watch = tmp_path / "scanner"
    watch.mkdir()
    app = make_app(db, watch=watch)
    box = app.extensions["papervoice_office"]
    shutil.copy(returns[1][0], watch / returns[1][0].name)
    wait_for(lambda: box.snapshot()["files"], what="the first file read")
    with Ledger(db, readonly=True) as led:
        questions = [q for q in Q.answer_questions(led) if not q.settled]
    assert len(questions) >= 2, "the simulated returns should hold flagged answers"
    contested, rest = questions[0], questions[1:]

    ann, bob = app.test_client(), app.test_client()
    url = f"/review/answer/{contested.page_id}/{contested.item}"
    forms = {}
    for who in (ann, bob):
        page = who.get(url, headers=HOST).get_data(as_text=True)
        forms[id(who)] = {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
                          "seen": re.search(r'name="seen" value="([^"]*)"', page).group(1)}
    # the scanner reads the second file while both people choose
    shutil.copy(returns[1][1], watch / returns[1][1].name)
    ann.post(url, headers=HOST, data={**forms[id(ann)], "value": "2"})
    told = bob.post(url, headers=HOST, data={**forms[id(bob)], "value": "4"}, follow_redirects=True)
    assert "Not saved: someone else settled it meanwhile (2)" in told.get_data(as_text=True)

    def settle_half(client: FlaskClient, half: list[Any]) -> None:
        for q in half:
            u = f"/review/answer/{q.page_id}/{q.item}"
            page = client.get(u, headers=HOST).get_data(as_text=True)
            data = {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
                    "seen": re.search(r'name="seen" value="([^"]*)"', page).group(1), "value": "blank"}
            assert client.post(u, headers=HOST, data=data).status_code == 302

    workers = [threading.Thread(target=settle_half, args=(c, rest[i::2])) for i, c in enumerate((ann, bob))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wait_for(lambda: len(box.snapshot()["files"]) == 2 and box.snapshot()["state"] == "idle", what="second file")
    box.stop()
    with Ledger(db, readonly=True) as led:
        decisions = led.execute("SELECT page_id, item, value FROM decisions").fetchall()
        assert len(decisions) == 1 + len(rest)  # nothing lost, nothing twice
        assert [tuple(d) for d in decisions if (d[0], d[1]) == (contested.page_id, contested.item)] == [
            (contested.page_id, contested.item, "2")]
        pages = led.execute("SELECT COUNT(*) FROM pages").fetchone()[0]
    assert pages == reconcile(db)["pages"]["total"] > 0


# --- the real command, a watched folder, and the same answers as scanning by hand -------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> bytes:
    req = urllib.request.Request(url, headers={"Host": url.split("/")[2]})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return bytes(resp.read())


@pytest.fixture
def running_app(tmp_path: Path, returns: tuple[Path, list[Path]],
                new_ledger: NewLedger) -> Iterator[tuple[str, Path | str, Path]]:
    db = new_ledger.like(returns[0], "app")
    watch = tmp_path / "scanner"
    watch.mkdir()
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "app", "--db", db, "--watch", str(watch),
                             "--port", str(port), "--no-browser", "--jobs", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _up(base), 60, "the app to start")
        yield base, db, watch
    finally:
        proc.terminate()
        proc.wait(30)


def _up(base: str) -> bool:
    try:
        _get(base + "/api/status")
        return True
    except OSError:
        return False


@pytest.mark.slow
def test_watched_folder_is_read_by_the_running_app_like_scan_by_hand(
        tmp_path: Path, returns: tuple[Path, list[Path]], running_app: tuple[str, Path | str, Path],
        new_ledger: NewLedger) -> None:
    base, _, watch = running_app
    first, second = returns[1][0], returns[1][1]
    shutil.copy(first, watch / first.name)
    # the second arrives as a network scanner writes: a part, a pause, the rest; it must not be read half-written
    data = second.read_bytes()
    with open(watch / second.name, "wb") as fh:
        fh.write(data[: len(data) // 3])
        fh.flush()
        time.sleep(1.5)
        fh.write(data[len(data) // 3:])
    by_hand = new_ledger.like(returns[0], "by-hand")
    subprocess.run([sys.executable, "-m", "pipeline.cli", "scan", "-q", "--jobs", "1", "--db", by_hand,
                    str(watch / first.name), str(watch / second.name)], check=True, capture_output=True, cwd=REPO)
    expected = json.loads(subprocess.run([sys.executable, "-m", "pipeline.cli", "status", "--json", "--db",
                                          by_hand], check=True, capture_output=True, text=True, cwd=REPO).stdout)

    def read_all() -> dict[str, Any] | None:
        # pages are committed one by one, the file's line on the Scan page once its batch is done: wait for both
        got: dict[str, Any] = json.loads(_get(base + "/api/status"))
        listed = json.loads(_get(base + "/scan/progress.json"))["files"]
        return got if got["pages"]["total"] == expected["pages"]["total"] and len(listed) == 2 else None

    got = wait_for(read_all, 180, "the watched files to be read")
    progress = json.loads(_get(base + "/scan/progress.json"))
    assert {e["state"] for e in progress["files"]} == {"done"} and len(progress["files"]) == 2
    got.pop("ledger")
    expected.pop("ledger")
    assert got == expected
    export = tmp_path / "by-hand.xlsx"
    subprocess.run([sys.executable, "-m", "pipeline.cli", "export", "--db", by_hand, "-o", str(export)],
                   check=True, capture_output=True, cwd=REPO)
    assert responses(_get(base + "/export.xlsx")) == responses(export)


def test_a_file_is_complete_by_its_content_and_never_while_cut_short(
        tmp_path: Path, returns: tuple[Path, list[Path]]) -> None:
    """The watched folder reads a file as soon as it is whole: every kind, cut anywhere, is told apart."""
    from pipeline.app.complete import looks_complete, ready

    page = Image.effect_noise((600, 400), 60).convert("L")
    made = {"scan.pdf": returns[1][0].read_bytes()}
    for name, kw in (("scan.png", {}), ("scan.jpg", {"quality": 80}),
                     ("scan.tif", {"compression": "tiff_lzw", "save_all": True, "append_images": [page, page]})):
        buf = io.BytesIO()
        page.save(buf, format={"png": "PNG", "jpg": "JPEG", "tif": "TIFF"}[name[-3:]], **kw)
        made[name] = buf.getvalue()
    for name, data in made.items():
        whole = tmp_path / name
        whole.write_bytes(data)
        assert looks_complete(whole) is True, name
        cut = tmp_path / ("cut-" + name)
        for share in range(1, 20):  # the scanner has written 5 %, 10 %, ... 95 % of it
            cut.write_bytes(data[: len(data) * share // 20])
            assert looks_complete(cut) is False, f"{name} cut at {share * 5} % looks complete"
        assert not ready(cut, 10.0, 0.4, 3.0, 60.0)  # cut short: waits (a scanner may pause between pages) ...
        assert ready(cut, 61.0, 0.4, 3.0, 60.0)  # ... then is read, so its message says it is damaged
        assert not ready(whole, 0.1, 0.4, 3.0, 60.0) and ready(whole, 0.5, 0.4, 3.0, 60.0)


def test_the_folder_is_looked_at_often_only_while_files_arrive(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A scanner's temporary file that is renamed away is forgotten, and an empty file left in the folder
    does not keep a network share busy with quick looks for ever."""
    from pipeline import constants as C
    from pipeline.app.inbox import Inbox

    db = tmp_path / "l.db"
    Ledger(db).close()
    watch = tmp_path / "scanner"
    watch.mkdir()
    box = Inbox(AppOptions(db=db, watch=watch, open_browser=False, jobs=1))
    (watch / "scan.tif").write_bytes(b"II*\x00 half of it")  # a scanner writing under one name ...
    (watch / "empty.tif").write_bytes(b"")
    box._look_at_folder()
    assert box._arriving() and {Path(k).name for k in box._seen} == {"scan.tif", "empty.tif"}
    (watch / "scan.tif").rename(watch / "scan.part")  # ... gives up, or renames it
    box._look_at_folder()
    assert "scan.tif" not in {Path(k).name for k in box._seen}
    (watch / "scan.part").unlink()
    box._look_at_folder()
    assert {Path(k).name for k in box._seen} == {"empty.tif"}
    monkeypatch.setattr(C, "APP_WATCH_INCOMPLETE_S", 0.0)  # the empty file has sat still for long enough
    box._look_at_folder()
    assert not box._arriving() and box._queue == []  # never read (empty), and no longer looked at often


# --- installed with pip alone: no poppler, no tesseract ----------------------------------------------------


@pytest.mark.slow
def test_print_scan_export_without_poppler_or_tesseract(tmp_path: Path) -> None:
    """SQLite only: about an install without poppler or tesseract, with ledger files named as a user would."""
    bindir = tmp_path / "bin"  # a PATH with nothing on it: no pdftoppm, no tesseract (Python is called by path)
    bindir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PATH",)}
    env["PATH"] = str(bindir)
    assert shutil.which("pdftoppm", path=env["PATH"]) is None and shutil.which("tesseract", path=env["PATH"]) is None

    def pv(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=600)

    printed = pv("generate", FORM, "--copies", "2", "-o", "print.pdf", "--db", "survey.db")
    assert printed.returncode == 0, printed.stderr
    made = pv("simulate", FORM, "--copies", "1", "--seed", "5", "--output-dir", "returns")
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "returns" / "simulated.db").exists() and not (tmp_path / "papervoice.db").exists()
    pdfs = sorted((tmp_path / "returns").rglob("*.pdf"))
    assert pdfs, "simulate should write at least one PDF"
    scanned = pv("scan", "--jobs", "1", "--json", "--db", "returns/simulated.db", *map(str, pdfs))
    assert scanned.returncode in (0, 1), scanned.stderr
    assert json.loads(scanned.stdout)["pages_by_status"].get("form", 0) > 0
    # a PDF whose pages must be drawn, not just unpacked (vector pages, as a 'print to PDF' makes them): the
    # print file without the words that mark it as one, so its two blank copies come back as returns
    import pikepdf

    with pikepdf.open(tmp_path / "print.pdf") as pdf:
        del pdf.docinfo["/Keywords"]
        pdf.docinfo["/Creator"] = "Microsoft Print to PDF"
        pdf.save(tmp_path / "vector-return.pdf")
    drawn = pv("scan", "--jobs", "1", "--json", "--db", "survey.db", "vector-return.pdf")
    assert drawn.returncode == 0, drawn.stderr
    assert json.loads(drawn.stdout)["copies_read"] == 2
    exported = pv("export", "--db", "returns/simulated.db", "-o", "results.xlsx")
    assert exported.returncode == 0, exported.stderr
    assert len(responses(tmp_path / "results.xlsx")) > 1


def test_a_ledger_inside_the_scanner_folder_is_left_alone(tmp_path: Path, returns: tuple[Path, list[Path]],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite only: about a ledger file (and its side files) inside the watched folder."""
    from pipeline import constants as C

    monkeypatch.setattr(C, "APP_WATCH_STABLE_S", 0.5)
    monkeypatch.setattr(C, "APP_WATCH_INTERVAL_S", 0.2)
    watch = tmp_path / "scanner"
    db = copy_ledger(returns[0], watch / "survey.db")
    app = make_app(db, watch=watch)
    box = app.extensions["papervoice_office"]
    shutil.copy(returns[1][0], watch / returns[1][0].name)
    wait_for(lambda: box.snapshot()["files"], what="the scan read")
    time.sleep(2.0)  # many looks at the folder: the app's own record beside the ledger must not be taken as a scan
    snap = box.snapshot()
    box.stop()
    assert [e["name"] for e in snap["files"]] == [returns[1][0].name] and snap["state"] == "idle"
    assert (watch / "survey.db.watched.json").exists() and returns[1][0].exists()  # nothing moved away
