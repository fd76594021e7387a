"""A real package: bundled data through importlib.resources, user paths winning, and a wheel that works.

The slow test builds the sdist and wheel with ``python -m build`` (no build
isolation: no network), installs the wheel into a fresh virtualenv outside
the checkout (``pip install --no-deps``; the dependencies are this
environment's, reached through a ``.pth`` path line, which does not run this
environment's own ``.pth`` hooks such as an editable ecogis), and from an
empty folder, with every system font hidden, runs ``python -m ecogis``,
screens a 国土TXT site against a sample workspace, renders a map to HTML and
PDF with the font the wheel carries, and runs the screening part of ``ecogis
demo`` on the bundled samples.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import shutil
import site
import subprocess
import sys
import sysconfig
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from ecogis.render import assets, fonts
from test_fonts import UNDER_CI, assert_print_fonts_ok, hidden_fonts_env

settings_mod = importlib.import_module("ecogis.settings")  # the module (ecogis.settings is the object)
REPO = Path(__file__).resolve().parent.parent
BUNDLED = {"schema_dir": "layers/schema", "rules_dir": "rules", "maps_dir": "maps", "sample_dir": "layers/sample"}


def test_checkout_data_paths_and_user_paths_win(monkeypatch, tmp_path):
    s = settings_mod.Settings()
    for name, rel in BUNDLED.items():
        assert getattr(s, name) == REPO / rel, name  # a checkout: the repository folders
        monkeypatch.setenv(f"ECOGIS_{name.upper()}", str(tmp_path / name))
    s = settings_mod.Settings()
    for name in BUNDLED:
        assert getattr(s, name) == tmp_path / name
    monkeypatch.setenv("ECOGIS_WEB_ASSETS_DIR", str(tmp_path / "nm"))
    assert assets.web_assets_dir() == tmp_path / "nm"


def test_package_data_wins_over_the_checkout(monkeypatch, tmp_path):
    fake = tmp_path / "ecogis"
    (fake / "_bundled" / "rules").mkdir(parents=True)
    monkeypatch.setattr(settings_mod, "_package_root", lambda: fake)
    assert settings_mod.bundled_path("rules") == fake / "_bundled" / "rules"
    assert settings_mod.checkout_root() is None
    assert settings_mod.bundled_path("maps") == fake / "_bundled" / "maps"  # missing: named for the error


def test_python_dash_m_ecogis():
    r = subprocess.run([sys.executable, "-m", "ecogis", "--version"], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0 and re.search(r"\d+\.\d+", r.stdout + r.stderr), r


def _copy_source(dst: Path) -> Path:
    skip = {".git", ".venv", "build", "dist", "out", "tests", "benchmarks", "node_modules", "__pycache__",
            ".pytest_cache", ".hypothesis"}
    shutil.copytree(REPO, dst, symlinks=True,
                    ignore=lambda d, names: [n for n in names if n in skip or n.endswith(".egg-info")])
    return dst


def _unavailable(reason: str):
    if UNDER_CI:
        pytest.fail(f"packaging test cannot run under CI: {reason}")
    pytest.skip(reason)


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    t0 = time.perf_counter()
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kw)
    print(f"{time.perf_counter() - t0:6.1f} s  {' '.join(map(str, cmd))[:110]}")
    assert r.returncode == 0, f"{cmd} exited {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}"
    return r


@pytest.mark.slow
def test_wheel_installs_in_a_fresh_venv_and_screens_and_prints_from_an_empty_folder(tmp_path):
    if importlib.util.find_spec("build") is None:
        _unavailable("the `build` package is not installed (pip install 'ecogis[test]')")
    font_files = fonts.bundled_font_files()
    if not font_files:
        _unavailable(f"the bundled font is not installed ({fonts.INSTALL_HINT})")
    web = assets.web_assets_dir()
    if not (web / "leaflet").is_dir():
        _unavailable(f"the web-map assets are not installed ({assets.INSTALL_HINT})")

    # 1. sdist + wheel, with the web-map assets copied into the wheel.
    src = _copy_source(tmp_path / "src")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECOGIS_") and k != "PYTHONPATH"}
    _run([sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel", "--outdir", tmp_path / "dist", src],
         env={**env, "ECOGIS_WEB_ASSETS_DIR": str(web), "ECOGIS_FONT_DIR": str(font_files[0].parent.parent)})
    wheel = next((tmp_path / "dist").glob("ecogis-*.whl"))
    sdist = next((tmp_path / "dist").glob("ecogis-*.tar.gz"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for need in ("ecogis/__main__.py", "ecogis/_bundled/rules/taxonomy.yaml", "ecogis/_bundled/rules/activities.yaml",
                 "ecogis/_bundled/rules/schema.json", "ecogis/_bundled/layers/schema/redline.yaml",
                 "ecogis/_bundled/layers/cities.yaml", "ecogis/_bundled/layers/sample/xilinhot.gpkg",
                 "ecogis/_bundled/maps/spec.schema.json", "ecogis/_bundled/maps/xilinhot/zoning.yaml",
                 "ecogis/_bundled/web/node_modules/leaflet/dist/leaflet.js",
                 "ecogis/_bundled/web/node_modules/leaflet/LICENSE",
                 "ecogis/_bundled/fonts/noto-sans-sc/NotoSansSC_400Regular.ttf",
                 "ecogis/_bundled/fonts/noto-sans-sc/NotoSansSC_700Bold.ttf",
                 "ecogis/_bundled/fonts/noto-sans-sc/LICENSE_FONT"):
        assert need in names, need
    assert any(n.startswith("ecogis/_bundled/rules/national/") for n in names)
    assert not any(n.startswith(("tests/", "rules/", "maps/")) for n in names)
    in_sdist = set(tarfile.open(sdist).getnames())
    top = sdist.name[: -len(".tar.gz")]
    for need in ("setup.py", "pyproject.toml", "rules/taxonomy.yaml", "layers/schema/redline.yaml", "maps/README.md"):
        assert f"{top}/{need}" in in_sdist, need

    # 2. A fresh venv outside the checkout; dependencies from this environment, ecogis from the wheel.
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], env=env)
    vpy = venv / "bin" / "python"
    purelib = Path(_run([vpy, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], env=env)
                   .stdout.strip())
    deps = dict.fromkeys([*site.getsitepackages(), sysconfig.get_paths()["purelib"]])
    (purelib / "_ecogis_test_deps.pth").write_text("\n".join(deps) + "\n", encoding="utf-8")
    _run([sys.executable, "-m", "pip", "--python", vpy, "install", "--no-deps", "--no-index", "--quiet", wheel],
         env=env)

    # 3. From an empty folder, system fonts hidden.
    work = tmp_path / "empty"
    work.mkdir()
    run_env = {**hidden_fonts_env(tmp_path), "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    run_env = {k: v for k, v in run_env.items()
               if k not in {"PYTHONPATH", "VIRTUAL_ENV"} and not (k.startswith("ECOGIS_") and k != "ECOGIS_SYSTEM_FONTS")}
    where = _run([vpy, "-c", "import ecogis, sys; from ecogis.settings import settings as s; "
                  "from ecogis.render import assets; "
                  "print(ecogis.__file__); print(s.rules_dir); print(s.schema_dir); print(s.maps_dir); "
                  "print(s.sample_dir); print(assets.web_assets_dir()); "
                  "from ecogis.render import fonts; print(fonts.find_cjk_font()[1])"], cwd=work, env=run_env).stdout.split()
    assert all(Path(p).is_relative_to(purelib / "ecogis") for p in where), where
    rules, schema, maps, sample = map(Path, where[1:5])
    assert (rules / "national").is_dir() and (schema / "redline.yaml").is_file()
    assert where[5].endswith("ecogis/_bundled/web/node_modules")
    assert where[6].endswith("ecogis/_bundled/fonts/noto-sans-sc/NotoSansSC_400Regular.ttf")  # the wheel's font
    ecogis_cmd = venv / "bin" / "ecogis"
    assert "usage" in _run([vpy, "-m", "ecogis", "--help"], cwd=work, env=run_env).stdout

    shutil.copy(REPO / "layers" / "sample" / "sites" / "xilinhot" / "XLH-01.txt", work / "XLH-01.txt")
    shutil.copy(sample / "xilinhot.gpkg", work / "ws.gpkg")
    r = _run([ecogis_cmd, "screen", "XLH-01.txt", "--workspace", "ws.gpkg", "--industry", "B0620",
              "--nature", "新建", "--out", "screen", "--quiet"], cwd=work, env=run_env)
    assert "XLH-01" in r.stdout and "禁止" in r.stdout
    assert (work / "screen" / "report.html").stat().st_size > 0

    r = _run([ecogis_cmd, "map", maps / "xilinhot" / "zoning.yaml", "--workspace", "ws.gpkg",
              "--out", "zoning.html", "--print", "zoning.pdf"], cwd=work, env=run_env)
    html = (work / "zoning.html").read_text(encoding="utf-8")
    assert assets.offline_violations(html) == [] and "leaflet@1.9.4" in html
    assert_print_fonts_ok(work / "zoning.pdf")

    # The screening part of `ecogis demo` (the whole demo, with its 24 maps, runs in .ci/run's fonts-hidden step).
    r = _run([vpy, "-c", "from pathlib import Path; from ecogis.demo import screen_samples; "
              "from ecogis.settings import settings; screen_samples(Path('demo'), settings.sample_dir)"],
             cwd=work, env=run_env)
    assert re.search(r"screened \d+ sites of 4 cities", r.stdout), r.stdout[-1000:]
    assert (work / "demo" / "screening" / "verdicts.json").is_file()
