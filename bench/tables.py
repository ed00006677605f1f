"""The README's by-kind tables: the wide set by kind of mark and of comment, and the real pen marks."""

from __future__ import annotations

from typing import Any


def _kind_rows(by_kind: dict[str, dict[str, int]]) -> list[str]:
    out = []
    for kind, c in sorted(by_kind.items(), key=lambda kv: -sum(kv[1].values())):
        n = sum(c.values())
        out.append(f"| {kind} | {n} | {c.get('right', 0)} | {c.get('flagged', 0)} | {c.get('wrong', 0)} |")
    return out


def kind_tables(r: dict[str, Any]) -> list[str]:
    """The wide set by kind of mark and of comment, and the real pen marks: what varies, where it fails."""
    v = r.get("variety_set")
    if not v:
        return []
    marks, comments = v["marks_by_kind"], v["comments_by_kind"]
    g = marks["glance"]
    lost = marks["lost_marks_flags"]
    lines = ["", f"Wide set ({r['scans']['variety_j2']['pages']} pages, `variety=\"wide\"`), by kind of mark. "
             f"Answers a person reads at a glance (two boxes, a mark between or beside boxes and a circled number "
             f"left out): **{g['right_pct']}% right without a flag, {g['wrong_pct']}% wrong without a flag** "
             f"(of {g['n']}). Blank rows flagged on the page-level sign that marks were lost: {lost[0]} of "
             f"{lost[1]} rows.", "",
             "| Kind of mark | n | Right, no flag | Flagged | Wrong, no flag |", "|---|---|---|---|---|"]
    lines += _kind_rows(marks["by_kind"])
    styles = v.get("by_style")
    if styles:
        names = {"standard": "Standard print", "large-print": "Large print", "easy-read": "Easy Read"}
        lines += ["", "The same wide set by print style (answers read at a glance):", "",
                  "| Style | Copies | n | Right, no flag | Wrong, no flag |", "|---|---|---|---|---|"]
        lines += [f"| {names.get(k, k)} | {st['copies']} | {st['glance']['n']} | {st['glance']['right_pct']}% | "
                  f"{st['glance']['wrong_pct']}% |" for k, st in styles.items()]
    lines += ["", f"By kind of comment (a comment may be of several kinds). Written comments read as blank: "
              f"**{comments['written_read_as_blank']}**; blank fields sent to a person as possibly written: "
              f"{comments['blank_sent_as_possibly_written']}; of those and the written ones, sent because the page "
              f"showed marks lost in scanning: {comments['lost_marks_sign_on_comments']}.", "",
              "| Kind of comment | n | Right, no flag | Possibly written (to a person) | Wrong, no flag |",
              "|---|---|---|---|---|"]
    lines += _kind_rows(comments["by_kind"])
    real = r.get("real_marks")
    if real:
        s = real["summary"]
        lines += ["", f"Real pen marks (queXF's 1-bit 300-dpi scans, cut out and set into our boxes at their pen "
                  f"width, both styles): **{s['right_pct']}% right without a flag** of {s['n']} (a lone "
                  "scribbled-out box must be flagged and is counted apart).", "",
                  "| Real mark | n | Right | Flagged | Wrong, no flag |", "|---|---|---|---|---|"]
        lines += _kind_rows(real["by_kind"])
    return lines
