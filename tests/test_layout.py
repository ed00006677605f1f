"""Layout invariants for every shipped form, in both styles, on both papers.

These are the promises the printed page makes to a respondent with low vision (large type,
big boxes, nothing crowded) and to the scanner (marks and codes clear of everything, inside
what an office printer can print).  They are checked on the geometry `compute_layout`
returns, which is exactly what the generator draws and the scanner reads by.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from itertools import combinations, product
from pathlib import Path

import pytest

from pipeline import constants as C
from pipeline.constants import mm
from pipeline.form.definition import Form, FormRegistry
from pipeline.form.fonts import text_width_pt
from pipeline.form.identity import PageIdentity, qr_matrix, qr_module_count, serial_for
from pipeline.form.layout import PAPERS, STYLES, Layout, PageLayout, Rect, compute_layout, text_fits

ROOT = Path(__file__).resolve().parent.parent
FORM_IDS = sorted({f.id for f in FormRegistry.from_dirs().all()})
COMBOS = list(product(FORM_IDS, STYLES, PAPERS))
PRINTABLE_MARGIN_MM = 8.0
#: Small print for staff (form id, serial) next to the codes; not meant for the respondent.
STAFF_ONLY_KINDS = {"identity"}
#: Page furniture repeated on every page; the rest is the form's own content.
FURNITURE_KINDS = {"running-header", "page-number", "identity"}


@pytest.fixture(params=COMBOS, ids=["-".join(c) for c in COMBOS])
def laid_out(request: pytest.FixtureRequest, registry: FormRegistry) -> tuple[Form, Layout]:
    form_id, style, paper = request.param
    form = registry.latest(form_id)
    return form, compute_layout(form, paper, style)


def named_rects(page: PageLayout) -> list[tuple[str, Rect]]:
    """Everything printed on a page, with a name a failure message can point at."""
    out: list[tuple[str, Rect]] = []
    out += [(f"registration mark {n}", r) for n, r in enumerate(page.registration_marks)]
    out += [(f"code {n}", r) for n, r in enumerate(page.codes)]
    out += [(f"box {b.item}={b.value}", b) for b in page.boxes]
    out += [(f"text field {t.item}", t) for t in page.text_fields]
    out += [(f"{t.kind} block {' '.join(t.lines)[:30]!r}", t) for t in page.text_blocks]
    return out


def where(layout: Layout, page: PageLayout) -> str:
    return f"{layout.form} {layout.style} {layout.paper} page {page.page}"


def longest_identity(form: Form, layout: Layout, page: int) -> PageIdentity:
    """The identity with the longest serial the ledger can issue, for worst-case sizes."""
    return PageIdentity(form.id, form.version, layout.style, layout.paper, page, layout.page_count,
                        serial_for(999_999))


def test_nothing_overlaps(laid_out: tuple[Form, Layout]) -> None:
    """No two printed things share space: boxes, text, comment fields, marks and codes.

    A scale label or a box number touching a box would be read as a mark, and anything
    touching a registration mark or a code breaks registration.
    """
    _, layout = laid_out
    clashes = []
    for page in layout.pages:
        for (name_a, a), (name_b, b) in combinations(named_rects(page), 2):
            if a.overlaps(b):
                clashes.append(f"{where(layout, page)}: {name_a} overlaps {name_b}")
    assert not clashes, "\n".join(clashes)


def test_rules_cross_nothing(laid_out: tuple[Form, Layout]) -> None:
    """The grey rules between items must not run through a box, a code or any text."""
    _, layout = laid_out
    clashes = []
    for page in layout.pages:
        for rule in page.rules:
            line = Rect(rule.x, rule.y - rule.h / 2, rule.w, rule.h)
            clashes += [f"{where(layout, page)}: rule at y={rule.y:.1f} crosses {name}"
                        for name, r in named_rects(page) if line.overlaps(r)]
    assert not clashes, "\n".join(clashes)


def test_everything_inside_printable_area(laid_out: tuple[Form, Layout]) -> None:
    """Office printers cannot print right to the edge: all ink stays >= 8 mm inside the paper.

    A QR code's quiet zone is white paper, not ink, so for codes the printed symbol is checked
    (the quiet zone must still be on the paper).
    """
    form, layout = laid_out
    page_w, page_h = layout.page_size
    limit = mm(PRINTABLE_MARGIN_MM)
    problems = []
    for page in layout.pages:
        modules = len(qr_matrix(longest_identity(form, layout, page.page).payload()))
        rects = named_rects(page)
        for name, r in rects:
            if name.startswith("code"):
                assert min(r.x, r.y, page_w - r.right, page_h - r.bottom) >= 0, f"{name} is off the paper"
                quiet = r.w / (modules + 2 * C.QR_QUIET_MODULES) * C.QR_QUIET_MODULES
                r = Rect(r.x + quiet, r.y + quiet, r.w - 2 * quiet, r.h - 2 * quiet)
            gap = min(r.x, r.y, page_w - r.right, page_h - r.bottom)
            if gap < limit - 1e-6:
                problems.append(f"{where(layout, page)}: {name} is {gap / mm(1):.2f} mm from the paper edge")
        for rule in page.rules:
            if min(rule.x, page_w - rule.right) < limit:
                problems.append(f"{where(layout, page)}: a rule runs into the margin")
    assert not problems, "\n".join(problems)


def test_type_sizes(laid_out: tuple[Form, Layout]) -> None:
    """Clear print: 14 pt body (12 pt only for the short scale labels) in standard print;
    16 pt everywhere and 18 pt bold statements in large print."""
    _, layout = laid_out
    large = layout.style == "large-print"
    problems = []
    for page in layout.pages:
        for block in page.text_blocks:
            if block.kind in STAFF_ONLY_KINDS:
                continue
            minimum = 16.0 if large else (12.0 if block.kind == "label" else 14.0)
            if large and block.kind == "statement":
                minimum = 18.0
                if not block.bold:
                    problems.append(f"{where(layout, page)}: large-print statement is not bold")
            if block.size_pt < minimum:
                problems.append(f"{where(layout, page)}: {block.kind} {' '.join(block.lines)[:30]!r} is "
                                f"{block.size_pt} pt, needs >= {minimum}")
    assert not problems, "\n".join(problems)


def test_staff_small_print_stays_small_and_apart(laid_out: tuple[Form, Layout]) -> None:
    """The one exemption from the type sizes is the identity line, which sits in the footer band."""
    _, layout = laid_out
    for page in layout.pages:
        idents = [b for b in page.text_blocks if b.kind == "identity"]
        assert len(idents) == 1
        assert idents[0].y >= layout.page_size[1] - mm(C.FOOTER_BAND_MM)


def promised_box_mm() -> dict[str, float]:
    """The box sizes the README promises ("**Boxes**: 8 mm squares in standard print, 11 mm in large print"),
    read from the README itself, so the test holds the code to the promise and not to its own constant."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    number = r"(\d+(?:\.\d+)?)"
    found = re.search(rf"\*\*Boxes\*\*: {number} mm squares in standard print, {number} mm in large print, "
                      rf"{number} mm in Easy Read", text)
    assert found, "the README no longer states the box sizes"
    return {"standard": float(found.group(1)), "large-print": float(found.group(2)), "easy-read": float(found.group(3))}


def test_box_sizes(laid_out: tuple[Form, Layout]) -> None:
    """Boxes are square and the size the README promises: big enough to hit with a shaky hand."""
    _, layout = laid_out
    promised_pt = promised_box_mm()[layout.style] * 72 / 25.4
    for page in layout.pages:
        for box in page.boxes:
            assert abs(box.w - box.h) < 0.01, f"{where(layout, page)}: box {box.item}={box.value} is not square"
            assert box.w == pytest.approx(promised_pt, abs=0.01), \
                f"{where(layout, page)}: box {box.item}={box.value} is {box.w * 25.4 / 72:.2f} mm, not as promised"


def test_text_fits_its_width(laid_out: tuple[Form, Layout]) -> None:
    """Every line, including the identity line the generator fills in per copy, fits its block."""
    form, layout = laid_out
    problems = []
    for page in layout.pages:
        for block in page.text_blocks:
            if block.kind == "identity":
                text = longest_identity(form, layout, page.page).human()
                if text_width_pt(text, block.size_pt, block.bold) > block.w:
                    problems.append(f"{where(layout, page)}: identity line {text!r} is wider than its block")
            elif not text_fits(block):
                problems.append(f"{where(layout, page)}: {block.kind} {block.lines!r} is wider than "
                                f"{block.w:.1f} pt at {block.size_pt} pt")
            if block.h + 0.01 < len(block.lines) * block.line_height:
                problems.append(f"{where(layout, page)}: {block.kind} block is shorter than its lines")
    assert not problems, "\n".join(problems)


def test_every_question_printed_once_and_whole(laid_out: tuple[Form, Layout]) -> None:
    """The scanner reads each item from one page: all its boxes there, one per scale point, in a row."""
    form, layout = laid_out
    pages_of: dict[str, list[int]] = {}
    for page in layout.pages:
        for item in page.items:
            pages_of.setdefault(item, []).append(page.page)
            boxes = page.boxes_of(item)
            assert [b.value for b in boxes] == list(form.scale_values)
            assert len({round(b.y, 2) for b in boxes}) == 1, f"{item}: boxes not in one row"
            assert [b.x for b in boxes] == sorted(b.x for b in boxes), f"{item}: boxes not left to right"
        for field in page.text_fields:
            pages_of.setdefault(field.item, []).append(page.page)
            assert field.line_ys and all(field.y < y < field.bottom for y in field.line_ys)
    expected = [i.id for i in form.items] + [f.id for f in form.free_text]
    assert sorted(pages_of) == sorted(expected)
    assert all(len(p) == 1 for p in pages_of.values()), pages_of


def test_no_page_is_only_furniture(laid_out: tuple[Form, Layout]) -> None:
    """A page with nothing but codes and page numbers would be printed, posted and scanned for nothing."""
    _, layout = laid_out
    for page in layout.pages:
        content = [b for b in page.text_blocks if b.kind not in FURNITURE_KINDS]
        assert content or page.boxes or page.text_fields, f"{where(layout, page)} has no content"


def test_furniture_identical_on_every_page(laid_out: tuple[Form, Layout]) -> None:
    """Marks and codes sit in the same place on every page, so any page registers the same way."""
    _, layout = laid_out
    first = layout.pages[0]
    inset, size = mm(C.REG_MARK_INSET_MM), mm(C.REG_MARK_SIZE_MM)
    assert first.registration_marks[0] == Rect(inset, inset, size, size)
    for page in layout.pages[1:]:
        assert page.registration_marks == first.registration_marks
        assert page.codes == first.codes


def test_layout_is_deterministic(registry: FormRegistry) -> None:
    form = registry.latest(FORM_IDS[0])
    compute_layout.cache_clear()
    first = compute_layout(form, "a4", "standard").dumps()
    compute_layout.cache_clear()
    assert compute_layout(form, "a4", "standard").dumps() == first


def _cli_layout(form_id: str, style: str, paper: str) -> dict:
    cmd = [sys.executable, "-m", "pipeline", "layout", form_id, "--json", "--paper", paper]
    cmd += ["--large-print"] if style == "large-print" else ["--style", style]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    return json.loads(out.stdout)


RECT_KEYS = {"x", "y", "w", "h"}


@pytest.mark.parametrize(("style", "paper"), list(product(STYLES, PAPERS)))
def test_layout_json_contract(registry: FormRegistry, style: str, paper: str) -> None:
    """`papervoice layout FORM --json`: points, top-left origin, y down, boxes as outer edges."""
    form = registry.latest("care-planning-person")
    data = _cli_layout(form.id, style, paper)
    assert set(data) == {"form", "version", "paper", "style", "page_size", "pages", "language", "direction"}
    assert (data["language"], data["direction"]) == (form.language, "ltr")
    assert (data["form"], data["version"], data["paper"], data["style"]) == (form.id, form.version, paper, style)
    assert data["page_size"] == pytest.approx(list(C.PAPER_SIZES_PT[paper]), abs=0.001)  # pt, not mm or px
    layout = compute_layout(form, paper, style)
    assert data == json.loads(layout.dumps()), "the CLI prints exactly the geometry the generator draws"
    for n, page in enumerate(data["pages"], start=1):
        assert set(page) == {"page", "registration_marks", "codes", "boxes", "text_fields", "text_blocks", "pictures"}
        assert page["page"] == n
        assert len(page["registration_marks"]) == 4 and len(page["codes"]) == 4
        assert all(set(r) == RECT_KEYS for r in page["registration_marks"] + page["codes"])
        assert all(set(b) == RECT_KEYS | {"item", "value"} for b in page["boxes"])
        assert all(set(t) == RECT_KEYS | {"item"} for t in page["text_fields"])
        assert all(set(t) == RECT_KEYS | {"kind", "text", "size_pt", "bold"} for t in page["text_blocks"])
        box_pt = mm({"large-print": C.LARGE_BOX_MM, "easy-read": C.EASY_READ_BOX_MM}.get(style, C.STANDARD_BOX_MM))
        assert all(b["w"] == pytest.approx(box_pt, abs=0.01) for b in page["boxes"])
        # top-left origin, y down: the first mark is top-left, the third bottom-right
        tl, _, br, _ = page["registration_marks"]
        assert tl["x"] == pytest.approx(mm(C.REG_MARK_INSET_MM), abs=0.01)
        assert tl["y"] == pytest.approx(mm(C.REG_MARK_INSET_MM), abs=0.01)
        assert br["y"] + br["h"] == pytest.approx(data["page_size"][1] - mm(C.REG_MARK_INSET_MM), abs=0.01)
    title = data["pages"][0]["text_blocks"][0]
    assert title["kind"] == "title" and title["text"].replace("\n", " ") == form.title
    assert title["y"] == pytest.approx(mm(C.HEADER_BAND_MM), abs=0.01)


def test_layout_json_for_every_form(registry: FormRegistry) -> None:
    for form_id in FORM_IDS:
        data = _cli_layout(form_id, "standard", "a4")
        boxes = [b for p in data["pages"] for b in p["boxes"]]
        assert len(boxes) == len(registry.latest(form_id).items) * 5


def test_layout_rejects_unknown_form() -> None:
    out = subprocess.run([sys.executable, "-m", "pipeline", "layout", "no-such-form", "--json"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stdout == ""
    assert "care-planning-person" in out.stderr


def test_qr_size_without_the_encoder_is_the_encoders() -> None:
    """The scanner sizes a code's symbol from the standard's capacities instead of encoding one: for every
    payload length the printed symbol's size, and past the longest that fits both refuse.

    The encoder's size only grows with the payload, and so does ours: where both agree on each side of every
    length at which ours steps up (and at the two ends), they agree on every length between, so the encoder
    runs only there (a few dozen payloads, not 419)."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ/-+"
    lengths = range(1, 420)

    def payload(length: int) -> str:
        return "".join(alphabet[(i * 7 + length) % len(alphabet)] for i in range(length))

    def ours(length: int) -> int | None:
        try:
            return qr_module_count(payload(length))
        except ValueError:
            return None

    def printed(length: int) -> int | None:
        try:
            return len(qr_matrix(payload(length)))
        except ValueError:
            return None

    sizes = {length: ours(length) for length in lengths}
    steps = [n for n in lengths[1:] if sizes[n] != sizes[n - 1]]
    checked = sorted({lengths[0], lengths[-1], *steps, *(n - 1 for n in steps)})
    for length in checked:
        assert printed(length) == sizes[length], length
    fitting = [n for n in lengths if sizes[n] is not None]
    assert len(steps) >= 10 and 300 < len(fitting) < len(lengths)  # many sizes, and the refusal, were checked


def test_scanner_starts_without_the_drawing_toolkit() -> None:
    """A scan never draws: reportlab's barcode and drawing packages (a fifth of a second of start-up per
    process) stay unimported until a form is generated."""
    code = ("import sys, pipeline.cli, pipeline.scan.coordinator, pipeline.scan.reader; "
            "print(sorted(m for m in sys.modules if m.startswith(('reportlab.graphics', 'reportlab.platypus'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         check=True)
    assert out.stdout.strip() == "[]"
