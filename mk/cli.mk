# The `kplane` command line (cli/): Typer + Rich + httpx, a client of /v1 only. See docs/cli.md.
# Its set-up is the venv (`pip install -e .` installs the `kplane` entry point).

.PHONY: test-cli bench-cli

test-cli: venv ## the CLI's tests: unit, and the installed `kplane` against a live API
	$(PY) -m pytest tests/unit/cli tests/integration/cli $(PYTEST_ARGS)

bench-cli: venv os-deps ## `kplane topics apply` of 1,000 topics beside one topics:batchCreate
	$(PY) -m bench.cli
