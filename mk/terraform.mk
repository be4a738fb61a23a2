# terraform-provider-kplane (terraform/) and OpenTofu, the real CLI its tests drive. OpenTofu is
# built from the Go module proxy into $(CACHE)/tofu/<version>/bin (terraform/build-tofu.sh); the
# provider into $(CACHE)/terraform-provider-kplane/bin, outside the tree. See terraform/README.md.
TOFU_VERSION    ?= $(shell cat terraform/TOFU_VERSION)
TOFU            := $(CACHE)/tofu/$(TOFU_VERSION)/bin/tofu
TF_PROVIDER_DIR := $(CACHE)/terraform-provider-kplane/bin
GO              ?= $(shell command -v go || echo /usr/local/go/bin/go)

.PHONY: tofu-binary terraform-provider test-terraform bench-terraform terraform-docs

tofu-binary: ## build OpenTofu from the Go module proxy once (cached by version)
	@TOFU_VERSION=$(TOFU_VERSION) KPLANE_CACHE=$(CACHE) bash terraform/build-tofu.sh

terraform-provider: ## build terraform-provider-kplane into $(CACHE)/terraform-provider-kplane/bin
	@mkdir -p $(TF_PROVIDER_DIR)
	cd terraform && CGO_ENABLED=0 GOFLAGS=-buildvcs=false $(GO) build -trimpath -o $(TF_PROVIDER_DIR)/terraform-provider-kplane .

deps:: tofu-binary terraform-provider

test-terraform: deps ## the provider's tests: go vet + Go unit tests, then the acceptance tests with tofu on the e2e stack
	$(PY) -m pytest tests/unit/terraform tests/e2e/terraform $(PYTEST_ARGS)

bench-terraform: deps ## tofu apply/plan of 1,000 topics beside one topics:batchCreate call
	$(PY) -m bench.terraform

terraform-docs: tofu-binary ## regenerate terraform/docs (terraform-plugin-docs) from the schema and terraform/examples
	$(PY) -m devstack.terraform docs
