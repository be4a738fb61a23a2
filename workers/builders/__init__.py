"""PURE: desired cluster spec -> Kubernetes manifests (dicts) and broker configuration.

No I/O and no I/O library may be imported here (import-linter enforces it), so every builder
is a function of its arguments with table-driven tests beside it.
"""
