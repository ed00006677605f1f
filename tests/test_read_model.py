"""One read model: status, the review page and the workbook agree on what came back and what is open.

Before, "incomplete copy" was computed three ways and could disagree; now each reads `ledger.queries`.
The ledger is built in code (see test_review.build_ledger): one copy without its last page, a copy of
another form scanned twice, flagged answers, written comments and stray pages.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook
from test_review import build_ledger

from pipeline.export.snapshot import COMMENT_REASON
from pipeline.export.workbook import export_workbook
from pipeline.form.definition import FormRegistry
from pipeline.ledger import queries as Q
from pipeline.ledger.status import reconcile
from pipeline.ledger.store import Ledger
from pipeline.options import ExportOptions


def test_status_review_and_workbook_agree(ledger_url: str, tmp_path: Path, registry: FormRegistry) -> None:
    built = build_ledger(ledger_url, registry)
    report = reconcile(built.db)
    with Ledger(built.db, readonly=True) as led:
        incomplete = Q.incomplete_copies(led)
        open_answers = sum(1 for q in Q.answer_questions(led) if not q.settled)
        open_comments = sum(1 for q in Q.comment_questions(led) if not q.settled)
    review_incomplete = {(c.serial, c.missing) for c in incomplete}
    status_incomplete = {(c["serial"], tuple(c["pages_missing"])) for f in report["forms"]
                         for c in f["incomplete_copies"]}
    assert review_incomplete == status_incomplete
    assert built.serials[2] in {serial for serial, _ in review_incomplete}  # the copy without its last page
    assert (open_answers, open_comments) == (report["to_review"]["answers"], report["to_review"]["comments"])

    out = export_workbook(ExportOptions(output=tmp_path / "r.xlsx", db=built.db), registry)
    rows = [[c.value for c in r] for r in load_workbook(out)["Review"].iter_rows(min_row=2)]
    workbook_incomplete = {(r[0], r[3]) for r in rows if r[2] == "(pages)"}
    assert workbook_incomplete == {(c.serial, f"page {', '.join(map(str, c.missing))} of {c.page_count} not returned")
                                   for c in incomplete}
    flagged = [r for r in rows if r[2] not in ("(pages)", "(page)") and r[3] != COMMENT_REASON]
    assert len(flagged) == open_answers
    assert sum(1 for r in rows if r[3] == COMMENT_REASON) == open_comments
