# The reconcile engine (workers/): Celery workers that provision clusters, topics, ACLs and
# users for real. See docs/architecture.md. Its set-up is the broker jars
# (kafka-dist) and the devstack Kubernetes binaries, both already wired into `deps::`.

.PHONY: test-workers test-e2e worker beat bench-provision bench-topics bench-acls bench-workers

test-workers: venv ## the workers' unit tests (pure builders and planners, instant)
	$(PY) -m pytest tests/unit/workers $(PYTEST_ARGS)

test-e2e: deps ## the e2e suite: the whole stack through the REST API, with faults (~5 min)
	$(PY) -m pytest tests/e2e $(PYTEST_ARGS)

worker: venv ## one Celery worker in the foreground (needs KPLANE_* env, e.g. from .run/env)
	$(PY) -m celery -A workers.celery_app worker -Q kplane --loglevel INFO

beat: venv ## the leader-elected beat in the foreground (safe to run several)
	$(PY) -m workers.beat

bench-provision: deps ## POST cluster -> ACTIVE (3+3) beside the raw broker start, one run
	$(PY) -m bench.provision

bench-topics: deps ## one topic p50/p99, 1,000 topics via the API beside one raw Admin batch
	$(PY) -m bench.topics

bench-acls: deps ## 10,000 ACL entries over 1,000 patterns: converge, steady resync, raw batch
	$(PY) -m bench.acls

bench-workers: bench-provision bench-topics bench-acls ## all reconcile-engine benchmarks

.PHONY: bench-scale
bench-scale: deps ## scale-out 3->5 and scale-in 5->3 under data, beside raw reassignments
	$(PY) -m bench.scale

.PHONY: bench-roll
bench-roll: deps ## a kplane rolling restart per broker beside a raw broker restart; produce p99
	$(PY) -m bench.roll
