"""Words people build guessable access tokens from: the commonest passwords' parts and everyday English.

`options.weak_token` counts each of these in a token as one guess from a list of WORD_GUESSES, not as its
letters: 'correct-horse-battery' is three words, about 33 bits, not twenty random characters.
"""

from __future__ import annotations

#: How many words a guesser's list is assumed to hold: each word found counts log2 of this many bits.
WORD_GUESSES = 2048

_LIST = """
password passw0rd pass word admin administrator root user guest login letmein welcome secret master
qwerty qwertz azerty asdf zxcv abc abcd abcdef iloveyou love monkey dragon football baseball soccer
shadow sunshine princess superman batman trustno1 starwars whatever freedom hello hallo charlie
michael jessica ashley daniel thomas jordan hunter ranger buster tigger killer pepper ginger summer
winter spring autumn monday friday january december london england britain review papervoice token
access office survey paper voice scan scanner print care support plan planning team staff nurse
correct horse battery staple apple orange banana cherry lemon purple yellow green black white blue red
silver golden gold money happy lucky cookie coffee chocolate computer internet google facebook
change changeme default test testing demo sample example server local host network company service
open close start stop home house garden flower water fire earth light night morning evening
one two three four five six seven eight nine ten first second third north south east west
the and for you with this that from have are was were will your our my me be is it in on at of to
cat dog fish bird tiger lion bear wolf eagle mouse rabbit horse donkey sheep cow pig duck
"""
WORDS = frozenset(_LIST.split())
