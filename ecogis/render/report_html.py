"""The reviewer's report: one self-contained HTML file.

Jinja2 with autoescaping renders every value from data as text.  The review
map is embedded as an ``<iframe srcdoc>`` with its scripts inlined, so the file
opens with no network.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import jinja2

from ecogis.fileutil import write_text_atomic

LABELS = {
    "zh": {
        "title": "建设项目生态环境空间管控符合性筛查报告", "verdicts": "筛查结论", "site": "地块",
        "site_id": "地块编号", "name": "项目名称", "industry": "行业代码", "nature": "建设性质", "area": "面积",
        "verdict": "结论", "coverage": "数据覆盖", "findings": "冲突明细", "rule": "规则", "severity": "严重程度",
        "layer": "图层", "feature": "要素", "zone": "分区/级别", "overlap": "重叠面积", "pct": "占项目面积",
        "distance": "最近距离", "basis": "依据", "next_steps": "后续要求", "message": "说明", "none": "未发现冲突",
        "checked": "已核查图层", "not_evaluated": "未评估的规则（工作空间缺少图层）", "map": "审查地图",
        "versions": "数据与规则版本", "layer_versions": "图层版本", "rule_files": "规则文件", "inputs": "输入文件",
        "ecogis": "ecogis 版本", "generated": "生成时间 (UTC)", "area_method": "面积计算方法", "hectare": "公顷",
        "mu": "亩", "metre": "米", "source": "规划出处", "file": "文件", "version": "版本", "features": "要素数",
        "workspace": "工作空间", "coverage_note": "地块部分或全部位于数据覆盖范围以外，不能给出“未发现冲突”的结论。",
        "distance_method": "距离计算方法",
        "no_industry": "未提供行业代码：按最不利情形筛查，所有规则均视为适用（提供 --industry 可得到准确结论）。",
    },
    "en": {
        "title": "Project site screening report", "verdicts": "Verdicts", "site": "Site", "site_id": "Site ID",
        "name": "Name", "industry": "Industry", "nature": "Nature", "area": "Area", "verdict": "Verdict",
        "coverage": "Coverage", "findings": "Findings", "rule": "Rule", "severity": "Severity", "layer": "Layer",
        "feature": "Feature", "zone": "Zone / grade", "overlap": "Overlap", "pct": "Share of site",
        "distance": "Distance", "basis": "Legal basis", "next_steps": "Next steps", "message": "Message",
        "none": "No conflict found", "checked": "Checked against", "not_evaluated": "Rules not evaluated (layer missing)",
        "map": "Review map", "versions": "Data and rule versions", "layer_versions": "Layer versions",
        "rule_files": "Rule files", "inputs": "Input files", "ecogis": "ecogis version", "generated": "Generated (UTC)",
        "area_method": "Area method", "hectare": "ha", "mu": "mu", "metre": "m", "source": "Plan source",
        "file": "File", "version": "Version", "features": "Features", "workspace": "Workspace",
        "coverage_note": "The site lies partly or wholly outside the data's coverage; it cannot be called clear.",
        "distance_method": "Distance method",
        "no_industry": "No industry code was given: every rule was taken to apply, the worst case (give --industry "
        "for a precise answer).",
    },
}

_TEMPLATE = r"""<!DOCTYPE html>
<html lang="{{ 'zh-CN' if lang == 'zh' else 'en' }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ L.title }}</title>
<style>
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;border-bottom:2px solid #2b6e3f;padding-bottom:4px;margin-top:28px}
h3{font-size:16px;margin-top:20px}table{border-collapse:collapse;width:100%;margin:8px 0;font-size:13px}
th,td{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}th{background:#eef3ee}
.sev{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600;white-space:nowrap}
.prohibited{background:#c0392b}.restricted{background:#e67e22}.review{background:#b7950b}.notice{background:#2e86c1}
.clear{background:#27ae60}.not_covered{background:#7f8c8d}.small{font-size:12px;color:#555}
.note{background:#fdf2e9;border-left:4px solid #e67e22;padding:6px 10px}
iframe{width:100%;height:720px;border:1px solid #ccc}code{font-size:11px;word-break:break-all}
@media print{iframe{height:420px}}
</style></head><body>
<h1>{{ L.title }}</h1>
<p class="small">{{ L.generated }}: {{ meta.generated_at }} · {{ L.ecogis }} {{ meta.ecogis_version }} · {{ L.workspace }}: {{ meta.workspace }}</p>
<h2>{{ L.verdicts }}</h2>
<table><tr><th>{{ L.site_id }}</th><th>{{ L.name }}</th><th>{{ L.industry }}</th><th>{{ L.nature }}</th>
<th>{{ L.area }} ({{ L.hectare }} / {{ L.mu }})</th><th>{{ L.verdict }}</th><th>{{ L.coverage }}</th></tr>
{% for s in sites %}<tr><td><a href="#site-{{ loop.index }}">{{ s.site_id }}</a></td><td>{{ s.name }}</td><td>{{ s.industry or '' }}</td>
<td>{{ s.nature or '' }}</td><td>{{ '%.4f'|format(s.area_ha) }} / {{ '%.2f'|format(s.area_mu) }}</td>
<td><span class="sev {{ s.verdict }}">{{ sev[s.verdict] }}</span></td><td>{{ s.coverage }} ({{ '%.1f'|format(s.covered_pct) }}%)</td></tr>
{% endfor %}</table>
{% if map_html %}<h2>{{ L.map }}</h2><iframe title="{{ L.map }}" srcdoc="{{ map_html }}"></iframe>{% endif %}
{% for s in sites %}
<h2 id="site-{{ loop.index }}">{{ L.site }} {{ s.site_id }} · {{ s.name }} <span class="sev {{ s.verdict }}">{{ sev[s.verdict] }}</span></h2>
<p>{{ L.area }}: {{ '%.4f'|format(s.area_ha) }} {{ L.hectare }} ({{ '%.2f'|format(s.area_mu) }} {{ L.mu }}){% if s.length_m %} · {{ '%.0f'|format(s.length_m) }} {{ L.metre }}{% endif %}
 · {{ L.industry }} {{ s.industry or '—' }} · {{ L.nature }} {{ s.nature or '—' }}</p>
{% if not s.industry %}<p class="note">{{ L.no_industry }}</p>{% endif %}
{% if s.coverage != 'full' %}<p class="note">{{ L.coverage_note }} ({{ '%.1f'|format(s.covered_pct) }}%)</p>{% endif %}
<p class="small">{{ L.checked }}: {{ s.checked_layers|join(', ') or '—' }}</p>
{% if s.not_evaluated %}<p class="note">{{ L.not_evaluated }}: {{ s.not_evaluated|join(', ') }}</p>{% endif %}
{% if not s.findings %}<p>{{ L.none }}.</p>{% endif %}
{% for sevname, items in s.groups %}<h3><span class="sev {{ sevname }}">{{ sev[sevname] }}</span> ({{ items|length }})</h3>
<table><tr><th>{{ L.rule }}</th><th>{{ L.feature }}</th><th>{{ L.overlap }}</th><th>{{ L.message }}</th><th>{{ L.basis }}</th><th>{{ L.next_steps }}</th></tr>
{% for f in items %}<tr><td><b>{{ f.rule_id }}</b><br>{{ f.rule_title }}{% if f.source %}<br><span class="small">{{ L.source }}: {{ f.source }}</span>{% endif %}</td>
<td>{{ f.layer_kind }}: {{ f.feature_name or '—' }}{% if f.zone %} ({{ f.zone }}){% endif %}</td>
<td>{% if f.overlap_ha is not none %}{{ '%.4f'|format(f.overlap_ha) }} {{ L.hectare }}<br>{{ '%.2f'|format(f.overlap_mu) }} {{ L.mu }}{% if f.overlap_pct is not none %}<br>{{ '%.2f'|format(f.overlap_pct) }}%{% endif %}{% endif %}
{% if f.distance_m is not none and f.overlap_ha is none %}{{ L.distance }} {{ '%.0f'|format(f.distance_m) }} {{ L.metre }}{% endif %}</td>
<td>{{ f.message }}</td><td>{{ f.basis }}</td><td>{% for st in f.next_steps %}{{ st }}{% if not loop.last %}<br>{% endif %}{% endfor %}</td></tr>
{% endfor %}</table>{% endfor %}
{% endfor %}
{{ accesslist_html }}<h2>{{ L.versions }}</h2>
<p>{{ L.area_method }}: {{ meta.area_method_text[lang] if meta.area_method_text is mapping else meta.area_method }}<br>
{{ L.distance_method }}: {{ meta.distance_method }}</p>
<h3>{{ L.layer_versions }}</h3>
<table><tr><th>{{ L.layer }}</th><th>{{ L.version }}</th><th>{{ L.features }}</th><th>SHA-256</th><th>{{ L.file }}</th></tr>
{% for kind, li in meta.layers.items() %}<tr><td>{{ kind }}</td><td>{{ li.version }}</td><td>{{ li.feature_count }}</td><td><code>{{ li.sha256 }}</code></td><td class="small">{{ li.source }}</td></tr>{% endfor %}
</table>
<h3>{{ L.rule_files }}</h3>
<table><tr><th>{{ L.file }}</th><th>{{ L.version }}</th><th>SHA-256</th></tr>
{% for rf in meta.rule_files %}<tr><td>{{ rf.path or rf.file }}</td><td>{{ rf.version }}</td><td><code>{{ rf.sha256 }}</code></td></tr>{% endfor %}
</table>
{% if meta.inputs %}<h3>{{ L.inputs }}</h3><table><tr><th>{{ L.file }}</th><th>SHA-256</th></tr>
{% for i in meta.inputs %}<tr><td>{{ i.path }}</td><td><code>{{ i.sha256 }}</code></td></tr>{% endfor %}</table>{% endif %}
</body></html>
"""

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.ChainableUndefined)


def render_report(doc: dict[str, Any], *, lang: str = "zh", map_html: str | None = None) -> str:
    """Render the report from a findings document (see :func:`ecogis.render.report.findings_document`)."""
    import markupsafe

    from ecogis.accesslist.output import access_html
    from ecogis.screening.engine import SEVERITIES, SEVERITY_TEXT

    sev = {k: v[lang] for k, v in SEVERITY_TEXT.items()}
    sites = []
    for s in doc["sites"]:
        groups = [(name, [f for f in s["findings"] if f["severity"] == name]) for name in SEVERITIES]
        sites.append({**s, "groups": [(n, items) for n, items in groups if items]})
    # srcdoc is an attribute: autoescape turns the map's HTML into a safe attribute value
    return _ENV.from_string(_TEMPLATE).render(
        L=LABELS[lang], lang=lang, sev=sev, sites=sites, meta=doc["meta"], map_html=map_html,
        accesslist_html=markupsafe.Markup(access_html(doc, lang=lang)),  # escaped by its own template (issue 15)
    )


def write_report(doc: dict[str, Any], path: str | Path, *, lang: str = "zh", map_html: str | None = None) -> Path:
    """Write ``report.html`` atomically."""
    return write_text_atomic(path, render_report(doc, lang=lang, map_html=map_html))


def escape(text: Any) -> str:
    """HTML-escape ``text`` (for callers building small fragments)."""
    return html.escape("" if text is None else str(text), quote=True)
