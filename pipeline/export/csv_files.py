"""CSV files of the responses, for statistics packages."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from pipeline.atomic import atomic_write
from pipeline.export.sheets import response_values, responses_header
from pipeline.export.snapshot import FormReport
from pipeline.text import clean_text


def write_csv(directory: Path, report: FormReport) -> Path:
    """One form's responses for statistics packages: UTF-8, a header row, empty = blank, written atomically."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*responses_header(report), "Items to review"])
    for copy in report.copies:
        values = ["" if v is None else clean_text(v) if isinstance(v, str) else v
                  for v in response_values(report, copy)]
        waiting = [i for i in report.item_ids if (a := copy.answers.get(i)) is not None and a.open]
        waiting += [f for f in report.field_ids if (c := copy.comments.get(f)) is not None and c.open]
        writer.writerow([*values, " ".join(waiting)])
    path = directory / f"{re.sub(r'[^A-Za-z0-9._-]', '_', report.form_id)}.csv"
    atomic_write(path, buffer.getvalue().encode("utf-8"))
    return path
