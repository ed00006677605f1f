"""The ledger's tables and views, and how a ledger made by an older PaperVoice is brought up to date.

Written once in portable SQL for every backend: `INTEGER`, `REAL`, `TEXT` and `BLOB` columns, `id INTEGER
PRIMARY KEY` keys; each backend turns them into its own types (`postgres_backend.ddl`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import LedgerError
from pipeline.form.identity import new_survey_id
from pipeline.vocab import DecisionKind, ErasureKind, FileOutcome, ItemState, PageStatus

if TYPE_CHECKING:
    from pipeline.ledger.backend import Backend

SCHEMA_VERSION = 2  # 2: survey ids, 'foreign' pages, files committed page by page ('complete'), real views


SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS issue_batches (
    id INTEGER PRIMARY KEY, form_id TEXT NOT NULL, form_version INTEGER NOT NULL, style TEXT NOT NULL,
    paper TEXT NOT NULL, copies INTEGER NOT NULL, output TEXT, issued_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS serials (
    serial TEXT PRIMARY KEY, number INTEGER NOT NULL UNIQUE, form_id TEXT NOT NULL, form_version INTEGER NOT NULL,
    style TEXT NOT NULL, paper TEXT NOT NULL, pages INTEGER NOT NULL,
    batch_id INTEGER NOT NULL REFERENCES issue_batches(id), issued_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE, path TEXT NOT NULL, size_bytes INTEGER NOT NULL,
    pages INTEGER NOT NULL, outcome TEXT NOT NULL CHECK (outcome IN {FileOutcome.sql_in()}), error TEXT,
    scanned_at TEXT NOT NULL, complete INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS images (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, mime TEXT NOT NULL DEFAULT 'image/png', data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS pages (
    id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL REFERENCES files(id), page_index INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN {PageStatus.sql_in()}),
    reason TEXT NOT NULL DEFAULT '', form_id TEXT, form_version INTEGER, style TEXT, paper TEXT, serial TEXT,
    form_page INTEGER, page_count INTEGER, serial_issued INTEGER, rotation_deg REAL, fit_residual_mm REAL,
    dpi REAL, duplicate_of INTEGER REFERENCES pages(id), image_id INTEGER REFERENCES images(id),
    scanned_at TEXT NOT NULL, survey TEXT, UNIQUE (file_id, page_index));
CREATE INDEX IF NOT EXISTS pages_by_serial ON pages (serial, form_page);
CREATE TABLE IF NOT EXISTS box_measurements (
    page_id INTEGER NOT NULL REFERENCES pages(id), item TEXT NOT NULL, value INTEGER NOT NULL,
    coverage REAL NOT NULL, darkness REAL NOT NULL, spill REAL NOT NULL, dx_mm REAL NOT NULL, dy_mm REAL NOT NULL,
    state TEXT NOT NULL, confidence REAL NOT NULL, faint REAL NOT NULL DEFAULT 0, solid REAL NOT NULL DEFAULT 0,
    match REAL NOT NULL DEFAULT 1, PRIMARY KEY (page_id, item, value));
CREATE TABLE IF NOT EXISTS answers (
    page_id INTEGER NOT NULL REFERENCES pages(id), item TEXT NOT NULL, value INTEGER,
    state TEXT NOT NULL CHECK (state IN {ItemState.sql_in()}), reason TEXT, detail TEXT NOT NULL DEFAULT '',
    confidence REAL NOT NULL, crop_id INTEGER REFERENCES images(id), PRIMARY KEY (page_id, item));
CREATE TABLE IF NOT EXISTS comments (
    page_id INTEGER NOT NULL REFERENCES pages(id), item TEXT NOT NULL, written INTEGER NOT NULL, text TEXT NOT NULL,
    confidence REAL NOT NULL, engine TEXT NOT NULL, crop_id INTEGER REFERENCES images(id),
    PRIMARY KEY (page_id, item));
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN {DecisionKind.sql_in()}),
    page_id INTEGER NOT NULL REFERENCES pages(id), item TEXT NOT NULL DEFAULT '', previous TEXT, value TEXT,
    decided_at TEXT NOT NULL, decided_by TEXT NOT NULL DEFAULT '', reverted_at TEXT);
CREATE INDEX IF NOT EXISTS decisions_by_target ON decisions (kind, page_id, item);
"""

#: Every question for a person, with its effective answer. Used by review, status and export.  Stored in
#: the ledger (so `sqlite3 papervoice.db` sees them too); created TEMP for old ledgers opened read-only.
EFFECTIVE_VIEWS = """
CREATE TEMP VIEW IF NOT EXISTS active_decisions AS
    SELECT d.* FROM decisions d
    WHERE d.reverted_at IS NULL AND d.id = (
        SELECT MAX(d2.id) FROM decisions d2
        WHERE d2.kind = d.kind AND d2.page_id = d.page_id AND d2.item = d.item AND d2.reverted_at IS NULL);
CREATE TEMP VIEW IF NOT EXISTS effective_answers AS
    SELECT p.serial, p.form_id, p.form_version, p.form_page, a.page_id, a.item, a.state AS machine_state,
           a.value AS machine_value, a.reason, a.detail, a.confidence, a.crop_id,
           CASE WHEN d.id IS NULL THEN a.value
                WHEN d.value IS NULL OR d.value = '' THEN NULL ELSE CAST(d.value AS INTEGER) END AS value,
           CASE WHEN d.id IS NOT NULL THEN 'reviewed' ELSE a.state END AS state,
           d.id AS decision_id
    FROM answers a JOIN pages p ON p.id = a.page_id
    LEFT JOIN active_decisions d ON d.kind = 'answer' AND d.page_id = a.page_id AND d.item = a.item
    WHERE p.status = 'form';
CREATE TEMP VIEW IF NOT EXISTS effective_comments AS
    SELECT p.serial, p.form_id, p.form_version, p.form_page, c.page_id, c.item, c.written, c.confidence, c.engine,
           c.crop_id, c.text AS machine_text,
           CASE WHEN d.id IS NULL THEN c.text ELSE COALESCE(d.value, '') END AS text,
           d.id AS decision_id
    FROM comments c JOIN pages p ON p.id = c.page_id
    LEFT JOIN active_decisions d ON d.kind = 'comment' AND d.page_id = c.page_id AND d.item = c.item
    WHERE p.status = 'form';
"""


def check_is_ledger(db: Backend, readonly: bool) -> None:
    """Refuse a database that is not a PaperVoice ledger, before anything is written to it.

    An empty database is a new ledger (for the commands that write).  A database with tables of its own and no
    `meta` table is another program's (or a ledger that lost its meta table, which would otherwise get a new
    survey id and make every earlier print foreign): its tables are never added to.  A ledger written by a
    newer PaperVoice is refused by the readers too, which would otherwise report it 'OK'."""
    tables = db.tables()
    if not tables:
        if readonly:
            raise LedgerError(f"{db.shown} is empty: it is not a PaperVoice ledger yet",
                              "scan or generate with this --db first, or pass the right --db")
        return
    if {"pages", "serials", "files"} & tables and not {"meta", "serials"} <= tables:
        missing = "meta" if "meta" not in tables else "serials"
        raise LedgerError(f"{db.shown} is not a PaperVoice ledger as it stands: it has lost its {missing} table "
                          "(damaged?); nothing was written to it",
                          "restore the ledger from a backup copy, or pass the right --db")
    if "meta" not in tables or "serials" not in tables:
        listed = ", ".join(sorted(tables)[:5]) + (" ..." if len(tables) > 5 else "")
        raise LedgerError(f"{db.shown} is a database of another program (it holds the tables {listed}), "
                          "not a PaperVoice ledger; nothing was written to it",
                          "pass a new file name with --db (PaperVoice makes the ledger), or the right ledger")
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is not None and str(row[0]).isdecimal() and int(row[0]) > SCHEMA_VERSION:
        raise LedgerError(f"the ledger {db.shown} was written by a newer PaperVoice",
                          "upgrade PaperVoice before using this ledger")


def migrate(db: Backend) -> None:
    """Create what is missing, upgrade an older ledger, give it a survey id; inside the caller's transaction.

    Every step is idempotent and portable (the backend turns the shared DDL into its dialect); a branch that
    adds a table or column adds an `_ensure_...(db)` step here.
    """
    db.create(SCHEMA)
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is not None and int(row[0]) > SCHEMA_VERSION:
        raise LedgerError(f"the ledger {db.shown} was written by a newer PaperVoice",
                          "upgrade PaperVoice before using this ledger")
    if row is not None:
        db.upgrade_old_schema(int(row[0]))
    _ensure_box_measures(db)
    db.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)"
               " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(SCHEMA_VERSION),))
    db.execute("INSERT INTO meta (key, value) VALUES ('survey_id', ?) ON CONFLICT (key) DO NOTHING",
               (new_survey_id(),))
    _ensure_survey_printed(db)
    _ensure_languages(db)
    _ensure_results(db)
    _ensure_adopted_sheets(db)
    _ensure_comment_lines(db)
    db.store_views(EFFECTIVE_VIEWS)


def _ensure_survey_printed(db: Backend) -> None:
    """`issue_batches.survey_printed`: 1 when the batch's pages carry this ledger's survey id, 0 when they carry
    the older survey-less code.  A survey-less page is this ledger's copy only if its serial went to a
    survey-less print; NULL (batches recorded before the column) keeps the old rule, taken as ours."""
    db.add_column("issue_batches", "survey_printed", "INTEGER")


def _ensure_languages(db: Backend) -> None:
    """The language a batch was printed in, and a page was read as ('cy', 'cy+en'; NULL: the form file's own).

    Copies of one form in several languages share its id and version (one column set); the language says
    which layout a page was printed from and is a column of the export."""
    for table in ("issue_batches", "pages"):
        db.add_column(table, "language", "TEXT")


#: Tables for results and data protection (issue 23): comments a person marked fine to share in a printed
#: summary, and the audit of erasures (which copy, when, how much was removed: never what it said).
RESULTS_TABLES = f"""
CREATE TABLE IF NOT EXISTS shared_comments (
    page_id INTEGER NOT NULL REFERENCES pages(id), item TEXT NOT NULL, shared INTEGER NOT NULL,
    decided_at TEXT NOT NULL, decided_by TEXT NOT NULL DEFAULT '', PRIMARY KEY (page_id, item));
CREATE TABLE IF NOT EXISTS erasures (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN {ErasureKind.sql_in()}), serial TEXT,
    erased_at TEXT NOT NULL, pages INTEGER NOT NULL, answers INTEGER NOT NULL, comments INTEGER NOT NULL,
    images INTEGER NOT NULL, decisions INTEGER NOT NULL, note TEXT NOT NULL DEFAULT '');
"""


def _ensure_results(db: Backend) -> None:
    """Idempotent: the print label on each batch (NULL = none), the shared-comment marks and the erasure audit."""
    db.add_column("issue_batches", "label", "TEXT")
    db.create(RESULTS_TABLES)


#: Every input of a box's decision (`decide.classify`) and of its page's (`decide.decide_page`), unrounded, so
#: `papervoice reclassify` can decide every box again after a change of thresholds, as SDAPS does.
#: `position` is the box's place in the layout's order; the rounded figures stay in box_measurements.
BOX_MEASURES = """
CREATE TABLE IF NOT EXISTS box_measures (
    page_id INTEGER NOT NULL REFERENCES pages(id), item TEXT NOT NULL, value INTEGER NOT NULL,
    position INTEGER NOT NULL, coverage DOUBLE PRECISION NOT NULL, faint DOUBLE PRECISION NOT NULL,
    solid DOUBLE PRECISION NOT NULL, inner_mm2 DOUBLE PRECISION NOT NULL, floor DOUBLE PRECISION NOT NULL,
    faint_floor DOUBLE PRECISION NOT NULL, corners INTEGER NOT NULL, dot_mm2 DOUBLE PRECISION NOT NULL,
    cells INTEGER NOT NULL, coherence DOUBLE PRECISION NOT NULL, passes DOUBLE PRECISION NOT NULL,
    cut_mm2 DOUBLE PRECISION NOT NULL, open_gap DOUBLE PRECISION NOT NULL,
    bridged_passes DOUBLE PRECISION NOT NULL, bridged_solid DOUBLE PRECISION NOT NULL, pieces INTEGER NOT NULL,
    largest_mm2 DOUBLE PRECISION NOT NULL, beside_mm2 DOUBLE PRECISION NOT NULL,
    beside_at DOUBLE PRECISION NOT NULL, left_mm2 DOUBLE PRECISION NOT NULL, PRIMARY KEY (page_id, item, value));
CREATE TABLE IF NOT EXISTS page_measures (
    page_id INTEGER PRIMARY KEY REFERENCES pages(id), bitonal INTEGER NOT NULL, poor_fit TEXT NOT NULL DEFAULT '');
"""
_MEASURE_TYPES = re.compile(r"(\w+) (DOUBLE PRECISION|INTEGER|TEXT) NOT NULL")
#: box_measures' columns holding a box's decision inputs, in order (the scanner's `BoxMeasures` fields have
#: these names); the ledger states them itself, from its own table
MEASURE_COLUMNS = tuple(name for name, _ in _MEASURE_TYPES.findall(BOX_MEASURES.split("page_measures")[0])
                        if name not in ("page_id", "item", "value", "position", "beside_mm2", "beside_at",
                                        "left_mm2"))


def _ensure_box_measures(db: Backend) -> None:
    """The tables `reclassify` decides from (idempotent: a ledger that has them keeps them, and gains any
    measure a newer version keeps, as 0 for the boxes read before)."""
    for statement in BOX_MEASURES.split(";"):
        if not statement.strip():
            continue
        db.create(statement)
        table = statement.split("EXISTS", 1)[1].split("(", 1)[0].strip()
        body = statement.split("(", 1)[1]
        for name, kind in _MEASURE_TYPES.findall(body):
            db.add_column(table, name, f"{kind} NOT NULL DEFAULT {chr(39) * 2 if kind == 'TEXT' else '0'}")


def _ensure_adopted_sheets(db: Backend) -> None:
    """Adopted returns that carry a code of their own per sheet (a barcode the blank lacks): the ledger
    number their copy was given, so a re-scan or a re-read of the same sheet joins the same copy."""
    db.create("CREATE TABLE IF NOT EXISTS adopted_sheets (form_id TEXT NOT NULL, code TEXT NOT NULL, "
              "serial TEXT NOT NULL REFERENCES serials(serial), PRIMARY KEY (form_id, code))")


def _ensure_comment_lines(db: Backend) -> None:
    """The engine's confidence in each line it read (0-100, top to bottom, comma-separated; '' for fields read
    before, or not transcribed): the read model flags a weak line however good the average, and a change of
    the threshold needs no new scan."""
    db.add_column("comments", "line_confidences", "TEXT NOT NULL DEFAULT ''")


#: meta rows about the database holding a ledger, not about the survey: never copied, not compared.
LOCAL_META_KEYS = ("home", "retired", "copied_from", "views_sha256")

#: Columns that record when something happened, not what: left out when comparing ledgers.
VOLATILE_COLUMNS = {"scanned_at", "issued_at", "decided_at", "reverted_at", "path", "output"}


def content_snapshot(location: str | Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows without timestamps and file paths, images by their bytes, in a stable order.

    Two scans of the same returns must give equal snapshots, however they ran: one process or many,
    interrupted or not, into SQLite or PostgreSQL.
    """
    from pipeline.ledger.store import Ledger

    with Ledger(location, readonly=True) as ledger:
        db = ledger.db
        snapshot: dict[str, list[tuple[Any, ...]]] = {}
        for table in sorted(db.tables()):
            columns = [c for c in db.columns(table) if c not in VOLATILE_COLUMNS]
            # the survey id is random per ledger; the rest is about the database, not the survey
            skipped = ", ".join(f"'{key}'" for key in ("survey_id", *LOCAL_META_KEYS))
            where = f" WHERE key NOT IN ({skipped})" if table == "meta" else ""
            rows = db.execute(f"SELECT {', '.join(columns)} FROM {table}{where}").fetchall()
            snapshot[table] = sorted((tuple(r) for r in rows), key=repr)
        return snapshot
