"""Handwriting, line by line: CER per hand and how well the engine's per-line confidence finds misread lines.

A quick bench apart from the full one (no pages, no registration): each of the simulator's comments is written
on one line of a comment field in each installed handwriting typeface - the bench's own (the *tuning* hands)
and the typefaces the bench never uses (*held-out*: the wide set's extra hands and the italic and bold cuts
of others) - with a pen, size and slant drawn at random, at 200 dpi, then read by the engine the way a scan
reads it (`scan.handwriting.transcribe`).  One line per field, so a line's confidence meets that line's
errors.  Reported: CER per hand and per group, and for thresholds of `OCR_LINE_DOUBT_CONFIDENCE` the share of
misread lines (CER above 10 %) that review flags and of clean lines (no error) it flags needlessly.

`--text held-out` writes prose the bench never uses instead of the simulator's comments: sentences of real
blog posts about co-production (`../shared/seed/coproduction-blog-posts.txt`, read at run time and never
copied here), cut into pieces of a line's length.  The simulator's comments are a small vocabulary of common
words, so anything that learns words (the word-list correction, `scan.handwriting.corrected`) looks better
on them than it is; every line is also scored with and without that correction, with the words it changed
from right to wrong and from wrong to right.

    python -m bench.hand_lines [--engine faster-paddle] [--per-hand 14] [--seed 1] [--text bench|held-out]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.score import edit_distance, normalise
from bench.shared_data import shared_dir
from pipeline import constants as C
from pipeline.form.layout import TextField
from pipeline.scan.handwriting import corrected, transcribe
from pipeline.scan.ocr import DEFAULT_ENGINE, get_engine
from pipeline.simulate import handwriting as sim
from pipeline.simulate.world import COMMENTS, FONT_ROOTS, HANDWRITING_TIERS, PX_PER_PT, WIDE_EXTRA_FONTS, Pen

TUNING = tuple(f for _, files in HANDWRITING_TIERS.values() for f in files)
HELD_OUT = (*WIDE_EXTRA_FONTS, "truetype/fifthhorseman/dkgIt.ttf", "opentype/comic-neue/ComicNeue-Italic.otf",
            "opentype/comic-neue/ComicNeue-Bold.otf", "opentype/dancingscript/DancingScript-Bold.otf",
            "truetype/breip/breipfont.ttf",
            "truetype/ecolier-court/Ecolier-court.ttf")  # a joined (cursive) school hand: fonts-ecolier-court
PENS = (Pen("black biro", 45, 0.4), Pen("blue biro", 80, 0.45), Pen("felt tip", 25, 0.8), Pen("grey biro", 115, 0.35))
MISREAD_CER = 0.10  # a line with more errors than this is one a person must type, not glance at
THRESHOLDS = (50.0, 60.0, 70.0, 75.0, 80.0, 85.0, 90.0, 95.0)
HELD_OUT_TEXT = Path("seed") / "coproduction-blog-posts.txt"  # in the shared folder
PIECE_CHARS = (30, 65)  # held-out text is cut into pieces this long: a line of a comment field
_ASCII = str.maketrans({"\xa0": " ", "\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"',
                        "\u201d": '"', "\u2022": " ", "\u2026": "..."})


def held_out_texts(path: Path) -> list[str]:
    """The prose cut, paragraph by paragraph and word by word, into pieces of `PIECE_CHARS` characters (a
    shorter tail is dropped); typographic quotes and dashes made plain, as a pen writes them."""
    pieces = []
    for paragraph in path.read_text(encoding="utf-8").translate(_ASCII).split("\n"):
        line: list[str] = []
        for word in paragraph.split():
            if line and len(" ".join([*line, word])) > PIECE_CHARS[1]:
                if len(" ".join(line)) >= PIECE_CHARS[0]:
                    pieces.append(" ".join(line))
                line = []
            line.append(word)
        if len(" ".join(line)) >= PIECE_CHARS[0]:
            pieces.append(" ".join(line))
    return pieces


def _path(relative: str) -> Path | None:
    if Path(relative).is_absolute():
        return Path(relative) if Path(relative).exists() else None
    return next((root / relative for root in FONT_ROOTS if (root / relative).exists()), None)


def field_image(text: str, font: Path, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """One written line on a field 170 mm wide at 200 dpi, writing lines left out (the scanner removes them)."""
    field = TextField(0.0, 0.0, C.mm(170), C.mm(16), item="C1", line_ys=(C.mm(12),))
    k = PX_PER_PT
    page = np.full((int(field.h * k), int(field.w * k)), 255, np.uint8)
    pen = PENS[int(rng.integers(len(PENS)))]
    hand = sim.Hand(str(font), "bench", float(rng.uniform(0.16, 0.34)), float(rng.uniform(-0.05, 0.25)), pen,
                    int(rng.integers(0, 2)), first_line=0)
    written = sim.write_comment(page, field, text, hand, rng)
    scale = C.COMMENT_DPI / (PX_PER_PT * 72)
    image = cv2.resize(page, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    if rng.random() < 0.3:  # a soft scan
        image = cv2.GaussianBlur(image, (0, 0), float(rng.uniform(0.6, 1.2)))
    if rng.random() < 0.25:  # a black-and-white scan, cutting thin light strokes
        image = np.where(image < 255 * rng.uniform(0.55, 0.72), 0, 255).astype(np.uint8)
    elif rng.random() < 0.5:  # a JPEG scan
        image = cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 75])[1], cv2.IMREAD_GRAYSCALE)
    return image, written


PREPS = ("none", "thicken", "thin", "upscale", "binarise")


def prepared(image: np.ndarray, prep: str) -> np.ndarray:
    """An idea to try on the writing before the engine sees it (the bench's --prep; 'none' is what scans do)."""
    if prep == "thicken":
        return cv2.erode(image, np.ones((2, 2), np.uint8))
    if prep == "thin":
        return cv2.dilate(image, np.ones((2, 2), np.uint8))
    if prep == "upscale":
        return cv2.resize(image, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC)
    if prep == "binarise":
        return cv2.threshold(image, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]
    return image


def read(engine_name: str, image: np.ndarray, prep: str = "none") -> tuple[str, tuple[float, ...], str, str]:
    """The line as a scan reads it - text and per-line confidences - and the text without and with the
    word-list correction, whichever a scan uses (the bench scores both from one reading)."""
    dpi = C.COMMENT_DPI * (1.5 if prep == "upscale" else 1.0)
    image = prepared(image, prep)
    mask = (image < 200).astype(np.uint8) * 255
    cleaned = np.where(mask > 0, image, 255).astype(np.uint8)
    rules = [C.mm(12) * dpi / 72.0]
    raw, _ = transcribe(get_engine(engine_name), cleaned, mask, rules, dpi, correct=False)
    fixed = corrected(raw)
    text = fixed if C.OCR_WORD_CORRECTION else raw
    return text.text, tuple(line.confidence for line in text.lines), raw.text, fixed.text


def word_changes(truth: str, before: str, after: str) -> tuple[int, int]:
    """Words the correction made wrong and made right: (right -> wrong, wrong -> right).  Counted where the
    reading has as many words as the truth (word i against word i); elsewhere the words cannot be paired."""
    t, b, a = truth.split(), before.split(), after.split()
    if not len(t) == len(b) == len(a):
        return 0, 0
    return (sum(x == y != z for x, y, z in zip(t, b, a, strict=True)),
            sum(x == z != y for x, y, z in zip(t, b, a, strict=True)))


def run(engine: str, per_hand: int, seed: int, extra: tuple[str, ...] = (), only_extra: bool = False,
        prep: str = "none", texts: tuple[str, ...] = COMMENTS) -> dict[str, Any]:
    rows = []
    sets = (("held-out", extra),) if only_extra else (("tuning", TUNING), ("held-out", (*HELD_OUT, *extra)))
    for group, fonts in sets:
        for relative in fonts:
            font = _path(relative)
            if font is None:
                continue
            rng = np.random.default_rng([seed, sum(map(ord, relative))])
            for text in rng.choice(texts, size=per_hand, replace=False):
                image, written = field_image(str(text), font, rng)
                got, confidences, raw, plain = read(engine, image, prep)
                truth = normalise(written)
                worse, better = word_changes(truth, normalise(raw), normalise(plain))
                rows.append({"group": group, "hand": font.name, "truth": truth, "read": got, "raw": raw,
                             "corrected": plain,
                             "edits": edit_distance(truth, normalise(got)),
                             "edits_raw": edit_distance(truth, normalise(raw)),
                             "edits_corrected": edit_distance(truth, normalise(plain)),
                             "right_to_wrong": worse, "wrong_to_right": better,
                             "chars": len(truth), "confidence": min(confidences, default=0.0),
                             "lines": len(confidences)})
    return {"engine": engine, "rows": rows, **summary(rows)}


def _cer(rows: list[dict[str, Any]], edits: str = "edits") -> float | None:
    chars = sum(r["chars"] for r in rows)
    return round(100 * sum(r[edits] for r in rows) / chars, 1) if chars else None


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    groups = {g: _cer([r for r in rows if r["group"] == g]) for g in ("tuning", "held-out")}
    hands = {h: _cer([r for r in rows if r["hand"] == h]) for h in sorted({r["hand"] for r in rows})}
    correction = {
        "cer": {g: (_cer(part, "edits_raw"), _cer(part, "edits_corrected"))
                for g in ("tuning", "held-out") if (part := [r for r in rows if r["group"] == g])},
        "cer_by_hand": {h: (_cer(part, "edits_raw"), _cer(part, "edits_corrected"))
                        for h in sorted({r["hand"] for r in rows}) if (part := [r for r in rows if r["hand"] == h])},
        "right_to_wrong": sum(r["right_to_wrong"] for r in rows),
        "wrong_to_right": sum(r["wrong_to_right"] for r in rows)}
    misread = [r for r in rows if r["edits"] > MISREAD_CER * r["chars"]]
    clean = [r for r in rows if r["edits"] == 0]
    flags = {}
    for t in THRESHOLDS:
        flags[t] = {"misread_flagged": sum(r["confidence"] < t for r in misread), "misread": len(misread),
                    "clean_flagged": sum(r["confidence"] < t for r in clean), "clean": len(clean),
                    "all_flagged": sum(r["confidence"] < t for r in rows), "all": len(rows)}
    return {"cer": groups, "cer_by_hand": hands, "flags": flags, "correction": correction}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default=DEFAULT_ENGINE)
    parser.add_argument("--per-hand", type=int, default=14)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write every line read here")
    parser.add_argument("--font", action="append", default=[], help="one more held-out typeface (a file path)")
    parser.add_argument("--only-these", action="store_true", help="read only the --font typefaces")
    parser.add_argument("--prep", choices=PREPS, default="none", help="an idea to try on the writing first")
    parser.add_argument("--text", choices=("bench", "held-out"), default="bench",
                        help="what is written: the simulator's comments, or prose the bench never uses")
    args = parser.parse_args(argv)
    texts = COMMENTS
    if args.text == "held-out":
        source = shared_dir() / HELD_OUT_TEXT
        if not source.is_file():
            print(f"held-out text not found ({source}; set PAPERVOICE_SHARED to the shared folder): nothing to "
                  "read", file=sys.stderr)
            return 0
        texts = tuple(held_out_texts(source))
    result = run(args.engine, args.per_hand, args.seed, tuple(args.font), args.only_these, args.prep, texts)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    cer = result["cer"]
    print(f"{args.engine}, prep {args.prep}, text {args.text}, word correction "
          f"{'on' if C.OCR_WORD_CORRECTION else 'off'}: CER tuning {cer['tuning']} %, held-out {cer['held-out']} %")
    print("per hand: " + "; ".join(f"{h} {c} %" for h, c in result["cer_by_hand"].items()))
    fix = result["correction"]
    print("word correction, CER without -> with: " + "; ".join(f"{g} {a} -> {b} %" for g, (a, b) in fix["cer"].items())
          + f"; words right -> wrong {fix['right_to_wrong']}, wrong -> right {fix['wrong_to_right']}")
    print("  per hand: " + "; ".join(f"{h} {a} -> {b} %" for h, (a, b) in fix["cer_by_hand"].items()))
    for t, f in result["flags"].items():
        print(f"  doubt below {t:.0f}: misread lines flagged {f['misread_flagged']}/{f['misread']}, clean lines "
              f"flagged {f['clean_flagged']}/{f['clean']}, all flagged {f['all_flagged']}/{f['all']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
