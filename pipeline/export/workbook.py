"""Export: the ledger becomes one Excel workbook (and optionally CSV files) for evaluators.

The workbook is built from a single read-only snapshot of the ledger (`snapshot`), its crops prepared
in parallel (`crops`), its sheets written (`sheets`) and the file saved under a temporary name and moved
into place, so a half-written workbook never exists under the real name.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
import time
from pathlib import Path
from zipfile import ZIP_DEFLATED, ZIP_STORED, ZipFile

from openpyxl import Workbook
from openpyxl.workbook.workbook import Workbook as WorkbookType
from openpyxl.writer.excel import ExcelWriter

from pipeline import constants as C
from pipeline.atomic import document_mode
from pipeline.errors import OutputError
from pipeline.export.cells import sheet_title
from pipeline.export.crops import CropPlan
from pipeline.export.csv_files import write_csv
from pipeline.export.sheets import (
    comparison_pair,
    write_codebook,
    write_comments,
    write_comparison,
    write_pages,
    write_responses,
    write_review,
    write_summary,
)
from pipeline.export.snapshot import Snapshot, read_snapshot
from pipeline.export.stats import build_table, per_form_path, write_dta, write_r, write_sav
from pipeline.form.definition import FormRegistry
from pipeline.ledger import open_ledger
from pipeline.options import ExportOptions


def export_workbook(options: ExportOptions, registry: FormRegistry | None = None) -> Path:
    """Write the workbook (and CSV files if asked) from a read-only snapshot of the ledger; returns the path."""
    return export_files(options, registry)[0]


def export_files(options: ExportOptions, registry: FormRegistry | None = None) -> list[Path]:
    """Everything `options` asks for, from one read-only snapshot of the ledger: the workbook, CSV, SPSS,
    Stata and R files.  Returns the paths written (the workbook first).  The one entry point for the
    command and the office app."""
    registry = registry if registry is not None else FormRegistry.from_dirs()
    # one snapshot: a scan writing meanwhile cannot tear the workbook, and every file shows the same moment
    with open_ledger(options.db, readonly=True) as ledger, ledger.consistent_read():
        snapshot = read_snapshot(ledger, registry, options.form)
    written: list[Path] = []
    if options.output is not None:
        written.append(_write_workbook(options, snapshot, Path(options.output)))
    if options.csv_dir is not None:
        written += [write_csv(Path(options.csv_dir), report) for report in snapshot.forms]
    many = len(snapshot.forms) > 1
    for report in snapshot.forms:
        table = build_table(report)
        if options.sav is not None:
            written.append(write_sav(table, per_form_path(Path(options.sav), report.form_id, many)))
        if options.dta is not None:
            written.append(write_dta(table, per_form_path(Path(options.dta), report.form_id, many)))
        if options.r_dir is not None:
            written += write_r(table, Path(options.r_dir))
    return written


def _write_workbook(options: ExportOptions, snapshot: Snapshot, output: Path) -> Path:
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        remove_abandoned_scratch(output)
        scratch = Path(tempfile.mkdtemp(prefix=f"{scratch_prefix(output)}{os.getpid()}.", dir=output.parent))
    except OSError as exc:
        raise OutputError(f"cannot write in the folder of {output}: {exc.strerror}",
                          "check the path and that you may write there, or write the workbook elsewhere") from exc
    crops = CropPlan(options.db, scratch, omit=options.no_images)  # the workers open the ledger by its address
    try:
        if not options.no_images:
            _want_crops(crops, snapshot)
        crops.start()
        wb = _build(snapshot, crops)
        crops.finish()
        _save(wb, output)
    except OSError as exc:  # the pictures are written out before the workbook: a full disk can stop them first
        raise OutputError(f"cannot write the pictures for {output} in its folder: {exc.strerror or exc}",
                          "free some space there (or write the workbook elsewhere) and export again; "
                          "the previous workbook, if any, is unchanged") from exc
    finally:
        crops.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return output


def scratch_prefix(output: Path) -> str:
    """Scratch folders beside the workbook are named after it and the process that made them."""
    return f".{output.name}.images."


def remove_abandoned_scratch(output: Path) -> None:
    """Scratch folders an export killed outright (SIGKILL, power cut) left behind: their process is gone.

    A folder of a running export (of another process) is left alone; one without a process id in its
    name (made by an older PaperVoice), or any on Windows, is removed once it is a day old."""
    prefix = scratch_prefix(output)
    for folder in output.parent.glob(f"{glob.escape(prefix)}*"):
        pid_text = folder.name[len(prefix):].split(".", 1)[0]
        try:
            age_s = time.time() - folder.stat().st_mtime
        except OSError:
            continue
        if pid_text.isdecimal() and os.name == "posix":
            if _running(int(pid_text)):
                continue
        elif age_s < C.EXPORT_SCRATCH_ABANDONED_S:
            continue
        shutil.rmtree(folder, ignore_errors=True)


def _running(pid: int) -> bool:
    """Whether a process still exists (POSIX only: on Windows os.kill would end it)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # someone else's process: leave its folder alone
    return True


def _want_crops(crops: CropPlan, snapshot: Snapshot) -> None:
    """Every crop the sheets will show: written comments, the row of each open question, unrecognised pages."""
    for page in snapshot.pages:
        if page.open:
            crops.want(page.image_id, C.EXPORT_ITEM_IMAGE_WIDTH_PX, C.EXPORT_PAGE_IMAGE_MAX_HEIGHT_PX)
    for report in snapshot.forms:
        for copy in report.copies:
            for note in copy.comments.values():
                if note.present and not (note.settled and not note.text.strip()):  # "No comment": not shown
                    crops.want(note.crop_id, C.EXPORT_COMMENT_IMAGE_WIDTH_PX, C.EXPORT_COMMENT_IMAGE_MAX_HEIGHT_PX,
                               trim=True)
            for answer in copy.answers.values():
                if answer.open:
                    crops.want(answer.crop_id, C.EXPORT_ITEM_IMAGE_WIDTH_PX, C.EXPORT_ITEM_IMAGE_MAX_HEIGHT_PX)


def _build(snapshot: Snapshot, crops: CropPlan) -> WorkbookType:
    forms = snapshot.forms
    wb = Workbook()
    summary = wb.active
    assert summary is not None
    write_summary(summary, forms)
    pair = comparison_pair(forms)
    if pair is not None:
        write_comparison(wb.create_sheet("Comparison"), *pair)
    names = sheet_title("Responses", [f.form_id for f in forms])
    for report in forms:
        write_responses(wb.create_sheet(names[report.form_id]), report)
    comment_rows: dict[tuple[str, str, str], int] = {}
    write_comments(wb.create_sheet("Comments"), forms, crops, comment_rows)
    write_review(wb.create_sheet("Review"), forms, snapshot.pages, crops, comment_rows)
    write_codebook(wb.create_sheet("Codebook"), forms, names)
    write_pages(wb.create_sheet("Pages"), snapshot.pages)
    return wb


class _Writer(ExcelWriter):
    """Stores images uncompressed: PNG and JPEG are compressed already, deflating them again only costs time."""

    def _write_images(self) -> None:
        for img in self._images:
            self._archive.writestr(img.path[1:], img._data(), compress_type=ZIP_STORED)


def _save(wb: WorkbookType, output: Path) -> None:
    """Write under a temporary name in the same folder, flush, then rename over the real name."""
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    os.fchmod(fd, document_mode())
    os.close(fd)
    try:
        with ZipFile(tmp, "w", ZIP_DEFLATED, allowZip64=True) as archive:
            _Writer(wb, archive).write_data()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, output)
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {exc.strerror or exc}",
                          "check the folder exists, there is free space, and the file is not open in Excel") from exc
    finally:
        Path(tmp).unlink(missing_ok=True)
