"""The whole job through the public contract only, as an outside acceptance harness would do it.

`generate --manifest` prints copies, `layout --json` says where every box is (pt, top-left origin, y down,
outer edges), the harness draws its own marks there with OpenCV, rotates and shrinks the pages a little,
saves a multi-page TIFF, then `scan` and `export`, and reads the answers back from the workbook.
No PaperVoice module is imported: only commands, JSON, CSV and the workbook.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import openpyxl
import pytest
from conftest import NewLedger
from PIL import Image

DPI = 200
FORM = "care-planning-practitioner"


def papervoice(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow
def test_generate_layout_draw_scan_export(tmp_path: Path, new_ledger: NewLedger) -> None:
    db = new_ledger("survey")
    made = papervoice("generate", FORM, "--copies", "2", "-o", tmp_path / "forms.pdf", "--db", db,
                      "--manifest", tmp_path / "manifest.csv")
    assert made.returncode == 0, made.stderr
    layout = json.loads(papervoice("layout", FORM, "--json").stdout)
    with open(tmp_path / "manifest.csv", newline="") as fh:
        manifest = list(csv.DictReader(fh))
    assert [r["form_page"] for r in manifest] == [str(p["page"]) for p in layout["pages"]] * 2

    subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", "-png", tmp_path / "forms.pdf", tmp_path / "page"],
                   check=True)
    rendered = sorted(tmp_path.glob("page-*.png"))
    assert len(rendered) == len(manifest)

    rng = np.random.default_rng(11)
    scale = DPI / 72
    truth: dict[str, dict[str, int | None]] = {}
    scanned = []
    for path, row in zip(rendered, manifest, strict=True):
        img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        answers = truth.setdefault(row["serial"], {})
        for item in {b["item"] for b in layout["pages"][int(row["form_page"]) - 1]["boxes"]}:
            boxes = [b for b in layout["pages"][int(row["form_page"]) - 1]["boxes"] if b["item"] == item]
            if rng.random() < 0.1:
                answers[item] = None  # left blank
                continue
            box = boxes[int(rng.integers(len(boxes)))]
            answers[item] = box["value"]
            x0, y0 = box["x"] * scale, box["y"] * scale
            w = box["w"] * scale
            # a cross drawn corner to corner, a little wobbly, in a 2 px pen
            a, b = (x0 + 0.2 * w, y0 + 0.2 * w), (x0 + 0.8 * w, y0 + 0.85 * w)
            c, d = (x0 + 0.8 * w, y0 + 0.15 * w), (x0 + 0.25 * w, y0 + 0.8 * w)
            for p, q in ((a, b), (c, d)):
                cv2.line(img, tuple(map(int, p)), tuple(map(int, q)), 20, 3, cv2.LINE_AA)
        h, w_ = img.shape
        turn = cv2.getRotationMatrix2D((w_ / 2, h / 2), float(rng.uniform(-3, 3)), 0.97)
        scanned.append(Image.fromarray(cv2.warpAffine(img, turn, (w_, h), borderValue=245)))
    scan_file = tmp_path / "scanner" / "batch.tif"
    scan_file.parent.mkdir()
    scanned[0].save(scan_file, save_all=True, append_images=scanned[1:], dpi=(DPI, DPI), compression="tiff_lzw")

    read = papervoice("scan", scan_file.parent, "--db", db, "--jobs", "2", "--ocr", "none", "-q", "--json")
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout)["pages_by_status"] == {"form": len(manifest)}
    out = tmp_path / "results.xlsx"
    exported = papervoice("export", "-o", out, "--db", db)
    assert exported.returncode == 0, exported.stderr

    wb = openpyxl.load_workbook(out)
    sheet = next(wb[n] for n in wb.sheetnames if n.startswith("Responses"))
    rows = list(sheet.iter_rows(values_only=True))
    head = list(rows[0])
    got = {r[head.index("Serial")]: r for r in rows[1:]}
    assert set(got) == set(truth)
    for serial, answers in truth.items():
        assert got[serial][head.index("Form")] == FORM
        assert got[serial][head.index("Needs review")] == "no"
        for item, value in answers.items():
            assert got[serial][head.index(item)] == value, (serial, item)
