// Package provider is the kplane Terraform/OpenTofu provider: its configuration, resources and
// data sources, each a thin mapping between the API's JSON and Terraform's schema.
package provider

import (
	"context"
	"os"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/kplane/terraform-provider-kplane/internal/client"
)

// Address is the provider's source address in its short form: OpenTofu (and Terraform) complete
// it with their default host, also in the TF_REATTACH_PROVIDERS that -debug prints.
const Address = "kplane/kplane"

// New returns the provider factory for providerserver.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &kplaneProvider{version: version} }
}

type kplaneProvider struct {
	version string
}

type providerModel struct {
	Endpoint types.String `tfsdk:"endpoint"`
	Token    types.String `tfsdk:"token"`
	Project  types.String `tfsdk:"project"`
}

// providerData is what every resource and data source receives at Configure.
type providerData struct {
	client  *client.Client
	project string // default project id; "" when not set
	// brokerCounts caches each cluster's broker_count for the plan-time replication check,
	// so a plan of many new topics reads each cluster once (cluster name -> int64).
	brokerCounts sync.Map
	// lists answers the Reads of a plan's refresh from list calls (listcache.go).
	lists *listCache
	// topicCreates coalesces concurrent topic creates into topics:batchCreate (batchcreate.go).
	topicCreates *topicBatcher
}

func (p *kplaneProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "kplane"
	resp.Version = p.version
}

func (p *kplaneProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Manage kplane (managed Apache Kafka) projects, clusters, topics, users and ACLs through kplane's REST API.",
		Attributes: map[string]schema.Attribute{
			"endpoint": schema.StringAttribute{
				Optional:    true,
				Description: "Base URL of the kplane API, e.g. http://127.0.0.1:8080 (no /v1). Default: env KPLANE_ENDPOINT.",
			},
			"token": schema.StringAttribute{
				Optional:    true,
				Sensitive:   true,
				Description: "Bearer token (a project token, or the admin token for kplane_project). Default: env KPLANE_TOKEN.",
			},
			"project": schema.StringAttribute{
				Optional:    true,
				Description: "Default project id of resources that do not set project_id. Default: env KPLANE_PROJECT.",
			},
		},
	}
}

func (p *kplaneProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if cfg.Endpoint.IsUnknown() || cfg.Token.IsUnknown() || cfg.Project.IsUnknown() {
		// Values that come from resources not yet created: configure again at apply time.
		return
	}
	endpoint := firstSet(cfg.Endpoint, "KPLANE_ENDPOINT")
	token := firstSet(cfg.Token, "KPLANE_TOKEN")
	if endpoint == "" {
		resp.Diagnostics.AddAttributeError(path.Root("endpoint"), "kplane endpoint missing",
			"Set `endpoint` in the provider block or the KPLANE_ENDPOINT environment variable.")
	}
	if token == "" {
		resp.Diagnostics.AddAttributeError(path.Root("token"), "kplane token missing",
			"Set `token` in the provider block or the KPLANE_TOKEN environment variable.")
	}
	if resp.Diagnostics.HasError() {
		return
	}
	api := client.New(endpoint, token, "terraform-provider-kplane/"+p.version)
	data := &providerData{
		client:       api,
		project:      firstSet(cfg.Project, "KPLANE_PROJECT"),
		lists:        newListCache(clientListFunc(api), func(ctx context.Context, name string, out any) (bool, error) { return get(ctx, api, name, out) }),
		topicCreates: newTopicBatcher(clientSendBatch(api)),
	}
	resp.ResourceData = data
	resp.DataSourceData = data
}

func firstSet(v types.String, env string) string {
	if !v.IsNull() && v.ValueString() != "" {
		return v.ValueString()
	}
	return os.Getenv(env)
}

func (p *kplaneProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		newProjectResource,
		newTokenResource,
		newClusterResource,
		newTopicResource,
		newUserResource,
		newACLResource,
	}
}

func (p *kplaneProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		newKafkaVersionsDataSource,
		newClusterDataSource,
		newTopicsDataSource,
		newConsumerGroupsDataSource,
	}
}
