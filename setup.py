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
assets from ``<venv>/web/node_modules`` (see ``ecogis.render.assets``).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent

#: ``ecogis._bundled.<name>`` → repository folder.
BUNDLED = {"rules": "rules", "layers": "layers", "maps": "maps"}
#: Data files taken from those folders and their subfolders (each one a data-only package).
DATA_PATTERNS = ["*.yaml", "*.json", "*.md", "*.gpkg", "*.csv", "*.geojson", "*.txt"]


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


class BuildPyWithWebAssets(build_py):
    """``build_py`` that also copies the installed web-map assets into the wheel (when present)."""

    def run(self) -> None:
        super().run()
        files = _web_asset_files()
        target = Path(self.build_lib) / "ecogis" / "_bundled" / "web" / "node_modules"
        for src, rel in files:
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
        print(f"ecogis: {len(files)} web-map asset files copied into the wheel" if files else
              "ecogis: web-map assets not installed (make web-assets); the wheel reads them from <venv>/web")


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
        "ecogis": ["data/*", "data/**/*"],
        **{pkg: DATA_PATTERNS for pkg in _data_packages()},
    },
    cmdclass={"build_py": BuildPyWithWebAssets},
)
