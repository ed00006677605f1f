"""A person's 'page' decisions, in JSON and in words: the one reading of them for review and the workbook."""

from __future__ import annotations

import json
from typing import Any

from pipeline.vocab import DecisionAction


def parse_page_decision(value: str | None) -> dict[str, Any] | None:
    """A 'page' decision's JSON value: {"action": "assign" | "not_form" | "acknowledge_missing", ...}."""
    if not value:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return {"action": "unknown", "raw": value}
    return parsed if isinstance(parsed, dict) else {"action": "unknown", "raw": value}


def describe_page_decision(value: str | None) -> str:
    """A 'page' decision in words, for the review page and the workbook alike; '' when there is none."""
    decided = parse_page_decision(value)
    if not decided:
        return ""
    action = decided.get("action")
    if action == DecisionAction.ASSIGN:
        return (f"{DecisionAction.ASSIGN.description} to {decided.get('form')} v{decided.get('version')}, "
                f"copy {decided.get('serial')}, page {decided.get('page')}")
    if action == DecisionAction.NOT_FORM:
        return DecisionAction.NOT_FORM.description
    if action == DecisionAction.ACKNOWLEDGE_MISSING:
        missing = ", ".join(str(p) for p in decided.get("missing", []))
        return f"acknowledged: page {missing} missing" if missing else DecisionAction.ACKNOWLEDGE_MISSING.description
    return str(decided.get("raw", value))
