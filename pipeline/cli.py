"""The `papervoice` command.  Thin: parse arguments, build options, call the API.

This is the one place where exceptions become exit codes and messages; data
goes to stdout, messages and progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pipeline import __version__
from pipeline.errors import ExitCode, PaperVoiceError
from pipeline.ledger.url import default_ledger, mask
from pipeline.names import shown
from pipeline.options import (
    OCR_ENGINES,
    ExportOptions,
    ReportOptions,
    ReviewOptions,
    ScanOptions,
    default_jobs,
)
from pipeline.scan.ocr import DEFAULT_ENGINE, ENGINES
from pipeline.text import plural

OCR_HELP = "handwriting engine: " + "; ".join(e.summary for e in ENGINES.values())


def say(message: str) -> None:
    print(message, file=sys.stderr)


def _forms_dirs(args: argparse.Namespace) -> tuple[Path, ...]:
    """The --forms-dir folders, checked: a folder that does not exist or holds no form is a mistake (every page
    would be 'not recognised'), so it stops the command before anything is read or written."""
    from pipeline.errors import UsageError

    dirs = tuple(Path(d) for d in (getattr(args, "forms_dir", None) or []))
    for d in dirs:
        if not d.is_dir():
            raise UsageError(f"--forms-dir {shown(d)}: no such folder",
                             "check the spelling; it is the folder holding your forms' .yaml files")
        if not any(d.glob("*.yaml")):
            raise UsageError(f"--forms-dir {shown(d)}: this folder holds no form definitions (.yaml files)",
                             "give the folder that holds your forms' .yaml files")
    return dirs


def _registry(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from pipeline.form.definition import FormRegistry

    return FormRegistry.from_dirs(list(_forms_dirs(args)))


def _registry_cached(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    if getattr(args, "_registry", None) is None:
        args._registry = _registry(args)
    return args._registry


def _style_of(args: argparse.Namespace) -> str:
    """--style, or the older --large-print switch."""
    style = getattr(args, "style", None)
    if args.large_print and style not in (None, "large-print"):
        raise_usage(f"--large-print and --style {style} ask for two different styles", "give one of them")
    return "large-print" if args.large_print else (style or "standard")


def _form_in_language(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The form named on the command line, in --language (and --bilingual: with the form's own language)."""
    from pipeline.form.i18n import check_language

    registry = _registry_cached(args)
    form = registry.get(args.form)
    language = getattr(args, "language", None)
    if getattr(args, "bilingual", False):
        if not language or "+" in language or language == form.language:
            raise_usage("--bilingual prints a translation beside the form's own language",
                        f"add --language with the translation, e.g. --language cy --bilingual (for {form.id})")
        language = f"{language}+{form.language}"
    if language:
        check_language(language)
    form = registry.in_language(form, language)
    return form


def cmd_forms(args: argparse.Namespace) -> int:
    from pipeline.form.layout import compute_layout

    rows = []
    registry = _registry_cached(args)
    for form in registry.all():
        std = compute_layout(form, "a4", "standard").page_count
        large = compute_layout(form, "a4", "large-print").page_count
        rows.append({"id": form.id, "version": form.version, "title": form.title, "audience": form.audience,
                     "items": len(form.items), "pages_standard": std, "pages_large_print": large,
                     "languages": registry.languages(form.id, form.version)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'FORM':32} {'VER':>3}  {'PAGES (std/large)':17}  TITLE")
    for r in rows:
        print(f"{r['id']:32} {r['version']:>3}  {str(r['pages_standard']) + ' / ' + str(r['pages_large_print']):17}"
              f"  {r['title']}")
    return 0


def cmd_adopt(args: argparse.Namespace) -> int:
    from pipeline.adopt.blank import adopt_blank

    blank = Path(args.blank)
    if not blank.exists():
        raise_usage(f"{blank}: no such file", "give the path of a blank copy of the form (PDF, PNG or TIFF)")
    forms_dir = Path(args.forms_dir or "forms")
    if forms_dir.exists() and not forms_dir.is_dir():
        raise_usage(f"--forms-dir {shown(forms_dir)}: is a file, not a folder",
                    "give the folder the form definition should be written to (it is made if it does not exist)")
    report = adopt_blank(blank, args.id, forms_dir, force=args.force)
    say(f"Adopted {blank} as '{args.id}': {plural(report.boxes, 'answer box', 'answer boxes')} in "
        f"{plural(report.questions, 'question')}, {plural(report.fields, 'text area')}, on "
        f"{plural(report.pages, 'page')}.")
    for line in report.lines:
        say(f"  {line}")
    say(f"Wrote {report.form_path} and {plural(len(report.previews), 'preview picture')} beside it.")
    for warning in report.warnings:
        say(f"papervoice: warning: {warning}")
    say("Please check, then edit the form file:")
    for check in report.checks:
        say(f"  - {check}")
    print(report.form_path)
    return 0


def cmd_layout(args: argparse.Namespace) -> int:
    from pipeline.form.layout import compute_layout
    from pipeline.form.printable import check_printable

    form = _form_in_language(args)
    style = _style_of(args)
    check_printable(form, style)
    layout = compute_layout(form, args.paper, style)
    if args.json:
        print(layout.dumps())
    else:
        for page in layout.pages:
            print(f"page {page.page}: {len(page.boxes)} boxes for items {', '.join(page.items) or '-'}; "
                  f"{plural(len(page.text_fields), 'comment field')}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from pipeline.form.generate import generate
    from pipeline.ledger import open_ledger

    if args.copies < 1 or args.copies > 100_000:
        raise_usage(f"--copies must be from 1 to 100000, not {args.copies}", "use e.g. --copies 50")
    from pipeline.form.i18n import translator

    form = _form_in_language(args)
    style = _style_of(args)
    for language in translator(form.language).missing():
        say(f"Note: there is no '{language}' catalogue (pipeline/locale): the fixed text of {form.id} (headings, "
            "examples, page footer) prints in English.")
    if form.translation_status:
        say(f"Note: {form.path.name if form.path else form.id}: {form.translation_status}.")
    with open_ledger(args.db) as ledger:
        result = generate(form, args.copies, Path(args.output), ledger=ledger, paper=args.paper,
                          style=style,
                          manifest=Path(args.manifest) if args.manifest else None,
                          progress=_GenerateProgress(args.copies), label=args.label)
    serials = (f"serial {result.serials[0]}" if len(result.serials) == 1
               else f"serials {result.serials[0]} to {result.serials[-1]}")
    copies = plural(len(result.serials), "copy", "copies")
    pages = "1 page" if result.pages == 1 else f"{result.pages} pages"
    labelled = f', labelled "{result.label}"' if result.label else ""
    say(f"Wrote {shown(result.output)}: {copies} of {form.id} v{form.version}{labelled}, {pages} ({serials}, "
        f"recorded in {ledger.shown}).")
    if result.manifest:
        say(f"Manifest: {shown(result.manifest)}")
    print(result.output)
    return 0


class _GenerateProgress:
    """Drawing 1,000 copies takes about half a minute: say how far it is (stderr), a line per tenth when no
    one watches a terminal, one updated line when someone does."""

    def __init__(self, total: int) -> None:
        self.tty = sys.stderr.isatty()
        self.step = max(1, total // 10)
        self.enabled = total >= 50

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.tty:
            sys.stderr.write(f"\rDrawing copy {done} of {total}" + ("\n" if done == total else ""))
            sys.stderr.flush()
        elif done % self.step == 0 or done == total:
            say(f"Drawn {done} of {total} copies")


def cmd_scan(args: argparse.Namespace) -> int:
    from pipeline.scan.coordinator import scan

    if not args.inputs and not args.retry:
        raise_usage("scan needs the files or folders to read", "e.g. papervoice scan returns/ (or --retry to read "
                    "again the pages kept until their form is defined)")
    options = ScanOptions(db=args.db, jobs=args.jobs, ocr=args.ocr,
                          debug_dir=Path(args.debug_dir) if args.debug_dir else None, quiet=args.quiet,
                          dask_scheduler=args.dask_scheduler, shared_storage=args.shared_storage,
                          forms_dirs=_forms_dirs(args), retry=args.retry)
    summary = scan([Path(p) for p in args.inputs], options)
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2))
    return int(summary.exit_code)


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def cmd_export(args: argparse.Namespace) -> int:
    from pipeline.export.workbook import export_files
    from pipeline.ledger import open_ledger

    options = ExportOptions(output=_path(args.output), db=args.db, form=args.form, csv_dir=_path(args.csv),
                            sav=_path(args.sav), dta=_path(args.dta), r_dir=_path(args.r),
                            no_images=args.no_images)
    registry = _registry(args)
    with open_ledger(options.db, readonly=True) as ledger:
        undefined = [(f, v) for f, v in ledger.forms_seen()
                     if registry.find(f, v) is None and (options.form is None or f == options.form)]
    for form_id, version in undefined:
        say(f"papervoice: warning: no definition of form '{form_id}' version {version} here, so its sheets show "
            "item ids and numbers instead of its statements and answer words\n  What to do: pass --forms-dir "
            "with the folder holding its .yaml file, and export again")
    written = export_files(options, registry=registry)
    say(f"Wrote {plural(len(written), 'file')}" + (" (no pictures of handwriting or pages)" if options.no_images
                                                     and options.output else "") + ":")
    for path in written:
        print(path)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from pipeline.report.summary import write_report

    options = ReportOptions(output=Path(args.output), db=args.db, form=args.form, large_print=args.large_print,
                            title=args.title)
    path = write_report(options, registry=_registry(args))
    say(f"Wrote {shown(path)}: the summary of results" + (" in large print" if args.large_print else "")
        + ". Only comments marked in review as fine to share are in it.")
    print(path)
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from pipeline.review.app import serve

    serve(ReviewOptions(db=args.db, host=args.host, port=args.port, token=args.token,
                        open_browser=not args.no_browser, ocr=args.ocr, forms_dirs=_forms_dirs(args)))
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    from pipeline.app.server import serve_app
    from pipeline.ledger import open_ledger
    from pipeline.ledger.url import parse_url
    from pipeline.options import AppOptions

    db = args.db
    address = parse_url(db)
    if address.path is None or not address.path.exists():  # the office starts here: a new ledger is made
        with open_ledger(db) as ledger:
            if address.path is not None:
                say(f"Started a new ledger: {ledger.shown}")
    serve_app(AppOptions(db=db, host=args.host, port=args.port, token=args.token, open_browser=not args.no_browser,
                         ocr=args.ocr, forms_dirs=_forms_dirs(args), jobs=args.jobs,
                         watch=Path(args.watch).expanduser().resolve() if args.watch else None,
                         max_upload_bytes=args.max_upload_mb * 1024 * 1024))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from pipeline.ledger.status import format_status, reconcile

    report = reconcile(args.db)
    print(json.dumps(report, indent=2) if args.json else format_status(report))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from pipeline.ledger.check import check_ledger

    problems = check_ledger(args.db)
    if args.json:
        print(json.dumps({"ok": not problems, "problems": problems}, indent=2))
    elif problems:
        for p in problems:
            print(f"problem: {p}")
    else:
        print(f"{mask(args.db)}: ledger OK")
    return int(ExitCode.LEDGER) if problems else 0


def cmd_erase(args: argparse.Namespace) -> int:
    from pipeline.ledger import erase, open_ledger

    if args.list:
        with open_ledger(args.db, readonly=True) as ledger:
            for entry in erase.erasures(ledger):
                print(entry.describe())
        return 0
    if not args.serial and args.images_older_than is None:
        raise_usage("erase needs a serial, or --images-older-than DAYS",
                    "e.g. papervoice erase 000123X --yes  (or --list to see past erasures)")
    if args.serial and args.images_older_than is not None:
        raise_usage("give a serial or --images-older-than, not both", "run erase once for each")
    with open_ledger(args.db) as ledger:
        if not args.yes:
            if args.serial:
                pages = erase.copy_pages(ledger, args.serial.strip().upper())
                what = (f"copy {args.serial.upper()}: its answers, comments, review decisions and the pictures of its "
                        f"{plural(len(pages), 'page')}")
            else:
                what = (f"the pictures of pages scanned more than {args.images_older_than} days ago (answers and "
                        "transcriptions stay)")
            raise_usage(f"this would erase {what}, for good", "add --yes to erase it (keep a copy of the ledger "
                        "first if you are unsure)")
        if args.serial:
            entry = erase.erase_copy(ledger, args.serial)
        else:
            entry = erase.erase_images_older_than(ledger, args.images_older_than)
    say(f"Erased: {entry.describe()}.")
    say("Exports made from now on leave it out; workbooks and files written before still hold it: delete those too.")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from pipeline.simulate.returns import SimulationSpec, simulate_returns

    if not 1 <= args.copies <= 10_000:  # per form and style: 10,000 already makes tens of thousands of pages
        raise_usage(f"--copies must be from 1 to 10000, not {args.copies}", "use e.g. --copies 5")
    if args.printed and not args.db:
        raise_usage("--printed fills the copies a ledger printed: say which with --db",
                    "e.g. papervoice simulate care-planning-person --printed --db practice.db --output-dir sim")
    # simulated copies count as printed for good: never in a real ledger unless --db says so (--printed only
    # reads it: the copies are the ones it printed)
    db = args.db if args.db else str(Path(args.output_dir) / "simulated.db")
    spec = SimulationSpec(forms=tuple(args.form), copies=args.copies, seed=args.seed, db=db,
                          output_dir=Path(args.output_dir), blank_comments=args.blank_comments,
                          variety=args.variety, printed=args.printed)
    truth = simulate_returns(spec, _registry(args))
    recorded = (f"they fill {truth.copies} of the copies printed in {shown(db)} (nothing was written into it)"
                if args.printed else f"their copies are recorded in {shown(db)}"
                + ("" if args.db else " (scan them with --db that file)"))
    say(f"Wrote {truth.pages} simulated pages in {len(truth.files)} files to {args.output_dir}; "
        f"ground truth in {truth.truth_path}; {recorded}")
    print(truth.truth_path)
    return 0


def cmd_ledger_copy(args: argparse.Namespace) -> int:
    from pipeline.ledger.copy import copy_ledger

    report = copy_ledger(args.source, args.target, replace=args.force, backup=args.backup)
    rows = ", ".join(f"{n} {table}" for table, n in report.rows.items() if n)
    say(f"Copied {report.source} to {report.target}: {rows or 'an empty ledger'}.")
    if args.backup:
        say(f"{report.target} is a backup: it will not print new copies; {report.source} carries on.")
    else:
        say(f"From now on use --db {report.target}: {report.source} is marked as moved and will not print new "
            "copies (its serials would repeat the ones printed with the new ledger).")
    return 0


def cmd_ledger_claim(args: argparse.Namespace) -> int:
    from pipeline.ledger import open_ledger
    from pipeline.ledger.stations import claim

    with open_ledger(args.db) as ledger, ledger.transaction() as db:
        claim(db)
        shown_db = ledger.shown
    say(f"{shown_db} may print new copies again. Make sure no other copy of this ledger prints: two ledgers with "
        "the same survey would give two people the same serial.")
    return 0


def cmd_reclassify(args: argparse.Namespace) -> int:
    from pipeline.errors import LedgerError
    from pipeline.ledger import open_ledger
    from pipeline.ledger.url import parse_url
    from pipeline.scan.reclassify import format_reclassified, reclassify

    address = parse_url(args.db)
    if address.path is not None and not address.path.exists():
        raise LedgerError(f"no ledger at {address.shown}", "pass the ledger you scanned into with --db")
    with open_ledger(args.db) as ledger:
        result = reclassify(ledger, apply=args.apply)
    print(json.dumps(result.as_dict(), indent=2) if args.json else format_reclassified(result, args.limit))
    return 0


def cmd_gallery(args: argparse.Namespace) -> int:
    from pipeline.scan.gallery import write_gallery

    pages = write_gallery(args.db, Path(args.output), per_state=args.limit, registry=_registry(args))
    say(f"Wrote the box gallery to {args.output} ({plural(len(pages) - 1, 'sheet')}); open index.html")
    for page in pages:
        print(page)
    return 0


def raise_usage(message: str, advice: str) -> None:
    from pipeline.errors import UsageError

    raise UsageError(message, advice)


DB_HELP = ("the ledger: a file (SQLite), sqlite:///FILE or postgresql://USER@HOST/DB for several stations "
           "(default: $PAPERVOICE_DB, else ./papervoice.db)")


_Add = Callable[..., argparse.ArgumentParser]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="papervoice", allow_abbrev=False,
        description="Print accessible paper checklists, scan the returns, review, and export a workbook.")
    parser.add_argument("--version", action="version", version=f"papervoice {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help_: str, forms_dirs: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_, allow_abbrev=False)
        if forms_dirs:
            p.add_argument("--forms-dir", action="append", metavar="DIR",
                           help="folder of form definitions (default: the bundled forms)")
        p.set_defaults(parser=p)
        return p

    _form_commands(add)
    _reading_commands(add)
    _ledger_commands(add)
    _tuning_commands(add)
    return parser


def _ledger_commands(add: _Add) -> None:
    """Moving a ledger between SQLite and PostgreSQL, and vouching for a moved one."""
    group = add("ledger", "copy a ledger between a file and a PostgreSQL server, and other ledger chores",
                forms_dirs=False)
    sub = group.add_subparsers(dest="ledger_command", metavar="ACTION")
    p = sub.add_parser("copy", help="copy every serial, page, image and decision of SRC into DST (SQLite or "
                                    "PostgreSQL, either way)", allow_abbrev=False)
    p.add_argument("source", metavar="SRC", help="the ledger to copy: a file or postgresql://...")
    p.add_argument("target", metavar="DST", help="where to: a new file, or an empty PostgreSQL database")
    p.add_argument("--force", action="store_true", help="replace everything a non-empty DST holds")
    p.add_argument("--backup", action="store_true",
                   help="DST is a backup: SRC carries on printing, DST will not (default: DST carries on)")
    p.set_defaults(func=cmd_ledger_copy, parser=p)
    p = sub.add_parser("claim", help="this ledger was moved (not copied): let it print new copies again",
                       allow_abbrev=False)
    p.add_argument("--db", default=default_ledger(), help=DB_HELP)
    p.set_defaults(func=cmd_ledger_claim, parser=p)
def _language_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--style", choices=["standard", "large-print", "easy-read"], default=None,
                   help="standard (default), large-print (as --large-print) or easy-read (a picture beside each "
                        "statement, a faces scale, boxes of 12 mm)")
    p.add_argument("--language", metavar="CODE",
                   help="print the form's translation in this language (e.g. cy: forms/ID.cy.yaml); two codes "
                        "joined by '+' (cy+en) print both languages together")
    p.add_argument("--bilingual", action="store_true",
                   help="with --language: print that language and the form's own together, the translation first")


def _tuning_commands(add: _Add) -> None:
    """Judging and retuning the mark thresholds from what the ledger keeps, without scanning again."""
    p = add("reclassify", "decide every box again from its stored measures (after a change of thresholds) and "
            "say what changes; nothing is written without --apply", forms_dirs=False)
    p.add_argument("--db", default=default_ledger(), help=DB_HELP)
    p.add_argument("--apply", action="store_true", help="write the new answers into the ledger")
    p.add_argument("--limit", type=int, default=50, help="changed answers listed (default 50; all are counted)")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    p.set_defaults(func=cmd_reclassify)

    p = add("gallery", "draw every box of the ledger, grouped by decision and sorted by how close it came to "
            "another, for tuning thresholds by eye")
    p.add_argument("--db", default=default_ledger(), help=DB_HELP)
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for index.html and the sheets")
    p.add_argument("--limit", type=int, default=240, help="boxes shown per decision, closest calls first")
    p.set_defaults(func=cmd_gallery)


def _form_commands(add: _Add) -> None:
    """The commands about forms themselves: list, lay out, adopt, print."""
    p = add("forms", "list the forms that can be printed and scanned")
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.set_defaults(func=cmd_forms)

    p = add("layout", "print the geometry of a form's pages (public contract: pt, top-left origin)")
    p.add_argument("form")
    p.add_argument("--large-print", action="store_true")
    _language_options(p)
    p.add_argument("--paper", choices=["a4", "letter"], default="a4")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_layout)

    p = add("adopt", "measure a blank paper form you already use, so its returns can be scanned", forms_dirs=False)
    p.add_argument("blank", metavar="BLANK.pdf|png|tif", help="a blank copy: the printed PDF, or a scan at 300 dpi")
    p.add_argument("--id", required=True, help="the new form's id (lower-case letters, digits, hyphens)")
    p.add_argument("--forms-dir", default=None, metavar="DIR", help="where to write ID.yaml (default: ./forms)")
    p.add_argument("--force", action="store_true", help="replace an existing form file of that id")
    p.set_defaults(func=cmd_adopt)

    p = add("generate", "print copies of a form as a PDF, each with its own serial")
    p.add_argument("form")
    p.add_argument("--copies", type=int, default=1)
    p.add_argument("-o", "--output", required=True, metavar="OUT.pdf")
    p.add_argument("--large-print", action="store_true")
    _language_options(p)
    p.add_argument("--paper", choices=["a4", "letter"], default="a4")
    p.add_argument("--db", default=default_ledger(), help=DB_HELP)
    p.add_argument("--manifest", metavar="OUT.csv", help="write serial,pdf_page,form_page for every PDF page")
    p.add_argument("--label", metavar="TEXT",
                   help='a team, site or batch for these copies (e.g. "North team"); every export carries it')
    p.set_defaults(func=cmd_generate)


def _reading_commands(add: _Add) -> None:
    """The commands about returns: scan, export, review, status, check, and simulate for demos."""
    p = add("scan", "read scanned returns (PDF, TIFF, JPEG, PNG files or folders) into the ledger")
    p.add_argument("inputs", nargs="*", metavar="INPUT")
    p.add_argument("--retry", action="store_true",
                   help="also read again the pages kept because their form was not defined, from the files the "
                        "ledger names (use with --forms-dir)")
    p.add_argument("--db", default=default_ledger(), help=DB_HELP)
    p.add_argument("--jobs", type=int, default=default_jobs(), help="pages read at once (default: all cores)")
    p.add_argument("--ocr", choices=OCR_ENGINES, default=DEFAULT_ENGINE, help=OCR_HELP)
    p.add_argument("--debug-dir", metavar="DIR", help="draw what the scanner saw on each page into DIR")
    p.add_argument("--dask-scheduler", metavar="ADDRESS", help="run on a Dask cluster ('local' starts one here)")
    p.add_argument("--shared-storage", action="store_true", help="Dask workers can open the input paths")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.set_defaults(func=cmd_scan)

    p = add("export", "write the consolidated Excel workbook and statistics files")
    p.add_argument("-o", "--output", metavar="results.xlsx", help="the Excel workbook")
    p.add_argument("--db", default=default_ledger(), help=DB_HELP)
    p.add_argument("--form", help="only this form")
    p.add_argument("--csv", metavar="DIR", help="also write each form's responses as CSV into DIR")
    p.add_argument("--sav", metavar="FILE.sav", help="SPSS file with labels and missing codes (one per form)")
    p.add_argument("--dta", metavar="FILE.dta", help="Stata file with labels and missing codes (one per form)")
    p.add_argument("--r", metavar="DIR", help="an R-ready CSV and a script applying the labels, per form, into DIR")
    p.add_argument("--no-images", action="store_true",
                   help="leave the pictures of handwriting and pages out of the workbook (for sharing)")
    p.set_defaults(func=cmd_export)

    p = add("report", "print a summary of the results (charts, comments marked fine to share) as a PDF")
    p.add_argument("-o", "--output", required=True, metavar="summary.pdf")
    p.add_argument("--db", default=default_ledger(), help=DB_HELP)
    p.add_argument("--form", help="only this form")
    p.add_argument("--large-print", action="store_true", help="18 pt bold text")
    p.add_argument("--title", help="the heading on the first page (default: the form's title)")
    p.set_defaults(func=cmd_report)

    p = add("review", "open the review page to settle what the scanner was unsure of")
    p.add_argument("--db", default=default_ledger(), help=DB_HELP)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--token", help="access token (required when --host is not local)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser window")
    p.add_argument("--ocr", choices=OCR_ENGINES, default=DEFAULT_ENGINE,
                   help="handwriting engine for pages read again once you say which copy they are")
    p.set_defaults(func=cmd_review)

    p = add("app", "open the office app: print, scan (with a watched scanner folder), status, review, results")
    p.add_argument("--db", default=default_ledger(), help=DB_HELP + "; made if it does not exist")
    p.add_argument("--watch", metavar="DIR", help="the folder the office scanner saves into: new files are read")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--token", help="access token (required when --host is not local)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser window")
    p.add_argument("--jobs", type=int, default=default_jobs(), help="pages read at once (default: all cores)")
    p.add_argument("--ocr", choices=OCR_ENGINES, default=DEFAULT_ENGINE, help=OCR_HELP)
    p.add_argument("--max-upload-mb", type=int, default=2048, help="largest upload, all files together (MB)")
    p.set_defaults(func=cmd_app)

    p = add("status", "copies issued, returned, complete, and what is still open")
    p.add_argument("--db", default=default_ledger(), help=DB_HELP)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = add("check", "verify the ledger's integrity")
    p.add_argument("--db", default=default_ledger(), help=DB_HELP)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_check)

    p = add("erase", "erase one copy's answers, comments and pictures (a person's request), or old page pictures",
            forms_dirs=False)
    p.add_argument("serial", nargs="?", help="the serial of the copy to erase (printed at the foot of each page)")
    p.add_argument("--images-older-than", type=int, metavar="DAYS",
                   help="retention: delete pictures of pages scanned more than DAYS days ago; answers stay")
    p.add_argument("--yes", action="store_true", help="really erase (without it, erase only says what it would do)")
    p.add_argument("--list", action="store_true", help="list the erasures made so far (the audit)")
    p.add_argument("--db", default=default_ledger(), help=DB_HELP)
    p.set_defaults(func=cmd_erase)

    p = add("simulate", "make realistic filled-in returns for demos and benchmarks")
    p.add_argument("form", nargs="+", help="the forms to fill in (see 'papervoice forms')")
    p.add_argument("--copies", type=int, default=5, help="copies per form and per style (standard, large print)")
    p.add_argument("--seed", type=int, default=1, help="the same seed gives the same files and truth")
    p.add_argument("--db", default=None, help="the ledger that records the simulated copies as printed (default: "
                   "OUTPUT_DIR/simulated.db, never a real survey's ledger by accident)")
    p.add_argument("--output-dir", required=True, help="where the scans and truth.json are written")
    p.add_argument("--blank-comments", action="store_true", help="leave every comment field empty")
    p.add_argument("--variety", choices=("tidy", "wide"), default="tidy",
                   help="tidy: the original set; wide: any pen, sloppy marks, short comments on the rules")
    p.add_argument("--printed", action="store_true",
                   help="a practice run: fill in the copies --db already printed and has not had back (at most "
                        "--copies per form, as printed), instead of new ones; the ledger is only read")
    p.set_defaults(func=cmd_simulate)


INTERRUPTED = {
    "scan": "papervoice: interrupted; every page already read is kept in the ledger. Run the same command again "
            "to carry on where it stopped.",
    "generate": "papervoice: interrupted before the PDF was written; no serials were issued and no file was "
                "written. Run the same command again.",
    "simulate": "papervoice: interrupted; run the same command again to make the simulated returns.",
    "app": "papervoice: the app is closed; every page already read and every decision is in the ledger.",
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if not getattr(args, "func", None):
        if unknown:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        parser.print_help(sys.stderr)
        return int(ExitCode.USAGE)
    if unknown:  # the command's own usage, not the top-level one: '--large_print' is a generate mistake
        args.parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return int(args.func(args))
    except PaperVoiceError as exc:
        say(mask(f"papervoice: {exc}"))
        return int(exc.exit_code)
    except KeyboardInterrupt:
        say(INTERRUPTED.get(args.command, "papervoice: interrupted."))
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
