"""The GB/T 4754-2017 industry picker: code, name and pinyin initials, searchable."""

from __future__ import annotations

import functools


def _initials(name: str) -> str:
    try:
        from pypinyin import Style, lazy_pinyin
    except ImportError:  # the picker still finds codes and names
        return ""
    return "".join(p[0] for p in lazy_pinyin(name, style=Style.FIRST_LETTER, errors="ignore") if p).lower()


@functools.lru_cache(maxsize=1)
def industries() -> tuple[dict[str, str], ...]:
    """Every code in ``rules/taxonomy.yaml`` with its name and pinyin initials."""
    from ecogis.rules.taxonomy import load_taxonomy

    tax = load_taxonomy()
    return tuple({"code": c, "name": n, "py": _initials(n)} for c, n in sorted(tax.codes.items()))


def search(q: str, limit: int = 30) -> list[dict[str, str]]:
    """Codes whose code, name or pinyin initials contain ``q`` (prefix matches first)."""
    q = (q or "").strip()
    items = industries()
    if not q:
        return [i for i in items if len(i["code"]) <= 3][:limit]
    ql = q.lower()
    hits = [i for i in items if ql in i["code"].lower() or q in i["name"] or (i["py"] and ql in i["py"])]
    hits.sort(key=lambda i: (not (i["code"].lower().startswith(ql) or i["py"].startswith(ql)), i["code"]))
    return hits[:limit]
