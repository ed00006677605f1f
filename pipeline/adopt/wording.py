"""The printed wording of an adopted form's questions and boxes, read from the blank.

A question's wording is printed beside its boxes: on the same line to their left ("Question 3:") or on the
line above them ("2. Which of these services have you used"); a box's label sits just right of it ("Yes",
"Leaflet") or, over a row of boxes, just above each ("Never  Rarely  Often").  Tesseract reads each page of
the blank once; its words are then given to questions and boxes by where they lie.  Without tesseract, or
where nothing legible is there, the file keeps its placeholder for a person.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import cv2
import numpy as np

from pipeline import constants as C
from pipeline.adopt.detect import Found


@dataclass(frozen=True)
class Word(Found):
    """A word tesseract read on the blank, where it is (pt), as the other things found on a page."""

    text: str = ""


def page_words(image: np.ndarray, dpi: float) -> list[Word]:
    """Every word tesseract reads with some confidence on the page, in pt; [] when it cannot run."""
    if shutil.which("tesseract") is None:
        return []
    try:
        import pytesseract

        from pipeline.tools.tesseract import check_tesseract

        check_tesseract()
        scale = min(1.0, C.ADOPT_WORDING_DPI / dpi)
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image
        data = pytesseract.image_to_data(small, lang="eng", config="--psm 11 --oem 1",
                                         output_type=pytesseract.Output.DICT, timeout=C.ADOPT_WORDING_TIMEOUT_S)
    except Exception:  # no tesseract, a timeout: the placeholders stay, adopt goes on
        return []
    k = C.PT_PER_INCH / (dpi * scale)
    out = []
    for i, text in enumerate(data["text"]):
        text = text.strip()
        if text and float(data["conf"][i]) >= C.ADOPT_WORDING_MIN_CONFIDENCE and any(c.isalnum() for c in text):
            out.append(Word("text", data["left"][i] * k, data["top"][i] * k, data["width"][i] * k,
                            data["height"][i] * k, text=text))
    return out


def _joined(words: list[Word], limit: int) -> str:
    return " ".join(w.text for w in sorted(words, key=lambda w: w.x))[:limit]


def _line_of(words: list[Word], seed: Word) -> list[Word]:
    """The words of seed's printed line, left to right, as far as they run without a wide gap."""
    same = sorted((w for w in words if abs(w.cy - seed.cy) <= C.mm(C.ADOPT_WORDING_LINE_MM)), key=lambda w: w.x)
    i = same.index(seed)
    lo = hi = i
    gap = C.mm(C.ADOPT_WORDING_GAP_MM)
    while lo > 0 and same[lo].x - (same[lo - 1].x + same[lo - 1].w) <= gap:
        lo -= 1
    while hi + 1 < len(same) and same[hi + 1].x - (same[hi].x + same[hi].w) <= gap:
        hi += 1
    return same[lo:hi + 1]


def _over_boxes(line: list[Word], boxes: tuple[Found, ...]) -> bool:
    """A line of labels over a row of boxes: each word sits over one of the boxes."""
    return len(boxes) > 1 and all(any(abs(w.cx - b.cx) <= max(b.w, w.w) for b in boxes) for w in line)


def question_and_labels(words: list[Word], boxes: tuple[Found, ...]) -> tuple[str, list[str]]:
    """A question's wording (or '') and each box's label (or '')."""
    labels = [_label_right(words, b, boxes) for b in boxes]
    if len(boxes) > 1 and all(abs(b.cx - boxes[0].cx) <= b.w for b in boxes):  # stacked: "Yes [ ]" / "No [ ]"
        labels = [label or _label_left(words, b) for label, b in zip(labels, boxes, strict=True)]
    first = min(boxes, key=lambda b: (round(b.cy), b.x))
    left = [w for w in words if abs(w.cy - first.cy) <= C.mm(C.ADOPT_WORDING_LINE_MM) and w.x + w.w <= first.x
            and first.x - (w.x + w.w) <= C.mm(C.ADOPT_WORDING_LEFT_MM)]
    if left and not any(labels[:1]):
        line = _line_of(words, max(left, key=lambda w: w.x))
        return _joined([w for w in line if w.x + w.w <= first.x], C.ADOPT_WORDING_MAX_CHARS), labels
    top = min(b.y for b in boxes)
    x0 = min(b.x for b in boxes)
    above = sorted((w for w in words if w.y + w.h <= top and top - (w.y + w.h) <= C.mm(C.ADOPT_WORDING_ABOVE_MM)
                    and w.x <= max(b.x + b.w for b in boxes) + C.mm(20) and w.x + w.w >= x0 - C.mm(120)),
                   key=lambda w: -w.cy)
    if above:
        line = _line_of(words, above[0])
        if _over_boxes(line, boxes):  # labels over the boxes: the question is the line above them
            row = boxes
            labels = [next((w.text for w in line if abs(w.cx - b.cx) <= max(b.w, w.w)), "") or labels[i]
                      for i, b in enumerate(row)]
            higher = [w for w in words if w.y + w.h <= min(x.y for x in line)
                      and min(x.y for x in line) - (w.y + w.h) <= C.mm(C.ADOPT_WORDING_ABOVE_MM)
                      and w.x + w.w >= x0 - C.mm(120)]
            if not higher:
                return "", labels
            line = _line_of(words, max(higher, key=lambda w: w.cy))
        return _joined(line, C.ADOPT_WORDING_MAX_CHARS), labels
    return "", labels


def _label_right(words: list[Word], box: Found, boxes: tuple[Found, ...]) -> str:
    stop = min((o.x for o in boxes if o.x > box.x + box.w and abs(o.cy - box.cy) < box.h), default=1e9)
    right = sorted((w for w in words if abs(w.cy - box.cy) <= C.mm(C.ADOPT_WORDING_LINE_MM)
                    and w.x >= box.x + box.w - 1 and w.x + w.w <= stop), key=lambda w: w.x)
    if not right or right[0].x - (box.x + box.w) > C.mm(C.ADOPT_LABEL_REACH_MM):
        return ""
    run = [right[0]]
    for w in right[1:]:
        if w.x - (run[-1].x + run[-1].w) > C.mm(C.ADOPT_WORDING_GAP_MM):
            break
        run.append(w)
    return _joined(run, C.ADOPT_LABEL_MAX_CHARS)


def _label_left(words: list[Word], box: Found) -> str:
    """A label printed left of its box, as queXF prints a stacked "Yes [ ]": the run ending just before it."""
    left = sorted((w for w in words if abs(w.cy - box.cy) <= C.mm(C.ADOPT_WORDING_LINE_MM) and w.x + w.w <= box.x),
                  key=lambda w: -w.x)
    if not left or box.x - (left[0].x + left[0].w) > C.mm(C.ADOPT_LABEL_REACH_MM):
        return ""
    run = [left[0]]
    for w in left[1:]:
        if run[-1].x - (w.x + w.w) > C.mm(C.ADOPT_WORDING_GAP_MM):
            break
        run.append(w)
    return _joined(run, C.ADOPT_LABEL_MAX_CHARS)
