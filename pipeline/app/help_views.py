"""Help: setting up the scanner, and what each message means, in plain words."""

from __future__ import annotations

from flask import Blueprint, render_template

from pipeline.scan.loading import SUPPORTED_WORDS
from pipeline.vocab import FlagReason, PageStatus

bp = Blueprint("help", __name__)


@bp.get("/help")
def home() -> str:
    return render_template("office/help.html", statuses=list(PageStatus), reasons=list(FlagReason),
                           supported=SUPPORTED_WORDS)
