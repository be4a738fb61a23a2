"""Thin Celery tasks: open a session, take the per-cluster lock, run a reconciler, map its
outcome (Ready / RequeueAfter / Failed) to Celery. Importing this package registers them."""

from workers.tasks import consumer_groups, reconcile, sweeper

__all__ = ["consumer_groups", "reconcile", "sweeper"]
