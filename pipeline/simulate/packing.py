"""Packing: stacks of scanned pages written as scanners write them (PDF of JPEGs, multi-page TIFF, loose images)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from pipeline.atomic import atomic_write
from pipeline.simulate.plan import FilePlan
from pipeline.simulate.worker import EncodedPage


def pdf_of_images(pages: Sequence[EncodedPage]) -> bytes:
    """A multi-page PDF with one full-page JPEG per page, embedded unchanged (as scanners write them).

    The page size is the image size at its resolution, so a reader can derive the dpi.
    """
    import pikepdf

    pdf = pikepdf.Pdf.new()
    for p in pages:
        if p.fmt != "jpeg":
            raise ValueError("scanner PDFs here hold JPEG pages only")
        w, h = p.size_px
        w_pt, h_pt = w * 72.0 / p.dpi, h * 72.0 / p.dpi
        image = pikepdf.Stream(pdf, p.data)
        image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
        image.Width, image.Height = w, h
        image.ColorSpace, image.BitsPerComponent = pikepdf.Name.DeviceGray, 8
        image.Filter = pikepdf.Name.DCTDecode
        content = pikepdf.Stream(pdf, f"q {w_pt:.4f} 0 0 {h_pt:.4f} 0 0 cm /Im0 Do Q".encode())
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page, MediaBox=[0, 0, round(w_pt, 4), round(h_pt, 4)], Contents=content,
            Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image)))
        pdf.pages.append(pikepdf.Page(page))
    pdf.docinfo["/Producer"] = "PaperVoice simulated scanner"
    buf = io.BytesIO()
    pdf.save(buf, deterministic_id=True)
    return buf.getvalue()


def tiff_of_images(pages: Sequence[EncodedPage]) -> bytes:
    """A multi-page TIFF: G4 for black-and-white stacks, JPEG-in-TIFF for grey ones."""
    images = [Image.open(io.BytesIO(p.data)) for p in pages]
    buf = io.BytesIO()
    first = images[0]
    if all(p.fmt == "tiff" for p in pages):
        frames = [im.convert("1") for im in images]
        frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:], compression="group4",
                       dpi=(pages[0].dpi, pages[0].dpi))
    else:
        frames = [im.convert("L") for im in images]
        frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:], compression="tiff_adobe_deflate",
                       dpi=(pages[0].dpi, pages[0].dpi))
    first.close()
    return buf.getvalue()



def _write_file(out_dir: Path, file: FilePlan, pages: list[EncodedPage]) -> list[Path]:
    """Write one stack; returns the path holding each page (loose images: one file per page)."""
    if not pages:
        return []
    if file.container == "pdf":
        path = out_dir / file.name
        atomic_write(path, pdf_of_images(pages))
        return [path] * len(pages)
    if file.container == "tiff":
        path = out_dir / file.name
        atomic_write(path, tiff_of_images(pages))
        return [path] * len(pages)
    stem, ext = file.name.rsplit(".", 1)
    paths = []
    for p in pages:
        path = out_dir / f"{stem}-p{p.plan.index + 1:02d}.{ext}"
        atomic_write(path, p.data)
        paths.append(path)
    return paths
