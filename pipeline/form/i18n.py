"""The fixed printed text of a form, in the respondent's language.

Every string PaperVoice itself prints (instructions heading, the examples, the
page footer, default scale words, the "other formats and languages" block, the
small print) is a gettext message (`tr("...")` in the layout), kept in one
catalogue per language under `pipeline/locale/<lang>/LC_MESSAGES/papervoice.po`,
managed with Babel (`make catalogues`: pybabel extract, update, compile).  The
`.po` files are read with Babel at run time, so a translator's edit takes effect
without a build step; a catalogue's header says whether a fluent speaker has
checked it.

A bilingual print ("cy+en") gives each fixed text in both languages, the first
language first, as Welsh public bodies print them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pipeline.errors import UsageError

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
DOMAIN = "papervoice"
SOURCE_LANGUAGE = "en"

RTL_LANGUAGES = frozenset({"ur", "ar", "fa", "he", "ps", "ckb", "ug", "yi", "dv", "sd"})


def N_(text: str) -> str:
    """Marks a message for the catalogue where it is defined; it is translated where it is printed."""
    return text


def check_language(code: str) -> str:
    """A language code a form or `--language` may use: one language, or two joined by '+' (bilingual)."""
    parts = code.split("+")
    if len(parts) > 2 or not all(is_language_code(p) for p in parts) or len(set(parts)) != len(parts):
        raise UsageError(f"'{code}' is not a language code",
                         "use a two- or three-letter ISO 639 code in lower case (cy Welsh, ur Urdu, pa Punjabi, "
                         "bn Bengali, pl Polish ...), or two joined by '+' for a bilingual print, e.g. cy+en")
    return code


def is_language_code(code: str) -> bool:
    """A two- or three-letter ISO 639 code in lower case ('cy', 'ur', 'ti')."""
    return 2 <= len(code) <= 3 and code.isascii() and code.isalpha() and code.islower()


@cache
def _messages(language: str) -> dict[str, str] | None:
    """The catalogue of `language` (msgid → translation), or None when there is none."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():
        return None
    from babel.messages.pofile import read_po

    with path.open("rb") as fh:
        catalog = read_po(fh, locale=language, domain=DOMAIN)
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}


def has_catalogue(language: str) -> bool:
    return language == SOURCE_LANGUAGE or _messages(language) is not None


def catalogue_languages() -> list[str]:
    found = [p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")]
    return sorted({SOURCE_LANGUAGE, *found})


@dataclass(frozen=True)
class Translator:
    """Fixed text in one language (or two, for a bilingual print).  Callable like gettext: tr("...")."""

    language: str = SOURCE_LANGUAGE

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.language.split("+"))

    def one(self, language: str, msgid: str, **values: object) -> str:
        table = _messages(language) if language != SOURCE_LANGUAGE else None
        text = (table or {}).get(msgid, msgid)
        return text.format(**values) if values else text

    def __call__(self, msgid: str, **values: object) -> str:
        texts = [self.one(lang, msgid, **values) for lang in self.languages]
        return "\n".join(dict.fromkeys(texts))  # a bilingual print of a word both languages share prints it once

    def missing(self) -> list[str]:
        """Languages of this print with no catalogue: their fixed text would print in English."""
        return [lang for lang in self.languages if not has_catalogue(lang)]


def translator(language: str) -> Translator:
    return Translator(language)


def language_name(code: str) -> str:
    """A language's name in English, for the office's pages ('cy' -> 'Welsh'; an unknown code as it is)."""
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(code).get_display_name("en") or code
    except (ValueError, UnknownLocaleError):
        return code


def text_direction(code: str) -> str:
    """'rtl' for a language written right to left, else 'ltr' (the HTML dir attribute of text in it)."""
    return "rtl" if code.split("-")[0] in RTL_LANGUAGES else "ltr"
