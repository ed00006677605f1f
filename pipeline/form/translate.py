"""One survey, several languages.

A translation is the same form, id and version, in another language: its file
`forms/<id>.<language>.yaml` carries the wording; the item ids, scale values and
free-text fields are those of the form it translates, so Welsh and English
returns land in one Responses sheet with one column set.  Which language a copy
was printed in is recorded with its serials (the print batch) and carried in its
codes, so the scanner reads each page by the layout it was printed from.
"""

from __future__ import annotations

from dataclasses import replace

from pipeline.errors import FormDefinitionError
from pipeline.form.definition import Form, FreeText, Item, ScalePoint, Section


def check_translation(base: Form, translation: Form) -> None:
    """A translation must ask the same questions in the same order, or the returns would not line up."""
    where = translation.path or translation.id

    def fail(what: str, theirs: object, ours: object) -> FormDefinitionError:
        return FormDefinitionError(
            f"{where}: the {what} differ from {base.path.name if base.path else base.id} ({theirs} here, {ours} "
            "there)", "a translation keeps every id, scale value and field of the form it translates; "
            "translate only the wording")

    if [i.id for i in translation.items] != [i.id for i in base.items]:
        raise fail("item ids", [i.id for i in translation.items], [i.id for i in base.items])
    if translation.scale_values != base.scale_values:
        raise fail("scale values", list(translation.scale_values), list(base.scale_values))
    if [f.id for f in translation.free_text] != [f.id for f in base.free_text]:
        raise fail("free-text fields", [f.id for f in translation.free_text], [f.id for f in base.free_text])
    if translation.audience != base.audience:
        raise fail("audience", translation.audience, base.audience)


def _both(a: str | None, b: str | None) -> str | None:
    if not a or not b:
        return a or b
    return a if a == b else f"{a}\n{b}"


def bilingual(first: Form, second: Form) -> Form:
    """Both languages on one print, the first above the second in every statement, label and text (as Welsh
    public bodies print): one copy anyone can answer in either language.  Same ids, so it reads and exports
    like either."""
    sections = tuple(
        Section(_both(s1.heading, s2.heading), _both(s1.intro, s2.intro),
                tuple(Item(i1.id, _both(i1.text, i2.text) or "", i1.picture or i2.picture)
                      for i1, i2 in zip(s1.items, s2.items, strict=True)))
        for s1, s2 in zip(first.sections, second.sections, strict=True)
    ) if len(first.sections) == len(second.sections) else (
        Section(None, None, tuple(Item(i1.id, _both(i1.text, i2.text) or "", i1.picture or i2.picture)
                                  for i1, i2 in zip(first.items, second.items, strict=True))),)
    return replace(
        first,
        title=_both(first.title, second.title) or "",
        introduction=_both(first.introduction, second.introduction) or "",
        instructions=tuple(_both(a, b) or "" for a, b in zip(first.instructions, second.instructions, strict=False))
        + first.instructions[len(second.instructions):],
        scale=tuple(ScalePoint(p.value, _both(p.label, q.label) or "")
                    for p, q in zip(first.scale, second.scale, strict=True)),
        sections=sections,
        free_text=tuple(FreeText(f.id, _both(f.prompt, g.prompt) or "", f.lines)
                        for f, g in zip(first.free_text, second.free_text, strict=True)),
        closing=_both(first.closing, second.closing),
        language=f"{first.language}+{second.language}",
        contact=first.contact or second.contact,
        translation_status=first.translation_status or second.translation_status,
    )
