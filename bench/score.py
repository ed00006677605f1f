"""Score a scanned ledger against the simulator's ground truth.

Reads what a person would end up with: the ledger's `effective_answers` and
`effective_comments` views (form pages only, duplicates left out), not the
scanner's internals, so the figures stay honest whatever the scanner does
inside.  An item counts as:

* correct - the scanner gave the true value (or blank for a blank) without asking;
* flagged - the scanner asked a person (never wrong, costs a person's time);
* wrong   - the scanner gave a value, or blank, that is not the truth, without asking:
            the one outcome that silently corrupts results;
* missing - the page holding it was never read as a form page.

Comments are scored by character error rate (edit distance / truth length,
whitespace collapsed), per OCR engine and per handwriting tier.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from pipeline.ledger.store import EFFECTIVE_VIEWS


def load_truth(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def normalise(text: str) -> str:
    return " ".join(text.split())


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, two rows at a time."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _connect(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    conn.executescript(EFFECTIVE_VIEWS)
    return conn


def _pct(n: int, d: int) -> float | None:
    return round(100.0 * n / d, 2) if d else None


def item_case(copy: dict[str, Any], item: str) -> str:
    """The hard case an item belongs to, for the breakdown (most specific first)."""
    kinds = copy.get("marks", {}).get(item, [])
    if item in copy["multiple"]:
        return "multiple"
    if copy["answers"][item] is None:
        return "blank"
    if "fill" in kinds:
        return "cancelled"
    if copy.get("pen") == "pencil":
        return "pencil"
    if "spill" in kinds:
        return "spill"
    return "plain"


#: Readable names for the simulator's kinds of mark (tidy and wide sets).
MARK_NAMES = {
    "tick": "tick", "wtick": "tick", "cross": "cross", "wcross": "cross", "slash": "slash", "dot": "dot",
    "wdot": "small dot", "blob": "blob", "overshoot": "tick/cross bigger than the box", "spill": "spill",
    "hatch": "hatching", "scribble": "scribble", "faint": "faint pencil tick", "beside": "beside the box",
    "circle": "circled number", "between": "between two boxes", "rtick": "hand's tick (short, long)",
    "loopcross": "looped cross", "boldcross": "bold cross over the outline", "hollowcross": "cross left hollow",
    "specks": "specks only",
}
#: Kinds a person would not read as one answer at a glance: they must be flagged, and are left out of the
#: "read at a glance" figure.
MUST_FLAG_KINDS = ("two boxes", "between two boxes", "beside the box", "circled number")


def mark_kind(copy: dict[str, Any], item: str) -> str:
    """The kind of mark an item holds, for the by-kind table."""
    kinds = copy.get("marks", {}).get(item, [])
    if "between" in kinds:
        return "between two boxes"
    if item in copy["multiple"]:
        return "two boxes"
    if copy["answers"][item] is None:
        return "blank row"
    name = MARK_NAMES.get(kinds[-1], kinds[-1])
    if "fill" in kinds:
        return "fill to cancel + " + name
    if copy.get("pen") == "pencil" and name != "faint pencil tick":
        return "pencil " + name
    return name


def score_by_kind(conn: sqlite3.Connection, truth: dict[str, Any]) -> dict[str, Any]:
    """Items by kind of mark: n, read right without a flag, flagged, wrong without a flag; and the share read
    right of the answers a person reads at a glance (the must-flag kinds left out)."""
    read: dict[tuple[str, str], tuple[str, int | None, str | None]] = {}
    for row in conn.execute("SELECT serial, item, state, value, reason FROM effective_answers ORDER BY page_id"):
        read.setdefault((row["serial"], row["item"]), (row["state"], row["value"], row["reason"]))
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    lost_marks = 0
    for copy in truth["copies"]:
        for item, value in copy["answers"].items():
            kind = mark_kind(copy, item)
            got = read.get((copy["serial"], item))
            if got is None:
                outcome = "missing"
            elif got[0] == "flagged":
                outcome = "flagged"
                lost_marks += int(got[2] == "lost_marks")
            elif kind in ("two boxes", "between two boxes"):
                outcome = "wrong"  # no single answer to give: only a flag is right
            elif (got[0] == "blank" and value is None) or (got[0] == "answered" and got[1] == value):
                outcome = "right"
            else:
                outcome = "wrong"
            kinds[kind][outcome] += 1
    glance: Counter[str] = Counter()
    for kind, counts in kinds.items():
        if not any(must in kind for must in MUST_FLAG_KINDS):
            glance.update(counts)
    n = sum(glance.values())
    items = sum(sum(c.values()) for c in kinds.values())
    return {
        "by_kind": {k: dict(v) for k, v in sorted(kinds.items())},
        "glance": {"n": n, "right": glance["right"], "flagged": glance["flagged"], "wrong": glance["wrong"],
                   "right_pct": _pct(glance["right"], n), "wrong_pct": _pct(glance["wrong"], n)},
        "lost_marks_flags": [lost_marks, items],
    }


def comment_kinds(copy: dict[str, Any], c: dict[str, Any]) -> list[str]:
    """The kinds a comment belongs to (several at once: a short comment in pencil is both)."""
    text = normalise(c["text"])
    if not text:
        return ["blank field"]
    kinds = ["one or two words" if len(text.split()) <= 2 else "sentences"]
    if text.isupper():
        kinds.append("capitals")
    pen = copy.get("pen", "")
    if pen == "pencil":
        kinds.append("pencil")
    elif pen in ("grey biro", "dark grey fineliner", "blue biro", "blue ballpoint"):
        kinds.append("grey or blue biro")
    if c.get("tier") in ("hard", "joined"):
        kinds.append("joined-up hand")
    return kinds


def score_comment_kinds(conn: sqlite3.Connection, truth: dict[str, Any]) -> dict[str, Any]:
    """Comments by kind: right (transcribed when written, blank when blank), flagged (possibly written: to a
    person with the crop), wrong (written but read as blank, or blank but given text)."""
    read: dict[tuple[str, str], tuple[bool, str, str]] = {}
    for row in conn.execute("SELECT serial, item, written, text, engine FROM effective_comments ORDER BY page_id"):
        read.setdefault((row["serial"], row["item"]), (bool(row["written"]), row["text"] or "", row["engine"] or ""))
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    written_as_blank = possible_blank = lost_sign = 0
    for copy in truth["copies"]:
        for field_id, c in copy["comments"].items():
            got = read.get((copy["serial"], field_id))
            if got is None:
                continue
            written, text, engine = got
            possible = engine.startswith("possibly written")
            lost_sign += int(possible and "on this page" in engine)
            if not normalise(c["text"]):
                outcome = "flagged" if possible else ("wrong" if written and normalise(text) else "right")
                possible_blank += int(possible)
            elif not written:
                outcome = "wrong"
                written_as_blank += 1
            else:
                outcome = "flagged" if possible else "right"
            for kind in comment_kinds(copy, c):
                kinds[kind][outcome] += 1
    return {"by_kind": {k: dict(v) for k, v in sorted(kinds.items())}, "written_read_as_blank": written_as_blank,
            "blank_sent_as_possibly_written": possible_blank, "lost_marks_sign_on_comments": lost_sign}


def score_items(conn: sqlite3.Connection, truth: dict[str, Any]) -> dict[str, Any]:
    read: dict[tuple[str, str], tuple[str, int | None, str | None]] = {}
    for row in conn.execute("SELECT serial, item, state, value, reason FROM effective_answers ORDER BY page_id"):
        read.setdefault((row["serial"], row["item"]), (row["state"], row["value"], row["reason"]))
    totals: Counter[str] = Counter()
    cases: dict[str, Counter[str]] = defaultdict(Counter)
    reasons: Counter[str] = Counter()
    wrong_examples: list[dict[str, Any]] = []
    for copy in truth["copies"]:
        for item, value in copy["answers"].items():
            case = item_case(copy, item)
            got = read.get((copy["serial"], item))
            if got is None:
                outcome = "missing"
            else:
                state, got_value, reason = got
                if state == "flagged":
                    outcome = "flagged"
                    reasons[reason or "?"] += 1
                elif case == "multiple":
                    outcome = "wrong"
                elif (state == "blank" and value is None) or (state == "answered" and got_value == value):
                    outcome = "correct"
                else:
                    outcome = "wrong"
                if outcome == "wrong" and len(wrong_examples) < 25:
                    wrong_examples.append({"serial": copy["serial"], "item": item, "truth": value, "read": got_value,
                                           "state": state, "case": case, "marks": copy.get("marks", {}).get(item)})
            totals[outcome] += 1
            cases[case][outcome] += 1
    n = sum(totals.values())
    return {
        "items": n,
        "correct": totals["correct"], "flagged": totals["flagged"], "wrong": totals["wrong"],
        "missing": totals["missing"],
        "correct_pct": _pct(totals["correct"], n), "flagged_pct": _pct(totals["flagged"], n),
        "wrong_pct": _pct(totals["wrong"], n), "missing_pct": _pct(totals["missing"], n),
        "multiple_flagged": [cases["multiple"]["flagged"], sum(cases["multiple"].values())],
        "by_case": {case: dict(c) for case, c in sorted(cases.items())},
        "flag_reasons": dict(reasons),
        "wrong_examples": wrong_examples,
    }


def score_comments(conn: sqlite3.Connection, truth: dict[str, Any]) -> dict[str, Any]:
    read: dict[tuple[str, str], tuple[bool, str, str]] = {}
    for row in conn.execute("SELECT serial, item, written, text, engine FROM effective_comments ORDER BY page_id"):
        read.setdefault((row["serial"], row["item"]), (bool(row["written"]), row["text"] or "", row["engine"]))
    engines = Counter(engine for _, _, engine in read.values() if engine)
    tiers: dict[str, Counter[str]] = defaultdict(Counter)
    hands: dict[str, Counter[str]] = defaultdict(Counter)  # per handwriting font: the "no single hand" check
    blank_fields = blank_given_text = written_fields = written_missed = written_empty = missing = 0
    for copy in truth["copies"]:
        for field_id, c in copy["comments"].items():
            got = read.get((copy["serial"], field_id))
            if got is None:
                missing += 1
                continue
            written, text, _ = got
            expected = normalise(c["text"])
            if not expected:
                blank_fields += 1
                blank_given_text += int(written and bool(normalise(text)))
                continue
            written_fields += 1
            if not written:
                written_missed += 1
            hyp = normalise(text) if written else ""
            written_empty += int(written and not hyp)
            edits, edits_nocase = edit_distance(expected, hyp), edit_distance(expected.lower(), hyp.lower())
            for counts in (tiers[c["tier"] or "?"], tiers["all"], hands[c.get("font") or "?"]):
                counts["chars"] += len(expected)
                counts["edits"] += edits
                counts["edits_nocase"] += edits_nocase
                counts["fields"] += 1

    def figures(groups: dict[str, Counter[str]]) -> dict[str, dict[str, Any]]:
        return {key: {"fields": t["fields"], "chars": t["chars"], "cer_pct": _pct(t["edits"], t["chars"]),
                      "cer_nocase_pct": _pct(t["edits_nocase"], t["chars"])} for key, t in sorted(groups.items())}

    cer = figures(tiers)
    return {
        "engine": engines.most_common(1)[0][0] if engines else None,
        "cer": cer,
        "cer_by_hand": figures(hands),
        "blank_given_text": [blank_given_text, blank_fields],
        "written_missed": [written_missed, written_fields],
        "written_empty": [written_empty, written_fields],  # found written, transcription empty: typed by a person
        "missing": missing,
    }


def score_pages(conn: sqlite3.Connection, truth: dict[str, Any]) -> dict[str, Any]:
    """How each simulated page was classified (form pages must carry the right identity)."""
    got: dict[tuple[str, int], sqlite3.Row] = {}
    for row in conn.execute("SELECT f.path, p.page_index, p.status, p.serial, p.form_page FROM pages p "
                            "JOIN files f ON f.id = p.file_id"):
        got[(Path(row["path"]).name, int(row["page_index"]))] = row
    outcome: dict[str, Counter[str]] = defaultdict(Counter)
    upside_down = [0, 0]
    for page in truth["pages"]:
        row = got.get((Path(page["file"]).name, page["index"]))
        if row is None:
            result = "not scanned"
        elif page["kind"] == "form":
            ok = row["status"] in ("form", "duplicate") and row["serial"] == page["serial"] \
                and row["form_page"] == page["form_page"]
            result = "identified" if ok else f"status {row['status']}"
            if page["upside_down"]:
                upside_down[1] += 1
                upside_down[0] += int(ok)
        else:
            result = row["status"]
        outcome[page["kind"]][result] += 1
    forms = outcome.get("form", Counter())
    return {
        "by_kind": {k: dict(v) for k, v in outcome.items()},
        "forms_identified": [forms.get("identified", 0), sum(forms.values())],
        "upside_down_identified": upside_down,
        "junk_not_taken_for_forms": [sum(n for k, c in outcome.items() if k != "form" for s, n in c.items()
                                         if s != "form"),
                                     sum(sum(c.values()) for k, c in outcome.items() if k != "form")],
    }


def score_by_style(conn: sqlite3.Connection, truth: dict[str, Any]) -> dict[str, Any]:
    """The at-a-glance figures for each print style (standard, large print, Easy Read) on the same set: a style
    must be read as accurately as standard print."""
    styles = sorted({c["style"] for c in truth["copies"]})
    out = {}
    for style in styles:
        part = score_by_kind(conn, {**truth, "copies": [c for c in truth["copies"] if c["style"] == style]})
        out[style] = {"glance": part["glance"], "copies": sum(1 for c in truth["copies"] if c["style"] == style)}
    return out


def score(db: Path, truth: dict[str, Any]) -> dict[str, Any]:
    """Every figure for one ledger."""
    conn = _connect(db)
    try:
        return {"items": score_items(conn, truth), "comments": score_comments(conn, truth),
                "pages": score_pages(conn, truth), "marks_by_kind": score_by_kind(conn, truth),
                "comments_by_kind": score_comment_kinds(conn, truth), "by_style": score_by_style(conn, truth)}
    finally:
        conn.close()


def answers_fingerprint(db: Path) -> list[tuple[Any, ...]]:
    """Everything a person would see, to check two scans of one set agree (e.g. --jobs 1 against --jobs 2)."""
    conn = _connect(db)
    try:
        answers = conn.execute("SELECT serial, item, state, value FROM effective_answers ORDER BY serial, item")
        rows = [tuple(r) for r in answers]
        comments = conn.execute("SELECT serial, item, written, text FROM effective_comments ORDER BY serial, item")
        return rows + [tuple(r) for r in comments]
    finally:
        conn.close()
