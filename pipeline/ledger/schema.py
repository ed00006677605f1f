"""The ledger's tables and views, and how a ledger made by an older PaperVoice is brought up to date."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

from pipeline.errors import LedgerError
from pipeline.form.identity import new_survey_id
from pipeline.vocab import DecisionKind, ErasureKind, FileOutcome, ItemState, PageStatus

SCHEMA_VERSION = 2  # 2: survey ids, 'foreign' pages, files committed page by page ('complete'), real views

#: Version 1 ledgers' page CHECK ends with 'conflict'; version 2 adds 'foreign' (PageStatus.FOREIGN).
_OLD_PAGE_CHECK = "'duplicate', 'conflict'))"
_NEW_PAGE_CHECK = "'duplicate', 'conflict', 'foreign'))"


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


def check_is_ledger(conn: sqlite3.Connection, path: Path, readonly: bool) -> None:
    """Refuse a database that is not a PaperVoice ledger, before anything is written to it.

    An empty file is a new ledger (for the commands that write).  A database with tables of its own and no
    `meta` table is another program's file (or a ledger that lost its meta table, which would otherwise get
    a new survey id and make every earlier print foreign): its tables are never added to.  A ledger written
    by a newer PaperVoice is refused by the readers too, which would otherwise report it 'OK'."""
    tables = {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        if readonly:
            raise LedgerError(f"{path} is empty: it is not a PaperVoice ledger yet",
                              "scan or generate with this --db first, or pass the right --db")
        return
    if {"pages", "serials", "files"} & tables and not {"meta", "serials"} <= tables:
        missing = "meta" if "meta" not in tables else "serials"
        raise LedgerError(f"{path} is not a PaperVoice ledger as it stands: it has lost its {missing} table "
                          "(damaged?); nothing was written to it",
                          "restore the ledger from a backup copy, or pass the right --db")
    if "meta" not in tables or "serials" not in tables:
        listed = ", ".join(sorted(tables)[:5]) + (" ..." if len(tables) > 5 else "")
        raise LedgerError(f"{path} is a database of another program (it holds the tables {listed}), "
                          "not a PaperVoice ledger; nothing was written to it",
                          "pass a new file name with --db (PaperVoice makes the ledger), or the right ledger")
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is not None and str(row[0]).isdecimal() and int(row[0]) > SCHEMA_VERSION:
        raise LedgerError(f"the ledger {path} was written by a newer PaperVoice",
                          "upgrade PaperVoice before using this ledger")


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Create what is missing, upgrade an older ledger, give it a survey id; inside the caller's transaction."""
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is not None and int(row[0]) > SCHEMA_VERSION:
        raise LedgerError(f"the ledger {path} was written by a newer PaperVoice",
                          "upgrade PaperVoice before using this ledger")
    if row is not None and int(row[0]) < 2:
        _upgrade_to_2(conn)
    _ensure_box_measures(conn)
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    conn.execute("INSERT OR IGNORE INTO meta VALUES ('survey_id', ?)", (new_survey_id(),))
    _ensure_survey_printed(conn)
    _ensure_languages(conn)
    _ensure_results(conn)
    _ensure_adopted_sheets(conn)
    _store_views(conn)


def _ensure_survey_printed(conn: sqlite3.Connection) -> None:
    """`issue_batches.survey_printed`: 1 when the batch's pages carry this ledger's survey id, 0 when they carry
    the older survey-less code.  A survey-less page is this ledger's copy only if its serial went to a
    survey-less print; NULL (batches recorded before the column) keeps the old rule, taken as ours."""
    if "survey_printed" not in _columns(conn, "issue_batches"):
        conn.execute("ALTER TABLE issue_batches ADD COLUMN survey_printed INTEGER")


def _ensure_languages(conn: sqlite3.Connection) -> None:
    """The language a batch was printed in, and a page was read as ('cy', 'cy+en'; NULL: the form file's own).

    Copies of one form in several languages share its id and version (one column set); the language says
    which layout a page was printed from and is a column of the export."""
    for table in ("issue_batches", "pages"):
        if "language" not in _columns(conn, table):
            conn.execute(f"ALTER TABLE {table} ADD COLUMN language TEXT")


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


def _ensure_results(conn: sqlite3.Connection) -> None:
    """Idempotent: the print label on each batch (NULL = none), the shared-comment marks and the erasure audit."""
    if "label" not in _columns(conn, "issue_batches"):
        conn.execute("ALTER TABLE issue_batches ADD COLUMN label TEXT")
    for statement in RESULTS_TABLES.split(";"):
        if statement.strip():
            conn.execute(statement)


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    """A table's column names, asked in a way every database answers (no PRAGMA)."""
    return {d[0] for d in conn.execute(f"SELECT * FROM {table} WHERE 1 = 0").description}


#: Every input of a box's decision (`marks.classify`) and of its page's (`marks.decide_page`), unrounded, so
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


def _ensure_box_measures(conn: sqlite3.Connection) -> None:
    """The tables `reclassify` decides from (idempotent: a ledger that has them keeps them, and gains any
    measure a newer version keeps, as 0 for the boxes read before)."""
    for statement in BOX_MEASURES.split(";"):
        if not statement.strip():
            continue
        conn.execute(statement)
        table = statement.split("EXISTS", 1)[1].split("(", 1)[0].strip()
        have = {d[0] for d in conn.execute(f"SELECT * FROM {table} LIMIT 0").description}
        body = statement.split("(", 1)[1]
        for name, kind in re.findall(r"(\w+) (DOUBLE PRECISION|INTEGER|TEXT) NOT NULL", body):
            if name not in have:
                default = "''" if kind == "TEXT" else "0"
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind} NOT NULL DEFAULT {default}")


def _ensure_adopted_sheets(conn: sqlite3.Connection) -> None:
    """Adopted returns that carry a code of their own per sheet (a barcode the blank lacks): the ledger
    number their copy was given, so a re-scan or a re-read of the same sheet joins the same copy."""
    conn.execute("CREATE TABLE IF NOT EXISTS adopted_sheets (form_id TEXT NOT NULL, code TEXT NOT NULL, "
                 "serial TEXT NOT NULL REFERENCES serials(serial), PRIMARY KEY (form_id, code))")


def _plain(sql: str) -> str:
    return re.sub(r"\s+", " ", sql.replace("IF NOT EXISTS ", "")).strip()


def _store_views(conn: sqlite3.Connection) -> None:
    """The views live in the ledger itself, so `sqlite3 papervoice.db` can query them; a view whose stored
    definition differs from this version's is replaced."""
    stored = {r[0]: _plain(r[1] or "") for r in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'view'")}
    for view in EFFECTIVE_VIEWS.split(";"):
        if not view.strip():
            continue
        sql = view.replace("CREATE TEMP VIEW", "CREATE VIEW").strip()
        name = sql.split()[5]  # CREATE VIEW IF NOT EXISTS <name> AS
        if stored.get(name) != _plain(sql):
            conn.execute(f"DROP VIEW IF EXISTS {name}")
            conn.execute(sql)


def views_stored(conn: sqlite3.Connection) -> bool:
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}
    return {"active_decisions", "effective_answers", "effective_comments"} <= names


def _upgrade_to_2(conn: sqlite3.Connection) -> None:
    """A version-1 ledger: new columns, and 'foreign' added to the page statuses the CHECK allows.

    Widening a CHECK changes no stored row, so the table's SQL text is edited in place, the procedure
    SQLite documents for such changes (https://sqlite.org/lang_altertable.html#otheralter).
    """
    if "survey" not in {r[1] for r in conn.execute("PRAGMA table_info(pages)")}:
        conn.execute("ALTER TABLE pages ADD COLUMN survey TEXT")
    if "complete" not in {r[1] for r in conn.execute("PRAGMA table_info(files)")}:
        conn.execute("ALTER TABLE files ADD COLUMN complete INTEGER NOT NULL DEFAULT 1")
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'pages'").fetchone()[0]
    if _NEW_PAGE_CHECK not in sql and _OLD_PAGE_CHECK in sql:
        version = int(conn.execute("PRAGMA schema_version").fetchone()[0])
        conn.execute("PRAGMA writable_schema = ON")
        try:
            conn.execute("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'pages'",
                         (sql.replace(_OLD_PAGE_CHECK, _NEW_PAGE_CHECK),))
            conn.execute(f"PRAGMA schema_version = {version + 1}")
        finally:
            conn.execute("PRAGMA writable_schema = OFF")


#: Columns that record when something happened, not what: left out when comparing ledgers.
VOLATILE_COLUMNS = {"scanned_at", "issued_at", "decided_at", "reverted_at", "path", "output"}


def content_snapshot(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows without timestamps and file paths, images by their bytes, in a stable order.

    Two scans of the same returns must give equal snapshots, however they ran:
    one process or many, interrupted or not.
    """
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        snapshot: dict[str, list[tuple[Any, ...]]] = {}
        for table in tables:
            columns = [r[1] for r in con.execute(f"PRAGMA table_info({table})") if r[1] not in VOLATILE_COLUMNS]
            where = " WHERE key != 'survey_id'" if table == "meta" else ""  # random per ledger
            rows = con.execute(f"SELECT {', '.join(columns)} FROM {table}{where}").fetchall()
            snapshot[table] = sorted(rows, key=repr)
        return snapshot
    finally:
        con.close()
