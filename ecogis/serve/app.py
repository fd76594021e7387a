"""The FastAPI application: pages, JSON API, authentication, CSRF and upload limits.

FastAPI (on Starlette) was chosen over bare Starlette because it writes the
OpenAPI description of the JSON API (``/openapi.json``) from the route
signatures, so other systems get an accurate contract for free.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartParser

from ecogis.errors import EcogisError, InputError
from ecogis.serve import industries, runner
from ecogis.serve.accounts import Accounts, User
from ecogis.serve.config import ROLES, ServeConfig
from ecogis.serve.i18n import TEXT, t
from ecogis.serve.records import open_store
from ecogis.serve.safepath import safe_file
from ecogis.serve.uploads import Saved, check_members, check_vertices_text, request_folder, safe_ext, save
from ecogis.vocab import VERDICT_COLOUR, labels

SESSION_COOKIE = "ecogis_session"
PRE_COOKIE = "ecogis_pre"  # login-form CSRF (double submit) before there is a session
_PKG = Path(__file__).parent
_ID_CHARS = frozenset("0123456789abcdef-")
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
                                "script-src 'self'; connect-src 'self'; frame-ancestors 'self'; form-action 'self'"),
}
# downloaded reports are self-contained pages with inline scripts: shown sandboxed, never with the app's rights
_REPORT_CSP = "sandbox allow-scripts; default-src 'none'; img-src data: blob:; style-src 'unsafe-inline'; " \
              "script-src 'unsafe-inline'; font-src data:"


class _TooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: refuse a request body over the limit, by header and while it streams in."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for k, v in scope.get("headers", []):
            if k == b"content-length" and v.isdigit() and int(v) > self.limit:
                return await _send_json(send, 413, {"detail": f"request body over the limit of {self.limit} bytes"})
        seen = 0
        started = False

        async def counted():
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge()
            return msg

        async def tracked_send(msg):
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, counted, tracked_send)
        except _TooLarge:
            if not started:
                await _send_json(send, 413, {"detail": f"request body over the limit of {self.limit} bytes"})


async def _send_json(send, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


class NeedLogin(Exception):
    pass


def _safe_next(url: str | None) -> str:
    """A local path to go back to (never another site)."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url or "\n" in url or "\r" in url:
        return "/"
    return url


def create_app(cfg: ServeConfig, *, warm: bool = True, engines: int = 0) -> FastAPI:
    """Build the app for ``cfg``; the workspace is opened once and must exist.

    ``warm`` loads the rules and layers into memory in the background at once (off: on first use).
    ``engines`` screening processes (:mod:`ecogis.serve.engines`) run the screenings, taken from one
    queue; with 0 (the default, as in tests) each screening runs in its request's thread.
    """
    from ecogis.serve.cache import ResultMemo
    from ecogis.serve.outputs import LazyFiles
    from ecogis.serve.wscache import open_cached
    from ecogis.workspace.cache import LayerCache

    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    cfg.files_dir.mkdir(parents=True, exist_ok=True)
    cfg.tmp_dir.mkdir(parents=True, exist_ok=True)
    ws = open_cached(cfg.workspace)
    store = open_store(ws)
    # the layers in memory, renewed whenever an import (here, in another process or by the CLI) changes them
    layers = LayerCache(ws, guard=store.rw.read)
    accounts = Accounts(cfg.db_path)
    jobs = runner.Jobs(store)
    limit = int(cfg.max_upload_mb * 2**20)
    MultiPartParser.spool_max_size = limit + 1  # uploads stay in memory until written to the request folder
    screen_lock = threading.BoundedSemaphore(2)  # screenings at once; others queue (CPU bound)
    running = [0]
    running_lock = threading.Lock()
    lazy = LazyFiles(busy=lambda: running[0])
    memo = ResultMemo(cfg.result_cache)

    pool = None
    if engines > 0:
        from ecogis.serve.engines import EnginePool

        pool = EnginePool(cfg, engines)

    def screen(saved, ov, user_name: str, lang: str, *, parent_id=None, eager: bool = False):
        """One screening on the current layers; its files written later unless ``eager``."""
        with running_lock:
            running[0] += 1
        try:
            return runner.screen_saved(cfg, layers.view(), store, saved, ov, user_name, lang, parent_id=parent_id,
                                       lazy=None if eager else lazy, memo=memo, gate=screen_lock,
                                       engine=pool.run if pool is not None else None)
        finally:
            with running_lock:
                running[0] -= 1

    def warm_up() -> None:
        """Load the rules and every layer into memory before the first screening asks for them."""
        try:
            from ecogis.serve.cache import current_rules

            current_rules()
            if pool is not None:  # the screening processes hold the layers; this one only keys the memo
                return
            view = layers.view()
            for kind in view.kinds():
                view.count(kind)
        except Exception:  # noqa: BLE001 - the first screening loads (and reports) what failed here
            pass
    if warm:
        threading.Thread(target=industries.industries, daemon=True).start()  # the pinyin table
        threading.Thread(target=warm_up, daemon=True, name="ecogis-warm").start()

    env = jinja2.Environment(loader=jinja2.PackageLoader("ecogis.serve", "templates"),
                             autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                             undefined=jinja2.StrictUndefined)
    env.filters["tojson_safe"] = lambda v: json.dumps(v, ensure_ascii=False)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        if pool is not None:  # the screening processes end with the server
            pool.close()

    app = FastAPI(title="ecogis serve", version=_version(), lifespan=lifespan,
                  description="Screen project sites against the workspace's layers and rules; "
                              "authenticate with a session cookie (+ X-CSRF-Token) or `Authorization: Bearer <token>`.")
    app.add_middleware(BodyLimit, limit=limit)
    app.state.cfg, app.state.accounts, app.state.store = cfg, accounts, store
    app.state.layers, app.state.files, app.state.memo, app.state.engines = layers, lazy, memo, pool

    @app.middleware("http")
    async def headers(request: Request, call_next):
        resp = await call_next(request)
        for k, v in _SECURITY_HEADERS.items():
            resp.headers.setdefault(k, v)
        return resp

    @app.exception_handler(NeedLogin)
    async def need_login(request: Request, exc: NeedLogin):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "not signed in"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        return RedirectResponse("/login?next=" + quote(request.url.path), status_code=303)

    @app.exception_handler(EcogisError)
    async def bad_input(request: Request, exc: EcogisError):
        from ecogis.serve.engines import EngineError

        status = 503 if isinstance(exc, EngineError) else 400  # the server's fault, not the input's
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(exc)}, status_code=status)
        return _page(request, "error.html", {"message": str(exc)}, status=status)

    # ------------------------------------------------------------ helpers
    def lang_of(request: Request) -> str:
        lang = request.query_params.get("lang") or request.cookies.get("ecogis_lang") or cfg.lang
        return lang if lang in ("zh", "en") else "zh"

    def current(request: Request) -> User | None:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return accounts.token_user(auth[7:].strip())
        return accounts.session_user(request.cookies.get(SESSION_COOKIE))

    def require(request: Request, right: str, form: Any = None) -> User:
        """The signed-in user with ``right``; CSRF checked for state changes made with a session cookie."""
        user = current(request)
        if user is None:
            raise NeedLogin()
        if request.method not in ("GET", "HEAD", "OPTIONS") and user.csrf is not None:
            sent = request.headers.get("x-csrf-token") or (form.get("csrf") if form is not None else None)
            if not isinstance(sent, str) or not secrets.compare_digest(sent, user.csrf):
                raise HTTPException(403, "missing or wrong CSRF token")
        if not user.can(right):
            raise HTTPException(403, t("forbidden", lang_of(request)))
        return user

    def _page(request: Request, name: str, ctx: dict[str, Any], status: int = 200) -> HTMLResponse:
        lang = lang_of(request)
        user = current(request)
        base = {"lang": lang, "T": {k: v.get(lang, v["zh"]) for k, v in TEXT.items()}, "user": user,
                "csrf": user.csrf if user else "", "path": request.url.path,
                "verdict_text": labels(lang), "verdict_colour": VERDICT_COLOUR}
        html = env.get_template(name).render(**base, **ctx)
        return HTMLResponse(html, status_code=status)

    async def _form(request: Request):
        return await request.form(max_files=cfg.max_files, max_fields=50, max_part_size=2**20)

    def _collect(form, folder: Path) -> list[Saved]:
        """Save every uploaded file and the drawn geometry into ``folder``, limits first."""
        saved: list[Saved] = []
        uploads = [v for k, v in form.multi_items() if k in ("file", "files") and isinstance(v, UploadFile)]
        for i, up in enumerate(u for u in uploads if u.filename):
            ext = safe_ext(up.filename)
            data = up.file.read(limit + 1)
            if len(data) > limit:
                raise InputError("file over the upload limit", path=up.filename)
            check_vertices_text(data, ext, up.filename, cfg.max_vertices)
            s = save(data, up.filename, folder, i)
            check_members(s.path, s.name, cfg.max_members)
            saved.append(s)
        drawn = form.get("drawn")
        if isinstance(drawn, str) and drawn.strip():
            data = drawn.encode()
            check_vertices_text(data, ".geojson", "drawn", cfg.max_vertices)
            try:
                json.loads(drawn)
            except ValueError as exc:
                raise InputError(f"the drawn geometry is not GeoJSON: {exc}", path="drawn") from None
            saved.append(save(data, "drawn.geojson", folder, len(saved)))
        return saved

    def _overrides(form) -> dict[str, Any]:
        raw = {k: form.get(k) for k in runner.OVERRIDE_KEYS}
        acts = form.getlist("activity")
        raw["activity"] = [a for a in acts if a] or None
        return runner.clean_overrides(raw)

    def _screen_form(form, user: User, lang: str, parent_id=None):
        with request_folder(cfg.tmp_dir) as folder:
            saved = _collect(form, folder)
            ov = _overrides(form)
            return screen(saved, ov, user.name, lang, parent_id=parent_id)

    def _record_or_404(rid: str):
        if not rid or len(rid) > 40 or not set(rid) <= _ID_CHARS:
            raise HTTPException(404, "no such screening")
        rec = store.get(rid)
        if rec is None:
            raise HTTPException(404, "no such screening")
        return rec

    def _file_response(rid: str, name: str) -> Response:
        rec = _record_or_404(rid)
        if name not in rec.files:  # only files the record lists; never a path from the URL
            raise HTTPException(404, "no such file")
        lazy.ensure(cfg.files_dir / rec.id, name, rec.lang)  # written from the stored result on first download
        path = safe_file(cfg.files_dir / rec.id, name)
        if path is None:
            raise HTTPException(404, "no such file")
        headers = {}
        if path.suffix == ".html":
            headers["Content-Security-Policy"] = _REPORT_CSP
        return FileResponse(path, filename=path.name, headers=headers,
                            content_disposition_type="inline" if path.suffix in (".html", ".json") else "attachment")

    def _rec_json(rec) -> dict[str, Any]:
        d = rec.as_dict()
        d["file_urls"] = {f: f"/api/screenings/{rec.id}/files/{f}" for f in rec.files}
        return d

    # ------------------------------------------------------------ static
    @app.get("/static/{rel:path}", include_in_schema=False)
    def static(rel: str):
        p = safe_file(_PKG / "static", rel)
        if p is None:
            raise HTTPException(404)
        return FileResponse(p, headers={"Cache-Control": "max-age=3600"})

    @app.get("/vendor/leaflet/{rel:path}", include_in_schema=False)
    def vendor(rel: str):
        from ecogis.render.assets import web_assets_dir

        p = safe_file(web_assets_dir() / "leaflet" / "dist", rel)
        if p is None:
            raise HTTPException(404)
        return FileResponse(p, headers={"Cache-Control": "max-age=86400"})

    # ------------------------------------------------------------ pages
    @app.get("/", include_in_schema=False)
    def home(request: Request):
        return RedirectResponse("/screen" if current(request) else "/login", status_code=303)

    @app.get("/lang/{code}", include_in_schema=False)
    def set_lang(code: str, next: str = "/"):
        resp = RedirectResponse(_safe_next(next), status_code=303)
        resp.set_cookie("ecogis_lang", "en" if code == "en" else "zh", samesite="lax", max_age=365 * 86400)
        return resp

    @app.get("/login", include_in_schema=False)
    def login_page(request: Request, next: str = "/screen", failed: int = 0):
        pre = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(32)
        resp = _page(request, "login.html", {"pre": pre, "next": _safe_next(next), "failed": bool(failed)})
        resp.set_cookie(PRE_COOKIE, pre, httponly=True, secure=cfg.cookie_secure, samesite="strict")
        return resp

    def _start_session(resp: Response, user: User) -> str:
        sid, csrf = accounts.new_session(user, cfg.session_hours)
        resp.set_cookie(SESSION_COOKIE, sid, httponly=True, secure=cfg.cookie_secure, samesite="strict",
                        max_age=int(cfg.session_hours * 3600))
        resp.delete_cookie(PRE_COOKIE)
        return csrf

    @app.post("/login", include_in_schema=False)
    async def login(request: Request):
        form = await request.form(max_files=0, max_fields=10)
        pre, sent = request.cookies.get(PRE_COOKIE), form.get("csrf")
        if not pre or not isinstance(sent, str) or not secrets.compare_digest(pre, sent):
            raise HTTPException(403, "missing or wrong CSRF token")
        user = accounts.verify(str(form.get("username", "")), str(form.get("password", "")))
        nxt = _safe_next(str(form.get("next") or "/screen"))
        if user is None:
            return RedirectResponse("/login?failed=1&next=" + quote(nxt), status_code=303)
        resp = RedirectResponse(nxt, status_code=303)
        _start_session(resp, user)
        return resp

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request):
        form = await request.form(max_files=0, max_fields=5)
        require(request, "read", form)
        accounts.end_session(request.cookies.get(SESSION_COOKIE))
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(SESSION_COOKIE)
        return resp

    @app.get("/screen", include_in_schema=False)
    def screen_page(request: Request):
        require(request, "screen")
        from ecogis.rules.activities import load_activities

        acts = load_activities()
        lang = lang_of(request)
        return _page(request, "screen.html", {"activities": [(a, acts.name(a, lang)) for a in acts]})

    @app.post("/screen", include_in_schema=False)
    async def screen_submit(request: Request):
        form = await _form(request)
        user = require(request, "screen", form)
        from starlette.concurrency import run_in_threadpool

        rec, _ = await run_in_threadpool(_screen_form, form, user, lang_of(request))
        return RedirectResponse(f"/screenings/{rec.id}", status_code=303)

    @app.post("/batch", include_in_schema=False)
    async def batch_submit(request: Request):
        form = await _form(request)
        user = require(request, "screen", form)
        jid = _start_batch(form, user, lang_of(request))
        return RedirectResponse(f"/jobs/{jid}", status_code=303)

    def _start_batch(form, user: User, lang: str) -> str:
        # the files are copied out of the request now: the job outlives the request and its folder
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="job-", dir=cfg.tmp_dir))
        try:
            saved = _collect(form, folder)
            ov = _overrides(form)
        except BaseException:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
            raise

        def work(progress):
            import shutil

            try:
                progress("screening")
                rec, _ = screen(saved, ov, user.name, lang, eager=True)  # the batch report is ready when done
                return rec
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        return jobs.start(user.name, work)

    @app.get("/jobs/{jid}", include_in_schema=False)
    def job_page(request: Request, jid: str):
        require(request, "read")
        job = jobs.get(jid)
        if job is None:
            raise HTTPException(404, "no such job")
        return _page(request, "job.html", {"job": job})

    @app.get("/history", include_in_schema=False)
    def history_page(request: Request, q: str = "", offset: int = 0):
        require(request, "read")
        recs = store.list(q=q[:100], limit=50, offset=max(0, offset))
        return _page(request, "history.html", {"records": recs, "q": q, "offset": offset})

    @app.get("/screenings/{rid}", include_in_schema=False)
    def record_page(request: Request, rid: str):
        require(request, "read")
        rec = _record_or_404(rid)
        doc = runner.load_document(cfg, rec)
        diff = None
        if rec.parent_id:
            parent = store.get(rec.parent_id)
            if parent:
                diff = runner.diff_documents(runner.load_document(cfg, parent), doc)
        from ecogis.accesslist.screen import RESULT_EN

        lang = lang_of(request)
        al_result = RESULT_EN if lang == "en" else {}
        return _page(request, "record.html", {"rec": rec, "doc": doc, "diff": diff, "al_result": al_result,
                                              "al_class": {"不符合": "bad", "需人工核对": "check", "符合": "ok"}})

    @app.get("/screenings/{rid}/geojson", include_in_schema=False)
    def record_geojson(request: Request, rid: str):
        require(request, "read")
        rec = _record_or_404(rid)
        p = safe_file(cfg.files_dir / rec.id, "map.geojson")
        if p is None:
            return JSONResponse({"type": "FeatureCollection", "features": []})
        return FileResponse(p, media_type="application/geo+json")

    @app.get("/screenings/{rid}/files/{name}", include_in_schema=False)
    def record_file(request: Request, rid: str, name: str):
        require(request, "read")
        return _file_response(rid, name)

    @app.post("/screenings/{rid}/rescreen", include_in_schema=False)
    async def rescreen_form(request: Request, rid: str):
        form = await request.form(max_files=0, max_fields=5)
        user = require(request, "screen", form)
        from starlette.concurrency import run_in_threadpool

        new = await run_in_threadpool(_rescreen, rid, user, lang_of(request))
        return RedirectResponse(f"/screenings/{new.id}", status_code=303)

    def _rescreen(rid: str, user: User, lang: str):
        old = _record_or_404(rid)
        base = cfg.files_dir / old.id / "input"
        saved = []
        for name in old.inputs:
            p = safe_file(base, name)
            if p is None:
                raise InputError(f"the input of screening {old.id} is missing", path=name)
            import hashlib

            saved.append(Saved(p, old.input_name if len(old.inputs) == 1 else name,
                               hashlib.sha256(p.read_bytes()).hexdigest()))
        rec, _ = screen(saved, old.overrides, user.name, lang, parent_id=old.id)
        return rec

    @app.get("/layers", include_in_schema=False)
    def layers_page(request: Request):
        require(request, "import")
        from ecogis.normalise.schema import schemas

        return _page(request, "layers.html", {"layers": ws.layers(), "kinds": sorted(schemas())})

    @app.post("/layers", include_in_schema=False)
    async def layers_import_form(request: Request):
        form = await _form(request)
        user = require(request, "import", form)
        from starlette.concurrency import run_in_threadpool

        await run_in_threadpool(_import_layer, form, user)
        return RedirectResponse("/layers", status_code=303)

    def _import_layer(form, user: User):
        from ecogis.layers import import_layer
        from ecogis.normalise.schema import schemas

        kind = str(form.get("kind") or "")
        if kind not in schemas():
            raise InputError(f"unknown layer kind {kind!r}")
        up = form.get("file")
        if not isinstance(up, UploadFile) or not up.filename:
            raise InputError("no layer file given")
        ext = safe_ext(up.filename, (".gpkg", ".zip", ".geojson", ".json", ".kml", ".kmz", ".csv"))
        with request_folder(cfg.tmp_dir) as folder:
            data = up.file.read(limit + 1)
            check_vertices_text(data, ext if ext != ".gpkg" else ".zip", up.filename, cfg.max_vertices)
            s = save(data, "layer" + ext, folder, 0) if ext != ".gpkg" else None
            if s is None:
                p = folder / "upload-0.gpkg"
                p.write_bytes(data)
            else:
                p = s.path
            check_members(p, up.filename, cfg.max_members)
            with screen_lock, store.rw.write():
                info, notes = import_layer(p, kind, ws, version=str(form.get("version") or "") or None,
                                           replace=bool(form.get("replace")))
        return info

    @app.get("/users", include_in_schema=False)
    def users_page(request: Request):
        require(request, "users")
        return _page(request, "users.html", {"users": accounts.users(), "roles": ROLES})

    @app.post("/users", include_in_schema=False)
    async def users_add(request: Request):
        form = await request.form(max_files=0, max_fields=10)
        require(request, "users", form)
        accounts.add_user(str(form.get("username", "")), str(form.get("role", "")), str(form.get("password", "")))
        return RedirectResponse("/users", status_code=303)

    # ------------------------------------------------------------ JSON API
    @app.post("/api/session", tags=["auth"], summary="Sign in; returns the CSRF token for the session cookie")
    async def api_login(request: Request):
        try:
            body = await request.json()
        except ValueError:
            raise HTTPException(400, "send JSON {username, password}") from None
        user = accounts.verify(str(body.get("username", "")), str(body.get("password", "")))
        if user is None:
            return JSONResponse({"detail": "wrong user name or password"}, status_code=401)
        resp = JSONResponse({"user": user.name, "role": user.role})
        csrf = _start_session(resp, user)
        resp.body = json.dumps({"user": user.name, "role": user.role, "csrf": csrf}).encode()
        resp.headers["content-length"] = str(len(resp.body))
        return resp

    @app.get("/api/me", tags=["auth"])
    def api_me(request: Request):
        user = require(request, "read")
        return {"user": user.name, "role": user.role, "csrf": user.csrf}

    @app.post("/api/tokens", tags=["auth"], summary="A new API token for the signed-in user (shown once)")
    def api_token(request: Request):
        user = require(request, "read")
        return {"token": accounts.new_token(user.name, "web")}

    @app.get("/api/industries", tags=["screening"], summary="Search GB/T 4754-2017 codes")
    def api_industries(request: Request, q: str = ""):
        require(request, "read")
        return industries.search(q[:50])

    @app.post("/api/screen", tags=["screening"],
              summary="Screen uploaded site files (multipart `file`, or `drawn` GeoJSON) with optional "
                      "`industry`, `nature`, `activity`, `name`")
    async def api_screen(request: Request):
        form = await _form(request)
        user = require(request, "screen", form)
        from starlette.concurrency import run_in_threadpool

        rec, outcome = await run_in_threadpool(_screen_form, form, user, lang_of(request))
        return {**_rec_json(rec), "sites": outcome.brief}

    @app.post("/api/batch", tags=["screening"], summary="Start a batch screening; poll /api/jobs/{id}")
    async def api_batch(request: Request):
        form = await _form(request)
        user = require(request, "screen", form)
        return {"job": _start_batch(form, user, lang_of(request))}

    @app.get("/api/jobs/{jid}", tags=["screening"])
    def api_job(request: Request, jid: str):
        require(request, "read")
        job = jobs.get(jid)
        if job is None:
            raise HTTPException(404, "no such job")
        return {k: job[k] for k in ("id", "state", "stage", "record", "error")}

    @app.get("/api/screenings", tags=["records"])
    def api_list(request: Request, q: str = "", limit: int = 50, offset: int = 0):
        require(request, "read")
        return [_rec_json(r) for r in store.list(q=q[:100], limit=min(max(limit, 1), 500), offset=max(offset, 0))]

    @app.get("/api/screenings/{rid}", tags=["records"])
    def api_get(request: Request, rid: str):
        require(request, "read")
        rec = _record_or_404(rid)
        return {**_rec_json(rec), "result": runner.load_document(cfg, rec)}

    @app.get("/api/screenings/{rid}/files/{name}", tags=["records"])
    def api_file(request: Request, rid: str, name: str):
        require(request, "read")
        return _file_response(rid, name)

    @app.post("/api/screenings/{rid}/rescreen", tags=["records"],
              summary="Screen the recorded input again against today's data; returns the new record and the diff")
    async def api_rescreen(request: Request, rid: str):
        user = require(request, "screen")
        from starlette.concurrency import run_in_threadpool

        new = await run_in_threadpool(_rescreen, rid, user, lang_of(request))
        old = store.get(rid)
        diff = runner.diff_documents(runner.load_document(cfg, old), runner.load_document(cfg, new))
        return {**_rec_json(new), "diff": diff}

    @app.post("/api/layers", tags=["layers"], summary="Import a layer (editor): multipart `file`, `kind`, "
                                                      "`version`, `replace`")
    async def api_import(request: Request):
        form = await _form(request)
        user = require(request, "import", form)
        from starlette.concurrency import run_in_threadpool

        info = await run_in_threadpool(_import_layer, form, user)
        return info.as_dict()

    return app


def _version() -> str:
    from ecogis import __version__

    return __version__
