"""One vocabulary: every stored code has a description, and the schema and result types use the same codes."""

from __future__ import annotations

import re
from typing import get_args

import pytest

from pipeline import vocab
from pipeline.ledger.store import SCHEMA, Ledger
from pipeline.scan import results
from pipeline.scan.decide import decide_item
from pipeline.scan.results import BoxReading


@pytest.mark.parametrize("enum", vocab.ALL, ids=lambda e: e.__name__)
def test_every_code_has_a_description(enum: type[vocab.Vocab]) -> None:
    for member in enum:
        assert member.description.strip(), f"{enum.__name__}.{member.name} has no description"
        assert member.label.strip()
        assert member.value == member.value.lower() and " " not in member.value  # stored codes stay plain


def _checks(schema: str) -> dict[tuple[str, str], tuple[str, ...]]:
    """(table, column) -> the codes its CHECK (column IN (...)) allows, read from the schema's text."""
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    for table, body in re.findall(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\);", schema, re.S):
        for column, codes in re.findall(r"(\w+) TEXT NOT NULL CHECK \(\1 IN \(([^)]*)\)\)", body):
            found[(table, column)] = tuple(re.findall(r"'([^']*)'", codes))
    return found


def test_schema_checks_are_the_enums() -> None:
    assert _checks(SCHEMA) == {
        ("files", "outcome"): tuple(vocab.FileOutcome),
        ("pages", "status"): tuple(vocab.PageStatus),
        ("answers", "state"): tuple(vocab.ItemState),
        ("decisions", "kind"): tuple(vocab.DecisionKind),
    }


def test_a_ledger_refuses_codes_outside_the_vocabulary(ledger_url: str) -> None:
    """The database itself (its CHECK constraints, on either backend) refuses a status no enum names."""
    from pipeline.errors import LedgerError

    with Ledger(ledger_url) as ledger:
        with ledger.transaction() as db:
            file_id = db.insert("INSERT INTO files (sha256, path, size_bytes, pages, outcome, scanned_at) VALUES "
                                "('x', 'p', 1, 1, 'read', 'now')")
            db.execute("INSERT INTO pages (file_id, page_index, status, scanned_at) VALUES (?, 0, ?, 'now')",
                       (file_id, str(vocab.PageStatus.BLANK)))
        with pytest.raises(LedgerError), ledger.transaction() as db:
            db.execute("INSERT INTO pages (file_id, page_index, status, scanned_at) VALUES (?, 1, 'cancelled', 'now')",
                       (file_id,))
        assert ledger.execute("SELECT COUNT(*) FROM pages").fetchone()[0] == 1


def test_result_literals_are_the_enums() -> None:
    assert set(get_args(results.PageStatus)) == set(vocab.PageStatus)
    assert set(get_args(results.BoxState)) == set(vocab.BoxState)
    assert set(get_args(results.ItemState)) == set(vocab.ItemState)


def test_cancelled_answers_are_described() -> None:
    """The scanner's 'cancelled' flag (a box filled in, nothing else marked) reads as words, not as the code."""
    filled = BoxReading("S01", 3, 0.9, 0.9, 0.0, 0.0, 0.0, "filled", 0.9, solid=0.9)
    empty = [BoxReading("S01", v, 0.0, 0.0, 0.0, 0.0, 0.0, "empty", 0.9) for v in (1, 2, 4, 5)]
    reading = decide_item("S01", [*empty, filled])
    assert reading.state == vocab.ItemState.FLAGGED
    assert reading.reason in set(vocab.FlagReason)
    assert vocab.FlagReason.describe(reading.reason) != reading.reason


def test_unknown_codes_are_shown_as_they_are() -> None:
    assert vocab.FlagReason.describe("something-new") == "something-new"
    assert vocab.FlagReason.describe(None, "unclear") == "unclear"
