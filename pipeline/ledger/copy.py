"""`papervoice ledger copy SRC DST`: a whole ledger moved between backends (SQLite <-> PostgreSQL).

Everything goes: the survey id (so the printed codes still match), the serials and print runs, every file,
page, image, reading, decision and its audit trail, with their ids, so links between them hold.  The
target must be empty unless the caller says to replace it.  Afterwards only one of the two may issue
serials: by default the target carries on and the source is marked retired (it refuses to print); with
`backup` the source carries on and the copy is the one marked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import LedgerError
from pipeline.ledger.backend import Backend
from pipeline.ledger.scanning import now
from pipeline.ledger.schema import LOCAL_META_KEYS
from pipeline.ledger.stations import RETIRED_KEY, set_meta
from pipeline.ledger.store import Ledger
from pipeline.ledger.url import LedgerURL, parse_url

#: Tables in the order their references allow; a table this list does not name is copied after them.
COPY_ORDER = ("issue_batches", "serials", "files", "images", "pages", "box_measurements", "answers", "comments",
              "decisions")
#: meta rows that describe the database holding the ledger, not the ledger: never copied.
LOCAL_META = {*LOCAL_META_KEYS, "schema_version"}
#: What makes a target "not empty": it already holds a survey's serials, scans or decisions.
CONTENT_TABLES = ("serials", "files", "pages", "decisions")
_CHUNK_ROWS = 500
_CHUNK_PAGES = 200


@dataclass
class CopyReport:
    source: str
    target: str
    rows: dict[str, int] = field(default_factory=dict)


def _held(db: Backend) -> dict[str, int]:
    present = db.tables()
    return {t: int(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in CONTENT_TABLES if t in present}


def _chunks(db: Backend, table: str, columns: list[str]) -> Iterator[list[tuple[Any, ...]]]:
    """The table's rows a slice at a time (keyset pages), so a ledger of many images never sits in memory."""
    select = f"SELECT {', '.join(columns)} FROM {table}"
    key = "id" if "id" in columns else "page_id" if "page_id" in columns else None
    if key is None:
        rows = [tuple(r) for r in db.execute(select).fetchall()]
        for start in range(0, len(rows), _CHUNK_ROWS):
            yield rows[start:start + _CHUNK_ROWS]
        return
    last = -1
    top = db.execute(f"SELECT MAX({key}) FROM {table}").fetchone()[0]
    step = _CHUNK_ROWS if key == "id" else _CHUNK_PAGES
    while top is not None and last < int(top):
        rows = [tuple(r) for r in db.execute(f"{select} WHERE {key} > ? AND {key} <= ? ORDER BY {key}",
                                             (last, last + step)).fetchall()]
        last += step
        if rows:
            yield rows


def copy_ledger(source: str | os.PathLike[str] | LedgerURL, target: str | os.PathLike[str] | LedgerURL, *,
                replace: bool = False, backup: bool = False) -> CopyReport:
    """Copy every row of `source` into `target` (created if need be); see the module's docstring."""
    src_url, dst_url = parse_url(source), parse_url(target)
    if src_url.text == dst_url.text or (src_url.path is not None and dst_url.path is not None
                                        and os.path.abspath(src_url.path) == os.path.abspath(dst_url.path)):
        raise LedgerError("the source and the target of the copy are the same ledger", "name two different ledgers")
    report = CopyReport(src_url.shown, dst_url.shown)
    with Ledger(src_url, readonly=True) as src:
        if src.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() is None:
            raise LedgerError(f"{src.shown} is not a PaperVoice ledger", "name the ledger to copy from")
        with Ledger(dst_url) as dst, dst.transaction() as out, src.consistent_read():
            held = {t: n for t, n in _held(out).items() if n}
            if held and not replace:
                raise LedgerError(
                    f"the target {dst.shown} already holds a ledger ("
                    + ", ".join(f"{n} {t}" for t, n in held.items()) + ")",
                    "copy into an empty database or file, or add --force to replace everything in it")
            _copy_rows(src.db, out, report)
            stamp = now()
            set_meta(out, "copied_from", {"from": src.shown, "at": stamp})
            set_meta(out, RETIRED_KEY, {"to": src.shown, "at": stamp, "backup": True} if backup else None)
    if not backup:
        with Ledger(src_url) as src, src.transaction() as db:
            set_meta(db, RETIRED_KEY, {"to": dst_url.shown, "at": now(), "backup": False})
    return report


def _copy_rows(src: Backend, out: Backend, report: CopyReport) -> None:
    source_tables, target_tables = src.tables(), out.tables()
    order = [t for t in COPY_ORDER if t in source_tables]
    order += sorted(source_tables - set(order) - {"meta"})
    for table in reversed(order):
        if table in target_tables:
            out.execute(f"DELETE FROM {table}")
    meta = [(k, v) for k, v in src.execute("SELECT key, value FROM meta").fetchall() if k not in LOCAL_META]
    for key, value in meta:
        out.execute("INSERT INTO meta (key, value) VALUES (?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))
    for table in order:
        if table not in target_tables:
            raise LedgerError(f"the target does not know the table '{table}' of {report.source}",
                              "copy with the PaperVoice version that wrote the source ledger, or a newer one")
        wanted = set(out.columns(table))
        columns = [c for c in src.columns(table) if c in wanted]
        later = "duplicate_of" if table == "pages" else None  # may point at a later row: set once all are in
        report.rows[table] = 0
        links: list[tuple[Any, Any]] = []
        insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        for rows in _chunks(src, table, columns):
            if later is not None and later in columns:
                at, key = columns.index(later), columns.index("id")
                links += [(r[at], r[key]) for r in rows if r[at] is not None]
                rows = [(*r[:at], None, *r[at + 1:]) for r in rows]
            out.executemany(insert, rows)
            report.rows[table] += len(rows)
        if links:
            out.executemany("UPDATE pages SET duplicate_of = ? WHERE id = ?", links)
        out.after_copy(table)
