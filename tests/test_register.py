"""Registration's choice of which printed code each decoded symbol is, and the reduced paper level's enlargement.

Both are speed work (issue 24) whose outputs must not move: the closed-form fit that scores candidate
assignments must choose the printed code a symbol really is in every orientation and with any number of codes
found, and the paper level enlarged window by window must equal the whole page enlarged at once.
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from pipeline import constants as C
from pipeline.form.definition import FormRegistry
from pipeline.form.identity import PageIdentity
from pipeline.form.layout import Layout, compute_layout
from pipeline.scan.marks import _paper_px
from pipeline.scan.register import QrHit, _assign_codes, _similarities, qr_symbol_corners


def _layout() -> tuple[Layout, PageIdentity]:
    form = FormRegistry.from_dirs().get("care-planning-practitioner")
    layout = compute_layout(form, "a4", "standard")
    identity = PageIdentity(form.id, form.version, "standard", "a4", 1, layout.page_count, "K7Q2M9")
    return layout, identity


def _page_to_image(layout: Layout, quarter_turns: int, skew_deg: float, scale: float) -> tuple[complex, complex,
                                                                                                  tuple[int, int]]:
    """A similarity z -> a z + b putting the whole page inside an image, and that image's shape (h, w)."""
    a = scale * np.exp(1j * np.radians(90 * quarter_turns + skew_deg))
    w, h = layout.page_size
    corners = a * np.array([0, w, w + 1j * h, 1j * h])
    b = -complex(corners.real.min(), corners.imag.min())
    moved = corners + b
    return a, b, (round(moved.imag.max()), round(moved.real.max()))


def test_similarities_recover_a_rotation_scale_and_shift_without_reflecting() -> None:
    rng = np.random.default_rng(5)
    src = rng.uniform(0, 500, (3, 8)) + 1j * rng.uniform(0, 700, (3, 8))
    a_true = 2.1 * np.exp(1j * np.radians([0.0, 93.0, -178.0]))
    b_true = np.array([40 + 10j, -3 + 900j, 1200 + 5j])
    a, b = _similarities(src, (a_true[:, None] * src + b_true[:, None])[1])
    assert np.allclose(a[1], a_true[1]) and np.allclose(b[1], b_true[1])
    mirrored = src[0].conj()  # a reflection is not a similarity: the best fit of one leaves a misfit
    a, b = _similarities(src[:1], mirrored)
    assert np.abs(a[0] * src[0] + b[0] - mirrored).max() > 1


@pytest.mark.parametrize("quarter_turns", [0, 1, 2, 3])
@pytest.mark.parametrize("skew_deg", [0.0, 6.0])
def test_each_symbol_is_assigned_its_printed_code_in_every_orientation_with_any_codes_found(
        quarter_turns: int, skew_deg: float) -> None:
    layout, identity = _layout()
    page = layout.pages[0]
    payload = identity.payload()
    a, b, shape = _page_to_image(layout, quarter_turns, skew_deg, C.WORK_DPI / C.PT_PER_INCH)
    printed = [qr_symbol_corners(code, payload) for code in page.codes]
    rng = np.random.default_rng(quarter_turns)
    hits = []
    for corners in printed:
        z = a * (corners[:, 0] + 1j * corners[:, 1]) + b + rng.normal(0, 0.7, 4) + 1j * rng.normal(0, 0.7, 4)
        hits.append(QrHit(identity, np.column_stack([z.real, z.imag])))
    for k in range(1, len(hits) + 1):
        for chosen in itertools.permutations(range(len(hits)), k):  # found in any order, any of them
            pairs = _assign_codes([hits[i] for i in chosen], layout, shape)
            assert [c.tolist() for _, c in pairs] == [printed[i].tolist() for i in chosen]


def test_paper_level_enlarged_by_windows_equals_the_whole_page_enlarged_at_once() -> None:
    f = C.PAPER_REDUCTION_FACTOR
    rng = np.random.default_rng(11)
    for _ in range(40):
        hs, ws = (int(n) for n in rng.integers(3, 40, 2))
        small = rng.integers(0, 256, (hs, ws), dtype=np.uint8)
        h, w = f * hs + int(rng.integers(0, f)), f * ws + int(rng.integers(0, f))
        whole = cv2.copyMakeBorder(cv2.resize(small, (f * ws, f * hs), interpolation=cv2.INTER_LINEAR),
                                   0, h - f * hs, 0, w - f * ws, cv2.BORDER_REPLICATE)
        for _ in range(10):
            y0, y1 = sorted(int(n) for n in rng.choice(h + 1, 2, replace=False))
            x0, x1 = sorted(int(n) for n in rng.choice(w + 1, 2, replace=False))
            assert np.array_equal(_paper_px(small, y0, y1, x0, x1), whole[y0:y1, x0:x1])
