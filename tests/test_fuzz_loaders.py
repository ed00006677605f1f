"""Damaged files never crash the loader: mutated real files give a page or an InputFileError, nothing else.

Seeds are small real files of every supported kind; hypothesis cuts them off,
flips bytes, overwrites runs and splices pieces of other files in.  Whatever
comes out, the only acceptable outcomes are a greyscale page per job or an
InputFileError (which the scanner records, and the batch goes on).
"""

from __future__ import annotations

import io
import tempfile
import zlib
from functools import cache
from pathlib import Path

import numpy as np
import pikepdf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from reportlab.pdfgen.canvas import Canvas

from pipeline.errors import InputFileError
from pipeline.scan.loading import decode_page, open_pages


def _picture(width: int = 96, height: int = 136) -> Image.Image:
    a = np.full((height, width), 255, np.uint8)
    a[8:20, 8:40] = 0
    a[height - 20: height - 10, width // 2: width // 2 + 12] = 60
    return Image.fromarray(a)


def _save(fmt: str, image: Image.Image | None = None, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    (image or _picture()).save(buf, format=fmt, **kwargs)
    return buf.getvalue()


@cache
def seeds() -> dict[str, bytes]:
    """Small real files, one per shape of input the loader handles (built once per session)."""
    pic = _picture()
    files: dict[str, bytes] = {
        "jpeg.jpg": _save("JPEG", dpi=(50, 50)),
        "png.png": _save("PNG", dpi=(50, 50)),
        "alpha.png": _save("PNG", pic.convert("LA")),
        "g4.tif": _save("TIFF", pic.convert("1"), save_all=True, append_images=[pic.convert("1")] * 2,
                        compression="group4", dpi=(50, 50)),
        "lzw.tif": _save("TIFF", pic, save_all=True, append_images=[pic], compression="tiff_lzw"),
        "jpeg-pages.pdf": _save("PDF", pic.convert("RGB"), save_all=True, append_images=[pic.convert("RGB")],
                                resolution=50),
        "ccitt.pdf": _save("PDF", pic.convert("1"), resolution=50),
    }
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=(144, 216))  # 2 x 3 inches: rendering stays quick
    canvas.rect(10, 180, 40, 20, fill=1)
    canvas.drawString(20, 100, "form")
    canvas.showPage()
    canvas.save()
    files["vector.pdf"] = buf.getvalue()
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(144, 216))
    raw = np.asarray(pic.resize((100, 150)), dtype=np.uint8)
    image = pikepdf.Stream(pdf, zlib.compress(raw.tobytes()))
    image.Type, image.Subtype, image.Filter = pikepdf.Name.XObject, pikepdf.Name.Image, pikepdf.Name.FlateDecode
    image.Width, image.Height, image.BitsPerComponent, image.ColorSpace = 100, 150, 8, pikepdf.Name.DeviceGray
    pdf.pages[0].obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    pdf.pages[0].obj.Contents = pdf.make_stream(b"q 0 216 -144 0 144 0 cm /Im0 Do Q")
    pdf.pages[0].obj.Rotate = 90
    out = io.BytesIO()
    pdf.save(out)
    files["flate-rotated.pdf"] = out.getvalue()
    return files


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    names = sorted(seeds())
    name = draw(st.sampled_from(names))
    data = bytearray(seeds()[name])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "flip", "overwrite", "splice", "duplicate"]))
        if not data:
            break
        # half the time near the start, where headers, dimensions and tables live
        at = draw(st.one_of(st.integers(0, min(len(data) - 1, 160)), st.integers(0, len(data) - 1)))
        if op == "truncate":
            del data[at:]
        elif op == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "overwrite":
            run = draw(st.binary(min_size=1, max_size=16))
            data[at: at + len(run)] = run
        elif op == "splice":
            other = seeds()[draw(st.sampled_from(names))]
            start = draw(st.integers(0, len(other) - 1))
            data[at:at] = other[start: start + draw(st.integers(1, 256))]
        else:
            length = draw(st.integers(1, 64))
            data[at:at] = data[at: at + length]
    return name, bytes(data)


def _read(path: Path) -> None:
    count, pages = open_pages(path)
    assert count >= 1
    seen = 0
    while True:
        try:
            job = next(pages)
        except StopIteration:
            break
        except InputFileError:
            seen += 1  # one bad page: the iterator carries on with the next
            continue
        seen += 1
        try:
            grey, dpi = decode_page(job)
        except InputFileError:
            continue
        assert grey.dtype == np.uint8 and grey.ndim == 2 and grey.size > 0
        assert dpi > 0
    assert seen == count


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_mutated_files_give_pages_or_input_file_errors(case: tuple[str, bytes]) -> None:
    name, data = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            _read(path)
        except InputFileError as err:
            assert name in str(err) and err.advice


def test_seeds_themselves_read_cleanly() -> None:
    with tempfile.TemporaryDirectory() as folder:
        for name, data in seeds().items():
            path = Path(folder) / name
            path.write_bytes(data)
            _, pages = open_pages(path)
            for job in pages:
                grey, _ = decode_page(job)
                assert grey.min() < 100 < grey.max(), name
