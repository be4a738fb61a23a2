# The local Kubernetes substrate (devstack/kube, devstack/podrunner): etcd, kube-apiserver,
# kube-controller-manager and kubectl built from source into $(CACHE)/kube/v<version>/bin, and
# the pod runner that acts as the node. See docs/devstack.md.
KUBE_VERSION ?= $(shell sed -n 's/^KUBE_VERSION = "\(.*\)"/\1/p' devstack/kube/binaries.py)
KUBE_BIN     := $(CACHE)/kube/v$(KUBE_VERSION)/bin
DEVSTACK_DIR ?= .run/kube

.PHONY: kube-binaries devstack-up devstack-down devstack-status test-devstack bench-devstack

kube-binaries: ## build kube-apiserver, kube-controller-manager, kubectl, etcd once (cached)
	@KUBE_VERSION=$(KUBE_VERSION) KPLANE_CACHE=$(CACHE) bash devstack/kube/build.sh

deps:: kube-binaries

devstack-up: venv kube-binaries ## start the local Kubernetes in the background (DEVSTACK_DIR)
	@$(PY) -m devstack.kube up --workdir $(DEVSTACK_DIR)
	@KUBECONFIG=$(DEVSTACK_DIR)/kubeconfig $(KUBE_BIN)/kubectl get pods -A

devstack-down: venv ## stop the local Kubernetes started by devstack-up (by recorded PIDs)
	@$(PY) -m devstack.kube down --workdir $(DEVSTACK_DIR)

devstack-status: venv ## is the local Kubernetes up, and how to use it
	@$(PY) -m devstack.kube status --workdir $(DEVSTACK_DIR)

test-devstack: deps ## the devstack tests: real apiserver, pod runner, a 3-broker StatefulSet
	$(PY) -m pytest tests/integration/devstack $(PYTEST_ARGS)

bench-devstack: deps ## apiserver start -> ready; pod created -> running -> Ready (p50/p95, 20 pods)
	$(PY) -m bench.devstack
