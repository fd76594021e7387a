#!/usr/bin/env python
"""Build the corpus of broken and hostile inputs: a thin entry point to ``tests/corpus/build.py``.

    python scripts/build_corpus.py OUT_DIR        # build every file
    python scripts/build_corpus.py --summary      # counts by format and outcome

Importing this module gives the builder's names (``BUILDERS``, ``build`` …).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "build.py"
_spec = importlib.util.spec_from_file_location("ecogis_corpus_build", _PATH)
_mod = sys.modules.get("ecogis_corpus_build")
if _mod is None:
    _mod = importlib.util.module_from_spec(_spec)
    sys.modules["ecogis_corpus_build"] = _mod
    _spec.loader.exec_module(_mod)
globals().update({k: v for k, v in vars(_mod).items() if not k.startswith("__")})

if __name__ == "__main__":
    sys.exit(_mod.main())
