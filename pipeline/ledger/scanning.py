"""Recording scans: input files, their pages and what was read on them, one transaction per page.

Only the scan coordinator writes through these, so a crash loses at most the pages in flight and re-running
picks up where it stopped (files are keyed by sha256, pages by their index in the file).  A page placed here
is compared with the scans the ledger already holds (a repeat with the same answers, or a conflict) inside
the same write transaction, so two stations scanning the same copy at once cannot both count it.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from pipeline.errors import LedgerError
from pipeline.form.identity import PageIdentity
from pipeline.ledger.backend import Backend, Cursor
from pipeline.ledger.records import (
    FileRecord,
    Fingerprint,
    IdentityRecord,
    PageRecord,
    fingerprint,
    line_confidences_text,
    mime_of,
    page_fingerprint,
)
from pipeline.ledger.schema import MEASURE_COLUMNS

#: A file that could not even be opened has no content hash: it is recorded under this key and its path.
UNOPENED_KEY = "unopened:"


def stored_path(path: str) -> str:
    """A file name as the ledger keeps it: names that are not valid UTF-8 (possible on Linux) keep their odd
    bytes as \\x escapes instead of failing to be written at all."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def foreign_reason(ident: IdentityRecord, local: str | None) -> str:
    """Why a page from another survey is set aside, naming both surveys."""
    if ident.survey is None:
        return (f"printed without a survey id, but this ledger printed copy {ident.serial} of {ident.form} with its "
                f"own survey id ({local or 'none'}): this page comes from another ledger's print (an old print or "
                "a simulation), not from this survey's copy; scan it into the ledger that printed it. "
                "It is not counted here")
    return (f"printed for another survey ({ident.survey}), not this ledger's ({local or 'none'}): "
            f"copy {ident.serial} of {ident.form} belongs to that survey; scan it into that survey's ledger. "
            "It is not counted here")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ScanWriter:
    """The scan-recording half of `Ledger` (mixed in): it needs only `transaction` and `execute`."""

    def transaction(self) -> AbstractContextManager[Backend]:
        raise NotImplementedError

    def execute(self, sql: str, params: Sequence[object] = ()) -> Cursor:
        raise NotImplementedError

    def columns_of(self, table: str) -> list[str]:
        raise NotImplementedError

    def file_status(self, sha256: str) -> str | None:
        """'read', 'failed', 'partial' (some pages committed, then the scan stopped) or None (never seen)."""
        row = self.execute("SELECT outcome, complete FROM files WHERE sha256 = ?", (sha256,)).fetchone()
        if row is None:
            return None
        return "partial" if not row["complete"] else str(row["outcome"])

    def committed_pages(self, sha256: str) -> set[int]:
        """Page indices of a file already in the ledger: a resumed scan reads only the others."""
        return {int(r[0]) for r in self.execute(
            "SELECT p.page_index FROM pages p JOIN files f ON f.id = p.file_id WHERE f.sha256 = ?", (sha256,))}

    def record_file(self, info: FileRecord, pages: Sequence[PageRecord], error: str | None = None) -> int:
        """Write one input file and all its pages in a single transaction (tests and tools; scans go page by
        page through `start_file`, `record_page` and `finish_file`)."""
        file_id = self.start_file(info)
        for result in pages:
            self.record_page(file_id, result)
        self.finish_file(file_id, error)
        return file_id

    def start_file(self, info: FileRecord) -> int:
        """The file's row, created (incomplete) before its first page is committed; an incomplete row left by
        an interrupted scan is carried on.  A file that failed before is tried again from scratch, and a
        failure recorded under its name alone (it could not be opened then) is forgotten.  A scan interrupted
        part-way through an earlier version of the same file (the scanner saved it again, pages were taken
        out) can never be finished: it is closed, its pages kept, so status stops asking to run it again."""
        from pipeline.ledger.stations import write_problem

        with self.transaction() as db:
            problem = write_problem(db)
            if problem is not None:
                raise problem
            db.execute("DELETE FROM files WHERE sha256 = ?", (UNOPENED_KEY + stored_path(info.path),))
            db.execute("UPDATE files SET complete = 1, error = ? WHERE path = ? AND complete = 0 AND sha256 <> ?",
                       ("the file changed before its scan finished; the pages read from the earlier version are "
                        "kept", stored_path(info.path), info.sha256))
            old = db.execute("SELECT id, outcome, complete FROM files WHERE sha256 = ?", (info.sha256,)).fetchone()
            if old is not None:
                if old["outcome"] == "read":
                    return int(old["id"])
                db.execute("DELETE FROM pages WHERE file_id = ?", (old["id"],))
                db.execute("DELETE FROM files WHERE id = ?", (old["id"],))
            return db.insert(
                "INSERT INTO files (sha256, path, size_bytes, pages, outcome, error, scanned_at, complete)"
                " VALUES (?, ?, ?, 0, 'read', NULL, ?, 0)",
                (info.sha256, stored_path(info.path), info.size_bytes, now()))

    def record_page(self, file_id: int, result: PageRecord) -> str:
        """Commit one page of a file in its own transaction; returns the status it was recorded with (a form
        page may become a duplicate, a conflict or foreign here).  A page already committed is left alone."""
        with self.transaction() as db:
            row = db.execute("SELECT status FROM pages WHERE file_id = ? AND page_index = ?",
                             (file_id, result.source.index)).fetchone()
            if row is not None:
                return str(row["status"])
            return self._record_page(db, file_id, result)

    def finish_file(self, file_id: int, error: str | None = None) -> None:
        """Mark a file complete: its page count, and 'failed' when it gave no page at all."""
        with self.transaction() as db:
            count = int(db.execute("SELECT COUNT(*) FROM pages WHERE file_id = ?", (file_id,)).fetchone()[0])
            db.execute("UPDATE files SET pages = ?, outcome = ?, error = ?, complete = 1 WHERE id = ? AND complete = 0",
                       (count, "failed" if error and not count else "read", error, file_id))

    _KEPT_SQL = ("FROM pages p JOIN files f ON f.id = p.file_id WHERE p.status = 'not_form' AND p.form_id IS NOT NULL"
                 " AND (p.survey IS NULL OR p.survey = (SELECT value FROM meta WHERE key = 'survey_id'))"
                 " AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.kind = 'page' AND d.page_id = p.id"
                 " AND d.reverted_at IS NULL)")

    def kept_for_definition(self, sha256: str) -> list[tuple[int, int, PageIdentity]]:
        """Pages of a file kept because their form was not defined (or did not match) when they were scanned,
        and no person has dealt with yet: (page index, page id, what its code said)."""
        return [(int(r["page_index"]), int(r["id"]),
                 PageIdentity(str(r["form_id"]), int(r["form_version"] or 0), str(r["style"]), str(r["paper"]),
                              int(r["form_page"] or 0), int(r["page_count"] or 0), str(r["serial"]), r["survey"],
                              r["language"] if "language" in r.keys() else None))  # noqa: SIM118 (Row: "in" looks at values)
                for r in self.execute("SELECT p.* " + self._KEPT_SQL + " AND f.sha256 = ? ORDER BY p.page_index",
                                      (sha256,))]

    _UNCODED_SQL = ("FROM pages p JOIN files f ON f.id = p.file_id WHERE p.status = 'not_form' AND p.form_id IS NULL"
                    " AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.kind = 'page' AND d.page_id = p.id"
                    " AND d.reverted_at IS NULL)")

    def kept_without_code(self, sha256: str) -> list[tuple[int, int]]:
        """Pages of a file kept as carrying no PaperVoice code, no person has dealt with yet: (page index, page
        id).  Once an adopted form is defined they may turn out to be its returns."""
        return [(int(r["page_index"]), int(r["id"]))
                for r in self.execute("SELECT p.page_index, p.id " + self._UNCODED_SQL
                                      + " AND f.sha256 = ? ORDER BY p.page_index", (sha256,))]

    def files_with_kept_pages(self, uncoded: bool = False) -> list[str]:
        """Where the files holding such pages were scanned from (`scan --retry`); with `uncoded`, also those
        holding pages kept for carrying no code (when adopted forms are defined)."""
        sql = "SELECT DISTINCT f.path, f.id " + self._KEPT_SQL
        if uncoded:
            sql += " UNION SELECT DISTINCT f.path, f.id " + self._UNCODED_SQL
        return [str(r[0]) for r in self.execute(sql + " ORDER BY 2")]

    def replace_kept_page(self, page_id: int, r: PageRecord) -> str | None:
        """A kept page read again now that its form is defined: it takes the new reading (form, duplicate,
        conflict...) in place, keeping its row and file.  None when it is still not readable as a form."""
        if r.status in ("not_form", "unreadable", "blank"):
            return None
        with self.transaction() as db:
            row = db.execute("SELECT status FROM pages WHERE id = ?", (page_id,)).fetchone()
            if row is None or row["status"] != "not_form":
                return None
            status, reason, duplicate_of, issued = self._place(db, r)
            ident = r.identity
            db.execute(
                "UPDATE pages SET status = ?, reason = ?, form_id = ?, form_version = ?, style = ?, paper = ?,"
                " serial = ?, form_page = ?, page_count = ?, serial_issued = ?, rotation_deg = ?,"
                " fit_residual_mm = ?, dpi = ?, duplicate_of = ?, survey = ? WHERE id = ?",
                (status, reason, ident.form if ident else None, ident.version if ident else None,
                 ident.style if ident else None, ident.paper if ident else None, ident.serial if ident else None,
                 ident.page if ident else None, ident.pages if ident else None, issued, r.rotation_deg,
                 r.fit_residual_mm, r.dpi, duplicate_of, ident.survey if ident else None, page_id))
            self._set_language(db, page_id, ident)
            if status != "foreign":
                self._record_readings(db, page_id, r, status, duplicate_of)
            return status

    def record_unopened(self, path: str, error: str) -> None:
        """A file that could not even be opened (permission denied, a dangling link): kept under its name, so
        `status` counts it; forgotten once the file at that path is read."""
        key = UNOPENED_KEY + stored_path(path)
        with self.transaction() as db:
            db.execute("DELETE FROM files WHERE sha256 = ?", (key,))
            db.execute("INSERT INTO files (sha256, path, size_bytes, pages, outcome, error, scanned_at, complete)"
                       " VALUES (?, ?, 0, 0, 'failed', ?, ?, 1)", (key, stored_path(path), error, now()))

    def _image(self, db: Backend, kind: str, png: bytes) -> int | None:
        if not png:
            return None
        return db.insert("INSERT INTO images (kind, mime, data) VALUES (?, ?, ?)", (kind, mime_of(png), png))

    @staticmethod
    def _images(db: Backend, wanted: list[tuple[str, bytes]]) -> list[int | None]:
        """Every crop of a page stored at once (None where there is no picture), ids in the order given."""
        kept = [(kind, mime_of(png), png) for kind, png in wanted if png]
        ids = iter(db.insert_rows("images", ("kind", "mime", "data"), kept))
        return [next(ids) if png else None for _, png in wanted]

    def _record_page(self, db: Backend, file_id: int, r: PageRecord) -> str:
        status, reason, duplicate_of, issued = self._place(db, r)
        ident = r.identity
        image_id = self._image(db, "page", r.image_png)
        page_id = db.insert(
            "INSERT INTO pages (file_id, page_index, status, reason, form_id, form_version, style, paper, serial,"
            " form_page, page_count, serial_issued, rotation_deg, fit_residual_mm, dpi, duplicate_of, image_id,"
            " scanned_at, survey) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (file_id, r.source.index, status, reason,
             ident.form if ident else None, ident.version if ident else None, ident.style if ident else None,
             ident.paper if ident else None, ident.serial if ident else None, ident.page if ident else None,
             ident.pages if ident else None, issued, r.rotation_deg, r.fit_residual_mm, r.dpi, duplicate_of,
             image_id, now(), ident.survey if ident else None))
        self._set_language(db, page_id, ident)
        if status != "foreign":  # what a foreign page says belongs to its own survey's ledger, not this one
            self._record_readings(db, page_id, r, status, duplicate_of)
        return status

    def _place(self, db: Backend, r: PageRecord,
               by_hand: bool = False) -> tuple[str, str, int | None, int | None]:
        """Status, reason, the earlier scan it repeats (if any), and whether its serial was issued here.
        `by_hand`: a person named the copy (review), so what the page's code says does not matter."""
        ident = r.identity
        status, reason, duplicate_of = r.status, r.reason, None
        if (ident is not None and status in ("form", "foreign", "not_form") and not by_hand
                and self._is_foreign(db, ident)):
            return "foreign", foreign_reason(ident, self._survey(db)), None, None
        if ident is not None and status == "form":
            primary = db.execute(
                "SELECT id FROM pages WHERE serial = ? AND form_id = ? AND form_page = ? AND status = 'form'"
                " ORDER BY id LIMIT 1", (ident.serial, ident.form, ident.page)).fetchone()
            if primary is not None:
                duplicate_of = int(primary["id"])
                if self._fingerprint(db, duplicate_of) == page_fingerprint(r):
                    status, reason = "duplicate", "the same page was scanned before with the same answers"
                else:
                    status, reason = "conflict", "scanned before with different answers: a person must choose"
        issued = None if ident is None else int(self.serial_issued_in(db, ident.serial))
        if ident is not None and not issued and not reason:
            reason = "serial not issued by this ledger (printed elsewhere?)"
        return status, reason, duplicate_of, issued

    def _record_readings(self, db: Backend, page_id: int, r: PageRecord, status: str,
                         duplicate_of: int | None) -> None:
        db.executemany(
            "INSERT INTO box_measurements (page_id, item, value, coverage, darkness, spill, dx_mm, dy_mm, state,"
            " confidence, faint, solid, match) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(page_id, b.item, b.value, b.coverage, b.darkness, b.spill, b.dx_mm, b.dy_mm, b.state, b.confidence,
              b.faint, b.solid, b.match) for b in r.boxes])
        measured = [(i, b, m) for i, b in enumerate(r.boxes) if (m := getattr(b, "measures", None)) is not None]
        if measured:  # decision inputs, for `reclassify` (an adopted form's boxes are decided otherwise)
            db.execute("DELETE FROM box_measures WHERE page_id = ?", (page_id,))  # a page read again: its new ones
            db.executemany(
                f"INSERT INTO box_measures (page_id, item, value, position, {', '.join(MEASURE_COLUMNS)},"
                " beside_mm2, beside_at, left_mm2) VALUES (" + ", ".join("?" * (len(MEASURE_COLUMNS) + 7)) + ")",
                [(page_id, b.item, b.value, i, *(getattr(m, c) for c in MEASURE_COLUMNS), getattr(b, "beside_mm2", 0.0),
                  getattr(b, "beside_at", 0.0), getattr(b, "left_mm2", 0.0)) for i, b, m in measured])
            poor_fit = next((a.detail for a in r.items if a.reason == "poor_fit"), "")
            db.execute("INSERT INTO page_measures (page_id, bitonal, poor_fit) VALUES (?, ?, ?)"
                       " ON CONFLICT (page_id) DO UPDATE SET bitonal = excluded.bitonal, poor_fit = excluded.poor_fit",
                       (page_id, int(getattr(r, "bitonal", False)), poor_fit))
        crops = self._images(db, [*(("item", i.crop_png) for i in r.items),
                                  *(("comment", c.crop_png) for c in r.comments)])
        db.executemany("INSERT INTO answers (page_id, item, value, state, reason, detail, confidence, crop_id)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       [(page_id, item.item, item.value, item.state, item.reason, item.detail, item.confidence, crop)
                        for item, crop in zip(r.items, crops, strict=False)])
        db.executemany("INSERT INTO comments (page_id, item, written, text, confidence, engine, crop_id,"
                       " line_confidences) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       [(page_id, c.item, int(c.written), c.text, c.confidence, c.engine, crop,
                         line_confidences_text(getattr(c, "line_confidences", ())))
                        for c, crop in zip(r.comments, crops[len(r.items):], strict=True)])
        if status == "conflict" and duplicate_of is not None:
            self._flag_conflicts(db, duplicate_of, r, page_id)

    def record_reread(self, page_id: int, r: PageRecord) -> str:
        """A kept page read again under the identity a person gave it: it becomes a form page (or a duplicate
        or conflict of one), keeping its row, its file and the decision that assigned it.  Returns its status."""
        with self.transaction() as db:
            return self._reread(db, page_id, r)

    def _reread(self, db: Backend, page_id: int, r: PageRecord) -> str:
        row = db.execute("SELECT status FROM pages WHERE id = ?", (page_id,)).fetchone()
        if row is None or row["status"] not in ("not_form", "unreadable"):
            raise LedgerError(f"page {page_id} is not waiting to be assigned", "reload the review page")
        status, reason, duplicate_of, issued = self._place(db, r, by_hand=True)
        ident = r.identity
        assert ident is not None
        if status == "foreign":
            raise LedgerError(reason, "scan this page into its own survey's ledger")
        reason = "; ".join(x for x in ("assigned by hand and read", reason) if x)
        db.execute(
            "UPDATE pages SET status = ?, reason = ?, form_id = ?, form_version = ?, style = ?, paper = ?,"
            " serial = ?, form_page = ?, page_count = ?, serial_issued = ?, rotation_deg = ?, fit_residual_mm = ?,"
            " duplicate_of = ? WHERE id = ?",
            (status, reason, ident.form, ident.version, ident.style, ident.paper, ident.serial, ident.page,
             ident.pages, issued, r.rotation_deg, r.fit_residual_mm, duplicate_of, page_id))
        self._set_language(db, page_id, ident)
        self._record_readings(db, page_id, r, status, duplicate_of)
        return status

    @staticmethod
    def _set_language(db: Backend, page_id: int | None, ident: IdentityRecord | None) -> None:
        """A page printed in another language than its form file's (a translation, a bilingual print)."""
        language = getattr(ident, "language", None)
        if page_id is not None and language:
            db.execute("UPDATE pages SET language = ? WHERE id = ?", (language, page_id))

    def batch_language(self, serial: str) -> str | None:
        """The language the copy with this serial was printed in (None: its form file's own, or unknown)."""
        if "language" not in self.columns_of("issue_batches"):
            return None
        row = self.execute("SELECT b.language FROM serials s JOIN issue_batches b ON b.id = s.batch_id"
                           " WHERE s.serial = ?", (serial,)).fetchone()
        return None if row is None else row[0]

    @staticmethod
    def _survey(db: Backend) -> str | None:
        row = db.execute("SELECT value FROM meta WHERE key = 'survey_id'").fetchone()
        return None if row is None else str(row[0])

    def _is_foreign(self, db: Backend, ident: IdentityRecord) -> bool:
        """Printed for another survey: its serial means nothing here.  A page without a survey id (an old print,
        an old simulation) is ours only where this ledger issued its serial to a survey-less print: once a
        serial was printed with our survey id, a survey-less code of it is another ledger's copy."""
        if ident.survey is not None:
            return ident.survey != self._survey(db)
        row = db.execute("SELECT b.survey_printed FROM serials s JOIN issue_batches b ON b.id = s.batch_id"
                         " WHERE s.serial = ?", (ident.serial,)).fetchone()
        return row is not None and row[0] == 1

    @staticmethod
    def serial_issued_in(db: Backend, serial: str) -> bool:
        return db.execute("SELECT 1 FROM serials WHERE serial = ?", (serial,)).fetchone() is not None

    @staticmethod
    def _fingerprint(db: Backend, page_id: int) -> Fingerprint:
        """The stored scan's fingerprint, by the same rule as `PageRecord.fingerprint`."""
        answers = [(r["item"], r["value"], r["state"]) for r in db.execute(
            "SELECT item, value, state FROM answers WHERE page_id = ? ORDER BY item", (page_id,))]
        comments = [(r["item"], bool(r["written"])) for r in db.execute(
            "SELECT item, written FROM comments WHERE page_id = ? ORDER BY item", (page_id,))]
        return fingerprint(answers, comments)

    @staticmethod
    def _flag_conflicts(db: Backend, primary_id: int, second: PageRecord, second_id: int) -> None:
        """Each item the two scans disagree on becomes a question on the first scan's answer."""
        def show(value: int | None, state: str) -> str:
            return str(value) if value is not None else ("unclear" if state == "flagged" else "blank")

        for item in second.items:
            row = db.execute("SELECT value, state, reason, detail FROM answers WHERE page_id = ? AND item = ?",
                             (primary_id, item.item)).fetchone()
            if row is None:
                continue
            if row["reason"] == "conflict" and str(row["detail"] or "").startswith("first scan read"):
                # already in question: every further reading is added, never written over the first two
                detail = f"{row['detail']}; another scan read {show(item.value, item.state)}"
            elif (row["value"], row["state"]) == (item.value, item.state):
                continue
            else:
                detail = (f"first scan read {show(row['value'], row['state'])}; "
                          f"a later scan read {show(item.value, item.state)}")
            db.execute("UPDATE answers SET state = 'flagged', reason = 'conflict', detail = ? "
                       "WHERE page_id = ? AND item = ?", (detail, primary_id, item.item))
        for c in second.comments:
            row = db.execute("SELECT written, text FROM comments WHERE page_id = ? AND item = ?",
                             (primary_id, c.item)).fetchone()
            if row is not None and not row["written"] and c.written:
                lines = line_confidences_text(getattr(c, "line_confidences", ()))
                # the first scan saw nothing, the second did: keep the writing so nothing is lost
                db.execute("UPDATE comments SET written = 1, text = ?, confidence = ?, engine = ?, crop_id = "
                           "(SELECT crop_id FROM comments WHERE page_id = ? AND item = ?), line_confidences = ?"
                           " WHERE page_id = ? AND item = ?", (c.text, c.confidence, c.engine, second_id, c.item,
                                                               lines, primary_id, c.item))
