"""Print: each form with a picture of its first page; copies, standard or large print, A4 or Letter, a label.

Printing calls `generate`, the same function as `papervoice generate`, so serials are recorded exactly as
there (issued means printed: the PDF and the ledger's record happen together).  The PDFs are kept beside
the ledger under names the app makes up, and downloaded by that name only.
"""

from __future__ import annotations

import re
import secrets
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, send_file

from pipeline import constants as C
from pipeline.errors import PaperVoiceError
from pipeline.form.definition import Form
from pipeline.form.generate import generate, render_pdf
from pipeline.form.identity import serial_for
from pipeline.form.layout import PAPERS, STYLES, compute_layout
from pipeline.ledger import open_ledger
from pipeline.ledger.url import local_path
from pipeline.review import views
from pipeline.text import clean_text

bp = Blueprint("print", __name__)

MAX_COPIES = 10_000
MAX_LABEL_CHARS = 60
PDF_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,80}\.pdf$")
_previews: dict[tuple[str, int, str, str], bytes] = {}
_previews_lock = threading.Lock()


def _printable() -> list[Form]:
    return [f for f in views.state().forms.all() if f.adopted is None]


def _prints_dir() -> Path:
    """Beside the ledger, as an absolute path: Flask's send_file takes a relative one as relative to the
    package, not to the folder the app was started in (`--db survey.db` gave a server error on download)."""
    db = local_path(views.state().db).resolve()
    return db.with_name(db.stem + "-prints")


def _form_or_404(form_id: str) -> Form:
    form = next((f for f in _printable() if f.id == form_id), None)
    return form or abort(404, "There is no such form to print.")


@bp.get("/print")
def home() -> str:
    return render_template("office/print.html", forms=_printable(), styles=STYLES, papers=PAPERS, error=None,
                           entered={}, printed=None, max_copies=MAX_COPIES)


@bp.post("/print")
def make() -> Any:
    entered = request.form
    form = _form_or_404(entered.get("form", ""))
    error = None
    copies_raw = entered.get("copies", "").strip()
    copies = int(copies_raw) if copies_raw.isdigit() else 0
    style, paper = entered.get("style", ""), entered.get("paper", "")
    label = clean_text(entered.get("label", "")).strip() or None
    if not 1 <= copies <= MAX_COPIES:
        error = f"How many copies? Type a number from 1 to {MAX_COPIES}."
    elif style not in STYLES or paper not in PAPERS:
        error = "Choose standard or large print, and A4 or Letter paper."
    elif label is not None and len(label) > MAX_LABEL_CHARS:
        error = f"The label is too long: at most {MAX_LABEL_CHARS} letters."
    printed = None
    if error is None:
        name = f"{form.id}-{datetime.now().strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}.pdf"
        try:
            with open_ledger(views.state().db) as led:
                result = generate(form, copies, _prints_dir() / name, ledger=led, paper=paper, style=style,
                                  label=label)
            printed = {"name": name, "copies": copies, "form": form, "first": result.serials[0],
                       "last": result.serials[-1], "pages": result.pages, "label": label, "style": style,
                       "paper": paper}
        except PaperVoiceError as exc:
            error = f"{exc.message}. {exc.advice}" if exc.advice else exc.message
    return render_template("office/print.html", forms=_printable(), styles=STYLES, papers=PAPERS, error=error,
                           entered=entered if error else {}, printed=printed,
                           max_copies=MAX_COPIES), (400 if error else 200)


@bp.get("/print/pdf/<name>")
def pdf(name: str) -> Response:
    if not PDF_NAME.match(name):
        abort(404, "There is no such print file.")
    path = _prints_dir() / name
    if not path.is_file():
        abort(404, "There is no such print file.")
    return send_file(path, mimetype="application/pdf", as_attachment=True, download_name=name)


@bp.get("/print/preview/<form_id>/<style>/<paper>.png")
def preview(form_id: str, style: str, paper: str) -> Response:
    """The first page of a blank copy, drawn from the PDF the generator makes (not a mock-up)."""
    form = _form_or_404(form_id)
    if style not in STYLES or paper not in PAPERS:
        abort(404, "There is no such preview.")
    key = (form.id, form.version, style, paper)
    with _previews_lock:
        png = _previews.get(key)
    if png is None:
        layout = compute_layout(form, paper, style)
        blank = render_pdf(form, layout, [serial_for(0)])
        png = first_page_png(blank, C.APP_PREVIEW_DPI)
        with _previews_lock:
            _previews[key] = png
    resp = Response(png, mimetype="image/png")
    resp.headers["Cache-Control"] = "private, max-age=3600"
    return resp


def first_page_png(pdf_bytes: bytes, dpi: int) -> bytes:
    import io

    from pipeline.tools import pdfium

    grey = pdfium.render_page(pdf_bytes, dpi)
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(grey).save(buf, format="PNG", optimize=True)
    return buf.getvalue()
