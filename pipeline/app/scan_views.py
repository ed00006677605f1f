"""Scan: drop files onto the page, or let the office scanner save into the watched folder; live progress.

Uploads are streamed to disk by the multipart parser (spooled to a temporary file past a small size, so
a 2 GB TIFF is never held in memory), then saved under a name the app makes up: the browser's file name
is only ever shown (escaped), never used as a path.  Reading happens in the background (`inbox`), so the
page may be closed; the page asks /scan/progress.json every few seconds for what has happened since.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for

from pipeline import constants as C
from pipeline.app import inbox
from pipeline.options import AppOptions
from pipeline.review import views
from pipeline.scan.loading import SUPPORTED_SUFFIXES, SUPPORTED_WORDS
from pipeline.text import clean_text

bp = Blueprint("scan", __name__, static_folder="static", static_url_path="/office-static",
               template_folder="templates")


def _inbox() -> Any:
    from pipeline.app.server import office_inbox

    return office_inbox()


def _options() -> AppOptions:
    options = views.state().options
    assert isinstance(options, AppOptions)
    return options


@bp.get("/scan")
def home() -> str:
    return render_template("office/scan.html", progress=_inbox().snapshot(), supported=SUPPORTED_WORDS,
                           outcome_words=inbox.OUTCOME_WORDS,
                           accept=",".join(sorted(SUPPORTED_SUFFIXES)),
                           limit_mb=_options().max_upload_bytes // (1024 * 1024))


@bp.get("/scan/progress.json")
def progress() -> Response:
    return jsonify(_inbox().snapshot())


def shown_name(name: str | None) -> str:
    """The browser's file name, only for showing: no folders, no control characters, not too long."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return clean_text(base).strip()[:120] or "(no name)"


@bp.post("/scan/upload")
def upload() -> Any:
    files = request.files.getlist("files")
    if not files or all(not f.filename for f in files):
        flash("Choose one or more files first (PDF, TIFF, JPEG or PNG).")
        return redirect(url_for("scan.home"))
    if len(files) > C.APP_MAX_UPLOAD_FILES:
        abort(400, f"At most {C.APP_MAX_UPLOAD_FILES} files at a time: send the rest in a second go.")
    folder = _options().uploads
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    taken, refused = 0, []
    for f in files:
        name = shown_name(f.filename)
        suffix = Path(name).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            refused.append(name)
            continue
        dest = folder / f"upload-{stamp}-{secrets.token_hex(6)}{suffix}"
        f.save(dest)  # copied from the parser's temporary file in chunks
        _inbox().add_upload(dest, name)
        taken += 1
    if taken:
        flash(f"Received {taken} file{'s' if taken != 1 else ''}; they are being read now. "
              "You can leave this page: reading goes on.")
    if refused:
        flash(f"Not taken (not {SUPPORTED_WORDS}): {', '.join(refused[:10])}"
              + (f" and {len(refused) - 10} more" if len(refused) > 10 else "")
              + ". Save them from the scanner as PDF or TIFF and try again.")
    if request.accept_mimetypes.best == "application/json":
        return jsonify({"taken": taken, "refused": refused})
    return redirect(url_for("scan.home"))


@bp.post("/scan/watch")
def watch() -> Any:
    if not _options().is_local:
        abort(403, "The scanner folder can only be changed on the computer running PaperVoice: start it there "
                   "with --watch FOLDER.")
    raw = clean_text(request.form.get("folder", "")).strip()
    if not raw:
        flash("Type the folder your scanner saves into.")
        return redirect(url_for("scan.home"))
    folder = Path(raw).expanduser()
    if not folder.is_dir():
        flash(f"There is no folder {raw} on this computer. Check the spelling, or that the network drive is "
              "connected.")
        return redirect(url_for("scan.home"))
    _inbox().set_watch(folder.resolve())
    flash(f"Watching {folder.resolve()}: every new scan saved there is read once the scanner has finished it.")
    return redirect(url_for("scan.home"))


@bp.app_template_global()
def office_app() -> bool:
    return "papervoice_office" in current_app.extensions
