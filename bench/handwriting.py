"""The handwriting part of the benchmark: every engine in the registry that is installed, on the same fields.

* CER per engine, per tier and per hand (each handwriting font apart: "no single hand above 20 %"), and
  written comments whose transcription came back empty (each is typed by a person from the picture);
* speed and peak memory (all processes) of a `--jobs 2` scan in which **every page carries a written
  comment**: the pages of the handwriting set that hold a comment field, taken out of their files and
  saved as loose JPEGs (as a scanner saves them), so OCR is on the path of every page;
* the optional real check on queXF's hand-printed character fields (`bench/quexf_chars.py`), when its data
  is beside the repository.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from bench import quexf_chars
from bench.score import load_truth, score
from pipeline.errors import MissingDependencyError
from pipeline.form.definition import FormRegistry
from pipeline.form.layout import compute_layout
from pipeline.scan.loading import decode_page, page_job
from pipeline.scan.ocr import DEFAULT_ENGINE, TRANSCRIBING_ENGINES, check_engine

Scan = Callable[[list[Path], Path, Path, int, str], dict[str, Any]]


def installed_engines() -> list[str]:
    """The transcribing engines of the registry that can run here, the default first."""
    out = []
    for name in sorted(TRANSCRIBING_ENGINES, key=lambda n: n != DEFAULT_ENGINE):
        try:
            check_engine(name)
        except MissingDependencyError as exc:
            print(f"  {name} cannot run here ({exc.message}): skipping its figures", file=sys.stderr)
            continue
        out.append(name)
    return out


def comment_pages(truth_path: Path, out: Path) -> list[Path]:
    """Every page of the set that carries a written comment, as its own JPEG file at its scanned resolution."""
    truth = load_truth(truth_path)
    registry = FormRegistry.from_dirs()
    copies = {c["serial"]: c for c in truth["copies"]}
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for page in truth["pages"]:
        copy = copies.get(page.get("serial") or "")
        if page["kind"] != "form" or copy is None:
            continue
        layout = compute_layout(registry.get(copy["form"]), copy["paper"], copy["style"])
        fields = layout.pages[page["form_page"] - 1].text_fields
        if not any(copy["comments"].get(f.item, {}).get("text") for f in fields):
            continue
        source = Path(page["file"])
        if not source.is_absolute():
            source = truth_path.parent / source
        image, dpi = decode_page(page_job(source, page["index"]))
        path = out / f"{copy['serial']}-{page['form_page']}.jpg"
        Image.fromarray(image).save(path, "JPEG", quality=85, dpi=(dpi, dpi))
        files.append(path)
    return files


def run(files: list[Path], issued: Path, truth_path: Path, work: Path, scan: Scan) -> dict[str, Any]:
    """Scan the handwriting set with each installed engine, and the comment pages alone at --jobs 2."""
    truth = load_truth(truth_path)
    pages = comment_pages(truth_path, work / "comment-pages")
    result: dict[str, Any] = {"engines": {}, "comment_pages": len(pages)}
    for engine in installed_engines():
        db = work / f"hand-{engine}.db"
        whole = scan(files, issued, db, 2, engine)
        figures = score(db, truth)["comments"]
        every_page = scan(pages, issued, work / f"comment-pages-{engine}.db", 2, engine)
        result["engines"][engine] = {
            "cer": figures["cer"], "cer_by_hand": figures["cer_by_hand"], "written_empty": figures["written_empty"],
            "written_missed": figures["written_missed"], "set_scan": whole,
            "pages_per_second_every_page_commented": every_page["pages_per_second"],
            "peak_rss_mb_every_page_commented": every_page["peak_rss_mb"],
            "peak_pss_mb_every_page_commented": every_page["peak_pss_mb"]}
    result["quexf_chars"] = quexf_chars.run(tuple(result["engines"]))
    return result


def _fmt(t: dict[str, Any] | None) -> str:
    if not t or t["cer_pct"] is None:
        return "-"
    return f"{t['cer_pct']:.1f}%"


def rows(hand: dict[str, Any]) -> list[tuple[str, str]]:
    """The README rows: per engine, CER overall and by tier, the worst hand, empty transcriptions, speed and
    memory with a comment on every page; then CER per hand for every engine side by side."""
    out = []
    engines = hand.get("engines", {})
    for name, e in engines.items():
        cer = e["cer"]
        worst = max(e["cer_by_hand"].items(), key=lambda kv: kv[1]["cer_pct"] or 0, default=None)
        out.append((f"Comment CER, {name}{' (default)' if name == DEFAULT_ENGINE else ''}: all / easy / middle / "
                    "hard; worst hand",
                    f"{_fmt(cer.get('all'))} / {_fmt(cer.get('easy'))} / {_fmt(cer.get('middle'))} / "
                    f"{_fmt(cer.get('hard'))}; {worst[0] if worst else '-'} {_fmt(worst[1] if worst else None)}"))
        out.append((f"{name}: written comments with an empty transcription; every page with a comment, --jobs 2",
                    f"{e['written_empty'][0]} of {e['written_empty'][1]}; "
                    f"{e['pages_per_second_every_page_commented']} pages/s, "
                    f"peak {e['peak_pss_mb_every_page_commented']} MB shared out (PSS), "
                    f"{e['peak_rss_mb_every_page_commented']} MB counting shared pages per process (RSS) "
                    f"({hand['comment_pages']} pages)"))
    if engines:
        names = list(engines)
        hands = sorted({h for e in engines.values() for h in e["cer_by_hand"]})
        out.append((f"Comment CER per hand ({' / '.join(names)})",
                    "; ".join(f"{h.rsplit('.', 1)[0]} " + " / ".join(_fmt(engines[n]["cer_by_hand"].get(h))
                                                                   for n in names) for h in hands)))
    real = hand.get("quexf_chars")
    if real:
        out.append(("Real hand-printed capitals and digits (queXF scans, optional): CER per engine",
                    "; ".join(f"{n} {f['cer_pct']}% of {f['chars']}" for n, f in real.items())))
    return out
