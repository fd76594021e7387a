"""Synthetic features of the layer kinds added for the plans' missing rules (issue 11).

Five kinds: ``forest`` (林地), ``contaminated_site`` (污染地块), ``noise_sensitive_area``
(噪声敏感建筑物集中区域), ``ecological_function_zone`` (生态功能分区 named in the plans)
and ``groundwater_zone`` (地下水管控分区).  The plans give no geometry for any of them:
every feature here is synthetic, placed near a named place of the city, and labelled so
in the workspace notes.  Names follow the plans where they name the zone (Arxan
北部生态保护区 / 东南部生态协调区, Genhe 西部绿色矿产开发区, Xilinhot 中部草原生态控制修复区 …).

Features keep 300 m clear of every sample site, so the verdicts the sample sites were
built for do not change; the new rules are exercised by their own cases and by the
screening tests on purpose-made sites.
"""

from __future__ import annotations

from typing import Any

import shapely

from .geom import clean, union
from .layers import City

#: Metres kept between a new feature and any sample site.
SITE_GAP_M = 300.0

# (kind, attributes, centre as (place, dlon, dlat) or (lon, lat), area in ha, aspect, angle)
FEATURES: dict[str, list[tuple[str, dict[str, Any], tuple, float, float, float]]] = {
    "genhe": [
        ("forest", {"name": "根河林业局天然林区", "origin": "天然林", "category": "公益林"}, ("seat", 0.45, 0.25), 60000, 1.6, 20),
        ("forest", {"name": "金河林业局人工林区", "origin": "人工林", "category": "商品林"}, ("jinhe", 0.12, -0.06), 4000, 1.5, 40),
        ("contaminated_site", {"name": "根河市原木材加工厂地块", "status": "污染地块", "former_use": "木材加工"}, ("seat", 0.018, -0.012), 12, 1.4, 10),
        ("contaminated_site", {"name": "根河市原供热厂地块", "status": "疑似污染地块", "former_use": "热力生产"}, ("seat", -0.02, 0.014), 6, 1.2, 0),
        ("noise_sensitive_area", {"name": "根河市中心城区文化生活区", "type": "文化生活区"}, ("seat", 0.006, 0.004), 80, 1.5, 30),
        ("ecological_function_zone", {"name": "根河市北部重要生态源地", "zone": "生态源地"}, ("mangui", 0.05, 0.12), 90000, 1.6, 10),
        ("ecological_function_zone", {"name": "根河市西部绿色矿产开发区", "zone": "绿色矿产开发区"}, ("derbur", -0.08, 0.04), 12000, 1.5, 0),
        ("groundwater_zone", {"name": "根河市中心城区地下水污染防治重点区", "zone": "地下水污染防治重点区"}, ("seat", -0.01, -0.03), 1500, 1.5, 20),
        ("groundwater_zone", {"name": "根河市城区地下水限采区", "zone": "限采区"}, ("seat", 0.04, 0.03), 900, 1.3, 60),
    ],
    "arxan": [
        ("forest", {"name": "阿尔山林业局天然林区", "origin": "天然林", "category": "公益林"}, ("yirshi", 0.15, 0.18), 50000, 1.6, 30),
        ("forest", {"name": "白狼林业局人工林区", "origin": "人工林", "category": "商品林"}, ("bailang", 0.06, -0.05), 3000, 1.4, 0),
        ("contaminated_site", {"name": "阿尔山市原建材厂地块", "status": "污染地块", "former_use": "建材"}, ("seat", 0.02, -0.01), 8, 1.3, 20),
        ("noise_sensitive_area", {"name": "阿尔山市中心城区文教区", "type": "文教区"}, ("seat", -0.006, 0.004), 60, 1.4, 0),
        ("ecological_function_zone", {"name": "阿尔山市北部生态保护区", "zone": "生态保护区"}, ("yirshi", 0.0, 0.2), 70000, 1.8, 0),
        ("ecological_function_zone", {"name": "阿尔山市东南部生态协调区", "zone": "生态协调区"}, ("bailang", 0.1, 0.05), 20000, 1.5, 30),
        ("groundwater_zone", {"name": "温泉街道水源补给区", "zone": "水源补给区"}, ("seat", 0.03, 0.03), 1200, 1.4, 45),
    ],
    "manzhouli": [
        ("forest", {"name": "满洲里市防护林", "origin": "人工林", "category": "公益林"}, ("center", 0.06, -0.04), 600, 2.5, 80),
        ("contaminated_site", {"name": "满洲里市原化工厂地块", "status": "污染地块", "former_use": "化工"}, ("center", 0.02, 0.012), 10, 1.3, 0),
        ("contaminated_site", {"name": "扎赉诺尔原选煤厂地块", "status": "疑似污染地块", "former_use": "选煤"}, ("donghu", 0.03, -0.02), 15, 1.5, 30),
        ("noise_sensitive_area", {"name": "满洲里市中心城区居住区", "type": "居住区"}, ("center", -0.01, 0.006), 120, 1.6, 20),
        ("ecological_function_zone", {"name": "满洲里市东湖区生态保护区", "zone": "生态保护区"}, ("donghu", 0.02, 0.03), 2500, 1.5, 10),
        ("groundwater_zone", {"name": "满洲里市第二水源地补给区", "zone": "水源补给区"}, ("second_ws", -0.02, 0.02), 1800, 1.4, 0),
        ("groundwater_zone", {"name": "满洲里市城区地下水超采区", "zone": "超采区"}, ("center", 0.04, -0.02), 2500, 1.5, 30),
    ],
    "xilinhot": [
        ("forest", {"name": "锡林浩特市城郊防护林", "origin": "人工林", "category": "公益林"}, ("center", 0.05, 0.05), 900, 2.0, 70),
        ("contaminated_site", {"name": "锡林浩特市原皮革厂地块", "status": "污染地块", "former_use": "皮革鞣制"}, ("center", 0.025, -0.012), 9, 1.3, 0),
        ("contaminated_site", {"name": "经济技术开发区原化工企业地块", "status": "疑似污染地块", "former_use": "化工"}, ("devzone", 0.02, 0.01), 14, 1.4, 20),
        ("noise_sensitive_area", {"name": "锡林浩特市中心城区文教科研区", "type": "文教区"}, ("center", -0.012, 0.008), 90, 1.5, 10),
        ("ecological_function_zone", {"name": "锡林浩特市中部草原生态控制修复区", "zone": "生态控制修复区"}, ("arshan", 0.0, 0.15), 80000, 1.8, 0),
        ("ecological_function_zone", {"name": "锡林浩特市草原重要生态功能区", "zone": "草原重要生态功能区"}, ("jiergalangtu", 0.0, 0.0), 40000, 1.6, 20),
        ("groundwater_zone", {"name": "锡林浩特市城区地下水开采限采区", "zone": "限采区"}, ("center", 0.03, 0.03), 2000, 1.4, 0),
        ("groundwater_zone", {"name": "一棵树水源地补给区", "zone": "水源补给区"}, ("yikeshu", -0.02, 0.02), 1500, 1.4, 30),
    ],
}


def _centre(city: City, spec: tuple) -> tuple[float, float]:
    if isinstance(spec[0], str):
        lon, lat = city.places[spec[0]]
        return (lon + spec[1], lat + spec[2])
    return (float(spec[0]), float(spec[1]))


def add_extra_layers(city: City) -> None:
    """Add the five new kinds' features to ``city`` (deterministic: fixed centres and tags)."""
    keep_clear = city.buffer_ll(union([s.geom for s in city.sites]), SITE_GAP_M) if city.sites else shapely.Polygon()
    for kind, attrs, centre, ha, aspect, angle in FEATURES.get(city.key, []):
        g = city.fitted_blob(_centre(city, centre), ha, aspect=aspect, angle=angle, tag=f"{kind}:{attrs['name']}")
        g = clean(g.difference(keep_clear))
        if g.is_empty:
            raise ValueError(f"{city.key}: {kind} {attrs['name']!r} lies wholly on sample sites")
        city.add(kind, g, **attrs)
