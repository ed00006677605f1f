"""The sheets of the workbook: Summary, Comparison, Responses, Comments, Review, Codebook and Pages."""

from __future__ import annotations

import math
import statistics
from datetime import date
from typing import Any

from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from pipeline import constants as C
from pipeline.export.cells import (
    CENTRE_TOP,
    HEADER_FONT,
    LEFT_WRAP_TOP,
    NO,
    REVIEW_FILL,
    TITLE_FONT,
    TOP,
    WRAP_TOP,
    YES,
    header,
    image_width,
    print_setup,
    put,
    put_row,
    table_sheet,
)
from pipeline.export.crops import CropPlan
from pipeline.export.snapshot import (
    COMMENT_REASON,
    DEFAULT_SCALE,
    CopyReport,
    FormReport,
    PageRow,
    code_grids,
    joined_code,
)
from pipeline.text import clean_text
from pipeline.vocab import MissingKind, PageStatus

#: Pairs of forms that ask the same statements of two audiences; compared side by side when both have returns.
COMPARISON_PAIRS: tuple[tuple[str, str], ...] = (("care-planning-person", "care-planning-practitioner"),)
#: One colour per scale point, low to high (ColorBrewer RdBu, readable with the common colour-vision deficiencies).
RATING_COLOURS = ("B2182B", "EF8A62", "BDBDBD", "67A9CF", "2166AC")
COMPARISON_COLOURS = ("2166AC", "EF8A62")
CM_PER_DEFAULT_ROW = 0.53  # a 15 pt row, used to leave room under a chart


def write_summary(ws: Worksheet, forms: list[FormReport]) -> None:
    """Per form: copies issued/returned/complete, a distribution table per statement, and a stacked bar chart."""
    ws.title = "Summary"
    print_setup(ws)
    n_points = max((len(r.scale) for r in forms), default=5)
    for col, width in enumerate([9.0, 58.0, 10.0] + [11.0] * (2 * n_points) + [9.0] * 6, 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    row = 1
    put(ws, row, 1, "Summary of returns").font = TITLE_FONT
    row += 1
    put(ws, row, 1, "Percentages are of the settled answers to each statement; answers still waiting for "
                    "review are counted separately and left out. See the Codebook sheet.")
    row += 2
    if not forms:
        put(ws, row, 1, "The ledger holds no forms yet.")
    for n, report in enumerate(forms):
        if n and not ws.row_breaks.brk:
            ws.row_breaks.append(Break(id=row - 1))  # each form's table and chart on a page of its own
        elif n and ws.row_breaks.brk[-1].id < row - 2:
            ws.row_breaks.append(Break(id=row - 1))
        row = _summary_block(ws, report, row) + 2


def _summary_block(ws: Worksheet, report: FormReport, row: int) -> int:
    form = report.definition
    title = f"{report.form_id}" + (f": {form.title}" if form else " (no form definition found)")
    put(ws, row, 1, title).font = TITLE_FONT
    row += 1
    returned = len(report.copies)
    returned_issued = sum(1 for c in report.copies if c.copy.issued)
    facts: list[tuple[str, Any, str | None]] = [
        ("Form versions", "; ".join(str(v) for v in sorted(report.definitions)), None),
        ("Copies issued", report.issued, None),
        ("Copies returned", returned, None),
        ("Returned complete (all pages)", sum(1 for c in report.copies if c.complete), None),
        ("Response rate (returned ÷ issued)", returned_issued / report.issued if report.issued else None, "0.0%"),
    ]
    if returned != returned_issued:
        facts.append(("Returned with a serial this ledger did not issue", returned - returned_issued, None))
    for label, value, fmt in facts:
        put(ws, row, 1, label)
        cell = put(ws, row, 3, value if value is not None else "n/a")
        if fmt and value is not None:
            cell.number_format = fmt
        row += 1
    row += 1
    points = report.scale
    head = (["Item", "Statement", "n answered"]
            + [f"{p.value} {p.label}".strip() for p in points] + [f"% {p.value}" for p in points]
            + ["Left blank", "Cannot be told", "Page not returned", "Needs review", "Mean", "Median"])
    header(ws, row, head)
    header_row = row
    for item_id in report.item_ids:
        row += 1
        values = report.settled(item_id)
        in_scale = [v for v in values if any(p.value == v for p in points)]
        n = len(in_scale)
        waiting = sum(1 for c in report.copies if (a := c.answers.get(item_id)) is not None and a.open)
        put(ws, row, 1, item_id, TOP)
        put(ws, row, 2, report.statement(item_id), WRAP_TOP)
        put(ws, row, 3, n, TOP)
        for k, p in enumerate(points):
            count = sum(1 for v in in_scale if v == p.value)
            put(ws, row, 4 + k, count, TOP)
            pct = put(ws, row, 4 + len(points) + k, count / n if n else None, TOP)
            pct.number_format = "0%"
        col = 4 + 2 * len(points)
        kinds = [c.status(item_id) for c in report.copies]
        for k, kind in enumerate((MissingKind.LEFT_BLANK, MissingKind.CANNOT_TELL, MissingKind.PAGE_NOT_RETURNED)):
            put(ws, row, col + k, sum(1 for found in kinds if found == kind), TOP)
        put(ws, row, col + 3, waiting, TOP)
        put(ws, row, col + 4, statistics.fmean(in_scale) if in_scale else None, TOP).number_format = "0.00"
        put(ws, row, col + 5, float(statistics.median(in_scale)) if in_scale else None, TOP).number_format = "0.0"
    last = row
    row += 2
    if not report.copies or not report.item_ids:
        put(ws, row, 1, "No returns yet: nothing to chart.")
        return row
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap, chart.gapWidth = "bar", "percentStacked", 100, 40
    chart.title = f"{report.form_id}: how people answered each statement"
    chart.add_data(Reference(ws, min_col=4, max_col=3 + len(points), min_row=header_row, max_row=last),
                   titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=header_row + 1, max_row=last))
    for series, colour in zip(chart.series, _colours(len(points)), strict=True):
        series.graphicalProperties.solidFill = colour
        series.graphicalProperties.line.solidFill = "FFFFFF"
    chart.x_axis.scaling.orientation = "maxMin"  # first statement at the top, as on the form
    chart.x_axis.title = "Statement"
    chart.y_axis.title = "Share of settled answers"
    chart.y_axis.number_format = "0%"
    chart.y_axis.majorGridlines = None
    chart.x_axis.delete = chart.y_axis.delete = False  # openpyxl >= 3.1.4 hides axes unless told
    chart.legend.position = "b"
    chart.width = C.EXPORT_CHART_WIDTH_CM
    chart.height = min(C.EXPORT_CHART_BASE_HEIGHT_CM + C.EXPORT_CHART_CM_PER_ITEM * len(report.item_ids),
                       C.EXPORT_CHART_MAX_HEIGHT_CM)
    # the chart starts a printed page and its rows are kept off the next: a chart is never cut by a page break
    ws.row_breaks.append(Break(id=row - 1))
    ws.add_chart(chart, f"A{row}")
    end = row + math.ceil(chart.height / CM_PER_DEFAULT_ROW)
    ws.row_breaks.append(Break(id=end))
    return end


def _colours(n: int) -> list[str]:
    if n == len(RATING_COLOURS):
        return list(RATING_COLOURS)
    return [RATING_COLOURS[round(i * (len(RATING_COLOURS) - 1) / max(n - 1, 1))] for i in range(n)]


#: The columns every Responses row (sheet and CSV) starts with, before the statements.
COPY_COLUMNS = ("Serial", "Form", "Version", "Style", "Label", "Language", "Date returned", "Date settled",
                "Pages returned", "Pages in copy", "Scanned file")
COPY_WIDTHS = (10, 26, 8, 11, 16, 9, 12, 12, 9, 8, 30)


def status_column(item_id: str) -> str:
    return f"{item_id} status"


def responses_header(report: FormReport) -> list[str]:
    """The copy's columns, each code grid's number (adopted forms), the statements, comments and statuses."""
    return [*COPY_COLUMNS, *(g.id for g in report.codes), *report.item_ids, *report.field_ids, "Needs review",
            *(status_column(i) for i in report.item_ids)]


def iso_date(stamp: str | None) -> date | None:
    """The date part of a ledger timestamp (UTC), as a real date the spreadsheet can sort and filter."""
    if not stamp:
        return None
    try:
        return date.fromisoformat(stamp[:10])
    except ValueError:
        return None


def copy_values(copy: CopyReport) -> list[Any]:
    """The columns about the copy itself (COPY_COLUMNS): the same in the sheet, the CSV and the statistics files."""
    c = copy.copy
    return [c.serial, c.form_id, copy.version_text, c.style, c.label or "", copy.language, iso_date(c.returned_at),
            iso_date(c.settled_at), len(c.present), c.page_count, "; ".join(c.files)]


def response_values(report: FormReport, copy: CopyReport) -> list[Any]:
    """One copy as a row of plain values: the same in the sheet and the CSV file.

    Answer cells hold only usable answers (numbers a spreadsheet can average); why one is empty is in the
    item's status column, in words (the Codebook lists them with the codes the statistics files use)."""
    values = copy_values(copy)
    values += [joined_code(copy, g)[0] or None for g in report.codes]  # text: leading zeros kept
    values += [a.usable if (a := copy.answers.get(i)) is not None else None for i in report.item_ids]
    values += [c.text if (c := copy.comments.get(f)) is not None else "" for f in report.field_ids]
    values.append(YES if copy.needs_review else NO)
    values += [kind.label if (kind := copy.status(i)) is not None else "" for i in report.item_ids]
    return values


def write_responses(ws: Worksheet, report: FormReport) -> None:
    head = responses_header(report)
    header(ws, 1, head, [*COPY_WIDTHS] + [12] * len(report.codes) + [6.5] * len(report.item_ids)
           + [50] * len(report.field_ids) + [9] + [16] * len(report.item_ids))
    first_code = len(COPY_COLUMNS) + 1
    first_item = first_code + len(report.codes)
    first_field = first_item + len(report.item_ids)
    for r, copy in enumerate(report.copies, 2):
        for c, value in enumerate(response_values(report, copy), 1):
            if first_field <= c < first_field + len(report.field_ids):
                style = WRAP_TOP
            elif c == 3 or first_item <= c < first_field:
                style = CENTRE_TOP
            else:
                style = TOP
            cell = put(ws, r, c, value, style)
            if isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
            if first_code <= c < first_item:
                cell.number_format = "@"  # a number as text: 0427 stays 0427
        for k, grid in enumerate(report.codes):
            number, why = joined_code(copy, grid)
            if not number:
                ws.cell(row=r, column=first_code + k).comment = Comment(clean_text(f"Empty: {why}."), "PaperVoice",
                                                                        width=300, height=110)
        for k, item_id in enumerate(report.item_ids):
            answer = copy.answers.get(item_id)
            if answer is not None and answer.open:
                cell = ws.cell(row=r, column=first_item + k)
                cell.fill = REVIEW_FILL
                cell.comment = Comment(clean_text(f"Needs review: {answer.reason}. Read: {answer.read}."),
                                       "PaperVoice", width=300, height=110)
    table_sheet(ws, len(report.copies) + 1, len(head))
    ws.freeze_panes = "B2"  # the serial stays in view while scrolling across the statements


def write_comments(ws: Worksheet, forms: list[FormReport], crops: CropPlan,
                   place: dict[tuple[str, str, str], int]) -> None:
    head = ["Serial", "Form", "Field", "Transcription", "OCR confidence", "Handwriting", "Checked by a person"]
    header(ws, 1, head, [10, 26, 7, 50, 11, image_width(C.EXPORT_COMMENT_IMAGE_WIDTH_PX), 11])
    row = 1
    for report in forms:
        for copy in report.copies:
            for field_id in report.field_ids:
                note = copy.comments.get(field_id)
                if note is None or not note.present or (note.settled and not note.text.strip()):
                    continue  # nothing written, or a person marked it "No comment"
                row += 1
                place[(report.form_id, copy.serial, field_id)] = row
                put(ws, row, 1, copy.serial, TOP)
                put(ws, row, 2, report.form_id, TOP)
                put(ws, row, 3, field_id, TOP)
                put(ws, row, 4, note.text, WRAP_TOP)
                put(ws, row, 5, round(note.confidence, 1), TOP)
                put(ws, row, 7, YES if note.settled else NO, TOP)
                crops.place(ws, row, 6, note.crop_id)
    table_sheet(ws, row, len(head))


def write_review(ws: Worksheet, forms: list[FormReport], pages: list[PageRow], crops: CropPlan,
                 comment_rows: dict[tuple[str, str, str], int]) -> None:
    """Open questions only, the same four kinds the review page asks: unsettled answers, unchecked
    handwriting, copies with pages missing (until acknowledged) and unrecognised pages."""
    head = ["Serial", "Form", "Item", "Reason", "What was read", "Crop"]
    header(ws, 1, head, [10, 26, 7, 45, 34, image_width(C.EXPORT_ITEM_IMAGE_WIDTH_PX)])
    row = 1
    for report in forms:
        for copy in report.copies:
            for item_id in report.item_ids:
                answer = copy.answers.get(item_id)
                if answer is None or not answer.open:
                    continue
                row += 1
                for c, value in enumerate((copy.serial, report.form_id, item_id, answer.reason, answer.read), 1):
                    put(ws, row, c, value, WRAP_TOP)
                crops.place(ws, row, 6, answer.crop_id)
            for field_id in report.field_ids:
                note = copy.comments.get(field_id)
                if note is None or not note.open:
                    continue
                row += 1
                read = note.text or "(the handwriting engine read nothing)"
                reason = f"{COMMENT_REASON}; likely misread: {note.doubt}" if note.doubt else COMMENT_REASON
                for c, value in enumerate((copy.serial, report.form_id, field_id, reason, read), 1):
                    put(ws, row, c, value, WRAP_TOP)
                target = comment_rows.get((report.form_id, copy.serial, field_id))
                if target is not None:
                    cell = put(ws, row, 6, "see the handwriting", TOP)
                    cell.hyperlink = Hyperlink(ref=cell.coordinate, location=f"'Comments'!F{target}")
                    cell.font = Font(color="0563C1", underline="single")
            if not copy.complete and not copy.missing_acknowledged:
                row += 1
                missing = ", ".join(map(str, copy.missing))
                put_row(ws, row, (copy.serial, report.form_id, "(pages)", f"page {missing} of {copy.page_count} "
                                  "not returned", f"pages received: {', '.join(map(str, sorted(copy.present)))}"),
                        WRAP_TOP)
    for page in pages:
        if page.open:
            row += 1
            put_row(ws, row, ("", "", "(page)", f"{PageStatus.describe(page.status)}: {page.reason}",
                              f"{page.file}, page {page.page}"), WRAP_TOP)
            crops.place(ws, row, 6, page.image_id)
    table_sheet(ws, row, len(head))


def write_codebook(ws: Worksheet, forms: list[FormReport], response_sheets: dict[str, str]) -> None:
    """Enough for an evaluator to analyse the data without PaperVoice: every id, label and coding rule."""
    print_setup(ws)
    for col, width in enumerate((28, 9, 12, 30, 90, 10), 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    row = 1
    put(ws, row, 1, "Codebook").font = TITLE_FONT
    row += 2
    put(ws, row, 1, "How the data are coded").font = HEADER_FONT
    for rule in (*CODING_RULES, *((CODE_GRID_RULE,) if any(r.codes for r in forms) else ())):
        row += 1
        put(ws, row, 1, rule, LEFT_WRAP_TOP)
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=5)
        ws.row_dimensions[row].height = C.EXPORT_POINTS_PER_TEXT_LINE * math.ceil(len(rule) / 140) + 3
    row += 2
    put(ws, row, 1, "Forms").font = HEADER_FONT
    row += 1
    header(ws, row, ["Form", "Version", "Copies issued", "Responses sheet", "Title / definition"])
    for report in forms:
        for version, form in sorted(report.definitions.items()):
            row += 1
            note = (f"{form.title} (definition: {form.path.name if form.path else 'bundled'})" if form else
                    "No form definition found for this version: item and field ids only, no wording or labels.")
            for c, value in enumerate((report.form_id, version, report.issued, response_sheets.get(report.form_id),
                                       note), 1):
                put(ws, row, c, value, LEFT_WRAP_TOP)
    row += 2
    put(ws, row, 1, "Statements (rated) and free-text fields").font = HEADER_FONT
    row += 1
    header(ws, row, ["Form", "Version", "Id", "Kind", "Full text", "Language"])
    for report in forms:
        for version, form in sorted(report.definitions.items()):
            entries: list[tuple[str, str, str, str]]
            if form is not None:
                # every language the form is printed in: one column set, each wording (the form's own first)
                entries = [(g.id, "code grid: digits joined, as text", g.text, form.language)
                           for g in code_grids(form)]
                for n, item in enumerate(form.items):
                    entries.append((item.id, form.item_kind(item.id), item.text, form.language))
                    entries += [(item.id, form.item_kind(item.id), t.items[n].text, t.language)
                                for t in report.translations.get(version, [])]
                for n, ft in enumerate(form.free_text):
                    entries.append((ft.id, "free text", ft.prompt, form.language))
                    entries += [(ft.id, "free text", t.free_text[n].prompt, t.language)
                                for t in report.translations.get(version, [])]
            else:
                entries = ([(i, "rating", "(wording unknown)", "") for i in report.item_ids]
                           + [(f, "free text", "(wording unknown)", "") for f in report.field_ids])
            for item_id, kind, text, language in entries:
                row += 1
                put_row(ws, row, (report.form_id, version, item_id, kind, text, language), LEFT_WRAP_TOP)
    row += 2
    put(ws, row, 1, "Rating scale").font = HEADER_FONT
    row += 1
    header(ws, row, ["Form", "Version", "Value", "Label", "Meaning in the data", "Language"])
    for report in forms:
        for version, form in sorted(report.definitions.items()):
            points = form.scale if form is not None else DEFAULT_SCALE
            for n, p in enumerate(points):
                row += 1
                meaning = "the box ticked" + ("" if form is not None else " (labels unknown: no definition)")
                put_row(ws, row, (report.form_id, version, p.value, p.label, meaning, form.language if form else ""),
                        LEFT_WRAP_TOP)
                for t in report.translations.get(version, []) if form is not None else []:
                    row += 1
                    put_row(ws, row, (report.form_id, version, p.value, t.scale[n].label, meaning, t.language),
                            LEFT_WRAP_TOP)
    row += 2
    put(ws, row, 1, "Why an answer is missing (status columns; codes in the statistics files)").font = HEADER_FONT
    row += 1
    header(ws, row, ["Status (in the sheet)", "Code", "Stored as", "", "Meaning"])
    for kind in MissingKind:
        row += 1
        put_row(ws, row, (kind.label, kind.code, kind.value, "", kind.description), LEFT_WRAP_TOP)


CODING_RULES = (
    "Responses sheets: one row per returned copy (a serial with at least one page read as a form). Each serial "
    "appears once. Style is the print (standard or large-print); Label is the team, site or batch given when the "
    "copies were printed (generate --label); Date returned is when its first page was scanned, Date settled when "
    "a person last decided anything about it in review (empty: nothing needed or nothing decided yet); dates are "
    "UTC. Rating columns are headed by the item id exactly as in the form file and hold the whole number ticked "
    "(1 to 5 on the bundled forms), so a spreadsheet can count and average them as they are.",
    "Missing answers: a rating cell is empty whenever there is no usable answer, and the item's status column "
    "('S01 status' ...) says why, in the words of the table at the end of this sheet: left blank, settled as "
    "cannot be told, more than one box or unreadable (not yet settled), page not returned. The statistics files "
    "(export --sav, --dta, --r) carry the same reasons as the negative codes listed there, declared as missing.",
    "Flags: a highlighted rating cell with a cell comment still needs review; the cell stays empty (an unconfirmed "
    "reading is never counted) and the comment says why and what the scanner read. Such answers are left out of "
    "Summary and Comparison until a person settles them. Once settled, the person's decision is shown.",
    "Free-text columns (C1 ...) hold the transcription: the person's correction when there is one, otherwise the "
    "handwriting engine's reading. Text is always stored as text: a transcription starting with =, +, - or @ is "
    "never a formula. Control characters are removed; tabs and line breaks are kept.",
    "Comments needing review: a comment where handwriting was found needs review until a person has confirmed or "
    "corrected its transcription, because machine reading of handwriting is only a draft. Such comments are "
    "highlighted, counted in 'Needs review' and listed on the Review sheet.",
    "Needs review = yes when any rating or comment of the copy still needs review; no otherwise (missing pages "
    "are shown in Pages, 'n of m', not here).",
    "Language: the language the copy was printed in (en English, cy Welsh, ...; cy+en a bilingual print). Copies "
    "of one form in different languages ask the same questions with the same ids, so they share one Responses "
    "sheet; the Statements table below gives each wording.",
    "Review sheet: every open question, as the review page asks them - unsettled ratings (with the scanned row), "
    "unchecked handwriting (linked to its crop on Comments), copies with pages missing until a person "
    "acknowledges it, and pages not recognised as a form until a person assigns them or confirms they are not.",
    "Summary: n answered counts settled answers on the scale; % columns are shares of n answered; Left blank, "
    "Cannot be told and Page not returned count returned copies without an answer, by reason; Needs review counts "
    "answers waiting for a person (more than one box, or unreadable). n answered + those four = copies returned. "
    "Mean and median are of the settled answers.",
    "Copies issued = serials printed by this ledger; complete = every page of the copy was read; response rate = "
    "returned copies with a serial issued here, divided by copies issued.",
    "Comparison: mean of settled answers from people receiving support beside practitioners' self-ratings; "
    "gap = people's mean minus practitioners' mean (negative: people rate it lower than practitioners do). "
    f"A mean from fewer than {C.REPORT_SMALL_N} answers is marked 'few answers: read with care'.",
    "Pages: every scanned page (page numbers count from 1 within each file) and what became of it; files that "
    "could not be opened at all are listed with status 'failed'.",
    "CSV files (export --csv): the Responses columns plus 'Items to review' (ids still needing review), UTF-8 "
    "without byte-order mark; an empty field is a blank. Text is exactly as transcribed.",
)


#: Said in the codebook only when some form exported has a code grid.
CODE_GRID_RULE = (
    "Code grids (adopted forms: a student or candidate number marked digit by digit, one column of boxes 0-9 "
    "per digit): besides one column per digit (its id, with its own status column), the number itself is one "
    "text column headed '<first digit>_to_<last digit>' beside the copy's columns, the digits joined left to "
    "right with leading zeros kept (0427, not 427). It is empty whenever any digit has no usable answer (left "
    "blank, not yet settled, page not returned): a number with a digit missing identifies nobody, so no partial "
    "number is ever given; the cell's comment, and the digits' status columns, say which digit and why. The "
    "statistics files carry it as a string variable, empty in the same cases."
)


def write_pages(ws: Worksheet, pages: list[PageRow]) -> None:
    head = ["File", "Page", "Status", "Reason", "Serial", "Form", "Version", "Form page", "Scanned at",
            "Person's decision"]
    header(ws, 1, head, [40, 6, 11, 50, 10, 26, 8, 9, 21, 16])
    for r, p in enumerate(pages, 2):
        for c, value in enumerate((p.file, p.page, p.status, p.reason, p.serial, p.form_id, p.version, p.form_page,
                                   p.scanned_at, p.decision), 1):
            put(ws, r, c, value, WRAP_TOP if c in (1, 4) else CENTRE_TOP if c in (2, 7, 8) else TOP)
    table_sheet(ws, len(pages) + 1, len(head))


def comparison_pair(forms: list[FormReport]) -> tuple[FormReport, FormReport] | None:
    by_id = {f.form_id: f for f in forms}
    for people, practitioners in COMPARISON_PAIRS:
        a, b = by_id.get(people), by_id.get(practitioners)
        if a is not None and b is not None and a.copies and b.copies:
            return a, b
    return None


def few_answers(*counts: int) -> str:
    """The small-numbers caution: a mean of one or two answers says little about a group."""
    return "few answers: read with care" if min(counts) < C.REPORT_SMALL_N else ""


def write_comparison(ws: Worksheet, people: FormReport, practitioners: FormReport) -> None:
    """Mean rating per statement from people receiving support beside practitioners' self-ratings, and the gap."""
    print_setup(ws)
    ws.page_setup.fitToHeight = 1  # table and chart read together: keep them on one page
    put(ws, 1, 1, "People receiving support and practitioners, statement by statement").font = TITLE_FONT
    put(ws, 2, 1, f"Means of settled answers: {people.form_id} ({len(people.copies)} returns) and "
                  f"{practitioners.form_id} ({len(practitioners.copies)} returns). "
                  "Gap = people's mean minus practitioners' mean.")
    head = ["Item", "Statement (person)", "Statement (practitioner)", "Mean: people receiving support", "n people",
            "Mean: practitioners", "n practitioners", "Gap", "Caution"]
    header(ws, 4, head, [9, 45, 45, 16, 10, 16, 15, 9, 24])
    items = [i for i in people.item_ids if i in practitioners.item_ids]
    row = 4
    for item_id in items:
        row += 1
        mine, theirs = people.settled(item_id), practitioners.settled(item_id)
        a = statistics.fmean(mine) if mine else None
        b = statistics.fmean(theirs) if theirs else None
        values = (item_id, people.statement(item_id), practitioners.statement(item_id), a, len(mine), b,
                  len(theirs), a - b if a is not None and b is not None else None, few_answers(len(mine), len(theirs)))
        for c, value in enumerate(values, 1):
            cell = put(ws, row, c, value, WRAP_TOP)
            if c in (4, 6, 8):
                cell.number_format = "0.00"
    if not items:
        return
    chart = BarChart()
    chart.type, chart.grouping, chart.gapWidth = "bar", "clustered", 60
    chart.title = "Mean rating per statement"
    for col in (4, 6):
        chart.add_data(Reference(ws, min_col=col, min_row=4, max_row=row), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=5, max_row=row))
    for series, colour in zip(chart.series, COMPARISON_COLOURS, strict=True):
        series.graphicalProperties.solidFill = colour
        series.graphicalProperties.line.solidFill = colour
    chart.dataLabels = DataLabelList(showVal=True, showSerName=False, showCatName=False, showLegendKey=False,
                                     showPercent=False, numFmt="0.0")
    chart.x_axis.scaling.orientation = "maxMin"
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 1, 5
    chart.y_axis.majorUnit = 1
    chart.y_axis.title = "Mean rating (1 = not at all, 5 = completely)"
    chart.x_axis.delete = chart.y_axis.delete = False
    chart.legend.position = "b"
    chart.width = C.EXPORT_CHART_WIDTH_CM
    chart.height = C.EXPORT_CHART_BASE_HEIGHT_CM + 1.4 * C.EXPORT_CHART_CM_PER_ITEM * len(items)
    ws.add_chart(chart, f"A{row + 2}")
