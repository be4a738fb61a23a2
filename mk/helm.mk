# kplane's control-plane image (Dockerfile) and Helm chart (helm/kplane). Helm itself is built
# from the Go module proxy into $(CACHE)/helm/v<version>/bin. See docs/deploying.md.
HELM_VERSION ?= $(shell sed -n 's/^HELM_VERSION = "\(.*\)"/\1/p' devstack/helm/__init__.py)
HELM         := $(CACHE)/helm/v$(HELM_VERSION)/bin/helm

.PHONY: helm-binary helm-lint helm-snapshot helm-check test-helm image-lint

helm-binary: ## build helm from the Go module proxy once (cached by version)
	@HELM_VERSION=$(HELM_VERSION) KPLANE_CACHE=$(CACHE) bash devstack/helm/build.sh

deps:: helm-binary

helm-lint: helm-binary ## helm lint --strict the chart with the default and the full CI values
	$(HELM) lint --strict helm/kplane
	$(HELM) lint --strict helm/kplane --values helm/kplane/ci/full-values.yaml

helm-snapshot: venv helm-binary ## regenerate values.yaml's broker tag and helm/kplane/snapshots/ (review, commit)
	$(PY) -m devstack.helm snapshot

helm-check: venv helm-binary ## fail when the chart's rendering drifted from the committed snapshots
	$(PY) -m devstack.helm check

image-lint: venv ## lint the control-plane Dockerfile (hadolint)
	$(VENV)/bin/hadolint Dockerfile

test-helm: deps ## the chart tests: lint, snapshots, properties, server-side dry-run on the devstack apiserver
	$(PY) -m pytest tests/integration/helm $(PYTEST_ARGS)
