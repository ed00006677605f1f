"""Wrappers around the external programs PaperVoice runs (poppler, tesseract).

Each program gets exactly one module, so version checks, timeouts, the
environment it runs in and the translation of its failures into PaperVoice
errors (with advice a person can act on) live in one place per program.
"""
