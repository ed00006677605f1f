"""Form definitions: the shipped forms load, and every kind of mistake in a YAML file is
reported with the file, the exact field and advice, because the people who edit forms are
not programmers and must be able to fix the file from the message alone."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.errors import ExitCode, FormDefinitionError, UnknownFormError
from pipeline.form.definition import FormRegistry, load_form_file

ROOT = Path(__file__).resolve().parent.parent

SHIPPED = {
    "care-planning-person": ("person", 10),
    "care-planning-practitioner": ("practitioner", 10),
    "coproduction-operating-rules": ("team", 7),
    "parent-partnership": ("parent", 10),
}

VALID: dict[str, Any] = {
    "id": "sample-form",
    "version": 1,
    "title": "A sample form",
    "audience": "person",
    "introduction": "Tell us what you think.",
    "instructions": ["Tick one box for each sentence."],
    "scale": [{"value": v, "label": lbl} for v, lbl in enumerate(["No", "A little", "Yes"], start=1)],
    "items": [{"id": "S01", "text": "First sentence."}, {"id": "S02", "text": "Second sentence."}],
    "free_text": [{"id": "C1", "prompt": "Anything else?", "lines": 4}],
}


def write_form(folder: Path, data: Any, name: str = "sample-form") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def load_error(path: Path) -> FormDefinitionError:
    with pytest.raises(FormDefinitionError) as info:
        load_form_file(path)
    return info.value


def assert_names(err: FormDefinitionError, path: Path, field: str | None) -> None:
    """The message names the file and (when there is one) the field; advice says what to do."""
    assert str(path) in err.message
    if field is not None:
        assert f"field '{field}'" in err.message, err.message
    assert err.advice and len(err.advice) > 10, "an error must say how to fix it"
    assert "What to do:" in str(err)
    assert err.exit_code == ExitCode.USAGE


def test_valid_sample_loads(tmp_path: Path) -> None:
    form = load_form_file(write_form(tmp_path, VALID))
    assert form.id == "sample-form"
    assert [i.id for i in form.items] == ["S01", "S02"]
    assert form.scale_values == (1, 2, 3)
    assert form.free_text_field("C1").lines == 4


@pytest.mark.parametrize("form_id", sorted(SHIPPED))
def test_shipped_forms_load(registry: FormRegistry, form_id: str) -> None:
    form = registry.latest(form_id)
    audience, n_items = SHIPPED[form_id]
    assert form.audience == audience
    assert len(form.items) == n_items
    assert form.scale_values == (1, 2, 3, 4, 5)
    assert [ft.id for ft in form.free_text] == ["C1"]
    assert form.source, "every shipped form cites its source"
    assert form.path is not None and form.path.name == f"{form_id}.yaml"


def test_shipped_item_ids_follow_the_house_pattern(registry: FormRegistry) -> None:
    prefixes = {"care-planning-person": "S", "care-planning-practitioner": "S",
                "coproduction-operating-rules": "R", "parent-partnership": "P"}
    for form in registry.all():
        ids = [i.id for i in form.items]
        assert ids == [f"{prefixes[form.id]}{n:02d}" for n in range(1, len(ids) + 1)]


def test_parent_partnership_groups_items_under_headings(registry: FormRegistry) -> None:
    form = registry.latest("parent-partnership")
    assert len(form.sections) == 3
    assert all(section.heading for section in form.sections)


def test_cli_lists_four_forms() -> None:
    out = subprocess.run([sys.executable, "-m", "pipeline", "forms", "--json"], cwd=ROOT, capture_output=True,
                         text=True, check=True, timeout=60)
    rows = json.loads(out.stdout)
    assert sorted(r["id"] for r in rows) == sorted(SHIPPED)
    for row in rows:
        assert 1 <= row["pages_standard"] <= row["pages_large_print"]


def test_missing_field(tmp_path: Path) -> None:
    data = copy.deepcopy(VALID)
    del data["title"]
    path = write_form(tmp_path, data)
    err = load_error(path)
    assert_names(err, path, "title")
    assert "missing" in err.message
    assert "title:" in (err.advice or "")


def test_missing_item_text(tmp_path: Path) -> None:
    data = copy.deepcopy(VALID)
    del data["items"][1]["text"]
    path = write_form(tmp_path, data)
    assert_names(load_error(path), path, "items[1].text")


@pytest.mark.parametrize("bad_id", ["s01", "1S", "S-01", "SABCDEFGH"])
def test_bad_item_id(tmp_path: Path, bad_id: str) -> None:
    data = copy.deepcopy(VALID)
    data["items"][0]["id"] = bad_id
    path = write_form(tmp_path, data)
    err = load_error(path)
    assert_names(err, path, "items[0].id")
    assert bad_id in err.message


def test_bad_item_id_inside_section(tmp_path: Path) -> None:
    data = copy.deepcopy(VALID)
    items = data.pop("items")
    data["sections"] = [{"heading": "One", "items": items[:1]}, {"heading": "Two", "items": [{"id": "x", "text": "t"}]}]
    path = write_form(tmp_path, data)
    assert_names(load_error(path), path, "sections[1].items[0].id")


def test_duplicate_item_id(tmp_path: Path) -> None:
    data = copy.deepcopy(VALID)
    data["items"][1]["id"] = "S01"
    path = write_form(tmp_path, data)
    err = load_error(path)
    assert_names(err, path, "items[1].id")
    assert "twice" in err.message


def test_free_text_id_clashing_with_item(tmp_path: Path) -> None:
    data = copy.deepcopy(VALID)
    data["free_text"][0]["id"] = "S02"
    path = write_form(tmp_path, data)
    assert_names(load_error(path), path, "free_text[0].id")


@pytest.mark.parametrize(
    ("scale", "field"),
    [
        ([{"value": 1, "label": "No"}, {"value": 3, "label": "Yes"}], "scale"),  # not consecutive
        ([{"value": 1, "label": "Only one"}], "scale"),  # too few points
        ([{"value": v, "label": f"P{v}"} for v in range(1, 9)], "scale"),  # too many points
        ([{"value": "one", "label": "No"}, {"value": 2, "label": "Yes"}], "scale[0].value"),
        ([{"value": 1, "label": "No"}, {"value": 2, "label": "Yes, absolutely and completely"}], "scale[1].label"),
        ([{"value": 1}, {"value": 2, "label": "Yes"}], "scale[0].label"),
        ("1 to 5", "scale"),
    ],
)
def test_bad_scale(tmp_path: Path, scale: Any, field: str) -> None:
    data = copy.deepcopy(VALID)
    data["scale"] = scale
    path = write_form(tmp_path, data)
    assert_names(load_error(path), path, field)


def test_unknown_field(tmp_path: Path) -> None:
    data = copy.deepcopy(VALID)
    data["titel"] = "A typo"
    path = write_form(tmp_path, data)
    err = load_error(path)
    assert_names(err, path, "titel")
    assert "title" in (err.advice or ""), "the advice lists the known fields so the typo is easy to spot"


def test_bad_audience(tmp_path: Path) -> None:
    data = copy.deepcopy(VALID)
    data["audience"] = "patients"
    path = write_form(tmp_path, data)
    err = load_error(path)
    assert_names(err, path, "audience")
    assert "person" in err.message


@pytest.mark.parametrize("lines", [1, 21, "six"])
def test_bad_comment_lines(tmp_path: Path, lines: Any) -> None:
    data = copy.deepcopy(VALID)
    data["free_text"][0]["lines"] = lines
    path = write_form(tmp_path, data)
    assert_names(load_error(path), path, "free_text[0].lines")


def test_items_and_sections_together(tmp_path: Path) -> None:
    data = copy.deepcopy(VALID)
    data["sections"] = [{"items": data["items"]}]
    path = write_form(tmp_path, data)
    assert_names(load_error(path), path, "items")


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "sample-form.yaml"
    path.write_text("id: sample-form\nversion: 1\ntitle: Broken\n  audience: [person\n", encoding="utf-8")
    err = load_error(path)
    assert_names(err, path, None)
    assert "not valid YAML" in err.message
    assert "line " in err.message


def test_top_level_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "sample-form.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    assert_names(load_error(path), path, "(top level)")


def test_file_name_mismatch(tmp_path: Path) -> None:
    path = write_form(tmp_path, VALID, name="other-name")
    err = load_error(path)
    assert_names(err, path, "id")
    assert "sample-form.yaml" in (err.advice or "") and "other-name" in (err.advice or "")


def test_registry_rejects_a_version_defined_twice(tmp_path: Path) -> None:
    write_form(tmp_path, VALID)
    write_form(tmp_path, VALID, name="sample-form@1")
    with pytest.raises(FormDefinitionError, match="defined twice") as info:
        FormRegistry.from_dirs([tmp_path])
    assert info.value.advice


def test_registry_keeps_old_versions(tmp_path: Path) -> None:
    write_form(tmp_path, {**VALID, "version": 2})
    write_form(tmp_path, VALID, name="sample-form@1")
    reg = FormRegistry.from_dirs([tmp_path])
    assert reg.latest("sample-form").version == 2
    assert reg.get("sample-form", 1).version == 1
    with pytest.raises(UnknownFormError) as info:
        reg.get("sample-form", 3)
    assert "sample-form@3.yaml" in (info.value.advice or "")
    with pytest.raises(UnknownFormError) as info:
        reg.get("no-such-form")
    assert "sample-form" in (info.value.advice or "")


def test_cli_reports_bad_form_dir_with_exit_code(tmp_path: Path) -> None:
    data = copy.deepcopy(VALID)
    data["items"][0]["id"] = "bad id"
    write_form(tmp_path, data)
    out = subprocess.run([sys.executable, "-m", "pipeline", "forms", "--forms-dir", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == ExitCode.USAGE
    assert "items[0].id" in out.stderr and "What to do:" in out.stderr


def test_a_forms_folder_adds_forms_and_never_hides_the_bundled_ones(tmp_path: Path) -> None:
    """A batch may mix our own checklists with a form of the organisation's: --forms-dir adds, and a folder's
    form of the same id and version takes the bundled one's place."""
    write_form(tmp_path, VALID)
    reg = FormRegistry.from_dirs([tmp_path])
    ids = {f.id for f in reg.all()}
    assert "sample-form" in ids and "care-planning-person" in ids
    bundled = FormRegistry.from_dirs().get("care-planning-person")
    write_form(tmp_path, {**VALID, "id": "care-planning-person", "version": bundled.version},
               name="care-planning-person")
    mine = FormRegistry.from_dirs([tmp_path]).get("care-planning-person", bundled.version)
    assert mine.path is not None and Path(mine.path).parent == tmp_path
