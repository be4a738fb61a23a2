# The web console (app/console/): its browser tests and its benchmark.
# Chromium comes from Debian (devstack/os-deps.sh), Playwright from the dev extra; the tests
# launch /usr/bin/chromium, so `playwright install` (a download) is never needed.
.PHONY: test-console bench-console

test-console: venv os-deps ## the console in real Chromium against a live API on real Postgres
	$(PY) -m pytest tests/integration/console $(PYTEST_ARGS)

bench-console: venv os-deps ## console topics page vs its /v1 call at 100 and 10,000 topics
	$(PY) -m bench.console
