"""PaperVoice errors.

Every error carries the exit code the command line will return, so the mapping
from failure to exit status lives in one place (`ExitCode`) and the CLI edge
only has to catch `PaperVoiceError`.  The Python API raises these; it never
calls `sys.exit`.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit statuses documented in the README for scripts to rely on."""

    OK = 0
    INPUT_FAILED = 1  # the batch ran, but some input could not be read
    USAGE = 2  # bad command line, options or form definition
    MISSING_DEPENDENCY = 3  # an external program (tesseract, poppler) is missing or too old
    LEDGER = 4  # the ledger could not be opened or written (read-only, disk full, corrupt)
    OUTPUT = 5  # an output file (PDF, workbook, CSV, pictures) could not be written: no folder, no right, disk full
    INTERRUPTED = 130  # Ctrl-C: what was committed stays committed


class PaperVoiceError(Exception):
    """Base class: a message a non-programmer can act on, plus an exit code."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, advice: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.advice = advice

    def __str__(self) -> str:
        if self.advice:
            return f"{self.message}\n  What to do: {self.advice}"
        return self.message


class UsageError(PaperVoiceError):
    exit_code = ExitCode.USAGE


class FormDefinitionError(PaperVoiceError):
    """A form YAML file is invalid; the message names file, field and fix."""

    exit_code = ExitCode.USAGE


class UnknownFormError(PaperVoiceError):
    exit_code = ExitCode.USAGE


class MissingDependencyError(PaperVoiceError):
    exit_code = ExitCode.MISSING_DEPENDENCY


class ExternalProgramError(PaperVoiceError):
    """An external program ran but failed or timed out."""

    exit_code = ExitCode.INPUT_FAILED


class InputFileError(PaperVoiceError):
    """One input file (or page) cannot be read.  The batch goes on."""

    exit_code = ExitCode.INPUT_FAILED

    def __init__(self, path: str, message: str, advice: str | None = None) -> None:
        super().__init__(f"{path}: {message}", advice)
        self.path = path
        self.reason = message
        self._args: tuple[object, ...] = (path, message, advice)

    def __reduce__(self) -> tuple[object, ...]:
        # raised in a worker process, it must survive the trip back to the coordinator
        return (type(self), self._args)


class LedgerError(PaperVoiceError):
    exit_code = ExitCode.LEDGER


class OutputError(PaperVoiceError):
    """A file PaperVoice makes (print PDF, manifest, workbook, CSV) could not be written; nothing half-written is
    left under its name.  Not a usage error: the command was right, the disk or the folder was not."""

    exit_code = ExitCode.OUTPUT
