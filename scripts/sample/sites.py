"""Sample project sites: placement helpers, rule-family checks and output files.

Each site is placed relative to the finished layers (inside a red-line
patch, beside a railway, across the county edge, …) and then checked: a
site that does not meet the rule family it was made for stops the build.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import geopandas as gpd
import shapely
from shapely.geometry import LineString, Point

from .geom import LonLat, area_m2, clean, rect, spot_in, star
from .layers import City

#: Rule families a reviewer meets; every city covers the generic ones.
FAMILIES = {
    "redline_mining": "红线内新建采矿",
    "redline_linear": "线性工程穿越红线（不可避让）",
    "strategic_mineral": "战略性矿产勘查",
    "pa_tourism": "保护区实验区/一般控制区内旅游设施",
    "pa_core_production": "核心区/缓冲区内生产设施",
    "water_grade2_polluting": "二级保护区内排污项目",
    "water_grade1_supply": "一级保护区内供水工程",
    "farmland_national_major": "国家重大项目占用永久基本农田",
    "farmland_ordinary": "一般项目占用永久基本农田",
    "grassland_mining": "草原上新上矿产资源开发",
    "energy_on_mine_land": "排土场/采煤沉陷区上的风电光伏",
    "mine_setback": "矿山临近国道/铁路/河流",
    "wetland_occupation": "占用湿地",
    "boiler_no_burn": "禁燃区/建成区内燃煤锅炉",
    "clear": "无冲突",
    "partly_outside": "部分位于县域外（not_covered）",
    "plan_fixture": "规划项目（测试夹具）",
    "border_works": "边境界务设施",
    "sand_closure": "沙化土地封禁保护区内建设",
    "river_3km": "松花江流域干支流沿岸3公里内工矿、固废（ARX L539）",
}

#: The allowed-activity tags (rules/activities.yaml) a site of each family declares,
#: as an applicant would on the application form.
FAMILY_ACTIVITY = {
    "redline_linear": ("rl142_6_infrastructure",),
    "strategic_mineral": ("strategic_mineral", "rl142_7_geology_minerals"),
    "pa_tourism": ("tourism_facility", "rl142_5_tourism_education"),
    "water_grade1_supply": ("water_supply", "rl142_6_infrastructure"),
    "boiler_no_burn": ("high_pollution_fuel",),
    "border_works": ("border_works", "rl142_9_border_works"),
}

#: Families every city must cover.
GENERIC = (
    "redline_mining", "redline_linear", "strategic_mineral", "pa_tourism", "pa_core_production",
    "water_grade2_polluting", "water_grade1_supply", "farmland_national_major", "farmland_ordinary",
    "mine_setback", "wetland_occupation", "boiler_no_burn", "clear", "partly_outside", "plan_fixture",
)


@dataclass
class Site:
    """One sample project site."""

    site_id: str
    name: str
    industry: str
    nature: str
    geom: shapely.Geometry
    families: tuple[str, ...]
    expect: str
    linear: bool = False
    national_major: bool = False
    unavoidable: bool = False
    guotu: str | None = None  # encoding of the 国土TXT copy, or None
    note: dict[str, str] = field(default_factory=dict)


# ----------------------------------------------------------------- placement
def box_in(city: City, region: shapely.Geometry, near: LonLat, w: float, h: float,
           angle: float = 0.0) -> shapely.Geometry:
    """A ``w`` × ``h`` m rectangle wholly inside ``region``, as near ``near`` as possible."""
    margin = math.hypot(w, h) / 2 + 5.0
    c = spot_in(city.frame, region, near, margin)
    return _round(city.frame.ll(rect(c, w, h, angle)))


def blob_in(city: City, region: shapely.Geometry, near: LonLat, area_ha: float, tag: str,
            max_shift: float = 4000.0) -> shapely.Geometry:
    """An irregular polygon of about ``area_ha`` wholly inside ``region`` near ``near``."""
    r = math.sqrt(area_ha * 1e4 / math.pi)
    c = spot_in(city.frame, region, near, 1.4 * r + 5.0, max_shift)
    return _round(city.frame.ll(star(c, r, rough=0.15, seed=city.seed("site", tag), n=9)))


def box_at(city: City, region: shapely.Geometry, near: LonLat, w: float, h: float,
           angle: float = 0.0) -> shapely.Geometry:
    """A ``w`` × ``h`` m rectangle centred on the point of ``region`` nearest ``near`` (may stick out)."""
    c = spot_in(city.frame, region, near, 0.0)
    return _round(city.frame.ll(rect(c, w, h, angle)))


def point_in(city: City, region: shapely.Geometry, near: LonLat, margin: float = 30.0) -> shapely.Geometry:
    c = spot_in(city.frame, region, near, margin)
    return _round(Point(city.frame.lonlat(c)))


def line_through(city: City, points: Sequence[LonLat]) -> shapely.Geometry:
    return _round(LineString(points))


def ray(city: City, start: LonLat, bearing: float, inset: float = 300.0) -> shapely.Geometry:
    """A straight line from ``start`` towards ``bearing`` (degrees clockwise from north), ending
    ``inset`` m before it first leaves the county."""
    x0, y0 = city.frame.xy(start)
    b = math.radians(bearing)
    far = LineString([(x0, y0), (x0 + 300e3 * math.sin(b), y0 + 300e3 * math.cos(b))])
    inner = city.frame.m(city.boundary).buffer(-inset, quad_segs=2)
    piece = far.intersection(inner)
    if piece.geom_type == "MultiLineString":
        piece = min(piece.geoms, key=lambda g: g.distance(shapely.Point(x0, y0)))
    return _round(city.frame.ll(piece))


def straddle(city: City, near: LonLat, w: float, h: float) -> shapely.Geometry:
    """A rectangle centred on the county edge point nearest ``near``."""
    edge = city.frame.m(city.boundary.exterior)
    p = edge.interpolate(edge.project(Point(city.frame.xy(near))))
    return _round(city.frame.ll(rect((p.x, p.y), w, h)))


def beside(city: City, line: shapely.Geometry, near: LonLat, gap: float, w: float, h: float,
           side: int = 1) -> shapely.Geometry:
    """A ``w`` × ``h`` m rectangle whose nearest edge is ``gap`` m from ``line``, near ``near``."""
    line_m = city.frame.m(line)
    if line_m.geom_type == "MultiLineString":
        line_m = min(line_m.geoms, key=lambda g: g.distance(Point(city.frame.xy(near))))
    s = line_m.project(Point(city.frame.xy(near)))
    p0 = line_m.interpolate(max(0.0, s - 50.0))
    p1 = line_m.interpolate(min(line_m.length, s + 50.0))
    dx, dy = p1.x - p0.x, p1.y - p0.y
    norm = math.hypot(dx, dy)
    nx, ny = -dy / norm * side, dx / norm * side
    p = line_m.interpolate(s)
    d = gap + h / 2
    angle = math.degrees(math.atan2(dy, dx))
    return _round(city.frame.ll(rect((p.x + nx * d, p.y + ny * d), w, h, angle)))


def _round(geom: shapely.Geometry) -> shapely.Geometry:
    """Coordinates to 1e-7° (about 1 cm), as written to GeoJSON."""
    return shapely.set_precision(geom, 1e-7)


def distance_m(city: City, a: shapely.Geometry, b: shapely.Geometry) -> float:
    return city.frame.m(a).distance(city.frame.m(b))


# ----------------------------------------------------------------- checks
def _hits(city: City, geom: shapely.Geometry, kind: str, **where) -> bool:
    other = city.union_of(kind, **where)
    if other.is_empty:
        return False
    inter = geom.intersection(other)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return area_m2(clean(inter)) > 1.0
    return not inter.is_empty


def check_site(city: City, s: Site) -> None:
    """Raise if ``s`` does not meet each of its families."""
    g = s.geom
    fam = set(s.families)
    problems = []

    def need(cond: bool, what: str) -> None:
        if not cond:
            problems.append(what)

    inside = g.within(city.boundary)
    if "partly_outside" in fam:
        need(g.intersects(city.boundary) and not inside, "does not cross the county edge")
    else:
        need(inside, "is not inside the county")
    if "redline_mining" in fam:
        need(s.industry.startswith("B") and s.nature == "新建" and _hits(city, g, "redline"),
             "not new mining in the red line")
    if "redline_linear" in fam:
        red = city.union_of("redline")
        need(s.linear and s.unavoidable and g.intersects(red) and not g.within(red), "does not cross the red line")
    if "strategic_mineral" in fam:
        need(s.industry == "M7472" and _hits(city, g, "redline"), "exploration not in the red line")
    if "pa_tourism" in fam:
        need(_hits(city, g, "protected_area", zone=("实验区", "一般控制区"))
             and not _hits(city, g, "protected_area", zone=("核心区", "缓冲区", "核心保护区")), "not in 实验区/一般控制区")
    if "pa_core_production" in fam:
        need(_hits(city, g, "protected_area", zone=("核心区", "缓冲区", "核心保护区")), "not in core/buffer")
    if "water_grade2_polluting" in fam:
        need(_hits(city, g, "water_source", grade="二级保护区") and not _hits(city, g, "water_source", grade="一级保护区"),
             "not in grade 2 only")
    if "water_grade1_supply" in fam:
        need(_hits(city, g, "water_source", grade="一级保护区"), "not in grade 1")
    if "farmland_national_major" in fam:
        need(s.national_major and _hits(city, g, "farmland"), "national major not on farmland")
    if "farmland_ordinary" in fam:
        need(not s.national_major and _hits(city, g, "farmland"), "ordinary not on farmland")
    if "grassland_mining" in fam:
        need(s.industry.startswith("B") and s.nature == "新建" and _hits(city, g, "grassland")
             and not _hits(city, g, "redline"), "not new mining on grassland outside the red line")
    if "energy_on_mine_land" in fam:
        land = city.union_of("mine", feature=("排土场", "采煤沉陷区"))
        need(s.industry in ("D4415", "D4416") and g.within(land), "not wind/solar within a dump or subsidence land")
    if "mine_setback" in fam:
        near = []
        for kind, where in (("road", {"level": ("国道", "高速公路")}), ("railway", {"level": "国家铁路"}),
                            ("river", {})):
            for other in city.geoms(kind, **where):
                if not g.intersects(other) and distance_m(city, g, other) < 500.0:
                    near.append(kind)
        need(s.industry.startswith("B") and bool(near), "mine not within 500 m of a national road, railway or river")
    if "wetland_occupation" in fam:
        need(_hits(city, g, "wetland"), "not on a wetland")
    if "boiler_no_burn" in fam:
        zone = "no_burn_zone" if city.records.get("no_burn_zone") else "urban_boundary"
        need(s.industry == "D4430" and _hits(city, g, zone), f"boiler not in {zone}")
    if "sand_closure" in fam:
        need(_hits(city, g, "sand_closure"), "not in a sand-closure zone")
    if "clear" in fam:
        for kind in ("redline", "protected_area", "water_source", "farmland", "wetland", "grassland",
                     "no_burn_zone", "sand_closure"):
            need(not _hits(city, g, kind), f"clear site touches {kind}")
    if problems:
        raise ValueError(f"{city.key} site {s.site_id} {s.name}: " + "; ".join(problems))


# ----------------------------------------------------------------- output
#: Fixed 国土TXT header values (a fixed date keeps the files reproducible).
GUOTU_HEADER = {"数据产生单位": "ecogis样例数据（合成，非官方）", "数据产生日期": "2026-11-01"}

#: 地块用途 by GB/T 4754 section or division (first match wins).
_LAND_USE = (("B", "采矿用地"), ("C", "工业用地"), ("D44", "公用设施用地"), ("D46", "公用设施用地"),
             ("E481", "交通运输用地"), ("E4852", "公用设施用地"), ("E4821", "水工建筑用地"),
             ("E47", "城镇住宅用地"), ("E", "建设用地"), ("A", "农业设施建设用地"),
             ("M", "采矿用地"), ("N", "公园与绿地"), ("Q", "医疗卫生用地"), ("H", "商业服务业用地"))


def land_use(industry: str) -> str:
    """A plausible 地块用途 for an industry code (the 国土TXT header field)."""
    for prefix, use in _LAND_USE:
        if industry.startswith(prefix):
            return use
    return "建设用地"


def project_frame(sites: Sequence[Site]) -> gpd.GeoDataFrame:
    """The workspace ``project`` layer (no expectations in it)."""
    return gpd.GeoDataFrame(
        {
            "site_id": [s.site_id for s in sites],
            "name": [s.name for s in sites],
            "industry": [s.industry for s in sites],
            "nature": [s.nature for s in sites],
            "linear": [bool(s.linear) for s in sites],
            "national_major": [bool(s.national_major) or "farmland_national_major" in s.families for s in sites],
            # a national major project on farmland comes with its 不可避让 argument
            "unavoidable": [bool(s.unavoidable) or "farmland_national_major" in s.families for s in sites],
            "activity": [site_activity(s) for s in sites],
        },
        geometry=[s.geom for s in sites],
        crs="EPSG:4490",
    )


def site_activity(s: Site) -> str:
    """The ';'-separated activity tags a site declares (from its families)."""
    tags: list[str] = []
    for fam in s.families:
        for tag in FAMILY_ACTIVITY.get(fam, ()):
            if tag not in tags:
                tags.append(tag)
    return ";".join(tags)


def sites_frame(sites: Sequence[Site]) -> gpd.GeoDataFrame:
    """The standalone site file: project attributes plus families and the expected finding."""
    gdf = project_frame(sites)
    gdf.insert(len(gdf.columns) - 1, "families", [",".join(s.families) for s in sites])
    gdf.insert(len(gdf.columns) - 1, "expect", [s.expect for s in sites])
    gdf.insert(len(gdf.columns) - 1, "guotu_txt", [f"{s.site_id}.txt" if s.guotu else "" for s in sites])
    return gdf


def sites_csv(sites: Sequence[Site]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["site_id", "name", "industry", "nature", "linear", "national_major", "unavoidable",
                "geometry_type", "families", "expect"])
    for s in sites:
        w.writerow([s.site_id, s.name, s.industry, s.nature, s.linear, s.national_major, s.unavoidable,
                    s.geom.geom_type, ",".join(s.families), s.expect])
    return buf.getvalue()


def write_site_files(city_key: str, sites: Sequence[Site], out_dir: Path) -> list[Path]:
    """``sites/<city>.geojson``, ``sites/<city>_sites.csv`` and 国土TXT copies ``sites/<city>/<id>.txt``."""
    from ecogis.export.guotu import write_guotu

    folder = out_dir / "sites"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    gj = folder / f"{city_key}.geojson"
    sites_frame(sites).to_file(gj, driver="GeoJSON", engine="pyogrio", layer_options={"COORDINATE_PRECISION": 7})
    written.append(gj)
    csv_path = folder / f"{city_key}_sites.csv"
    csv_path.write_text(sites_csv(sites), encoding="utf-8")
    written.append(csv_path)
    sub = folder / city_key
    for s in sites:
        if not s.guotu:
            continue
        sub.mkdir(exist_ok=True)
        gdf = gpd.GeoDataFrame({"site_id": [s.site_id], "name": [s.name], "land_use": [land_use(s.industry)]},
                               geometry=[s.geom], crs="EPSG:4490")
        path = sub / f"{s.site_id}.txt"
        write_guotu(gdf, path, encoding=s.guotu, header=GUOTU_HEADER)
        written.append(path)
    return written
