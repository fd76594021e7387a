"""Fixed map palettes: control-unit classes, severities, protected-area zones, red line.

The colours are ecogis's own choice, picked to be told apart at a glance and
to read the usual way (green = protect, red/orange = conflict or intensive
use, yellow = ordinary).  **They are not verified against an official
cartographic standard** (制图规范): the 三线一单 and 自然保护地 technical
specifications give colour tables of their own, which a mapping officer who
publishes a zoning map must check and may substitute here.

Every palette maps a class value (the text found in the data) to a
:class:`ClassStyle`; :func:`leaflet_style` turns one into Leaflet path options
and :func:`legend_entries` into the ``(label, fill, stroke)`` rows that
:func:`ecogis.render.webmap.legend` draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ecogis.vocab import Severity


@dataclass(frozen=True)
class ClassStyle:
    """How one class of features is drawn.

    Parameters
    ----------
    fill, stroke:
        CSS colours (``#rrggbb``) of the area and of the outline or line.
    label:
        Chinese legend text; ``label_en`` the English one.
    fill_opacity:
        0 (outline only) to 1.
    weight:
        Outline or line width in pixels.
    dash:
        Leaflet ``dashArray`` (``"6 4"``) or ``None`` for a solid line.
    """

    fill: str
    stroke: str
    label: str = ""
    label_en: str = ""
    fill_opacity: float = 0.45
    weight: float = 1.5
    dash: str | None = None

    def text(self, lang: str = "zh") -> str:
        """The legend label in ``lang`` (``zh`` or ``en``), falling back to the other one."""
        if lang == "en":
            return self.label_en or self.label
        return self.label or self.label_en


#: Drawn when a value has no entry in the palette.
DEFAULT_STYLE = ClassStyle("#9e9e9e", "#616161", "其他", "Other", fill_opacity=0.3)

#: 环境管控单元 classes.  优先保护 green, 重点管控 orange-red, 一般管控 yellow
#: (a common reading of the provincial 三线一单 maps; not verified against the
#: 三线一单 数据规范 colour table).
CONTROL_UNIT: dict[str, ClassStyle] = {
    "优先保护": ClassStyle("#4daf4a", "#2b7a2a", "优先保护单元", "Priority protection unit"),
    "重点管控": ClassStyle("#f46d43", "#b8401f", "重点管控单元", "Key control unit"),
    "一般管控": ClassStyle("#fee08b", "#c9a93c", "一般管控单元", "General control unit"),
}

#: Finding severities, most severe first (the order of the legend and of the layers).
SEVERITY: dict[str, ClassStyle] = {
    s.value: ClassStyle(s.colour, stroke, s.zh, s.en, fill_opacity=opacity, weight=2.5)
    for s, stroke, opacity in zip(Severity, ("#9e0f12", "#b35f0e", "#b38600", "#1a4f78"), (0.55, 0.55, 0.55, 0.45))
}

#: Protected-area zones: core dark, buffer medium, general-control / experimental light.
#: The new system (核心保护区 / 一般控制区) and legacy reserves (核心区 / 缓冲区 / 实验区) share the scale.
PROTECTED_ZONE: dict[str, ClassStyle] = {
    "核心保护区": ClassStyle("#1b7837", "#0d4a1f", "核心保护区", "Core protection zone", fill_opacity=0.5),
    "核心区": ClassStyle("#1b7837", "#0d4a1f", "核心区", "Core zone", fill_opacity=0.5),
    "缓冲区": ClassStyle("#5aae61", "#2f7a36", "缓冲区", "Buffer zone", fill_opacity=0.45),
    "一般控制区": ClassStyle("#a6dba0", "#5aae61", "一般控制区", "General control zone", fill_opacity=0.4),
    "实验区": ClassStyle("#a6dba0", "#5aae61", "实验区", "Experimental zone", fill_opacity=0.4),
}

#: Drinking-water source protection zones by grade (dark to light blue).
WATER_SOURCE: dict[str, ClassStyle] = {
    "一级保护区": ClassStyle("#08519c", "#08306b", "一级保护区", "Grade 1 zone", fill_opacity=0.5),
    "二级保护区": ClassStyle("#4292c6", "#2166ac", "二级保护区", "Grade 2 zone", fill_opacity=0.4),
    "准保护区": ClassStyle("#9ecae1", "#4292c6", "准保护区", "Quasi-protection zone", fill_opacity=0.35),
}

#: The ecological protection red line (one class).
REDLINE = ClassStyle("#e31a1c", "#b10026", "生态保护红线", "Ecological protection red line",
                     fill_opacity=0.25, weight=2.0)

#: The project site(s) under review: a bold outline that stays readable over any fill.
SITE = ClassStyle("#6a3d9a", "#3f007d", "项目用地", "Project site", fill_opacity=0.08, weight=3.0)

#: Default per-kind styles (the layer kinds of ``layers/schema``) for context layers
#: drawn without a class palette of their own.
KIND: dict[str, ClassStyle] = {
    "redline": REDLINE,
    "protected_area": ClassStyle("#238b45", "#00441b", "自然保护地", "Protected area", fill_opacity=0.3),
    "water_source": ClassStyle("#4292c6", "#08519c", "饮用水水源保护区", "Drinking-water source zone",
                               fill_opacity=0.3),
    "control_unit": ClassStyle("#bdbdbd", "#737373", "环境管控单元", "Environmental control unit",
                               fill_opacity=0.2),
    "farmland": ClassStyle("#e6c200", "#a68c00", "永久基本农田", "Permanent basic farmland", fill_opacity=0.3),
    "urban_boundary": ClassStyle("#ff7f7f", "#cc3d3d", "城镇开发边界", "Urban development boundary",
                                 fill_opacity=0.15, dash="6 4"),
    "grassland": ClassStyle("#b8e186", "#7fbc41", "草原", "Grassland", fill_opacity=0.3),
    "wetland": ClassStyle("#41b6c4", "#1d91c0", "湿地", "Wetland", fill_opacity=0.35),
    "mine": ClassStyle("#8c510a", "#543005", "矿山", "Mine", fill_opacity=0.4),
    "no_burn_zone": ClassStyle("#fdae61", "#d7301f", "高污染燃料禁燃区", "No-burn zone", fill_opacity=0.2),
    "sand_closure": ClassStyle("#dfc27d", "#a6611a", "沙化土地封禁保护区", "Desertified-land closure zone",
                               fill_opacity=0.3),
    "project": ClassStyle("#756bb1", "#54278f", "建设项目", "Project", fill_opacity=0.3),
    "admin": ClassStyle("#ffffff", "#525252", "行政区划", "Administrative boundary", fill_opacity=0.0,
                        weight=1.5, dash="8 4 2 4"),
    "road": ClassStyle("#636363", "#636363", "公路", "Road", fill_opacity=0.0, weight=2.0),
    "railway": ClassStyle("#252525", "#252525", "铁路", "Railway", fill_opacity=0.0, weight=2.0, dash="8 4"),
    "river": ClassStyle("#6baed6", "#3182bd", "河流", "River", fill_opacity=0.3, weight=1.5),
    # layer kinds added with the national forest and soil-contamination rules (issue 11)
    "forest": ClassStyle("#74c476", "#006d2c", "林地", "Forest land", fill_opacity=0.3),
    "contaminated_site": ClassStyle("#9e9ac8", "#54278f", "污染地块", "Contaminated land parcel",
                                    fill_opacity=0.35),
    "noise_sensitive_area": ClassStyle("#fcbba1", "#cb181d", "噪声敏感建筑物集中区域", "Noise-sensitive area",
                                       fill_opacity=0.2, dash="4 3"),
    "ecological_function_zone": ClassStyle("#c7e9c0", "#41ab5d", "生态功能分区", "Ecological function zone",
                                           fill_opacity=0.2),
    "groundwater_zone": ClassStyle("#9ecae1", "#2171b5", "地下水管控分区", "Groundwater control zone",
                                   fill_opacity=0.2, dash="2 3"),
}

#: Per-kind class palettes: (attribute to style by, palette).
KIND_PALETTES: dict[str, tuple[str, dict[str, ClassStyle]]] = {
    "control_unit": ("class", CONTROL_UNIT),
    "protected_area": ("zone", PROTECTED_ZONE),
    "water_source": ("grade", WATER_SOURCE),
}

#: Colours handed out in turn when a layer is styled by a column with no fixed palette.
QUALITATIVE: tuple[str, ...] = (
    "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666",
    "#8dd3c7", "#bebada", "#fb8072", "#80b1d3",
)


def leaflet_style(style: ClassStyle) -> dict[str, Any]:
    """Leaflet path options for ``style`` (also used for point circle markers)."""
    out: dict[str, Any] = {
        "color": style.stroke,
        "weight": style.weight,
        "opacity": 0.95,
        "fillColor": style.fill,
        "fillOpacity": style.fill_opacity,
        "fill": style.fill_opacity > 0,
        "radius": 6,
    }
    if style.dash:
        out["dashArray"] = style.dash
    return out


def as_style(value: ClassStyle | str | Mapping[str, Any], label: str = "") -> ClassStyle:
    """A :class:`ClassStyle` from a style, a bare CSS colour, or a mapping of its fields."""
    if isinstance(value, ClassStyle):
        return value
    if isinstance(value, str):
        return ClassStyle(value, value, label, label)
    fields = dict(value)
    fields.setdefault("label", label)
    fields.setdefault("stroke", fields.get("fill", DEFAULT_STYLE.stroke))
    fields.setdefault("fill", fields["stroke"])
    return ClassStyle(**fields)


def auto_palette(values: Any) -> dict[str, ClassStyle]:
    """A palette for arbitrary class values: :data:`QUALITATIVE` colours in sorted value order."""
    uniq = sorted({str(v) for v in values if v is not None and str(v) != "nan"})
    return {v: ClassStyle(QUALITATIVE[i % len(QUALITATIVE)], QUALITATIVE[i % len(QUALITATIVE)], v, v,
                          fill_opacity=0.4)
            for i, v in enumerate(uniq)}


def legend_entries(palette: Mapping[Any, ClassStyle], lang: str = "zh") -> list[tuple[str, str, str]]:
    """``(label, fill, stroke)`` rows for :func:`ecogis.render.webmap.legend`, one per distinct label."""
    seen: dict[str, tuple[str, str, str]] = {}
    for key, style in palette.items():
        label = style.text(lang) or str(key)
        seen.setdefault(label, (label, style.fill, style.stroke))
    return list(seen.values())
