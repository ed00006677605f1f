"""Results: the workbook and the CSV files, at any time; /export.xlsx is what `papervoice export` writes."""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from datetime import date
from pathlib import Path

from flask import Blueprint, Response, render_template

from pipeline.export.workbook import export_workbook
from pipeline.options import ExportOptions
from pipeline.review import views

bp = Blueprint("results", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/results")
def home() -> str:
    return render_template("office/results.html", forms_seen=_forms_seen())


def _forms_seen() -> list[tuple[str, int]]:
    return views.ledger().forms_seen()


def _export(with_csv: bool) -> tuple[Path, Path]:
    """Write the workbook (and CSVs) as `papervoice export` would, into a fresh folder of its own."""
    scratch = Path(tempfile.mkdtemp(prefix="papervoice-export-"))
    output = scratch / "results.xlsx"
    options = ExportOptions(output=output, db=views.state().db, csv_dir=scratch / "csv" if with_csv else None)
    export_workbook(options, registry=views.state().forms)
    return scratch, output


def _download(data: bytes, mime: str, name: str) -> Response:
    resp = Response(data, mimetype=mime)
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp


@bp.get("/export.xlsx")
def workbook() -> Response:
    scratch, output = _export(with_csv=False)
    try:
        data = output.read_bytes()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return _download(data, XLSX, f"papervoice-results-{date.today().isoformat()}.xlsx")


@bp.get("/export-csv.zip")
def csv_files() -> Response:
    scratch, _ = _export(with_csv=True)
    try:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted((scratch / "csv").glob("*")):
                zf.write(path, path.name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return _download(buf.getvalue(), "application/zip", f"papervoice-csv-{date.today().isoformat()}.zip")
