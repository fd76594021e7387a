"""Static print maps: CJK font, paper and dpi, geodesic scale bar, graticule labels, basemap only when reachable."""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from matplotlib import font_manager
from PIL import Image
from pyproj import CRS

from ecogis.errors import SpecError
from ecogis.notes import Notes
from ecogis.render import printmap

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "maps" / "manzhouli" / "zoning.yaml"
WS = REPO / "layers" / "sample" / "manzhouli.gpkg"


def _print(tmp_path, name="m.png", **kw) -> Path:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = printmap.print_map(SPEC, WS, tmp_path / name, **kw)
    missing = [str(w.message) for w in caught if "missing from" in str(w.message).lower()]
    assert not missing, f"glyphs missing from the font (would print as boxes): {missing[:3]}"
    return out


def test_cjk_font_is_found():
    family, path = printmap.find_cjk_font()
    assert "CJK" in family or "Hei" in family or "Han" in family or family.endswith(" SC")
    assert Path(path).exists()


def test_no_cjk_font_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("ECOGIS_FONT_DIR", raising=False)
    monkeypatch.setattr(printmap.fonts, "font_search_dirs", lambda: [])
    monkeypatch.setattr(font_manager.fontManager, "ttflist", [])
    monkeypatch.setattr(printmap.os.path, "exists", lambda p: False)
    with pytest.raises(printmap.FontError, match="fonts-noto-cjk"):
        printmap.find_cjk_font()


def test_png_print_has_the_paper_size_and_no_missing_glyphs(tmp_path):
    out = _print(tmp_path, "a4.png", dpi=60)
    img = Image.open(out)
    w, h = img.size
    assert sorted((w, h)) == pytest.approx(sorted((297 / 25.4 * 60, 210 / 25.4 * 60)), abs=1.01)  # A4
    a3 = Image.open(_print(tmp_path, "a3.png", dpi=60, paper="A3")).size
    assert max(a3) == pytest.approx(420 / 25.4 * 60, abs=1.01)
    px = np.asarray(img.convert("RGB")).reshape(-1, 3).astype(int)
    green = np.array([173, 216, 169])  # 优先保护 #4daf4a at opacity 0.45 over the map background
    assert (np.abs(px - green).sum(axis=1) < 12).sum() > 1000


def test_pdf_print_embeds_the_cjk_font_and_keeps_screenshots(tmp_path):
    out = _print(tmp_path, "m.pdf")
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and (b"NotoSansSC" in data or b"NotoSansCJK" in data)
    shots = REPO / "out" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    _print(shots.parent, "screenshots/print_manzhouli_zoning.png", dpi=110)
    _print(shots.parent, "screenshots/print_manzhouli_zoning_en.png", dpi=110, lang="en")


def test_bad_output_and_options(tmp_path):
    with pytest.raises(SpecError, match=r"\.pdf or \.png"):
        printmap.print_map(SPEC, WS, tmp_path / "m.svg")
    with pytest.raises(SpecError, match="paper"):
        printmap.print_map(SPEC, WS, tmp_path / "m.pdf", paper="A0")
    with pytest.raises(SpecError, match="dpi"):
        printmap.print_map(SPEC, WS, tmp_path / "m.png", dpi=5)
    assert not list(tmp_path.iterdir())


def test_scale_bar_is_geodesic():
    geod = CRS.from_epsg(4490).get_geod()
    for lat in (0.0, 45.0, 60.0):
        y = 6378137.0 * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
        metres, units = printmap.scale_bar_length(0.0, 100_000.0, y)
        lon1 = math.degrees(100_000.0 / 6378137.0)
        ground = geod.inv(0.0, lat, lon1, lat)[2]
        assert metres == printmap._nice(ground / 4)
        assert units == pytest.approx(metres * 100_000.0 / ground, rel=1e-9)
    assert printmap._nice(23_456) == 20_000 and printmap._nice(7_400) == 5_000


def test_graticule_step_and_labels():
    assert printmap.graticule_step(2.7) == 0.5
    assert printmap.graticule_step(0.6) == pytest.approx(10 / 60)
    assert printmap.dms_label(120.5, lat=False) == "120°30′E"
    assert printmap.dms_label(49.0, lat=True) == "49°N"
    assert printmap.dms_label(-0.25, lat=True) == "0°15′S"


def test_basemap_only_when_reachable(tmp_path):
    notes = Notes()

    def offline(req, timeout=None):
        raise OSError("network is unreachable")

    _print(tmp_path, "none.png", dpi=50, basemap="osm", notes=notes, opener=offline)
    assert [n.code for n in notes] == ["basemap"]

    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (255, 0, 255)).save(buf, format="PNG")
    tile = buf.getvalue()
    urls: list[str] = []

    class Resp(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def fake(req, timeout=None):
        urls.append(req.full_url)
        return Resp(tile)

    notes = Notes()
    out = _print(tmp_path, "osm.png", dpi=50, basemap="osm", notes=notes, opener=fake)
    assert not list(notes) and urls and all(u.startswith("https://tile.openstreetmap.org/") for u in urls)
    px = np.asarray(Image.open(out).convert("RGB")).reshape(-1, 3).astype(int)
    assert ((px[:, 0] > 200) & (px[:, 1] < 60) & (px[:, 2] > 200)).sum() > 1000  # the magenta tiles show
    assert len(urls) <= printmap.MAX_TILES
