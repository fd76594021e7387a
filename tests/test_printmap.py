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
        printmap.print_map(SPEC, WS, tmp_path / "m.pdf", paper="B5")
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


# --------------------------------------------------------------------------- 专题图 elements (issue 16)
def _pdf_text(path: Path) -> str:
    import shutil
    import subprocess

    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) not installed")
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_pdf_has_every_element_of_a_thematic_map_and_no_type3_fonts(tmp_path):
    notes = Notes()
    out = printmap.print_map(SPEC, WS, tmp_path / "m.pdf", notes=notes)
    data = out.read_bytes()
    assert b"/Type3" not in data and b"/Subtype /Type3" not in data  # TrueType/CID only (pdf.fonttype 42)
    txt = _pdf_text(out)
    for word in ("图例", "制图单位", "制图日期", "数据来源", "数据日期", "审图号", "未经审核", "N", "千米"):
        assert word in txt, word
    import re

    assert re.search(r"1:\d{1,3}(,\d{3})+", txt), "numeric scale 1:N"
    assert re.search(r"\d+°(\d{2}′)?E", txt) and re.search(r"\d+°(\d{2}′)?N", txt)  # graticule labels


def test_approval_number_prints_when_set(tmp_path):
    from ecogis.render.spec import load_spec

    spec = load_spec(SPEC)
    spec.approval_no = "蒙S（2026）001号"
    txt = _pdf_text(printmap.print_map(spec, WS, tmp_path / "m.pdf"))
    assert "审图号：蒙S（2026）001号" in txt and "未经审核" not in txt


def test_numeric_scale_is_true_on_the_ellipsoid():
    geod = CRS.from_epsg(4490).get_geod()
    for lat in (20.0, 45.0, 52.0):
        x0, x1 = printmap._TO_MERC.transform([118.0, 121.0], [lat, lat])[0]
        y = printmap._TO_MERC.transform(119.5, lat)[1]
        n = printmap.scale_denominator((x0, x1), (y - 1000, y + 1000), width_in=8.0)
        lons = np.linspace(118.0, 121.0, 3001)
        arc = geod.line_length(lons, np.full_like(lons, lat))  # the parallel, in 1 km steps
        assert n == pytest.approx(arc / (8.0 * 0.0254), rel=1e-6)
    assert printmap.nice_scale(1_234_567) == 1_250_000
    assert printmap.nice_scale(48_000) == 50_000 and printmap.nice_scale(100_000) == 100_000


def test_a0_wall_map_fills_the_sheet(tmp_path):
    out = printmap.print_map(SPEC, WS, tmp_path / "a0.png", paper="A0", dpi=50)
    w, h = Image.open(out).size
    assert sorted((w, h)) == pytest.approx(sorted((841 / 25.4 * 50, 1189 / 25.4 * 50)), abs=1.01)
    px = np.asarray(Image.open(out).convert("L"))
    assert (px < 254).mean() > 0.5  # the map frame (not white paper) covers most of the sheet


def test_labels_do_not_collide_and_stay_inside():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    import shapely

    from ecogis.render.spec import LayerSpec

    fig = Figure(figsize=(4, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    rng = np.random.default_rng(1)
    pts = shapely.buffer(shapely.points(rng.uniform(0, 100, 60), rng.uniform(0, 100, 60)), 2)
    names = [f"某某某某管控单元{i}" for i in range(60)]
    layer = LayerSpec(id="x", kind="control_unit", where="layers[0]", label_size=10)
    placed: list = []
    renderer = fig.canvas.get_renderer()
    dropped = printmap._place_labels(ax, renderer, pts, names, layer, printmap.find_cjk_font()[0], 1.0, placed, [])
    assert dropped + len(placed) == 60 and len(placed) >= 10
    frame = ax.get_window_extent(renderer)
    for i, a in enumerate(placed):
        assert frame.x0 <= a.x0 and a.x1 <= frame.x1 and frame.y0 <= a.y0 and a.y1 <= frame.y1
        assert not any(a.overlaps(b) for b in placed[i + 1:])


def test_legend_merges_entries_that_look_alike():
    from ecogis.render.styles import ClassStyle

    a = ClassStyle("#1b7837", "#0d4a1f", fill_opacity=0.5)
    b = ClassStyle("#5aae61", "#2f7a36", fill_opacity=0.45)
    hs = printmap._legend_handles([("核心保护区", a, ""), ("核心区", a, ""), ("缓冲区", b, ""), ("湿地公园", b, "..")],
                                  0.6, 1.0)
    assert [h.get_label() for h in hs] == ["核心保护区/核心区", "缓冲区", "湿地公园"]
