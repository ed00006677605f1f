"""Forms as data: load and validate `forms/*.yaml`.

A form definition is the single source of the wording; the layout engine turns
it into geometry.  Validation happens on load so that a typo in a YAML file is
reported with the file, the field, what is wrong and how to fix it, before
anything is printed or scanned.
"""

from __future__ import annotations

import re
import site
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import FormDefinitionError, UnknownFormError
from pipeline.form.adopted import AdoptedGeometry, parse_geometry
from pipeline.form.i18n import N_
from pipeline.form.yamlfile import load_yaml

ITEM_ID_RE = re.compile(r"^[A-Z][A-Z0-9]{0,7}$")
FORM_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,47}$")
AUDIENCES = ("person", "practitioner", "team", "parent", "organisation", "other")
SCALE_VALUE_LIMIT = 999  # a point's number is stored and exported as a small integer: bounded where it is read

def _bundled_forms_dir() -> Path:
    """Where the forms PaperVoice ships are: `forms/` beside the package in a source checkout (and an editable
    install); in an installed wheel, `<prefix>/share/papervoice/forms`, where pyproject's data-files put them
    (a plain `pip install` used to find no forms at all)."""
    checkout = Path(__file__).resolve().parents[2] / "forms"
    if checkout.is_dir():
        return checkout
    for base in (sys.prefix, site.getuserbase()):
        installed = Path(base) / "share" / "papervoice" / "forms"
        if installed.is_dir():
            return installed
    return checkout


BUNDLED_FORMS_DIR = _bundled_forms_dir()


@dataclass(frozen=True)
class ScalePoint:
    value: int
    label: str


@dataclass(frozen=True)
class Item:
    id: str
    text: str
    picture: str | None = None  # a picture name beside the statement in Easy Read (pipeline/form/pictures.py)


@dataclass(frozen=True)
class Section:
    heading: str | None
    intro: str | None
    items: tuple[Item, ...]


@dataclass(frozen=True)
class FreeText:
    id: str
    prompt: str
    lines: int


@dataclass(frozen=True)
class Form:
    id: str
    version: int
    title: str
    audience: str
    introduction: str
    instructions: tuple[str, ...]
    scale: tuple[ScalePoint, ...]
    sections: tuple[Section, ...]
    free_text: tuple[FreeText, ...]
    closing: str | None
    source: str | None
    path: Path | None = field(default=None, compare=False)
    adopted: AdoptedGeometry | None = None  # a form PaperVoice did not print: its measured geometry
    language: str = "en"  # the language of its wording (and of the fixed text printed with it); "cy+en" bilingual
    contact: str | None = None  # who to ask for other formats and languages, and how answers are used
    other_formats: bool = False  # print the "other formats and languages" block (always, when contact is given)
    translation_status: str | None = None  # a translation's own note, e.g. "to be checked by a Welsh speaker"
    translated: bool = False  # loaded from `<id>.<language>.yaml`: another language of the same form and version

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for section in self.sections for item in section.items)

    @property
    def scale_values(self) -> tuple[int, ...]:
        return tuple(point.value for point in self.scale)

    def item(self, item_id: str) -> Item:
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(item_id)

    def statement(self, item_id: str) -> str:
        """An item's wording, or '' when this version of the form has no such item (review and export show it)."""
        return next((it.text for it in self.items if it.id == item_id), "")

    def item_kind(self, item_id: str) -> str:
        """How an item's answer is coded, in the words the codebook uses."""
        if self.adopted is None:
            return "rating"
        for q in self.adopted.questions:
            if q.id == item_id:
                return "choose one"
            if q.kind == "any" and item_id.startswith(f"{q.id}_"):
                return "choose any: 1 marked, 0 not"
        return "rating"

    def answer_choices(self, item_id: str) -> tuple[tuple[int, str], ...]:
        """The values a person may settle this item to, with their words: the boxes printed for it.

        A rating item offers the form's scale; an adopted "choose one" question only its own boxes (a 5
        is no answer to a yes/no); a "choose any" box is ticked (1) or not ticked (0).  Review offers
        these, and refuses anything else."""
        if self.adopted is not None:
            for q in self.adopted.questions:
                if q.kind == "one" and q.id == item_id:
                    return tuple((b.value, b.label) for b in sorted(q.boxes, key=lambda b: b.value))
                if q.kind == "any" and any(q.item_of(b) == item_id for b in q.boxes):
                    return ((1, "ticked"), (0, "not ticked"))
        return tuple((p.value, p.label) for p in self.scale)

    def free_text_field(self, field_id: str) -> FreeText:
        for ft in self.free_text:
            if ft.id == field_id:
                return ft
        raise KeyError(field_id)


def _shown(value: Any) -> str:
    """A wrong value as a message shows it: short, whatever the file held."""
    text = repr(value) if isinstance(value, int | float | str | None) else f"a {type(value).__name__}"
    return text if len(text) <= 40 else text[:37] + "..."


class _Checker:
    """Collects the location of each value so errors can name the exact field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str, fix: str) -> FormDefinitionError:
        return FormDefinitionError(f"{self.source}: field '{where}': {problem}", fix)

    def text(self, data: dict[str, Any], key: str, where: str, required: bool = True) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                raise self.fail(f"{where}{key}", "is missing", f"add a line '{key}: ...' to the form file")
            return None
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise self.fail(f"{where}{key}", f"should be text, found {type(value).__name__}",
                            "write it as plain text on one line, or as a YAML block with '>'")
        text = " ".join(str(value).split())
        if required and not text:
            raise self.fail(f"{where}{key}", "is empty", "write the text in plain words")
        return text

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"should be a set of 'key: value' lines, found {type(value).__name__}",
                            "check the indentation of this entry")
        return value

    def sequence(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list) or not value:
            raise self.fail(where, "should be a non-empty list (lines starting with '- ')",
                            "add at least one entry, each starting with '- '")
        return value


def parse_form(data: Any, source: str = "<form>") -> Form:
    """Validate a form definition already loaded from YAML."""
    ck = _Checker(source)
    top = ck.mapping(data, "(top level)")
    if "adopted" in top:
        return _parse_adopted(ck, top, source)
    known = {"id", "version", "title", "audience", "introduction", "instructions", "scale", "items",
             "sections", "free_text", "closing", "source", *LANGUAGE_FIELDS}
    for key in top:
        if key not in known:
            raise ck.fail(str(key), "is not a known field",
                          f"remove it or correct the spelling; known fields: {', '.join(sorted(known))}")

    form_id = ck.text(top, "id", "")
    assert form_id is not None
    if not FORM_ID_RE.match(form_id):
        raise ck.fail("id", f"'{form_id}' is not a valid form id",
                      "use 2-48 lower-case letters, digits and hyphens, e.g. care-planning-person")
    version = top.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= 9999:
        raise ck.fail("version", f"should be a whole number from 1 to 9999, found {_shown(version)}",
                      "write e.g. 'version: 1' and raise it whenever the printed wording changes")
    title = ck.text(top, "title", "")
    audience = ck.text(top, "audience", "")
    if audience not in AUDIENCES:
        raise ck.fail("audience", f"'{audience}' is not one of {', '.join(AUDIENCES)}", "pick one of those")
    introduction = ck.text(top, "introduction", "")

    raw_instr = top.get("instructions")
    if isinstance(raw_instr, str):
        raw_instr = [raw_instr]
    instructions = tuple(
        ck.text({"i": v}, "i", f"instructions[{n}]") or "" for n, v in enumerate(ck.sequence(raw_instr, "instructions"))
    )

    language, contact, status, other_formats = _parse_language(ck, top)
    scale_points = _parse_scale(ck, top, language)
    seen: set[str] = set()  # item and field ids share one name space
    sections = _parse_sections(ck, top, seen)
    free = _parse_free_text(ck, top, seen)

    return Form(
        id=form_id, version=version, title=title or "", audience=audience or "",
        introduction=introduction or "", instructions=instructions, scale=tuple(scale_points),
        sections=tuple(sections), free_text=tuple(free),
        closing=ck.text(top, "closing", "", required=False), source=ck.text(top, "source", "", required=False),
        language=language, contact=contact, translation_status=status, other_formats=other_formats,
    )


LANGUAGE_FIELDS = ("language", "contact", "translation_status", "other_formats")


def _parse_language(ck: _Checker, top: dict[str, Any]) -> tuple[str, str | None, str | None, bool]:
    """The form's language (default English), the contact the "other formats" block gives, a translation's note."""
    from pipeline.form.i18n import is_language_code

    language = ck.text(top, "language", "", required=False) or "en"
    if not is_language_code(language):
        raise ck.fail("language", f"'{language}' is not a language code",
                      "use a two- or three-letter ISO 639 code in lower case, e.g. 'language: cy' for Welsh")
    other = top.get("other_formats", False)
    if not isinstance(other, bool):
        raise ck.fail("other_formats", f"should be true or false, found {other!r}",
                      "write 'other_formats: true' to print the 'other formats and languages' block")
    return (language, ck.text(top, "contact", "", required=False),
            ck.text(top, "translation_status", "", required=False), other)


#: Scale words used when a form file gives a point no label, by the number of points (translated on print).
DEFAULT_SCALE_WORDS = {
    2: (N_("No"), N_("Yes")),
    3: (N_("No"), N_("Not sure"), N_("Yes")),
    4: (N_("Never"), N_("Sometimes"), N_("Often"), N_("Always")),
    5: (N_("Not at all"), N_("A little"), N_("Partly"), N_("Mostly"), N_("Completely")),
}


def _parse_scale(ck: _Checker, top: dict[str, Any], language: str = "en") -> list[ScalePoint]:
    scale_points: list[ScalePoint] = []
    for n, raw in enumerate(ck.sequence(top.get("scale"), "scale")):
        entry = ck.mapping(raw, f"scale[{n}]")
        value = entry.get("value")
        if (not isinstance(value, int) or isinstance(value, bool)
                or not -SCALE_VALUE_LIMIT <= value <= SCALE_VALUE_LIMIT):
            shown = repr(value) if isinstance(value, int | float | str) else type(value).__name__
            raise ck.fail(f"scale[{n}].value", f"should be a whole number from {-SCALE_VALUE_LIMIT} to "
                          f"{SCALE_VALUE_LIMIT}, found {shown[:40]}", "number the points 1, 2, 3 ...")
        label = ck.text(entry, "label", f"scale[{n}].", required=False)
        if label is None:
            from pipeline.form.i18n import translator

            words = DEFAULT_SCALE_WORDS.get(len(top["scale"]))
            labelled = any(isinstance(e, dict) and e.get("label") is not None for e in top["scale"])
            if words is None or labelled:  # default words for the whole scale, or none: a half-labelled scale is a slip
                raise ck.fail(f"scale[{n}].label", "is missing", "give every point a label, e.g. 'label: Mostly'")
            label = translator(language)(words[n])
        if len(label) > 24:
            raise ck.fail(f"scale[{n}].label", f"'{label}' is too long to sit under a box ({len(label)} characters)",
                          "keep scale labels to 24 characters or fewer")
        scale_points.append(ScalePoint(value, label))
    values = [p.value for p in scale_points]
    if not 2 <= len(values) <= 7 or values != list(range(values[0], values[0] + len(values))):
        raise ck.fail("scale", f"values {values} are not 2 to 7 consecutive whole numbers",
                      "number the points in order, e.g. 1 to 5")

    return scale_points


def _parse_sections(ck: _Checker, top: dict[str, Any], seen: set[str]) -> list[Section]:
    if ("items" in top) == ("sections" in top):
        raise ck.fail("items", "a form needs either 'items' or 'sections' (not both)",
                      "list the statements under 'items:', or group them under 'sections:'")
    raw_sections = [{"items": top["items"]}] if "items" in top else ck.sequence(top["sections"], "sections")
    sections: list[Section] = []
    for s, raw_section in enumerate(raw_sections):
        where = "" if "items" in top else f"sections[{s}]."
        sec = ck.mapping(raw_section, where.rstrip(".") or "items")
        items: list[Item] = []
        for n, raw in enumerate(ck.sequence(sec.get("items"), f"{where}items")):
            entry = ck.mapping(raw, f"{where}items[{n}]")
            item_id = ck.text(entry, "id", f"{where}items[{n}].")
            text = ck.text(entry, "text", f"{where}items[{n}].")
            picture = ck.text(entry, "picture", f"{where}items[{n}].", required=False)
            assert item_id is not None and text is not None
            if picture is not None:
                from pipeline.form.pictures import PICTURES

                if picture not in PICTURES:
                    raise ck.fail(f"{where}items[{n}].picture", f"'{picture}' is not one of the pictures",
                                  f"use one of: {', '.join(sorted(PICTURES))}, or leave it out")
            if not ITEM_ID_RE.match(item_id):
                raise ck.fail(f"{where}items[{n}].id", f"'{item_id}' is not a valid id",
                              "use a capital letter then up to 7 capitals or digits, e.g. S01")
            if item_id in seen:
                raise ck.fail(f"{where}items[{n}].id", f"'{item_id}' is used twice", "give every item its own id")
            seen.add(item_id)
            items.append(Item(item_id, text, picture))
        heading = ck.text(sec, "heading", where, required=False) if "items" not in top else None
        intro = ck.text(sec, "intro", where, required=False) if "items" not in top else None
        sections.append(Section(heading, intro, tuple(items)))

    return sections


def _parse_free_text(ck: _Checker, top: dict[str, Any], seen: set[str]) -> list[FreeText]:
    free: list[FreeText] = []
    for n, raw in enumerate(top.get("free_text") or []):
        entry = ck.mapping(raw, f"free_text[{n}]")
        fid = ck.text(entry, "id", f"free_text[{n}].")
        prompt = ck.text(entry, "prompt", f"free_text[{n}].")
        assert fid is not None and prompt is not None
        if not ITEM_ID_RE.match(fid):
            raise ck.fail(f"free_text[{n}].id", f"'{fid}' is not a valid id", "use e.g. C1")
        if fid in seen:
            raise ck.fail(f"free_text[{n}].id", f"'{fid}' is used twice", "give every field its own id")
        seen.add(fid)
        lines = entry.get("lines", 6)
        if not isinstance(lines, int) or isinstance(lines, bool) or not 2 <= lines <= 20:
            raise ck.fail(f"free_text[{n}].lines", f"should be a whole number from 2 to 20, found {_shown(lines)}",
                          "say how many writing lines to print, e.g. 'lines: 6'")
        free.append(FreeText(fid, prompt, lines))

    return free


def _parse_adopted(ck: _Checker, top: dict[str, Any], source: str) -> Form:
    """An adopted form: its questions and fields come with their measured geometry (see `form.adopted`).

    The rest of the pipeline sees ordinary items: a "choose one" question is one item, a "choose any"
    question one item per box (`<id>_<value>`, answered 1 or 0); the scale runs over every value used."""
    known = {"id", "version", "title", "audience", "introduction", "instructions", "adopted", "questions",
             "fields", "closing", "source"}
    for key in top:
        if key not in known:
            raise ck.fail(str(key), "is not a known field of an adopted form",
                          f"remove it or correct the spelling; known fields: {', '.join(sorted(known))}")
    form_id = ck.text(top, "id", "") or ""
    if not FORM_ID_RE.match(form_id):
        raise ck.fail("id", f"'{form_id}' is not a valid form id",
                      "use 2-48 lower-case letters, digits and hyphens, e.g. member-survey")
    version = top.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= 9999:
        raise ck.fail("version", f"should be a whole number from 1 to 9999, found {_shown(version)}",
                      "write e.g. 'version: 1' and raise it whenever the printed form changes")
    geometry = parse_geometry(top, source)
    items: list[Item] = []
    labels: dict[int, set[str]] = {}
    for q in geometry.questions:
        if q.kind == "one":
            items.append(Item(q.id, q.text))
            for b in q.boxes:
                labels.setdefault(b.value, set()).add(b.label)
        else:
            items.extend(Item(q.item_of(b), f"{q.text}: {b.label or f'box {b.value}'}") for b in q.boxes)
    if any(q.kind == "any" for q in geometry.questions):
        labels.setdefault(1, {"marked"})  # a "choose any" box: 1 marked, 0 not (0 is no point of the scale)
    # one shared label per value when every question agrees on it, else the number itself
    scale = tuple(ScalePoint(v, next(iter(ls)) if len(ls) == 1 and next(iter(ls)) else str(v))
                  for v, ls in sorted(labels.items()))
    raw_instr = top.get("instructions") or []
    instructions = tuple(ck.text({"i": v}, "i", f"instructions[{n}]") or ""
                         for n, v in enumerate(raw_instr if isinstance(raw_instr, list) else [raw_instr]))
    audience = ck.text(top, "audience", "", required=False) or "other"
    if audience not in AUDIENCES:
        raise ck.fail("audience", f"'{audience}' is not one of {', '.join(AUDIENCES)}", "pick one of those")
    return Form(
        id=form_id, version=version, title=ck.text(top, "title", "", required=False) or form_id,
        audience=audience, introduction=ck.text(top, "introduction", "", required=False) or "",
        instructions=instructions, scale=scale, sections=(Section(None, None, tuple(items)),),
        free_text=tuple(FreeText(f.id, f.prompt, 2) for f in geometry.fields),
        closing=ck.text(top, "closing", "", required=False), source=ck.text(top, "source", "", required=False),
        adopted=geometry,
    )


def load_form_file(path: Path) -> Form:
    """A form file, checked against its name: `<id>.yaml`; `<id>@<version>.yaml` for an older version kept
    for returns printed before a wording change; `<id>.<language>.yaml` (or `<id>@<version>.<language>.yaml`)
    for a translation of the same form and version (loaded through `form.yamlfile`: bounded, plain, UTF-8)."""
    form = parse_form(load_yaml(path), str(path))
    base, _, language = path.stem.partition(".")
    expected, _, kept_version = base.partition("@")
    suffix = f".{form.language}" if language else ""
    if form.id != expected:
        name = f"{form.id}@{form.version}{suffix}.yaml" if kept_version else f"{form.id}{suffix}.yaml"
        raise FormDefinitionError(f"{path}: field 'id': '{form.id}' does not match the file name",
                                  f"name the file {name} or set 'id: {expected}'")
    if kept_version and kept_version != str(form.version):
        raise FormDefinitionError(f"{path}: field 'version': {form.version} does not match the file name "
                                  f"(version {kept_version})",
                                  f"name the file {form.id}@{form.version}{suffix}.yaml or set "
                                  f"'version: {kept_version}'")
    if language and language != form.language:
        raise FormDefinitionError(f"{path}: field 'language': '{form.language}' does not match the file name",
                                  f"a translation is named <id>.<language>.yaml: set 'language: {language}' or "
                                  f"rename the file {form.id}.{form.language}.yaml")
    return Form(**{**form.__dict__, "path": path, "translated": bool(language)})


def _load_dir(folder: Path) -> list[Form]:
    """Every form file in a folder (`<id>@<version>.yaml` files are older versions kept for old returns)."""
    return [load_form_file(path) for path in sorted(folder.glob("*.yaml"))]


def _refuse_adopted_over_bundled(bundled: list[Form], own: list[Form]) -> None:
    """An adopted form may not take a bundled form's id: it would read that form's own returns by the wrong
    geometry (and the ledger keeps what it read).  The folder's file is named, with the way out."""
    ids = {f.id for f in bundled if f.adopted is None}
    for form in own:
        if form.adopted is not None and form.id in ids:
            raise FormDefinitionError(f"{form.path}: the adopted form '{form.id}' has the id of a form PaperVoice "
                                      "prints itself, and would take over its returns",
                                      f"give the adopted form its own id: rename the file and its 'id:' line, "
                                      f"e.g. {form.id}-paper")


class FormRegistry:
    """All forms known to this installation, looked up by id and version.

    Older versions stay loadable (as `<id>@<version>.yaml` files) so returns
    printed before a wording change can still be scanned.
    """

    def __init__(self, forms: list[Form], dirs: tuple[Path, ...] = ()) -> None:
        self.dirs = dirs  # where the forms came from, so worker processes can load the same ones
        self._forms: dict[tuple[str, int], Form] = {}
        self._translations: dict[tuple[str, int, str], Form] = {}
        for form in forms:
            if form.translated:
                self._translations[(form.id, form.version, form.language)] = form
                continue
            key = (form.id, form.version)
            if key in self._forms:
                raise FormDefinitionError(f"{form.path}: form {form.id} version {form.version} is defined twice",
                                          "raise the version number in the newer file")
            self._forms[key] = form
        from pipeline.form.translate import check_translation

        for (form_id, version, _), translation in self._translations.items():
            base = self._forms.get((form_id, version))
            if base is None:
                raise FormDefinitionError(f"{translation.path}: a translation of {form_id} version {version}, "
                                          "which is not defined", f"add forms/{form_id}.yaml, or correct the id "
                                          "and version to those of the form it translates")
            check_translation(base, translation)

    @classmethod
    def from_dirs(cls, dirs: list[Path] | None = None) -> FormRegistry:
        """The bundled forms and the forms in `dirs` (`--forms-dir`).

        A folder adds forms; it never hides the bundled ones, so a batch that mixes our own checklists with
        an adopted form reads both.  A folder's form of the same id and version replaces the bundled one."""
        bundled = BUNDLED_FORMS_DIR.resolve()
        extra = [Path(d) for d in (dirs or []) if Path(d).resolve() != bundled]
        own = [form for d in extra for form in _load_dir(Path(d))]
        replaced = {(f.id, f.version, f.translated and f.language) for f in own}
        own_bases = {(f.id, f.version) for f in own if not f.translated}
        # a folder's own version of a form also replaces the bundled translations of it (they translate ours)
        ours = _load_dir(bundled)
        _refuse_adopted_over_bundled(ours, own)
        forms = [f for f in ours if (f.id, f.version, f.translated and f.language) not in replaced
                 and not (f.translated and (f.id, f.version) in own_bases)] + own
        return cls(forms, (bundled, *extra))

    @property
    def has_adopted(self) -> bool:
        """Some form here was adopted: pages with no PaperVoice code may be its returns."""
        return any(form.adopted is not None for form in self._forms.values())

    def all(self) -> list[Form]:
        return sorted(self._forms.values(), key=lambda f: (f.id, f.version))

    def latest(self, form_id: str) -> Form:
        versions = [f for (fid, _), f in self._forms.items() if fid == form_id]
        if not versions:
            known = ", ".join(sorted({fid for fid, _ in self._forms})) or "none"
            raise UnknownFormError(f"no form called '{form_id}'", f"use one of: {known} (see 'papervoice forms')")
        return max(versions, key=lambda f: f.version)

    def get(self, form_id: str, version: int | None = None) -> Form:
        if version is None:
            return self.latest(form_id)
        form = self._forms.get((form_id, version))
        if form is None:
            self.latest(form_id)  # raises for an unknown id
            raise UnknownFormError(f"form '{form_id}' has no version {version}",
                                   f"add the old definition as forms/{form_id}@{version}.yaml")
        return form

    def find(self, form_id: str, version: int, language: str | None = None) -> Form | None:
        """A form by id and version; with `language`, that language of it (None when it has none)."""
        form = self._forms.get((form_id, version))
        if form is None or language is None or language == form.language:
            return form
        from pipeline.form.translate import bilingual

        parts = language.split("+")
        found = [form if p == form.language else self._translations.get((form_id, version, p)) for p in parts]
        if any(f is None for f in found):
            return None
        return found[0] if len(found) == 1 else bilingual(found[0], found[1])  # type: ignore[arg-type]

    def languages(self, form_id: str, version: int) -> list[str]:
        """The languages a form version can be printed in: its own first, then its translations."""
        form = self._forms.get((form_id, version))
        if form is None:
            return []
        return [form.language, *sorted(lang for (fid, v, lang) in self._translations if (fid, v) == (form_id, version))]

    def in_language(self, form: Form, language: str | None) -> Form:
        """`form` in `language` ('cy', or 'cy+en' for a bilingual print), or a clear error naming what exists."""
        if language is None or language == form.language:
            return form
        found = self.find(form.id, form.version, language)
        if found is None:
            have = ", ".join(self.languages(form.id, form.version)) or form.language
            raise UnknownFormError(f"form '{form.id}' version {form.version} has no '{language}' translation "
                                   f"(it has: {have})",
                                   f"add forms/{form.id}.{language.split('+')[0]}.yaml with the same id, version "
                                   "and item ids, and the wording translated")
        return found
