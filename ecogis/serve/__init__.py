"""``ecogis serve``: the reviewer's web app, local and offline.

:func:`create_app` builds the FastAPI application for one workspace; the
command line (:mod:`ecogis.cli.serve`) runs it with uvicorn and a pool of
screening processes (:mod:`ecogis.serve.engines`).  Accounts and
sessions live in the server's data folder (``serve.sqlite``), screenings are
recorded in the workspace itself (:mod:`ecogis.serve.records`) with their
files in the data folder.  See ``docs/serve.md``.
"""

from __future__ import annotations

from ecogis.serve.config import ServeConfig

__all__ = ["ServeConfig", "create_app"]


def create_app(config: ServeConfig, *, warm: bool = True, engines: int = 0):
    """The ASGI application for ``config`` (imported lazily: FastAPI is the ``serve`` extra).

    ``engines`` screening processes run the screenings (0: in the requests' threads).
    """
    from ecogis.serve.app import create_app as _create

    return _create(config, warm=warm, engines=engines)
