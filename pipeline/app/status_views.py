"""Status: what came back, what is missing, what waits for a person, what to do next; and /api/status."""

from __future__ import annotations

import json

from flask import Blueprint, Response, render_template

from pipeline.ledger.files_read import by_label
from pipeline.ledger.status import format_status, reconcile
from pipeline.review import views

bp = Blueprint("status", __name__)


@bp.get("/")
@bp.get("/status")
def home() -> str:
    report = reconcile(views.state().db)
    labels = by_label(views.ledger())
    return render_template("office/status.html", report=report, words=format_status(report),
                           labels=labels if any(lc.label for lc in labels) else [])


@bp.get("/api/status")
def api() -> Response:
    """Exactly the JSON `papervoice status --json` prints, for scripts and monitoring."""
    return Response(json.dumps(reconcile(views.state().db), indent=2) + "\n", mimetype="application/json")
