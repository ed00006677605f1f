"""The simulated world: how people answer, their pens, how pages are scanned and packed.

Realistic filled-in returns, with the ground truth, for tests, `make demo` and the benchmark.

The scanner is only as good as the worst pile of paper it is shown, so this
simulates the pile: real printed copies (the generator's own PDF, rendered by
poppler as a printer would), marked by hand the way people really mark boxes
(ticks, crosses, dots, marks that run over the edge, a box filled in to cancel
it, faint pencil, two boxes at once), comments handwritten in real handwriting
typefaces on the writing lines, and then scanned badly: skewed, shifted,
shrunk to fit, slightly keystoned, on toned paper under uneven light, noisy,
blurred, JPEG-compressed, sometimes thresholded to black and white, at 150,
200 or 300 dpi, now and then upside down, packed the ways scanners pack pages
(multi-page PDFs of JPEGs, multi-page TIFFs, loose JPEG/PNG files), with blank
backs and a covering letter mixed in.

Everything is deterministic for a seed, and independent of how many worker
processes render it: each copy and each page draws from its own seeded stream.
The values here describe the simulated world, not the scanner, so they live in
this module rather than in `constants.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

# ----------------------------------------------------------------------------------------------
# The simulated world.

PRINT_DPI = 300  # the "printed" page is rendered at this resolution and marked on it
PX_PER_PT = PRINT_DPI / 72.0

# How people answer (per item, except where stated)
BLANK_ITEM_RATE = 0.04  # left the statement blank
MULTIPLE_RATE = 0.015  # marked two boxes
CANCEL_RATE = 0.03  # filled a box in to cancel it, then marked the right one
SPILL_RATE = 0.05  # a mark that runs well past the box edge
PENCIL_COPY_RATE = 0.05  # the whole copy filled in with a faint pencil
COMMENT_RATE = 0.6  # share of comment fields written in (the rest stay blank)
HABIT_KEEP_RATE = 0.8  # how often a person uses their usual mark (tick or cross) on an item

# Handwriting tiers: how hard the hand is for OCR (tier, share of writers, font files)
HANDWRITING_TIERS: dict[str, tuple[float, tuple[str, ...]]] = {
    "easy": (0.4, ("opentype/comic-neue/ComicNeue-Regular.otf", "truetype/humor-sans/Humor-Sans.ttf")),
    "middle": (0.4, ("truetype/fifthhorseman/dkg.ttf", "truetype/femkeklaver/femkeklaver.ttf",
                     "truetype/breip/Breip.ttf")),
    "hard": (0.2, ("truetype/kristi/Kristi.ttf", "opentype/dancingscript/DancingScript-Regular.otf")),
}
CAPS_ONLY_FONTS = ("Humor-Sans.ttf",)  # lower-case glyphs are small capitals: the writing reads as capitals
X_HEIGHT_RANGE = (0.2, 0.3)  # small letters' height as a share of the writing-line spacing
FONT_ROOTS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
FONT_PACKAGES = ("fonts-comic-neue fonts-humor-sans fonts-dkg-handwriting fonts-femkeklaver fonts-breip "
                 "fonts-kristi fonts-dancingscript fonts-rufscript fonts-kaushanscript")

# Packing: what a scanning session produces
COPIES_PER_FILE = (1, 5)  # a scanned stack holds this many copies (inclusive range)
CONTAINER_WEIGHTS = {"pdf": 0.5, "tiff": 0.25, "images": 0.25}
G4_TIFF_RATE = 0.5  # TIFF stacks scanned in black-and-white mode (CCITT G4)
BITONAL_PNG_RATE = 0.3  # loose PNG stacks scanned in black-and-white mode
PNG_RATE = 0.3  # loose image stacks saved as PNG rather than JPEG
PNG_MAX_DPI = 200  # grey PNG stacks are scanned at no more than this
LETTER_RATE = 0.25  # a stack starts with a typed covering letter
DUPLEX_RATE = 0.2  # a stack scanned double-sided: odd-length copies bring a blank back page
STRAY_BLANK_RATE = 0.08  # a stray blank sheet somewhere in a stack
PAGE_SWAP_RATE = 0.03  # two pages of a copy in the wrong order

SHOW_THROUGH_MAX = 0.06  # blank backs show the other side's print at up to this contrast

# Answer states recorded in the truth
ItemTruth = int | None
MarkKind = Literal["tick", "cross", "dot", "slash", "fill", "faint", "spill"]
MARK_KINDS: tuple[MarkKind, ...] = ("tick", "cross", "dot", "slash", "fill", "faint", "spill")
Variety = Literal["tidy", "wide"]

# --- The wide variety: hands, pens and ways of marking the scanner was never tuned to ------------
# Ways of marking a chosen box, from tidy to sloppy (weights).  Sizes are relative to the box side.
WIDE_MARK_WEIGHTS: dict[str, float] = {
    "tick": 0.22, "cross": 0.18, "slash": 0.05, "dot": 0.08, "blob": 0.06, "overshoot": 0.14,
    "hatch": 0.05, "scribble": 0.05, "beside": 0.04, "circle": 0.03, "faint": 0.04, "spill": 0.06,
    # grown from real returns (issue 24): a hand's tick, a looped cross, a bold cross, a cross left hollow
    "rtick": 0.08, "loopcross": 0.04, "boldcross": 0.03, "hollowcross": 0.02,
}
WIDE_SPECK_RATE = 0.1  # rows with dust or toner specks (1-3 px) in a box nobody marked
WIDE_TICK_SIZE = (0.7, 1.3)  # an ordinary tick or cross, relative to the box
WIDE_OVERSHOOT_SIZE = (1.3, 1.8)  # ... drawn bigger than the box, running over its edges
WIDE_DOT_RADIUS_MM = (0.6, 1.6)  # a dot made with a pen
WIDE_BLOB_RADIUS_MM = (1.6, 2.8)  # a blob: pressed and turned, or a few circles
WIDE_BETWEEN_RATE = 0.01  # a single mark placed exactly between two boxes (must be flagged)
WIDE_PENCIL_RATE = 0.1  # copies filled in with pencil
WIDE_PEN_WIDTH_MM = (0.3, 1.0)
# pen kinds: (weight, grey range, pencil?) - grey 0 black .. 255 paper
WIDE_PEN_KINDS: dict[str, tuple[float, tuple[int, int], bool]] = {
    "black biro": (0.25, (30, 60), False),
    "blue biro": (0.22, (55, 95), False),
    "grey biro": (0.08, (95, 130), False),
    "felt tip": (0.15, (15, 45), False),
    "gel": (0.15, (40, 80), False),
    "pencil": (0.15, (105, 160), True),
}
WIDE_EXTRA_FONTS = ("truetype/rufscript/Rufscript010.ttf", "opentype/kaushanscript/KaushanScript-Regular.otf")
WIDE_X_HEIGHT_RANGE = (0.16, 0.34)
WIDE_CAPITALS_RATE = 0.15  # comments written in block capitals
WIDE_SHORT_RATE = 0.35  # comments that are a word or two
SHORT_COMMENTS: tuple[str, ...] = ("No.", "Thanks", "Yes", "OK", "None", "Fine", "No", "Thank you", "All good",
                                   "N/A", "Not really", "Good")
WIDE_LIFT_RANGE = (-0.22, 0.18)  # writing's height over its rule, in line spacings (negative: the rule runs
#                                  through the letters)
WIDE_PAST_FRAME_RATE = 0.1  # a line that runs past the right side of the frame
WIDE_FAR_END_RATE = 0.3  # a short comment written at the far end of its line
WIDE_BITONAL_THRESHOLD = (0.55, 0.72)  # black-and-white scans that cut lower thin light strokes


@dataclass(frozen=True)
class Pen:
    """A writing instrument as the scanner sees it: grey level of its ink (0 black .. 255 paper) and width."""

    name: str
    grey: int
    width_mm: float
    pencil: bool = False
    pressure: float = 0.0  # how much the stroke's width and darkness swell and fade along it (0 = steady)


def luminance(rgb: tuple[int, int, int]) -> int:
    """Grey value a scanner's colour-to-grey conversion gives an ink (ITU-R BT.601 luma)."""
    r, g, b = rgb
    return round(0.299 * r + 0.587 * g + 0.114 * b)


PENS: tuple[tuple[float, Pen], ...] = (
    (0.30, Pen("black ballpoint", 40, 0.45)),
    (0.12, Pen("black felt-tip", 25, 0.8)),
    (0.05, Pen("black marker", 20, 1.2)),
    (0.28, Pen("blue ballpoint", luminance((30, 50, 150)), 0.45)),
    (0.15, Pen("blue gel", luminance((20, 40, 170)), 0.65)),
    (0.10, Pen("dark grey fineliner", 60, 0.35)),
)
PENCIL = Pen("pencil", 150, 0.4, pencil=True)


@dataclass(frozen=True)
class DegradeParams:
    """How badly pages are scanned.  `none()` gives a clean, straight, 300-dpi copy of the print."""

    max_rotation_deg: float = 7.0
    rotation_sigma_deg: float = 1.5  # most skew is small; `wild_rotation_rate` of pages go up to the max
    wild_rotation_rate: float = 0.1
    max_shift_mm: float = 5.0
    scale_range: tuple[float, float] = (0.95, 1.03)  # "fit to page" and feeder stretch
    perspective: float = 0.004  # corner displacement as a share of the page size
    paper_tone: tuple[int, int] = (212, 250)
    uneven_light: float = 0.12  # the darkest corner of a page loses up to this share of brightness
    noise_sigma: tuple[float, float] = (1.5, 6.0)
    blur_rate: float = 0.5
    blur_sigma_px: tuple[float, float] = (0.3, 1.0)
    jpeg_quality: tuple[int, int] = (50, 90)
    dpis: tuple[int, ...] = (150, 200, 300)
    dpi_weights: tuple[float, ...] = (0.25, 0.35, 0.4)
    upside_down_rate: float = 0.05
    bitonal_threshold: tuple[float, float] = (0.62, 0.72)  # share of the paper tone a B/W scanner cuts at

    @classmethod
    def none(cls) -> DegradeParams:
        return cls(max_rotation_deg=0.0, rotation_sigma_deg=0.0, wild_rotation_rate=0.0, max_shift_mm=0.0,
                   scale_range=(1.0, 1.0), perspective=0.0, paper_tone=(255, 255), uneven_light=0.0,
                   noise_sigma=(0.0, 0.0), blur_rate=0.0, jpeg_quality=(95, 95), dpis=(300,), dpi_weights=(1.0,),
                   upside_down_rate=0.0)


@dataclass(frozen=True)
class AnswerMix:
    """How often the hard cases occur.  `clean()` makes every item a single clear mark."""

    blank: float = BLANK_ITEM_RATE
    multiple: float = MULTIPLE_RATE
    cancel: float = CANCEL_RATE
    spill: float = SPILL_RATE
    pencil: float = PENCIL_COPY_RATE

    @classmethod
    def clean(cls) -> AnswerMix:
        return cls(0.0, 0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class SimulationSpec:
    forms: tuple[str, ...]
    copies: int  # per form, per style, per paper
    seed: int
    db: str | Path  # the ledger's address
    output_dir: Path
    blank_comments: bool = False
    styles: tuple[str, ...] = ("standard", "large-print")
    papers: tuple[str, ...] = ("a4",)
    junk: bool = True
    comment_rate: float = COMMENT_RATE
    degrade: DegradeParams = field(default_factory=DegradeParams)
    answers: AnswerMix = field(default_factory=AnswerMix)
    containers: dict[str, float] = field(default_factory=lambda: dict(CONTAINER_WEIGHTS))
    jobs: int | None = None  # worker processes; None = all cores
    variety: Variety = "tidy"  # "tidy": the original set (figures stay comparable); "wide": see WIDE_* below
    printed: bool = False  # fill the copies `db` already printed (not yet returned), writing nothing into it


@dataclass(frozen=True)
class SimulationTruth:
    pages: int
    files: list[Path]
    truth_path: Path
    copies: int = 0
    seconds: float = 0.0

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


# ----------------------------------------------------------------------------------------------
# Comments people write.  Plain English, the kind of thing returned on care-planning forms.

COMMENTS: tuple[str, ...] = (
    "My social worker listened to me and wrote down what I said.",
    "It took too long. I waited four months for my review.",
    "I did not know I could ask for my daughter to come to the meeting.",
    "The plan was written for me, not with me.",
    "Nobody explained what a personal budget was until the end.",
    "Staff were kind but they kept changing so I had to repeat my story.",
    "I liked that we talked about my garden and my dog, not just my care.",
    "I still have not had a copy of my plan.",
    "The forms were too long and the print was too small for me.",
    "My husband helped me fill this in.",
    "They came to my home which made it much easier.",
    "I felt rushed in the meeting and did not get to say everything.",
    "It was good to have an advocate with me.",
    "I wanted to go back to swimming and now I go every Tuesday.",
    "The phone was never answered when I rang the office.",
    "I was told one thing and then something different happened.",
    "Please send letters in large print.",
    "My carer had a say too and that really helped.",
    "I did not understand some of the words they used.",
    "We made the plan together over two visits, which was right for me.",
    "I was worried about money and nobody could tell me what I would pay.",
    "Very happy with the support I get now.",
    "I would like more help to get out and see my friends.",
    "The review date was moved three times.",
    "They asked what a good day looks like for me. Nobody had asked that before.",
    "I felt listened to for the first time in years.",
    "It would help to have an easy read version.",
    "My son lives far away so a video call would have been better.",
    "The meeting was at a bad time because of my medication.",
    "I know who to call if things change.",
    "Some of the information about local groups was out of date.",
    "I was allowed to try the day centre first before deciding.",
    "Too many people in the room. I felt nervous.",
    "Thank you to Sam who was very patient with me.",
    "I want to stay in my own home and the plan helps me do that.",
    "The plan does not say anything about my mental health.",
    "I had to chase them to get anything done.",
    "Good experience overall but it could be quicker.",
    "I did not feel able to take risks because my family worry.",
    "They wrote my plan in my own words which I liked.",
    "I could not read the letter they sent so my neighbour read it to me.",
    "The support workers are lovely but often late.",
)

LETTER_TEXT: tuple[str, ...] = (
    "Dear Sir or Madam,",
    "",
    "Please find enclosed the completed feedback forms from our residents' meeting on Tuesday.",
    "Some residents needed help to fill them in and a member of staff read the statements aloud.",
    "Two residents asked for large print copies, which are included.",
    "",
    "If you need anything further please contact the home manager on the usual number.",
    "",
    "Yours faithfully,",
    "",
    "The Care Home Office",
)

