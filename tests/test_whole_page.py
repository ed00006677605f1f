"""The whole-page view shows a scan the way up the reader turned it: an upside-down page comes out upright.

A printed copy is rendered, its pages scanned as they came (upright, upside down, a quarter turn), read by the
real scanner, and the review app's whole-page picture of each is compared with the page as printed.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from pipeline.ledger.store import Ledger
from pipeline.options import ReviewOptions
from pipeline.review.app import create_app
from pipeline.scan.coordinator import scan
from tests.test_scan import issue_copy, opts

FORM = "care-planning-person"


def _small(img: np.ndarray) -> np.ndarray:
    return cv2.resize(img.astype(np.float32), (100, 141), interpolation=cv2.INTER_AREA).ravel()


def _likeness(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(_small(a), _small(b))[0, 1])


def test_whole_page_is_shown_as_the_reader_turned_it(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    _, pages, _ = issue_copy(db, FORM, "standard")
    turns = {1: 2, 2: 0, 3: 3}  # page -> anticlockwise quarter turns as scanned (2: upside down, 3: turned right)
    files = []
    for n, page in enumerate(pages, start=1):
        out = tmp_path / f"page{n}.png"
        Image.fromarray(np.ascontiguousarray(np.rot90(page, turns.get(n, 0)))).save(out, dpi=(200, 200))
        files.append(out)
    scan(files, opts(db))
    with Ledger(db, readonly=True) as led:
        ids = {int(r[1]): int(r[0]) for r in led.execute("SELECT id, form_page FROM pages WHERE status = 'form'")}
    assert set(ids) >= set(turns), ids
    client = create_app(ReviewOptions(db=db, open_browser=False)).test_client()
    for form_page, turned in turns.items():
        resp = client.get(f"/whole-page/{ids[form_page]}.png", headers={"Host": "127.0.0.1"})
        assert resp.status_code == 200
        shown = cv2.imdecode(np.frombuffer(resp.data, np.uint8), cv2.IMREAD_GRAYSCALE)
        printed = pages[form_page - 1]
        assert shown.shape[0] > shown.shape[1], f"page {form_page} is shown on its side"
        upright, as_scanned = _likeness(shown, printed), _likeness(shown, np.rot90(printed, 2))
        assert upright > 0.8 and (turned == 0 or upright > as_scanned + 0.1), (form_page, upright, as_scanned)


def test_adopted_pages_turn_back_by_their_recorded_quarter_turns() -> None:
    """Adopted pages record rotation_deg = 90 x the clockwise quarter turns they were scanned with (the adopt
    tests check the reader against the simulator's turns); the whole-page view undoes exactly that."""
    from pipeline.review.whole_page import upright

    page = np.zeros((30, 20), np.uint8)
    page[:5, :3] = 255  # a mark in the top left corner, so every turn is told apart
    turned = page
    for turns in range(4):
        assert np.array_equal(upright(turned, 90.0 * turns + (1.5 if turns else -1.5)), page), turns
        turned = cv2.rotate(turned, cv2.ROTATE_90_CLOCKWISE)
    assert np.array_equal(upright(page, None), page)  # a page the reader never placed is shown as scanned
