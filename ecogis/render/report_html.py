"""The reviewer's report: ``report.html`` and, for large batches, the site viewer ``sites/site.html``.

The pages are rendered from package templates
(``ecogis/data/templates/report.html.j2``, ``viewer.html.j2``) with
autoescaping: every value from data is text.  Data for the page's JavaScript
travel only as JSON in ``<script type="application/json">`` blocks with ``<``,
``>`` and ``&`` escaped, so no value can close the block; the script puts them
into the page with ``textContent``.  The only code in a page is ecogis's own
(Leaflet, ``report.js``, ``viewer.js``), read from the package and the pinned
npm assets.

Up to :data:`~ecogis.render.report_data.INLINE_MAX` sites, ``report.html``
holds everything and opens offline as one file: the summary, the site table,
the overview map, and for each site its conclusion line, its map, its
findings and its 界址点坐标表.  Larger batches keep ``report.html`` small
(summary, a paginated searchable table from compact JSON, an overview map of
points) and every flagged site's detail is one click away in
``sites/site.html#<site id>``: one static page whose script reads the site
from packed data files (:mod:`ecogis.render.report_batch`).
"""

from __future__ import annotations

import base64
import gzip
import html
import shutil
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from ecogis.fileutil import write_text_atomic
from ecogis.render import assets
from ecogis.render.report_data import INLINE_MAX, ReportModel, build_model
from ecogis.render.report_text import (
    LABELS, PROVISIONAL_TEXT, VERDICT_COLOUR, css_string,
)
from ecogis.render.webmap import _js

#: Kept for callers of the earlier API (labels of the report in each language).
__all__ = ["render_report", "write_report", "write_report_files", "LABELS", "escape"]

#: Site-table data larger than this many characters are embedded gzipped (base64) and unpacked by the page
#: with the browser's ``DecompressionStream`` (Chromium 80+, Firefox 113+, Safari 16.4+).
GZIP_ABOVE = 1_000_000
#: Above this many characters (gzipped, base64) the site table's data of a batch report go to
#: ``sites/data/table.js``, loaded by ``report.html`` with ``<script src>``, so the page stays under 5 MB however
#: many sites it lists (about 45 bytes a site: 100,000 sites are about 4.5 MB).
TABLE_EXTERNAL_ABOVE = 3_500_000

_MISSING_SHA = {"zh": "（未记录）", "en": "(not recorded)"}


def _safe_json(text: str) -> Markup:
    """JSON text for a ``<script type="application/json">`` block: ``<``, ``>`` and ``&`` escaped."""
    return Markup(str(text).replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
                  .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _gzip64(text: str) -> str:
    return base64.b64encode(gzip.compress(text.encode("utf-8"), 1, mtime=0)).decode("ascii")


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("ecogis", "data/templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=False, lstrip_blocks=False)
    env.filters["safe_json"] = _safe_json
    return env


def _package_text(name: str) -> str:
    loader = _env().loader
    assert loader is not None
    source, _, _ = loader.get_source(_env(), name)
    return source


def _script(name: str) -> str:
    """A page script with the shared DOM and number helpers (``dom.js``) before it."""
    return _package_text("dom.js") + "\n" + _package_text(name)


def _page_css(model: ReportModel, sections: list[dict[str, Any]]) -> Markup:
    """``@page`` rules: A4 portrait, the report title and date on top, page numbers below;
    a named page per site whose header names the site.  Data reach CSS only as escaped strings."""
    L, meta = model.L, model.meta
    date = f"{L['generated']} {meta['date']}"
    if model.lang == "zh":
        pages = '"第 " counter(page) " 页 / 共 " counter(pages) " 页"'
    else:
        pages = '"Page " counter(page) " of " counter(pages)'
    base = ("@page { size: A4 portrait; margin: 18mm 15mm 16mm 15mm;"
            f" @top-left {{ content: {css_string(L['title'])}; font-size: 8.5pt; color: #555; }}"
            f" @top-right {{ content: {css_string(date)}; font-size: 8.5pt; color: #555; }}"
            f" @bottom-center {{ content: {pages}; font-size: 8.5pt; color: #555; }} }}\n")
    rules = [base]
    for s in sections:
        head = f"{L['site']} {s['id']}" + (f" · {s['name']}" if s["name"] else "")
        rules.append(f"@page site-{s['n']} {{ @top-left {{ content: {css_string(head[:60])}; font-size: 8.5pt;"
                     f" color: #555; }} }}\n#site-{s['n']} {{ page: site-{s['n']}; }}\n")
    return Markup("".join(rules))


def _summary_line(model: ReportModel) -> str:
    L, lang = model.L, model.lang
    parts = [f"{v['text']} {v['count']:,}" for v in model.summary["by_verdict"]]
    if lang == "zh":
        line = f"共 {model.n_sites:,} 个地块：" + "，".join(p + " 个" for p in parts) + "。"
        if model.summary["n_provisional"]:
            line += f"其中 {model.summary['n_provisional']:,} 个地块缺行业代码，结论待定。"
        line += f"共发现冲突 {model.summary['n_findings']:,} 项。"
    else:
        line = f"{model.n_sites:,} sites: " + ", ".join(parts) + "."
        if model.summary["n_provisional"]:
            line += f" {model.summary['n_provisional']:,} without an industry code (provisional)."
        line += f" {model.summary['n_findings']:,} findings."
    return line


def _context(model: ReportModel, page: str, sections: list[dict[str, Any]], *, inline_assets: bool,
             asset_prefix: str = "") -> dict[str, Any]:
    lang = model.lang
    table = dict(model.table)
    table["provWord"] = "（待定，缺行业代码）" if lang == "zh" else " (provisional)"
    table["cols"] = [model.L[k] for k in ("site_id", "name", "verdict", "conclusion", "area", "counts")]
    data = data_gz = None
    data_src = getattr(model, "data_src", None)
    if page == "report" and model.n_sites > 1 and not data_src:
        data_gz = getattr(model, "data_gz", None)
        data = None if data_gz else getattr(model, "data_json", None) or _js({"table": table,
                                                                             "overview": model.overview})
        if data and len(data) > GZIP_ABOVE:  # large batches: the data gzipped (base64), unpacked by the browser
            data_gz, data = _gzip64(data), None
    appendix = _appendix(model)
    if page == "report":  # the 准入清单对照 table (issue 15) once, on the report page, before the versions
        appendix = Markup(getattr(model, "access_html", "")) + appendix
    ctx = {
        "appendix": appendix, "colon": "：" if lang == "zh" else ": ",
        "lang": lang, "L": model.L, "meta": model.meta, "page": page, "sections": sections,
        "summary": model.summary, "n_sites": model.n_sites, "pages_cut": model.pages_cut,
        "max_pages": model.max_pages, "summary_line": _summary_line(model),
        "sev_colour": VERDICT_COLOUR, "prov_text": PROVISIONAL_TEXT[lang], "missing_sha": _MISSING_SHA[lang],
        "data_json": data, "data_gz": data_gz, "data_src": data_src,
        "table_missing": getattr(model, "table_missing", ""), "styles_json": _js(model.styles), "page_css": _page_css(model, sections),
        "inline_assets": inline_assets, "asset_prefix": asset_prefix,
    }
    if inline_assets:
        ctx.update(leaflet_css=Markup(assets.read_asset("leaflet_css")),
                   report_css=Markup(_package_text("report.css").replace("</", "<\\/")),
                   leaflet_js=Markup(assets.read_asset("leaflet_js")),
                   report_js=Markup(_script("report.js").replace("</", "<\\/")))
    return ctx


def _appendix(model: ReportModel) -> Markup:
    """The disclaimer and data-version tables (the same on every page of a report; rendered once)."""
    cached = getattr(model, "_appendix_html", None)
    if cached is None:
        cached = Markup(_env().get_template("appendix.html.j2").render(
            L=model.L, meta=model.meta, lang=model.lang, missing_sha=_MISSING_SHA[model.lang]))
        model._appendix_html = cached  # type: ignore[attr-defined]
    return cached


def _with_access(model: ReportModel, result) -> ReportModel:
    """Attach the access-list section (escaped by its own fixed template) to the model."""
    from ecogis.accesslist.output import access_html

    model.access_html = access_html(result, lang=model.lang)  # type: ignore[attr-defined]
    return model


def render_model(model: ReportModel) -> str:
    """``report.html`` of a model (see :func:`ecogis.render.report_data.build_model`)."""
    sections = model.sections if model.inline else []
    return _env().get_template("report.html.j2").render(**_context(model, "report", sections, inline_assets=True))


def render_report(result, *, lang: str = "zh", context: dict | None = None) -> str:
    """``report.html`` of a screening result, as text (all sites inline when few; see the module notes)."""
    return render_model(_with_access(build_model(result, context, lang=lang), result))


def write_report_files(result, out_dir: str | Path, *, lang: str = "zh", context: dict | None = None,
                       inline_max: int = INLINE_MAX, max_pages: int | None = None) -> list[Path]:
    """Write ``report.html`` (and, above ``inline_max`` sites, the site viewer ``sites/``) into ``out_dir``.

    Returns the paths written.  ``max_pages`` is accepted for callers of the
    earlier per-site pages and ignored: every flagged site has its detail.
    """
    out = Path(out_dir)
    site_dir = out / "sites"
    if len(result.sites) <= inline_max:
        model = _with_access(build_model(result, context, lang=lang, inline_max=inline_max), result)
        written = [write_text_atomic(out / "report.html", render_model(model))]
        if site_dir.is_dir():
            shutil.rmtree(site_dir)  # the site viewer of an earlier, larger run in this folder
        return written
    from ecogis.render import report_batch

    batch = report_batch.build_batch(result, context, lang=lang)
    model = batch.model
    out.mkdir(parents=True, exist_ok=True)
    # the viewer and its data go into a fresh folder that replaces ``sites/`` in one rename
    tmp = report_batch.new_folder(out, ".sites-")
    try:
        page = _env().get_template("viewer.html.j2").render(
            lang=lang, L=model.L, V=report_batch.VIEWER_LABELS[lang], meta=model.meta,
            colon="：" if lang == "zh" else ": ", page_css=_page_css(model, []), appendix=_appendix(model))
        # the site table's data: in report.html, or (very large batches) beside the viewer's data
        data = model.data_json  # type: ignore[attr-defined]
        gz = _gzip64(data) if len(data) > GZIP_ABOVE else None
        if gz is not None and len(gz) > TABLE_EXTERNAL_ABOVE:
            (tmp / "data").mkdir(parents=True, exist_ok=True)
            (tmp / "data" / "table.js").write_text(f'window.ecogisTableGz = "{gz}";\n', encoding="ascii")
            model.data_src = "sites/data/table.js"  # type: ignore[attr-defined]
            model.table_missing = report_batch.VIEWER_LABELS[lang]["no_table"]  # type: ignore[attr-defined]
        elif gz is not None:
            model.data_gz = gz  # type: ignore[attr-defined]
        report_batch.write_viewer(batch, result, tmp, lang=lang, context=context or {}, page_html=page,
                                  assets_text={"leaflet.js": assets.read_asset("leaflet_js"),
                                               "leaflet.css": assets.read_asset("leaflet_css"),
                                               "report.css": _package_text("report.css"),
                                               "viewer.js": _script("viewer.js")})
        report_batch.replace_folder(tmp, site_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [write_text_atomic(out / "report.html", render_model(model)), site_dir]


def write_report(result, path: str | Path, *, lang: str = "zh", context: dict | None = None) -> Path:
    """Write one report page with every site inline to ``path`` atomically (for small batches)."""
    model = _with_access(build_model(result, context, lang=lang, inline_max=max(len(result.sites), 1)), result)
    return write_text_atomic(path, render_model(model))


def escape(text: Any) -> str:
    """HTML-escape ``text`` (for callers building small fragments)."""
    return html.escape("" if text is None else str(text), quote=True)

