package provider

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/float64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/kplane/terraform-provider-kplane/internal/client"
)

type brokerResourcesAPI struct {
	CPU       float64 `json:"cpu"`
	MemoryGiB float64 `json:"memory_gib"`
}

type maintenanceWindowAPI struct {
	DayOfWeek     string `json:"day_of_week"`
	StartTime     string `json:"start_time"`
	DurationHours int64  `json:"duration_hours"`
}

// clusterAPI is the API's Cluster body (the fields the provider maps).
type clusterAPI struct {
	Name                string                `json:"name"`
	UID                 string                `json:"uid"`
	Etag                string                `json:"etag"`
	State               string                `json:"state"`
	KafkaVersion        string                `json:"kafka_version"`
	BrokerCount         int64                 `json:"broker_count"`
	ControllerCount     int64                 `json:"controller_count"`
	BrokerResources     brokerResourcesAPI    `json:"broker_resources"`
	StorageGiB          int64                 `json:"storage_gib"`
	Config              map[string]string     `json:"config"`
	MaintenanceWindow   *maintenanceWindowAPI `json:"maintenance_window"`
	DeletionProtection  bool                  `json:"deletion_protection"`
	Labels              map[string]string     `json:"labels"`
	BootstrapServers    string                `json:"bootstrap_servers"`
	RunningKafkaVersion string                `json:"running_kafka_version"`
}

var brokerResourcesTypes = map[string]attr.Type{"cpu": types.Float64Type, "memory_gib": types.Float64Type}
var maintenanceWindowTypes = map[string]attr.Type{
	"day_of_week": types.StringType, "start_time": types.StringType, "duration_hours": types.Int64Type,
}

type clusterModel struct {
	ID                  types.String   `tfsdk:"id"`
	Name                types.String   `tfsdk:"name"`
	ProjectID           types.String   `tfsdk:"project_id"`
	ClusterID           types.String   `tfsdk:"cluster_id"`
	KafkaVersion        types.String   `tfsdk:"kafka_version"`
	BrokerCount         types.Int64    `tfsdk:"broker_count"`
	ControllerCount     types.Int64    `tfsdk:"controller_count"`
	BrokerResources     types.Object   `tfsdk:"broker_resources"`
	StorageGiB          types.Int64    `tfsdk:"storage_gib"`
	Config              types.Map      `tfsdk:"config"`
	MaintenanceWindow   types.Object   `tfsdk:"maintenance_window"`
	DeletionProtection  types.Bool     `tfsdk:"deletion_protection"`
	Labels              types.Map      `tfsdk:"labels"`
	BootstrapServers    types.String   `tfsdk:"bootstrap_servers"`
	RunningKafkaVersion types.String   `tfsdk:"running_kafka_version"`
	UID                 types.String   `tfsdk:"uid"`
	Etag                types.String   `tfsdk:"etag"`
	State               types.String   `tfsdk:"state"`
	Timeouts            timeouts.Value `tfsdk:"timeouts"`
}

// clusterBody is the request body: the writable fields whose planned value is known.
func clusterBody(m *clusterModel, withImmutable bool) (map[string]any, []string) {
	body := map[string]any{
		"config": emptyIfNil(goMap(m.Config)),
		"labels": emptyIfNil(goMap(m.Labels)),
	}
	if known(m.KafkaVersion) {
		body["kafka_version"] = m.KafkaVersion.ValueString()
	}
	if known(m.BrokerCount) {
		body["broker_count"] = m.BrokerCount.ValueInt64()
	}
	if withImmutable && known(m.ControllerCount) {
		body["controller_count"] = m.ControllerCount.ValueInt64()
	}
	if known(m.StorageGiB) {
		body["storage_gib"] = m.StorageGiB.ValueInt64()
	}
	if known(m.DeletionProtection) {
		body["deletion_protection"] = m.DeletionProtection.ValueBool()
	}
	if known(m.BrokerResources) {
		a := m.BrokerResources.Attributes()
		body["broker_resources"] = brokerResourcesAPI{
			CPU: a["cpu"].(types.Float64).ValueFloat64(), MemoryGiB: a["memory_gib"].(types.Float64).ValueFloat64(),
		}
	}
	if known(m.MaintenanceWindow) {
		a := m.MaintenanceWindow.Attributes()
		body["maintenance_window"] = maintenanceWindowAPI{
			DayOfWeek:     a["day_of_week"].(types.String).ValueString(),
			StartTime:     a["start_time"].(types.String).ValueString(),
			DurationHours: a["duration_hours"].(types.Int64).ValueInt64(),
		}
	} else if m.MaintenanceWindow.IsNull() {
		body["maintenance_window"] = nil
	}
	fields := make([]string, 0, len(body))
	for k := range body {
		fields = append(fields, k)
	}
	return body, fields
}

func (m *clusterModel) fromAPI(c *clusterAPI) {
	m.ID = types.StringValue(c.Name)
	m.Name = types.StringValue(c.Name)
	if ids, err := parseImportID(c.Name, []string{"projects", "clusters"}, false); err == nil {
		m.ProjectID, m.ClusterID = types.StringValue(ids[0]), types.StringValue(ids[1])
	}
	m.KafkaVersion = types.StringValue(c.KafkaVersion)
	m.BrokerCount = types.Int64Value(c.BrokerCount)
	m.ControllerCount = types.Int64Value(c.ControllerCount)
	m.BrokerResources = types.ObjectValueMust(brokerResourcesTypes, map[string]attr.Value{
		"cpu": types.Float64Value(c.BrokerResources.CPU), "memory_gib": types.Float64Value(c.BrokerResources.MemoryGiB),
	})
	m.StorageGiB = types.Int64Value(c.StorageGiB)
	m.Config = stringMap(c.Config, m.Config)
	if c.MaintenanceWindow == nil {
		m.MaintenanceWindow = types.ObjectNull(maintenanceWindowTypes)
	} else {
		m.MaintenanceWindow = types.ObjectValueMust(maintenanceWindowTypes, map[string]attr.Value{
			"day_of_week":    types.StringValue(c.MaintenanceWindow.DayOfWeek),
			"start_time":     types.StringValue(c.MaintenanceWindow.StartTime),
			"duration_hours": types.Int64Value(c.MaintenanceWindow.DurationHours),
		})
	}
	m.DeletionProtection = types.BoolValue(c.DeletionProtection)
	m.Labels = stringMap(c.Labels, m.Labels)
	m.BootstrapServers = types.StringValue(c.BootstrapServers)
	m.RunningKafkaVersion = types.StringValue(c.RunningKafkaVersion)
	m.UID = types.StringValue(c.UID)
	m.Etag = types.StringValue(c.Etag)
	m.State = types.StringValue(c.State)
}

type clusterResource struct{ base }

var (
	_ resource.ResourceWithImportState = (*clusterResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*clusterResource)(nil)
)

func newClusterResource() resource.Resource { return &clusterResource{} }

func (r *clusterResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_cluster"
}

func (r *clusterResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.configure(req.ProviderData, &resp.Diagnostics)
}

func (r *clusterResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A kplane Kafka cluster (KRaft brokers and controllers).",
		Attributes: map[string]schema.Attribute{
			"id":         idAttribute(),
			"name":       nameAttribute("projects/{project}/clusters/{cluster}"),
			"project_id": projectAttribute(),
			"cluster_id": schema.StringAttribute{
				Required: true, Description: "The cluster's id. Changing it replaces the cluster.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{resourceIDValidator("cluster")},
			},
			"kafka_version": schema.StringAttribute{
				Optional: true, Computed: true,
				Description:   "One of kplane_kafka_versions; default: the API's default. Changing it upgrades in place.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"broker_count": schema.Int64Attribute{
				Optional: true, Computed: true, Description: "Brokers (default 3).",
				PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
				Validators:    []validator.Int64{int64validator.Between(1, 100)},
			},
			"controller_count": schema.Int64Attribute{
				Optional: true, Computed: true,
				Description: "KRaft controllers, 1 or 3 (default 1 for one broker, else 3). Immutable: changing it replaces the cluster.",
				PlanModifiers: []planmodifier.Int64{
					int64planmodifier.UseStateForUnknown(), int64planmodifier.RequiresReplace(),
				},
				Validators: []validator.Int64{int64validator.OneOf(1, 3)},
			},
			"broker_resources": schema.SingleNestedAttribute{
				Optional: true, Computed: true, Description: "CPU and memory per broker (default 1 CPU, 2 GiB).",
				PlanModifiers: []planmodifier.Object{objectplanmodifier.UseStateForUnknown()},
				Attributes: map[string]schema.Attribute{
					"cpu": schema.Float64Attribute{Required: true, Validators: []validator.Float64{float64validator.Between(0.25, 64)}},
					"memory_gib": schema.Float64Attribute{
						Required: true, Validators: []validator.Float64{float64validator.Between(0.5, 512)},
					},
				},
			},
			"storage_gib": schema.Int64Attribute{
				Optional: true, Computed: true,
				Description:   "Storage per broker in GiB (default 100). May only grow: a shrink is refused at plan time.",
				PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
				Validators:    []validator.Int64{int64validator.Between(1, 65536)},
			},
			"config": schema.MapAttribute{
				ElementType: types.StringType, Optional: true,
				Description: "Broker settings kplane allows, values as strings.",
				Validators:  []validator.Map{configKeys{"broker setting", brokerConfigKeys}},
			},
			"maintenance_window": schema.SingleNestedAttribute{
				Optional: true, Description: "When rolling restarts may happen.",
				Attributes: map[string]schema.Attribute{
					"day_of_week": schema.StringAttribute{Required: true, Validators: []validator.String{
						stringvalidator.OneOf("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"),
					}},
					"start_time":     schema.StringAttribute{Required: true, Description: "HH:MM UTC"},
					"duration_hours": schema.Int64Attribute{Required: true, Validators: []validator.Int64{int64validator.Between(1, 24)}},
				},
			},
			"deletion_protection": schema.BoolAttribute{
				Optional: true, Computed: true, Description: "When true the API refuses to delete the cluster (default false).",
				PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
			},
			"labels":                labelsAttribute(),
			"bootstrap_servers":     schema.StringAttribute{Computed: true, Description: "Kafka bootstrap servers (SASL_SCRAM)."},
			"running_kafka_version": schema.StringAttribute{Computed: true, Description: "The version the brokers run now."},
			"uid":                   uidAttribute(),
			"etag":                  etagAttribute(),
			"state":                 stateAttribute(),
			"timeouts":              timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

// ModifyPlan refuses a storage shrink at plan time.
func (r *clusterResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	var plan clusterModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if plan.ProjectID.IsUnknown() && r.data.project != "" {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("project_id"), r.data.project)...)
	}
	if req.State.Raw.IsNull() {
		return
	}
	var state clusterModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if known(plan.StorageGiB) && known(state.StorageGiB) && plan.StorageGiB.ValueInt64() < state.StorageGiB.ValueInt64() {
		resp.Diagnostics.AddAttributeError(path.Root("storage_gib"), "Storage cannot shrink",
			fmt.Sprintf("storage_gib may only grow: the cluster has %d GiB per broker, the configuration asks for %d.",
				state.StorageGiB.ValueInt64(), plan.StorageGiB.ValueInt64()))
	}
}

func (r *clusterResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan clusterModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !r.ready(&resp.Diagnostics) {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, clusterTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	project := r.project(plan.ProjectID, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	name := fmt.Sprintf("projects/%s/clusters/%s", project, plan.ClusterID.ValueString())
	body, _ := clusterBody(&plan, true)
	op, err := r.api().Create(ctx, client.Request{
		Method: http.MethodPost, Path: "projects/" + project + "/clusters",
		Query: url.Values{"cluster_id": {plan.ClusterID.ValueString()}}, Body: body,
	}, name)
	if err != nil {
		apiError(&resp.Diagnostics, "Creating cluster "+name, err)
		return
	}
	r.readInto(ctx, &plan, name, op, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *clusterResource) readInto(ctx context.Context, m *clusterModel, name string, op *client.Operation, diags *diag.Diagnostics) {
	var c clusterAPI
	if err := resultOf(ctx, r.api(), name, op, &c); err != nil {
		apiError(diags, "Reading cluster "+name, err)
		return
	}
	m.fromAPI(&c)
}

func (r *clusterResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state clusterModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.ready(&resp.Diagnostics) {
		return
	}
	var c clusterAPI
	found, err := get(ctx, r.api(), state.Name.ValueString(), &c)
	if err != nil {
		apiError(&resp.Diagnostics, "Reading cluster "+state.Name.ValueString(), err)
		return
	}
	if !found {
		resp.State.RemoveResource(ctx)
		return
	}
	state.fromAPI(&c)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *clusterResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state clusterModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.ready(&resp.Diagnostics) {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, clusterTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	name := state.Name.ValueString()
	body, fields := clusterBody(&plan, false)
	if sameBody(body, &state) {
		// Only `timeouts` changed (e.g. right after an import): nothing to send.
		state.Timeouts = plan.Timeouts
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
		return
	}
	op, err := r.api().Mutate(ctx, patchRequest(name, state.Etag.ValueString(), fields, body))
	if err != nil {
		apiError(&resp.Diagnostics, "Updating cluster "+name, err)
		return
	}
	r.readInto(ctx, &plan, name, op, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *clusterResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state clusterModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.ready(&resp.Diagnostics) {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, clusterTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := deleteAndWait(ctx, r.api(), state.Name.ValueString()); err != nil {
		apiError(&resp.Diagnostics, "Deleting cluster "+state.Name.ValueString(), err)
	}
}

func (r *clusterResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importByName(ctx, req, resp, []string{"projects", "clusters"}, []string{"project_id", "cluster_id"}, false)
}

// sameBody: the planned body equals the one the state would send (no API change).
func sameBody(body map[string]any, state *clusterModel) bool {
	current, _ := clusterBody(state, false)
	return reflect.DeepEqual(body, current)
}
