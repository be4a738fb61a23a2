"""What the API and the workers agree on about reconcile messages, beside the task names: the
Redis key of a message's coalescing marker (the API sets it, the worker deletes it). Pure."""

from __future__ import annotations


def pending_key(name: str, *args: str) -> str:
    """The Redis key of the coalescing marker of `name(*args)` (the workers delete it)."""
    return "kplane:pending:" + ":".join((name, *args))
