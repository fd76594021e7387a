# Two commands do everything: `make demo` and `make test`.
# Both create (or reuse) .venv/, install ecogis with its extras, the offline
# map assets (Leaflet and plugins from the npm registry, pinned in
# web/package-lock.json) and the CJK font of PNG/PDF output (Noto Sans SC
# TrueType from the npm registry, pinned in fonts/package-lock.json, checked
# against fonts/SHA256SUMS), then run.  Nothing needs apt: Python >= 3.10 and
# Node/npm are enough (browser tests skip, each with its reason, where no
# Chromium is found; see README).
#
# VENV may point anywhere (make VENV=/tmp/v test): the environment, assets,
# font and browser all go under $(VENV); in the checkout only out/, dist/,
# setuptools' build/ and ecogis.egg-info/, and the bytecode of ecogis/ (__pycache__/,
# as a regular pip install compiles it; an editable install does not) are written.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.ecogis-installed
WEB       := $(VENV)/web
WEB_STAMP := $(WEB)/.ecogis-web-installed
FONTS      := $(VENV)/fonts
FONT_PKG   := $(FONTS)/node_modules/@expo-google-fonts/noto-sans-sc
FONT_STAMP := $(FONTS)/.ecogis-fonts-installed
BROWSER_STAMP := $(VENV)/browser/.ecogis-browser-installed
# A Chromium from the npm registry only where the system has none (or ECOGIS_SYSTEM_CHROMIUM=0 hides it).
SYSTEM_CHROMIUM := $(if $(filter 0 false no off,$(ECOGIS_SYSTEM_CHROMIUM)),,$(ECOGIS_CHROMIUM)$(shell command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null))
NEED_BROWSER    := $(if $(SYSTEM_CHROMIUM),,$(BROWSER_STAMP))

.PHONY: demo test install web-assets fonts browser dist sample bench bench-maps clean-venv

$(STAMP): pyproject.toml setup.py ecogis/screening/_convexclip.c
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,sample,postgis,dask,serve]"
	$(BIN)/python -m compileall -q ecogis
	@touch $(STAMP)

$(WEB_STAMP): web/package.json web/package-lock.json | $(STAMP)
	@mkdir -p $(WEB)
	cp web/package.json web/package-lock.json $(WEB)/
	npm ci --prefix $(WEB) --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $(WEB_STAMP)

# Regular and Bold are kept; the package's other weights and preview images are removed.
$(FONT_STAMP): fonts/package.json fonts/package-lock.json fonts/SHA256SUMS
	@mkdir -p $(FONTS)
	cp fonts/package.json fonts/package-lock.json $(FONTS)/
	npm ci --prefix $(FONTS) --no-audit --no-fund --ignore-scripts --loglevel=error
	find $(FONT_PKG) \( -name '*.ttf' ! -name '*_400Regular.ttf' ! -name '*_700Bold.ttf' \) -delete
	find $(FONT_PKG) -name '*.png' -delete
	cd $(FONTS) && sha256sum --check --quiet $(CURDIR)/fonts/SHA256SUMS
	@touch $(FONT_STAMP)

$(BROWSER_STAMP): browser/package.json browser/package-lock.json scripts/ci_chromium.sh
	scripts/ci_chromium.sh $(VENV)
	@touch $(BROWSER_STAMP)

install: $(STAMP) $(WEB_STAMP) $(FONT_STAMP) $(NEED_BROWSER)

web-assets: $(WEB_STAMP)

fonts: $(FONT_STAMP)

browser: $(BROWSER_STAMP)

demo: install
	$(BIN)/ecogis demo --out out

test: install
	$(BIN)/python -m pytest -q

# A wheel (with the web-map assets and the CJK font inside) and an sdist in dist/.
dist: install
	ECOGIS_WEB_ASSETS_DIR=$(abspath $(WEB))/node_modules ECOGIS_FONT_DIR=$(abspath $(FONT_PKG)) \
	  $(BIN)/python -m build --no-isolation --sdist --wheel --outdir dist .

# Benchmarks (minutes to hours; not in CI): the API and the CLI with every output on five workload shapes
# against geopandas.overlay (benchmarks/batch.py; BENCH_SIZES=1000,10000 for a quicker run), then the engine
# against geopandas.overlay, PostGIS, DuckDB spatial, SedonaDB and Dask, with the 1M-site Dask run.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python -m compileall -q ecogis  # the bytecode of today's sources (imports in every timed process)
	$(BIN)/python benchmarks/batch.py --sizes $${BENCH_SIZES:-1000,10000,100000}
	$(BIN)/python benchmarks/generate.py --out benchmarks/data --big
	pg="$${ECOGIS_TEST_PG:-$$(scripts/ci_postgis.sh | sed -n 's/^export ECOGIS_TEST_PG=//p')}"; \
	$(BIN)/python benchmarks/run.py --data benchmarks/data --out-dir benchmarks/out --pg "$$pg"

bench-maps: install
	$(BIN)/python benchmarks/maps_bench.py

sample: $(STAMP)
	$(BIN)/python scripts/build_sample_layers.py --out layers/sample

clean-venv:
	rm -rf $(VENV)
