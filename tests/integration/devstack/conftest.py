"""Fixtures for the devstack tests: one real control plane + pod runner per session
(devstack.pytest_plugin), a fresh namespace per test."""

from devstack.pytest_plugin import kube_api, kube_namespace, kube_substrate

__all__ = ["kube_api", "kube_namespace", "kube_substrate"]
