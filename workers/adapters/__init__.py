"""The ONLY network I/O of the workers besides Postgres: Kubernetes (kube.py) and the Kafka
Admin API (kafka_admin.py), each behind a small Protocol so reconcilers depend on behaviour,
and tests can swap in a fault-injecting wrapper at exactly this boundary."""
