"""The word-list correction of handwriting readings (pipeline/scan/words.py, applied in scan.handwriting):
cursive misreadings put right, and what a person would not want "corrected" left alone."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline import constants as C
from pipeline.scan import handwriting, ocr
from pipeline.scan.words import best_word, correct_text, known
from pipeline.tools.reading import OcrLine, OcrText

pytest.importorskip("spellchecker", reason="pyspellchecker is a dependency (make setup installs it)")


@pytest.mark.parametrize(("read", "written"), [
    ("They ashed uhat a good day looks like.", "They asked what a good day looks like."),  # h/k, u/w
    ("I would like to get out anl see my friendo.", "I would like to get out and see my friends."),  # l/d, o/s
    ("Staff were kind but they hept chanyiny so T", "Staff were kind but they kept changing so I"),
    ("Nobody explaired what a persoral budget was", "Nobody explained what a personal budget was"),  # r/n
    ("Uhat a good day looks like.", "What a good day looks like."),  # the capital of a sentence's first word kept
    ("a self-halp graup for person-centred care", "a self-help group for person-centred care"),  # each part
])
def test_a_cursive_misreading_is_put_right(read: str, written: str) -> None:
    assert correct_text(read)[0] == written


@pytest.mark.parametrize("text", [
    "I saw Dr Uhatley at Brockhurst on Tuesday",  # capitalised inside a sentence: names and places
    "Flat 12b, 3rd floor, room 4a",  # words with digits
    "ADAM ZAMMIT, 12 HGIH STREET",  # capitals: hand-printed names and addresses
    "he gave a hint and a nod",  # words the list knows (h/k, d/t look-alikes of kind, not)
    "my neighbour helped organise the programme at the centre and the colour of the organisational chart",
    "we recognised the coproduction of wellbeing with our neighbours",  # British forms, a prefixed word
    "my neighbor called the center",  # American spellings are words too
    "Mr T came",  # a lone T that is not a joined I
])
def test_what_a_person_would_not_want_corrected_is_left_alone(text: str) -> None:
    assert correct_text(text) == (text, 0)


def test_a_correction_writes_the_british_spelling() -> None:
    assert best_word("neighbovr") == "neighbour"
    assert known("organisations") and known("neighbourhoods") and known("travelled")
    assert not known("uhat")


def test_an_unclear_choice_is_left_as_read() -> None:
    """Two listed words equally near the reading: neither is chosen (a person types it in review)."""
    assert best_word("xqzv") is None
    assert correct_text("the zzzzzz was late") == ("the zzzzzz was late", 0)


def test_a_corrected_line_keeps_review_in_doubt() -> None:
    text = OcrText("They ashed uhat I think\nThe staff were kind", 97.0,
                   (OcrLine("They ashed uhat I think", 97.0), OcrLine("The staff were kind", 97.0)))
    fixed = handwriting.corrected(text)
    assert fixed.text == "They asked what I think\nThe staff were kind"
    assert fixed.lines[0].confidence == 97.0 - 2 * C.OCR_WORD_CORRECTED_DOUBT
    assert fixed.lines[0].confidence < C.OCR_LINE_DOUBT_CONFIDENCE  # review flags the corrected line
    assert fixed.lines[1] == text.lines[1]  # a line read right keeps the engine's confidence
    assert fixed.confidence < text.confidence
    clean = OcrText("The staff were kind", 97.0, (OcrLine("The staff were kind", 97.0),))
    assert handwriting.corrected(clean) is clean


class _Misreads(ocr.NoOcr):
    """An engine that reads any writing as a cursive misreading."""

    name = "misreads"

    def read_lines(self, image: np.ndarray) -> list[OcrLine]:
        return [OcrLine("they ashed uhat I think", 96.0)]


def test_transcribe_corrects_only_when_switched_on(monkeypatch: pytest.MonkeyPatch) -> None:
    cleaned = np.full((80, 400), 255, np.uint8)
    cleaned[30:50, 20:380] = 0
    mask = np.where(cleaned < 128, 255, 0).astype(np.uint8)
    on, _ = handwriting.transcribe(_Misreads(), cleaned, mask, [60.0], 200, correct=True)
    off, _ = handwriting.transcribe(_Misreads(), cleaned, mask, [60.0], 200, correct=False)
    assert (on.text, off.text) == ("they asked what I think", "they ashed uhat I think")
    monkeypatch.setattr(C, "OCR_WORD_CORRECTION", False)
    assert handwriting.transcribe(_Misreads(), cleaned, mask, [60.0], 200)[0].text == off.text
    monkeypatch.setattr(C, "OCR_WORD_CORRECTION", True)
    assert handwriting.transcribe(_Misreads(), cleaned, mask, [60.0], 200)[0].text == on.text


def test_a_name_opening_a_sentence_stays_as_written_while_a_common_word_is_put_right() -> None:
    """A capitalised word at a sentence's start may be a name the list lacks: it becomes only a common word."""
    assert correct_text("Rhys explained it")[0] == "Rhys explained it"  # not "Rays"
    assert correct_text("Zofia and Jerzy helped")[0] == "Zofia and Jerzy helped"  # not "Sofia"
    assert correct_text("Chey ashed uhat a good day looks like")[0] == "They asked what a good day looks like"
