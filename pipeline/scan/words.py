"""Word-list correction of a handwriting reading: an engine's misread cursive letter put right from an English
word list (OCR post-correction).

Joined hands are misread a letter at a time - "uhat" for what, "thiny" for thing, "anl" for and, "ashed" for
asked - and the misread word is usually not a word.  So a word the list does not know is replaced by a listed
word that a few likely misreadings of the writing would give, ranked as a noisy channel: the listed word's
frequency against the cost of the misreadings that turn it into what was read (`CONFUSIONS`, the letter pairs
a cursive hand blurs, cost little; any other edit costs much).  It is replaced only when one word wins
clearly; otherwise the reading stays as read, for a person to put right in review.

Left alone, because a person would not want them "corrected": words the list knows (and their British
spellings: the list, pyspellchecker's English one, is American; a correction writes the British form), words
made of a known word and a prefix such as co- or well-, words with digits or apostrophes (each part of a
hyphenated word is taken on its own), capitalised words inside a sentence (names, places), words in capitals
(hand-printed names and addresses), lone letters, and short words unless one look-alike letter makes them a
common word.  The word list ships inside the pyspellchecker wheel (pure Python, MIT); without it installed,
nothing is corrected.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import re
from array import array
from functools import cache
from importlib import resources
from itertools import combinations, product
from types import ModuleType

import numpy as np

from pipeline import constants as C

# letters a joined hand's strokes make look alike, as (written, read) both ways: u/w, y/g, h/k, l/d, o/s, c/e,
# n/u, a/u, l/t, l/b, n/r, r/k, r/h, o/a, g/s, e/o, b/t, l/i, o/c, v/u, a/e (seen in the bench's readings)
_PAIRS = ("uw", "yg", "hk", "ld", "os", "ce", "nu", "au", "lt", "lb", "nr", "rk", "rh", "oa", "gs", "eo", "bt", "li",
          "oc", "vu", "ae")
CONFUSIONS: dict[str, frozenset[str]] = {
    letter: frozenset({p[1] for p in _PAIRS if p[0] == letter} | {p[0] for p in _PAIRS if p[1] == letter})
    for letter in sorted({c for pair in _PAIRS for c in pair})}
# a letter read as two (or two as one): m as in/rn, d as cl, w as iu
_SPLITS = {"m": ("in", "rn", "iu"), "d": ("cl",), "w": ("iu",)}

# British spellings the American list lacks; each maps to its American twin (checked against the list) and
# is the form a correction writes (PaperVoice reads UK forms)
_BRITISH = (
    "neighbour", "neighbours", "neighbourhood", "colour", "colours", "coloured", "favour", "favourite", "favourites",
    "behaviour", "behaviours", "honour", "humour", "labour", "rumour", "flavour", "harbour", "odour", "endeavour",
    "centre", "centres", "centred", "theatre", "metre", "metres", "litre", "litres", "fibre", "programme", "programmes",
    "organise", "organised", "organising", "organisation", "organisations", "recognise", "recognised",
    "realise", "realised", "apologise", "apologised", "prioritise", "specialise", "specialised", "emphasise",
    "criticise", "criticised", "summarise", "minimise", "personalise", "personalised", "authorise", "finalise",
    "utilise", "analyse", "analysed", "paralysed", "counselling", "counsellor", "cancelling", "modelling",
    "labelled", "licence", "defence", "offence", "paediatric", "anaemia", "orthopaedic", "haemorrhage",
    "oesophagus", "diarrhoea", "manoeuvre", "cheque", "tyre", "tyres", "jewellery", "catalogue", "dialogue",
    "judgement", "enrol", "fulfil", "skilful", "aluminium", "mould", "storey", "pyjamas", "sceptical", "grey")
# how an American list spells what a British hand writes: (British, American, what must follow), one place at a
# time (organisational, neighbourhoods, travelled, centre, paediatric); used to know a word, never to write one
_SPELLINGS = (("our", "or", r"(?=[a-z]*$)"), ("is", "iz", r"(?=[eai])"), ("ys", "yz", r"(?=[ei])"),
              ("tre", "ter", r"(?=s?$)"), ("tred", "tered", "$"), ("tring", "tering", "$"),
              ("bre", "ber", r"(?=[sd]?$)"), ("ll", "l", r"(?=[ei])"),
              ("ogue", "og", r"(?=s?$)"), ("ence", "ense", r"(?=s?$)"), ("amme", "am", r"(?=s?$)"),
              ("ae", "e", ""), ("oe", "e", ""))
# prefixes that make a word of a word (coproduction, wellbeing): prefix + a known word is known
_PREFIXES = ("co", "re", "pre", "non", "un", "over", "under", "self", "well", "multi", "inter", "sub", "anti",
             "post", "mis", "out", "cross", "semi")
# a word may have been written (or read) without its apostrophe: dont, doesnt, theyll
_APOSTROPHE_ENDINGS = ("t", "s", "d", "m", "ll", "re", "ve")
_LEAST_WORDS = 20_000  # fewer words read from the list's file than this: its layout changed, use its own loader
_WORD = re.compile(r"^(\W*)([A-Za-z]+(?:-[A-Za-z]+)*)(\W*)$")  # a word, or words joined by hyphens
_IZE = re.compile(r"^([a-z]+)iz(e|ed|es|ing|ation|ations|ational|er|ers)$")
_SENTENCE_END = re.compile(r"[.!?]\W*$")


@cache
def _lists() -> tuple[dict[str, int], np.ndarray] | None:
    """The English word list: the words counted at least `OCR_WORD_KNOWN_MIN_COUNT` times (about 47,000 of
    its 160,000) with their counts, British spellings added at their American twin's count; and the rarely
    counted rest (mostly misspellings, but also stakeholders, facilitator) as sorted 64-bit hashes.  None when
    pyspellchecker is not installed (then nothing is corrected)."""
    try:
        import spellchecker
    except ImportError:
        return None
    counts, rare = _listed(spellchecker)
    for word, n in list(counts.items()):  # organize, organization: organise, organisation
        if (m := _IZE.match(word)) and len(m[1]) >= C.OCR_WORD_ISE_MIN_STEM_LETTERS:
            counts.setdefault(_ise(word), n)
    for word in _BRITISH:
        twin = next((us for us in american(word) if us in counts), None)
        counts[word] = counts[twin] if twin else C.OCR_WORD_KNOWN_MIN_COUNT
    return counts, np.unique(np.frombuffer(rare, dtype=np.uint64))


def _counts() -> dict[str, int] | None:
    lists = _lists()
    return lists[0] if lists else None


def _hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")


def _rarely_listed(word: str) -> bool:
    """The list has this word, counted fewer than `OCR_WORD_KNOWN_MIN_COUNT` times."""
    lists = _lists()
    if lists is None:
        return False
    rare, h = lists[1], np.uint64(_hash(word))
    i = int(np.searchsorted(rare, h))
    return i < len(rare) and rare[i] == h


def _listed(spellchecker: ModuleType) -> tuple[dict[str, int], array[int]]:
    """The list's words, well counted (with counts) and rare, picked from its file as it is read: loading the
    whole list as pyspellchecker does leaves each scan worker 23 MB bigger, this about 7 MB (measured).  The
    file's layout is pyspellchecker 0.9.1's (pinned); another layout falls back to its own loader."""
    least = C.OCR_WORD_KNOWN_MIN_COUNT
    counts: dict[str, int] = {}
    rare = array("Q")  # their hashes
    try:
        text = gzip.decompress((resources.files(spellchecker) / "resources" / "en.json.gz").read_bytes())
        for m in re.finditer(rb'"([a-z\']+)": (\d+)', text):
            if (n := int(m[2])) >= least:
                counts[m[1].decode()] = n
            else:
                rare.append(_hash(m[1].decode()))
    except OSError:
        pass
    if len(counts) < _LEAST_WORDS:
        listed = spellchecker.SpellChecker(language="en", distance=1).word_frequency.dictionary
        counts = {w: n for w, n in listed.items() if n >= least}
        rare = array("Q", (_hash(w) for w, n in listed.items() if n < least))
    return counts, rare


@cache
def _american_twins() -> frozenset[str]:
    """The American spellings of `_BRITISH` and of the -ise words: known words, but never what a correction
    writes."""
    counts = _counts() or {}
    ise = {w for w in counts if _IZE.match(w) and _ise(w) in counts}
    return frozenset(us for word in _BRITISH for us in american(word)[1:] if us in counts) | ise


def _ise(word: str) -> str:
    m = _IZE.match(word)
    return f"{m[1]}is{m[2]}" if m else word


def american(word: str) -> list[str]:
    """The American spellings a British word could have (itself included): each British spelling in it made
    American, one at a time and all at once."""
    out, every = [word], word
    for british, us, after in _SPELLINGS:
        pattern = re.compile(re.escape(british) + after)
        out += [word[: m.start()] + us + word[m.end():] for m in pattern.finditer(word, 1)]
        every = every[:1] + pattern.sub(us, every[1:])
    return list(dict.fromkeys([*out, every]))


def known(word: str) -> bool:
    """The list knows this (lower-case) word well enough to leave it alone, in either spelling, or it is a
    known word with a prefix that makes words of words (coproduction)."""
    counts = _counts() or {}

    def listed(w: str) -> bool:
        return w in _BRITISH or any(counts.get(form, 0) >= C.OCR_WORD_KNOWN_MIN_COUNT for form in american(w))

    return listed(word) or any(word.startswith(p) and len(word) - len(p) >= C.OCR_WORD_PREFIXED_MIN_LETTERS
                               and listed(word[len(p):]) for p in _PREFIXES)


def _confusion_variants(word: str, most: int) -> set[str]:
    """The word with up to `most` of its letters swapped for letters a cursive hand confuses them with."""
    out = set()
    places = [i for i, c in enumerate(word) if c in CONFUSIONS]
    for n in range(1, min(most, len(places)) + 1):
        for chosen in combinations(places, n):
            for letters in product(*(CONFUSIONS[word[i]] for i in chosen)):
                chars = list(word)
                for i, c in zip(chosen, letters, strict=True):
                    chars[i] = c
                out.add("".join(chars))
    for i, c in enumerate(word):
        for whole, pieces in _SPLITS.items():
            if c == whole:
                out.update(word[:i] + p + word[i + 1:] for p in pieces)
            out.update(word[:i] + whole + word[i + len(p):] for p in pieces if word.startswith(p, i))
    return out


def _one_edit(word: str) -> set[str]:
    """Every string one letter dropped, swapped with its neighbour, changed or added away."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    dropped = {a + b[1:] for a, b in splits if b}
    swapped = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    changed = {a + c + b[1:] for a, b in splits if b for c in letters}
    return dropped | swapped | changed | {a + c + b for a, b in splits for c in letters}


def cost(read: str, word: str) -> float:
    """What it costs (natural-log units of unlikelihood) for `word` written to be read as `read`: weighted edit
    distance, a cursive confusion `OCR_WORD_CONFUSION_COST`, a letter read as two (or two as one)
    `OCR_WORD_SPLIT_COST`, any other edit `OCR_WORD_EDIT_COST`."""
    n, m = len(word), len(read)
    d = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        d[i][0] = i * C.OCR_WORD_EDIT_COST
    for j in range(1, m + 1):
        d[0][j] = j * C.OCR_WORD_EDIT_COST
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            w, r = word[i - 1], read[j - 1]
            sub = 0.0 if w == r else C.OCR_WORD_CONFUSION_COST if r in CONFUSIONS.get(w, ()) else C.OCR_WORD_EDIT_COST
            best = min(d[i - 1][j - 1] + sub, d[i - 1][j] + C.OCR_WORD_EDIT_COST, d[i][j - 1] + C.OCR_WORD_EDIT_COST)
            for p in _SPLITS.get(w, ()):
                if j >= len(p) and read[j - len(p):j] == p:
                    best = min(best, d[i - 1][j - len(p)] + C.OCR_WORD_SPLIT_COST)
            for p in _SPLITS.get(r, ()):  # two letters written, read as one
                if i >= len(p) and word[i - len(p):i] == p:
                    best = min(best, d[i - len(p)][j - 1] + C.OCR_WORD_SPLIT_COST)
            if i > 1 and j > 1 and w == read[j - 2] and word[i - 2] == r:
                best = min(best, d[i - 2][j - 2] + C.OCR_WORD_EDIT_COST)
            d[i][j] = best
    return d[n][m]


#: the language the word list is of: only writing on a copy printed in it alone is corrected
LIST_LANGUAGE = "en"


def corrects(language: str) -> bool:
    """Whether a comment on a copy printed in `language` ('en', 'cy', 'cy+en') is put right from the list.
    Welsh (or any other) writing is not English misread, and on a bilingual copy either may be written: left
    as read, for a person to check as before."""
    return language == LIST_LANGUAGE


def best_word(read: str) -> str | None:
    """The listed word that `read` (lower case, letters only) clearly is, or None to leave it as read."""
    counts = _counts()
    if counts is None or known(read):
        return None
    short = len(read) <= C.OCR_WORD_SHORT_MAX_LETTERS
    pool = _confusion_variants(read, C.OCR_WORD_MAX_CONFUSIONS)
    if not short:
        first = _one_edit(read)
        pool |= first | {v for w in first for v in _confusion_variants(w, 1)}
    scored = []
    twins = _american_twins()
    for word in pool:
        count = counts.get(word, 0)
        if count < C.OCR_WORD_KNOWN_MIN_COUNT or word in twins:
            continue
        if short and count < C.OCR_WORD_SHORT_MIN_COUNT:
            continue  # "nl" is not "ni": a short word becomes only a common one
        c = cost(read, word)
        if c <= C.OCR_WORD_MAX_COST and (not short or c <= C.OCR_WORD_SHORT_MAX_COST):
            scored.append((C.OCR_WORD_FREQUENCY_WEIGHT * math.log(count) - c, word))
    for end in _APOSTROPHE_ENDINGS:  # doesnt: doesn't
        word = f"{read[: -len(end)]}'{end}"
        if len(read) > len(end) + 1 and read.endswith(end) and counts.get(word, 0) >= C.OCR_WORD_KNOWN_MIN_COUNT:
            scored.append((C.OCR_WORD_FREQUENCY_WEIGHT * math.log(counts[word]) - C.OCR_WORD_CONFUSION_COST, word))
    if _rarely_listed(read):  # listed, but rarely ("ashed"): it may be what was written
        scored.append((C.OCR_WORD_FREQUENCY_WEIGHT * math.log(C.OCR_WORD_RARE_COUNT), read))
    if not scored:
        return None
    scored.sort(reverse=True)
    top, word = scored[0]
    if word == read or (len(scored) > 1 and top - scored[1][0] < C.OCR_WORD_CLEAR_MARGIN):
        return None
    return word


def correct_text(text: str) -> tuple[str, int]:
    """The text with clearly misread words put right, and how many were; lines, spaces, case and punctuation
    kept."""
    out_lines, changed, sentence_start = [], 0, True
    for line in text.split("\n"):
        out = []
        prose = sum(bool(re.fullmatch(r"\W*[a-z]{2,}\W*", t)) for t in line.split()) >= 2
        for token in line.split(" "):
            fixed = _token(token, sentence_start, prose)
            changed += fixed != token
            out.append(fixed)
            if token.strip():
                sentence_start = bool(_SENTENCE_END.search(token))
        out_lines.append(" ".join(out))
    return "\n".join(out_lines), changed


def _token(token: str, sentence_start: bool, prose: bool) -> str:
    """One word put right, or as it was; `prose`: its line is running lower-case writing, not capitals."""
    match = _WORD.match(token)
    if match is None:
        return token
    before, core, after = match.groups()
    if core == "T" and prose and not before and after in ("", ","):  # a joined I read as T ("so T had")
        return "I" + after
    if "-" in core:  # person-centrel: each part on its own, as if it began the sentence only if the whole did
        parts = core.split("-")
        fixed = [_token(p, sentence_start and i == 0, prose) for i, p in enumerate(parts)]
        return before + "-".join(fixed) + after
    if len(core) < C.OCR_WORD_MIN_LETTERS:
        return token  # a lone letter says too little to correct
    if core.islower():
        capital = False
    elif sentence_start and core[0].isupper() and core[1:].islower():
        capital = True
    else:
        return token  # a name or place inside a sentence, or capitals: as written
    word = best_word(core.lower())
    if word is None:
        return token
    if capital and (_counts() or {}).get(word, 0) < C.OCR_WORD_CAPITAL_MIN_COUNT:
        return token  # a sentence may start with a name: Rhys is not Rays, nor Zofia Sofia
    return before + (word.capitalize() if capital else word) + after
