"""Every script printed right or refused: the check `generate` makes before it draws anything.

A form's text is set word by word in the face of its script (`fonts`).  A
character no installed face can draw would print as an empty box; a joined or
reordered script without the shaper would print as unjoined letters in the wrong
order.  Either is refused here, naming the form file, the field and the
characters, with what to do: never a print that looks right to the office and
is unreadable to the respondent.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipeline.errors import FormDefinitionError
from pipeline.form.definition import Form
from pipeline.form.fonts import unprintable
from pipeline.form.i18n import translator


def _fields(form: Form) -> Iterator[tuple[str, str]]:
    """(field, text) for every text of the form file, named as the file names them."""
    yield "title", form.title
    yield "introduction", form.introduction
    for n, text in enumerate(form.instructions):
        yield f"instructions[{n}]", text
    for n, point in enumerate(form.scale):
        yield f"scale[{n}].label", point.label
    for s, section in enumerate(form.sections):
        where = f"sections[{s}]." if len(form.sections) > 1 or section.heading else ""
        if section.heading:
            yield f"{where}heading", section.heading
        if section.intro:
            yield f"{where}intro", section.intro
        for item in section.items:
            yield f"{where}items ({item.id}).text", item.text
    for ft in form.free_text:
        yield f"free_text ({ft.id}).prompt", ft.prompt
    if form.closing:
        yield "closing", form.closing
    if form.contact:
        yield "contact", form.contact


def _fixed_texts(form: Form) -> Iterator[str]:
    tr = translator(form.language)
    for msgid in ("How to fill in this form", "This is my answer", "Filled in: I changed my mind, ignore this box",
                  "Other formats and languages"):
        yield tr(msgid)
    yield tr("Page {page} of {pages} - continues on the next page", page=1, pages=2)


def check_printable(form: Form, style: str = "standard") -> None:
    """Raise `FormDefinitionError` (exit 2) for the first field with text that cannot be printed right."""
    where = str(form.path) if form.path else form.id
    for name, text in _fields(form):
        problem = unprintable(text)
        if problem:
            chars, why = problem
            raise FormDefinitionError(
                f"{where}: field '{name}' has characters that cannot be printed right: {chars!r}: {why}",
                "install the typeface for this script (Debian: fonts-noto-core; see scripts/setup.sh) and the "
                "shaping library (pip install uharfbuzz), or remove the characters; nothing was printed")
    for text in _fixed_texts(form):
        problem = unprintable(text)
        if problem:
            raise FormDefinitionError(
                f"the '{form.language}' catalogue has text that cannot be printed right: {problem[0]!r}: {problem[1]}",
                "install the typeface for this script (Debian: fonts-noto-core), or correct the catalogue")
