"""Build the small format fixtures under tests/data/formats/ (committed).

Each is a realistic sample of one input format, near Xilinhot: a GBK
shapefile without .cpg, a zipped shapefile, a multi-layer GeoPackage, GeoJSON,
KML, KMZ and CSV files.  Run: ``.venv/bin/python scripts/build_test_fixtures.py``.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "formats"


def frame() -> gpd.GeoDataFrame:
    a = shapely.Polygon(
        [(116.00, 43.90), (116.05, 43.90), (116.05, 43.94), (116.00, 43.94)],
        [[(116.01, 43.91), (116.02, 43.91), (116.02, 43.92), (116.01, 43.92)]],
    )
    b = shapely.box(116.10, 43.95, 116.16, 43.99)
    return gpd.GeoDataFrame(
        {"MC": ["锡林郭勒草原自然保护区", "白银库伦遗鸥保护区"], "GNFQ": ["核心区", "缓冲区"], "JB": ["国家级", "自治区级"]},
        geometry=[a, b],
        crs="EPSG:4490",
    )


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    g = frame()
    # 1. Shapefile in GBK without .cpg (what county exports often are), projected GK zone 39 with prefix.
    shp_dir = OUT / "shp_gbk"
    shp_dir.mkdir()
    pyogrio.write_dataframe(g.to_crs(4527), shp_dir / "保护区.shp", driver="ESRI Shapefile", encoding="GBK")
    for cpg in shp_dir.glob("*.cpg"):
        cpg.unlink()
    # 2. Zipped shapefile, UTF-8 with .cpg, CGCS2000 lon/lat.
    tmp = OUT / "_zip"
    tmp.mkdir()
    pyogrio.write_dataframe(g, tmp / "pa.shp", driver="ESRI Shapefile", encoding="UTF-8")
    with zipfile.ZipFile(OUT / "pa_shp.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(tmp.iterdir()):
            zf.write(p, p.name)
    shutil.rmtree(tmp)
    # 3. GeoPackage with two layers.
    pyogrio.write_dataframe(g, OUT / "multi.gpkg", layer="protected_area", driver="GPKG")
    pyogrio.write_dataframe(
        gpd.GeoDataFrame({"name": ["锡林河"]}, geometry=[shapely.LineString([(116.0, 43.8), (116.2, 44.0)])], crs=4490),
        OUT / "multi.gpkg", layer="river", driver="GPKG",
    )
    # 4. GeoJSON (RFC 7946, no crs member).
    pyogrio.write_dataframe(g.to_crs(4326), OUT / "pa.geojson", driver="GeoJSON", RFC7946="YES")
    # 5. KML and KMZ with a placemark without geometry and a 3-D point.
    kml = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
<Placemark><name>项目A</name><ExtendedData><Data name="industry"><value>D4415</value></Data>
<Data name="nature"><value>新建</value></Data></ExtendedData>
<Polygon><outerBoundaryIs><LinearRing><coordinates>116.00,43.90,0 116.02,43.90,0 116.02,43.92,0 116.00,43.92,0 116.00,43.90,0</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>
<Placemark><name>项目B</name><ExtendedData><Data name="industry"><value>B0610</value></Data>
<Data name="nature"><value>扩建</value></Data></ExtendedData>
<Polygon><outerBoundaryIs><LinearRing><coordinates>116.10,43.95,0 116.12,43.95,0 116.12,43.97,0 116.10,43.97,0 116.10,43.95,0</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>
<Placemark><name>无几何</name></Placemark>
</Document></kml>
"""
    (OUT / "sites.kml").write_text(kml, encoding="utf-8")
    with zipfile.ZipFile(OUT / "sites.kmz", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", kml)
    # 6. CSV: points with 经度/纬度 in GBK, and WKT in UTF-8.
    (OUT / "points_gbk.csv").write_bytes("名称,经度,纬度\n监测点1,116.05,43.93\n监测点2,116.12,43.96\n".encode("gbk"))
    wkt = "name,industry,nature,wkt\n" + "\n".join(
        f'{n},{i},新建,"{shapely.to_wkt(geom, rounding_precision=6)}"' for n, i, geom in
        [("风电场", "D4415", shapely.box(116.2, 43.9, 116.22, 43.92)), ("砂石场", "B1019", shapely.box(116.3, 43.9, 116.31, 43.91))]
    )
    (OUT / "sites_wkt.csv").write_text(wkt + "\n", encoding="utf-8")
    print(f"wrote {sorted(p.name for p in OUT.iterdir())}")


if __name__ == "__main__":
    main()
