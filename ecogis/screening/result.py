"""The screening result: the one contract between the engine and everything after it.

:func:`ecogis.screen` (and the Dask engine) return a :class:`ScreenResult`.
Render, export, patrol and the CLI read only this object: its tables, its
vocabulary and the features the engine read (``context``), so none of them
reopens the workspace or imports engine internals.

Its views are table-first and built in one pass (no loop over sites that
scans the findings): :meth:`ScreenResult.by_site` (cached positions per
site), :meth:`~ScreenResult.counts`, :meth:`~ScreenResult.worst_sites`,
:meth:`~ScreenResult.to_document` (the ``findings.json`` structure),
:meth:`~ScreenResult.to_files`, and for notebooks
:meth:`~ScreenResult.explore` and ``_repr_html_``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from ecogis.notes import Notes
from ecogis.vocab import SEVERITY_RANK, VERDICT_RANK, Severity, Verdict, rank_of

if TYPE_CHECKING:
    import folium

#: Columns of the findings table, in order (before the geometry).
FINDING_COLUMNS: list[str] = [
    "site_id", "site_name", "rule_id", "rule_title", "severity", "layer_kind", "feature_id", "feature_name",
    "zone", "feature_code", "overlap_ha", "overlap_mu", "overlap_pct", "overlap_length_m", "distance_m",
    "basis", "message", "next_steps", "rule_file", "source", "citation", "basis_verified", "basis_unverified",
    "rule_version",
]
#: Columns of :attr:`ScreenResult.verdicts`.
VERDICT_COLUMNS: list[str] = ["site_id", "name", "industry", "nature", "area_ha", "verdict", "verdict_text",
                              "provisional", "coverage", "covered_pct", "checked_layers", "not_evaluated",
                              "incomplete_layers", "incomplete_rules"]

# findings.json: text and number fields of a finding, in document order (next_steps is a list)
_F_TEXT = ("rule_title", "feature_id", "feature_name", "zone", "feature_code", "rule_file", "source")
#: The rule's citation for people, what of its basis is unverified, and its version (issue 11), when present.
_F_RULE_TEXT = ("citation", "basis_unverified", "rule_version")
_F_NUM = ("overlap_ha", "overlap_mu", "overlap_pct", "overlap_length_m", "distance_m")
_F_ORDER = ("rule_id", "rule_title", "severity", "layer_kind", "feature_id", "feature_name", "zone", "feature_code",
            "overlap_ha", "overlap_mu", "overlap_pct", "overlap_length_m", "distance_m", "basis", "message",
            "next_steps", "rule_file", "source")
#: Optional finding columns passed through to the document when present (issue 11).
_F_OPTIONAL = ("condition", "question", "certainty")
#: Optional site columns passed through to the document when present (issue 11).
_S_OPTIONAL = ("provisional",)
#: Optional site text columns (issue 11), and list columns written as ", "-separated text.
_S_OPTIONAL_TEXT = ("verdict_text", "incomplete_layers")
_S_OPTIONAL_LIST = ("incomplete_rules",)


def _text_col(s: pd.Series) -> np.ndarray:
    """``str(v)``, or ``None`` where missing, for a whole column."""
    vals = s.to_numpy(dtype=object)
    out = np.full(len(vals), None, dtype=object)
    ok = ~pd.isna(vals)
    if ok.any():
        out[ok] = pd.Series(vals[ok]).astype(str).to_numpy(dtype=object)
    return out


def _num_col(s: pd.Series) -> np.ndarray:
    """Floats, or ``None`` where missing or not a number, for a whole column."""
    v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    out = v.astype(object)
    out[np.isnan(v)] = None
    return out


def _num0_col(s: pd.Series) -> list[float]:
    """Floats with missing values as 0.0, for a whole column."""
    return pd.to_numeric(s, errors="coerce").fillna(0.0).astype(float).tolist()


def _bool_col(frame: pd.DataFrame, name: str) -> list[bool]:
    """``bool(v)`` for a whole column (``False`` when the column is absent)."""
    if name not in frame.columns:
        return [False] * len(frame)
    col = frame[name]
    if pd.api.types.is_bool_dtype(col):
        return col.astype(bool).tolist()
    return col.astype(object).map(bool).tolist()


def _split_col(s: pd.Series, sep: str) -> list[list[str]]:
    """Each value split at ``sep`` with blanks dropped (``""`` and missing give ``[]``)."""
    text = s.fillna("").astype(str)
    parts = text.str.split(sep, regex=False)
    return [[p for p in ps if p] for ps in parts]


def _steps_col(s: pd.Series) -> list[list[str]]:
    """``next_steps`` text (``；`` or ``;`` separated) as lists, stripped, for a whole column."""
    text = s.fillna("").astype(str).str.replace("；", ";", regex=False)
    # one split per distinct text: next steps repeat per rule
    uniq = {t: [p.strip() for p in t.split(";") if p.strip()] for t in pd.unique(text)}
    return [list(uniq[t]) for t in text]


@dataclass
class ScreenResult:
    """What :func:`ecogis.screen` returns: tidy tables, the vocabulary and the features read.

    Attributes
    ----------
    sites:
        The sites with ``area_ha``, ``verdict``, ``coverage``, ``covered_pct``,
        ``checked_layers`` and ``not_evaluated`` columns, EPSG:4490.
    findings:
        One row per (site, rule, feature) conflict, with the overlap polygon
        (or, for distance rules, the shortest line) as geometry, EPSG:4490;
        sorted by site, then most severe first.
    not_evaluated:
        Rules whose layer is missing from the workspace.
    meta:
        Versions and checksums: ecogis, every layer used, every rule file, the
        inputs; the area method (``area_method_text`` states it); the time.
    notes:
        What was repaired, assumed or skipped on the way.
    context:
        The features the engine read that the findings name, per layer kind,
        and the admin boundary around the sites (``"admin"``): what the review
        map draws, so no writer reopens the workspace.

    Examples
    --------
    >>> result = ecogis.screen("sites.geojson", "ws.gpkg")       # doctest: +SKIP
    >>> result.counts()["by_verdict"]                              # doctest: +SKIP
    >>> result.to_files("out", formats=("json", "gpkg"))          # doctest: +SKIP
    """

    sites: gpd.GeoDataFrame
    findings: gpd.GeoDataFrame
    not_evaluated: pd.DataFrame
    meta: dict[str, Any]
    notes: Notes = field(default_factory=Notes)
    context: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)

    #: The vocabulary: site verdicts and finding severities (rank, zh, en, colour).
    Verdict: ClassVar[type[Verdict]] = Verdict
    Severity: ClassVar[type[Severity]] = Severity

    def __post_init__(self) -> None:
        self._by_site: dict[Any, np.ndarray] | None = None

    # ------------------------------------------------------------------ views
    @property
    def verdicts(self) -> pd.DataFrame:
        """One row per site: its id, name, attributes, area and verdict (no geometry)."""
        return pd.DataFrame(self.sites[[c for c in VERDICT_COLUMNS if c in self.sites.columns]])

    def by_site(self) -> dict[Any, np.ndarray]:
        """Row positions of each site's findings (``site_id → positions``), computed once and cached."""
        if self._by_site is None:
            self._by_site = self.findings.groupby("site_id", sort=False).indices if len(self.findings) else {}
        return self._by_site

    def site_findings(self, site_id: Any) -> gpd.GeoDataFrame:
        """The findings of one site (from the cached :meth:`by_site` positions)."""
        pos = self.by_site().get(site_id)
        return self.findings.iloc[pos if pos is not None else np.zeros(0, dtype=int)]

    def _site_codes(self) -> tuple[np.ndarray, np.ndarray, int]:
        """``(code per site, code per finding, number of codes)``: site ids numbered in one hashing pass.

        Sites that share an id share its code (each gets that id's findings), as a grouping by id would.
        """
        ids = np.concatenate([self.sites["site_id"].to_numpy(dtype=object),
                              self.findings["site_id"].to_numpy(dtype=object)])
        codes, uniq = pd.factorize(ids, use_na_sentinel=False)
        n = len(self.sites)
        return codes[:n], codes[n:], len(uniq)

    def n_findings(self) -> pd.Series:
        """Findings per site, aligned with :attr:`sites` (0 for sites without any)."""
        site_code, finding_code, n_codes = self._site_codes()
        counts = np.bincount(finding_code, minlength=n_codes)[site_code]
        return pd.Series(counts.astype(int), index=self.sites.index, name="n_findings")

    def counts(self) -> dict[str, pd.Series]:
        """Counts in one pass each: sites by verdict, findings by severity, by rule and by layer kind.

        ``by_verdict`` lists every verdict of the vocabulary (0 where none);
        ``by_rule`` has the findings and the sites per rule, most findings first.
        """
        verdicts = self.sites["verdict"].astype(str)
        by_verdict = verdicts.value_counts().reindex([v.value for v in Verdict], fill_value=0)
        f = self.findings
        by_severity = (f["severity"].value_counts() if len(f) else pd.Series(dtype=int)).reindex(
            [s.value for s in Severity], fill_value=0)
        if len(f):
            g = f.groupby("rule_id", sort=False)
            by_rule = pd.DataFrame({"rule_title": g["rule_title"].first(), "severity": g["severity"].first(),
                                    "findings": g.size(), "sites": g["site_id"].nunique()})
            by_rule = by_rule.sort_values(["findings", "sites"], ascending=False, kind="stable")
            by_kind = f["layer_kind"].value_counts()
        else:
            by_rule = pd.DataFrame(columns=["rule_title", "severity", "findings", "sites"])
            by_kind = pd.Series(dtype=int)
        return {"by_verdict": by_verdict, "by_severity": by_severity, "by_rule": by_rule, "by_layer": by_kind}

    def worst_sites(self, n: int = 20) -> pd.DataFrame:
        """The ``n`` most severe sites: by verdict, then overlap with the most severe findings, then findings.

        One pass over the findings (their severities coded per distinct object) and one ``lexsort`` of the
        sites; only the ``n`` rows returned are built.
        """
        sites = self.sites
        site_code, finding_code, n_codes = self._site_codes()
        nf = np.bincount(finding_code, minlength=n_codes)[site_code]
        if len(self.findings):
            # per site id: the most severe rank among its findings, then the overlap of its findings at that rank
            f = self.findings
            sev = rank_of(f["severity"], SEVERITY_RANK, missing=np.nan)  # NaN: no rank, never the top
            sev = np.where(np.isnan(sev), -np.inf, sev)
            top_sev = np.full(n_codes, -np.inf)
            up = np.argsort(sev, kind="stable")
            top_sev[finding_code[up]] = sev[up]  # the last write per site is its highest rank
            ov = np.nan_to_num(f["overlap_ha"].to_numpy(dtype=float))
            overlap = np.bincount(finding_code, weights=np.where(sev == top_sev[finding_code], ov, 0.0),
                                  minlength=n_codes)[site_code]
        else:
            overlap = np.zeros(len(sites))
        rank = rank_of(sites["verdict"], VERDICT_RANK, missing=-2.0)
        # descending on each key, ties in table order (as a stable descending sort)
        top = np.lexsort((-nf, -overlap, -rank))[:n]
        v = pd.DataFrame(sites.iloc[top][[c for c in VERDICT_COLUMNS if c in sites.columns]])
        return v.assign(n_findings=nf[top], worst_overlap_ha=overlap[top])

    # -------------------------------------------------------------- documents
    def to_document(self) -> dict[str, Any]:
        """The result as the documented JSON structure (``ecogis/data/findings.schema.json``), in one pass.

        Every column is cleaned once (missing values to ``None``, numbers to
        floats), the findings become records once and are bucketed by site in
        one pass over them.
        """
        by_site: dict[Any, list[dict[str, Any]]] = {}
        f = self.findings
        if len(f):
            cols: dict[str, Any] = {
                "rule_id": f["rule_id"].to_numpy(dtype=object),
                "severity": f["severity"].to_numpy(dtype=object),
                "layer_kind": f["layer_kind"].to_numpy(dtype=object),
                "basis": f["basis"].to_numpy(dtype=object),
                "message": f["message"].to_numpy(dtype=object),
            }
            for c in _F_TEXT:
                cols[c] = _text_col(f[c])
            for c in _F_NUM:
                cols[c] = _num_col(f[c])
            cols["next_steps"] = _steps_col(f["next_steps"])
            order = list(_F_ORDER) + [c for c in _F_OPTIONAL if c in f.columns]
            for c in _F_RULE_TEXT:
                if c in f.columns:
                    order.append(c)
                    cols[c] = f[c].fillna("").astype(str).to_numpy(dtype=object)
            if "basis_verified" in f.columns:
                order.append("basis_verified")
                cols["basis_verified"] = np.array(f["basis_verified"].fillna(True).astype(bool).tolist(), dtype=object)
            for c in _F_OPTIONAL:
                if c in f.columns:
                    cols[c] = f[c].fillna("fact" if c == "certainty" else "").astype(str).to_numpy(dtype=object)
            keys = tuple(order)
            for sid, *vals in zip(f["site_id"].to_numpy(dtype=object), *(cols[k] for k in keys)):
                by_site.setdefault(sid, []).append(dict(zip(keys, vals)))
        s = self.sites
        n = len(s)
        scol: dict[str, Any] = {
            "site_id": s["site_id"].astype(str).to_numpy(dtype=object),
            "name": _text_col(s["name"]) if "name" in s.columns else np.full(n, None, dtype=object),
            "industry": _text_col(s["industry"]) if "industry" in s.columns else np.full(n, None, dtype=object),
            "nature": _text_col(s["nature"]) if "nature" in s.columns else np.full(n, None, dtype=object),
            "linear": _bool_col(s, "linear"),
            "national_major": _bool_col(s, "national_major"),
            "unavoidable": _bool_col(s, "unavoidable"),
            "area_ha": _num0_col(s["area_ha"]),
            "area_mu": _num0_col(s["area_mu"]),
            "length_m": _num_col(s["length_m"]) if "length_m" in s.columns else np.full(n, None, dtype=object),
            "verdict": s["verdict"].to_numpy(dtype=object),
            "coverage": s["coverage"].to_numpy(dtype=object),
            "covered_pct": _num0_col(s["covered_pct"]),
            "checked_layers": _split_col(s["checked_layers"], ", "),
            "not_evaluated": _split_col(s["not_evaluated"], ", "),
        }
        if "repairs" in s.columns:  # repairs made to the site geometry on reading (reported, never silent)
            scol["repairs"] = _split_col(s["repairs"].fillna("").astype(str), "\n")
        for c in _S_OPTIONAL:
            if c in s.columns:
                scol[c] = _bool_col(s, c)
        for c in _S_OPTIONAL_TEXT:
            if c in s.columns:
                scol[c] = s[c].fillna("").astype(str).to_numpy(dtype=object)
        for c in _S_OPTIONAL_LIST:
            if c in s.columns:
                scol[c] = _split_col(s[c], ", ")
        skeys = tuple(scol)
        raw_ids = s["site_id"].to_numpy(dtype=object)
        sites = [dict(zip(skeys, vals), findings=by_site.get(sid, []))
                 for sid, *vals in zip(raw_ids, *(scol[k] for k in skeys))]
        from ecogis.accesslist.output import access_document  # 准入清单对照 (issue 15)

        access = access_document(self)
        return {"meta": self.meta, "sites": sites, **({"accesslist": access} if access else {})}

    def to_files(self, out_dir: str | Path, formats: Iterable[str] | None = None, lang: str | None = None,
                 *, progress: bool = False) -> list[Path]:
        """Write ``report.html``, ``findings.json``, ``findings.xlsx``, ``conflicts.gpkg`` (or ``formats``).

        ``formats`` are any of ``html``, ``json``, ``jsonl``, ``xlsx``, ``gpkg``
        (default: html, json, xlsx, gpkg); ``lang`` defaults to the result's.
        Returns the paths written.
        """
        from ecogis.render.outputs import FORMATS, write_outputs

        return write_outputs(self, out_dir, formats=FORMATS if formats is None else formats,
                             lang=lang or self.meta.get("lang", "zh"), progress=progress)

    # -------------------------------------------------------------- notebooks
    def explore(self, lang: str | None = None, **kwargs: Any) -> "folium.Map":
        """The review map of all sites and findings (a folium map; Jupyter shows it)."""
        from ecogis.render.webmap import review_map

        return review_map(self.sites, self.findings, self.context, lang=lang or self.meta.get("lang", "zh"),
                          **kwargs)

    def _repr_html_(self) -> str:
        lang = self.meta.get("lang", "zh")
        by_verdict = self.counts()["by_verdict"]
        cells = "".join(
            f'<tr><td style="color:{html.escape(Verdict(v).colour)}">&#9632;</td>'
            f"<td>{html.escape(Verdict(v).text(lang))}</td><td style='text-align:right'>{int(n):,}</td></tr>"
            for v, n in by_verdict.items() if n
        )
        head = (f"<b>ScreenResult</b>: {len(self.sites):,} sites, {len(self.findings):,} findings, "
                f"{len(self.not_evaluated):,} rules not evaluated")
        return f"<div>{head}<table>{cells}</table></div>"

    def __repr__(self) -> str:
        return (f"ScreenResult({len(self.sites):,} sites, {len(self.findings):,} findings, "
                f"{len(self.not_evaluated):,} rules not evaluated)")


def combine_context(parts: Iterable[Mapping[str, gpd.GeoDataFrame]]) -> dict[str, gpd.GeoDataFrame]:
    """The context features of several results (e.g. the Dask engine's partitions), each feature once."""
    frames: dict[str, list[gpd.GeoDataFrame]] = {}
    for ctx in parts:
        for kind, gdf in ctx.items():
            if len(gdf):
                frames.setdefault(kind, []).append(gdf)
    out: dict[str, gpd.GeoDataFrame] = {}
    for kind, fs in frames.items():
        g = gpd.GeoDataFrame(pd.concat(fs, ignore_index=True), geometry=fs[0].geometry.name, crs=fs[0].crs)
        key = "fid" if "fid" in g.columns else None
        out[kind] = (g.drop_duplicates(subset=key) if key else g).reset_index(drop=True)
    return out
