"""PaperVoice: accessible paper checklists in, an evaluator's workbook out.

Stages: generate (print forms) -> scan (read returns into the ledger) ->
review (a person settles what the machine was unsure of) -> export (workbook).
"""

__version__ = "0.1.0"
