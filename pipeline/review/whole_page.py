"""The whole scanned page, on demand beside any question: the picture a person needs when a crop is not enough.

Pages the scanner kept (not recognised, unreadable) have their picture in the ledger.  For the others the
page is drawn again from its scan file, found through the ledger by page id: no path ever comes from the
browser.  If the file has moved since it was scanned, the page says so instead of a picture.  It is shown the
way up the reader turned it (the page's recorded rotation, to the nearest quarter turn: an upside-down scan
comes out upright, for our forms and adopted ones alike), so the person reads it as the scanner did.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from flask import Blueprint, Response, abort

from pipeline import constants as C
from pipeline.errors import PaperVoiceError
from pipeline.ledger.files_read import page_source
from pipeline.review import views

bp = Blueprint("whole", __name__)


@bp.get(f"/whole-page/<{views.ID}:page_id>.png")
def page_image(page_id: int) -> Response:
    led = views.ledger()
    src = page_source(led, page_id) or abort(404, "There is no such page.")
    if src.image_id is not None:
        found = led.image(src.image_id)
        if found is not None and found[0] in views.IMAGE_MIMES:
            return _png(found[1], found[0])
    from pipeline.scan.loading import decode_page, page_job

    path = Path(src.path)
    if not path.is_file():
        abort(404, f"The scan file {src.path} is no longer where it was read from.")
    try:
        grey, dpi = decode_page(page_job(path, src.page_index))
    except PaperVoiceError as exc:
        abort(404, f"The page could not be drawn again: {exc.message}")
    grey = upright(grey, src.rotation_deg)
    scale = min(1.0, C.PAGE_IMAGE_DPI / max(1.0, dpi))
    if scale < 1.0:
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, png = cv2.imencode(".png", grey)
    if not ok:
        abort(500, "The page could not be drawn.")
    return _png(png.tobytes(), "image/png")


def upright(grey: np.ndarray, rotation_deg: float | None) -> np.ndarray:
    """The scan turned back by the quarter turns the reader found (rotation is clockwise, image y down;
    np.rot90 turns anticlockwise).  A small skew is left as scanned: it is how the paper lay."""
    turns = round((rotation_deg or 0.0) / 90.0) % 4
    return np.ascontiguousarray(np.rot90(grey, turns)) if turns else grey


def _png(data: bytes, mime: str) -> Response:
    resp = Response(data, mimetype=mime)
    resp.headers["Cache-Control"] = "private, max-age=600"
    resp.headers["Content-Disposition"] = "inline"
    return resp
