"""Project sites: read from files, normalised, with their attributes.

Sites come from any format the read stage knows (国土TXT included), are
normalised as kind ``project`` and may get their attributes from the command
line (``--industry``, ``--nature``, ``--name``, ``--linear`` …), which fill in
or override what the file says.  Every geometry repair made on the way in
(a bow-tie split, a ring closed, a curve linearised) is kept in the site's
``repairs`` column as well as in the run's notes.
"""

from __future__ import annotations

import os
from typing import Any, Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ecogis.errors import InputError
from ecogis.fileutil import sha256_file
from ecogis.normalise import normalise
from ecogis.notes import Notes
from ecogis.read import read_file

SITE_COLUMNS = ("site_id", "name", "industry", "nature", "linear", "national_major", "unavoidable", "activity")
FLAG_COLUMNS = ("linear", "national_major", "unavoidable")


def load_sites(
    paths: Iterable[str | os.PathLike],
    *,
    crs: Any = None,
    overrides: dict[str, Any] | None = None,
    notes: Notes | None = None,
) -> gpd.GeoDataFrame:
    """Read site files into one GeoDataFrame of kind ``project`` (EPSG:4490).

    ``site_id`` is the 国土TXT 地块编号 when there is one, else a ``site_id``
    column, else ``<file stem>-<n>``.  Each site keeps its ``source_file``
    and the file's ``source_sha256``.
    """
    notes = notes if notes is not None else Notes()
    frames = []
    for path in paths:
        start = len(notes)
        gdf = read_file(path, crs=crs, notes=notes)
        # what reading finds goes into ``notes``; kept in the frame's attrs it would be deep-copied by every
        # pandas operation on the sites from here on
        gdf.attrs.clear()
        if "name" not in gdf.columns and not any(c in gdf.columns for c in ("名称", "MC", "NAME", "项目名称")):
            gdf["name"] = [f"{os.path.splitext(os.path.basename(path))[0]}-{i + 1}" for i in range(len(gdf))]
        if overrides and overrides.get("name"):
            gdf["name"] = overrides["name"] if len(gdf) == 1 else [f"{overrides['name']}-{i + 1}" for i in range(len(gdf))]
        gdf = normalise(gdf, "project", notes=notes, path=path)
        gdf.attrs.clear()
        if "site_id" not in gdf.columns or gdf["site_id"].isna().all():
            stem = os.path.splitext(os.path.basename(path))[0]
            gdf["site_id"] = [f"{stem}-{i + 1}" if len(gdf) > 1 else stem for i in range(len(gdf))]
        gdf["site_id"] = gdf["site_id"].astype(str)
        gdf["repairs"] = site_repairs(gdf, notes[start:])
        gdf["source_file"] = os.fspath(path)
        gdf["source_sha256"] = sha256_file(path)
        frames.append(gdf)
    if not frames:
        raise InputError("no site files given")
    if len(frames) == 1:  # one file: its frame as concat would give it (prepare_sites copies it)
        sites = frames[0].reset_index(drop=True)
    else:
        sites = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
    return prepare_sites(sites, overrides=overrides, notes=notes)


#: Note codes that change a site's geometry: each appears in the site's ``repairs`` column.
REPAIR_CODES = ("repair", "linearise", "drop_z", "split")


def site_repairs(gdf: gpd.GeoDataFrame, notes: Iterable[Any]) -> list[str]:
    """Per site, the repairs the notes of its file report (one per line, empty when none).

    A note names the features it concerns by their ``fid`` (the 国土TXT
    地块编号); a note that names none concerns every site of the file.
    """
    n = len(gdf)
    fids = gdf["fid"].astype(str) if "fid" in gdf.columns else None
    pos_parts: list[np.ndarray] = []
    txt_parts: list[np.ndarray] = []
    for note in notes:  # per note of the file (one per kind of repair), never per site
        if note.code not in REPAIR_CODES:
            continue
        if note.ids and fids is not None:
            hit = np.flatnonzero(fids.isin([str(i) for i in note.ids]).to_numpy())
        else:
            hit = np.arange(n)
        pos_parts.append(hit)
        txt_parts.append(np.full(len(hit), f"[{note.code}] {note.message}", dtype=object))
    out = np.full(n, "", dtype=object)
    if pos_parts:
        pos, txt = np.concatenate(pos_parts), np.concatenate(txt_parts)
        order = np.argsort(pos, kind="stable")  # each site's repairs in the order of the notes
        joined = pd.Series(txt[order]).groupby(pos[order], sort=True).agg("\n".join)
        out[joined.index.to_numpy()] = joined.to_numpy()
    return out.tolist()


def prepare_sites(
    sites: gpd.GeoDataFrame, *, overrides: dict[str, Any] | None = None, notes: Notes | None = None
) -> gpd.GeoDataFrame:
    """Fill in site attributes, apply overrides and make site IDs unique."""
    notes = notes if notes is not None else Notes()
    out = sites.copy()
    if out.crs is None or out.crs.to_epsg() != 4490:
        out = normalise(out, "project", notes=notes)
    for col in ("site_id", "name", "industry", "nature", "activity"):
        if col not in out.columns:
            out[col] = None
    if "repairs" not in out.columns:
        out["repairs"] = ""
    if not _is_text(out["repairs"]):
        out["repairs"] = out["repairs"].fillna("").astype(str)
    for col in FLAG_COLUMNS:
        if col not in out.columns:
            out[col] = False
        if out[col].dtype != bool:  # already prepared sites (the engine prepares them again): nothing to change
            out[col] = out[col].fillna(False).astype(bool)
    for key, value in (overrides or {}).items():
        if value is None or key == "name":
            continue
        if key in FLAG_COLUMNS:
            if value:
                out[key] = True
        else:
            out[key] = value
    if out["site_id"].isna().any():
        missing = out["site_id"].isna()
        # S<row number> for a site without an ID
        rows = pc.cast(pa.array(np.flatnonzero(missing) + 1), pa.string())
        out.loc[missing, "site_id"] = pc.binary_join_element_wise("S", rows, "").to_numpy(zero_copy_only=False)
    if not _is_text(out["site_id"]):
        out["site_id"] = out["site_id"].astype(str)
    dup = out["site_id"].duplicated(keep=False)
    if dup.any():
        counts = out.groupby("site_id").cumcount() + 1
        out.loc[dup, "site_id"] = out.loc[dup, "site_id"] + "#" + counts[dup].astype(str)
        notes.add("site_id", "duplicate site IDs made unique with #n", out.loc[dup, "site_id"].tolist())
    if out["industry"].notna().any():
        from ecogis.rules import load_taxonomy

        tax = load_taxonomy()
        # each distinct code validated once; an error names the first site that has it
        codes, uniq = pd.factorize(out["industry"].to_numpy(dtype=object))
        first = np.zeros(len(uniq), dtype=int)
        seen, at = np.unique(codes, return_index=True)
        first[seen[seen >= 0]] = at[seen >= 0]
        sids = out["site_id"].to_numpy(dtype=object)
        valid = np.array([
            tax.validate(v, strict=False, error=InputError, where=f"site {sids[i]}, field industry")
            if isinstance(v, str) and v else None for v, i in zip(uniq, first)
        ] + [None], dtype=object)
        out["industry"] = valid[codes]  # code -1 (missing) takes the trailing None
    idx = out.index
    if isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1 and idx.name is None:
        return out  # already numbered 0…n-1 (and a copy)
    return out.reset_index(drop=True)


#: The dtype ``Series.astype(str)`` gives.
_TEXT_DTYPE = pd.Series(["x"], dtype=object).astype(str).dtype


def _is_text(col: pd.Series) -> bool:
    """Whether ``col`` is already what ``col.fillna("").astype(str)`` would make of it (text, no missing value)."""
    if col.isna().any():
        return False
    if col.dtype == _TEXT_DTYPE and col.dtype != object:
        return True
    # plain Python strings (pandas 2, or pandas 3 without its string inference): text only if every value is
    return col.dtype == object and pd.api.types.infer_dtype(col, skipna=False) == "string"
