# PaperVoice: `make demo` runs the whole job on bundled samples; `make test` runs the tests.
# Both set everything up first (system packages when run as root, .venv, Python packages).
PY := .venv/bin/python
DEMO := demo-output

.PHONY: setup setup-browser demo test test-fast lint bench bench-quick bench-memory bench-export bench-adopted previews clean catalogues

setup:
	@bash scripts/setup.sh

setup-browser:
	@PAPERVOICE_BROWSER=1 bash scripts/setup.sh

demo: setup
	@bash scripts/demo.sh $(DEMO)

# -rs (inside -ra): every skip named with its reason; on CI (CI=true) a skipped browser/postgres/realdata test fails.
# -n: one worker a core (pytest-xdist); --dist loadfile keeps a file's tests on one worker, so a module's
# expensive fixtures (scanned batches, a browser, a server) are built once, not once a worker
TEST_WORKERS ?= 2
test: setup-browser
	$(PY) -m pytest -q -p no:cacheprovider --timeout=600 -ra -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -q -x -m "not slow and not browser"

lint: setup
	$(PY) -m ruff check pipeline tests bench
	$(PY) -m mypy

# the fixed printed text's catalogues (pipeline/locale): extract the messages, merge them into every language's
# .po (new ones come out empty, changed ones fuzzy: a translator fills them in), compile the .mo files
catalogues:
	$(PY) -m babel.messages.frontend extract -F babel.cfg -k tr -k N_ --no-location --sort-output \
	    --project PaperVoice --copyright-holder PaperVoice -o pipeline/locale/papervoice.pot .
	$(PY) -m babel.messages.frontend update -D papervoice -i pipeline/locale/papervoice.pot -d pipeline/locale -w 120
	$(PY) -m babel.messages.frontend compile -D papervoice -d pipeline/locale --statistics

bench: setup
	$(PY) -m bench.run --full

bench-quick: setup
	$(PY) -m bench.run --quick

bench-memory: setup
	$(PY) -m bench.memory --pages 100 5000

bench-export: setup
	$(PY) -m bench.export_bench

bench-adopted: setup
	$(PY) -m bench.adopted

previews: setup
	$(PY) -m bench.previews

clean:
	rm -rf $(DEMO) .pytest_cache .mypy_cache .ruff_cache
