"""Writing what `adopt` found: the form file a person edits, and a numbered preview of every page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from pipeline import constants as C
from pipeline.adopt.detect import Found
from pipeline.adopt.group import Proposed
from pipeline.atomic import atomic_write
from pipeline.form.adopted import IdStrip

PREVIEW_DPI = 100.0
MAX_TEXT_ANCHORS = 300  # per page: plenty to align by, and the file stays readable

HEADER = """\
# Adopted by 'papervoice adopt' from {source}.
# Check it against the preview pictures ({previews}), then edit:
#  - questions: merge or split them (move boxes between 'boxes:' lists), rename the ids, write each 'text';
#    a question with a 'check:' line is one whose grouping the print did not settle: look at it first,
#    then delete that line.
#    'kind: one' = choose one box; 'kind: any' = each box is its own yes/no (exported as ID_value = 1 or 0).
#    'code: true' = one digit column of a code grid (a student number), valued 0-9: left blank, it is flagged.
#  - delete any box that is not an answer box (an example in the instructions, a logo).
#  - 'filled_box': what a box filled in solid means on this form: 'answer' (bubble sheets, exams: people
#    fill boxes in to answer), 'cancel' (the form tells people to fill a box in to cancel it), or 'ask' (the
#    form does not say: a filled-in square goes to a person; a filled-in round bubble is an answer).
#  - 'copies': how each return's pages reach the scanner: 'in-order' (page 1, 2, ... one after another,
#    in one file or one file per page), 'one-file' (each scanned file holds one return, pages in any order)
#    or 'each-page' (every page is a return of its own: its pages ask separate questions).
#    A code printed on each returned sheet and not on the blank (a barcode per questionnaire) is found and
#    used by itself.
#  - positions are in pt (1/72 inch) from the top-left corner of the page; 'anchors' are what returns are
#    aligned by, 'strips' a page-id strip printed on the page (cells 1 solid, 0 open) that tells its copy's
#    returns from other copies': leave them alone.
"""


def _r(v: float) -> float:
    return round(float(v), 1)


def form_document(form_id: str, source: str, page_size: tuple[float, float], proposed: list[Proposed],
                  fields: list[tuple[int, Found]], anchors: dict[int, list[Found]],
                  strips: dict[int, list[IdStrip]] | None = None) -> tuple[dict[str, Any], list[str], list[str]]:
    """The YAML document, the question ids and the field ids, in reading order (`strips`: each page's page-id
    strip, when the blank prints one)."""
    questions = []
    qids = []
    for n, p in enumerate(proposed, start=1):
        qid = f"Q{n:02d}"
        qids.append(qid)
        questions.append({
            "id": qid, "page": p.page, "kind": p.kind,
            "text": p.text if p.code else f"(write question {qid} here)",
            **({"check": p.doubt} if p.doubt else {}),
            **({"code": True} if p.code else {}),  # a digit of a code grid: blank is incomplete
            "boxes": [{"value": v, "x": _r(b.x), "y": _r(b.y), "w": _r(b.w), "h": _r(b.h), "line": _r(b.line),
                       **({"shape": "round"} if b.shape == "round" else {}),
                       **({"label": str(v)} if p.code else {})}  # a code grid's digit
                      for v, b in enumerate(p.boxes, start=p.first_value)],
        })
    fids = [f"C{n}" for n in range(1, len(fields) + 1)]
    doc: dict[str, Any] = {
        "id": form_id, "version": 1, "title": f"(title of {form_id})",
        "adopted": {
            "source": source, "page_size": [_r(page_size[0]), _r(page_size[1])],
            "filled_box": "ask", "copies": "in-order",
            "pages": [{"page": page, "anchors": [[a.kind, _r(a.x), _r(a.y), _r(a.w), _r(a.h)] for a in found],
                       **({"strips": [[_r(t.x), _r(t.y), _r(t.w), _r(t.h), t.bits] for t in (strips or {})[page]]}
                          if (strips or {}).get(page) else {})}
                      for page, found in sorted(anchors.items())],
        },
        "questions": questions,
        "fields": [{"id": fid, "page": page, "prompt": f"(what {fid} asks for)", "x": _r(f.x), "y": _r(f.y),
                    "w": _r(f.w), "h": _r(f.h)} for fid, (page, f) in zip(fids, fields, strict=True)],
    }
    return doc, qids, fids


class _FlowList(list[Any]):
    """Anchors are written one per line, as [kind, x, y, w, h]."""


def _dump(doc: dict[str, Any]) -> str:
    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True  # a person edits this file: every value written out where it is used

    def flow(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
        return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)

    def boxes_flow(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
        return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=len(data) <= 8
                                        and "value" in data)

    Dumper.add_representer(_FlowList, flow)
    Dumper.add_representer(dict, boxes_flow)
    for page in doc["adopted"]["pages"]:
        page["anchors"] = [_FlowList(a) for a in page["anchors"]]
        if "strips" in page:
            page["strips"] = [_FlowList(t) for t in page["strips"]]
    doc["adopted"]["page_size"] = _FlowList(doc["adopted"]["page_size"])
    return yaml.dump(doc, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=120)


def write_form(path: Path, doc: dict[str, Any], previews: list[Path]) -> None:
    header = HEADER.format(source=doc["adopted"]["source"], previews=", ".join(p.name for p in previews))
    atomic_write(path, (header + _dump(doc)).encode("utf-8"))


def preview(image: np.ndarray, dpi: float, page: int, questions: list[tuple[str, Proposed]],
            fields: list[tuple[str, Found]]) -> bytes:
    """The blank with every box outlined and numbered `Q01.1`, every text field framed and named."""
    factor = PREVIEW_DPI / dpi
    small = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    canvas = cv2.cvtColor((255 - (255 - small) // 2).astype(np.uint8), cv2.COLOR_GRAY2BGR)  # print in grey
    px = PREVIEW_DPI / C.PT_PER_INCH
    colours = [(200, 40, 40), (30, 120, 220), (30, 160, 60), (170, 60, 170)]
    font = cv2.FONT_HERSHEY_SIMPLEX
    for n, (qid, q) in enumerate(questions):
        colour = colours[n % len(colours)]
        for v, b in enumerate(q.boxes, start=q.first_value):
            p0, p1 = (round(b.x * px), round(b.y * px)), (round((b.x + b.w) * px), round((b.y + b.h) * px))
            if b.shape == "round":
                cv2.ellipse(canvas, ((p0[0] + p1[0]) // 2, (p0[1] + p1[1]) // 2),
                            ((p1[0] - p0[0]) // 2 + 1, (p1[1] - p0[1]) // 2 + 1), 0, 0, 360, colour, 2)
            else:
                cv2.rectangle(canvas, p0, p1, colour, 2)
            label = f"{qid}.{v}" if v == q.first_value or q.kind == "any" else str(v)
            cv2.putText(canvas, label, (p0[0], p0[1] - 3), font, 0.42, colour, 1, cv2.LINE_AA)
    for fid, f in fields:
        p0, p1 = (round(f.x * px), round(f.y * px)), (round((f.x + f.w) * px), round((f.y + f.h) * px))
        cv2.rectangle(canvas, p0, p1, (0, 140, 255), 2)
        cv2.putText(canvas, fid, (p0[0] + 4, p0[1] + 16), font, 0.5, (0, 140, 255), 1, cv2.LINE_AA)
    cv2.putText(canvas, f"page {page}", (8, 20), font, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    ok, data = cv2.imencode(".png", canvas)
    assert ok
    return data.tobytes()
