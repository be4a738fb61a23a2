"""Ordered, named, idempotent reconcile steps: cluster, topics, acls, users.

A reconciler reads the latest desired state, observes, plans (pure), applies through the
adapters, records status and finishes Operations. It never sleeps: waiting is `RequeueAfter`.
"""
