"""The input loader: every format a scanner or a phone produces becomes a correct, upright grey page.

The PDF tests compare what the loader takes straight out of the file with what
poppler draws for the same page, so orientation, mirroring and resolution are
checked against an independent renderer rather than against our own maths.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import zlib
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from pipeline import constants as C
from pipeline.errors import InputFileError, MissingDependencyError
from pipeline.scan import loading
from pipeline.scan.loading import (
    PageError,
    PageJob,
    decode_page,
    estimate_dpi,
    expand_inputs,
    file_info,
    open_pages,
    page_job,
)
from pipeline.scan.results import PageSource
from pipeline.tools import poppler

A4_100DPI = (827, 1169)  # width, height in pixels


def page_picture(width: int = A4_100DPI[0], height: int = A4_100DPI[1], mark: int = 0) -> np.ndarray:
    """A white page with a black block near the top-left corner, so any turn or mirror is visible."""
    a = np.full((height, width), 255, np.uint8)
    a[height // 20: height // 8, width // 16: width // 3] = 0
    a[height - height // 10: height - height // 20, width // 2 + mark * 10: width // 2 + mark * 10 + width // 10] = 0
    return a


def jobs_of(path: Path) -> list[PageJob]:
    count, pages = open_pages(path)
    jobs = list(pages)
    assert len(jobs) == count
    return jobs


def mean_diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    return float(np.mean(np.abs(a.astype(int) - b.astype(int))))


def near(shape: tuple[int, ...], expected: tuple[int, int]) -> bool:
    """Poppler rounds page sizes in pixels up, so a rendered page may be one pixel larger."""
    return all(0 <= got - want <= 1 for got, want in zip(shape, expected, strict=True))


def top_left_is_dark(grey: np.ndarray) -> bool:
    h, w = grey.shape
    band = grey[h // 20: h // 8]
    return bool(band[:, w // 16: w // 3].mean() < 60 and band[:, -w // 3: -w // 16].mean() > 200)


# --- finding files --------------------------------------------------------------------------------------------


def test_expand_inputs_walks_folders_sorts_naturally_and_keeps_unsupported(tmp_path: Path) -> None:
    (tmp_path / "batch" / "sub").mkdir(parents=True)
    (tmp_path / "batch" / ".hidden").mkdir()
    for name in ["scan10.pdf", "scan2.PDF", "sub/photo.JPG", "notes.docx", ".DS_Store", "papervoice.db",
                 "papervoice.db-wal", "papervoice.db-shm", ".hidden/x.pdf"]:
        (tmp_path / "batch" / name).write_bytes(b"x")
    single = tmp_path / "loose.tif"
    single.write_bytes(b"x")
    missing = tmp_path / "typo.pdf"
    result = expand_inputs([tmp_path / "batch", single, missing, tmp_path / "batch" / "scan2.PDF",
                            tmp_path / "batch" / "papervoice.db"])
    names = [p.relative_to(tmp_path).as_posix() for p in result]
    assert names == ["batch/notes.docx", "batch/scan2.PDF", "batch/scan10.pdf", "batch/sub/photo.JPG",
                     "loose.tif", "typo.pdf"]


def test_file_info_hashes_the_content(tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    data = bytes(range(256)) * 9000
    path.write_bytes(data)
    info = file_info(path)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.size_bytes == len(data)
    assert info.path == str(path)


# --- PDF from scanners: one picture per page ------------------------------------------------------------------


def test_pdf_with_one_jpeg_per_page_uses_the_jpeg_itself(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    pages = [Image.fromarray(page_picture(mark=i)).convert("RGB") for i in range(3)]
    pages[0].save(path, save_all=True, append_images=pages[1:], resolution=100)
    jobs = jobs_of(path)
    assert [j.source for j in jobs] == [PageSource(str(path), i) for i in range(3)]
    for job in jobs:
        assert job.kind == "image" and job.data.startswith(b"\xff\xd8")
        assert job.dpi == pytest.approx(100) and job.dpi_y is None and job.orientation == 1
        grey, dpi = decode_page(job)
        assert grey.dtype == np.uint8 and grey.shape == (A4_100DPI[1], A4_100DPI[0])
        assert dpi == pytest.approx(100)
        assert top_left_is_dark(grey)


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_pdf_page_rotation_matches_poppler(tmp_path: Path, rotate: int) -> None:
    path = tmp_path / "rot.pdf"
    buf = io.BytesIO()
    Image.fromarray(page_picture()).save(buf, format="PDF", resolution=100)
    pdf = pikepdf.open(io.BytesIO(buf.getvalue()))
    pdf.pages[0].obj.Rotate = rotate
    pdf.save(path)
    (job,) = jobs_of(path)
    assert job.kind == "image"
    grey, dpi = decode_page(job)
    assert dpi == pytest.approx(100)
    drawn = poppler.render_page(path.read_bytes(), 100)
    assert mean_diff(grey, drawn) < 3


def _pdf_with_placed_image(path: Path, pixels: np.ndarray, matrix: list[float], page_pt: tuple[float, float],
                           filter_: str = "flate", extra_content: bytes = b"") -> None:
    pdf = pikepdf.new()
    height, width = pixels.shape
    if filter_ == "flate":
        image = pikepdf.Stream(pdf, zlib.compress(pixels.tobytes()))
        image.Filter = pikepdf.Name.FlateDecode
    else:
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="JPEG", quality=95)
        image = pikepdf.Stream(pdf, buf.getvalue())
        image.Filter = pikepdf.Name.DCTDecode
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width, image.Height, image.BitsPerComponent = width, height, 8
    image.ColorSpace = pikepdf.Name.DeviceGray
    pdf.add_blank_page(page_size=page_pt)
    page = pdf.pages[0]
    page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    numbers = " ".join(f"{v:g}" for v in matrix)
    page.obj.Contents = pdf.make_stream(b"q " + numbers.encode() + b" cm /Im0 Do Q " + extra_content)
    pdf.save(path)


PW, PH = 288.0, 432.0  # a 4 x 6 inch page keeps these tests quick
PLACEMENTS = {
    "upright": [PW, 0, 0, PH, 0, 0],
    "mirrored": [-PW, 0, 0, PH, PW, 0],
    "upside-down-rows": [PW, 0, 0, -PH, 0, PH],
    "turned-180": [-PW, 0, 0, -PH, PW, PH],
    "transposed": [0, PH, PW, 0, 0, 0],
    "turned-right": [0, -PH, PW, 0, 0, PH],
    "turned-left": [0, PH, -PW, 0, PW, 0],
    "transverse": [0, -PH, -PW, 0, PW, PH],
}


@pytest.mark.parametrize("placement", sorted(PLACEMENTS))
def test_pdf_image_placement_matrix_matches_poppler(tmp_path: Path, placement: str) -> None:
    matrix = PLACEMENTS[placement]
    swapped = matrix[0] == 0
    width, height = (300, 200) if swapped else (200, 300)  # 50 dpi along whichever page side the picture spans
    pixels = page_picture(width, height)
    path = tmp_path / "placed.pdf"
    _pdf_with_placed_image(path, pixels, matrix, (PW, PH))
    (job,) = jobs_of(path)
    assert job.kind == "image"
    grey, dpi = decode_page(job)
    assert dpi == pytest.approx(50)
    assert mean_diff(grey, poppler.render_page(path.read_bytes(), 50)) < 3


def _png_idat(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    data, pos, idat = buf.getvalue(), 8, b""
    while pos < len(data):
        length = int.from_bytes(data[pos: pos + 4], "big")
        if data[pos + 4: pos + 8] == b"IDAT":
            idat += data[pos + 8: pos + 8 + length]
        pos += 12 + length
    return idat


@pytest.mark.parametrize("variant", ["grey", "grey-tiff-predictor", "grey-png-predictor", "rgb", "rgb-png-predictor",
                                     "one-bit"])
def test_pdf_flate_pictures_are_passed_on_compressed(tmp_path: Path, variant: str) -> None:
    """Flate pictures travel still compressed (as TIFF or PNG) and decode to what poppler draws."""
    grey = page_picture(200, 300)
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(PW, PH))
    parms = None
    if variant.startswith("rgb"):
        pixels = np.dstack([grey, np.roll(grey, 5, axis=1), grey // 2 + 100])
        space, bpc, colors = pikepdf.Name.DeviceRGB, 8, 3
    elif variant == "one-bit":
        pixels = grey
        space, bpc, colors = pikepdf.Name.DeviceGray, 1, 1
    else:
        pixels = grey
        space, bpc, colors = pikepdf.Name.DeviceGray, 8, 1
    if variant == "one-bit":
        data = zlib.compress(np.packbits(grey > 127, axis=1).tobytes())
    elif variant.endswith("png-predictor"):
        data = _png_idat(pixels)
        parms = pikepdf.Dictionary(Predictor=15, Colors=colors, BitsPerComponent=8, Columns=200)
    elif variant == "grey-tiff-predictor":
        diff = pixels.astype(np.int16)
        diff[:, 1:] = pixels[:, 1:].astype(np.int16) - pixels[:, :-1]
        data = zlib.compress((diff % 256).astype(np.uint8).tobytes())
        parms = pikepdf.Dictionary(Predictor=2, Colors=1, BitsPerComponent=8, Columns=200)
    else:
        data = zlib.compress(pixels.tobytes())
    image = pikepdf.Stream(pdf, data)
    image.Type, image.Subtype, image.Filter = pikepdf.Name.XObject, pikepdf.Name.Image, pikepdf.Name.FlateDecode
    image.Width, image.Height, image.BitsPerComponent, image.ColorSpace = 200, 300, bpc, space
    if parms is not None:
        image.DecodeParms = parms
    pdf.pages[0].obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    pdf.pages[0].obj.Contents = pdf.make_stream(f"q {PW:g} 0 0 {PH:g} 0 0 cm /Im0 Do Q".encode())
    path = tmp_path / "flate.pdf"
    pdf.save(path)
    (job,) = jobs_of(path)
    assert job.kind == "image" and job.data[:4] in (b"II*\x00", b"\x89PNG")
    decoded, dpi = decode_page(job)
    assert dpi == pytest.approx(50)
    assert mean_diff(decoded, poppler.render_page(path.read_bytes(), 50)) < 3


def test_pdf_ccitt_group4_page_is_taken_as_is(tmp_path: Path) -> None:
    path = tmp_path / "fax.pdf"
    Image.fromarray(page_picture()).convert("1").save(path, resolution=100)
    with pikepdf.open(path) as pdf:
        assert "/CCITTFaxDecode" in str(next(iter(pdf.pages[0].get_images().values())).Filter)
    (job,) = jobs_of(path)
    assert job.kind == "image" and job.data[:4] in (b"II*\x00", b"MM\x00*")
    grey, dpi = decode_page(job)
    assert dpi == pytest.approx(100) and top_left_is_dark(grey)
    assert mean_diff(grey, poppler.render_page(path.read_bytes(), 100)) < 3


def test_searchable_pdf_with_invisible_ocr_text_still_counts_as_one_picture(tmp_path: Path) -> None:
    path = tmp_path / "ocr.pdf"
    ocr_layer = b"BT 3 Tr /F1 12 Tf 10 10 Td (invisible words) Tj ET"
    _pdf_with_placed_image(path, page_picture(200, 300), [PW, 0, 0, PH, 0, 0], (PW, PH), "jpeg", ocr_layer)
    (job,) = jobs_of(path)
    assert job.kind == "image" and job.data.startswith(b"\xff\xd8")


def test_pdf_picture_with_drawing_on_top_is_rendered(tmp_path: Path) -> None:
    path = tmp_path / "annotated.pdf"
    _pdf_with_placed_image(path, page_picture(200, 300), [PW, 0, 0, PH, 0, 0], (PW, PH), "flate",
                           b"0 g 10 10 50 50 re f")
    (job,) = jobs_of(path)
    assert job.kind == "pdf"
    grey, dpi = decode_page(job)
    assert dpi == C.RENDER_DPI
    assert near(grey.shape, (6 * C.RENDER_DPI, 4 * C.RENDER_DPI))


def test_small_picture_in_a_corner_is_rendered_not_stretched(tmp_path: Path) -> None:
    path = tmp_path / "stamp.pdf"
    _pdf_with_placed_image(path, page_picture(50, 50), [72, 0, 0, 72, 20, 20], (PW, PH))
    (job,) = jobs_of(path)
    assert job.kind == "pdf"


# --- PDF made by programs (vector pages) ----------------------------------------------------------------------


def test_vector_pdf_is_rendered_at_render_dpi(tmp_path: Path) -> None:
    path = tmp_path / "vector.pdf"
    canvas = Canvas(str(path), pagesize=A4)
    for _ in range(2):
        canvas.rect(40, A4[1] - 100, 150, 50, fill=1)
        canvas.drawString(100, 400, "hello")
        canvas.showPage()
    canvas.save()
    jobs = jobs_of(path)
    assert [j.kind for j in jobs] == ["pdf", "pdf"]
    for job in jobs:
        with pikepdf.open(io.BytesIO(job.data)) as one:
            assert len(one.pages) == 1
        grey, dpi = decode_page(job)
        assert dpi == C.RENDER_DPI
        assert near(grey.shape, (3508, 2480))
        assert grey[250:400, 200:700].mean() < 60 and grey[250:400, -700:-200].mean() > 200


def test_generated_form_pdf_is_rendered(tmp_path: Path, registry) -> None:  # type: ignore[no-untyped-def]
    import pikepdf

    from pipeline.form.generate import blank_form_pdf

    path = tmp_path / "form.pdf"
    with pikepdf.open(io.BytesIO(blank_form_pdf(registry.all()[0]))) as pdf:
        del pdf.docinfo["/Keywords"], pdf.docinfo["/Creator"]  # a vector page that is not our print file
        pdf.save(path)
    jobs = jobs_of(path)
    assert jobs and all(j.kind == "pdf" for j in jobs)
    grey, dpi = decode_page(jobs[0])
    assert dpi == C.RENDER_DPI and near(grey.shape, (3508, 2480)) and grey.min() == 0


def test_page_split_keeps_attributes_inherited_from_the_page_tree(tmp_path: Path) -> None:
    source = io.BytesIO()
    canvas = Canvas(source, pagesize=A4)
    canvas.rect(40, A4[1] - 100, 150, 50, fill=1)
    canvas.showPage()
    canvas.save()
    pdf = pikepdf.open(io.BytesIO(source.getvalue()))
    page = pdf.pages[0].obj
    pdf.Root.Pages.Rotate = 90
    pdf.Root.Pages.MediaBox = page.MediaBox
    pdf.Root.Pages.Resources = page.Resources
    for key in ("/MediaBox", "/Resources", "/Rotate"):
        if key in page:
            del page[key]
    path = tmp_path / "inherit.pdf"
    pdf.save(path)
    (job,) = jobs_of(path)
    grey, _ = decode_page(job)
    assert near(grey.shape, (2480, 3508))  # turned to landscape, as every viewer shows it
    assert mean_diff(grey, poppler.render_page(path.read_bytes(), C.RENDER_DPI)) < 1


# --- TIFF -----------------------------------------------------------------------------------------------------


def test_multipage_group4_tiff_gives_one_small_group4_page_each(tmp_path: Path) -> None:
    path = tmp_path / "batch.tif"
    frames = [Image.fromarray(page_picture(mark=i)).convert("1") for i in range(3)]
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="group4", dpi=(100, 100))
    jobs = jobs_of(path)
    assert len(jobs) == 3
    previous = None
    for i, job in enumerate(jobs):
        assert job.source.index == i and job.kind == "image" and job.dpi == pytest.approx(100)
        with Image.open(io.BytesIO(job.data)) as single:
            assert single.format == "TIFF" and getattr(single, "n_frames", 1) == 1
            assert single.info.get("compression") == "group4"
        assert len(job.data) < 20_000
        grey, dpi = decode_page(job)
        assert grey.shape == (A4_100DPI[1], A4_100DPI[0]) and dpi == pytest.approx(100)
        assert set(np.unique(grey)) <= {0, 255} and top_left_is_dark(grey)
        if previous is not None:
            assert not np.array_equal(previous, grey)  # each frame, not the first one three times
        previous = grey


def test_multipage_lzw_grey_tiff(tmp_path: Path) -> None:
    path = tmp_path / "grey.tiff"
    frames = [Image.fromarray((page_picture(mark=i) * 0.8).astype(np.uint8)) for i in range(2)]
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="tiff_lzw", dpi=(100, 100))
    jobs = jobs_of(path)
    assert len(jobs) == 2
    for i, job in enumerate(jobs):
        grey, dpi = decode_page(job)
        assert dpi == pytest.approx(100)
        assert np.array_equal(grey, np.asarray(frames[i]))


def test_single_frame_tiff_is_passed_on_untouched(tmp_path: Path) -> None:
    path = tmp_path / "one.tif"
    Image.fromarray(page_picture()).convert("1").save(path, compression="group4", dpi=(200, 200))
    (job,) = jobs_of(path)
    assert job.data == path.read_bytes() and job.dpi == pytest.approx(200)


def test_fax_resolution_tiff_is_made_square(tmp_path: Path) -> None:
    path = tmp_path / "fax.tif"
    pixels = page_picture(1728, 1143 // 1)  # fine horizontally, coarse vertically, as a standard-mode fax
    Image.fromarray(pixels).convert("1").save(path, compression="group4", dpi=(204, 98))
    (job,) = jobs_of(path)
    assert job.dpi == pytest.approx(204) and job.dpi_y == pytest.approx(98)
    grey, dpi = decode_page(job)
    assert dpi == pytest.approx(204)
    assert grey.shape == (round(1143 * 204 / 98), 1728)


def test_iterator_goes_on_after_a_bad_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mixed.tif"
    small = Image.fromarray(page_picture(100, 140)).convert("1")
    huge = Image.fromarray(page_picture(1000, 1400)).convert("1")
    small.save(path, save_all=True, append_images=[huge, small], compression="group4")
    monkeypatch.setattr(C, "MAX_IMAGE_PIXELS", 500_000)
    count, pages = open_pages(path)
    assert count == 3
    assert next(pages).source.index == 0
    with pytest.raises(PageError) as err:
        next(pages)
    assert err.value.page_index == 1 and str(path) in str(err.value) and "page 2" in str(err.value)
    assert next(pages).source.index == 2
    with pytest.raises(StopIteration):
        next(pages)


def test_page_job_fetches_one_page_directly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tiff = tmp_path / "mixed.tif"
    small = Image.fromarray(page_picture(100, 140)).convert("1")
    huge = Image.fromarray(page_picture(1000, 1400)).convert("1")
    small.save(tiff, save_all=True, append_images=[huge, small], compression="group4")
    pdf = tmp_path / "three.pdf"
    pages = [Image.fromarray(page_picture(mark=i)).convert("RGB") for i in range(3)]
    pages[0].save(pdf, save_all=True, append_images=pages[1:], resolution=100)
    for i, job in enumerate(jobs_of(pdf)):
        assert page_job(pdf, i) == job
    with pytest.raises(PageError, match="only 3 pages"):
        page_job(pdf, 3)
    monkeypatch.setattr(C, "MAX_IMAGE_PIXELS", 500_000)
    assert page_job(tiff, 2).source.index == 2  # the bad page 2 before it does not matter
    with pytest.raises(PageError):
        page_job(tiff, 1)


# --- JPEG and PNG ---------------------------------------------------------------------------------------------


def test_jpeg_with_declared_dpi(tmp_path: Path) -> None:
    path = tmp_path / "page.jpg"
    Image.fromarray(page_picture(1240, 1754)).save(path, dpi=(150, 150))
    (job,) = jobs_of(path)
    assert job.dpi == pytest.approx(150)
    grey, dpi = decode_page(job)
    assert grey.shape == (1754, 1240) and dpi == pytest.approx(150) and top_left_is_dark(grey)


def test_jpeg_without_dpi_gets_an_estimate_from_a4_shape(tmp_path: Path) -> None:
    path = tmp_path / "page.jpg"
    Image.fromarray(page_picture(2480, 3508)).save(path)
    (job,) = jobs_of(path)
    assert job.dpi is None
    _, dpi = decode_page(job)
    assert dpi == pytest.approx(300, abs=1)


def test_phone_style_72_dpi_is_not_believed(tmp_path: Path) -> None:
    path = tmp_path / "phone.jpg"
    Image.fromarray(page_picture(2550, 3300)).save(path, dpi=(72, 72))  # Letter-shaped, "72 dpi" = 46 inches
    (job,) = jobs_of(path)
    _, dpi = decode_page(job)
    assert dpi == pytest.approx(300, abs=1)


def test_estimate_dpi() -> None:
    assert estimate_dpi(2480, 3508) == pytest.approx(300, abs=1)
    assert estimate_dpi(3508, 2480) == pytest.approx(300, abs=1)
    assert estimate_dpi(2550, 3300) == pytest.approx(300, abs=1)
    assert estimate_dpi(1000, 1000) == C.DEFAULT_DPI


def test_cmyk_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    cmyk = np.zeros((300, 200, 4), np.uint8)
    cmyk[20:60, 20:100, 3] = 255  # pure black ink (K) top-left, paper elsewhere
    Image.fromarray(cmyk, mode="CMYK").save(path, dpi=(50, 50))
    (job,) = jobs_of(path)
    grey, _ = decode_page(job)
    assert grey[30:50, 30:90].mean() < 40 and grey[150:, :].mean() > 215


def test_exif_rotated_jpeg_is_turned_upright(tmp_path: Path) -> None:
    from PIL import ImageOps

    path = tmp_path / "turned.jpg"
    upright = page_picture(827, 1169)
    stored = Image.fromarray(np.rot90(upright, 1))  # the camera stored it lying on its side...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...and says "turn 90 degrees clockwise to view"
    stored.save(path, exif=exif.tobytes(), dpi=(100, 100), quality=95)
    (job,) = jobs_of(path)
    assert job.orientation == 6
    grey, dpi = decode_page(job)
    assert grey.shape == upright.shape and top_left_is_dark(grey) and dpi == pytest.approx(100)
    with Image.open(path) as im:
        assert mean_diff(grey, np.asarray(ImageOps.exif_transpose(im).convert("L"))) < 1


def test_png_16_bit(tmp_path: Path) -> None:
    path = tmp_path / "deep.png"
    pixels = page_picture(200, 300).astype(np.uint16) * 257
    pixels[250:, :] = 32768
    Image.fromarray(pixels).save(path, dpi=(50, 50))
    (job,) = jobs_of(path)
    grey, dpi = decode_page(job)
    assert grey.dtype == np.uint8 and dpi == pytest.approx(50, abs=0.1)
    assert top_left_is_dark(grey) and grey[0, 0] == 255 and abs(int(grey[280, 10]) - 128) <= 1


def test_png_alpha_is_composited_on_white(tmp_path: Path) -> None:
    path = tmp_path / "alpha.png"
    rgba = np.zeros((300, 200, 4), np.uint8)  # black everywhere, but fully transparent...
    rgba[20:60, 20:100, 3] = 255  # ...except an opaque black block
    rgba[100:120, :, 3] = 128  # and a half-transparent band
    Image.fromarray(rgba, mode="RGBA").save(path)
    (job,) = jobs_of(path)
    grey, _ = decode_page(job)
    assert grey[30, 30] == 0 and grey[200, 100] == 255 and abs(int(grey[110, 50]) - 127) <= 1


def test_palette_and_one_bit_png(tmp_path: Path) -> None:
    for mode in ("P", "1"):
        path = tmp_path / f"{mode}.png"
        Image.fromarray(page_picture(200, 300)).convert(mode).save(path)
        (job,) = jobs_of(path)
        grey, _ = decode_page(job)
        assert grey.dtype == np.uint8 and top_left_is_dark(grey), mode


def test_renamed_file_is_read_by_its_content(tmp_path: Path) -> None:
    path = tmp_path / "actually-png.jpg"
    Image.fromarray(page_picture(200, 300)).save(path, format="PNG")
    (job,) = jobs_of(path)
    grey, _ = decode_page(job)
    assert top_left_is_dark(grey)


# --- small contracts ------------------------------------------------------------------------------------------


def test_jobs_and_errors_survive_pickling(tmp_path: Path) -> None:
    job = PageJob(PageSource("a.pdf", 3), b"data", "image", 300.0, None, 1)
    assert pickle.loads(pickle.dumps(job)) == job
    err = pickle.loads(pickle.dumps(PageError("a.pdf", 2, "broken", "rescan")))
    assert isinstance(err, InputFileError) and err.page_index == 2 and str(err) == str(PageError("a.pdf", 2,
                                                                                                "broken", "rescan"))


def test_missing_poppler_is_reported_with_install_advice(monkeypatch: pytest.MonkeyPatch) -> None:
    poppler.check_poppler.cache_clear()
    monkeypatch.setattr(poppler.shutil, "which", lambda name: None)
    try:
        with pytest.raises(MissingDependencyError) as err:
            poppler.render_page(b"%PDF-1.4", 100)
        assert "apt-get install poppler-utils" in str(err.value) and err.value.exit_code == 3
    finally:
        poppler.check_poppler.cache_clear()


def test_old_poppler_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    poppler.check_poppler.cache_clear()

    def fake_run(*args, **kwargs):  # type: ignore[no-untyped-def]
        return subprocess.CompletedProcess(args, 0, b"", b"pdftoppm version 0.26.5\n")

    monkeypatch.setattr(poppler.subprocess, "run", fake_run)
    try:
        with pytest.raises(MissingDependencyError, match="too old"):
            poppler.check_poppler()
    finally:
        poppler.check_poppler.cache_clear()


def test_poppler_failure_becomes_a_page_error() -> None:
    job = PageJob(PageSource("x.pdf", 0), b"%PDF-1.4 nonsense", "pdf", None)
    with pytest.raises(PageError) as err:
        decode_page(job)
    assert "x.pdf" in str(err.value) and "What to do" in str(err.value)


def test_loader_keeps_pil_limit_in_step() -> None:
    assert Image.MAX_IMAGE_PIXELS == C.MAX_IMAGE_PIXELS
    assert {".pdf", ".tif", ".tiff", ".jpg", ".jpeg", ".png"} == loading.SUPPORTED_SUFFIXES
