"""Argument checks of the ``ecogis`` command: numbers in range, output paths that can be written.

A bad value ends in argparse's usual ``error: argument --block: …`` and exit
status 2, naming the option and what it accepts; a bad path ends in a
:class:`~ecogis.errors.InputError` naming the option and the path (exit 2).

Exit statuses of the command (README "Exit codes"):

==  =========================================================================
0   success
1   only ``screen --fail-on``: a site's verdict is at least that severe
2   bad input or arguments: the message names the file, path or option
3   internal error (a bug): rerun with ``--debug`` and report the traceback
==  =========================================================================
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import Callable

from ecogis.errors import InputError

EXIT_OK = 0
EXIT_FAIL_ON = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


def _number(text: str, kind: type) -> float | int:
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a {'whole number' if kind is int else 'number'}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def int_in(lo: int | None = None, hi: int | None = None, *, meaning: str = "") -> Callable[[str], int]:
    """An argparse ``type``: a whole number within ``[lo, hi]``."""
    def parse(text: str) -> int:
        v = _number(text, int)
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise argparse.ArgumentTypeError(f"{v} is out of range: {_range(lo, hi)}{meaning}")
        return int(v)

    parse.__name__ = "whole number"
    return parse


def float_in(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
             meaning: str = "") -> Callable[[str], float]:
    """An argparse ``type``: a finite number within ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``)."""
    def parse(text: str) -> float:
        v = float(_number(text, float))
        bad_lo = lo is not None and (v <= lo if lo_open else v < lo)
        if bad_lo or (hi is not None and v > hi):
            raise argparse.ArgumentTypeError(f"{text} is out of range: {_range(lo, hi, lo_open)}{meaning}")
        return v

    parse.__name__ = "number"
    return parse


def _range(lo: float | None, hi: float | None, lo_open: bool = False) -> str:
    if lo is not None and hi is not None:
        return f"{'above' if lo_open else 'from'} {lo} {'up ' if lo_open else ''}to {hi}"
    if lo is not None:
        return f"{'above' if lo_open else 'at least'} {lo}"
    return f"at most {hi}"


def check_out_file(path: str | os.PathLike | None, option: str) -> None:
    """``path`` can be written as a file: not a folder, and no existing part of its parent is a file."""
    if path is None:
        return
    p = Path(path)
    if p.is_dir():
        raise InputError("is a folder; give a file name", path=p, where=option)
    _check_parents(p.parent, p, option)


def check_out_dir(path: str | os.PathLike | None, option: str) -> None:
    """``path`` can be used as an output folder: not a file, and no existing part of it is a file."""
    if path is None:
        return
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError("is a file, not a folder; give a folder for the outputs", path=p, where=option)
    _check_parents(p.parent, p, option)


def _check_parents(parent: Path, p: Path, option: str) -> None:
    for anc in [parent, *parent.parents]:
        if anc.exists():
            if not anc.is_dir():
                raise InputError(f"cannot write under {anc}: it is a file, not a folder", path=p, where=option)
            if not os.access(anc, os.W_OK | os.X_OK) and anc == parent:
                raise InputError(f"the folder {anc} is not writable", path=p, where=option)
            return
