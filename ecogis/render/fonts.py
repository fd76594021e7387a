"""The CJK font of every PNG and PDF ecogis draws.

The set-up (``make install``) fetches Noto Sans SC from the npm registry,
pinned with its integrity in ``fonts/package-lock.json``, into
``.venv/fonts``: static TrueType (glyf) instances of Google Fonts' Noto Sans
SC 2.004 (SIL Open Font License 1.1, ``LICENSE_FONT`` beside the files; the
package is ``@expo-google-fonts/noto-sans-sc``).  They cover the whole CJK
Unified Ideographs block and GB 2312, and, being TrueType, PDFs embed them as
CID TrueType (Type 42) subsets, which print shops accept (Type 3 they reject).

A wheel built by ``make dist`` carries the same two files (with the licence)
as package data, so a ``pip install`` of it needs no npm step for fonts.
That font is used whatever the system has.  Where it is not installed, a CJK
font matplotlib finds on the system is used instead (Noto Sans CJK and
others; their CFF outlines embed as CID Type 0C).  ``ECOGIS_FONT_DIR`` names a
folder with the Noto Sans SC TrueType files (or the npm package folder) to use
instead of the set-up one; when set it must hold them.

``ECOGIS_SYSTEM_FONTS=0`` makes ecogis use no system font at all: matplotlib
keeps only its own DejaVu fonts and the set-up Noto Sans SC, as on a machine
with no fonts installed (CI proves the set-up font this way, with an empty
fontconfig as well).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib
from matplotlib import font_manager

from ecogis.errors import EcogisError
from ecogis.settings import bundled_path, checkout_root

#: The npm package and version pinned in ``fonts/package.json``.
FONT_PACKAGE = "@expo-google-fonts/noto-sans-sc"
FONT_VERSION = "0.4.3"
#: The family name inside the files.
BUNDLED_FAMILY = "Noto Sans SC"
#: Files of the package that the set-up keeps (others weights are removed).
BUNDLED_FILES = ("400Regular/NotoSansSC_400Regular.ttf", "700Bold/NotoSansSC_700Bold.ttf")

#: CJK families tried in turn on the system when the set-up font is absent (first found wins).
SYSTEM_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
                   "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Noto Sans CJK TC", "Noto Sans CJK JP")
_SYSTEM_PATHS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                 "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf")

#: What installs the font (the Makefile's ``fonts`` target).
INSTALL_HINT = (
    "install the bundled font: `make fonts`, i.e. `mkdir -p .venv/fonts && cp fonts/package.json "
    "fonts/package-lock.json .venv/fonts/ && npm ci --prefix .venv/fonts --ignore-scripts` "
    f"(or `npm install --prefix \"$VIRTUAL_ENV/fonts\" {FONT_PACKAGE}@{FONT_VERSION}` for a pip install); "
    "or set ECOGIS_FONT_DIR to a folder with NotoSansSC_400Regular.ttf; "
    "or install a system CJK font (Debian: apt-get install fonts-noto-cjk)"
)


class FontError(EcogisError):
    """No font that can draw Chinese text is installed."""


def _package_dir(prefix: Path) -> Path:
    return prefix / "fonts" / "node_modules" / FONT_PACKAGE


def font_search_dirs() -> list[Path]:
    """Folders searched for the set-up font, in order (``ECOGIS_FONT_DIR`` alone when set).

    The running virtualenv's ``fonts/`` (``<sys.prefix>/fonts``, where ``make`` puts it for any
    ``VENV``), the wheel's package data (``ecogis/_bundled/fonts/noto-sans-sc``, copied in by
    ``make dist``), then a source checkout's ``.venv/fonts``.
    """
    env = os.environ.get("ECOGIS_FONT_DIR")
    if env:
        return [Path(env).expanduser()]
    dirs = [_package_dir(Path(sys.prefix)), bundled_path("fonts/noto-sans-sc")]
    checkout = checkout_root()
    if checkout is not None:  # run from a checkout with another interpreter (PYTHONPATH=.)
        dirs.append(_package_dir(checkout / ".venv"))
    return list(dict.fromkeys(dirs))


def _files_in(folder: Path) -> list[Path] | None:
    """The set-up font files in ``folder`` (npm layout or flat), or ``None``."""
    for files in ([folder / f for f in BUNDLED_FILES], [folder / Path(f).name for f in BUNDLED_FILES]):
        if files[0].is_file():
            return [f for f in files if f.is_file()]
    return None


def bundled_font_files() -> list[Path] | None:
    """The set-up Noto Sans SC files (regular first), or ``None`` if not installed."""
    for folder in font_search_dirs():
        files = _files_in(folder)
        if files:
            return files
    return None


def _registered(path: Path) -> bool:
    target = os.path.realpath(path)
    return any(os.path.realpath(f.fname) == target for f in font_manager.fontManager.ttflist)


def system_fonts_allowed() -> bool:
    """False when ``ECOGIS_SYSTEM_FONTS`` is ``0``/``false``/``no``/``off``."""
    return os.environ.get("ECOGIS_SYSTEM_FONTS", "1").strip().lower() not in {"0", "false", "no", "off"}


def _hide_system_fonts(keep: list[Path]) -> None:
    """Drop every font but matplotlib's own and ``keep`` from matplotlib's font manager."""
    own = Path(matplotlib.get_data_path()).resolve()
    kept = {os.path.realpath(p) for p in keep}
    fm = font_manager.fontManager
    before = len(fm.ttflist)
    fm.ttflist = [f for f in fm.ttflist
                  if own in Path(f.fname).resolve().parents or os.path.realpath(f.fname) in kept]
    if len(fm.ttflist) != before:
        fm._findfont_cached.cache_clear()


def find_cjk_font() -> tuple[str, str]:
    """``(family, file)`` of the CJK font to draw with, registered with matplotlib's font manager.

    The set-up Noto Sans SC if installed; else a system CJK font.

    Raises
    ------
    FontError
        ``ECOGIS_FONT_DIR`` is set but holds no Noto Sans SC, or no CJK font is installed at all.
    """
    files = bundled_font_files()
    if not system_fonts_allowed():
        _hide_system_fonts(files or [])
    if files:
        for f in files:
            if not _registered(f):
                font_manager.fontManager.addfont(str(f))
        return BUNDLED_FAMILY, str(files[0])
    if os.environ.get("ECOGIS_FONT_DIR"):
        raise FontError(f"ECOGIS_FONT_DIR holds no {Path(BUNDLED_FILES[0]).name}",
                        path=os.environ["ECOGIS_FONT_DIR"], hint=INSTALL_HINT)
    if not system_fonts_allowed():
        raise FontError("the bundled CJK font is not installed and ECOGIS_SYSTEM_FONTS=0 forbids system fonts",
                        path=", ".join(map(str, font_search_dirs())) or None, hint=INSTALL_HINT)
    names = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    for fam in SYSTEM_FAMILIES:
        if fam in names:
            return fam, names[fam]
    for path in _SYSTEM_PATHS:  # a font installed after matplotlib's font cache was written
        if os.path.exists(path):
            font_manager.fontManager.addfont(path)
            names = {f.name: f.fname for f in font_manager.fontManager.ttflist}
            for fam in SYSTEM_FAMILIES:
                if fam in names:
                    return fam, names[fam]
    raise FontError("no CJK font found: Chinese text would print as empty boxes", hint=INSTALL_HINT)


def rc_params(family: str) -> dict[str, object]:
    """matplotlib settings for a PNG/PDF whose text is in ``family``: TrueType (Type 42) embedding, never Type 3.

    DejaVu Sans (shipped with matplotlib) follows as the fallback for any glyph the CJK font lacks.
    """
    return {"font.family": [family, "DejaVu Sans"], "axes.unicode_minus": False,
            "pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "none"}
