"""Planning: every random decision about answers and packing, made up front from the seed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from pipeline.form.definition import Form
from pipeline.simulate.handwriting import Hand, _font_path
from pipeline.simulate.world import (
    BITONAL_PNG_RATE,
    COMMENTS,
    G4_TIFF_RATE,
    HABIT_KEEP_RATE,
    HANDWRITING_TIERS,
    PENCIL,
    PENS,
    PNG_MAX_DPI,
    PNG_RATE,
    SHORT_COMMENTS,
    WIDE_BETWEEN_RATE,
    WIDE_CAPITALS_RATE,
    WIDE_EXTRA_FONTS,
    WIDE_FAR_END_RATE,
    WIDE_LIFT_RANGE,
    WIDE_MARK_WEIGHTS,
    WIDE_PAST_FRAME_RATE,
    WIDE_PEN_KINDS,
    WIDE_PEN_WIDTH_MM,
    WIDE_PENCIL_RATE,
    WIDE_SHORT_RATE,
    WIDE_SPECK_RATE,
    WIDE_X_HEIGHT_RANGE,
    X_HEIGHT_RANGE,
    AnswerMix,
    ItemTruth,
    Pen,
    SimulationSpec,
    Variety,
)


def _choice(rng: np.random.Generator, weighted: Mapping[Any, float] | Sequence[tuple[float, Any]]) -> Any:
    items = list(weighted.items()) if isinstance(weighted, Mapping) else [(v, w) for w, v in weighted]
    weights = np.array([w for _, w in items], dtype=float)
    return items[int(rng.choice(len(items), p=weights / weights.sum()))][0]


@dataclass
class CopyPlan:
    ordinal: int
    serial: str
    form: Form
    style: str
    paper: str
    answers: dict[str, ItemTruth]
    multiple: list[str]
    marks: dict[str, list[tuple[int, str]]]  # item -> [(value, kind)] in the order drawn
    pen: Pen
    comments: dict[str, tuple[str, Hand | None]]
    survey: str | None = None  # the issuing ledger's survey id, printed in the codes as generate prints it

    def truth(self, page_count: int, written: dict[str, str]) -> dict[str, Any]:
        return {
            "serial": self.serial, "form": self.form.id, "version": self.form.version, "style": self.style,
            "paper": self.paper, "pages": page_count, "answers": dict(self.answers), "multiple": list(self.multiple),
            "pen": self.pen.name,
            "marks": {item: [kind for _, kind in marks] for item, marks in self.marks.items()},
            "comments": {fid: {"text": written.get(fid, ""), "tier": hand.tier if hand and written.get(fid) else None,
                               "font": Path(hand.font).name if hand and written.get(fid) else None}
                         for fid, (_, hand) in self.comments.items()},
        }


def plan_copy(rng: np.random.Generator, form: Form, mix: AnswerMix, comment_rate: float,
              tiers: dict[str, tuple[Path, ...]], variety: Variety = "tidy"
              ) -> tuple[dict[str, ItemTruth], list[str], dict[str, list[tuple[int, str]]], Pen,
                         dict[str, tuple[str, Hand | None]]]:
    """Decide one person's answers, marks, pen and comments."""
    if variety == "wide":
        return plan_copy_wide(rng, form, mix, comment_rate, tiers)
    pen = PENCIL if rng.random() < mix.pencil else _choice(rng, PENS)
    habit = "tick" if rng.random() < 0.6 else "cross"
    values = form.scale_values
    answers: dict[str, ItemTruth] = {}
    multiple: list[str] = []
    marks: dict[str, list[tuple[int, str]]] = {}

    def kind() -> str:
        if rng.random() < mix.spill:
            return "spill"
        if rng.random() < HABIT_KEEP_RATE:
            return habit
        return str(_choice(rng, {"tick": 0.35, "cross": 0.35, "slash": 0.15, "dot": 0.15}))

    # a person's answers lean one way: draw around a personal centre
    centre = rng.uniform(1.5, 4.8)
    for item in form.items:
        roll = rng.random()
        value = int(np.clip(round(rng.normal(centre, 1.0)), values[0], values[-1]))
        if roll < mix.blank:
            answers[item.id], marks[item.id] = None, []
        elif roll < mix.blank + mix.multiple:
            other = int(rng.choice([v for v in values if v != value]))
            answers[item.id] = None
            multiple.append(item.id)
            marks[item.id] = [(value, kind()), (other, kind())]
        elif roll < mix.blank + mix.multiple + mix.cancel:
            wrong = int(rng.choice([v for v in values if v != value]))
            answers[item.id] = value
            marks[item.id] = [(wrong, "fill"), (value, kind())]
        else:
            answers[item.id] = value
            marks[item.id] = [(value, kind())]

    comments: dict[str, tuple[str, Hand | None]] = {}
    tier_weights = {t: HANDWRITING_TIERS[t][0] for t in tiers}
    for ft in form.free_text:
        if rng.random() >= comment_rate:
            comments[ft.id] = ("", None)
            continue
        n = int(_choice(rng, {1: 0.45, 2: 0.4, 3: 0.15}))
        text = " ".join(COMMENTS[int(i)] for i in rng.choice(len(COMMENTS), size=n, replace=False))
        tier = str(_choice(rng, tier_weights))
        font = tiers[tier][int(rng.integers(0, len(tiers[tier])))]
        hand = Hand(str(font), tier, float(rng.uniform(*X_HEIGHT_RANGE)), float(rng.uniform(-0.12, 0.28)),
                    pen, int(rng.random() < 0.3 and tier == "easy"))
        comments[ft.id] = (text, hand)
    return answers, multiple, marks, pen, comments


@dataclass(frozen=True)
class PagePlan:
    """One scanned page: which file it goes in and how it was scanned."""

    file: int
    index: int
    kind: Literal["form", "blank", "letter"]
    copy: int | None  # ordinal of the copy (for forms, and for blank backs: the page it is behind)
    form_page: int | None
    seed: int


@dataclass(frozen=True)
class FilePlan:
    number: int
    container: Literal["pdf", "tiff", "jpg", "png"]
    bitonal: bool
    dpi: int
    jpeg_quality: int
    name: str



def _copy_seed(seed: int, ordinal: int) -> np.random.Generator:
    return np.random.default_rng([seed, ordinal, 1])


def _plan_file(rng: np.random.Generator, number: int, spec: SimulationSpec) -> FilePlan:
    container = str(_choice(rng, spec.containers))
    bitonal = False
    if container == "tiff":
        bitonal = rng.random() < G4_TIFF_RATE
    elif container == "images":
        container = "png" if rng.random() < PNG_RATE else "jpg"
        bitonal = container == "png" and rng.random() < BITONAL_PNG_RATE
    p = spec.degrade
    weights = np.array(p.dpi_weights[:len(p.dpis)], dtype=float)
    dpi = int(rng.choice(p.dpis, p=weights / weights.sum()))
    if container == "png" and not bitonal:
        dpi = min(dpi, PNG_MAX_DPI)  # lossless grey scans are huge; people pick a lower resolution
    quality = int(rng.integers(p.jpeg_quality[0], p.jpeg_quality[1] + 1))
    ext = {"pdf": "pdf", "tiff": "tif", "jpg": "jpg", "png": "png"}[container]
    name = f"scan-{number + 1:03d}.{ext}"
    return FilePlan(number, container, bitonal, dpi, quality, name)  # type: ignore[arg-type]


def _page(file: FilePlan, kind: str, copy: int | None, form_page: int | None, counters: dict[int, int],
          seeds: np.random.Generator) -> PagePlan:
    index = counters.get(file.number, 0)
    counters[file.number] = index + 1
    return PagePlan(file.number, index, kind, copy, form_page, int(seeds.integers(0, 2**62)))  # type: ignore[arg-type]



def wide_pen(rng: np.random.Generator) -> Pen:
    """A parametric pen: kind, width 0.3-1.0 mm, shade, and how much the hand's pressure changes."""
    kind = str(_choice(rng, {k: w for k, (w, _, _) in WIDE_PEN_KINDS.items()}))
    if rng.random() < WIDE_PENCIL_RATE:
        kind = "pencil"
    _, grey, pencil = WIDE_PEN_KINDS[kind]
    return Pen(kind, int(rng.integers(grey[0], grey[1] + 1)), float(rng.uniform(*WIDE_PEN_WIDTH_MM)), pencil,
               float(rng.uniform(0.0, 0.45)))


def plan_copy_wide(rng: np.random.Generator, form: Form, mix: AnswerMix, comment_rate: float,
                   tiers: dict[str, tuple[Path, ...]]
                   ) -> tuple[dict[str, ItemTruth], list[str], dict[str, list[tuple[int, str]]], Pen,
                              dict[str, tuple[str, Hand | None]]]:
    """The wide variety: any pen, any way of marking, comments of one word to a full box, on and across the
    rules, in more hands (joined-up ones among them).  `multiple` lists every item a person must settle: two
    boxes, and a mark exactly between two boxes."""
    pen = wide_pen(rng)
    values = form.scale_values
    answers: dict[str, ItemTruth] = {}
    multiple: list[str] = []
    marks: dict[str, list[tuple[int, str]]] = {}
    habit = str(_choice(rng, WIDE_MARK_WEIGHTS))

    def kind() -> str:
        k = habit if rng.random() < 0.6 else str(_choice(rng, WIDE_MARK_WEIGHTS))
        return {"tick": "wtick", "cross": "wcross", "dot": "wdot"}.get(k, k)

    centre = rng.uniform(1.5, 4.8)
    for item in form.items:
        roll = rng.random()
        value = int(np.clip(round(rng.normal(centre, 1.0)), values[0], values[-1]))
        if roll < mix.blank:
            answers[item.id], marks[item.id] = None, []
        elif roll < mix.blank + mix.multiple:
            other = int(rng.choice([v for v in values if v != value]))
            answers[item.id] = None
            multiple.append(item.id)
            marks[item.id] = [(value, kind()), (other, kind())]
        elif roll < mix.blank + mix.multiple + WIDE_BETWEEN_RATE:
            value = min(value, values[-2])
            answers[item.id] = None
            multiple.append(item.id)
            marks[item.id] = [(value, "between")]
        elif roll < mix.blank + mix.multiple + WIDE_BETWEEN_RATE + mix.cancel:
            wrong = int(rng.choice([v for v in values if v != value]))
            answers[item.id] = value
            marks[item.id] = [(wrong, "fill"), (value, kind())]
        else:
            answers[item.id] = value
            marks[item.id] = [(value, kind())]
        if rng.random() < WIDE_SPECK_RATE:  # first, so the row's kind stays the kind of its mark
            unmarked = [v for v in values if v not in {v for v, _ in marks[item.id]}]
            marks[item.id].insert(0, (int(rng.choice(unmarked)), "specks"))
    return answers, multiple, marks, pen, _wide_comments(rng, form, comment_rate, tiers, pen)


def _wide_comments(rng: np.random.Generator, form: Form, comment_rate: float, tiers: dict[str, tuple[Path, ...]],
                   pen: Pen) -> dict[str, tuple[str, Hand | None]]:
    fonts = [f for files in tiers.values() for f in files]
    extra = [p for p in (_font_path(f) for f in WIDE_EXTRA_FONTS) if p is not None]
    tier_of = {str(f): t for t, files in tiers.items() for f in files} | {str(p): "joined" for p in extra}
    fonts += extra
    comments: dict[str, tuple[str, Hand | None]] = {}
    for ft in form.free_text:
        if rng.random() >= comment_rate:
            comments[ft.id] = ("", None)
            continue
        short = rng.random() < WIDE_SHORT_RATE
        if short:
            text = SHORT_COMMENTS[int(rng.integers(0, len(SHORT_COMMENTS)))]
        else:
            n = int(_choice(rng, {1: 0.4, 2: 0.35, 3: 0.15, 5: 0.1}))  # five sentences fill a box
            text = " ".join(COMMENTS[int(i)] for i in rng.choice(len(COMMENTS), size=n, replace=False))
        if rng.random() < WIDE_CAPITALS_RATE:
            text = text.upper()
        font = str(fonts[int(rng.integers(0, len(fonts)))])
        hand = Hand(font, tier_of[font], float(rng.uniform(*WIDE_X_HEIGHT_RANGE)), float(rng.uniform(-0.15, 0.3)),
                    pen, int(rng.random() < 0.2), lift=WIDE_LIFT_RANGE,
                    first_line=int(rng.integers(0, 3)) if short else 0,
                    far_end=short and rng.random() < WIDE_FAR_END_RATE,
                    past_frame=rng.random() < WIDE_PAST_FRAME_RATE)
        comments[ft.id] = (text, hand)
    return comments
