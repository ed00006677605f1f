"""Which lines of a machine-read comment are likely misread, and why, in plain words.

Every written comment goes to a person, but a transcription that reads well invites a glance and a click on
"Save": a line the engine itself was unsure of must be read against the picture, word by word, and typed
where it is wrong.  The engine's confidence is kept per line (an average over the field hides one bad line
among good ones) and judged here, in the read model, so the threshold (`OCR_LINE_DOUBT_CONFIDENCE`) can
change without scanning again.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline import constants as C
from pipeline.ledger.records import parse_line_confidences
from pipeline.ledger.store import Ledger


@dataclass(frozen=True)
class DoubtfulLine:
    number: int  # 1 = the first line read
    text: str
    confidence: float  # the engine's own, 0-100


def doubtful_lines(machine_text: str, confidences: tuple[float, ...],
                   threshold: float = C.OCR_LINE_DOUBT_CONFIDENCE) -> tuple[DoubtfulLine, ...]:
    """The lines read with less confidence than `threshold`.  A transcription whose lines do not match the
    confidences kept (read before they were kept, or cut by hand) has none: the whole-field figure stands."""
    lines = machine_text.split("\n") if machine_text.strip() else []
    if not lines or len(lines) != len(confidences):
        return ()
    return tuple(DoubtfulLine(n, text, conf) for n, (text, conf) in enumerate(zip(lines, confidences, strict=True), 1)
                 if conf < threshold)


def _quoted(text: str) -> str:
    short = text if len(text) <= 40 else text[:39] + "\u2026"
    return f"\u201c{short}\u201d"


def doubt_reason(lines: tuple[DoubtfulLine, ...], total: int) -> str:
    """Why review asks for the picture to be read closely: which lines, how sure the engine was."""
    if not lines:
        return ""
    if total == 1:
        which = f"its reading (confidence {lines[0].confidence:.0f} of 100)"
    else:
        which = "; ".join(f"line {line.number}, {_quoted(line.text)} (confidence {line.confidence:.0f} of 100)"
                          for line in lines)
    return f"the scanner was unsure of {which} - please read the picture and type what it says"


def kept_line_confidences(ledger: Ledger) -> dict[tuple[int, str], tuple[float, ...]]:
    """Every comment's per-line confidences, by (page, item); none in a ledger from before they were kept."""
    if not ledger.has_column("comments", "line_confidences"):
        return {}
    rows = ledger.execute("SELECT page_id, item, line_confidences FROM comments WHERE line_confidences <> ''")
    return {(int(r[0]), str(r[1])): parse_line_confidences(r[2]) for r in rows}
