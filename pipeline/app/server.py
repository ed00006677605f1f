"""Building and serving the office app around the review app."""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, request

from pipeline import constants as C
from pipeline.app import help_views, inbox, print_views, results_views, scan_views, status_views
from pipeline.form.definition import FormRegistry
from pipeline.options import AppOptions
from pipeline.review import app as review_app

EXTENSION = "papervoice_office"
PARTS = (("status.home", "Status"), ("print.home", "Print"), ("scan.home", "Scan"), ("review.home", "Review"),
         ("results.home", "Results"), ("help.home", "Help"))


def create_office_app(options: AppOptions, registry: FormRegistry | None = None, start_inbox: bool = True) -> Flask:
    """The review app with the office's parts registered on it; starts the background scanner unless told not."""
    app = review_app.create_app(options, registry, review_prefix="/review")
    # uploads may be large: this runs before the review guard reads the form, and lifts the limit for them only
    app.before_request_funcs.setdefault(None, []).insert(0, _upload_limit)
    for part in (status_views, print_views, scan_views, results_views, help_views):
        app.register_blueprint(part.bp)
    box = inbox.Inbox(options)
    app.extensions[EXTENSION] = box
    app.context_processor(_context)
    if start_inbox:
        box.start()
    return app


def office_inbox() -> inbox.Inbox:
    found: inbox.Inbox = current_app.extensions[EXTENSION]
    return found


def _upload_limit() -> None:
    if request.endpoint == "scan.upload":
        options: AppOptions = current_app.extensions[review_app.views.EXTENSION].options
        request.max_content_length = options.max_upload_bytes
        request.max_form_parts = C.APP_MAX_UPLOAD_FILES + 10  # the files, the CSRF token and a little room


def _context() -> dict[str, Any]:
    return {"office_parts": PARTS}


def serve_app(options: AppOptions, *, ready: Callable[[str], None] | None = None) -> None:
    """Run the office app until Ctrl-C, the background scanner with it."""
    # the scanner's process pool starts from a threaded server: fresh worker processes, not forks of it
    if multiprocessing.get_start_method(allow_none=True) is None:
        if sys.platform == "win32":
            multiprocessing.set_start_method("spawn")
        else:
            multiprocessing.set_start_method("forkserver")
            # the fork server imports the reader once, so each batch's workers start as quickly as scan's
            multiprocessing.set_forkserver_preload(["pipeline.scan.reader", "pipeline.scan.loading"])
    review_app.serve(options, ready=ready, factory=create_office_app, what="PaperVoice")
