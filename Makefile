# Two commands do everything: `make demo` and `make test`.
# Both create (or reuse) .venv/, install ecogis with its extras and the
# offline map assets (Leaflet and plugins from the npm registry, pinned in
# web/package-lock.json), then run.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.ecogis-installed
WEB       := $(VENV)/web
WEB_STAMP := $(WEB)/.ecogis-web-installed

.PHONY: demo test install web-assets sample bench bench-maps clean-venv

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,sample,postgis,dask,serve]"
	@touch $(STAMP)

$(WEB_STAMP): web/package.json web/package-lock.json | $(STAMP)
	@mkdir -p $(WEB)
	cp web/package.json web/package-lock.json $(WEB)/
	npm ci --prefix $(WEB) --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $(WEB_STAMP)

install: $(STAMP) $(WEB_STAMP)

web-assets: $(WEB_STAMP)

demo: $(STAMP) $(WEB_STAMP)
	$(BIN)/ecogis demo --out out

test: $(STAMP) $(WEB_STAMP)
	$(BIN)/python -m pytest -q

# Benchmarks (minutes to hours; not in CI): the API and the CLI with every output on three workload shapes
# against geopandas.overlay (benchmarks/batch.py; BENCH_SIZES=1000,10000 for a quicker run), then the engine
# against geopandas.overlay, PostGIS, DuckDB spatial, SedonaDB and Dask, with the 1M-site Dask run.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/batch.py --sizes $${BENCH_SIZES:-1000,10000,100000}
	$(BIN)/python benchmarks/generate.py --out benchmarks/data --big
	pg="$${ECOGIS_TEST_PG:-$$(scripts/ci_postgis.sh | sed -n 's/^export ECOGIS_TEST_PG=//p')}"; \
	$(BIN)/python benchmarks/run.py --data benchmarks/data --out-dir benchmarks/out --pg "$$pg"

bench-maps: $(STAMP) $(WEB_STAMP)
	$(BIN)/python benchmarks/maps_bench.py

sample: $(STAMP)
	$(BIN)/python scripts/build_sample_layers.py --out layers/sample

clean-venv:
	rm -rf $(VENV)
