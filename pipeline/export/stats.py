"""Statistics files: SPSS (.sav), Stata (.dta) and an R-ready CSV with a script that applies the labels.

One table per form, built from the same snapshot as the workbook, so the numbers are the workbook's:
one row per copy - every returned copy, and every printed copy that has not come back (`returned` = 0) -
with the copy's columns (form, version, style, label, dates, pages) and one numeric variable per statement.
A statement without a usable answer carries the negative code of its `MissingKind` (the read model decides
which), declared missing in each format: an SPSS user-missing range, Stata extended missing values .a-.f,
and in R turned into NA beside a factor that keeps the reason.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pipeline import constants as C
from pipeline.atomic import atomic_write, document_mode
from pipeline.errors import OutputError
from pipeline.export.sheets import copy_values
from pipeline.export.snapshot import FormReport, joined_code
from pipeline.text import clean_text
from pipeline.vocab import MissingKind

#: Stata keeps the reason in an extended missing value: code -1 is .a, -2 is .b, ...
STATA_LETTERS = {kind.code: chr(ord("a") - kind.code - 1) for kind in MissingKind}
MISSING_LO, MISSING_HI = min(k.code for k in MissingKind), max(k.code for k in MissingKind)

COPY_VARIABLES = (
    ("serial", "Serial printed on the copy"),
    ("form", "Form id"),
    ("version", "Form version the copy was read as"),
    ("style", "Print: standard, large-print or easy-read"),
    ("label", "Label given at print time (team, site or batch)"),
    ("language", "Language the copy was printed in (e.g. en, cy, cy+en)"),
    ("date_returned", "Date returned (first page scanned, UTC)"),
    ("date_settled", "Date settled (last review decision, UTC)"),
    ("pages_returned", "Pages returned"),
    ("pages_in_copy", "Pages in the copy"),
)
YES_NO = {1: "yes", 0: "no"}


@dataclass
class StatsTable:
    """One form's data in the shape every statistics package wants: columns, labels, value labels, missing."""

    form_id: str
    columns: dict[str, list[Any]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict[int, str]] = field(default_factory=dict)
    items: list[str] = field(default_factory=list)  # variables of rated statements (numeric, with missing codes)
    dates: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)  # code grids' numbers: text of digits (leading zeros kept)

    @property
    def rows(self) -> int:
        return len(next(iter(self.columns.values()), []))


def variable_names(ids: list[str], taken: set[str], max_chars: int = 32) -> dict[str, str]:
    """Item ids as variable names every package accepts: letters, digits and _, starting with a letter,
    at most 32 characters (Stata's limit), each unique."""
    names: dict[str, str] = {}
    for item_id in ids:
        base = re.sub(r"[^A-Za-z0-9_]", "_", item_id) or "v"
        if not base[0].isalpha():
            base = "v" + base
        base = base[:max_chars]
        name, n = base, 2
        while name.lower() in taken:
            name = f"{base[:max_chars - 4]}_{n}"
            n += 1
        taken.add(name.lower())
        names[item_id] = name
    return names


def build_table(report: FormReport) -> StatsTable:
    """The form's rows: returned copies first (by serial, as the Responses sheet), then copies not returned."""
    table = StatsTable(report.form_id)
    taken = {name for name, _ in COPY_VARIABLES} | {"returned", "needs_review"}
    codes = variable_names([g.id for g in report.codes], taken)
    items = variable_names(report.item_ids, taken)
    fields = variable_names(report.field_ids, taken)
    cols: dict[str, list[Any]] = {name: [] for name, _ in COPY_VARIABLES}
    cols["returned"] = []
    for v in (*codes.values(), *items.values(), *fields.values()):
        cols[v] = []
    cols["needs_review"] = []
    for copy in report.copies:
        serial, form, _, style, label, language, returned, settled, present, count, _ = copy_values(copy)
        for name, value in zip([n for n, _ in COPY_VARIABLES],
                               (serial, form, copy.form_version, style, label, language, returned, settled, present,
                                count),
                               strict=True):
            cols[name].append(value)
        cols["returned"].append(1)
        for grid in report.codes:
            cols[codes[grid.id]].append(joined_code(copy, grid)[0])  # '' unless every digit is settled
        for item_id, v in items.items():
            answer, kind = copy.answers.get(item_id), copy.status(item_id)
            cols[v].append(kind.code if kind is not None else answer.usable if answer is not None else None)
        for field_id, v in fields.items():
            note = copy.comments.get(field_id)
            cols[v].append(clean_text(note.text)[:C.STATS_STRING_MAX_CHARS] if note is not None else "")
        cols["needs_review"].append(1 if copy.needs_review else 0)
    for missing in report.unreturned:
        for name, value in zip([n for n, _ in COPY_VARIABLES],
                               (missing.serial, missing.form_id, missing.form_version, missing.style,
                                missing.label or "", "", None, None, 0, missing.page_count), strict=True):
            cols[name].append(value)
        cols["returned"].append(0)
        for v in codes.values():
            cols[v].append("")
        for v in items.values():
            cols[v].append(MissingKind.NOT_RETURNED.code)
        for v in fields.values():
            cols[v].append("")
        cols["needs_review"].append(0)
    table.columns = cols
    table.labels = dict(COPY_VARIABLES) | {"returned": "Copy returned", "needs_review": "Still needs review"}
    scale = {p.value: p.label or str(p.value) for p in report.scale}
    missing_labels = {kind.code: kind.label for kind in MissingKind}
    for item_id, v in items.items():
        table.labels[v] = clean_text(f"{item_id}: {report.statement(item_id)}".rstrip(": "))[:250]
        table.value_labels[v] = scale | missing_labels
    for field_id, v in fields.items():
        table.labels[v] = clean_text(f"{field_id}: {_prompt(report, field_id)}".rstrip(": "))[:250]
    for grid in report.codes:
        table.labels[codes[grid.id]] = clean_text(grid.text)[:250]
    table.value_labels["returned"] = YES_NO
    table.value_labels["needs_review"] = YES_NO
    table.items = list(items.values())
    table.codes = list(codes.values())
    table.texts = ["serial", "form", "style", "label", "language", *codes.values(), *fields.values()]
    table.dates = ["date_returned", "date_settled"]
    return table


def _prompt(report: FormReport, field_id: str) -> str:
    form = report.definition
    if form is None:
        return ""
    return next((t.prompt for t in form.free_text if t.id == field_id), "")


def _frame(table: StatsTable, stata: bool = False) -> Any:
    """The table as a pandas DataFrame of the types the writers need (Stata: missing codes as letters)."""
    import numpy as np
    import pandas as pd

    data: dict[str, Any] = {}
    for name, values in table.columns.items():
        if name in table.dates:
            data[name] = pd.to_datetime(pd.Series([v if isinstance(v, date) else None for v in values],
                                                  dtype="object"))
        elif name in table.texts:
            data[name] = pd.Series(["" if v is None else str(v) for v in values], dtype="object")
        elif stata and name in table.items:
            data[name] = pd.Series([STATA_LETTERS[v] if isinstance(v, int) and v < 0 else v for v in values],
                                   dtype="object")
        else:
            data[name] = pd.Series([np.nan if v is None else v for v in values], dtype="float64")
    return pd.DataFrame(data)


def write_sav(table: StatsTable, path: Path) -> Path:
    """SPSS: variable labels, value labels on every statement, the missing codes declared user-missing."""
    import pyreadstat

    frame = _frame(table)
    missing: dict[str, Any] = {v: [{"lo": float(MISSING_LO), "hi": float(MISSING_HI)}] for v in table.items}
    labels: dict[str, Any] = dict(table.labels)
    formats = {v: "F2.0" for v in (*table.items, "returned", "needs_review", "pages_returned", "pages_in_copy")}
    with _atomic(path) as tmp:
        pyreadstat.write_sav(frame, tmp, file_label=f"PaperVoice: {table.form_id}"[:64],
                             column_labels=labels, variable_value_labels=_float_keys(table.value_labels),
                             missing_ranges=missing, variable_format=formats | {d: "DATE11" for d in table.dates},
                             variable_measure={v: "ordinal" for v in table.items})
    return path


def write_dta(table: StatsTable, path: Path) -> Path:
    """Stata: variable labels, value labels, the missing reasons as extended missing values .a-.f."""
    import pyreadstat

    frame = _frame(table, stata=True)
    labels: dict[str, dict[Any, str]] = {}
    for v, mapping in table.value_labels.items():
        labels[v] = {STATA_LETTERS.get(k, k) if v in table.items else k: text for k, text in mapping.items()}
    missing = {v: sorted(STATA_LETTERS.values()) for v in table.items}
    with _atomic(path) as tmp:
        pyreadstat.write_dta(frame, tmp, file_label=f"PaperVoice: {table.form_id}"[:80],
                             column_labels={k: v[:80] for k, v in table.labels.items()},
                             variable_value_labels=labels, missing_user_values=missing)
    return path


def write_r(table: StatsTable, directory: Path) -> tuple[Path, Path]:
    """An R-ready CSV (codes as numbers, dates ISO, UTF-8) and a base-R script that applies the labels."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", table.form_id)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    names = list(table.columns)
    writer.writerow(names)
    for i in range(table.rows):
        row = []
        for name in names:
            value = table.columns[name][i]
            row.append("" if value is None else value.isoformat() if isinstance(value, date) else value)
        writer.writerow(row)
    data_path, script_path = directory / f"{stem}.csv", directory / f"{stem}.R"
    atomic_write(data_path, buffer.getvalue().encode("utf-8"))
    atomic_write(script_path, r_script(table, data_path.name).encode("utf-8"))
    return data_path, script_path


def _r_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def r_script(table: StatsTable, csv_name: str) -> str:
    """Base R only (no packages): read the CSV, keep each statement numeric with NA for every missing code,
    add `<item>_missing` (a factor: why it is missing) and `<item>_f` (a factor of the scale's words)."""
    any_item = table.items[0] if table.items else None
    scale = {k: v for k, v in table.value_labels.get(any_item or "", {}).items() if k >= 0}
    missing = {kind.code: kind.label for kind in MissingKind}
    text_columns = ", ".join(f"{v} = {_r_string('character')}" for v in table.codes)
    as_text = f", colClasses = c({text_columns})" if table.codes else ""
    lines = [
        f"# PaperVoice: {table.form_id}. Applies the labels to {csv_name}; base R only.",
        "# Run it from the folder holding the CSV:  source(\"" + csv_name[:-4] + ".R\")  -> a data frame `responses`.",
        f"responses <- read.csv({_r_string(csv_name)}, stringsAsFactors = FALSE, na.strings = \"\","
        " encoding = \"UTF-8\"" + as_text + ")",
        *(["# code grids' numbers are read as text, so 0427 stays 0427; empty (NA) when a digit is missing"]
          if table.codes else []),
        f"scale_labels <- {_r_values(scale)}",
        f"missing_labels <- {_r_values(missing)}",
        f"statements <- c({', '.join(_r_string(v) for v in table.items)})",
        "for (v in statements) {",
        "  code <- responses[[v]]",
        "  responses[[paste0(v, \"_missing\")]] <- factor(ifelse(code < 0, code, NA), levels = missing_labels,",
        "                                                labels = names(missing_labels))",
        "  code[code < 0] <- NA",
        "  responses[[v]] <- code",
        "  responses[[paste0(v, \"_f\")]] <- factor(code, levels = scale_labels, labels = names(scale_labels),",
        "                                          ordered = TRUE)",
        "}",
        "for (v in c(\"date_returned\", \"date_settled\")) responses[[v]] <- as.Date(responses[[v]])",
        "for (v in c(\"returned\", \"needs_review\")) responses[[v]] <- factor(responses[[v]], levels = c(0, 1),"
        " labels = c(\"no\", \"yes\"))",
        "variable_labels <- c(",
        ",\n".join(f"  {name} = {_r_string(label)}" for name, label in table.labels.items()),
        ")",
        "for (v in names(variable_labels)) attr(responses[[v]], \"label\") <- variable_labels[[v]]",
        "",
    ]
    return "\n".join(lines)


def _r_values(mapping: dict[int, str]) -> str:
    """c("label" = value, ...) in R."""
    return "c(" + ", ".join(f"{_r_string(label)} = {key}" for key, label in mapping.items()) + ")"


def _float_keys(value_labels: dict[str, dict[int, str]]) -> dict[str, dict[int | float, str]]:
    return {v: {float(k): text for k, text in mapping.items()} for v, mapping in value_labels.items()}


class _atomic:
    """pyreadstat writes to a path: give it a temporary one in the same folder, then move it into place."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> str:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, self.tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        except OSError as exc:
            raise OutputError(f"cannot write in the folder of {self.path}: {exc.strerror}",
                              "check the path and that you may write there") from exc
        os.close(fd)
        return self.tmp

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        try:
            if kind is None:
                os.chmod(self.tmp, document_mode())
                os.replace(self.tmp, self.path)
        except OSError as error:
            raise OutputError(f"cannot write {self.path}: {error.strerror or error}",
                              "check there is free space and the file is not open in another program") from error
        finally:
            Path(self.tmp).unlink(missing_ok=True)


def per_form_path(path: Path, form_id: str, many: bool) -> Path:
    """FILE itself for one form; FILE's name with the form id added when several forms are exported."""
    if not many:
        return path
    return path.with_name(f"{path.stem}-{re.sub(r'[^A-Za-z0-9._-]', '_', form_id)}{path.suffix}")

