"""Run a screening for the web app: read, check limits, screen, write the files, record it."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from ecogis.errors import InputError
from ecogis.fileutil import write_text_atomic
from ecogis.notes import Notes
from ecogis.serve.config import ServeConfig
from ecogis.serve.records import Record, ScreeningStore
from ecogis.serve.uploads import Saved, check_vertices
from ecogis.vocab import rank_of

#: Output formats written for every screening and the file each one makes.
FORMATS: tuple[str, ...] = ("html", "json", "xlsx", "gpkg")
#: Which overrides the web form may set.
OVERRIDE_KEYS: tuple[str, ...] = ("industry", "nature", "activity", "name", "linear", "national_major",
                                  "unavoidable")


def worst_verdict(verdicts: pd.Series) -> str:
    """The most severe site verdict (``clear`` for no sites)."""
    if not len(verdicts):
        return "clear"
    return str(verdicts.iloc[int(rank_of(verdicts).argmax())])


def clean_overrides(raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in OVERRIDE_KEYS:
        v = raw.get(k)
        if v in (None, "", [], False):
            continue
        if k in ("linear", "national_major", "unavoidable"):
            out[k] = str(v).lower() in ("1", "true", "on", "yes")
            continue
        out[k] = ",".join(str(x) for x in v) if isinstance(v, (list, tuple)) else str(v)[:500]
    return out


def _versions(meta: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    layers = meta.get("layers") or {}
    if isinstance(layers, dict):
        data = {str(k): str((v or {}).get("version", "")) for k, v in layers.items()}
    else:
        data = {str(x.get("kind")): str(x.get("version", "")) for x in layers}
    rules = {str(r.get("path")): str(r.get("version", "")) for r in meta.get("rule_files") or []}
    return data, rules


def screen_saved(cfg: ServeConfig, ws, store: ScreeningStore, saved: list[Saved], overrides: dict[str, Any],
                 user: str, lang: str, *, parent_id: str | None = None, lazy=None, memo=None, gate=None) -> tuple[Record, Any]:
    """Screen the saved uploads, record the screening and return ``(record, result)``.

    ``ws`` is a workspace (e.g. a :class:`~ecogis.workspace.cache.CachedWorkspace` view).  The record,
    ``result.json`` (what the pages and the API show), ``map.geojson`` and the inputs are written
    before this returns; the downloadable files too, unless ``lazy`` (a
    :class:`~ecogis.serve.outputs.LazyFiles`) is given: then they are written after the response.
    With ``memo`` (a :class:`~ecogis.serve.cache.ResultMemo`) the same input screened again on the same
    data and rules reuses the remembered result.  ``gate`` (a context manager, e.g. a semaphore) is held
    while the engine runs, not while a remembered result is used or the record written.
    """
    import ecogis

    if not saved:
        raise InputError("no site file or drawing given")
    mk = memo.key(saved, overrides, lang, ws) if memo is not None else None
    hit = memo.get(*mk) if mk is not None else None
    claimed = False
    if mk is not None and hit is None:
        wait = memo.claim(mk[0])  # the same screening already running: wait for its result
        if wait is None:
            claimed = True
        elif wait.wait(timeout=120):
            hit = memo.get(*mk)
    try:
        if hit is not None:
            result, doc, map_text = hit
        else:
            with gate if gate is not None else contextlib.nullcontext():
                result, doc, map_text = _screen_now(cfg, ws, saved, overrides, lang,
                                                    bundled=mk[1] if mk is not None else None)
            if mk is not None:
                memo.put(*mk, result, doc, map_text)
    finally:
        if claimed:
            memo.release(mk[0])
    rid = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:8]
    out = cfg.files_dir / rid
    inp = out / "input"
    inp.mkdir(parents=True, exist_ok=True)
    inputs = []
    for s in saved:
        shutil.copy2(s.path, inp / s.path.name)
        inputs.append(s.path.name)
    write_text_atomic(out / "map.geojson", map_text)
    write_text_atomic(out / "result.json", json.dumps(doc, ensure_ascii=False, default=str))
    if lazy is not None:
        files = lazy.stash(out, result)
    else:
        paths = result.to_files(out, formats=FORMATS, lang=lang)
        files = sorted(p.relative_to(out).as_posix() for p in paths if p.is_file())
    sha = saved[0].sha256 if len(saved) == 1 else hashlib.sha256("".join(s.sha256 for s in saved).encode()).hexdigest()
    data_v, rule_v = _versions(result.meta)
    rec = Record(
        id=rid, user_name=user, created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        input_name=", ".join(s.name for s in saved)[:500], input_sha256=sha,
        ecogis_version=str(result.meta.get("ecogis_version", ecogis.__version__)),
        data_versions=data_v, rule_versions=rule_v, verdict=worst_verdict(result.sites["verdict"]),
        n_sites=int(len(result.sites)), n_findings=int(len(result.findings)), overrides=overrides,
        files=files, inputs=inputs, parent_id=parent_id, lang=lang,
    )
    store.add(rec)
    return rec, result


def _screen_now(cfg: ServeConfig, ws, saved: list[Saved], overrides: dict[str, Any], lang: str, *, bundled=None):
    """Read, check and screen the uploads; return the result, its document and its map.

    ``bundled`` is the bundled rule set to screen with (default: the server's current one,
    :func:`~ecogis.serve.cache.current_rules`, whose files are checked at most once a second).
    """
    import ecogis
    from ecogis.screening.sites import load_sites
    from ecogis.serve.cache import current_rules

    notes = Notes()
    sites = load_sites([s.path for s in saved], overrides=overrides or None, notes=notes)
    check_vertices(sites.geometry.values, ", ".join(s.name for s in saved), cfg.max_vertices)
    # what reading found (encoding, CRS, repairs) goes into the result's notes, not into frame attrs that
    # pandas would deep-copy on every operation
    sites.attrs.clear()
    result = ecogis.screen(sites, ws, overrides=overrides or None, lang=lang, progress=False,
                           bundled=bundled if bundled is not None else current_rules())
    result.notes[:0] = [n for n in notes if n not in result.notes]
    return result, result.to_document(), map_geojson(result)


def map_geojson(result) -> str:
    """Sites and finding overlaps as one GeoJSON for the page's map (drawn by the app's own script)."""
    import geopandas as gpd

    s, f = result.sites, result.findings
    n, m = len(s), len(f)

    def both(site_values, finding_values) -> np.ndarray:
        return np.concatenate([np.asarray(site_values, dtype=object), np.asarray(finding_values, dtype=object)])

    none = np.full(max(n, m), None, dtype=object)
    # the columns made once from arrays (sites first, then the findings), in the order the properties are written
    gdf = gpd.GeoDataFrame({
        "site_id": pd.Series(both(s["site_id"], f["site_id"]), dtype=object).astype(str),
        "verdict": pd.Series(both(s["verdict"], none[:m]), dtype=object),
        "geometry": gpd.array.from_shapely(both(s.geometry.values, f.geometry.values), crs=s.crs),
        "layer": pd.Series(np.repeat(np.array(["site", "finding"], dtype=object), [n, m]), dtype=object),
        "severity": pd.Series(both(none[:n], f["severity"]), dtype=object),
        "rule_id": pd.Series(both(none[:n], f["rule_id"]), dtype=object),
    }, geometry="geometry")
    return gdf.to_json(drop_id=True)


def load_document(cfg: ServeConfig, rec: Record) -> dict[str, Any]:
    p = cfg.files_dir / rec.id / "result.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else {"meta": {}, "sites": []}


def _finding_keys(doc: dict[str, Any]) -> dict[tuple, dict[str, Any]]:
    out = {}
    for s in doc.get("sites", []):
        for f in s.get("findings", []):
            out[(str(s.get("site_id")), str(f.get("rule_id")), str(f.get("feature_id")))] = f
    return out


def diff_documents(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What changed between two screenings of the same input: site verdicts and findings."""
    ov = {str(s["site_id"]): s.get("verdict") for s in old.get("sites", [])}
    nv = {str(s["site_id"]): s.get("verdict") for s in new.get("sites", [])}
    verdicts = [{"site_id": k, "old": ov.get(k), "new": nv.get(k)} for k in sorted(set(ov) | set(nv))
                if ov.get(k) != nv.get(k)]
    of, nf = _finding_keys(old), _finding_keys(new)

    def brief(key, f):
        return {"site_id": key[0], "rule_id": key[1], "feature_id": key[2], "severity": f.get("severity"),
                "layer_kind": f.get("layer_kind"),
                "rule_title": f.get("rule_title"), "overlap_ha": f.get("overlap_ha")}

    changed = []
    for k in sorted(set(of) & set(nf)):
        a, b = of[k], nf[k]
        if a.get("severity") != b.get("severity") or round(a.get("overlap_ha") or 0, 4) != round(
                b.get("overlap_ha") or 0, 4):
            changed.append({**brief(k, b), "old_severity": a.get("severity"), "old_overlap_ha": a.get("overlap_ha")})
    return {
        "verdicts": verdicts,
        "added": [brief(k, nf[k]) for k in sorted(set(nf) - set(of))],
        "removed": [brief(k, of[k]) for k in sorted(set(of) - set(nf))],
        "changed": changed,
        "old_versions": old.get("meta", {}).get("layers"),
        "new_versions": new.get("meta", {}).get("layers"),
    }


class Jobs:
    """Background batch screenings with a status to poll, kept in the workspace's record store.

    Every job is a row of ``ecogis_jobs`` (state, stage, record, error), so a
    finished batch survives a restart and any server process can report it.
    A job left ``running`` by a process that is gone (same host, its pid no
    longer alive) reads as ``failed``: interrupted by a restart.
    """

    def __init__(self, store: ScreeningStore) -> None:
        self.store = store
        self.host = socket.gethostname()[:200]

    def _now(self) -> str:
        return datetime.now(timezone.utc).isoformat(timespec="seconds")

    def start(self, user: str, fn: Callable[[Callable[[str], None]], Record]) -> str:
        jid = uuid.uuid4().hex
        now = self._now()
        self.store.add_job({"id": jid, "user_name": user, "created_at": now, "updated_at": now, "state": "running",
                            "stage": "queued", "record": None, "error": None, "pid": os.getpid(), "host": self.host})

        def progress(stage: str) -> None:
            self.store.update_job(jid, stage=str(stage)[:200], updated_at=self._now())

        def run() -> None:
            try:
                rec = fn(progress)
                self.store.update_job(jid, state="done", stage="done", record=rec.id, updated_at=self._now())
            except Exception as exc:  # reported to the user through the status endpoint
                from ecogis.errors import EcogisError

                msg = str(exc) if isinstance(exc, EcogisError) else f"internal error: {type(exc).__name__}"
                self.store.update_job(jid, state="failed", error=msg[:2000], updated_at=self._now())
        threading.Thread(target=run, daemon=True, name=f"ecogis-job-{jid[:8]}").start()
        return jid

    def get(self, jid: str) -> dict[str, Any] | None:
        if not jid or len(jid) > 64 or not all(c in "0123456789abcdef" for c in jid):
            return None
        job = self.store.get_job(jid)
        if job is None:
            return None
        if job["state"] == "running" and job.get("host") == self.host and not _alive(job.get("pid")):
            job = {**job, "state": "failed", "error": "interrupted: the server was restarted while the job ran"}
        return {**job, "user": job["user_name"]}


def _alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, TypeError, ValueError, OverflowError):
        return True
    return True
