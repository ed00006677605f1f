"""The input loader: files and folders in, one small picklable `PageJob` per page out.

The coordinator calls `expand_inputs`, `file_info` and `open_pages`; the
workers call `decode_page`.  The split keeps the coordinator cheap (it only
splits files into pages and never decodes pixels it can avoid) and keeps
memory flat (pages are produced lazily, one at a time).

Scanner PDFs usually hold one picture per page (a JPEG, a CCITT Group 4 fax
image or a Flate bitmap drawn over the whole page).  That picture is used as it
is, at its own resolution: rendering it again would only resample it.  Every
other PDF page (a freshly generated form, a page with several pictures) is
rendered by PDFium (pypdfium2) at RENDER_DPI in the worker.

Everything that can go wrong with an input becomes an `InputFileError` (or its
subclass `PageError` for one page of a file) whose message names the file and
whose advice says what an office can do about it.  The batch always goes on.

Coordinator side: `files` (finding inputs), `formats` (recognising a file and
opening it as pages), `pictures` (JPEG/PNG/TIFF headers and frames), `pdf` and
`pdf_images` (a PDF page's picture or the page to render).  Worker side:
`decode`.  `jobs` holds what they share.
"""

from pipeline.scan.loading.decode import decode_page, decode_scaled, estimate_dpi
from pipeline.scan.loading.files import expand_inputs, file_info
from pipeline.scan.loading.formats import open_pages, page_job
from pipeline.scan.loading.jobs import (
    LEDGER_SUFFIXES,
    SUPPORTED_SUFFIXES,
    SUPPORTED_WORDS,
    PageError,
    PageJob,
    PageKind,
)

__all__ = ["LEDGER_SUFFIXES", "SUPPORTED_SUFFIXES", "SUPPORTED_WORDS", "PageError", "PageJob", "PageKind",
           "decode_page", "decode_scaled", "estimate_dpi", "expand_inputs", "file_info", "open_pages", "page_job"]
