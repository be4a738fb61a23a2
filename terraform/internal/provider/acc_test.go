package provider

// Acceptance tests: the real tofu binary (TF_ACC_TERRAFORM_PATH) drives this provider, served
// in-process, against a live kplane (KPLANE_ENDPOINT/KPLANE_TOKEN) and an existing ACTIVE cluster
// (KPLANE_TEST_PROJECT/KPLANE_TEST_CLUSTER). tests/e2e/terraform runs them on the e2e stack.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/acctest"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/kplane/terraform-provider-kplane/internal/client"
)

var testProviders = map[string]func() (tfprotov6.ProviderServer, error){
	"kplane": providerserver.NewProtocol6WithError(New("acc")()),
}

type accEnv struct {
	project, cluster string
	api              *client.Client
}

func accSetup(t *testing.T) accEnv {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (tests/e2e/terraform does)")
	}
	env := accEnv{project: os.Getenv("KPLANE_TEST_PROJECT"), cluster: os.Getenv("KPLANE_TEST_CLUSTER")}
	for k, v := range map[string]string{
		"KPLANE_ENDPOINT": os.Getenv("KPLANE_ENDPOINT"), "KPLANE_TOKEN": os.Getenv("KPLANE_TOKEN"),
		"KPLANE_TEST_PROJECT": env.project, "KPLANE_TEST_CLUSTER": env.cluster,
	} {
		if v == "" {
			t.Fatalf("%s must be set", k)
		}
	}
	env.api = client.New(os.Getenv("KPLANE_ENDPOINT"), os.Getenv("KPLANE_TOKEN"), "acc-test")
	return env
}

func (e accEnv) path(kind, id string) string {
	return fmt.Sprintf("projects/%s/clusters/%s/%s/%s", e.project, e.cluster, kind, id)
}

// gone checks through the API that each named resource answers 404.
func (e accEnv) gone(names ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for _, n := range names {
			err := e.api.Do(context.Background(), client.Request{Method: http.MethodGet, Path: n}, nil)
			if !client.IsNotFound(err) {
				return fmt.Errorf("%s still there after destroy (GET: %v)", n, err)
			}
		}
		return nil
	}
}

type topicUserACL struct {
	topic, user     string
	partitions      int
	retention       string
	passwordVersion int
	operations      []string
}

func (e accEnv) config(c topicUserACL) string {
	var entries []string
	for _, op := range c.operations {
		entries = append(entries, fmt.Sprintf(`{ principal = "User:%s", operation = %q }`, c.user, op))
	}
	return fmt.Sprintf(`
provider "kplane" {
  project = %[1]q
}

resource "kplane_topic" "orders" {
  cluster_id         = %[2]q
  topic_id           = %[3]q
  partition_count    = %[5]d
  replication_factor = 3
  configs = {
    "retention.ms"   = %[6]q
    "cleanup.policy" = "delete"
  }
  labels = { team = "payments" }
}

resource "kplane_user" "app" {
  cluster_id          = %[2]q
  user_id             = %[4]q
  password_wo         = "correct-horse-battery-%[7]d"
  password_wo_version = %[7]d
  quotas = { producer_byte_rate = 1048576 }
}

resource "kplane_acl" "orders" {
  cluster_id  = %[2]q
  acl_id      = "topic/${kplane_topic.orders.topic_id}"
  acl_entries = [%[8]s]
}

data "kplane_cluster" "main" {
  cluster_id = %[2]q
}

data "kplane_consumer_groups" "all" {
  cluster_id = %[2]q
}

data "kplane_topics" "mine" {
  cluster_id = %[2]q
  filter     = "name = \"${kplane_topic.orders.topic_id}\""
}
`, e.project, e.cluster, c.topic, c.user, c.partitions, c.retention, c.passwordVersion, strings.Join(entries, ", "))
}

// Topic + user + ACL on the shared cluster: apply → empty plan → change config, add partitions,
// rotate the password → apply → empty plan → drift (out-of-band change, out-of-band delete) →
// import of each into an empty state → destroy, checked through the API.
func TestAccTopicUserACL(t *testing.T) {
	e := accSetup(t)
	suffix := acctest.RandStringFromCharSet(6, "abcdefghijklmnopqrstuvwxyz0123456789")
	first := topicUserACL{topic: "tf-acc-" + suffix, user: "tf-acc-" + suffix, partitions: 2, retention: "3600000",
		passwordVersion: 1, operations: []string{"READ", "WRITE"}}
	second := first
	second.partitions, second.retention, second.passwordVersion = 4, "7200000", 2
	second.operations = []string{"READ", "WRITE", "DESCRIBE"}
	topicName, userName, aclName := e.path("topics", first.topic), e.path("users", first.user), e.path("acls", "topic/"+first.topic)
	ignore := []string{"timeouts", "password_wo", "password_wo_version", "password"}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		CheckDestroy:             e.gone(topicName, userName, aclName),
		Steps: []resource.TestStep{
			{
				Config: e.config(first),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("kplane_topic.orders", "id", topicName),
					resource.TestCheckResourceAttr("kplane_topic.orders", "partition_count", "2"),
					resource.TestCheckResourceAttr("kplane_topic.orders", "configs.retention.ms", "3600000"),
					resource.TestCheckResourceAttr("kplane_topic.orders", "configs.%", "2"),
					resource.TestCheckResourceAttr("kplane_topic.orders", "state", "ACTIVE"),
					resource.TestCheckResourceAttr("kplane_user.app", "principal", "User:"+first.user),
					resource.TestCheckNoResourceAttr("kplane_user.app", "password_wo"),
					resource.TestCheckNoResourceAttr("kplane_user.app", "password"),
					resource.TestCheckResourceAttr("kplane_acl.orders", "acl_entries.#", "2"),
					resource.TestCheckTypeSetElemNestedAttrs("kplane_acl.orders", "acl_entries.*",
						map[string]string{"principal": "User:" + first.user, "operation": "WRITE"}),
					resource.TestCheckResourceAttr("data.kplane_cluster.main", "broker_count", "3"),
					resource.TestCheckResourceAttr("data.kplane_topics.mine", "topics.#", "1"),
					resource.TestCheckResourceAttrSet("data.kplane_consumer_groups.all", "consumer_groups.#"),
					resource.TestCheckResourceAttr("data.kplane_topics.mine", "topics.0.partition_count", "2"),
				),
			},
			{
				// The framework plans again after every apply and fails on a non-empty plan.
				Config: e.config(second),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("kplane_topic.orders", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("kplane_user.app", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("kplane_acl.orders", plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("kplane_topic.orders", "partition_count", "4"),
					resource.TestCheckResourceAttr("kplane_topic.orders", "configs.retention.ms", "7200000"),
					resource.TestCheckResourceAttr("kplane_acl.orders", "acl_entries.#", "3"),
					resource.TestCheckResourceAttr("kplane_user.app", "password_wo_version", "2"),
				),
			},
			// Plan-time refusals: each fails at plan, before any API mutation.
			{
				Config:      strings.Replace(e.config(second), "partition_count    = 4", "partition_count    = 3", 1),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`Partition count cannot decrease`),
			},
			{
				Config:      strings.Replace(e.config(second), "replication_factor = 3", "replication_factor = 5", 1),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`Replication factor exceeds the broker count`),
			},
			{
				Config:      strings.Replace(e.config(second), `"cleanup.policy" = "delete"`, `"retention.mss" = "1"`, 1),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`"retention.mss" is not a topic config kplane allows`),
			},
			{
				Config:      strings.Replace(e.config(second), `topic_id           = "`+first.topic, `topic_id           = "__`+first.topic, 1),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`Invalid topic name`),
			},
			{
				// Drift: a config changed through the API out of band shows in the plan.
				PreConfig: func() {
					e.mutate(t, http.MethodPatch, topicName+"?update_mask=configs",
						map[string]any{"configs": map[string]string{"retention.ms": "1000"}})
				},
				Config:             e.config(second),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				// ... and apply puts it back.
				Config: e.config(second),
				Check:  resource.TestCheckResourceAttr("kplane_topic.orders", "configs.retention.ms", "7200000"),
			},
			{
				// Drift: a topic deleted out of band is planned for re-creation, and re-created.
				PreConfig: func() { e.mutate(t, http.MethodDelete, topicName, nil) },
				Config:    e.config(second),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("kplane_topic.orders", plancheck.ResourceActionCreate),
				}},
				Check: resource.TestCheckResourceAttr("kplane_topic.orders", "partition_count", "4"),
			},
			// Import of each resource into an empty state: a plan with no changes (import
			// blocks), and, for the user, a state equal to the applied one but the write-only
			// password fields (which no API read returns).
			{
				Config: e.config(second), ResourceName: "kplane_topic.orders",
				ImportState: true, ImportStateKind: resource.ImportBlockWithID,
				ImportStateId: e.project + "/" + e.cluster + "/" + first.topic,
			},
			{
				Config: e.config(second), ResourceName: "kplane_acl.orders",
				ImportState: true, ImportStateKind: resource.ImportBlockWithID, ImportStateId: aclName,
			},
			{
				Config: e.config(second), ResourceName: "kplane_user.app",
				ImportState: true, ImportStateId: e.project + "/" + e.cluster + "/" + first.user,
				ImportStateVerify: true, ImportStateVerifyIgnore: ignore,
			},
			{
				Config: e.config(second), ResourceName: "kplane_topic.orders",
				ImportState: true, ImportStateId: topicName, ImportStateVerify: true, ImportStateVerifyIgnore: ignore,
			},
		},
	})
}

// mutate sends one API mutation and waits for its Operation (the out-of-band change).
func (e accEnv) mutate(t *testing.T, method, pathAndQuery string, body any) {
	t.Helper()
	p, q, _ := strings.Cut(pathAndQuery, "?")
	req := client.Request{Method: method, Path: p, Body: body}
	if q != "" {
		mask := strings.TrimPrefix(q, "update_mask=")
		req.Query = map[string][]string{"update_mask": {mask}}
	}
	if _, err := e.api.Mutate(context.Background(), req); err != nil {
		t.Fatalf("%s %s: %v", method, pathAndQuery, err)
	}
}

// Project + token (synchronous, admin token): apply → empty plan → update → import → destroy.
func TestAccProjectToken(t *testing.T) {
	e := accSetup(t)
	project := "tf-acc-" + acctest.RandStringFromCharSet(6, "abcdefghijklmnopqrstuvwxyz0123456789")
	config := func(display, role string) string {
		return fmt.Sprintf(`
resource "kplane_project" "p" {
  project_id   = %q
  display_name = %q
}

resource "kplane_token" "ci" {
  project_id = kplane_project.p.project_id
  token_id   = "ci"
  role       = %q
  labels     = { owner = "platform" }
}

data "kplane_kafka_versions" "all" {}
`, project, display, role)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		CheckDestroy:             e.gone("projects/" + project),
		Steps: []resource.TestStep{
			{
				Config: config("First", "viewer"),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("kplane_project.p", "id", "projects/"+project),
					resource.TestCheckResourceAttrSet("kplane_token.ci", "secret"),
					resource.TestCheckResourceAttr("kplane_token.ci", "role", "viewer"),
					resource.TestCheckResourceAttrSet("data.kplane_kafka_versions.all", "default_version"),
				),
			},
			{
				Config: config("Second", "editor"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("kplane_project.p", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("kplane_token.ci", plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("kplane_project.p", "display_name", "Second"),
					resource.TestCheckResourceAttr("kplane_token.ci", "role", "editor"),
					resource.TestCheckResourceAttrSet("kplane_token.ci", "secret"),
				),
			},
			{
				Config: config("Second", "editor"), ResourceName: "kplane_project.p",
				ImportState: true, ImportStateKind: resource.ImportBlockWithID, ImportStateId: project,
			},
			{
				Config: config("Second", "editor"), ResourceName: "kplane_token.ci",
				ImportState: true, ImportStateId: "projects/" + project + "/tokens/ci",
				ImportStateVerify: true, ImportStateVerifyIgnore: []string{"secret"},
			},
		},
	})
}
