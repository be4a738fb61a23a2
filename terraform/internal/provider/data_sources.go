package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/kplane/terraform-provider-kplane/internal/client"
)

// ---- kplane_kafka_versions ----

type kafkaVersionsDataSource struct{ base }

func newKafkaVersionsDataSource() datasource.DataSource { return &kafkaVersionsDataSource{} }

var kafkaVersionTypes = map[string]attr.Type{
	"version": types.StringType, "upgradable_to": types.ListType{ElemType: types.StringType}, "default": types.BoolType,
}

type kafkaVersionsModel struct {
	KafkaVersions  types.List   `tfsdk:"kafka_versions"`
	DefaultVersion types.String `tfsdk:"default_version"`
}

func (d *kafkaVersionsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_kafka_versions"
}

func (d *kafkaVersionsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.configure(req.ProviderData, &resp.Diagnostics)
}

func (d *kafkaVersionsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "The Kafka versions kplane supports (GET /v1/kafka_versions).",
		Attributes: map[string]schema.Attribute{
			"default_version": schema.StringAttribute{Computed: true, Description: "The version new clusters get by default."},
			"kafka_versions": schema.ListNestedAttribute{Computed: true, NestedObject: schema.NestedAttributeObject{
				Attributes: map[string]schema.Attribute{
					"version":       schema.StringAttribute{Computed: true},
					"upgradable_to": schema.ListAttribute{Computed: true, ElementType: types.StringType},
					"default":       schema.BoolAttribute{Computed: true},
				},
			}},
		},
	}
}

func (d *kafkaVersionsDataSource) Read(ctx context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	if !d.ready(&resp.Diagnostics) {
		return
	}
	var out struct {
		KafkaVersions []struct {
			Version      string   `json:"version"`
			UpgradableTo []string `json:"upgradable_to"`
			Default      bool     `json:"default"`
		} `json:"kafka_versions"`
	}
	if err := d.api().Do(ctx, client.Request{Method: http.MethodGet, Path: "kafka_versions"}, &out); err != nil {
		apiError(&resp.Diagnostics, "Reading Kafka versions", err)
		return
	}
	m := kafkaVersionsModel{DefaultVersion: types.StringNull()}
	elems := []attr.Value{}
	for _, v := range out.KafkaVersions {
		up := []attr.Value{}
		for _, u := range v.UpgradableTo {
			up = append(up, types.StringValue(u))
		}
		elems = append(elems, types.ObjectValueMust(kafkaVersionTypes, map[string]attr.Value{
			"version": types.StringValue(v.Version), "upgradable_to": types.ListValueMust(types.StringType, up),
			"default": types.BoolValue(v.Default),
		}))
		if v.Default {
			m.DefaultVersion = types.StringValue(v.Version)
		}
	}
	m.KafkaVersions = types.ListValueMust(types.ObjectType{AttrTypes: kafkaVersionTypes}, elems)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// ---- kplane_cluster ----

type clusterDataSource struct{ base }

func newClusterDataSource() datasource.DataSource { return &clusterDataSource{} }

type clusterDataModel struct {
	ID                  types.String `tfsdk:"id"`
	Name                types.String `tfsdk:"name"`
	ProjectID           types.String `tfsdk:"project_id"`
	ClusterID           types.String `tfsdk:"cluster_id"`
	KafkaVersion        types.String `tfsdk:"kafka_version"`
	BrokerCount         types.Int64  `tfsdk:"broker_count"`
	ControllerCount     types.Int64  `tfsdk:"controller_count"`
	BrokerResources     types.Object `tfsdk:"broker_resources"`
	StorageGiB          types.Int64  `tfsdk:"storage_gib"`
	Config              types.Map    `tfsdk:"config"`
	MaintenanceWindow   types.Object `tfsdk:"maintenance_window"`
	DeletionProtection  types.Bool   `tfsdk:"deletion_protection"`
	Labels              types.Map    `tfsdk:"labels"`
	BootstrapServers    types.String `tfsdk:"bootstrap_servers"`
	RunningKafkaVersion types.String `tfsdk:"running_kafka_version"`
	UID                 types.String `tfsdk:"uid"`
	Etag                types.String `tfsdk:"etag"`
	State               types.String `tfsdk:"state"`
}

func (d *clusterDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_cluster"
}

func (d *clusterDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.configure(req.ProviderData, &resp.Diagnostics)
}

func (d *clusterDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, Description: desc}
	}
	resp.Schema = schema.Schema{
		Description: "One existing kplane cluster.",
		Attributes: map[string]schema.Attribute{
			"id":                    computed("The API path."),
			"name":                  computed("projects/{project}/clusters/{cluster}"),
			"project_id":            schema.StringAttribute{Optional: true, Computed: true, Description: "Default: the provider's project."},
			"cluster_id":            schema.StringAttribute{Required: true},
			"kafka_version":         computed(""),
			"broker_count":          schema.Int64Attribute{Computed: true},
			"controller_count":      schema.Int64Attribute{Computed: true},
			"broker_resources":      schema.ObjectAttribute{Computed: true, AttributeTypes: brokerResourcesTypes},
			"storage_gib":           schema.Int64Attribute{Computed: true},
			"config":                schema.MapAttribute{Computed: true, ElementType: types.StringType},
			"maintenance_window":    schema.ObjectAttribute{Computed: true, AttributeTypes: maintenanceWindowTypes},
			"deletion_protection":   schema.BoolAttribute{Computed: true},
			"labels":                schema.MapAttribute{Computed: true, ElementType: types.StringType},
			"bootstrap_servers":     computed("Kafka bootstrap servers."),
			"running_kafka_version": computed(""),
			"uid":                   computed(""),
			"etag":                  computed(""),
			"state":                 computed(""),
		},
	}
}

func (d *clusterDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg clusterDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() || !d.ready(&resp.Diagnostics) {
		return
	}
	project := d.project(cfg.ProjectID, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	name := fmt.Sprintf("projects/%s/clusters/%s", project, cfg.ClusterID.ValueString())
	var c clusterAPI
	if err := d.api().Do(ctx, client.Request{Method: http.MethodGet, Path: name}, &c); err != nil {
		apiError(&resp.Diagnostics, "Reading cluster "+name, err)
		return
	}
	// The resource's mapping, with maps always known (a data source has no config to echo).
	m := clusterModel{Config: types.MapValueMust(types.StringType, nil), Labels: types.MapValueMust(types.StringType, nil)}
	m.fromAPI(&c)
	out := clusterDataModel{
		ID: m.ID, Name: m.Name, ProjectID: m.ProjectID, ClusterID: m.ClusterID, KafkaVersion: m.KafkaVersion,
		BrokerCount: m.BrokerCount, ControllerCount: m.ControllerCount, BrokerResources: m.BrokerResources,
		StorageGiB: m.StorageGiB, Config: m.Config, MaintenanceWindow: m.MaintenanceWindow,
		DeletionProtection: m.DeletionProtection, Labels: m.Labels, BootstrapServers: m.BootstrapServers,
		RunningKafkaVersion: m.RunningKafkaVersion, UID: m.UID, Etag: m.Etag, State: m.State,
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &out)...)
}

// ---- kplane_topics ----

type topicsDataSource struct{ base }

func newTopicsDataSource() datasource.DataSource { return &topicsDataSource{} }

var topicSummaryTypes = map[string]attr.Type{
	"topic_id": types.StringType, "name": types.StringType, "partition_count": types.Int64Type,
	"replication_factor": types.Int64Type, "configs": types.MapType{ElemType: types.StringType},
	"labels": types.MapType{ElemType: types.StringType}, "state": types.StringType,
}

type topicsModel struct {
	ProjectID types.String `tfsdk:"project_id"`
	ClusterID types.String `tfsdk:"cluster_id"`
	Filter    types.String `tfsdk:"filter"`
	Topics    types.List   `tfsdk:"topics"`
}

func (d *topicsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_topics"
}

func (d *topicsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.configure(req.ProviderData, &resp.Diagnostics)
}

func (d *topicsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "The topics of a cluster, optionally filtered (the API's list filter, e.g. `name = \"orders-*\"` or `labels.team = \"pay\"`).",
		Attributes: map[string]schema.Attribute{
			"project_id": schema.StringAttribute{Optional: true, Computed: true, Description: "Default: the provider's project."},
			"cluster_id": schema.StringAttribute{Required: true},
			"filter":     schema.StringAttribute{Optional: true, Description: "The API's filter expression."},
			"topics": schema.ListNestedAttribute{Computed: true, NestedObject: schema.NestedAttributeObject{
				Attributes: map[string]schema.Attribute{
					"topic_id":           schema.StringAttribute{Computed: true},
					"name":               schema.StringAttribute{Computed: true},
					"partition_count":    schema.Int64Attribute{Computed: true},
					"replication_factor": schema.Int64Attribute{Computed: true},
					"configs":            schema.MapAttribute{Computed: true, ElementType: types.StringType},
					"labels":             schema.MapAttribute{Computed: true, ElementType: types.StringType},
					"state":              schema.StringAttribute{Computed: true},
				},
			}},
		},
	}
}

func (d *topicsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg topicsModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() || !d.ready(&resp.Diagnostics) {
		return
	}
	project := d.project(cfg.ProjectID, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	collection := fmt.Sprintf("projects/%s/clusters/%s/topics", project, cfg.ClusterID.ValueString())
	elems := []attr.Value{}
	err := d.api().List(ctx, collection, cfg.Filter.ValueString(), func(row json.RawMessage) error {
		var t topicAPI
		if err := json.Unmarshal(row, &t); err != nil {
			return err
		}
		elems = append(elems, types.ObjectValueMust(topicSummaryTypes, map[string]attr.Value{
			"topic_id": types.StringValue(path.Base(t.Name)), "name": types.StringValue(t.Name),
			"partition_count": types.Int64Value(t.PartitionCount), "replication_factor": types.Int64Value(t.ReplicationFactor),
			"configs": stringMap(t.Configs, types.MapValueMust(types.StringType, nil)),
			"labels":  stringMap(t.Labels, types.MapValueMust(types.StringType, nil)),
			"state":   types.StringValue(t.State),
		}))
		return nil
	})
	if err != nil {
		apiError(&resp.Diagnostics, "Listing topics of "+collection, err)
		return
	}
	cfg.ProjectID = types.StringValue(project)
	cfg.Topics = types.ListValueMust(types.ObjectType{AttrTypes: topicSummaryTypes}, elems)
	resp.Diagnostics.Append(resp.State.Set(ctx, &cfg)...)
}

// ---- kplane_consumer_groups ----

type consumerGroupsDataSource struct{ base }

func newConsumerGroupsDataSource() datasource.DataSource { return &consumerGroupsDataSource{} }

var consumerGroupTypes = map[string]attr.Type{
	"group_id": types.StringType, "name": types.StringType, "state": types.StringType,
	"max_lag": types.Int64Type, "simple": types.BoolType, "protocol": types.StringType, "member_count": types.Int64Type,
}

type consumerGroupsModel struct {
	ProjectID      types.String `tfsdk:"project_id"`
	ClusterID      types.String `tfsdk:"cluster_id"`
	ConsumerGroups types.List   `tfsdk:"consumer_groups"`
}

func (d *consumerGroupsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_consumer_groups"
}

func (d *consumerGroupsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.configure(req.ProviderData, &resp.Diagnostics)
}

func (d *consumerGroupsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "The consumer groups of a cluster, read live from its brokers (groups are made by clients, so there is no resource).",
		Attributes: map[string]schema.Attribute{
			"project_id": schema.StringAttribute{Optional: true, Computed: true, Description: "Default: the provider's project."},
			"cluster_id": schema.StringAttribute{Required: true},
			"consumer_groups": schema.ListNestedAttribute{Computed: true, NestedObject: schema.NestedAttributeObject{
				Attributes: map[string]schema.Attribute{
					"group_id":     schema.StringAttribute{Computed: true},
					"name":         schema.StringAttribute{Computed: true},
					"state":        schema.StringAttribute{Computed: true, Description: "Kafka's group state, e.g. STABLE or EMPTY."},
					"max_lag":      schema.Int64Attribute{Computed: true},
					"simple":       schema.BoolAttribute{Computed: true, Description: "Only commits offsets (never had members)."},
					"protocol":     schema.StringAttribute{Computed: true},
					"member_count": schema.Int64Attribute{Computed: true},
				},
			}},
		},
	}
}

func (d *consumerGroupsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg consumerGroupsModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() || !d.ready(&resp.Diagnostics) {
		return
	}
	project := d.project(cfg.ProjectID, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	collection := fmt.Sprintf("projects/%s/clusters/%s/consumer_groups", project, cfg.ClusterID.ValueString())
	elems := []attr.Value{}
	err := d.api().List(ctx, collection, "", func(row json.RawMessage) error {
		var g struct {
			GroupID  string            `json:"group_id"`
			Name     string            `json:"name"`
			State    string            `json:"state"`
			MaxLag   int64             `json:"max_lag"`
			Simple   bool              `json:"simple"`
			Protocol string            `json:"protocol"`
			Members  []json.RawMessage `json:"members"`
		}
		if err := json.Unmarshal(row, &g); err != nil {
			return err
		}
		elems = append(elems, types.ObjectValueMust(consumerGroupTypes, map[string]attr.Value{
			"group_id": types.StringValue(g.GroupID), "name": types.StringValue(g.Name), "state": types.StringValue(g.State),
			"max_lag": types.Int64Value(g.MaxLag), "simple": types.BoolValue(g.Simple), "protocol": types.StringValue(g.Protocol),
			"member_count": types.Int64Value(int64(len(g.Members))),
		}))
		return nil
	})
	if err != nil {
		apiError(&resp.Diagnostics, "Listing consumer groups of "+collection, err)
		return
	}
	cfg.ProjectID = types.StringValue(project)
	cfg.ConsumerGroups = types.ListValueMust(types.ObjectType{AttrTypes: consumerGroupTypes}, elems)
	resp.Diagnostics.Append(resp.State.Set(ctx, &cfg)...)
}
