"""Every tuning constant of PaperVoice, in one place, with its unit in its name.

Geometry is in points (pt, 1/72 inch) or millimetres (mm); image measures are
fractions of an area or of the paper-to-ink darkness range, so they do not
depend on the scan resolution.
"""

from __future__ import annotations

PT_PER_MM = 72.0 / 25.4
PT_PER_INCH = 72.0


def mm(value: float) -> float:
    """Millimetres to points."""
    return value * PT_PER_MM


# --- Paper --------------------------------------------------------------------------------
PAPER_SIZES_PT: dict[str, tuple[float, float]] = {
    "a4": (595.2756, 841.8898),
    "letter": (612.0, 792.0),
}

# --- Page furniture (identical in both styles, so every page registers the same way) ------
PAGE_MARGIN_MM = 16.0  # content starts this far in from every paper edge
REG_MARK_INSET_MM = 9.0  # registration mark's outer edge from the paper edge (>= 8 mm)
REG_MARK_SIZE_MM = 6.0  # solid black square
QR_SIZE_MM = 19.0  # printed QR symbol including its quiet zone
QR_QUIET_MODULES = 4
QR_INSET_MM = 11.0  # QR outer edge (quiet zone included) from the paper edge
IDENT_TEXT_SIZE_PT = 8.0  # small human-readable identity line next to the codes
HEADER_BAND_MM = 30.0  # top band reserved for marks + QR; content begins below it
FOOTER_BAND_MM = 25.0  # bottom band reserved for marks + second code

# --- Typography ---------------------------------------------------------------------------
STANDARD_BODY_PT = 14.0
STANDARD_TITLE_PT = 22.0
STANDARD_HEADING_PT = 16.0
STANDARD_LABEL_PT = 12.0  # scale labels ("Not at all"), the only text below 14 pt: short and repeated
LARGE_BODY_PT = 18.0
LARGE_TITLE_PT = 26.0
LARGE_HEADING_PT = 20.0
LARGE_LABEL_PT = 16.0
LINE_SPACING = 1.3  # leading as a multiple of the font size

# --- Boxes --------------------------------------------------------------------------------
STANDARD_BOX_MM = 8.0
LARGE_BOX_MM = 11.0
EASY_READ_BODY_PT = 18.0  # Easy Read: large, plain text, one statement per block with a picture beside it
EASY_READ_TITLE_PT = 26.0
EASY_READ_HEADING_PT = 20.0
EASY_READ_LABEL_PT = 14.0
EASY_READ_BOX_MM = 12.0  # at least 11 mm
EASY_READ_PICTURE_MM = 24.0  # the picture beside each statement
EASY_READ_FACE_MM = 15.0  # the face above each box of the scale
EASY_READ_COMMENT_LINE_SPACING_MM = 13.0
PICTURE_LINE_WIDTH_PT = 2.0
BOX_LINE_WIDTH_PT = 1.4
ITEM_GAP_MM = 6.0  # vertical space between items
READING_WIDTH_MM = 150.0  # running text wraps at this width: shorter lines are easier to follow

# --- Comment fields -----------------------------------------------------------------------
COMMENT_LINE_SPACING_MM = 10.0  # standard print writing lines
LARGE_COMMENT_LINE_SPACING_MM = 13.0
COMMENT_LINE_GREY = 0.62  # 0 = black, 1 = white: visible guide, easy to remove
COMMENT_FRAME_WIDTH_PT = 1.0
COMMENT_STRETCH_MAX_LINES = 8  # the last comment field may grow by this many lines to fill its page

# --- Scanner: loading ---------------------------------------------------------------------
RENDER_DPI = 300  # for PDF pages that are not a single embedded image
MAX_IMAGE_PIXELS = 120_000_000  # decompression-bomb guard (about A3 at 1200 dpi)
MIN_PAGE_DPI = 100  # below this a scan is too coarse to read marks reliably
MIN_PAGE_PX = 200  # a picture narrower than this cannot be a scanned page (A4 at 100 dpi is 827 px wide)
DEFAULT_DPI = 300  # only when a file states no resolution at all
READ_MAX_DPI = 150.0  # finer scans are reduced to this first (300 dpi halves exactly, which is nearly free)
WORK_DPI = 150  # canonical resolution the registered page is warped to for mark reading
COMMENT_DPI = 200  # resolution comment fields are cleaned and read at (handwriting x-height ~25 px)

# --- Scanner: registration ----------------------------------------------------------------
MAX_FIT_RESIDUAL_MM = 1.2  # RMS misfit of marks + QR corners beyond which a page is flagged
MARK_SEARCH_RADIUS_MM = 14.0  # window around the predicted registration-mark centre
MARK_SIZE_TOLERANCE = 0.45  # accepted relative size error of a found mark
QR_SEARCH_MARGIN_MM = 14.0  # extra margin around the corner crops of the closer QR search
QR_DECODE_PAD_PX = 16  # white margin added around an image before decoding
QR_SEARCH_DPI = 150.0  # the whole page is first searched for codes at this resolution
QR_MAX_HITS = 8  # codes kept from one page for the vote: its own four, and a few strays beside them
BLANK_PAGE_INK_FRACTION = 0.002  # a page with less ink than this is blank

# --- Scanner: marks -----------------------------------------------------------------------
BOX_SEARCH_RADIUS_MM = 1.6  # local search for the printed square around its predicted place
BOX_INNER_INSET_MM = 1.1  # measured area starts this far inside the box's outer edge
BOX_HALO_MM = 2.0  # ring outside the box watched for marks spilling over the edge (and the band under it, beside)
BOX_HALO_GAP_MM = 0.6  # ... starting this far out, clear of the printed edge
BOX_CORNER_SHARE = 0.25  # corner patches of the inner square, as a share of its side
BOX_CORNER_MIN_INK = 0.35  # a corner patch this inked holds ink
BLOB_MAX_CORNERS = 1  # ink reaching at most this many corners is a dot or blob, not a fill
DOT_MIN_CORE_MM2 = 0.3  # a dot's solid core (after eroding pen-stroke widths) at least this big is an answer
DOT_CLOSE_MM = 0.3  # close pencil grain before eroding
DOT_ERODE_MM = 0.45  # erosion wider than a biro line: lines vanish, a dot's core stays
BOX_CELL_MIN_INK = 0.15  # a ninth of the inner square this inked holds ink
SCRIBBLE_FILL_MIN_COVERAGE = 0.2  # ink in nearly every ninth of the box and this much of it: scribbled over
SCRIBBLE_FILL_MIN_CELLS = 8  # ... (filled in to cancel, holes and all)
HATCH_MIN_COHERENCE = 0.72  # ... unless its strokes run one way (hatching, a mark): real scribbled-out boxes
#                             measure 0.4-0.65, hatching 0.75 and up
SCRIBBLE_FILL_MIN_PASSES = 2.5  # ... and crossed by this many strokes on average along its rows or columns
#                                  (real scribbled-out boxes 2.9-4.5; heavy crosses 1.4-1.7)
SCRIBBLE_PART_MIN_CELLS = 7  # ink in this many ninths (not quite all), crossed pass on pass like a box scribbled
#                             out: a loose scribble over most of the box, an answer or crossed out? (to a person)
#                             (a real 5 mm scribble-out set into an 11 mm box at its pen width: 7 ninths, 2.75
#                             passes; real crosses reach 5-7 ninths at 1.6-1.9 passes)
HOLLOW_BRIDGE_MM = 1.0  # a broad stroke's middle a 1-bit scan left hollow is closed across this much
HOLLOW_MAX_COVERAGE = 0.32  # a cross left hollow inks at most this much of the box (crosses 0.12-0.3) ...
HOLLOW_MAX_BRIDGED_PASSES = 2.5  # ... closed, a line across meets it fewer times than this (crosses 1.6-2.4) ...
HOLLOW_MIN_PIECES = 4  # ... and its edges lie in four pieces, cut apart by the inner square at the arms' ends
#                        (a scribble is one unbroken line or a few: real scribble-outs measure 1-3)
HOLLOW_MAX_BRIDGED_SOLID = 0.05  # ... which, closed, are strokes still, not a solid patch
HOLLOW_EDGES_MAX_COHERENCE = 0.33  # a cross's hollow edges in four or more pieces (HOLLOW_MIN_PIECES) run no
#                                    one way: below this (crosses' edges 0.08-0.35; real scribble-outs 0.37-0.67) ...
HOLLOW_EDGES_MAX_BRIDGED_SOLID = 0.08  # ... closed, strokes still (such crosses 0-0.074; real fills 0.01-0.59) ...
HOLLOW_EDGES_MAX_BRIDGED_SHARE = 0.6  # ... or whose edges close up in pairs: bridged, a line across meets at
#                                      most this share of the passes (hollow crosses 0.52-0.56; a real loose
#                                      scribble-out 0.86-0.9, real fills in large print 0.67-0.75) ...
HOLLOW_EDGES_MAX_COVERAGE = 0.36  # ... inking at most this much of the box (0.2-0.36): a cross, however many passes
HEAVY_CROSS_MIN_OPEN_GAP = 0.22  # a heavy cross leaves paper this wide (share of the side) between its arms
#                                  (bold and looped crosses 0.24-0.5; fills 0-0.06)
HEAVY_CROSS_MAX_SOLID = 0.45  # ... and stays mostly strokes (looped crosses 0.2-0.4; a fill 1.0)
HEAVY_CROSS_MAX_COVERAGE = 0.85  # ... and leaves this much paper at least
CROSSED_MAX_COHERENCE = 0.25  # two strokes crossing at about right angles have no one direction (crosses,
#                               looped and hollow, 0.01-0.32; real scribbled-out boxes 0.33-0.67, hatching 0.66 up):
#                               below this, with few passes and open paper, a cross however many edges it shows
CROSSED_MAX_PASSES = 3.2  # ... a line across meets it fewer times than this (crosses 2.5-3.1; scribbles to 4.4)
CROSSED_MIN_OPEN_GAP = 0.22  # ... it leaves paper this wide between its arms (crosses 0.25-0.46; fills 0-0.11)
CROSSED_MAX_COVERAGE = 0.45  # ... and it inks at most this much of the box (hollow and looped crosses 0.21-0.39)
SPECK_MAX_PIECES = 3  # dust and toner: at most this many specks in a box ...
SPECK_MAX_MM2 = 0.3  # ... none bigger than this (a 3-px speck at 300 dpi measures about 0.2 mm²) ...
SPECKS_MAX_TOTAL_MM2 = 0.6  # ... and this much light ink in all: an empty box, not the trace of a mark
LIGHT_FILL_MIN_FAINT = 0.4  # light ink over this share of the box, in every ninth of it: a light or broken fill
FILL_MIN_CORNERS = 3  # a box filled in reaches at least this many corners of its inner square
BESIDE_GAP_MM = 0.8  # the strips beside a box start this far from its printed edge
BESIDE_NUMBER_CLEAR_MM = 6.5  # ... and stop this far before the next box (its number sits there)
BESIDE_LAST_MM = 8.0  # the strip right of a row's last box is this wide
NUMBER_GAP_STRIP_MM = 0.5  # the strip between a box and its own number
BESIDE_REACH_MM = 2.0  # ... and reach this far below the box (a tick hanging off its corner)
BESIDE_MIN_MM2 = 0.5  # this much ink beside a box (where nothing is printed) is a mark outside the boxes
NUMBER_CIRCLE_MIN_MM2 = 0.25  # this much ink between a box and its number: a circle round the number
BETWEEN_AT = (0.3, 0.75)  # a mark whose middle lies in this part of the gap is between two boxes
INK_DARKNESS = 0.30  # a pixel is ink when it is this far from paper towards black
EMPTY_MAX_COVERAGE = 0.035  # at most this inked share of the inner area: empty
MARK_MIN_COVERAGE = 0.075  # at least this: a deliberate mark
FILLED_MIN_COVERAGE = 0.62  # at least this: filled in (the cancel convention)
MARK_MAX_BELOW_FILLED = 0.40  # denser than this and partly solid: ambiguous
FAINT_DARKNESS = 0.14  # pencil: lighter ink, counted separately
DARKNESS_BAND_MARGIN_MM = 8.0  # the darkness map is made for the item rows' band and this much above and below
PAPER_REDUCTION_FACTOR = 4  # the local paper level is found on the page reduced this many times (a whole number)
PAPER_FILTER_MM = 16.0  # local paper level: brightest paper within this distance (wider than a filled box)
FILLED_MIN_COVERAGE_SOLID = 0.42  # a box this inked whose ink is solid (not strokes) is filled in
SOLID_FILLED = 0.22  # share surviving erosion that marks a filled box
SOLID_STROKES_MAX = 0.08  # below this, dense ink is still pen strokes (a heavy cross), not a fill
SOLID_CLOSE_MM = 0.5  # close small gaps of a scribbled fill before eroding
SOLID_ERODE_MM = 1.6  # erosion wider than any pen stroke
FAINT_MARK_MIN_AREA_MM2 = 3.5  # light ink area that makes a pencil mark
FAINT_EMPTY_MAX_AREA_MM2 = 1.6  # at most this much light ink in an empty box
LIGHT_STROKE_MIN_FAINT_MM2 = 1.2  # a light tick too small for FAINT_MARK_MIN_AREA_MM2 is still read with at
#                                  least this much light ink (small pencil ticks in grey and 1-bit scans 1.4-3.4) ...
LIGHT_STROKE_MIN_PIECE_MM2 = 1.2  # ... in one unbroken stroke at least this big (those ticks 1.5-2.8; dust and
#                                  toner under SPECK_MAX_MM2; a tick a 1-bit scan broke into dots under 0.5) ...
LIGHT_STROKE_MIN_INK_MM2 = 0.3  # ... with at least this much of it dark enough to tell its strokes' directions
LIGHT_STROKE_MAX_COHERENCE = 0.6  # ... and those strokes running two ways, as a tick's or a cross's do (those
#                                   ticks 0.15-0.52; one straight stray line near 1): otherwise it is asked about
TRAIL_MIN_PIECES = 8  # a light tick a black-and-white scan broke into a trail of dots: at least this many dots
#                       (such ticks 9-15; dust and toner at most SPECK_MAX_PIECES; empty boxes of the tidy, wide
#                       and comment sets never more than 3) ...
TRAIL_MIN_FAINT_MM2 = 1.0  # ... holding this much light ink in all (such ticks 1.6-2.0 mm², a tick hardly there
#                            0.8): a mark a person reads at a glance, however broken; less is asked about
TRAIL_MAX_DOT_MM2 = 1.0  # ... in dots none bigger than this (such ticks' biggest 0.3-0.5 mm²): a trail, not strokes
TRACE_MIN_AREA_MM2 = 0.2  # ink above the page's noise floor that makes an 'empty' box unclear instead
TRACE_FAINT_MIN_AREA_MM2 = 0.35  # ... or this much light ink above the page's light-ink floor (what a
#                                  black-and-white scan leaves of a pencil tick: a few dots)
BITONAL_MAX_GREY_LEVELS = 40  # a page showing at most this many mid-grey levels was scanned in black and white
LOST_MARKS_MIN_TRACE_ROWS = 2  # rows with only faint traces that make a page-level sign of marks lost in scanning
THINNED_MIN_ANSWERED_ROWS = 3  # a black-and-white page's only blank row among at least this many answered ones,
#                               with any speck in it, is asked about: a light mark thinned to dots looks like dust
# Confidences (0 .. 1) the mark cascade gives each decision: a box's, then an item's.  They order the review
# queue and the gallery; the state, not the figure, decides what goes to a person.
BLOB_CONFIDENCE = 0.8  # a solid dot or blob in the middle of the box
HATCH_CONFIDENCE = 0.7  # hatching: parallel strokes across the box
HEAVY_STROKES_CONFIDENCE = 0.7  # a heavy cross or tick reaching most of the box
HOLLOW_CONFIDENCE = 0.65  # a broad cross a black-and-white scan kept only the edges of
CROSSED_CONFIDENCE = 0.65  # two strokes crossing, no one direction: a cross with loops or hollow edges
SCRIBBLE_FILL_CONFIDENCE = 0.7  # scribbled over edge to edge: filled in to cancel
SCRIBBLE_UNCLEAR_CONFIDENCE = 0.3  # scribbled pass on pass over most of the box
CANCEL_BESIDE_MIN_MARK_CONFIDENCE = 0.6  # a box scribbled over beside a mark this sure (0-1) is read as
# crossed out to cancel, the mark the answer; beside a weaker mark it is still asked about
LIGHT_FILL_UNCLEAR_CONFIDENCE = 0.3  # light ink all over the box
FILLED_BASE_CONFIDENCE = 0.6  # a fill: this, plus ...
FILLED_CONFIDENCE_PER_COVERAGE = 0.5  # ... this much per unit of coverage
HEAVY_UNCLEAR_CONFIDENCE = 0.3  # dense, partly solid, reaching the corners
MARK_BASE_CONFIDENCE = 0.6  # a mark: this, rising to 1 at ...
MARK_SURE_AREA_MULTIPLE = 4.0  # ... this many times MARK_MIN_AREA_MM2 above it
PENCIL_MARK_CONFIDENCE = 0.55  # plenty of light strokes, little full darkness
LIGHT_STROKE_CONFIDENCE = 0.5  # a small light tick: one unbroken stroke running two ways (LIGHT_STROKE_*)
TRAIL_CONFIDENCE = 0.45  # a light tick a black-and-white scan broke into a trail of dots (TRAIL_*)
DOT_MARK_CONFIDENCE = 0.6  # a small dot with a solid core
TRACE_UNCLEAR_CONFIDENCE = 0.35  # a trace above the page's noise floor
EMPTY_CONFIDENCE_DROP = 0.4  # an empty box's confidence falls by this much as its ink nears EMPTY_MAX_AREA_MM2
UNCLEAR_CONFIDENCE = 0.4  # anything else between empty and a mark
ITEM_MULTIPLE_CONFIDENCE = 0.9  # two boxes marked (the flag is sure; the answer is the person's)
ITEM_OUTSIDE_CONFIDENCE = 0.4  # a mark outside every box
ITEM_UNCLEAR_CONFIDENCE = 0.4  # an unclear box in the row
ITEM_CANCELLED_CONFIDENCE = 0.5  # a box filled in to cancel and nothing else marked
PAGE_INK_MAX_DARKNESS_RATIO = 0.6  # the page's ink level (registration marks) is taken at least this dark
DEFAULT_INK_RATIO = 0.3  # ... or this, when no registration mark was measured
BOX_CONFIRM_MIN_SCORE = 0.5  # a printed square counts as found at this template score
BOX_CONFIRM_MIN_SHARE = 0.8  # share of a page's squares that must be found to confirm a weakly anchored fit
BOX_CONFIRM_MEDIAN_MM = 0.5  # ... with their median offset from the fit at most this
BOX_CONFIRM_MAX_MM = 1.2  # ... and none further off than this
MARKS_ONLY_CORNER_REACH_MM = 45.0  # a corner mark is looked for this far from the image's corner
REFINE_MIN_BOXES = 8  # printed squares needed to refit a weakly anchored page by them

# --- Scanner: comments --------------------------------------------------------------------
TIFF_MAX_FRAMES = 100_000  # pages of one TIFF file read at most (a 5,000-page stack is already large)
TIFF_MAX_TAG_BYTES = 16_000_000  # one value in a TIFF page's directory: larger is damage
TIFF_MAX_FRAME_BYTES = 600_000_000  # a TIFF page's stored picture data (118 Mpx of colour is about 360 MB)
FORM_FILE_MAX_NODES = 2_000_000  # values in a form file once YAML aliases are written out (billion laughs: 10**9)
FORM_FILE_MAX_BYTES = 8_000_000  # a form file larger than this is refused unread (real ones are a few kB to 1 MB)
COMMENT_INSET_MM = 1.5  # drop this much inside the frame before looking for writing
COMMENT_BACKGROUND_MM = 4.0  # a comment field's own background: closing this wide (wider than any pen stroke)
COMMENT_DARKEST_TINT = 0.5  # share of the paper's level: a field shaded darker than this is not a background
COMMENT_WRITTEN_MIN_INK_MM2 = 2.0  # stroke ink (lines and specks out) that makes a field written: "No." is ~3 mm²
COMMENT_WRITTEN_MIN_EXTENT_MM = 2.5  # ... spread at least this far (a letter's height)
COMMENT_POSSIBLE_MIN_INK_MM2 = 0.5  # less stroke ink than written but this much: possibly written, to a person
COMMENT_POSSIBLE_MIN_SPECK_MM2 = 0.8  # ... or this much ink in specks and strokes together (a light pen a B/W
#                                        scan broke up); blank fields, rule remnants taken out, measure ~0
COMMENT_RULE_BAND_MM = 1.0  # specks lying within this of a writing line are what a B/W scan left of the line
COMMENT_MIN_COMPONENT_MM = 0.9  # specks smaller than this are noise, not writing
COMMENT_DOT_REACH_MM = 1.5  # ... unless this close to writing: the dot of an 'i', a full stop
COMMENT_DOT_MIN_MM = 0.25  # ... and at least this big
COMMENT_RULE_MIN_LENGTH_MM = 20.0  # straight strokes this long are printed rules, not writing
COMMENT_SLIVER_MAX_HEIGHT_MM = 0.9  # flatter pieces (twice as wide as tall) are bits of a writing line
COMMENT_RULE_BRIDGE_MM = 1.2  # a stroke crossing a removed rule is rejoined across a gap this tall
OCR_DET_MAX_SIDE_PX = 768  # PP-OCR's text finder sees a strip at most this wide (a 200-dpi field ~1380; README)
OCR_STRIP_MAX_LINES = 3  # a field is read in strips of at most this many written lines, cut between lines
OCR_TRIM_MARGIN_MM = 3.0  # the writing is given to the engine with this much paper round it
TESSERACT_MIN_SIDE_PX = 40  # writing read as nothing is read again at half size only if this stays
OCR_MIN_READABLE_CHARS = 2  # a transcription with fewer letters or digits than this is "could not read"
TESSERACT_PAGE_MODE = 6  # tesseract --psm: one block of text (read better than 4 on real handwritten comments)
OCR_TIMEOUT_S = 30.0
OCR_LINE_DOUBT_CONFIDENCE = 95.0  # a line read with less engine confidence (0-100) is likely misread: review says so
# word-list correction of handwriting readings (scan/words.py): a word the list does not know becomes the listed
# word a few likely misreadings give, ranked by ln(word count) - cost, only when one wins clearly
OCR_WORD_CORRECTION = True  # correct misread words in transcriptions (the bench's --text held-out measures it)
OCR_WORD_KNOWN_MIN_COUNT = 100  # a word counted at least this often in the list (of ~1.6e9 words) is left alone
OCR_WORD_RARE_COUNT = 50  # a rarer listed word (the list's floor: most are 50) competes as if counted this often
OCR_WORD_FREQUENCY_WEIGHT = 1.0  # weight of ln(word count) against the misreading's cost (1: a plain noisy channel)
OCR_WORD_ISE_MIN_STEM_LETTERS = 4  # organize gives organise to the list; size, prize, seize (shorter stems) give none
OCR_WORD_PREFIXED_MIN_LETTERS = 4  # co-, re-, well- ... + a known word this long is a known word (coproduction)
OCR_WORD_CONFUSION_COST = 2.0  # ln-unlikelihood of a cursive letter read as its look-alike (u for w, y for g)
OCR_WORD_SPLIT_COST = 2.5  # ... of a letter read as two or two as one (in for m, cl for d)
OCR_WORD_EDIT_COST = 7.0  # ... of any other letter misread, dropped or added (about 1 in 1,100)
OCR_WORD_MAX_COST = 7.0  # a candidate more unlike the reading is not considered: one plain edit, or 3 look-alikes
OCR_WORD_MAX_CONFUSIONS = 3  # at most this many look-alike letters swapped in one word
OCR_WORD_MIN_LETTERS = 2  # a lone letter is never corrected (but a lone T, a joined I, becomes I)
OCR_WORD_SHORT_MAX_LETTERS = 3  # words this short are changed only by look-alike letters ...
OCR_WORD_SHORT_MAX_COST = 2.0  # ... at most this costly (one confusion) ...
OCR_WORD_SHORT_MIN_COUNT = 100_000  # ... and only into a word counted this often (and, it, was; not "ni")
OCR_WORD_CAPITAL_MIN_COUNT = 20_000  # a capitalised word opening a sentence (a name?) becomes only a word this common
OCR_WORD_CLEAR_MARGIN = 2.3  # the winner beats the runner-up by this in ln units (10x likelier), or no change
OCR_WORD_CORRECTED_DOUBT = 10.0  # a line's confidence (0-100) drops this much per corrected word: review's doubt kept
COMMENT_OVERFLOW_MM = 10.0  # writing that reaches a field's right side is read (and kept) this far past it
COMMENT_OVERFLOW_EDGE_MM = 1.0  # ... when ink lies within this of the side, inside it
COMMENT_OVERFLOW_PAPER_MM = 6.0  # ... never nearer the paper's edge than this

# --- Coordinator --------------------------------------------------------------------------
MAX_PAGES_IN_FLIGHT_PER_JOB = 3  # bounds memory: pages decoded but not yet written
LEDGER_LOCK_WAIT_MS = 60_000  # a writer waits this long for a ledger another holds (SQLite busy_timeout, PG lock)
POSTGRES_CONNECT_TIMEOUT_S = 10  # a ledger server that does not answer: say so rather than hang
LEDGER_WAIT_NOTICE_S = 2.0  # waiting longer than this for a ledger another program holds is said on stderr

# --- Status and check ----------------------------------------------------------------------
REPORT_MAX_LISTED = 20  # entries per kind of problem or list in status and check output

# --- Review page ---------------------------------------------------------------------------
REVIEW_WRONG_TOKEN_DELAY_S = 1.0  # pause after a wrong access token, so guessing it over the network is slow
REVIEW_TOKEN_MIN_CHARS = 12  # an access token is at least this long ...
REVIEW_TOKEN_MIN_BITS = 40.0  # ... and at least this hard to guess (length x character entropy, in bits)
REVIEW_MAX_POST_BYTES = 256 * 1024  # a form post larger than this is refused
REVIEW_LOGIN_WINDOW_S = 600.0  # sign-in attempts are counted over this window ...
REVIEW_LOGIN_MAX_PER_CLIENT = 10  # ... at most this many wrong ones from one address ...
REVIEW_LOGIN_MAX_TOTAL = 50  # ... and this many from everyone together, then sign-in waits for the window

# --- Office app (`papervoice app`) -----------------------------------------------------------
APP_MAX_UPLOAD_BYTES = 2 * 1024**3  # one upload (all its files together) at most this large
APP_MAX_UPLOAD_FILES = 1000  # files in one upload
APP_WATCH_INTERVAL_S = 1.0  # the watched folder is looked at this often when nothing is arriving ...
APP_WATCH_BUSY_INTERVAL_S = 0.25  # ... and this often while a file in it is new or still changing
APP_WATCH_SETTLE_S = 0.4  # a file complete by its content (PDF trailer, PNG IEND, JPEG EOI, TIFF strips) is
#                           read once its size and time have not changed for this long ...
APP_WATCH_STABLE_S = 3.0  # ... a kind of file with no such check, once unchanged for this long ...
APP_WATCH_INCOMPLETE_S = 60.0  # ... and a file that looks cut short, once unchanged for this long (then its
#                                message says it is damaged; a scanner may pause between pages before that)
APP_PREVIEW_DPI = 60  # the first page of a blank form, drawn this fine for the Print page
APP_EVENTS_KEPT = 200  # the Scan page lists this many of the latest files

# --- Scanner: marks, in absolute ink area (a dot is the same size whatever the box) ---------
MARK_MIN_AREA_MM2 = 2.2  # at least this much ink: a deliberate mark
EMPTY_MAX_AREA_MM2 = 0.9  # at most this much ink (and EMPTY_MAX_COVERAGE): empty
STRAY_RATIO = 0.3  # an unclear box with under this share of the clear mark's ink (dark and light) is a
#                    stray touch
BOX_MATCH_MIN_SCORE = 0.35  # below this the printed square was not found: keep the predicted place
EVIDENCE_DPI = 100  # item-row crops kept as evidence for a person
EVIDENCE_GREY_LEVELS = 16
PAGE_IMAGE_DPI = 150  # pages kept for a person (not a form, unreadable): readable again once assigned
COMMENT_CROP_DPI = 150  # the handwriting crop kept as the record
PAPER_WHITEN_MARGIN = 28  # grey levels: pixels this close to the paper's level are stored as white

# --- Scanner: page checks and registration -------------------------------------------------
INK_CHECK_DPI = 50.0  # the blank-page ink share is measured at this resolution: enough to see any writing
INK_CHECK_EDGE_PARTS = 20  # 1/20 of each side is left out of it: scanners darken the page's edges
INK_DARKER_THAN_PAPER = 0.6  # share of the paper's grey level below which a pixel counts as ink (blank check)
READ_DOWNSCALE_SLACK = 1.05  # pages up to 5 % finer than READ_MAX_DPI are read as they are, not resized
POOR_FIT_CONFIDENCE = 0.2  # confidence stored with an answer flagged because the page fits its layout badly
LOST_MARK_CONFIDENCE = 0.3  # ... with a blank row flagged because other marks on the page are only traces
MARK_DARKER_THAN_PAPER = 0.55  # share of the paper's grey level below which a pixel can be part of a corner mark
MARK_MIN_FILL = 0.5  # a corner mark fills at least this share of its bounding box (a rotated square does)
MARK_BOX_SIDE_RANGE = (0.6, 1.6)  # its bounding box's sides, as multiples of the printed mark's side
PAPER_SAMPLE_PX = 300  # the paper's level is sampled on a grid about this many points a side
PAPER_LEVEL_PERCENTILE = 90  # the paper's level: this percentile of the sample (robust to ink and dark borders)
PAPER_MIN_LEVEL = 64.0  # grey level: a "paper" darker than this is a dark scan; this is used instead
QR_CORNER_SEARCH_EXTRA_MM = 2.0  # the corner search window reaches this much past code and mark
QR_DECODE_DPI = 250.0  # a corner crop is resized to about this resolution for decoding ...
QR_DECODE_SCALE_RANGE = (0.35, 2.5)  # ... within these scale factors
QR_OFF_CENTRE_WEIGHT = 0.05  # with several codes: misfit (px) plus this much per px the page centre lands off

# --- Loading ------------------------------------------------------------------------------
POPPLER_TIMEOUT_S = 120.0  # one pdftoppm/pdfinfo call; an A4 page at 300 dpi takes well under a second
POPPLER_MIN_VERSION = (0, 62)  # oldest poppler whose pdftoppm reads stdin and writes one grey page to stdout
PAGE_ASPECT_TOLERANCE = 0.03  # how close width/height must be to A4 or Letter to estimate dpi from pixel size
PAGE_LIKE_ASPECT = (1.25, 1.55)  # long/short side of a picture taken to be a whole page when estimating dpi
USUAL_SCAN_DPI = (75, 96, 100, 150, 200, 240, 300, 400, 600, 1200)  # an estimate within 2 % snaps to these
PLAUSIBLE_PAGE_INCHES = (3.5, 24.0)  # long side a declared dpi may imply (A7 .. A2); outside it the dpi is ignored
SINGLE_IMAGE_MIN_COVER = 0.9  # an embedded image covering this share of the page is used instead of rendering
MAX_INSPECTED_CONTENT_BYTES = 262_144  # PDF pages drawing more than this are rendered, not inspected for one image

# --- Export -------------------------------------------------------------------------------
EXPORT_SCRATCH_ABANDONED_S = 86_400  # a scratch folder of an export this old, whose process cannot be asked, is removed
EXPORT_COMMENT_IMAGE_WIDTH_PX = 600  # handwriting crops are shown this wide (96-dpi pixels, about 16 cm)
EXPORT_COMMENT_IMAGE_MAX_HEIGHT_PX = 380  # ... and at most this tall (Excel rows stop at 409 pt)
EXPORT_ITEM_IMAGE_WIDTH_PX = 560  # an item's row (statement and boxes) on the Review sheet
EXPORT_ITEM_IMAGE_MAX_HEIGHT_PX = 140
EXPORT_PAGE_IMAGE_MAX_HEIGHT_PX = 520  # a whole unrecognised page on the Review sheet, enough to tell what it is
EXPORT_IMAGE_MAX_ENLARGE = 2.0  # small crops may be shown up to this much larger than their pixels
EXPORT_IMAGE_STORED_SCALE = 1.5  # pixels kept per shown pixel: sharp when zoomed or printed, not bloated
EXPORT_PAPER_WHITEN = 0.06  # in scaled crops, greys within this fraction of the paper's shade become white
EXPORT_IMAGE_WORKERS_MAX = 4  # processes preparing crops
EXPORT_IMAGES_PER_WORKER = 200  # fewer crops than this per process are not worth starting one for
EXPORT_CHART_WIDTH_CM = 24.0
EXPORT_CHART_BASE_HEIGHT_CM = 4.0  # title, axis and legend
EXPORT_CHART_CM_PER_ITEM = 0.9  # one bar per statement
EXPORT_TRIM_INK_FRACTION = 0.55  # comment crops are cut to pixels darker than this share of the paper's shade
EXPORT_TRIM_MIN_INK_PX = 12  # ... in blobs at least this many pixels (a dot of a pen, not a speck of dust)
EXPORT_TRIM_MARGIN = 0.06  # ... with this share of the field's height as a margin all round
EXPORT_CHART_MAX_HEIGHT_CM = 15.0  # a chart fits one landscape A4 page (about 17 cm printable) at full width
EXPORT_CHARS_PER_WIDTH_UNIT = 1.0  # characters of running text per unit of Excel column width (guess for wrap)
EXPORT_POINTS_PER_TEXT_LINE = 15.0
EXPORT_MAX_TEXT_LINES = 12  # rows grow for wrapped text up to this many lines; the cell holds it all anyway
PNG_COMPRESSION_LEVEL = 3  # zlib level for kept PNGs: level 6 costs 3x the time for a few percent


# ----------------------------------------------------------------------------------------------
# Adopted forms (pipeline/adopt): finding boxes on a blank, matching returns to it, reading their boxes.
ADOPT_DETECT_DPI = 200.0  # boxes of 3 mm are 24 px: enough to tell a square from a circle
ADOPT_INK_OF_PAPER = 0.6  # darker than this share of the paper level is ink
ADOPT_BOX_INNER_MIN_MM = 2.2  # paper inside the smallest box (3 mm outside, thin line)
ADOPT_BOX_INNER_MAX_MM = 14.0
ADOPT_BOX_MAX_ASPECT = 1.35
ADOPT_BOX_MAX_INNER_INK = 0.45  # a letter printed inside a box (AMC's A B C D) may ink this much of it; more is filled
ADOPT_SQUARE_MIN_FILL = 0.86  # enclosed paper's share of its bounding box: a square
ADOPT_ROUND_FILL = (0.68, 0.86)  # ... a circle or ellipse (pi/4 = 0.785)
ADOPT_ROUND_MAX_ASPECT = 1.2
ADOPT_OUTLINE_MAX_MM = 0.9  # a box's wall is a thin line, not a letter's thick stroke
ADOPT_OUTLINE_MIN_CLOSED = 0.8  # share of the wall's probes that find ink right outside the enclosed paper
ADOPT_FIELD_MIN_W_MM = 25.0  # enclosed paper this wide (and FIELD_MIN_H_MM high) is a framed text area
ADOPT_FIELD_MIN_H_MM = 5.0
ADOPT_FIELD_MIN_FILL = 0.9
ADOPT_COMB_GAP_RATIO = 0.45  # neighbouring boxes closer than this share of their size share a wall: a comb field
ADOPT_WORD_JOIN_MM = (1.6, 0.5)  # letters closer than this join into one word-shaped anchor
ADOPT_WORD_MM = ((1.2, 90.0), (1.0, 14.0))  # anchor width and height limits
ADOPT_LINE_GAP_MM = 1.3  # gaps this long in a scanned line are closed before looking for enclosed paper
ADOPT_MARK_CORNER_REACH_MM = 40.0  # corner marks sit this close to a corner of the page
ADOPT_MARK_MIN_MM = 4.0  # a solid square mark at least this big
ADOPT_MARK_L_MIN_MM = 9.0  # an L-shaped mark's arms at least this long (a heading's capital is smaller)
ADOPT_ROW_TOLERANCE = 0.5  # share of a box's height two centres may differ by and still be in one row
ADOPT_ROW_SPLIT_GAP = 2.5  # a gap this many times the row's typical gap (and wider than 3 boxes) starts a new question
ADOPT_COLUMN_MAX_GAP = 3.0  # stacked boxes at most this many box heights apart are one question
ADOPT_SKEWS_DEG = (-2.4, -1.2, 0.0, 1.2, 2.4)  # searched around each quarter turn; the fit takes it from there
ADOPT_VOTE_BIN_PT = 4.0
ADOPT_SIZE_TOLERANCE = 0.3  # blobs pair up when their sizes differ by at most this share (or 2.5 pt)
ADOPT_MATCH_RADIUS_MM = 2.5  # an anchor is found again when a blob's centre lands this close
ADOPT_RANSAC_MM = 1.2
ADOPT_MIN_SCORE = 0.4  # share of anchors found again for a page to count as matched
ADOPT_MIN_INLIERS = 8
ADOPT_AMBIGUOUS_RATIO = 0.85  # a second page scoring this close to the best: not certain which page it is
# classify() is given this area for every adopted box, so its thresholds scale with the box
ADOPT_NATIVE_INNER_MM2 = (STANDARD_BOX_MM - 2 * BOX_INNER_INSET_MM) ** 2
ADOPT_INSET_SHARE = 0.1  # measured area: this share of the box's side inside its printed line
ADOPT_SEARCH_SHARE = 0.3  # the printed outline is looked for this share of the box's side around its place
ADOPT_NEIGHBOUR_SHIFT_MM = 0.4  # a box's outline found further than this from its row's: measured where they are
ADOPT_OUTLINE_MM = 0.3
ADOPT_MAX_FIT_MM = 1.0  # anchors further off than this (median) mean a poor fit
ADOPT_FOUND_SCORE = 0.3
ADOPT_MIN_FOUND_SHARE = 0.6
ADOPT_DENSE_COVERAGE = 0.42  # a tick or a cross covers 10-30 % of a box, unless the pen is thick for the box
ADOPT_OPEN_GAP = 0.45  # open paper this wide (share of the inner side) among dense ink: strokes, not a fill
ADOPT_OPEN_GAP_LIGHT = 0.36  # ... or this wide, among ink under LIGHT_DENSE_COVERAGE
ADOPT_LIGHT_DENSE_COVERAGE = 0.55
ADOPT_FILL_GAP = 0.2  # at most this: filled in or scribbled over (between the two: a person decides)
ADOPT_MIN_BLANK_DPI = 150.0
ADOPT_MIN_ANCHORS = 12  # printed things on a page to align a return by
ADOPT_SMALL_BOX_MM = 3.4
ADOPT_RESCAN_COVERAGE_DIFF = 0.06  # same paper scanned again: each marked box's ink cover within this share
ADOPT_RESCAN_MIN_MARKS = 3  # ... over at least this many marked boxes, else the match is only flagged
ADOPT_CODE_DPI = 150.0  # codes on adopted pages (barcodes per sheet) are looked for at this resolution
ADOPT_CODE_MAX_CHARS = 200  # a sheet code longer than this is cut (it is an identity, not data)
ADOPT_PRINTED_MIN = 0.01  # a box whose inside the blank inks this much has a letter or digit printed in it
ADOPT_PRINTED_SLACK = 1.3  # a return's scan of a box's own printed letter may ink this much more than the blank's
ADOPT_PRINTED_MARGIN = 0.015  # ... plus this share of the box
ADOPT_MIN_WORDS_TO_CHECK = 8  # a blank with this many word anchors has its words checked after the fit
ADOPT_MIN_WORDS_IN_PLACE = 0.5  # ... and fewer of them in place than this share is a fit that slipped
ADOPT_DPI_SIZE_SLACK = 0.06  # a declared dpi this far from what the page's size implies is tried the other way too
ADOPT_WORDING_TIMEOUT_S = 60.0  # tesseract on one page of a blank
ADOPT_WORDING_DPI = 300.0  # the blank is read at up to this resolution
ADOPT_WORDING_GAP_MM = 6.0  # words of one line of wording are no further apart than this
ADOPT_WORDING_LEFT_MM = 40.0  # wording on a row's line, left of its first box, ends at most this far from it
ADOPT_LABEL_REACH_MM = 8.0  # a box's label starts at most this far right of it
ADOPT_WORDING_MIN_CONFIDENCE = 60.0  # below this the line is left for a person to write
ADOPT_WORDING_LINE_MM = 2.0  # words whose centres are this close in height are on one line
ADOPT_WORDING_ABOVE_MM = 12.0  # a question's wording printed above its boxes is at most this far above
ADOPT_WORDING_MAX_CHARS = 200
ADOPT_LABEL_MAX_CHARS = 24
ADOPT_DISTINCT_MIN = 5  # near-identical blanks are told apart only on at least this many anchors each prints alone
ADOPT_DISTINCT_SEEN = 0.5  # ... the winner's own found at least this share
ADOPT_DISTINCT_UNSEEN = 0.3  # ... the rival's own found at most this share
ADOPT_MIN_BOXES = 3  # fewer answer boxes than this on the whole blank: adopt plainly found too little (exit 2)
ADOPT_ORIENT_DPI = 150.0  # the blank is shown to tesseract's orientation detection at this resolution
ADOPT_ORIENT_TIMEOUT_S = 30.0
ADOPT_ORIENT_MIN_CONFIDENCE = 2.0  # tesseract OSD's orientation confidence below which it says nothing
ADOPT_ORIENT_MIN_WORDS = 20  # without OSD: words needed before their shape says "sideways"
ADOPT_ORIENT_TALL_SHARE = 0.6  # ... and the share of them taller than wide that does
ADOPT_MAX_PAGES = 40
ADOPT_RULE_MIN_MM = 40.0  # a horizontal rule at least this long may be a writing line
ADOPT_RULE_ALIGN_MM = 5.0  # writing lines of one area start and end within this of each other
ADOPT_RULE_SPACING_MM = (5.0, 15.0)  # and are this far apart
ADOPT_LINE_BAND_SHARE = 0.09  # a stroke's band, as a share of the inner side, when fitting two straight lines
ADOPT_LINE_BAND_PER_STROKE = 0.35  # ... and at least this share of the pen's stroke width (a thick pen's line)
ADOPT_LINE_BAND_MAX_SHARE = 0.18  # ... but never more than this share of the inner side (ink merged all over)
ADOPT_TWO_LINES_MARK = 0.8  # dense ink this much along two straight lines: a tick or a cross
ADOPT_TWO_LINES_SCRIBBLE = 0.65  # at most this: scribbled over
ADOPT_OPEN_PATCH_INK = 0.25  # share of ink at most: a quarter-side patch at a box's edge middle or corner is open
ADOPT_CROSS_OPEN_SIDES = 3  # open edge middles (or corners) of 4: dense ink spread as a cross, not a fill
ADOPT_FRAME_GAP_MM = 4.0  # a text area's frame, dashed by a 1-bit scan, is joined across gaps this long
ADOPT_FRAME_MIN_W_MM = 15.0  # a frame's top rule is at least this long
ADOPT_FRAME_TICK_MM = 3.0  # its uprights at least this long
ADOPT_FRAME_ALIGN_MM = 2.0  # an upright meets the rule's end within this
ADOPT_LINE_BAND_MM = 0.6  # lines are looked for in bands this thick, so a skewed scan's lines are found
ADOPT_LINE_MAX_SKEW_DEG = 3.0
ADOPT_LINE_MIN_INKED = 0.4  # a dashed line still has ink along this share of its length
ADOPT_LINE_MAX_MM = 0.8  # ... in one stroke at most this thick
ADOPT_LINE_THIN_SHARE = 0.8  # ... along this share of its inked length (a line of text is thick and broken)

# --- results (labels, statistics files, printed summary, data protection) ----------------------------------
LABEL_MAX_CHARS = 60  # a print label names a team, site or batch: a short line
REPORT_SMALL_N = 5  # fewer answers than this: the summary and the Comparison sheet say to read with care
REPORT_FONT_PT = 14.0  # the printed summary's smallest text (clear print)
REPORT_LARGE_FONT_PT = 18.0  # ... in large print (bold)
STATS_STRING_MAX_CHARS = 2000  # comment text in SPSS/Stata files is cut here (Stata strL aside, a safe width)
ADOPT_OWNER_REACH_MM = 45.0  # a list's question wording is printed at most this far above its first boxes
ADOPT_HEADER_REACH_MM = 9.0  # scale words over a row (or grid) of boxes sit at most this far above its top
ADOPT_LIST_SPLIT_PITCHES = 2.2  # rows of one list further apart than this many times its own pitch: two lists?
ADOPT_CODE_GRID_ROWS = 10  # a grid of this many stacked rows (digits 0-9) is one code per column
ADOPT_CODE_GRID_PITCH = 2.0  # ... its rows at most this many box heights apart
ADOPT_SOLID_CELL_INK = 0.85  # share of a cell's middle printed black: a solid cell of an id strip (AMC page id)
ADOPT_MARK_MAX_MM = 40.0  # a corner mark is at most this long either way
ADOPT_GRID_STEPS_KEPT = 512  # blank pages whose grid steps a reader keeps worked out (a few numbers each)
ADOPT_STRIP_MIN_CELLS = 4  # a row of fewer touching cells is no page-id strip
ADOPT_STRIP_SOLID_SHARE = 0.7  # on a return, a strip cell's middle this share ink reads as solid ...
ADOPT_STRIP_OPEN_SHARE = 0.25  # ... and at most this share as open; between, the cell is unclear (strip not used)
ADOPT_STRIP_FIRST_FITS = 3  # pages (best vote first) fitted to read the strip under before giving up on none lining up
ADOPT_STRIP_MIN_CELLS_APART = 2  # pages whose strips differ in fewer cells are not told apart by the strip alone
ADOPT_SLIP_STEP_MM = (2.5, 150.0)  # a regular grid's step (a row, a column, a block of them) is between these
ADOPT_SLIP_STEPS = 12  # the most common steps between like-sized anchors tried as a possible slip of the fit
ADOPT_SLIP_MIN_ANCHORS = 4  # a fit must find at least this many anchors more than the fit one grid step away ...
ADOPT_SLIP_MIN_SHARE = 0.03  # ... or this share of the page's anchors, whichever is more
ADOPT_RESCALE_SHARE = 0.01  # a first fit this far from the file's dpi is fitted again at the scale it found
ADOPT_DEGENERATE_SCALE_PX_PER_PT = 0.05  # a fit mapping a layout pt to less (a scan at < 4 dpi) squashes the page
ADOPT_SLIP_TRIES = 3  # a fit moved by a grid step that finds more is taken, at most this many times
ADOPT_RESCALE_TRIES = 3
ADOPT_SLIP_CHECK_SHARE = 0.9  # pages scoring this share of the ambiguity line get the slip check
ADOPT_SURE_SCORE = 0.7  # best page fitted at the turn the first good fit found below this: every turn is tried
ADOPT_RESCALE_MIN_SHARE = 0.08  # a first fit finding fewer of its anchors is not this page: not refitted at its scale
ADOPT_TURN_CLOSE = 0.6  # turns whose straight vote comes this close to the best are all fitted
