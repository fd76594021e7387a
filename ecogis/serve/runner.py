"""Run a screening for the web app: read, check limits, screen, write the files, record it."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import pickle
import shutil
import socket
import threading
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from ecogis.errors import EcogisError, InputError
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


@dataclass
class Outcome:
    """One screening as the server keeps it: made where the engine ran and sent between processes as is.

    ``pickled`` is the :class:`~ecogis.screening.result.ScreenResult` (stored as ``result.pkl`` until the
    files are written from it), ``doc_json`` its document (``result.json``: what the pages and the API
    show), ``brief`` the sites' ids, names, verdicts and areas, ``summary`` what the record needs, and
    ``view_key``/``rules_key`` the data and rule versions it was screened on.  ``files`` lists the
    downloadable files when they were written with the screening.  ``result`` is the object itself, kept
    only in the process that made or unpickled it (never sent).
    """

    pickled: bytes
    doc_json: str
    brief: list[dict[str, Any]]
    map_text: str
    summary: dict[str, Any]
    view_key: Any = None
    rules_key: Any = None
    files: list[str] | None = None
    result: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "result": None}  # the pickled bytes already carry it

    def the_result(self) -> Any:
        """The result object (unpickled from :attr:`pickled` in a process that has not got it)."""
        if self.result is None:
            self.result = pickle.loads(self.pickled)  # made by this server's own engine, never from a request
        return self.result

    def kept(self) -> "Outcome":
        """This outcome as the memo keeps it: no files, no live object another request could change."""
        return replace(self, files=None, result=None)

    def renewed(self, generated_at: str) -> "Outcome":
        """A copy stamped ``generated_at`` (a remembered screening given to a new request)."""
        result = pickle.loads(self.pickled)
        result.meta = {**result.meta, "generated_at": generated_at}
        doc = json.loads(self.doc_json)
        doc["meta"] = {**doc.get("meta", {}), "generated_at": generated_at}
        return replace(self, pickled=pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL),
                       doc_json=json.dumps(doc, ensure_ascii=False, default=str), files=None, result=result)


def screen_outcome(cfg: ServeConfig, ws, saved: list[Saved], overrides: dict[str, Any], lang: str, *,
                   bundled=None, rules_key=None, files_to: Path | None = None) -> Outcome:
    """Read, check and screen the uploads on ``ws``; with ``files_to``, write the downloadable files there too.

    This is the part of a request that runs the engine: in the request's thread, or in one of the
    server's screening processes (:mod:`ecogis.serve.engines`).
    """
    try:
        result, doc, map_text = _screen_now(cfg, ws, saved, overrides, lang, bundled=bundled)
    except EcogisError as exc:  # name the file as the user uploaded it, not the server's request folder
        names = {str(s.path): s.name for s in saved}
        if exc.path in names:
            exc.path = names[exc.path]
            exc.args = (str(exc),)
        raise
    files = None
    if files_to is not None:
        paths = result.to_files(files_to, formats=FORMATS, lang=lang)
        files = sorted(p.relative_to(files_to).as_posix() for p in paths if p.is_file())
    data_v, rule_v = _versions(result.meta)
    import ecogis

    summary = {"ecogis_version": str(result.meta.get("ecogis_version", ecogis.__version__)),
               "data_versions": data_v, "rule_versions": rule_v, "verdict": worst_verdict(result.sites["verdict"]),
               "n_sites": int(len(result.sites)), "n_findings": int(len(result.findings))}
    brief = json.loads(json.dumps([{k: s.get(k) for k in ("site_id", "name", "verdict", "area_ha")}
                                   for s in doc["sites"]], ensure_ascii=False, default=str))  # plain JSON values
    snap = getattr(ws, "_snap", None)
    return Outcome(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL),
                   json.dumps(doc, ensure_ascii=False, default=str), brief, map_text, summary,
                   view_key=snap.key if snap is not None else None, rules_key=rules_key, files=files, result=result)


def screen_saved(cfg: ServeConfig, ws, store: ScreeningStore, saved: list[Saved], overrides: dict[str, Any],
                 user: str, lang: str, *, parent_id: str | None = None, lazy=None, memo=None, gate=None,
                 engine: Callable[..., Outcome] | None = None) -> tuple[Record, Outcome]:
    """Screen the saved uploads, record the screening and return ``(record, outcome)``.

    ``ws`` is a workspace (e.g. a :class:`~ecogis.workspace.cache.CachedWorkspace` view).  The record,
    ``result.json`` (what the pages and the API show), ``map.geojson`` and the inputs are written
    before this returns; the downloadable files too, unless ``lazy`` (a
    :class:`~ecogis.serve.outputs.LazyFiles`) is given: then they are written after the response.
    With ``memo`` (a :class:`~ecogis.serve.cache.ResultMemo`) the same input screened again on the same
    data and rules reuses the remembered result.  ``engine`` (an :class:`~ecogis.serve.engines.EnginePool`'s
    ``run``) screens in another process; without it the screening runs here, holding ``gate`` (a context
    manager, e.g. a semaphore) while the engine runs.
    """
    if not saved:
        raise InputError("no site file or drawing given")
    rid = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:8]
    out = cfg.files_dir / rid
    out.mkdir(parents=True, exist_ok=True)
    try:
        outcome = _outcome(cfg, ws, saved, overrides, lang, memo, gate, engine, None if lazy is not None else out)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    inp = out / "input"
    inp.mkdir(exist_ok=True)
    inputs = []
    for s in saved:
        shutil.copy2(s.path, inp / s.path.name)
        inputs.append(s.path.name)
    write_text_atomic(out / "map.geojson", outcome.map_text)
    write_text_atomic(out / "result.json", outcome.doc_json)
    if lazy is not None:
        files = lazy.stash(out, outcome.pickled, lang, outcome.result)
    elif outcome.files is not None:
        files = outcome.files
    else:  # a remembered result, asked for with its files
        paths = outcome.the_result().to_files(out, formats=FORMATS, lang=lang)
        files = sorted(p.relative_to(out).as_posix() for p in paths if p.is_file())
    sha = saved[0].sha256 if len(saved) == 1 else hashlib.sha256("".join(s.sha256 for s in saved).encode()).hexdigest()
    sm = outcome.summary
    rec = Record(
        id=rid, user_name=user, created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        input_name=", ".join(s.name for s in saved)[:500], input_sha256=sha, ecogis_version=sm["ecogis_version"],
        data_versions=sm["data_versions"], rule_versions=sm["rule_versions"], verdict=sm["verdict"],
        n_sites=sm["n_sites"], n_findings=sm["n_findings"], overrides=overrides,
        files=files, inputs=inputs, parent_id=parent_id, lang=lang,
    )
    store.add(rec)
    return rec, outcome


def _outcome(cfg: ServeConfig, ws, saved: list[Saved], overrides: dict[str, Any], lang: str, memo, gate, engine,
             files_to: Path | None) -> Outcome:
    """The screening's outcome: remembered, or screened here or by ``engine`` (one screening per key at once)."""
    mk = memo.key(saved, overrides, lang, ws) if memo is not None else None
    hit = memo.get(mk[0]) if mk is not None else None
    if hit is not None:
        return hit
    claimed = False
    if mk is not None:
        wait = memo.claim(mk[0])  # the same screening already running: wait for its result
        if wait is None:
            claimed = True
        elif wait.wait(timeout=120) and (hit := memo.get(mk[0])) is not None:
            return hit
    try:
        if engine is not None:
            outcome = engine(saved, overrides, lang, files_to=files_to)
        else:
            from ecogis.serve.cache import current_rules_keyed

            rules, rkey = (mk[1], mk[0][4]) if mk is not None else current_rules_keyed()
            with gate if gate is not None else contextlib.nullcontext():
                outcome = screen_outcome(cfg, ws, saved, overrides, lang, bundled=rules, rules_key=rkey,
                                         files_to=files_to)
        if mk is not None and memo.made_for(mk[0], outcome):
            memo.put(mk[0], outcome)
        return outcome
    finally:
        if claimed:
            memo.release(mk[0])


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
    if "source_file" in sites:  # the file as the user named it, not the server's request folder
        names = pd.Series({os.fspath(s.path): s.name for s in saved}, dtype=object)
        sites["source_file"] = sites["source_file"].map(names).fillna(sites["source_file"])
    check_vertices(sites.geometry.values, ", ".join(s.name for s in saved), cfg.max_vertices)
    # what reading found (encoding, CRS, repairs) goes into the result's notes, not into frame attrs that
    # pandas would deep-copy on every operation
    sites.attrs.clear()
    result = ecogis.screen(sites, ws, overrides=overrides or None, lang=lang, progress=False,
                           bundled=bundled if bundled is not None else current_rules())
    result.notes[:0] = [n for n in notes if n not in result.notes]
    return result, result.to_document(), map_geojson(result)


def map_geojson(result) -> str:
    """Sites and finding overlaps as one GeoJSON for the page's map (drawn by the app's own script).

    Sites first, then the findings; each feature's properties are ``site_id``, ``verdict`` (sites),
    ``layer`` (``site`` or ``finding``), ``severity`` and ``rule_id`` (findings).  Written in whole-column
    passes: the properties as JSON lines by pandas, the geometries by GEOS (:func:`shapely.to_geojson`).
    """
    import shapely

    s, f = result.sites, result.findings
    n, m = len(s), len(f)
    if not n + m:
        return '{"type": "FeatureCollection", "features": []}'

    def both(site_values, finding_values) -> np.ndarray:
        return np.concatenate([np.asarray(site_values, dtype=object), np.asarray(finding_values, dtype=object)])

    none = np.full(max(n, m), None, dtype=object)
    props = pd.DataFrame({
        "site_id": pd.Series(both(s["site_id"], f["site_id"]), dtype=object).astype(str).astype(object),
        "verdict": both(s["verdict"], none[:m]),
        "layer": np.repeat(np.array(["site", "finding"], dtype=object), [n, m]),
        "severity": both(none[:n], f["severity"]),
        "rule_id": both(none[:n], f["rule_id"]),
    })
    lines = np.array(props.to_json(orient="records", lines=True, force_ascii=False).rstrip("\n").split("\n"),
                     dtype=object)
    shapes = both(s.geometry.values, f.geometry.values)
    geoms = shapely.to_geojson(shapes)
    # no geometry and empty geometries are null, as GeoPandas writes them (the page's Leaflet skips null)
    geoms = np.where(pd.isna(geoms) | shapely.is_empty(shapes), "null", geoms).astype(object)
    feats = '{"type": "Feature", "properties": ' + lines + ', "geometry": ' + geoms + "}"
    return '{"type": "FeatureCollection", "features": [' + ", ".join(feats.tolist()) + "]" + _crs_member(s.crs) + "}"


@functools.lru_cache(maxsize=16)
def _crs_member(crs) -> str:
    """The ``crs`` member GeoJSON writers add for coordinates not in WGS 84 (as GeoPandas writes it)."""
    if crs is None or crs.equals("EPSG:4326"):
        return ""
    auth = crs.to_authority()
    if auth is None or auth[0] not in ("EDCS", "EPSG", "OGC", "SI", "UCUM"):
        return ""
    return ', "crs": ' + json.dumps({"type": "name", "properties": {"name": f"urn:ogc:def:crs:{auth[0]}::{auth[1]}"}})


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
