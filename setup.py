"""Packaging of the data folders (the project metadata is in pyproject.toml).

The rule files, layer schemas, sample workspaces and map specs live at the
top of the repository (``rules/``, ``layers/``, ``maps/``), where their
authors edit them.  A wheel carries them as package data under
``ecogis/_bundled/`` by a ``package_dir`` mapping (nothing is copied or
moved in the tree); ``ecogis.settings.bundled_path`` finds them at run time
through ``importlib.resources``.

The offline web-map assets (Leaflet and plugins, pinned in
``web/package-lock.json``) are not in the repository: they are installed by
``npm ci`` into ``.venv/web`` at set-up.  When that folder (or
``ECOGIS_WEB_ASSETS_DIR``) exists at build time, the files ecogis inlines and
each package's licence are copied into the wheel under
``ecogis/_bundled/web/node_modules/``; a wheel built without them reads the
assets from ``<venv>/web/node_modules`` (see ``ecogis.render.assets``).  In
the same way the CJK font that the set-up fetched into ``.venv/fonts`` (or
``ECOGIS_FONT_DIR``), checked against ``fonts/SHA256SUMS``, goes into
``ecogis/_bundled/fonts/noto-sans-sc/`` with its licence (SIL OFL 1.1).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

from setuptools import Extension, find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent

#: ``ecogis._bundled.<name>`` → repository folder.
BUNDLED = {"rules": "rules", "layers": "layers", "maps": "maps"}
#: Data files taken from those folders and their subfolders (each one a data-only package).
DATA_PATTERNS = ["*.yaml", "*.json", "*.md", "*.gpkg", "*.csv", "*.geojson", "*.txt", "*.xlsx"]


def _web_asset_files() -> list[tuple[Path, str]]:
    """``(source, path under node_modules)`` of every asset ecogis inlines, plus licences; [] if not installed."""
    src = Path(os.environ.get("ECOGIS_WEB_ASSETS_DIR") or HERE / ".venv" / "web" / "node_modules")
    assets_py = (HERE / "ecogis" / "render" / "assets.py").read_text(encoding="utf-8")
    files = set(re.findall(r'Asset\("([^"]+)", "([^"]+)"\)', assets_py))
    files |= {("leaflet", f) for f in re.findall(r'"(dist/images/[^"]+)"', assets_py)}
    if not src.is_dir() or not files:
        return []
    out = []
    for package, rel in sorted(files):
        path = src / package / rel
        if not path.is_file():
            return []
        out.append((path, f"{package}/{rel}"))
        if rel.endswith(".css"):  # files a stylesheet refers to (inlined as data: URIs at run time)
            css = path.read_text(encoding="utf-8")
            for ref in re.findall(r"""url\(\s*["']?([^"')]+?)["']?\s*\)""", css):
                ref = ref.split("?")[0].split("#")[0]
                if not ref or re.match(r"^(data:|[a-z][a-z0-9+.-]*:|//)", ref, re.I):
                    continue
                target = (path.parent / ref).resolve()
                if target.is_file():
                    out.append((target, f"{package}/{(Path(rel).parent / ref).as_posix()}"))
    for package in sorted({p for p, _ in files}):
        for lic in sorted((src / package).glob("LICEN[CS]E*")) + [src / package / "package.json"]:
            if lic.is_file():
                out.append((lic, f"{package}/{lic.name}"))
    return sorted(set(out), key=lambda t: t[1])


def _font_files() -> list[Path]:
    """The set-up Noto Sans SC files (Regular, Bold, licence), checked against fonts/SHA256SUMS; [] if absent."""
    src = Path(os.environ.get("ECOGIS_FONT_DIR") or
               HERE / ".venv" / "fonts" / "node_modules" / "@expo-google-fonts" / "noto-sans-sc")
    sums = HERE / "fonts" / "SHA256SUMS"
    want = {}
    if sums.is_file():
        want = {Path(line.split()[1]).name: line.split()[0] for line in sums.read_text().splitlines() if line.strip()}
    out = []
    for rel in ("400Regular/NotoSansSC_400Regular.ttf", "700Bold/NotoSansSC_700Bold.ttf", "LICENSE_FONT"):
        path = next((p for p in (src / rel, src / Path(rel).name) if p.is_file()), None)
        if path is None:
            return []
        if want.get(path.name) and hashlib.sha256(path.read_bytes()).hexdigest() != want[path.name]:
            raise SystemExit(f"ecogis: {path} does not match fonts/SHA256SUMS")
        out.append(path)
    return out


class BuildPyWithAssets(build_py):
    """``build_py`` that also copies the installed web-map assets and the CJK font into the wheel (when present)."""

    def run(self) -> None:
        super().run()
        bundled = Path(self.build_lib) / "ecogis" / "_bundled"
        files = _web_asset_files()
        for src, rel in files:
            dest = bundled / "web" / "node_modules" / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
        print(f"ecogis: {len(files)} web-map asset files copied into the wheel" if files else
              "ecogis: web-map assets not installed (make web-assets); the wheel reads them from <venv>/web")
        font = _font_files()
        for src in font:
            dest = bundled / "fonts" / "noto-sans-sc" / src.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
        print("ecogis: Noto Sans SC copied into the wheel" if font else
              "ecogis: the bundled font is not installed (make fonts); the wheel reads it from <venv>/fonts")


def _data_packages() -> list[str]:
    """``ecogis._bundled.<name>[.<subfolder>...]`` for every folder under the mapped ones."""
    out = []
    for name, folder in BUNDLED.items():
        root = HERE / folder
        for sub in sorted([root, *(p for p in root.rglob("*") if p.is_dir())]):
            rel = sub.relative_to(root).parts
            if any(part.startswith((".", "_")) or part == "node_modules" or not part.isidentifier() for part in rel):
                continue
            out.append(".".join(("ecogis", "_bundled", name, *rel)))
    return out


packages = find_packages(include=["ecogis", "ecogis.*"]) + _data_packages()

setup(
    packages=packages,
    package_dir={f"ecogis._bundled.{name}": folder for name, folder in BUNDLED.items()},
    package_data={
        "ecogis": ["data/*", "data/**/*", "serve/templates/*", "serve/static/*"],
        **{pkg: DATA_PATTERNS for pkg in _data_packages()},
    },
    cmdclass={"build_py": BuildPyWithAssets},
    # The convex-clip kernel of the screening engine (ecogis/screening/convexclip.py).  Optional: where no C
    # compiler is found the build goes on without it and the engine asks GEOS for every overlap.
    ext_modules=[Extension("ecogis.screening._convexclip", ["ecogis/screening/_convexclip.c"],
                           extra_compile_args=["-O2"], optional=True)],
)
