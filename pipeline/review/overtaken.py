"""Two people on one question: the second to choose is told, and their choice is not saved over the first.

Every decision form carries the decision its page showed standing (`seen`); `Ledger.decide` compares it with
the one standing now inside the write's own transaction, so the check and the write cannot be torn apart.
"""

from __future__ import annotations

from flask import flash, request

from pipeline.ledger import queries as Q
from pipeline.ledger.store import Overtaken


def seen_decision() -> int | bool | None:
    """The decision the person's page showed: None when the question was open; True when the form did not
    say (a script posting directly), which means 'no check'."""
    raw = request.form.get("seen")
    if raw is None:
        return True
    return int(raw) if raw.isdigit() else None


def tell(exc: Overtaken, kind: str) -> None:
    """Say what happened, in words: whose decision stands, and that this person's was not saved."""
    if exc.standing is None:
        now = "someone else undid the decision you saw, so the question is open again"
    else:
        now = f"someone else settled it meanwhile ({Q.describe_value(kind, exc.value)})"
    flash(f"Not saved: {now}. Look again below and choose if you still disagree.")
