"""Leaflet and its plugins, inlined into web maps so they open with no network.

ecogis's maps are opened on government intranets and on phones in the field,
so a map's HTML may not load any script or stylesheet from the network.  The
files come from npm packages pinned in ``web/package.json`` (and its lock),
installed at set-up time into ``.venv/web/node_modules``::

    mkdir -p .venv/web && cp web/package.json web/package-lock.json .venv/web/
    npm ci --prefix .venv/web --no-audit --no-fund --ignore-scripts

A wheel built where they are installed (``make dist``) carries the same files
as package data (``ecogis/_bundled/web/node_modules``, see setup.py), so
``pip install ecogis-*.whl`` gives working offline maps with no npm step.

:func:`inline_assets` replaces every CDN ``<script src>`` and stylesheet
``<link href>`` that folium (or an ecogis control) writes with an inline
``<script>`` / ``<style>`` block read from those files; images a stylesheet
refers to become ``data:`` URIs.  :func:`assert_offline` then checks that the
page refers to no external file at all.

What folium adds by default and the maps do not need is dropped:

* Bootstrap (JS and CSS), Bootstrap 3 glyphicons, Font Awesome and
  Leaflet.awesome-markers are styling for ``folium.Icon`` markers and for
  folium's own plugins; ecogis draws points as circle markers.  A page that
  does use ``L.AwesomeMarkers`` is refused with an error rather than broken.
* jQuery is used by folium only for ``folium.Popup`` (``$(`...`)[0]``), for
  ``GeoJson(embed=False)`` and for ``objects_to_stay_in_front``.  ecogis binds
  its popups itself, so jQuery is dropped unless the page's own scripts use
  ``$`` or ``jQuery``; then it is inlined from the pinned npm package.

Set ``ECOGIS_WEB_ASSETS_DIR`` to use a ``node_modules`` folder elsewhere.
"""

from __future__ import annotations

import base64
import functools
import json
import mimetypes
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from ecogis.errors import EcogisError
from ecogis.settings import bundled_path, checkout_root

#: The command that installs the assets (what the Makefile's ``web-assets`` target runs).
INSTALL_HINT = (
    "install the web map assets: `make web-assets`, i.e. "
    "`mkdir -p .venv/web && cp web/package.json web/package-lock.json .venv/web/ && "
    "npm ci --prefix .venv/web --no-audit --no-fund --ignore-scripts`; "
    "or set ECOGIS_WEB_ASSETS_DIR to a node_modules folder that holds them"
)

#: The npm packages and the exact versions pinned in ``web/package.json``.
PACKAGES: dict[str, str] = {
    "leaflet": "1.9.4",
    "leaflet.fullscreen": "5.3.3",
    "leaflet-measure": "3.1.0",
    "leaflet-minimap": "3.6.1",
    "leaflet.locatecontrol": "0.90.1",
    "jquery": "3.7.1",
}


@dataclass(frozen=True)
class Asset:
    """One file of an npm package that a map may inline.

    Parameters
    ----------
    package:
        npm package name (a key of :data:`PACKAGES`).
    file:
        Path of the file inside the package.
    """

    package: str
    file: str

    @property
    def kind(self) -> str:
        """``js`` or ``css``."""
        return "css" if self.file.endswith(".css") else "js"

    @property
    def version(self) -> str:
        return PACKAGES[self.package]

    @property
    def cdn_url(self) -> str:
        """The jsDelivr URL of the same file and version: what folium writes before inlining."""
        return f"https://cdn.jsdelivr.net/npm/{self.package}@{self.version}/{self.file}"

    @property
    def path(self) -> Path:
        """The installed file (may not exist; see :func:`read_asset`)."""
        return web_assets_dir() / self.package / self.file


#: Every file a map may inline, by a short name.
ASSETS: dict[str, Asset] = {
    "leaflet_js": Asset("leaflet", "dist/leaflet.js"),
    "leaflet_css": Asset("leaflet", "dist/leaflet.css"),
    "fullscreen_js": Asset("leaflet.fullscreen", "dist/Control.FullScreen.umd.js"),
    "fullscreen_css": Asset("leaflet.fullscreen", "dist/Control.FullScreen.css"),
    "measure_js_zh": Asset("leaflet-measure", "dist/leaflet-measure.cn.js"),
    "measure_js_en": Asset("leaflet-measure", "dist/leaflet-measure.js"),
    "measure_css": Asset("leaflet-measure", "dist/leaflet-measure.css"),
    "minimap_js": Asset("leaflet-minimap", "dist/Control.MiniMap.min.js"),
    "minimap_css": Asset("leaflet-minimap", "dist/Control.MiniMap.min.css"),
    "locate_js": Asset("leaflet.locatecontrol", "dist/L.Control.Locate.min.js"),
    "locate_css": Asset("leaflet.locatecontrol", "dist/L.Control.Locate.min.css"),
    "jquery_js": Asset("jquery", "dist/jquery.min.js"),
}

#: Marker images of Leaflet's default icon, inlined by :func:`icon_defaults_js`.
_MARKER_IMAGES = {
    "iconUrl": "dist/images/marker-icon.png",
    "iconRetinaUrl": "dist/images/marker-icon-2x.png",
    "shadowUrl": "dist/images/marker-shadow.png",
}

# folium's default CDN files that ecogis maps do not need (see the module notes).
_DROP = re.compile(
    r"""^https?://(?:
        cdn\.jsdelivr\.net/npm/bootstrap@[^/]+/
      | netdna\.bootstrapcdn\.com/bootstrap/
      | cdn\.jsdelivr\.net/npm/@fortawesome/
      | cdnjs\.cloudflare\.com/ajax/libs/Leaflet\.awesome-markers/
      | cdn\.jsdelivr\.net/gh/python-visualization/folium/folium/templates/leaflet\.awesome\.rotate
    )""",
    re.X,
)
_JQUERY = re.compile(r"^https?://code\.jquery\.com/jquery-(\d+\.\d+)\.\d+(?:\.min)?\.js$")
_JSDELIVR_NPM = re.compile(r"^https?://cdn\.jsdelivr\.net/npm/((?:@[^/@]+/)?[^/@]+)@([^/]+)/(.+)$")

_SCRIPT_SRC = re.compile(r"""<script\b[^>]*?\bsrc\s*=\s*(["'])(.*?)\1[^>]*>\s*</script\s*>""", re.I | re.S)
_LINK_TAG = re.compile(r"""<link\b[^>]*>""", re.I | re.S)
_HREF = re.compile(r"""\bhref\s*=\s*(["'])(.*?)\1""", re.I | re.S)
_CSS_URL = re.compile(r"""url\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^"')]*))\s*\)""", re.I | re.S)
_SOURCE_MAP = re.compile(r"^[ \t]*(?://[#@]\s*sourceMappingURL=.*|/\*[#@]\s*sourceMappingURL=.*?\*/)[ \t]*$", re.M)


def _url_ref(m: re.Match) -> str:
    """The reference inside a matched CSS ``url()``, quoted or not."""
    return next((g for g in m.groups() if g is not None), "").strip()


def web_assets_dir() -> Path:
    """The ``node_modules`` folder the assets are read from.

    ``ECOGIS_WEB_ASSETS_DIR`` if set; else the first of these that holds
    Leaflet: the wheel's package data (``ecogis/_bundled/web/node_modules``,
    through :mod:`importlib.resources`), ``<sys.prefix>/web/node_modules``
    (what ``make web-assets`` installs into the running virtualenv), and a
    source checkout's ``.venv/web/node_modules``.  When none does, the set-up
    location is returned, for the error to name.
    """
    env = os.environ.get("ECOGIS_WEB_ASSETS_DIR")
    if env:
        return Path(env).expanduser()
    setup_dir = Path(sys.prefix) / "web" / "node_modules"
    candidates = [bundled_path("web/node_modules"), setup_dir]
    checkout = checkout_root()
    if checkout is not None:  # run from a checkout with another interpreter (PYTHONPATH=.)
        candidates.append(checkout / ".venv" / "web" / "node_modules")
    for candidate in candidates:
        if (candidate / "leaflet").is_dir():
            return candidate
    return candidates[-1] if checkout is not None else setup_dir


def _missing(path: Path, what: str) -> EcogisError:
    return EcogisError(f"web map asset not found: {what}", path=path, hint=INSTALL_HINT)


def check_assets() -> list[Path]:
    """The paths of every asset in :data:`ASSETS`; raises for the first one missing."""
    paths = []
    for asset in ASSETS.values():
        if not asset.path.is_file():
            raise _missing(asset.path, f"{asset.package}@{asset.version} {asset.file}")
        paths.append(asset.path)
    return paths


def _data_uri(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if path.suffix.lower() == ".svg":
        mime = "image/svg+xml"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _inline_css_urls(css: str, base: Path) -> str:
    """Replace ``url(file)`` in ``css`` by ``data:`` URIs of the files relative to ``base``."""

    def repl(m: re.Match) -> str:
        ref = _url_ref(m)
        if not ref or ref.startswith(("data:", "#")):
            return m.group(0)
        if re.match(r"^[a-z][a-z0-9+.-]*:|^//", ref, re.I):
            raise EcogisError(f"stylesheet refers to a remote file {ref!r}", path=base, hint=INSTALL_HINT)
        target = (base / ref.split("?")[0].split("#")[0]).resolve()
        if not target.is_file():
            raise _missing(target, f"{ref} (referred to by a stylesheet in {base})")
        return f'url("{_data_uri(target)}")'

    return _CSS_URL.sub(repl, css)


@functools.lru_cache(maxsize=64)
def _read_cached(path: str, mtime_ns: int, kind: str) -> str:
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    text = _SOURCE_MAP.sub("", text)
    if kind == "css":
        text = _inline_css_urls(text, p.parent)
        # An inline <style> ends at the first "</style"; no stylesheet has one, but be safe.
        text = re.sub(r"</(style)", r"<\\/\1", text, flags=re.I)
    else:
        text = re.sub(r"</(script)", r"<\\/\1", text, flags=re.I)
    return text


def read_asset(name: str) -> str:
    """The text of asset ``name`` ready to inline: no source-map comment, CSS images as ``data:`` URIs.

    Raises :class:`~ecogis.errors.EcogisError` naming the missing file and the install command.
    """
    asset = ASSETS[name]
    path = asset.path
    if not path.is_file():
        raise _missing(path, f"{asset.package}@{asset.version} {asset.file}")
    return _read_cached(str(path), path.stat().st_mtime_ns, asset.kind)


def icon_defaults_js() -> str:
    """JS that points Leaflet's default marker icon at inlined ``data:`` images.

    Leaflet finds its marker images through the stylesheet's path, which a
    ``data:`` URI does not have; without this a plain ``L.marker`` would ask
    for ``marker-icon.png`` beside the HTML file.
    """
    base = web_assets_dir() / "leaflet"
    urls = {}
    for key, rel in _MARKER_IMAGES.items():
        p = base / rel
        if not p.is_file():
            raise _missing(p, f"leaflet@{PACKAGES['leaflet']} {rel}")
        urls[key] = _data_uri(p)
    return (
        "L.Icon.Default.imagePath = '';\n"
        f"L.Icon.Default.mergeOptions({json.dumps(urls, separators=(',', ':'))});"
    )


def asset_for_url(url: str) -> str | None:
    """The :data:`ASSETS` name that serves ``url``, or ``None`` if ecogis has no local copy.

    A jsDelivr ``npm`` URL matches when the package and file are known and the
    version has the same major and minor number as the pinned one (folium
    asks for ``leaflet@1.9.3``; 1.9.4 is pinned).
    """
    m = _JSDELIVR_NPM.match(url)
    if m:
        package, version, file = m.groups()
        pinned = PACKAGES.get(package)
        if pinned is None or version.split(".")[:2] != pinned.split(".")[:2]:
            return None
        for name, asset in ASSETS.items():
            if asset.package == package and asset.file == file:
                return name
        return None
    m = _JQUERY.match(url)
    if m and PACKAGES["jquery"].startswith(m.group(1) + "."):
        return "jquery_js"
    return None


def _page_scripts(html: str) -> str:
    """The text of the page's own inline scripts (not the CDN tags)."""
    return "\n".join(re.findall(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script\s*>", html, re.I | re.S))


def _uses_jquery(script: str) -> bool:
    return re.search(r"(?<![\w$.])(?:\$\s*[(.]|jQuery\b)", script) is not None


def inline_assets(html: str) -> str:
    """Replace CDN ``<script src>`` / stylesheet ``<link href>`` tags with inline blocks.

    Known files (see :func:`asset_for_url`) are inlined from the local
    packages; folium's Bootstrap, glyphicon, Font Awesome and awesome-markers
    tags are removed; jQuery is inlined only if the page's own scripts use it.
    Any other reference is left as it is, for :func:`assert_offline` to report.

    Raises
    ------
    EcogisError
        If an asset is not installed, or if the page uses ``L.AwesomeMarkers``
        (its icon fonts cannot be inlined at a sensible size).
    """
    own = _page_scripts(html)
    if "L.AwesomeMarkers" in own:
        raise EcogisError(
            "the map uses folium.Icon (Leaflet.awesome-markers), which offline maps do not support",
            hint="draw points with folium.CircleMarker or ecogis.render.webmap.add_layer",
        )
    need_jquery = _uses_jquery(own)
    need_icons = re.search(r"\bL\.marker\s*\(", own) is not None

    def script(m: re.Match) -> str:
        url = m.group(2).strip()
        if _DROP.match(url):
            return ""
        name = asset_for_url(url)
        if name is None:
            return m.group(0)
        if name == "jquery_js" and not need_jquery:
            return ""
        asset = ASSETS[name]
        extra = f"\n{icon_defaults_js()}" if name == "leaflet_js" and need_icons else ""
        return f"<script>/* {asset.package}@{asset.version} {asset.file} */\n{read_asset(name)}{extra}\n</script>"

    def link(m: re.Match) -> str:
        tag = m.group(0)
        if not re.search(r"""\brel\s*=\s*["']?stylesheet""", tag, re.I):
            return tag
        href = _HREF.search(tag)
        if href is None:
            return tag
        url = href.group(2).strip()
        if _DROP.match(url):
            return ""
        name = asset_for_url(url)
        if name is None:
            return tag
        asset = ASSETS[name]
        return f"<style>/* {asset.package}@{asset.version} {asset.file} */\n{read_asset(name)}\n</style>"

    html = _SCRIPT_SRC.sub(script, html)
    html = _LINK_TAG.sub(link, html)
    # Folium writes one tag per line; drop the lines the removed tags leave empty.
    return re.sub(r"\n[ \t]*(?=\n)", "", html)


# Tags whose src/href makes the browser fetch something when the page loads.
_FETCHING = re.compile(
    r"""<(script|link|img|iframe|embed|source|audio|video|object|image|input|track)\b[^>]*>""", re.I | re.S
)
_ATTR = re.compile(r"""\b(src|href|data|srcset|poster|xlink:href)\s*=\s*(["'])(.*?)\2""", re.I | re.S)
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.I | re.S)


def offline_violations(html: str) -> list[str]:
    """Every reference in ``html`` that would make the browser fetch a file.

    Looks at the ``src`` / ``href`` (and similar) attributes of ``script``,
    ``link``, ``img``, ``iframe`` and media tags — anything but a ``data:`` URI
    counts, relative paths included — and at ``url()`` / ``@import`` in
    ``<style>`` blocks and ``style=`` attributes.  URLs inside JavaScript
    strings (the tile template of an explicitly chosen basemap) are not
    looked at.
    """
    bad: list[str] = []
    for m in _FETCHING.finditer(html):
        tag = m.group(0)
        for a in _ATTR.finditer(tag):
            value = a.group(3).strip()
            if value and not value.lower().startswith(("data:", "#", "javascript:void")):
                bad.append(f"<{m.group(1)} {a.group(1)}={value!r}>")
    css_texts = [m.group(1) for m in _STYLE_BLOCK.finditer(html)]
    css_texts += re.findall(r"""\bstyle\s*=\s*"([^"]*)"|\bstyle\s*=\s*'([^']*)'""", html)
    for css in css_texts:
        if isinstance(css, tuple):
            css = css[0] or css[1]
        for u in _CSS_URL.finditer(css):
            ref = _url_ref(u)
            if ref and not ref.lower().startswith(("data:", "#")):
                bad.append(f"css url({ref!r})")
        for imp in re.finditer(r"@import\s+[^;]+;", css, re.I):
            bad.append(f"css {imp.group(0)!r}")
    return bad


def assert_offline(html: str) -> str:
    """Return ``html`` if it loads no external file, else raise naming the references.

    Raises
    ------
    EcogisError
        Listing the first references found by :func:`offline_violations`.
    """
    bad = offline_violations(html)
    if bad:
        shown = "; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise EcogisError(
            f"the map would load {len(bad)} file(s) from outside the page: {shown}",
            hint="use ecogis.render.webmap controls (their assets are inlined) instead of folium plugins "
                 "with CDN files, or add the package to web/package.json and ecogis.render.assets.ASSETS",
        )
    return html
