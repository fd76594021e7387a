"""Error classes.

Every problem with user input is raised as a subclass of :class:`EcogisError`.
The command line catches these, prints the message and exits with status 2;
anything else escaping is a bug.  Messages always name the file and, where it
applies, the place in it: a line, a feature ID, a rule ID or a key.
"""

from __future__ import annotations

from os import PathLike
from typing import Any, Iterable


def key_path(parts: Iterable[Any]) -> str:
    """The place of a key in a nested document: ``["layers", 1, "style"]`` → ``layers[1].style``.

    Rule files and map specs name the wrong key this way.
    """
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out


class EcogisError(Exception):
    """Base class of every error ecogis raises on purpose.

    Parameters
    ----------
    message:
        What is wrong, in plain words.
    path:
        The file the problem is in, if any.
    where:
        The place in the file: ``"line 12"``, ``"feature 7"``, ``"rule RL-01"``,
        ``"key layers[0].kind"``.
    hint:
        What the user can do about it.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | PathLike | None = None,
        where: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        self.where = where
        self.hint = hint
        super().__init__(self.__str__())

    def __reduce__(self):
        # kept whole when sent between processes (the server's screening processes raise these)
        return (_rebuild, (type(self), self.message, self.path, self.where, self.hint))

    def __str__(self) -> str:
        prefix = ""
        if self.path:
            prefix = self.path
            if self.where:
                prefix += f", {self.where}"
            prefix += ": "
        elif self.where:
            prefix = f"{self.where}: "
        text = prefix + self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


def _rebuild(cls: type, message: str, path: str | None, where: str | None, hint: str | None) -> EcogisError:
    return cls(message, path=path, where=where, hint=hint)


class InputError(EcogisError):
    """An input file cannot be read or does not make sense."""


class FormatError(InputError):
    """The file's format is unknown, or its content is not of that format."""


class EncodingError(InputError):
    """The text encoding of a file cannot be determined."""


class CRSError(InputError):
    """The coordinate reference system is missing, unknown or does not fit the data."""


class GeometryError(InputError):
    """A geometry is broken beyond repair, or of the wrong type."""


class EmptyLayerError(InputError):
    """A layer has no features."""


class GuotuTxtError(InputError):
    """A 国土TXT (界址点坐标交换格式) file is malformed."""


class LimitError(InputError):
    """An input exceeds a safety limit (size, vertices, archive expansion)."""


class SchemaError(InputError):
    """A layer's attributes do not satisfy the schema of its kind."""


class WorkspaceError(EcogisError):
    """A workspace cannot be opened, read or written."""


class RuleError(EcogisError):
    """A rule file or a rule in it is invalid."""


class SpecError(EcogisError):
    """A map spec is invalid."""
