"""The audit trail of a person's decisions, newest first, with what each changed (the review's history page)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.ledger.decisions import describe_page_decision
from pipeline.ledger.store import Ledger


@dataclass(frozen=True)
class DecisionRow:
    id: int
    kind: str
    page_id: int
    item: str
    previous: str | None
    value: str | None
    decided_at: str
    decided_by: str
    reverted_at: str | None
    serial: str | None
    form_id: str | None
    form_page: int | None
    file_path: str
    page_index: int
    active: bool


def decision_history(ledger: Ledger, page_id: int | None = None, item: str | None = None,
                     decision_id: int | None = None, limit: int = 500) -> list[DecisionRow]:
    """Every decision, newest first, with what it changed; `active` marks the one now in force per target."""
    sql = ("SELECT d.*, p.serial, p.form_id, p.form_page, p.page_index, f.path,"
           " (SELECT a.id FROM active_decisions a WHERE a.id = d.id) IS NOT NULL AS active"
           " FROM decisions d JOIN pages p ON p.id = d.page_id JOIN files f ON f.id = p.file_id")
    where: list[str] = []
    params: list[Any] = []
    if page_id is not None:
        where.append("d.page_id = ?")
        params.append(page_id)
    if item is not None:
        where.append("d.item = ?")
        params.append(item)
    if decision_id is not None:
        where.append("d.id = ?")
        params.append(decision_id)
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY d.id DESC LIMIT ?"
    params.append(limit)
    return [DecisionRow(id=int(r["id"]), kind=str(r["kind"]), page_id=int(r["page_id"]), item=str(r["item"]),
                        previous=r["previous"], value=r["value"], decided_at=str(r["decided_at"]),
                        decided_by=str(r["decided_by"] or ""), reverted_at=r["reverted_at"], serial=r["serial"],
                        form_id=r["form_id"], form_page=r["form_page"], file_path=str(r["path"]),
                        page_index=int(r["page_index"]), active=bool(r["active"])) for r in ledger.execute(sql, params)]


def decision(ledger: Ledger, decision_id: int) -> DecisionRow | None:
    rows = decision_history(ledger, decision_id=decision_id, limit=1)
    return rows[0] if rows else None


def describe_value(kind: str, value: str | None) -> str:
    """A decision's value in words for the history page."""
    if kind == "answer":
        return "blank" if value in (None, "") else str(value)
    if kind == "comment":
        if value is None:
            return "(nothing)"
        return "no comment" if value == "" else value
    return describe_page_decision(value) or "(not settled)"
