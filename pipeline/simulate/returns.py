"""The whole simulation, in its four numbered steps: issue and plan, stack, render, pack.

Everything is deterministic for a seed, and independent of how many worker
processes render it: each copy and each page draws from its own seeded stream.
The pieces live beside this module (world, marks, handwriting, scanning, plan,
worker, packing); their public names are re-exported here and from
`pipeline.simulate` so callers need one import.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.atomic import atomic_write
from pipeline.errors import UsageError
from pipeline.form.definition import FormRegistry
from pipeline.form.layout import Layout, compute_layout
from pipeline.ledger import open_ledger
from pipeline.ledger.files_read import unreturned_copies
from pipeline.ledger.queries import IssuedCopy
from pipeline.names import shown
from pipeline.simulate.handwriting import Hand, available_tiers, write_comment
from pipeline.simulate.marks import draw_mark
from pipeline.simulate.packing import _write_file, pdf_of_images, tiff_of_images
from pipeline.simulate.plan import CopyPlan, FilePlan, PagePlan, _copy_seed, _page, _plan_file, plan_copy
from pipeline.simulate.render import rect_px, render_form_page, render_pdf_pages
from pipeline.simulate.scanning import Degraded, blank_page, degrade, encode, letter_page
from pipeline.simulate.worker import EncodedPage, PageTask, _worker_init, fill_page, run_task
from pipeline.simulate.world import (
    COMMENTS,
    COPIES_PER_FILE,
    DUPLEX_RATE,
    LETTER_RATE,
    MARK_KINDS,
    PAGE_SWAP_RATE,
    PENCIL,
    PENS,
    PRINT_DPI,
    STRAY_BLANK_RATE,
    AnswerMix,
    DegradeParams,
    Pen,
    SimulationSpec,
    SimulationTruth,
    luminance,
)

__all__ = [
    "COMMENTS", "MARK_KINDS", "PENCIL", "PENS", "PRINT_DPI", "AnswerMix", "CopyPlan", "DegradeParams", "Degraded",
    "EncodedPage", "Hand", "PageTask", "Pen", "SimulationSpec", "SimulationTruth", "available_tiers", "blank_page",
    "degrade", "draw_mark", "encode", "fill_page", "letter_page", "luminance", "pdf_of_images", "plan_copy",
    "rect_px", "render_form_page", "render_pdf_pages", "run_task", "simulate_returns", "tiff_of_images",
    "write_comment",
]


@dataclass
class _Stacks:
    files: list[FilePlan]
    tasks: list[PageTask]


def simulate_returns(spec: SimulationSpec, registry: FormRegistry) -> SimulationTruth:
    """Issue copies in the ledger, fill them in, scan them badly, pack them; write the truth JSON."""
    started = time.perf_counter()
    # the scans go in their own folder, so `papervoice scan OUTPUT/scans` sees only what a scanner made
    out_dir = Path(spec.output_dir) / "scans"
    out_dir.mkdir(parents=True, exist_ok=True)
    copies, layouts = _issue_and_plan(spec, registry, out_dir)  # 1
    stacks = _plan_stacks(spec, copies, layouts)  # 2
    results = _render(spec, stacks.tasks)  # 3
    pages, files, truth_path = _pack_and_write_truth(spec, out_dir, copies, layouts, stacks, results)  # 4
    return SimulationTruth(pages, files, truth_path, len(copies), time.perf_counter() - started)


def _issue_and_plan(spec: SimulationSpec, registry: FormRegistry, out_dir: Path
                    ) -> tuple[list[CopyPlan], dict[int, Layout]]:
    """1. Issue serials and decide what every person answers."""
    tiers = available_tiers() if not spec.blank_comments else {}
    comment_rate = 0.0 if spec.blank_comments else spec.comment_rate
    copies: list[CopyPlan] = []
    layouts: dict[int, Layout] = {}
    ordinal = 0
    if spec.printed:
        return _plan_printed(spec, registry, tiers, comment_rate)
    with open_ledger(spec.db) as ledger:
        survey = ledger.survey_id  # printed on the simulated pages, as generate prints it
        for form_id in spec.forms:
            form = registry.get(form_id)
            for paper in spec.papers:
                for style in spec.styles:
                    layout = compute_layout(form, paper, style)
                    serials = ledger.issue_serials(form.id, form.version, layout.style, layout.paper,
                                                   layout.page_count, spec.copies, str(out_dir),
                                                   survey_printed=survey is not None)
                    for serial in serials:
                        rng = _copy_seed(spec.seed, ordinal)
                        answers, multiple, marks, pen, comments = plan_copy(rng, form, spec.answers, comment_rate,
                                                                           tiers, spec.variety)
                        copies.append(CopyPlan(ordinal, serial, form, layout.style, layout.paper, answers, multiple,
                                               marks, pen, comments, survey))
                        layouts[ordinal] = layout
                        ordinal += 1
    return copies, layouts


def _plan_printed(spec: SimulationSpec, registry: FormRegistry, tiers: dict[str, Any], comment_rate: float
                  ) -> tuple[list[CopyPlan], dict[int, Layout]]:
    """1, for a practice run: the copies the ledger printed and has not seen back, filled in as they were
    printed (form version, style, paper, survey); the ledger is only read, so nothing fake is recorded."""
    copies: list[CopyPlan] = []
    layouts: dict[int, Layout] = {}
    with open_ledger(spec.db, readonly=True) as ledger:
        survey = ledger.survey_id
        waiting = unreturned_copies(ledger, spec.forms)
    chosen: list[IssuedCopy] = []
    for form_id in spec.forms:
        chosen += [c for c in waiting if c.form_id == form_id][: spec.copies]
    if not chosen:
        raise UsageError(f"{shown(str(spec.db))} has no printed copy of {', '.join(spec.forms)} that is still out",
                         "print some first (the Print page, or papervoice generate with this --db), or leave out "
                         "--printed to make new simulated copies in a ledger of their own")
    for ordinal, issued in enumerate(chosen):
        form = registry.get(issued.form_id, issued.form_version)
        layout = compute_layout(form, issued.paper, issued.style)
        if layout.page_count != issued.pages:
            raise UsageError(f"copy {issued.serial} was printed with {issued.pages} pages, but {form.id} now lays "
                             f"out on {layout.page_count}", "use the forms folder it was printed from (--forms-dir)")
        answers, multiple, marks, pen, comments = plan_copy(_copy_seed(spec.seed, ordinal), form, spec.answers,
                                                           comment_rate, tiers, spec.variety)
        copies.append(CopyPlan(ordinal, issued.serial, form, layout.style, layout.paper, answers, multiple, marks,
                               pen, comments, survey))
        layouts[ordinal] = layout
    return copies, layouts


def _plan_stacks(spec: SimulationSpec, copies: list[CopyPlan], layouts: dict[int, Layout]) -> _Stacks:
    """2. Plan the stacks: returns come back in any order, a few copies per scan."""
    rng = np.random.default_rng([spec.seed, 0, 2])
    order = [copies[int(i)] for i in rng.permutation(len(copies))]
    files: list[FilePlan] = []
    tasks: list[PageTask] = []
    file_pages: dict[int, int] = {}
    seeds = np.random.default_rng([spec.seed, 0, 3])
    i = 0
    while i < len(order):
        stack = order[i:i + int(rng.integers(COPIES_PER_FILE[0], COPIES_PER_FILE[1] + 1))]
        i += len(stack)
        file = _plan_file(rng, len(files), spec)
        files.append(file)
        duplex = spec.junk and rng.random() < DUPLEX_RATE
        if spec.junk and rng.random() < LETTER_RATE:
            tasks.append(_junk_task(file, files, "letter", stack[0].paper, spec, file_pages, seeds))
        for copy in stack:
            layout = layouts[copy.ordinal]
            order_in_copy = list(range(1, layout.page_count + 1))
            if layout.page_count > 1 and rng.random() < PAGE_SWAP_RATE:
                j = int(rng.integers(0, layout.page_count - 1))
                order_in_copy[j], order_in_copy[j + 1] = order_in_copy[j + 1], order_in_copy[j]
            plans: list[PagePlan] = []
            for form_page in order_in_copy:
                plans.append(_page(file, "form", copy.ordinal, form_page, file_pages, seeds))
                if spec.junk and rng.random() < STRAY_BLANK_RATE / max(1, layout.page_count):
                    plans.append(_page(file, "blank", copy.ordinal, None, file_pages, seeds))
            if duplex and layout.page_count % 2:
                plans.append(_page(file, "blank", copy.ordinal, order_in_copy[-1], file_pages, seeds))
            tasks.append(PageTask(copy.form, copy.style, copy.paper, copy, tuple(plans), (), spec.degrade))
    return _Stacks(files, [replace(t, files=tuple(files)) for t in tasks])


def _render(spec: SimulationSpec, tasks: list[PageTask]) -> list[tuple[list[EncodedPage], dict[str, str]]]:
    """3. Render in parallel; results come back in task order, so output is the same for any --jobs."""
    jobs = spec.jobs or len(os.sched_getaffinity(0))
    if jobs > 1 and len(tasks) > 1:
        # not fork: a forked child inherits OpenCV's thread pool mid-state and can deadlock in it
        # (a calling script therefore needs the usual `if __name__ == "__main__":` guard)
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("forkserver"),
                                 initializer=_worker_init) as pool:
            return list(pool.map(run_task, tasks, chunksize=1))
    return [run_task(t) for t in tasks]


def _pack_and_write_truth(spec: SimulationSpec, out_dir: Path, copies: list[CopyPlan], layouts: dict[int, Layout],
                          stacks: _Stacks, results: list[tuple[list[EncodedPage], dict[str, str]]]
                          ) -> tuple[int, list[Path], Path]:
    """4. Pack the pages into files and write the truth."""
    by_file: dict[int, list[EncodedPage]] = {}
    written_by_copy: dict[int, dict[str, str]] = {}
    for task, (pages, written) in zip(stacks.tasks, results, strict=True):
        for p in pages:
            by_file.setdefault(p.plan.file, []).append(p)
        if task.copy is not None:
            written_by_copy[task.copy.ordinal] = written
    out_files: list[Path] = []
    page_truth: list[dict[str, Any]] = []
    for file in stacks.files:
        pages = sorted(by_file.get(file.number, []), key=lambda p: p.plan.index)
        names = _write_file(out_dir, file, pages)
        out_files.extend(dict.fromkeys(names))
        for p, name in zip(pages, names, strict=True):
            owner = copies[p.plan.copy] if p.plan.copy is not None else None
            page_truth.append({
                "file": f"scans/{name.name}", "index": 0 if file.container in ("jpg", "png") else p.plan.index,
                "kind": p.plan.kind, "serial": owner.serial if owner and p.plan.kind == "form" else None,
                "form_page": p.plan.form_page if p.plan.kind == "form" else None, "upside_down": p.upside_down,
                "dpi": p.dpi, "rotation_deg": p.rotation_deg, "bitonal": p.bitonal, "container": file.container,
            })
    comment_rate = 0.0 if spec.blank_comments else spec.comment_rate
    truth = {
        "seed": spec.seed,
        "spec": {"forms": list(spec.forms), "copies": spec.copies, "styles": list(spec.styles),
                 "papers": list(spec.papers), "junk": spec.junk, "blank_comments": spec.blank_comments,
                 "comment_rate": comment_rate, "variety": spec.variety, "degrade": asdict(spec.degrade),
                 "answers": asdict(spec.answers)},
        "copies": [c.truth(layouts[c.ordinal].page_count, written_by_copy.get(c.ordinal, {})) for c in copies],
        "pages": page_truth,
    }
    truth_path = Path(spec.output_dir) / "truth.json"
    atomic_write(truth_path, json.dumps(truth, indent=1).encode("utf-8"))
    return len(page_truth), out_files, truth_path


def _junk_task(file: FilePlan, files: list[FilePlan], kind: str, paper: str, spec: SimulationSpec,
               counters: dict[int, int], seeds: np.random.Generator) -> PageTask:
    plan = _page(file, kind, None, None, counters, seeds)
    return PageTask(None, "standard", paper, None, (plan,), (), spec.degrade)
