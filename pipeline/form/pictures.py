"""Simple line pictures for Easy Read forms, drawn by us (no third-party symbol set, no licence to honour).

Easy Read puts a picture beside each statement, to carry its meaning for people
who read little.  Each picture is a few strokes in a 100 x 100 square (y down):
circles, lines, polylines and rectangles, drawn in black at one stroke width,
so they print clearly on any office printer and photocopy well.  A form file
names one per item (`picture: plan`); an item without one gets none (a blank
is better than a misleading picture).

The faces scale is drawn here too: one face per scale point, from a frown to a
smile, for any scale of 2 to 7 points.
"""

from __future__ import annotations

from typing import Any

#: ("circle", cx, cy, r) | ("dot", cx, cy, r) | ("line", x1, y1, x2, y2) | ("rect", x, y, w, h)
#: | ("poly", ((x, y), ...), closed) | ("arc", cx, cy, r, start_deg, extent_deg)
Stroke = tuple[Any, ...]

_PERSON: tuple[Stroke, ...] = (("circle", 50, 24, 14), ("poly", ((22, 92), (24, 60), (34, 46), (66, 46), (76, 60),
                                                                  (78, 92)), False))


def _person(dx: float, dy: float, s: float) -> tuple[Stroke, ...]:
    return (("circle", dx + 50 * s, dy + 24 * s, 14 * s),
            ("poly", tuple((dx + x * s, dy + y * s) for x, y in ((22, 92), (24, 60), (34, 46), (66, 46), (76, 60),
                                                                   (78, 92))), False))


PICTURES: dict[str, tuple[Stroke, ...]] = {
    # a person: me
    "person": _PERSON,
    # a page with lines and a pen: writing my plan
    "plan": (("poly", ((18, 8), (62, 8), (74, 20), (74, 92), (18, 92)), True), ("line", 28, 32, 64, 32),
             ("line", 28, 46, 64, 46), ("line", 28, 60, 52, 60), ("poly", ((60, 86), (92, 54), (98, 60), (66, 92),
                                                                              (58, 94)), True)),
    # a house and a heart: my whole life
    "life": (("poly", ((12, 50), (50, 16), (88, 50)), False), ("poly", ((22, 42), (22, 92), (78, 92), (78, 42)),
                                                               False),
             ("poly", ((50, 82), (34, 66), (34, 58), (42, 52), (50, 58), (58, 52), (66, 58), (66, 66)), True)),
    # a light bulb: new ideas
    "idea": (("circle", 50, 38, 26), ("line", 40, 64, 40, 78), ("line", 60, 64, 60, 78), ("line", 40, 78, 60, 78),
             ("line", 42, 86, 58, 86), ("line", 50, 4, 50, 0), ("line", 14, 14, 10, 10), ("line", 86, 14, 90, 10)),
    # two people side by side: who helps me
    "helpers": (*_person(-18, 8, 0.8), *_person(38, 8, 0.8)),
    # a speech bubble: people who listen and talk openly
    "talk": (("poly", ((8, 12), (92, 12), (92, 66), (44, 66), (26, 88), (30, 66), (8, 66)), True),
             ("line", 22, 30, 78, 30), ("line", 22, 46, 64, 46)),
    # three people: family and friends
    "family": (*_person(-26, 16, 0.62), *_person(19, 2, 0.78), *_person(58, 16, 0.62)),
    # an i in a circle: information
    "information": (("circle", 50, 50, 40), ("dot", 50, 30, 5), ("line", 50, 44, 50, 74)),
    # a path with a turn and a flag: taking risks, changing my mind
    "choice": (("poly", ((50, 96), (50, 56), (20, 26)), False), ("line", 50, 56, 80, 26),
               ("poly", ((20, 26), (20, 6), (40, 12), (20, 18)), True), ("poly", ((80, 26), (80, 6), (100, 12),
                                                                                    (80, 18)), True)),
    # a calendar: knowing what happens and when
    "calendar": (("rect", 12, 18, 76, 72), ("line", 12, 36, 88, 36), ("line", 32, 10, 32, 26),
                 ("line", 68, 10, 68, 26), ("dot", 30, 52, 4), ("dot", 50, 52, 4), ("dot", 70, 52, 4),
                 ("dot", 30, 72, 4), ("dot", 50, 72, 4)),
    # two hands meeting (a tick in a circle): people did what they said
    "promise": (("circle", 50, 50, 40), ("poly", ((30, 52), (44, 66), (72, 36)), False)),
    # a pencil over lines: tell us more
    "write": (("line", 10, 88, 90, 88), ("line", 10, 70, 50, 70), ("poly", ((54, 74), (86, 14), (96, 20), (64, 80),
                                                                             (52, 84)), True)),
    # an envelope: post it back
    "post": (("rect", 8, 24, 84, 56), ("poly", ((8, 24), (50, 56), (92, 24)), False)),
    # a question mark in a circle
    "question": (("circle", 50, 50, 40), ("arc", 50, 38, 13, -200, 90), ("line", 50, 51, 50, 60),
                 ("dot", 50, 72, 4)),
    # a heart: what matters to me
    "heart": (("poly", ((50, 86), (14, 50), (12, 32), (24, 18), (40, 18), (50, 30), (60, 18), (76, 18), (88, 32),
                        (86, 50)), True),),
    # a banknote: being paid
    "money": (("rect", 6, 26, 88, 48), ("circle", 50, 50, 14), ("line", 16, 36, 24, 36), ("line", 76, 64, 84, 64)),
    # a bus: travel
    "travel": (("rect", 10, 14, 80, 62), ("line", 10, 46, 90, 46), ("line", 36, 14, 36, 46),
               ("line", 64, 14, 64, 46), ("circle", 28, 84, 8), ("circle", 72, 84, 8)),
    # an adult and a child: childcare, caring for others
    "child": (*_person(-14, 2, 0.9), *_person(46, 40, 0.55)),
    # a map pin: where things happen
    "place": (("poly", ((50, 96), (24, 56), (20, 40), (28, 20), (50, 8), (72, 20), (80, 40), (76, 56)), True),
              ("circle", 50, 38, 12)),
    # a star: what people are good at
    "star": (("poly", ((50, 6), (61, 38), (95, 38), (68, 58), (78, 92), (50, 72), (22, 92), (32, 58), (5, 38),
                       (39, 38)), True),),
    # houses side by side: the community
    "community": (("poly", ((4, 56), (26, 34), (48, 56)), False), ("rect", 10, 56, 32, 36),
                  ("poly", ((52, 46), (74, 22), (96, 46)), False), ("rect", 58, 46, 32, 46)),
    # a telephone handset: contact us
    "phone": (("poly", ((22, 12), (38, 12), (44, 32), (34, 40), (60, 66), (68, 56), (88, 62), (88, 78), (76, 88),
                        (12, 24)), True),),
}


def face(point: int, points: int) -> tuple[Stroke, ...]:
    """The face for scale point `point` (0-based) of `points`: the first frowns, the last smiles broadly."""
    mood = point / max(points - 1, 1) * 2 - 1  # -1 (frown) .. +1 (smile)
    curve = 24 * mood
    mouth = tuple((30 + 40 * t, 66 + curve * (1 - (2 * t - 1) ** 2) - curve * 0.5) for t in
                  (i / 8 for i in range(9)))
    return (("circle", 50, 50, 44), ("dot", 35, 36, 5.5), ("dot", 65, 36, 5.5), ("poly", mouth, False))
