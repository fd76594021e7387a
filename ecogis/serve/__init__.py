"""``ecogis serve``: the reviewer's web app, local and offline.

:func:`create_app` builds the FastAPI application for one workspace; the
command line (:mod:`ecogis.cli.serve`) runs it with uvicorn.  Accounts and
sessions live in the server's data folder (``serve.sqlite``), screenings are
recorded in the workspace itself (:mod:`ecogis.serve.records`) with their
files in the data folder.  See ``docs/serve.md``.
"""

from __future__ import annotations

from ecogis.serve.config import ServeConfig

__all__ = ["ServeConfig", "create_app"]


def create_app(config: ServeConfig, *, warm: bool = True):
    """The ASGI application for ``config`` (imported lazily: FastAPI is the ``serve`` extra)."""
    from ecogis.serve.app import create_app as _create

    return _create(config, warm=warm)
