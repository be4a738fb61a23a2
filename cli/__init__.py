"""The `kplane` command line: a client of the public /v1 REST API only (Typer + Rich + httpx).

It imports nothing from `app`, `workers` or `devstack` (an import-linter contract says so), so
what it does is exactly what any other API client can do.
"""
