# Consumer groups (app/consumer_groups/, workers/*/consumer_groups.py): tests and benchmark.

.PHONY: test-consumer-groups bench-consumer-groups

test-consumer-groups: deps ## consumer groups: unit, API and e2e tests (a 3+3 cluster: minutes)
	$(PY) -m pytest tests/unit/test_consumer_groups.py tests/integration/api/test_consumer_groups.py tests/e2e/test_consumer_groups.py $(PYTEST_ARGS)

bench-consumer-groups: deps ## GET .../consumer_groups of 1,000 groups (pages of 100) beside ListConsumerGroups + ListConsumerGroupOffsets
	$(PY) -m bench.consumer_groups
