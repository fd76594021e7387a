"""Notes: what ecogis did to the data on the way in.

Repairs, field-name mappings, dropped Z values, detected encodings and CRS
decisions are never silent.  Each step appends a :class:`Note` to a
:class:`Notes` list, which the command line prints and the workspace stores
with the layer's metadata.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable


@dataclass(frozen=True)
class Note:
    """One thing done to the data.

    ``code`` is a short machine-readable tag (``repair``, ``alias``,
    ``encoding``, ``drop_z``, ``crs``, ``value``, ``drop_empty``, ``area``,
    ``shift``); ``ids`` lists the feature IDs concerned, if any.
    """

    code: str
    message: str
    ids: tuple[Any, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ids"] = [_plain(i) for i in self.ids]
        return d

    def __str__(self) -> str:
        if not self.ids:
            return f"[{self.code}] {self.message}"
        shown = ", ".join(str(i) for i in self.ids[:20])
        more = f" … (+{len(self.ids) - 20} more)" if len(self.ids) > 20 else ""
        return f"[{self.code}] {self.message}: {shown}{more}"


def _plain(value: Any) -> Any:
    """Turn numpy scalars into plain Python values for JSON."""
    if hasattr(value, "item"):
        try:
            return value.item()
        except (ValueError, AttributeError):
            pass
    return value


class Notes(list):
    """A list of :class:`Note` with a convenience :meth:`add`."""

    def add(self, code: str, message: str, ids: Iterable[Any] = ()) -> Note:
        note = Note(code, message, tuple(ids))
        self.append(note)
        return note

    def by_code(self, code: str) -> list[Note]:
        return [n for n in self if n.code == code]

    def as_dicts(self) -> list[dict[str, Any]]:
        return [n.as_dict() for n in self]
