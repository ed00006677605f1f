"""Render README previews of a form: every page of one style side by side in one PNG.

Previews are made from an unissued copy (`blank_form_pdf`), so making them never touches a
ledger or uses up serials.  Pages are rendered by poppler, the same engine the tests use, so
the preview shows what the printer will get.

    python -m bench.previews                      # samples/person-standard.png, samples/person-large-print.png
    python -m bench.previews --form parent-partnership --paper letter --dpi 90
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageOps

from pipeline.form.definition import FormRegistry
from pipeline.form.generate import blank_form_pdf
from pipeline.form.layout import STYLES

ROOT = Path(__file__).resolve().parent.parent
GAP_PX = 24  # grey gutter between pages, so each sheet's edge is visible on a white README page
BACKGROUND = (200, 200, 200)


def render_pages(pdf: bytes, dpi: int) -> list[Image.Image]:
    """Rasterise every page with pdftoppm (poppler), as RGB images."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "form.pdf"
        src.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(src), str(Path(tmp) / "page")], check=True,
                       timeout=120)
        files = sorted(Path(tmp).glob("page-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        return [Image.open(f).convert("RGB") for f in files]


def side_by_side(pages: Sequence[Image.Image]) -> Image.Image:
    """Pages left to right on a grey ground, each with a thin dark outline like a sheet of paper."""
    framed = [ImageOps.expand(p, border=1, fill=(90, 90, 90)) for p in pages]
    width = sum(p.width for p in framed) + GAP_PX * (len(framed) + 1)
    height = max(p.height for p in framed) + 2 * GAP_PX
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    x = GAP_PX
    for page in framed:
        sheet.paste(page, (x, GAP_PX))
        x += page.width + GAP_PX
    return sheet


def short_name(form_id: str) -> str:
    """`care-planning-person` -> `person`: the file names the README links to stay short."""
    return form_id.removeprefix("care-planning-")


def make_previews(form_id: str, paper: str, dpi: int, out_dir: Path) -> list[Path]:
    form = FormRegistry.from_dirs().get(form_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for style in STYLES:
        pages = render_pages(blank_form_pdf(form, paper, style), dpi)
        target = out_dir / f"{short_name(form.id)}-{style}.png"
        side_by_side(pages).save(target, optimize=True)
        written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.previews", description=__doc__.splitlines()[0])
    parser.add_argument("--form", default="care-planning-person")
    parser.add_argument("--paper", choices=["a4", "letter"], default="a4")
    parser.add_argument("--dpi", type=int, default=80, help="about 70-90 keeps text readable in a README")
    parser.add_argument("--out", type=Path, default=ROOT / "samples")
    args = parser.parse_args(argv)
    for path in make_previews(args.form, args.paper, args.dpi, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
