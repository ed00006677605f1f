"""The adopted bench's README block: one table then its notes, and `--only` replacing just one kind's lines.

Figures are made up here (the bench measures the real ones); what is checked is how the block is put
together and taken apart, so that re-measuring one kind (`python -m bench.adopted --only amc`) can never
drop or change another kind's rows.
"""

from __future__ import annotations

from typing import Any

from bench.adopted import KIND_NAMES, block, parse_block, render


def _score(right: int, flagged: int, wrong: int, pages: int, **more: Any) -> dict[str, Any]:
    total = right + flagged + wrong
    return {"boxes": total, "right": right, "flagged": flagged, "wrong": wrong, "pages": pages,
            "pages_identified": pages, "right_pct": round(100 * right / total, 2),
            "flagged_pct": round(100 * flagged / total, 2), "wrong_pct": round(100 * wrong / total, 3), **more}


def _amc(right: int) -> dict[str, Any]:
    return {"amc": _score(right, 1144 - right, 0, 16, copies=4, papervoice_s_per_page=0.7, amc_s_per_page=0.4,
                          amc_pages_read=8, speed_ratio=1.75, papervoice_cpu_s_per_page=0.5, amc_cpu_s_per_page=0.3,
                          cpu_ratio=1.67, speed_runs=3, ratios_per_run=[1.75, 1.9, 1.8])}


def _figures() -> dict[str, dict[str, Any]]:
    joins = {"silent_joins": 0, "copies_in_ledger": 6, "returns": 6}
    sdaps = _score(1211, 24, 0, 60, grouped=54, questions=54, edits_per_form=[1, 1, 1], check_failed=0, **joins)
    return {
        "synthetic": _score(2964, 0, 0, 108, forms=6, junk_pages=4, junk_pages_rejected=4, boxes_found_on_blanks=247,
                            boxes_drawn=247, questions_grouped_right=64, questions=64, edits_per_form=[1, 3]),
        "quexf": {"quexf": None},
        "letters": {"letters": None},
        "bubbles": _score(276, 0, 0, 12),
        "shuffled": _score(366, 0, 0, 12, **joins),
        "per-page": _score(366, 0, 0, 12, **joins),
        "back-first": _score(61, 305, 0, 12, **joins),
        "sdaps": {"runs": {"SDAPS-like questionnaire, one image file per page": sdaps,
                           "SDAPS-like questionnaire, one multi-page TIFF": sdaps}},
        "amc": _amc(1005),
    }


def test_every_kind_is_one_row_of_one_table_and_the_notes_follow_it() -> None:
    text = block({k: render(k, f) for k, f in _figures().items()})
    table, *notes = text.split("\n\n")
    rows = table.splitlines()[2:]
    assert len(rows) == len(KIND_NAMES) + 1  # SDAPS-like: one row each way
    assert all(r.startswith("| ") and r.count("|") == 9 for r in rows)
    assert rows[-1].startswith("| AMC exam") and "87.85 %" in rows[-1]
    assert not any(n.startswith("|") for n in notes)
    assert any(n.startswith("Speed on the AMC exam") for n in notes)
    assert "auto-multiple-choice not installed" in next(r for r in rows if r.startswith("| Letters in boxes"))


def test_only_one_kind_measured_replaces_its_lines_and_keeps_every_other() -> None:
    before = block({k: render(k, f) for k, f in _figures().items()})
    parts = parse_block(before)
    assert set(parts) == set(KIND_NAMES)
    parts["amc"] = render("amc", _amc(1100))
    after = block(parts)
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert len(changed) == 1  # the AMC row; its speed line is the same figures
    assert "87.85 %" in changed[0][0] and "96.15 %" in changed[0][1]
    assert block(parse_block(after)) == after
