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


def score(db: Path, truth: dict[str, Any]) -> dict[str, Any]:
    """Every figure for one ledger."""
    conn = _connect(db)
    try:
        return {"items": score_items(conn, truth), "comments": score_comments(conn, truth),
                "pages": score_pages(conn, truth)}
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
