"""Every error a user can fix, under one base.

Front ends (``kb`` CLI, ``kb eval``, the web UI) catch :class:`KbError` once and
show ``str(exc)`` as one line; anything else is a bug and keeps its traceback.
Each class names the stage it comes from; the built-in base it also derives
from (``ValueError``, ``RuntimeError``) is kept so older ``except`` clauses and
tests still match. This module imports nothing from kb (no cycles).
"""

from __future__ import annotations


class KbError(Exception):
    """A problem the user can fix (bad setting, query, corpus, index or model file)."""


# ------------------------------------------------------------------ settings, queries
class SettingsError(KbError, ValueError):
    """A setting has a value that cannot be used."""


class QueryError(KbError, ValueError):
    """The query or a command option cannot be used (empty question, bad value)."""


# ------------------------------------------------------------------ ingest
class CorpusError(KbError, ValueError):
    """The corpus folder is missing or holds no usable article."""


class IngestError(CorpusError):
    """A file cannot be turned into a Document (the message names the file)."""


class CueFileError(IngestError):
    """An instruction-cue file cannot be used (the message names it)."""


class UploadError(KbError, ValueError):
    """The uploaded file cannot be added; the message is one line for the user."""


# ------------------------------------------------------------------ index
class BadIndexError(KbError, RuntimeError):
    """The index is missing, damaged or does not match the current settings."""


class IndexMismatchError(BadIndexError):
    """The index was built with another model than the one configured."""


class BuildLocked(KbError, RuntimeError):
    """Another build holds the index lock."""


# ------------------------------------------------------------------ models
class ModelError(KbError, RuntimeError):
    """An embedding model cannot be loaded, converted or used."""


class EmbedderError(ModelError):
    """The embedding model cannot be loaded or used."""


class ConversionError(ModelError):
    """The bundled model cannot be converted (damaged, unknown format, missing deps)."""


class VerificationError(ConversionError):
    """The converted model does not reproduce the bundled engine's vectors."""


class CharsmapError(ModelError, ValueError):
    """The tokenizer's normalization map cannot be compiled."""


# ------------------------------------------------------------------ answer stage
class LexiconError(KbError, ValueError):
    """A lexicon file cannot be read or has a wrong shape (the message names it)."""


class AnswerModelError(KbError, ValueError):
    """The answer model file is missing, unreadable or does not fit this kb."""


# ------------------------------------------------------------------ evaluation
class DatasetError(KbError, ValueError):
    """The evaluation file cannot be read (the message names it)."""


class EvalError(KbError, ValueError):
    """A bad evaluation request (unknown mode, ...)."""
