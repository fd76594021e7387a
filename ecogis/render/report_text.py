"""Words of the reviewer's report in Chinese and English: verdicts, coverage, layer kinds, units, labels.

The Chinese report shows no internal code: layer kinds, coverage and verdict
values are written as Chinese words, and the few technical strings the engine
records in English (the distance method, the coverage basis) are translated
here.
"""

from __future__ import annotations

import re
from typing import Any

from ecogis.render import styles

#: Site verdicts, most severe first (the cross-team vocabulary of issue 11).
VERDICTS = ("prohibited", "restricted", "review", "incomplete", "notice", "clear", "not_covered")
#: Finding severities, most severe first.
SEVERITIES = ("prohibited", "restricted", "review", "notice")
VERDICT_RANK = {"prohibited": 6, "restricted": 5, "review": 4, "incomplete": 3, "notice": 2, "clear": 1,
                "not_covered": 0}

VERDICT_TEXT = {
    "zh": {"prohibited": "禁止", "restricted": "限制", "review": "需论证", "incomplete": "数据不全",
           "notice": "提示", "clear": "未发现冲突", "not_covered": "超出数据覆盖范围"},
    "en": {"prohibited": "Prohibited", "restricted": "Restricted", "review": "Needs review",
           "incomplete": "Incomplete data", "notice": "Notice", "clear": "Clear",
           "not_covered": "Not covered by the data"},
}
VERDICT_COLOUR = {"prohibited": "#c0392b", "restricted": "#d35400", "review": "#9a7d0a", "incomplete": "#6c3483",
                  "notice": "#2471a3", "clear": "#1e8449", "not_covered": "#616a6b"}
COVERAGE_TEXT = {
    "zh": {"full": "全部在数据覆盖范围内", "partial": "部分在数据覆盖范围内", "none": "不在数据覆盖范围内"},
    "en": {"full": "fully covered", "partial": "partly covered", "none": "not covered"},
}
PROVISIONAL_TEXT = {"zh": "待定（缺行业代码）", "en": "Provisional (no industry code)"}

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "建设项目生态环境空间管控符合性筛查报告", "summary": "筛查结论汇总", "sites": "地块一览",
        "site": "地块", "site_id": "地块编号", "name": "项目名称", "industry": "行业代码", "nature": "建设性质",
        "area": "用地面积", "length": "线路长度", "verdict": "结论", "conclusion": "结论说明",
        "coverage": "数据覆盖", "findings": "冲突明细", "rule": "规则", "feature": "冲突要素",
        "measure": "占用情况", "message": "说明", "basis": "依据", "next_steps": "后续要求",
        "condition": "条件", "question": "待确认", "source": "出处", "none": "未发现与已核查图层的冲突。",
        "checked": "已核查图层", "not_evaluated": "未能评估的规则（工作空间缺少图层）", "map": "审查总图",
        "site_map": "地块位置及叠加分析图", "versions": "数据与规则版本", "layer_versions": "图层版本",
        "rule_files": "规则文件", "inputs": "输入文件", "ecogis": "ecogis 版本", "generated": "生成时间",
        "area_method": "面积计算方法", "distance_method": "距离计算方法", "coverage_basis": "数据覆盖范围依据",
        "hectare": "公顷", "mu": "亩", "metre": "米", "file": "文件", "version": "版本", "features": "要素数",
        "layer": "图层", "workspace": "工作空间", "count": "地块数", "share": "占地块总数", "finding_count": "冲突数",
        "total_ha": "合计重叠面积（公顷）", "by_verdict": "按结论统计", "by_rule": "按规则统计",
        "worst": "需重点关注的地块", "search": "搜索编号或名称", "all_verdicts": "全部结论", "prev": "上一页",
        "next": "下一页", "page": "第 {p} / {n} 页，共 {k} 个地块", "detail": "详情", "no_detail": "—",
        "coords": "界址点坐标表", "point_no": "点号", "ring_no": "圈号", "x": "X（纵坐标，米）",
        "y": "Y（横坐标，米）", "lon": "经度（°）", "lat": "纬度（°）",
        "coords_note": "坐标系：CGCS2000，{w}度带高斯-克吕格投影，第{z}带（中央经线 东经{cm}°），X 为纵坐标（北向），"
                       "Y 为横坐标（东向，含带号）；经纬度为 CGCS2000 地理坐标。",
        "coords_cut": "该地块共 {n} 个界址点，此处列出前 {k} 个；完整坐标见 conflicts.gpkg 或 国土TXT。",
        "disclaimer_title": "说明与免责",
        "disclaimer": "本报告由 ecogis 根据所列数据与规则文件自动生成，仅作为用地预审、环评审批的辅助筛查材料，"
                      "不替代主管部门的审查意见和法定程序。筛查结果取决于所用图层的版本与精度；地块超出数据覆盖范围、"
                      "数据不全或缺少行业代码时，结论为条件性结论，须补充资料后复核。面积与距离按下列方法计算，"
                      "与权属登记、三调成果可能存在差异。",
        "no_industry": "未提供行业代码：以下冲突按最不利情形列出，为条件性结论，须补充行业代码后复核。",
        "coverage_note": "数据覆盖范围内的部分占项目用地面积的 {pct}%，其余 {rest}% 在范围外，须补充该范围的图层后复核；"
                         "已覆盖部分的冲突照常列出。",
        "coverage_note_line": "该线性工程部分在数据覆盖范围以外，须补充该范围的图层后复核；已覆盖部分的冲突照常列出。",
        "incomplete_note": "部分适用规则未能在整个地块上评估（图层缺失、为空或不覆盖，或所需属性未知），结论为数据不全；"
                           "已评估部分的冲突照常列出。",
        "linear": "线性工程", "national_major": "国家重大项目", "yes": "是", "no": "否",
        "crossing": "穿越 {len} 米（{n} 处）", "overlap": "{ha} 公顷（{mu} 亩），占项目用地面积的 {pct}%",
        "overlap_nopct": "{ha} 公顷（{mu} 亩）", "distance": "最近距离 {d} 米", "basis_prefix": "依据：",
        "clear_line": "未发现冲突：已核查{layers}。", "legend": "图例", "county": "行政区划界线",
        "site_outline": "项目用地", "conflict": "冲突区域", "overview_note": "圆点为各地块位置，颜色表示结论；点击圆点查看地块。",
        "pages_cut": "另有 {n} 个有冲突的地块未生成单独页面（上限 {cap} 个），其明细见 findings.xlsx。",
        "back": "返回报告", "counts": "禁止 / 限制 / 需论证 / 提示", "page_of": "第 {p} 页",
        "verified_no": "（条文出处待核实）", "of_sites": "共 {n} 个地块", "notes": "处理说明",
        "none_short": "无", "inside_point": "点位位于其范围内", "point_site": "点位（无面积）",
        "no_gzip": "此浏览器版本过旧，无法显示地块一览（数据为压缩格式）；请使用新版浏览器打开，或查看 findings.xlsx。",
    },
    "en": {
        "title": "Project site screening report", "summary": "Summary", "sites": "Sites", "site": "Site",
        "site_id": "Site ID", "name": "Name", "industry": "Industry", "nature": "Nature", "area": "Area",
        "length": "Length", "verdict": "Verdict", "conclusion": "Conclusion", "coverage": "Coverage",
        "findings": "Findings", "rule": "Rule", "feature": "Feature", "measure": "Extent", "message": "Message",
        "basis": "Legal basis", "next_steps": "Next steps", "condition": "Condition", "question": "To confirm",
        "source": "Source", "none": "No conflict with the layers checked.", "checked": "Checked against",
        "not_evaluated": "Rules not evaluated (layer missing)", "map": "Overview map",
        "site_map": "Site location and overlay map", "versions": "Data and rule versions",
        "layer_versions": "Layer versions", "rule_files": "Rule files", "inputs": "Input files",
        "ecogis": "ecogis version", "generated": "Generated", "area_method": "Area method",
        "distance_method": "Distance method", "coverage_basis": "Coverage basis", "hectare": "ha", "mu": "mu",
        "metre": "m", "file": "File", "version": "Version", "features": "Features", "layer": "Layer",
        "workspace": "Workspace", "count": "Sites", "share": "Share of sites", "finding_count": "Findings",
        "total_ha": "Total overlap (ha)", "by_verdict": "By verdict", "by_rule": "By rule",
        "worst": "Sites needing attention", "search": "Search ID or name", "all_verdicts": "All verdicts",
        "prev": "Previous", "next": "Next", "page": "Page {p} / {n}, {k} sites", "detail": "Detail",
        "no_detail": "—", "coords": "Boundary point coordinates", "point_no": "Point", "ring_no": "Ring",
        "x": "X (northing, m)", "y": "Y (easting, m)", "lon": "Longitude (°)", "lat": "Latitude (°)",
        "coords_note": "CGCS2000 {w}-degree Gauss-Krüger zone {z} (central meridian {cm}°E); X is the northing, "
                       "Y the easting with the zone number; longitude/latitude are CGCS2000.",
        "coords_cut": "The site has {n} boundary points; the first {k} are listed; all are in conflicts.gpkg.",
        "disclaimer_title": "Notes and disclaimer",
        "disclaimer": "This report was generated by ecogis from the data and rule files listed. It supports, and "
                      "does not replace, the authorities' review. Results depend on the versions and accuracy "
                      "of the layers; where a site lies outside the data, data are incomplete or the industry "
                      "is unknown, the conclusion is conditional and must be checked again.",
        "no_industry": "No industry code was given: the conflicts below are listed for the worst case and are "
                       "conditional.",
        "coverage_note": "{pct}% of the site's area lies inside the data's coverage and {rest}% outside; obtain "
                         "the layers for the rest. Findings on the covered part are listed.",
        "coverage_note_line": "Part of the line lies outside the data's coverage; findings on the covered part "
                              "are listed.",
        "incomplete_note": "Some applicable rules could not be evaluated on the whole site; findings on the "
                           "evaluated part are listed.",
        "linear": "Linear project", "national_major": "National major project", "yes": "yes", "no": "no",
        "crossing": "crosses {len} m ({n} crossings)", "overlap": "{ha} ha ({mu} mu), {pct}% of the site's area",
        "overlap_nopct": "{ha} ha ({mu} mu)", "distance": "nearest distance {d} m", "basis_prefix": "basis: ",
        "clear_line": "Clear: checked against {layers}.", "legend": "Legend", "county": "Administrative boundary",
        "site_outline": "Project site", "conflict": "Conflict area",
        "overview_note": "Dots are the sites, coloured by verdict; click one to open it.",
        "pages_cut": "{n} further flagged sites have no page of their own (limit {cap}); see findings.xlsx.",
        "back": "Back to the report", "counts": "prohibited / restricted / review / notice", "page_of": "Page {p}",
        "verified_no": " (citation not yet verified)", "of_sites": "{n} sites", "notes": "Processing notes",
        "none_short": "none", "inside_point": "the point lies inside", "point_site": "a point (no area)",
        "no_gzip": "This browser is too old to unpack the site table; open the report in a current browser or "
                   "use findings.xlsx.",
    },
}


def kind_text(kind: Any, lang: str) -> str:
    """The layer kind as a word (``redline`` → 生态保护红线)."""
    st = styles.KIND.get(str(kind))
    return st.text(lang) if st else str(kind)


def kinds_text(kinds: Any, lang: str) -> str:
    """A comma-separated kind list (``"redline, farmland"``) as words joined by 、 (zh) or ", " (en)."""
    parts = [k for k in str(kinds or "").replace("，", ",").split(",") if k.strip()]
    sep = "、" if lang == "zh" else ", "
    return sep.join(kind_text(k.strip(), lang) for k in parts)


_CM = re.compile(r"CM\s*(\d+(?:\.\d+)?)\s*°?\s*E", re.I)


def distance_method_text(text: Any, lang: str) -> str:
    """The engine's distance-method note (recorded in English) in ``lang``."""
    s = "" if text is None else str(text)
    if lang != "zh":
        return s
    m = _CM.search(s)
    where = f"CGCS2000 局部高斯-克吕格投影（中央经线 东经{m.group(1)}°）" if m else "CGCS2000 局部高斯-克吕格投影"
    return f"距离为在{where}中求得的最短连线，按 CGCS2000 椭球面长度计算。"


def coverage_basis_text(text: Any, lang: str) -> str:
    s = "" if text is None else str(text)
    if lang != "zh":
        return s
    return {"admin layer": "行政区划图层（行政区范围以外视为无数据）",
            "extent of the layers": "各图层的外包范围"}.get(s, s)


# Developer notes that must not reach an official text: parenthesised remarks naming a parameter
# (snake_case identifiers such as ``xlh_xilin_river_screen_m``) and an empty placeholder "（—）".
_PARAM_NOTE = re.compile(r"[（(][^（）()]*\b[a-z][a-z0-9]*_[a-z0-9_]+\b[^（）()]*[）)]")
_EMPTY_PLACEHOLDER = re.compile(r"[（(]\s*—\s*[）)]")
# "占项目76.24%" in rule messages: say what the share is of
_SHARE = re.compile(r"占(?:项目|地块)(?:用地)?(?:面积)?(?:的)?\s*(?=[\d.,]+\s*%)")


def clean_official(text: Any) -> str:
    """``text`` without parameter-name remarks and empty ``（—）`` placeholders (for the zh report)."""
    if text is None:
        return ""
    s = str(text)
    s = _PARAM_NOTE.sub("", s)
    s = _EMPTY_PLACEHOLDER.sub("", s)
    s = _SHARE.sub("占项目用地面积的", s)
    return s.strip()


def basis_short(basis: Any, limit: int = 48) -> str:
    """The citation part of a basis text: what comes before the first colon, else its start."""
    s = clean_official(basis)
    for sep in ("：", ":"):
        i = s.find(sep)
        if 0 < i <= limit:
            return s[:i]
    return s if len(s) <= limit else s[:limit] + "…"


def css_string(text: Any) -> str:
    """``text`` as a CSS string literal: every character but letters, digits and space escaped (``\\hex ``)."""
    out = []
    for ch in "" if text is None else str(text):
        if ch.isascii() and (ch.isalnum() or ch == " "):
            out.append(ch)
        else:
            out.append(f"\\{ord(ch):x} ")
    return '"' + "".join(out) + '"'
