"""`papervoice status`: what came back and what is still open.

It only reads the ledger (opened read-only, so it is safe to run while a scan
is writing).  `reconcile` answers the office's questions per form: how many
copies went out, came back, came back whole, and how much is waiting for a
person; `format_status` says it in plain words.
"""

from __future__ import annotations

import os
from typing import Any

from pipeline import constants as C
from pipeline.ledger import listings
from pipeline.ledger.queries import effective_answers, effective_comments, open_pages, returned_copies
from pipeline.ledger.store import Ledger
from pipeline.names import shown
from pipeline.text import plural
from pipeline.vocab import PageStatus

PAGE_STATUSES = tuple(status.value for status in PageStatus)
MAX_LISTED = C.REPORT_MAX_LISTED


# --- status ---------------------------------------------------------------------------------------------------


def reconcile(db: str | os.PathLike[str]) -> dict[str, Any]:
    """Everything `papervoice status` shows, as plain data (the --json output).

    Every figure is the read model's (`ledger.queries`, `ledger.listings`), so status, review and the
    workbook agree; this module writes no SQL.  Pages that were scanned twice are counted once (the second
    scan is a duplicate or a conflict).
    """
    with Ledger(db, readonly=True) as ledger, ledger.consistent_read():
        survey_id = ledger.survey_id
        forms: dict[tuple[str, int], dict[str, Any]] = {}

        def entry(form_id: str, version: int) -> dict[str, Any]:
            key = (form_id, int(version))
            if key not in forms:
                forms[key] = {"form_id": form_id, "form_version": int(version), "issued": 0, "returned": 0,
                              "complete": 0, "incomplete": 0, "not_returned": 0, "returned_not_issued": 0,
                              "answers_to_review": 0, "comments_to_review": 0, "incomplete_copies": []}
            return forms[key]

        for (form_id, version), issued in listings.issued_by_form(ledger).items():
            entry(form_id, version)["issued"] = issued
        unissued = []
        for copy in returned_copies(ledger):
            form = entry(copy.form_id, copy.form_version)
            if not copy.issued:
                form["returned_not_issued"] += 1
                unissued.append(copy.serial)
                continue
            form["returned"] += 1
            if copy.complete:
                form["complete"] += 1
            else:
                form["incomplete"] += 1
                form["incomplete_copies"].append({"serial": copy.serial, "pages_missing": list(copy.missing)})
        for answer in effective_answers(ledger):
            if answer.open:
                entry(answer.form_id, answer.form_version)["answers_to_review"] += 1
        for note in effective_comments(ledger, written_only=True):
            if note.open:
                entry(note.form_id, note.form_version)["comments_to_review"] += 1
        for form in forms.values():
            form["not_returned"] = max(0, form["issued"] - form["returned"])

        files = listings.file_outcomes(ledger)
        failed = [{"path": f.path, "error": f.error} for f in listings.failed_files(ledger)]
        unfinished = [shown(path) for path in listings.unfinished_files(ledger)]
        pages = dict.fromkeys(PAGE_STATUSES, 0) | listings.page_counts(ledger)
        foreign = [{"path": shown(p.path), "page": p.page, "survey": p.survey, "serial": p.serial,
                    "form_id": p.form_id} for p in listings.foreign_pages(ledger)]
        waiting = open_pages(ledger)  # the one definition of an open page, as review counts them
        not_recognised = sum(1 for q in waiting if q.status != PageStatus.FOREIGN)
        ledger_shown = ledger.shown

    rows = sorted(forms.values(), key=lambda f: (f["form_id"], f["form_version"]))
    answers = sum(f["answers_to_review"] for f in rows)
    comments = sum(f["comments_to_review"] for f in rows)
    return {
        "ledger": ledger_shown,
        "survey_id": survey_id,
        "forms": rows,
        "files": {"read": files.get("read", 0), "failed": files.get("failed", 0), "failed_files": failed,
                  "unfinished": unfinished},
        "pages": {"total": sum(pages.values()), **pages},
        "pages_not_recognised": not_recognised,
        "duplicates": pages["duplicate"],
        "conflicts": pages["conflict"],
        "foreign_pages": foreign,
        "serials_not_issued": sorted(unissued),
        "to_review": {"answers": answers, "comments": comments, "pages": len(waiting)},
        "totals": {key: sum(f[key] for f in rows) for key in
                   ("issued", "returned", "complete", "incomplete", "not_returned", "returned_not_issued")},
    }


def _listed(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    return shown + (f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else "")


def format_status(report: dict[str, Any]) -> str:
    """The status report in plain words for the office (not for programmers: no ids, no jargon)."""
    lines = [f"PaperVoice status for {report['ledger']}"]
    if report.get("survey_id"):
        lines.append(f"Survey id: {report['survey_id']} (printed on every page this ledger prints; pages that "
                     "name another survey id belong to another ledger)")
    lines.append("")
    if not report["forms"]:
        lines.append("No forms have been printed or scanned with this ledger yet.")
    for form in report["forms"]:
        issued, back = form["issued"], form["returned"]
        share = f" ({100 * back / issued:.0f}%)" if issued else ""
        lines.append(f"{form['form_id']} (version {form['form_version']})")
        lines.append(f"  Copies printed:            {issued:6}")
        lines.append(f"  Copies returned:           {back:6}{share}")
        lines.append(f"    with every page:         {form['complete']:6}")
        lines.append(f"    with pages missing:      {form['incomplete']:6}")
        for copy in form["incomplete_copies"][:MAX_LISTED]:
            pages = copy["pages_missing"]
            lines.append(f"      copy {copy['serial']}: {'page' if len(pages) == 1 else 'pages'} "
                         f"{', '.join(map(str, pages))} not scanned yet")
        if len(form["incomplete_copies"]) > MAX_LISTED:
            lines.append(f"      ... and {len(form['incomplete_copies']) - MAX_LISTED} more copies")
        lines.append(f"  Not returned yet:          {form['not_returned']:6}")
        if form["returned_not_issued"]:
            lines.append(f"  Returned, printed elsewhere:{form['returned_not_issued']:5}")
        lines.append(f"  Answers to check:          {form['answers_to_review']:6}")
        lines.append(f"  Comments to read:          {form['comments_to_review']:6}")
        lines.append("")

    files, pages = report["files"], report["pages"]
    lines.append(f"Files: {plural(files['read'], 'file')} read, {files['failed']} could not be read")
    for failed in files["failed_files"][:MAX_LISTED]:
        error = failed["error"].splitlines()[0] if failed["error"] else ""
        name = shown(failed["path"])
        error = error[len(name) + 2:] if error.startswith(name + ": ") else error  # the error names the file too
        lines.append(f"  could not read {name}: {error}")
    if len(files["failed_files"]) > MAX_LISTED:
        lines.append(f"  ... and {len(files['failed_files']) - MAX_LISTED} more")
    lines.append(f"{'Pages scanned:':40}{pages['total']:4}")
    for label, count in [*((status.label, pages[status]) for status in PageStatus),
                         ("not recognised, waiting for a person", report["pages_not_recognised"])]:
        lines.append(f"  {label + ':':38}{count:4}")
    for page in report["foreign_pages"][:MAX_LISTED]:
        printed = (f"printed for survey {page['survey']}, not this one" if page["survey"] else
                   "printed without a survey id by another ledger (this ledger printed that copy with its own)")
        lines.append(f"  page {page['page']} of {page['path']}: copy {page['serial']} of {page['form_id']}, "
                     f"{printed}: not counted")
    if len(report["foreign_pages"]) > MAX_LISTED:
        lines.append(f"  ... and {len(report['foreign_pages']) - MAX_LISTED} more from another survey")
    if report["serials_not_issued"]:
        lines.append(f"Copies this ledger never printed (printed with another ledger?): "
                     f"{_listed(report['serials_not_issued'])}")

    todo = report["to_review"]
    lines.append("")
    steps = []
    open_items = [plural(todo["answers"], "answer"), plural(todo["comments"], "comment"),
                  plural(todo["pages"], "page")]
    if todo["answers"] or todo["comments"] or todo["pages"]:
        steps.append(f"run 'papervoice review' to settle {', '.join(open_items[:2])} and {open_items[2]} "
                     "that the scanner could not decide")
    if files["unfinished"]:
        steps.append(f"a scan stopped part-way through {_listed(files['unfinished'])}: run the same scan again "
                     "to read the rest (the pages already read are kept)")
    if files["failed"]:
        it = "it" if files["failed"] == 1 else "them"
        steps.append(f"look at the {plural(files['failed'], 'file')} that could not be read (listed above), "
                     f"fix or re-scan {it}, and run the scan again")
    if report["foreign_pages"]:
        steps.append("scan the pages printed for another survey (listed above) into that survey's ledger")
    if any(f["incomplete"] for f in report["forms"]):
        steps.append("find and scan the missing pages listed above")
    if steps:
        lines.append("What to do next:")
        lines.extend(f"  - {step}" for step in steps)
    else:
        lines.append("Nothing is waiting for a person.")
    return "\n".join(lines)
