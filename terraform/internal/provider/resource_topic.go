package provider

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/kplane/terraform-provider-kplane/internal/client"
)

// topicAPI is the API's Topic body (the fields the provider maps).
type topicAPI struct {
	Name              string            `json:"name"`
	UID               string            `json:"uid"`
	Etag              string            `json:"etag"`
	State             string            `json:"state"`
	PartitionCount    int64             `json:"partition_count"`
	ReplicationFactor int64             `json:"replication_factor"`
	Configs           map[string]string `json:"configs"`
	Labels            map[string]string `json:"labels"`
	CreateTime        string            `json:"create_time"`
}

type topicModel struct {
	ID                types.String   `tfsdk:"id"`
	Name              types.String   `tfsdk:"name"`
	ProjectID         types.String   `tfsdk:"project_id"`
	ClusterID         types.String   `tfsdk:"cluster_id"`
	TopicID           types.String   `tfsdk:"topic_id"`
	PartitionCount    types.Int64    `tfsdk:"partition_count"`
	ReplicationFactor types.Int64    `tfsdk:"replication_factor"`
	Configs           types.Map      `tfsdk:"configs"`
	Labels            types.Map      `tfsdk:"labels"`
	UID               types.String   `tfsdk:"uid"`
	Etag              types.String   `tfsdk:"etag"`
	State             types.String   `tfsdk:"state"`
	Timeouts          timeouts.Value `tfsdk:"timeouts"`
}

// topicBody is the request body of a create or a full update: only what the user set.
func topicBody(m *topicModel) map[string]any {
	body := map[string]any{
		"configs": emptyIfNil(goMap(m.Configs)),
		"labels":  emptyIfNil(goMap(m.Labels)),
	}
	if !m.PartitionCount.IsNull() && !m.PartitionCount.IsUnknown() {
		body["partition_count"] = m.PartitionCount.ValueInt64()
	}
	if !m.ReplicationFactor.IsNull() && !m.ReplicationFactor.IsUnknown() {
		body["replication_factor"] = m.ReplicationFactor.ValueInt64()
	}
	return body
}

// fromAPI copies the API's body into the model; configs/labels stay null when unset and empty.
func (m *topicModel) fromAPI(t *topicAPI) {
	m.ID = types.StringValue(t.Name)
	m.Name = types.StringValue(t.Name)
	ids, _ := parseImportID(t.Name, []string{"projects", "clusters", "topics"}, false)
	if len(ids) == 3 {
		m.ProjectID, m.ClusterID, m.TopicID = types.StringValue(ids[0]), types.StringValue(ids[1]), types.StringValue(ids[2])
	}
	m.PartitionCount = types.Int64Value(t.PartitionCount)
	m.ReplicationFactor = types.Int64Value(t.ReplicationFactor)
	m.Configs = stringMap(t.Configs, m.Configs)
	m.Labels = stringMap(t.Labels, m.Labels)
	m.UID = types.StringValue(t.UID)
	m.Etag = types.StringValue(t.Etag)
	m.State = types.StringValue(t.State)
}

type topicResource struct{ base }

var (
	_ resource.ResourceWithImportState = (*topicResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*topicResource)(nil)
)

func newTopicResource() resource.Resource { return &topicResource{} }

func (r *topicResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_topic"
}

func (r *topicResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.configure(req.ProviderData, &resp.Diagnostics)
}

func (r *topicResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A Kafka topic of a kplane cluster.",
		Attributes: map[string]schema.Attribute{
			"id":         idAttribute(),
			"name":       nameAttribute("projects/{project}/clusters/{cluster}/topics/{topic}"),
			"project_id": projectAttribute(),
			"cluster_id": schema.StringAttribute{
				Required: true, Description: "The cluster's id. Changing it replaces the topic.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{resourceIDValidator("cluster")},
			},
			"topic_id": schema.StringAttribute{
				Required: true, Description: "The Kafka topic name. Changing it replaces the topic.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{topicNameValidator()},
			},
			"partition_count": schema.Int64Attribute{
				Optional: true, Computed: true,
				Description:   "Number of partitions (server default 1). May only grow: a decrease is refused at plan time.",
				PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
				Validators:    []validator.Int64{int64validator.Between(1, 10000)},
			},
			"replication_factor": schema.Int64Attribute{
				Optional: true, Computed: true,
				Description: "Replicas per partition (server default min(3, broker_count)); at most the cluster's broker_count. " +
					"Immutable: changing it replaces the topic.",
				PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown(), int64planmodifier.RequiresReplace()},
				Validators:    []validator.Int64{int64validator.Between(1, 100)},
			},
			"configs": schema.MapAttribute{
				ElementType: types.StringType, Optional: true,
				Description: "Topic configs kplane allows (e.g. retention.ms), values as strings. Only the keys set here are managed.",
				Validators:  []validator.Map{configKeys{"topic config", topicConfigKeys}},
			},
			"labels":   labelsAttribute(),
			"uid":      uidAttribute(),
			"etag":     etagAttribute(),
			"state":    stateAttribute(),
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *topicResource) name(m *topicModel, diags *diag.Diagnostics) string {
	return fmt.Sprintf("projects/%s/clusters/%s/topics/%s", r.project(m.ProjectID, diags), m.ClusterID.ValueString(), m.TopicID.ValueString())
}

// ModifyPlan refuses at plan time what the API would refuse at apply: a partition decrease, and a
// replication factor above the cluster's broker count.
func (r *topicResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	var plan topicModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if plan.ProjectID.IsUnknown() && r.data.project != "" {
		plan.ProjectID = types.StringValue(r.data.project)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("project_id"), plan.ProjectID)...)
	}
	if !req.State.Raw.IsNull() {
		var state topicModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if known(plan.PartitionCount) && known(state.PartitionCount) &&
			plan.PartitionCount.ValueInt64() < state.PartitionCount.ValueInt64() {
			resp.Diagnostics.AddAttributeError(path.Root("partition_count"), "Partition count cannot decrease",
				fmt.Sprintf("Kafka cannot remove partitions: %s has %d, the configuration asks for %d. "+
					"Raise it, or replace the topic (e.g. `tofu apply -replace`).",
					state.TopicID.ValueString(), state.PartitionCount.ValueInt64(), plan.PartitionCount.ValueInt64()))
		}
		if !state.ReplicationFactor.Equal(plan.ReplicationFactor) || !known(plan.ReplicationFactor) {
			r.checkReplication(ctx, &plan, resp)
		}
		return
	}
	r.checkReplication(ctx, &plan, resp)
}

func (r *topicResource) checkReplication(ctx context.Context, plan *topicModel, resp *resource.ModifyPlanResponse) {
	if !known(plan.ReplicationFactor) || !known(plan.ClusterID) || !known(plan.ProjectID) {
		return
	}
	name := fmt.Sprintf("projects/%s/clusters/%s", plan.ProjectID.ValueString(), plan.ClusterID.ValueString())
	brokers, ok := r.data.brokerCounts.Load(name)
	if !ok {
		var cluster clusterAPI
		found, err := get(ctx, r.api(), name, &cluster)
		if err != nil || !found {
			return // the cluster may be created in this same apply; the API checks again
		}
		brokers, _ = r.data.brokerCounts.LoadOrStore(name, cluster.BrokerCount)
	}
	if count := brokers.(int64); plan.ReplicationFactor.ValueInt64() > count {
		resp.Diagnostics.AddAttributeError(path.Root("replication_factor"), "Replication factor exceeds the broker count",
			fmt.Sprintf("replication_factor %d is more than the %d broker(s) of %s.",
				plan.ReplicationFactor.ValueInt64(), count, name))
	}
}

func (r *topicResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan topicModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !r.ready(&resp.Diagnostics) {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, defaultTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	name := r.name(&plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	defer r.data.lists.invalidate(name)
	op, err := r.create(ctx, client.Request{
		Method: http.MethodPost, Path: collectionOf(name),
		Query: url.Values{"topic_id": {plan.TopicID.ValueString()}}, Body: topicBody(&plan),
	}, name)
	if err != nil {
		apiError(&resp.Diagnostics, "Creating topic "+name, err)
		return
	}
	r.readInto(ctx, &plan, name, op, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// create sends the create in one topics:batchCreate with the other creates of the cluster that
// arrive at the same time (see batchcreate.go), or alone, and waits for its Operation.
func (r *topicResource) create(ctx context.Context, req client.Request, name string) (*client.Operation, error) {
	out, err := r.data.topicCreates.submit(ctx, req.Path, batchEntry{TopicID: req.Query.Get("topic_id"), Topic: req.Body.(map[string]any)})
	if err != nil {
		return nil, err
	}
	if out.alone {
		return r.createOne(ctx, req, name)
	}
	// A batch's Operation already done is (almost always) the replay of an earlier identical
	// batch, whose topic may have been deleted since: check, as a single create does.
	replayed := out.op.Done
	op, err := r.api().Wait(ctx, out.op)
	if err != nil || !replayed {
		return op, err
	}
	if found, err := get(ctx, r.api(), name, nil); err != nil || found {
		return op, err
	}
	return r.createOne(ctx, req, name)
}

// createOne sends the create alone, with its own idempotency key. A 409 ALREADY_EXISTS adopts
// the topic when it is the one this very create would make (adoptable), created within the API's
// idempotency window: a batch of a killed apply made it, and the re-run's batches differ from the
// killed run's, so no key can replay it.
func (r *topicResource) createOne(ctx context.Context, req client.Request, name string) (*client.Operation, error) {
	op, err := r.api().Create(ctx, req, name)
	if !client.IsAlreadyExists(err) {
		return op, err
	}
	var t topicAPI
	if found, getErr := get(ctx, r.api(), name, &t); getErr != nil || !found || !adoptable(&t, req.Body.(map[string]any), time.Now()) {
		return nil, err
	}
	created, opErr := findOperation(ctx, r.api(), name, "create")
	if opErr != nil || created == nil {
		return nil, err
	}
	return r.api().Wait(ctx, created)
}

// adoptable: the existing topic t has exactly the desired state of the create body, and was
// created less than client.IdempotencyWindow ago.
func adoptable(t *topicAPI, body map[string]any, now time.Time) bool {
	created, err := time.Parse(time.RFC3339Nano, t.CreateTime)
	if err != nil || now.Sub(created) >= client.IdempotencyWindow {
		return false
	}
	if v, ok := body["partition_count"]; ok && v != t.PartitionCount {
		return false
	}
	if v, ok := body["replication_factor"]; ok && v != t.ReplicationFactor {
		return false
	}
	return maps.Equal(emptyIfNil(t.Configs), body["configs"].(map[string]string)) &&
		maps.Equal(emptyIfNil(t.Labels), body["labels"].(map[string]string))
}

// readInto sets the model from a done Operation's response, or from a GET when it has none.
func (r *topicResource) readInto(ctx context.Context, m *topicModel, name string, op *client.Operation, diags *diag.Diagnostics) {
	var t topicAPI
	if err := resultOf(ctx, r.api(), name, op, &t); err != nil {
		apiError(diags, "Reading topic "+name, err)
		return
	}
	m.fromAPI(&t)
}

func (r *topicResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state topicModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.ready(&resp.Diagnostics) {
		return
	}
	name := r.name(&state, &resp.Diagnostics)
	var t topicAPI
	found, err := r.data.lists.read(ctx, name, &t)
	if err != nil {
		apiError(&resp.Diagnostics, "Reading topic "+name, err)
		return
	}
	if !found {
		resp.State.RemoveResource(ctx)
		return
	}
	state.fromAPI(&t)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *topicResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state topicModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.ready(&resp.Diagnostics) {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, defaultTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	name := state.Name.ValueString()
	defer r.data.lists.invalidate(name)
	body := topicBody(&plan)
	if reflect.DeepEqual(body, topicBody(&state)) {
		// Only `timeouts` changed (e.g. right after an import): nothing to send.
		state.Timeouts = plan.Timeouts
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
		return
	}
	fields := []string{"configs", "labels"}
	if _, ok := body["partition_count"]; ok {
		fields = append(fields, "partition_count")
	}
	op, err := r.api().Mutate(ctx, patchRequest(name, state.Etag.ValueString(), fields, body))
	if err != nil {
		apiError(&resp.Diagnostics, "Updating topic "+name, err)
		return
	}
	r.readInto(ctx, &plan, name, op, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *topicResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state topicModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.ready(&resp.Diagnostics) {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, defaultTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer r.data.lists.invalidate(state.Name.ValueString())
	if err := deleteAndWait(ctx, r.api(), state.Name.ValueString()); err != nil {
		apiError(&resp.Diagnostics, "Deleting topic "+state.Name.ValueString(), err)
	}
}

func (r *topicResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importByName(ctx, req, resp, []string{"projects", "clusters", "topics"}, []string{"project_id", "cluster_id", "topic_id"}, false)
}
