"""The reader's fast paths give exactly what the plain computations give (issue 24, item 4).

Each fast path does less work for the same answer: it must never change a mask, a measure or a picture, so
each is checked here against the plain whole-image computation it replaces (kept in this file as the
reference), on fields and pages built in code with the cases that could tell them apart: runs exactly as long
as a rule, rules at the edges, rules close enough that their bands merge, strokes crossing rules, specks,
grey shading, noise.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipeline import constants as C
from pipeline.form.layout import Rect, TextField
from pipeline.scan import comments, marks
from pipeline.scan.register import warp_to_layout

PX_PER_MM = C.COMMENT_DPI / 25.4


def _remove_lines_whole(dark: np.ndarray, px_per_mm: float) -> np.ndarray:
    """The rule remover as it was, over the whole field: the reference."""
    span = max(3, int(C.COMMENT_RULE_MIN_LENGTH_MM * px_per_mm))
    lines = cv2.morphologyEx(dark, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (span, 1)))
    lines = cv2.dilate(lines, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 3)))
    sides = cv2.morphologyEx(dark, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, span)))
    sides = cv2.dilate(sides, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 1)))
    writing = cv2.subtract(cv2.subtract(dark, lines), sides)
    bridge = max(3, round(C.COMMENT_RULE_BRIDGE_MM * px_per_mm))
    joined = cv2.morphologyEx(writing, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, bridge)))
    return cv2.bitwise_or(writing, cv2.bitwise_and(joined, lines))


def _ink_field(seed: int, px_per_mm: float = PX_PER_MM) -> np.ndarray:
    """An ink mask such as a comment field gives: rules (some slightly skewed, some broken, one at each edge,
    two close together), frame sides, handwriting-like strokes across them, specks and noise."""
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(120, 420)), int(rng.integers(300, 1300))
    ink = np.zeros((h, w), np.uint8)
    span = max(3, int(C.COMMENT_RULE_MIN_LENGTH_MM * px_per_mm))
    ys = [0, h - 1, *rng.integers(5, h - 5, size=int(rng.integers(1, 6))).tolist()]
    ys.append(min(h - 1, ys[-1] + int(rng.integers(3, 30))))  # a rule close to another: the bands merge
    for y in ys:
        slope = int(rng.integers(-3, 4))
        cv2.line(ink, (int(rng.integers(0, 20)), y), (w - 1 - int(rng.integers(0, 20)), y + slope), 255,
                 int(rng.integers(1, 4)))
    x = int(rng.integers(0, w - span - 2))
    y = int(rng.integers(0, h))
    ink[y, x:x + span] = 255  # a run exactly as long as a rule: opened away as one
    ink[min(h - 1, y + 7), x:x + span - 1] = 255  # one pixel short: stays writing
    for side_x in (0, w - 1, int(rng.integers(1, w - 1))):
        cv2.line(ink, (side_x, int(rng.integers(0, 10))), (side_x, h - 1 - int(rng.integers(0, 10))), 255, 2)
    for _ in range(int(rng.integers(0, 40))):  # strokes: across the rules, ending on them, joined writing
        p0 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        p1 = (p0[0] + int(rng.integers(-40, 40)), p0[1] + int(rng.integers(-60, 60)))
        cv2.line(ink, p0, p1, 255, int(rng.integers(1, 5)))
    noise = rng.random((h, w)) < rng.choice([0.0, 0.001, 0.02])
    ink[noise] = 255
    return ink


@pytest.mark.parametrize("seed", range(40))
def test_rule_removal_on_chosen_rows_and_bands_is_the_whole_field_opening(seed: int) -> None:
    px_per_mm = PX_PER_MM if seed % 4 else 150 / 25.4
    ink = _ink_field(seed, px_per_mm)
    assert np.array_equal(comments.remove_lines(ink, px_per_mm), _remove_lines_whole(ink, px_per_mm))


def test_rule_removal_of_an_empty_and_a_full_field_is_the_whole_field_opening() -> None:
    for ink in (np.zeros((80, 400), np.uint8), np.full((80, 400), 255, np.uint8)):
        assert np.array_equal(comments.remove_lines(ink, PX_PER_MM), _remove_lines_whole(ink, PX_PER_MM))


@pytest.mark.parametrize("paper", [255.0, 254.6, 231.3, 200.0, 180.7, 128.2, 97.0, 40.5, 1.0])
def test_ink_mask_by_lookup_table_is_the_float_comparison_for_every_pair_of_greys(paper: float) -> None:
    crop, closed = np.meshgrid(np.arange(256, dtype=np.uint8), np.arange(256, dtype=np.uint8))  # every pair
    background = np.clip(closed.astype(np.float32), paper * C.COMMENT_DARKEST_TINT, paper)  # as it was
    reference = (crop < background * (1 - C.INK_DARKNESS * 0.8)).astype(np.uint8)
    assert np.array_equal(comments.ink_mask(crop, closed, paper), reference * 255)


def test_components_give_opencvs_labels_and_stats_for_every_piece() -> None:
    for seed in range(12):
        ink = _ink_field(seed)
        rng = np.random.default_rng(seed)
        ink[rng.random(ink.shape) < 0.01] = 255  # plenty of one-pixel pieces
        labels, stats = comments.components(ink)
        _, ref_labels, ref_stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
        assert np.array_equal(labels, ref_labels) and np.array_equal(stats[1:], ref_stats[1:])
    labels, stats = comments.components(np.zeros((30, 40), np.uint8))
    assert not labels.any() and len(stats) == 1


def _clean_field_whole(image: np.ndarray, homography: np.ndarray, page_size: tuple[float, float],
                       field: TextField, dpi: float, paper: float, frame_right: float | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`clean_field` as it was, every step over the whole field: the reference."""
    inset = C.mm(C.COMMENT_INSET_MM)
    region = Rect(field.x + inset, field.y + inset, field.w - 2 * inset, field.h - 2 * inset)
    crop = warp_to_layout(image, homography, page_size, dpi, region, border=int(paper))
    px_per_mm = dpi / 25.4
    side = max(3, round(C.COMMENT_BACKGROUND_MM * px_per_mm)) | 1
    closed = cv2.morphologyEx(crop, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (side, side)))
    background = np.clip(closed.astype(np.float32), paper * C.COMMENT_DARKEST_TINT, paper)
    ink = (crop < background * (1 - C.INK_DARKNESS * 0.8)).astype(np.uint8) * 255
    if frame_right is not None:
        at = round((frame_right - region.x) * dpi / C.PT_PER_INCH)
        half = max(2, round(C.COMMENT_INSET_MM * 0.5 * px_per_mm))
        ink[:, max(0, at - half):at + half] = 0
    writing = _remove_lines_whole(ink, px_per_mm)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(writing, connectivity=8)
    widths, heights = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    flat = (heights < C.COMMENT_SLIVER_MAX_HEIGHT_MM * px_per_mm) & (widths > 2 * heights)
    band = C.COMMENT_RULE_BAND_MM * px_per_mm
    tops, bottoms = stats[:, cv2.CC_STAT_TOP], stats[:, cv2.CC_STAT_TOP] + heights
    on_rule = np.zeros(len(stats), bool)
    for line_y in field.line_ys:
        y = (line_y - region.y) * dpi / C.PT_PER_INCH
        on_rule |= (tops >= y - band) & (bottoms <= y + band)
    flat |= on_rule & (heights < C.COMMENT_SLIVER_MAX_HEIGHT_MM * px_per_mm)
    keep = (np.maximum(widths, heights) >= C.COMMENT_MIN_COMPONENT_MM * px_per_mm) & ~flat
    keep[0] = False
    sizes = np.maximum(widths, heights)
    speck = ~keep & ~flat & ~on_rule & (sizes >= C.COMMENT_DOT_MIN_MM * px_per_mm)
    speck[0] = False
    mask = keep[labels].astype(np.uint8) * 255
    small = ~keep & ~flat & (sizes >= C.COMMENT_DOT_MIN_MM * px_per_mm)
    small[0] = False
    if keep.any() and small.any():
        reach = max(1, round(C.COMMENT_DOT_REACH_MM * px_per_mm))
        near = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_RECT, (2 * reach + 1, 2 * reach + 1)))
        for i in np.flatnonzero(small):
            x, y, w, h = stats[i, :4]
            piece = labels[y:y + h, x:x + w] == i
            if near[y:y + h, x:x + w][piece].any():
                mask[y:y + h, x:x + w][piece] = 255
    cleaned = np.where(mask > 0, crop, 255).astype(np.uint8)
    return cleaned, mask, (speck[labels] & (mask == 0)).astype(np.uint8) * 255


def _page_with_field(seed: int) -> tuple[np.ndarray, np.ndarray, TextField, float]:
    """A 150-dpi page holding one comment field (frame, grey rules, maybe shading), written in or not, with
    specks and i-dots, slightly turned; its homography (layout pt to page px), the field and the paper."""
    rng = np.random.default_rng(seed)
    paper = float(rng.choice([250.0, 236.4, 212.0]))
    scale = 150 / C.PT_PER_INCH
    page = np.full((round(842 * scale), round(595 * scale)), int(paper), np.uint8)
    field = TextField(50.0, 120.0, float(rng.integers(200, 495)), float(rng.integers(60, 260)), item="c",
                      line_ys=())
    line_ys = tuple(float(y) for y in np.arange(field.y + 24, field.bottom - 6, 24))
    field = TextField(field.x, field.y, field.w, field.h, item="c", line_ys=line_ys)

    def px(x: float, y: float) -> tuple[int, int]:
        return round(x * scale), round(y * scale)

    if seed % 3 == 0:  # a tinted field
        cv2.rectangle(page, px(field.x + 20, field.y + 10), px(field.x + field.w / 2, field.bottom - 10), 190, -1)
    cv2.rectangle(page, px(field.x, field.y), px(field.right, field.bottom), 60, 1)
    for y in line_ys:
        cv2.line(page, px(field.x + 4, y), px(field.right - 4, y), 150, 1)
    for _ in range(int(rng.integers(0, 3)) * int(rng.integers(0, 30))):  # handwriting, or none
        x, y = field.x + rng.random() * field.w, field.y + rng.random() * field.h
        cv2.line(page, px(x, y), px(x + rng.integers(-8, 9), y + rng.integers(-12, 13)), int(rng.integers(20, 120)),
                 int(rng.integers(1, 3)))
        if rng.random() < 0.3:  # an i's dot beside the stroke
            cv2.circle(page, px(x + 2, y - 5), 1, 40, -1)
    for _ in range(int(rng.integers(0, 60))):  # specks
        page[int(rng.integers(0, page.shape[0])), int(rng.integers(0, page.shape[1]))] = int(rng.integers(0, 120))
    turn = np.deg2rad(rng.uniform(-0.6, 0.6))
    homography = np.array([[scale * np.cos(turn), -scale * np.sin(turn), rng.uniform(-3, 3)],
                           [scale * np.sin(turn), scale * np.cos(turn), rng.uniform(-3, 3)], [0, 0, 1]])
    return page, homography, field, paper


@pytest.mark.parametrize("seed", range(24))
def test_clean_field_is_the_whole_field_cleaning(seed: int) -> None:
    page, homography, field, paper = _page_with_field(seed)
    frame_right = field.right - 30 if seed % 4 == 1 else None
    got = comments.clean_field(page, homography, (595.0, 842.0), field, C.COMMENT_DPI, paper, frame_right)
    want = _clean_field_whole(page, homography, (595.0, 842.0), field, C.COMMENT_DPI, paper, frame_right)
    for a, b in zip(got, want, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)


@pytest.mark.parametrize("ink", [0.8, 0.62, 0.93, 0.5])
def test_darkness_by_table_is_the_per_pixel_arithmetic_for_every_pair_of_bytes(ink: float) -> None:
    grey, paper = np.meshgrid(np.arange(256, dtype=np.uint8), np.arange(256, dtype=np.uint8), indexing="ij")
    want = np.empty((256, 256), np.float32)  # the arithmetic as it was, per pixel
    np.divide(grey, np.maximum(paper, 1).astype(np.float32), out=want)
    np.subtract(1.0, want, out=want)
    np.divide(want, np.float32(1.0 - ink), out=want)
    np.clip(want, 0.0, 1.0, out=want)
    got = np.full((256, 256), -1.0, np.float32)
    marks.darkness_lookup(marks.darkness_table(ink), grey, paper, got)
    assert np.array_equal(got, want)


def _evidence_crop_as_it_was(dark: np.ndarray, rect: Rect, px_per_pt: float) -> np.ndarray:
    x0, y0 = max(0, round(rect.x * px_per_pt)), max(0, round(rect.y * px_per_pt))
    x1, y1 = round(rect.right * px_per_pt), round(rect.bottom * px_per_pt)
    region = dark[y0:y1, x0:x1]
    region = np.where(region < C.FAINT_DARKNESS * 0.6, 0.0, region)
    factor = C.EVIDENCE_DPI / (px_per_pt * C.PT_PER_INCH)
    if factor < 1:
        region = cv2.resize(region, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    levels = C.EVIDENCE_GREY_LEVELS - 1
    return (255 - np.round(np.clip(region, 0, 1) * levels) * (255 / levels)).astype(np.uint8)


def test_evidence_crop_is_the_one_it_was_even_at_the_lightest_level_kept() -> None:
    rng = np.random.default_rng(7)
    dark = rng.random((600, 900)).astype(np.float32) ** 3
    edge = np.float32(C.FAINT_DARKNESS * 0.6)  # values right at the level, and the floats either side of it
    for value in (edge, np.nextafter(edge, np.float32(0)), np.nextafter(edge, np.float32(1)), C.FAINT_DARKNESS * 0.6):
        dark[rng.random(dark.shape) < 0.05] = value
    px_per_pt = C.WORK_DPI / C.PT_PER_INCH
    for rect in (Rect(10, 20, 300, 40), Rect(0, 0, 432, 288), Rect(33.3, 101.7, 120.5, 22.2)):
        want = _evidence_crop_as_it_was(dark, rect, px_per_pt)
        assert np.array_equal(marks.evidence_crop(dark, rect, px_per_pt), want)


def test_kept_pictures_decode_to_the_very_pixels_encoded() -> None:
    """Kept PNGs are written with one row filter (faster): still lossless, on the kinds of picture kept - a
    whitened field with grey writing, an evidence crop in its few greys, noise, one row, one column."""
    from pipeline.scan.images import encode_png, whiten

    rng = np.random.default_rng(11)
    field = np.full((400, 700), 235, np.uint8)
    cv2.putText(field, "Thank you", (20, 200), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 3.0, 60, 5)
    field = cv2.add(field, rng.integers(0, 12, field.shape, dtype=np.uint8))
    levels = C.EVIDENCE_GREY_LEVELS - 1
    crop = (255 - np.round(rng.random((147, 701)) ** 4 * levels) * (255 / levels)).astype(np.uint8)
    noise = rng.integers(0, 256, (97, 131), dtype=np.uint8)
    for picture in (whiten(field, 235.0), crop, noise, noise[:1], noise[:, :1]):
        data = encode_png(picture)
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert np.array_equal(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED), picture)
