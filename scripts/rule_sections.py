"""Find the chapter, section and item of a plan line, for the ``section`` of local rules.

The seed plans number their headings in two styles: 第X章 / 第X节 (Arxan, Manzhouli,
Xilinhot) or 一、 / （一） (Genhe).  Items inside a section are ``1.``, ``1、`` or ``1 、``.
For a line, the nearest preceding heading of each level is its place in the plan.

Usage::

    python scripts/rule_sections.py SEED_FILE LINE        # print the section of a line
    python scripts/rule_sections.py --write rules/local/genhe.yaml --seeds ../shared/seeds
        # add or refresh ``section:`` after every ``source:`` line of a local rule file

Headings inside the table of contents (lines ending in a page number) and in the
indicator tables are skipped.  Print the result and read it before committing.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

_NUM = "一二三四五六七八九十百"
_BOOK = r"^\s*(?:\[bookmark:[^\]]*\]\s*)*"
CHAPTER = re.compile(_BOOK + rf"(第[{_NUM}]+章)\s*\S")
SECTION = re.compile(_BOOK + rf"(第[{_NUM}]+节)\s*\S")
PART = re.compile(_BOOK + rf"([{_NUM}]+)、\s*\S")
SUBPART = re.compile(_BOOK + rf"（([{_NUM}]+)）\s*\S")
ITEM = re.compile(r"^\s*([0-9]{1,2})\s*[.、．]\s*\S")
TOC = re.compile(r"(\.{3,}|\t)\s*[0-9]+\s*$")


def headings(lines: list[str]) -> list[tuple[int, str, str]]:
    """``(line, level, label)`` of every heading; level is ``chapter``, ``section`` or ``item``."""
    out = []
    styled = any(CHAPTER.match(x) for x in lines)
    for i, text in enumerate(lines, 1):
        bare = re.sub(r"\[bookmark:[^\]]*\]", "", text).strip()
        if TOC.search(text) or len(bare) > 60:
            continue
        if styled:
            if m := CHAPTER.match(text):
                out.append((i, "chapter", m.group(1)))
            elif m := SECTION.match(text):
                out.append((i, "section", m.group(1)))
            elif m := ITEM.match(text):
                out.append((i, "item", m.group(1)))
        else:
            if m := PART.match(text):
                out.append((i, "chapter", f"第{m.group(1)}部分"))
            elif m := SUBPART.match(text):
                out.append((i, "section", f"（{m.group(1)}）"))
            elif m := ITEM.match(text):
                out.append((i, "item", m.group(1)))
    return out


def section_of(lines: list[str], line: int) -> str:
    """The chapter, section and item of 1-based ``line``, e.g. ``第三章第三节第1项``."""
    chapter = section = item = ""
    for i, level, label in headings(lines):
        if i > line:
            break
        if level == "chapter":
            chapter, section, item = label, "", ""
        elif level == "section":
            section, item = label, ""
        else:
            item = label if (chapter or section) else ""
    text = chapter + section + (f"第{item}项" if item else "")
    return text or "前言"


def _write(path: Path, seeds: Path) -> int:
    src_re = re.compile(r"^(\s*)source:\s*\{file:\s*([^,]+),\s*line:\s*([0-9]+)")
    out: list[str] = []
    n = 0
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    cache: dict[str, list[str]] = {}
    i = 0
    while i < len(lines):
        text = lines[i]
        out.append(text)
        m = src_re.match(text)
        if m:
            indent, seed, ln = m.group(1), m.group(2).strip(), int(m.group(3))
            if seed not in cache:
                cache[seed] = (seeds / seed).read_text(encoding="utf-8").splitlines()
            out.append(f"{indent}section: {section_of(cache[seed], ln)}\n")
            n += 1
            if i + 1 < len(lines) and lines[i + 1].strip().startswith("section:"):
                i += 1
        i += 1
    path.write_text("".join(out), encoding="utf-8")
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("seed", nargs="?")
    ap.add_argument("line", nargs="?", type=int)
    ap.add_argument("--write", help="a local rule file to update")
    ap.add_argument("--seeds", default="../shared/seeds", help="the seed folder")
    a = ap.parse_args(argv)
    if a.write:
        print(f"{a.write}: {_write(Path(a.write), Path(a.seeds))} sections")
        return 0
    if not (a.seed and a.line):
        ap.error("give SEED_FILE LINE or --write")
    print(section_of(Path(a.seed).read_text(encoding="utf-8").splitlines(), a.line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
