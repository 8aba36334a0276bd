"""One error hierarchy: everything mmrag raises on purpose is an `MmragError`.

Each class also derives from the built-in exception it replaces (ValueError, KeyError, ...), so
code written against those keeps working. Messages name the bad value and the valid ones, and say
what to do. The CLI prints an `MmragError` as one line (exit code 2); anything else is a bug and
keeps its traceback.
"""
from __future__ import annotations

from typing import Iterable

from encoders import ModelUnavailableError as _EncoderModelUnavailable


class MmragError(Exception):
    """Base class of every error mmrag raises on purpose."""


class ConfigError(MmragError, ValueError):
    """A library config or an option that is invalid (the message names it and the valid values)."""


class BadOptionError(ConfigError, TypeError):
    """An option (keyword argument) a function does not take; the message lists the ones it takes."""


class UnknownNameError(MmragError, KeyError, ValueError):
    """A name (space, encoder, generator, eval, table...) that is not registered."""

    def __init__(self, what: str, name: object, valid: Iterable[object] = (), where: str = "") -> None:
        choices = ", ".join(map(str, valid)) or "none"
        place = f" in {where}" if where else ""
        super().__init__(f"unknown {what} {name!r}{place}; valid: {choices}")
        self.what, self.name = what, name

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class BadQueryError(MmragError, ValueError):
    """A search, question or moment query that cannot be run as given."""


class ModelMissingError(MmragError, _EncoderModelUnavailable, FileNotFoundError):
    """A model whose weights (or runtime) are not on this machine; the message says how to get them."""


class DataMissingError(MmragError, FileNotFoundError):
    """Data a command needs (an evaluation set, a file named on the command line) is not there."""


class ModelCorruptError(ModelMissingError, ValueError):
    """A model file whose checksum does not match; the message says how to get a good copy."""


class DependencyMissingError(MmragError, ImportError):
    """An optional package that is not installed; the message gives the install command."""


class GenerationError(MmragError, RuntimeError):
    """A generator (LLM, VLM) that failed while answering."""


class PromptTooLongError(GenerationError, ValueError):
    """A prompt longer than the generator's context window (a ValueError, as llama.cpp raises)."""


class DiskFullError(MmragError, OSError):
    """Not enough disk space for what was asked; the message says how much is needed."""


class LibraryBusyError(MmragError, RuntimeError):
    """Another process is writing to the same library."""


class LibraryDamagedError(MmragError, RuntimeError):
    """A library file that cannot be read; the message names the file and `mmrag doctor`."""


class ArchiveError(MmragError, ValueError):
    """An export archive that cannot be read or imported (not an mmrag export, damaged, unsafe member)."""


class IngestError(MmragError):
    """A file that cannot be ingested; the message says why and what to do."""


class VideoError(MmragError):
    """A video that cannot be read at all; the message says why and what to do."""


class TableFileError(MmragError, ValueError):
    """A table file that cannot be read (empty, unknown format, no header)."""


class SQLError(MmragError, RuntimeError):
    """A query that DuckDB could not run (its message is meant to be shown to the model)."""


class SQLRefused(SQLError):
    """A query refused by the safety rules (not a SELECT, several statements, file access, ...)."""


class SQLTimeout(SQLError):
    """A query that ran longer than the timeout and was interrupted."""


def model_missing(exc: BaseException) -> ModelMissingError:
    """An encoder's or runtime's "model unavailable" error as mmrag's own (same message)."""
    return exc if isinstance(exc, ModelMissingError) else ModelMissingError(str(exc))
