# kplane's broker image and local Apache Kafka clusters (broker/, devstack/kafka*.py).
# Kafka's jars are resolved from broker/pom.xml into $(CACHE)/kafka/<version>/ (a KAFKA_HOME).
.PHONY: kafka-dist broker-lint test-broker bench-broker kafka-local

kafka-dist: venv ## resolve Kafka's jars into the cache (VERSION=x.y.z, default: every supported one)
	$(PY) -m devstack.kafka_dist ensure $(VERSION)

deps:: kafka-dist

broker-lint: venv ## lint broker/Dockerfile (hadolint) and broker/entrypoint, broker/kafka-ready (shellcheck)
	$(VENV)/bin/hadolint broker/Dockerfile
	$(VENV)/bin/shellcheck broker/entrypoint broker/kafka-ready

test-broker: deps ## the broker tests: entrypoint, lint, real KRaft clusters
	$(PY) -m pytest tests/integration/broker $(PYTEST_ARGS)

bench-broker: deps ## time broker start (1 node, 3+3 nodes) and restart beside `java -version`
	$(PY) -m bench.broker_start

kafka-local: deps ## run a local Kafka cluster until Ctrl-C (CONTROLLERS=3 BROKERS=3 VERSION=x.y.z)
	$(PY) -m devstack.kafka --controllers $(or $(CONTROLLERS),0) --brokers $(or $(BROKERS),1) \
	  $(if $(VERSION),--version $(VERSION))
