"""Text encodings: UTF-8 (with or without BOM) and GBK/GB18030 are what Chinese data comes in."""

from __future__ import annotations

import codecs
import struct
from pathlib import Path

from charset_normalizer import from_bytes

from ecogis.errors import EncodingError


def detect_text_encoding(data: bytes, *, path=None) -> str:
    """Return ``utf-8-sig``, ``utf-8`` or ``gb18030`` for ``data``.

    UTF-8 is tried strictly first (a BOM makes it ``utf-8-sig``); then
    GB18030, the superset of GBK; then charset-normalizer's best guess.
    """
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        data.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data[:200_000]).best()
    if best is None:
        raise EncodingError("cannot determine the text encoding (not UTF-8 or GBK)", path=path)
    return best.encoding


def read_text(path: str | Path, encoding: str | None = None) -> tuple[str, str]:
    """Read a text file, detecting its encoding; return ``(text, encoding)``."""
    data = Path(path).read_bytes()
    enc = encoding or detect_text_encoding(data, path=path)
    try:
        return data.decode(enc), enc
    except (UnicodeDecodeError, LookupError) as exc:
        raise EncodingError(f"cannot decode as {enc}: {exc}", path=path) from None


def dbf_text_encoding(dbf: str | Path) -> str | None:
    """Guess the encoding of a ``.dbf``'s text from its records.

    Returns ``"UTF-8"`` or ``"GB18030"`` when the bytes decide it, or ``None``
    when the text is plain ASCII (any encoding reads it the same).
    """
    path = Path(dbf)
    with open(path, "rb") as fh:
        head = fh.read(32)
        if len(head) < 32:
            return None
        n_records, header_len, record_len = struct.unpack("<IHH", head[4:12])
        fh.seek(header_len)
        body = fh.read(min(n_records * record_len, 4_000_000))
    if all(b < 0x80 for b in body):
        return None
    try:
        body.decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError as exc:
        # a record cut at the read limit may split a character
        if exc.start >= len(body) - 4:
            return "UTF-8"
    try:
        body.decode("gb18030")
        return "GB18030"
    except UnicodeDecodeError:
        return None
