"""Every way an input file can be wrong gives an InputFileError that names the file and says what to do.

Office staff read these messages: each test checks the message names the file
and carries advice, and that nothing else (a traceback, a silent blank page)
comes out instead.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image

from pipeline.errors import ExitCode, InputFileError
from pipeline.scan.loading import PageError, PageJob, decode_page, file_info, open_pages
from pipeline.scan.results import PageSource


def read_everything(path: Path) -> int:
    """What the scanner does with one file, in one process: open, then decode every page."""
    count, pages = open_pages(path)
    for job in pages:
        decode_page(job)
    return count


def assert_refused(path: Path, *words: str) -> InputFileError:
    with pytest.raises(InputFileError) as caught:
        read_everything(path)
    err = caught.value
    text = str(err)
    assert str(path) in text, text
    assert "What to do:" in text and err.advice, text
    assert err.exit_code == ExitCode.INPUT_FAILED
    for word in words:
        assert word.lower() in text.lower(), text
    return err


def small_picture() -> Image.Image:
    a = np.full((300, 200), 255, np.uint8)
    a[20:60, 20:120] = 0
    return Image.fromarray(a)


def saved(path: Path, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    small_picture().save(buf, format=fmt, **kwargs)
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


# --- empty, missing, wrong kind -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["empty.pdf", "empty.jpg", "empty.png", "empty.tif"])
def test_zero_byte_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    assert_refused(path, "empty", "scan")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "gone.pdf"
    assert_refused(path, "not found")
    with pytest.raises(InputFileError, match="not found"):
        file_info(path)


def test_folder_given_as_a_file(tmp_path: Path) -> None:
    assert_refused(tmp_path, "folder")


@pytest.mark.parametrize(("name", "content", "words"), [
    ("minutes.docx", b"PK\x03\x04" + b"\x00" * 200, ("not a supported file type", "Office document")),
    ("IMG_0001.HEIC", b"\x00\x00\x00\x18ftypheic" + b"\x00" * 200, ("not a supported file type", "HEIC")),
    ("notes.txt", b"hello there", ("not a supported file type", ".txt")),
    ("README", b"hello there", ("not a supported file type", "without an extension")),
    ("scan.gif", b"GIF89a" + b"\x00" * 50, ("not a supported file type", "GIF")),
])
def test_unsupported_file_type(tmp_path: Path, name: str, content: bytes, words: tuple[str, ...]) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert_refused(path, *words, "PDF, TIFF, JPEG and PNG")


@pytest.mark.parametrize("name", ["scan.jpg", "scan.png", "scan.tif", "scan.pdf", "scan.JPEG"])
def test_random_bytes_behind_an_image_name(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(np.random.default_rng(7).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    assert_refused(path, "contents are not")


def test_office_document_renamed_to_pdf_says_what_it_is(tmp_path: Path) -> None:
    path = tmp_path / "form.pdf"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 300)
    assert_refused(path, "not a PDF", "Office document")


# --- cut off and damaged --------------------------------------------------------------------------------------


def test_truncated_pdf(tmp_path: Path) -> None:
    noise = np.random.default_rng(1).integers(0, 256, (300, 200), dtype=np.uint8)
    pages = [Image.fromarray(noise).convert("RGB") for _ in range(3)]
    whole = io.BytesIO()
    pages[0].save(whole, format="PDF", save_all=True, append_images=pages[1:])
    data = whole.getvalue()
    for fraction in (0.05, 0.5, 0.9):
        path = tmp_path / f"cut-{fraction}.pdf"
        path.write_bytes(data[: int(len(data) * fraction)])
        assert_refused(path, "PDF")


def test_pdf_missing_a_picture_is_not_read_as_a_blank_page(tmp_path: Path) -> None:
    buf = io.BytesIO()
    small_picture().save(buf, format="PDF")
    pdf = pikepdf.open(io.BytesIO(buf.getvalue()))
    pdf.pages[0].obj.Resources.XObject = pikepdf.Dictionary()  # the page still says "draw /image"
    path = tmp_path / "hollow.pdf"
    pdf.save(path)
    err = assert_refused(path, "page 1", "missing")
    assert isinstance(err, PageError) and err.page_index == 0


def test_truncated_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "cut.jpg"
    data = saved(tmp_path / "whole.jpg", "JPEG")
    path.write_bytes(data[: len(data) * 2 // 3])
    assert_refused(path, "JPEG", "cut off")


def test_jpeg_with_damaged_data(tmp_path: Path) -> None:
    path = tmp_path / "garbled.jpg"
    data = bytearray(saved(tmp_path / "whole.jpg", "JPEG"))
    sof = data.find(b"\xff\xc0")
    data[sof: sof + 12] = b"\xff\xc9" + b"\xff" * 10  # the frame header (sizes, components) is destroyed
    path.write_bytes(bytes(data))
    assert_refused(path, "damaged")


def test_truncated_png(tmp_path: Path) -> None:
    path = tmp_path / "cut.png"
    data = saved(tmp_path / "whole.png", "PNG")
    path.write_bytes(data[: len(data) // 2])
    assert_refused(path, "PNG", "cut off")


def test_png_with_damaged_data(tmp_path: Path) -> None:
    path = tmp_path / "garbled.png"
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 200, 300, 8, 0, 0, 0, 0))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + header + png_chunk(b"IDAT", b"not zlib at all" * 10)
                     + png_chunk(b"IEND", b""))
    assert_refused(path, "damaged")


def test_truncated_tiff(tmp_path: Path) -> None:
    data = saved(tmp_path / "whole.tif", "TIFF", compression="tiff_lzw")
    for cut in (6, len(data) // 2):
        path = tmp_path / f"cut{cut}.tif"
        path.write_bytes(data[:cut])
        assert_refused(path, "TIFF")


def test_truncated_multipage_tiff(tmp_path: Path) -> None:
    frames = [small_picture().convert("1")] * 4
    buf = io.BytesIO()
    frames[0].save(buf, format="TIFF", save_all=True, append_images=frames[1:], compression="group4")
    path = tmp_path / "cut.tif"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) * 2 // 3])
    assert_refused(path, "TIFF")


# --- protected, empty containers ------------------------------------------------------------------------------


def test_password_protected_pdf(tmp_path: Path) -> None:
    buf = io.BytesIO()
    small_picture().save(buf, format="PDF")
    path = tmp_path / "locked.pdf"
    with pikepdf.open(io.BytesIO(buf.getvalue())) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(user="secret", owner="secret"))
    assert_refused(path, "password", "unprotected copy")


def test_pdf_protected_only_against_editing_is_read(tmp_path: Path) -> None:
    """An owner password without a user password opens in every viewer: refusing it would be unhelpful."""
    buf = io.BytesIO()
    small_picture().save(buf, format="PDF")
    path = tmp_path / "no-edit.pdf"
    with pikepdf.open(io.BytesIO(buf.getvalue())) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(user="", owner="secret"))
    assert read_everything(path) == 1


def test_pdf_without_pages(tmp_path: Path) -> None:
    path = tmp_path / "nothing.pdf"
    pikepdf.new().save(path)
    assert_refused(path, "no pages")


@pytest.mark.parametrize("layout", ["no-ifd", "empty-ifd"])
def test_tiff_without_frames(tmp_path: Path, layout: str) -> None:
    path = tmp_path / "nothing.tif"
    if layout == "no-ifd":
        path.write_bytes(b"II*\x00\x00\x00\x00\x00" + b"\x00" * 16)
    else:
        path.write_bytes(b"II*\x00\x08\x00\x00\x00" + b"\x00\x00" + b"\x00\x00\x00\x00")
    assert_refused(path, "no pages")


# --- decompression bombs: refused from the declared size, before decoding -------------------------------------


def test_png_bomb(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 40_000, 40_000, 8, 0, 0, 0, 0))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + header + png_chunk(b"IDAT", zlib.compress(b"\x00" * 40_001 * 4))
                     + png_chunk(b"IEND", b""))
    assert_refused(path, "million")


def test_jpeg_bomb(tmp_path: Path) -> None:
    path = tmp_path / "bomb.jpg"
    data = bytearray(saved(tmp_path / "small.jpg", "JPEG"))
    sof = data.find(b"\xff\xc0")
    data[sof + 5: sof + 9] = struct.pack(">HH", 60_000, 60_000)
    path.write_bytes(bytes(data))
    assert_refused(path, "million", "300 dpi")


def test_tiff_bomb(tmp_path: Path) -> None:
    path = tmp_path / "bomb.tif"
    entries = [(256, 4, 1, 50_000), (257, 4, 1, 50_000), (258, 3, 1, 1), (259, 3, 1, 1), (262, 3, 1, 0),
               (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, 50_000), (279, 4, 1, 16)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHI", tag, kind, count) + (struct.pack("<HH", value, 0) if kind == 3 else
                                                 struct.pack("<I", value)) for tag, kind, count, value in entries)
    ifd += b"\x00\x00\x00\x00"
    path.write_bytes(b"II*\x00" + struct.pack("<I", 24) + b"\x00" * 16 + ifd)
    assert_refused(path, "million")


def test_pdf_image_bomb(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    image = pikepdf.Stream(pdf, zlib.compress(b"\x00" * 1000))
    image.Type, image.Subtype, image.Filter = pikepdf.Name.XObject, pikepdf.Name.Image, pikepdf.Name.FlateDecode
    image.Width, image.Height, image.BitsPerComponent, image.ColorSpace = 60_000, 60_000, 8, pikepdf.Name.DeviceGray
    pdf.add_blank_page(page_size=(595, 842))
    pdf.pages[0].obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    pdf.pages[0].obj.Contents = pdf.make_stream(b"q 595 0 0 842 0 0 cm /Im0 Do Q")
    path = tmp_path / "bomb.pdf"
    pdf.save(path)
    assert_refused(path, "page 1", "million")


def test_pdf_page_too_large_to_render(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(14_400, 14_400))  # 200 x 200 inches
    pdf.pages[0].obj.Contents = pdf.make_stream(b"0 g 10 10 100 100 re f")
    path = tmp_path / "poster.pdf"
    pdf.save(path)
    assert_refused(path, "page 1", "larger than any paper form")


def test_decode_page_refuses_a_bomb_it_is_handed_directly() -> None:
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 40_000, 40_000, 8, 0, 0, 0, 0))
    data = b"\x89PNG\r\n\x1a\n" + header + png_chunk(b"IEND", b"")
    with pytest.raises(PageError, match="million") as err:
        decode_page(PageJob(PageSource("handed.png", 4), data, "image", None))
    assert "handed.png" in str(err.value) and "page 5" in str(err.value)
