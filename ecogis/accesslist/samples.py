"""The bundled sample access lists (layers/accesslists/) and temp workspaces that carry them."""

from __future__ import annotations

import shutil
from pathlib import Path

from ecogis.settings import settings

#: The sample lists each seed city's workspace gets: the region-wide list and its league/city list.
CITY_LISTS = {
    "genhe": ("neimenggu_region.csv", "hulunbuir.xlsx"),
    "manzhouli": ("neimenggu_region.csv", "hulunbuir.xlsx"),
    "xilinhot": ("neimenggu_region.csv", "xilinhot.csv"),
    "arxan": ("neimenggu_region.csv", "arxan.xlsx"),
}


def lists_dir() -> Path:
    """``layers/accesslists`` beside the sample workspaces."""
    return Path(settings.sample_dir).parent / "accesslists"


def with_sample_lists(city: str, sample_dir: str | Path, dest_dir: str | Path) -> Path:
    """Copy ``<sample_dir>/<city>.gpkg`` to ``dest_dir`` and import the city's sample lists into the copy.

    The bundled workspace is never changed.  Returns the copy's path.
    """
    from ecogis.accesslist.store import import_accesslist

    src = Path(sample_dir) / f"{city}.gpkg"
    dest = Path(dest_dir) / f"{city}.gpkg"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dest)
    for name in CITY_LISTS.get(city, ()):
        path = lists_dir() / name
        if path.is_file():
            import_accesslist(path, dest)
    return dest
