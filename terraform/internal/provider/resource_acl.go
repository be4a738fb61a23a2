package provider

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/kplane/terraform-provider-kplane/internal/client"
)

// aclOperations are the API's ACL operations.
var aclOperations = []string{"READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE", "CLUSTER_ACTION",
	"DESCRIBE_CONFIGS", "ALTER_CONFIGS", "IDEMPOTENT_WRITE", "ALL"}

type aclEntryAPI struct {
	Principal      string `json:"principal"`
	PermissionType string `json:"permission_type"`
	Operation      string `json:"operation"`
	Host           string `json:"host"`
}

// aclAPI is the API's Acl body (the fields the provider maps).
type aclAPI struct {
	Name       string            `json:"name"`
	UID        string            `json:"uid"`
	Etag       string            `json:"etag"`
	State      string            `json:"state"`
	AclEntries []aclEntryAPI     `json:"acl_entries"`
	Labels     map[string]string `json:"labels"`
}

var aclEntryTypes = map[string]attr.Type{
	"principal": types.StringType, "permission_type": types.StringType, "operation": types.StringType, "host": types.StringType,
}

type aclModel struct {
	ID         types.String    `tfsdk:"id"`
	Name       types.String    `tfsdk:"name"`
	ProjectID  types.String    `tfsdk:"project_id"`
	ClusterID  types.String    `tfsdk:"cluster_id"`
	AclID      types.String    `tfsdk:"acl_id"`
	AclEntries aclEntriesValue `tfsdk:"acl_entries"`
	Labels     types.Map       `tfsdk:"labels"`
	UID        types.String    `tfsdk:"uid"`
	Etag       types.String    `tfsdk:"etag"`
	State      types.String    `tfsdk:"state"`
	Timeouts   timeouts.Value  `tfsdk:"timeouts"`
}

// aclEntries is the set as the API's list, in a stable order (so the request body, and with it
// the create's idempotency key, does not depend on set iteration order).
func aclEntries(v aclEntriesValue) []aclEntryAPI {
	out := []aclEntryAPI{}
	for _, e := range v.Elements() {
		o, ok := e.(types.Object)
		if !ok {
			continue
		}
		out = append(out, entryOf(o))
	}
	sort.Slice(out, func(i, j int) bool {
		x, y := out[i], out[j]
		return fmt.Sprint(x.Principal, "\x00", x.Operation, "\x00", x.PermissionType, "\x00", x.Host) <
			fmt.Sprint(y.Principal, "\x00", y.Operation, "\x00", y.PermissionType, "\x00", y.Host)
	})
	return out
}

// entryOf is one entry of the set as the API's, with the API's defaults for omitted fields.
func entryOf(o types.Object) aclEntryAPI {
	a := o.Attributes()
	str := func(k, def string) string {
		if s, ok := a[k].(types.String); ok && known(s) {
			return s.ValueString()
		}
		return def
	}
	return aclEntryAPI{
		Principal: str("principal", ""), PermissionType: str("permission_type", "ALLOW"),
		Operation: str("operation", ""), Host: str("host", "*"),
	}
}

// entryValue is an API entry as a set element: the prior (planned or stored) element that
// means the same entry when there is one, so an omitted default stays omitted; otherwise with
// the defaults (ALLOW, "*") left out.
func entryValue(e aclEntryAPI, prior map[aclEntryAPI]types.Object) attr.Value {
	if o, ok := prior[e]; ok {
		return o
	}
	optional := func(v, def string) types.String {
		if v == def {
			return types.StringNull()
		}
		return types.StringValue(v)
	}
	return types.ObjectValueMust(aclEntryTypes, map[string]attr.Value{
		"principal": types.StringValue(e.Principal), "permission_type": optional(e.PermissionType, "ALLOW"),
		"operation": types.StringValue(e.Operation), "host": optional(e.Host, "*"),
	})
}

func (m *aclModel) fromAPI(a *aclAPI) {
	m.ID = types.StringValue(a.Name)
	m.Name = types.StringValue(a.Name)
	if ids, err := parseImportID(a.Name, []string{"projects", "clusters", "acls"}, true); err == nil {
		m.ProjectID, m.ClusterID, m.AclID = types.StringValue(ids[0]), types.StringValue(ids[1]), types.StringValue(ids[2])
	}
	prior := map[aclEntryAPI]types.Object{}
	if known(m.AclEntries) {
		for _, e := range m.AclEntries.Elements() {
			if o, ok := e.(types.Object); ok {
				prior[entryOf(o)] = o
			}
		}
	}
	elems := make([]attr.Value, 0, len(a.AclEntries))
	for _, e := range a.AclEntries {
		elems = append(elems, entryValue(e, prior))
	}
	m.AclEntries = aclEntriesOf(elems)
	m.Labels = stringMap(a.Labels, m.Labels)
	m.UID = types.StringValue(a.UID)
	m.Etag = types.StringValue(a.Etag)
	m.State = types.StringValue(a.State)
}

type aclResource struct{ base }

var (
	_ resource.ResourceWithImportState = (*aclResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*aclResource)(nil)
)

func newACLResource() resource.Resource { return &aclResource{} }

func (r *aclResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_acl"
}

func (r *aclResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.configure(req.ProviderData, &resp.Diagnostics)
}

func (r *aclResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "The ACL entries of one Kafka resource pattern of a kplane cluster (the whole set is managed).",
		Attributes: map[string]schema.Attribute{
			"id":         idAttribute(),
			"name":       nameAttribute("projects/{project}/clusters/{cluster}/acls/{acl_id}"),
			"project_id": projectAttribute(),
			"cluster_id": schema.StringAttribute{
				Required: true, Description: "The cluster's id. Changing it replaces the ACL.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{resourceIDValidator("cluster")},
			},
			"acl_id": schema.StringAttribute{
				Required: true,
				Description: "The resource pattern: cluster, topic/{name}, topicPrefixed/{prefix}, consumerGroup/{name}, " +
					"consumerGroupPrefixed/{prefix}, transactionalId/{id}, transactionalIdPrefixed/{prefix}, allTopics, " +
					"allConsumerGroups or allTransactionalIds. Changing it replaces the ACL.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{aclIDValidator()},
			},
			"acl_entries": schema.SetNestedAttribute{
				Required: true, Description: "The entries (principal, operation, permission_type, host).",
				// The same Terraform type as without it; see aclEntriesType.
				CustomType: newACLEntriesType(),
				Validators: []validator.Set{setvalidator.SizeBetween(1, 1000)},
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"principal": schema.StringAttribute{Required: true, Description: `"User:{name}" or "User:*"`},
					"operation": schema.StringAttribute{Required: true, Validators: []validator.String{stringvalidator.OneOf(aclOperations...)}},
					// No schema defaults: the framework's defaults inside a set cost O(n²) in
					// the set's size (minutes for 1,000 entries); the API's defaults are applied
					// in the mapping instead (see aclEntries and fromAPI).
					"permission_type": schema.StringAttribute{
						Optional: true, Description: "ALLOW (when omitted) or DENY.",
						Validators: []validator.String{stringvalidator.OneOf("ALLOW", "DENY")},
					},
					"host": schema.StringAttribute{
						Optional: true, Description: `"*" (when omitted) or one IP address.`,
					},
				}},
			},
			"labels":   labelsAttribute(),
			"uid":      uidAttribute(),
			"etag":     etagAttribute(),
			"state":    stateAttribute(),
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *aclResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	var project types.String
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("project_id"), &project)...)
	if project.IsUnknown() && r.data.project != "" {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("project_id"), r.data.project)...)
	}
}

func (r *aclResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan aclModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !r.ready(&resp.Diagnostics) {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, defaultTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	project := r.project(plan.ProjectID, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	parent := fmt.Sprintf("projects/%s/clusters/%s/acls", project, plan.ClusterID.ValueString())
	name := parent + "/" + plan.AclID.ValueString()
	defer r.data.lists.invalidate(name)
	body := map[string]any{"acl_entries": aclEntries(plan.AclEntries), "labels": emptyIfNil(goMap(plan.Labels))}
	op, err := r.api().Create(ctx, client.Request{
		Method: http.MethodPost, Path: parent, Query: url.Values{"acl_id": {plan.AclID.ValueString()}}, Body: body,
	}, name)
	if err != nil {
		apiError(&resp.Diagnostics, "Creating ACL "+name, err)
		return
	}
	r.readInto(ctx, &plan, name, op, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *aclResource) readInto(ctx context.Context, m *aclModel, name string, op *client.Operation, diags *diag.Diagnostics) {
	var a aclAPI
	if err := resultOf(ctx, r.api(), name, op, &a); err != nil {
		apiError(diags, "Reading ACL "+name, err)
		return
	}
	m.fromAPI(&a)
}

func (r *aclResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state aclModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.ready(&resp.Diagnostics) {
		return
	}
	var a aclAPI
	found, err := r.data.lists.read(ctx, state.Name.ValueString(), &a)
	if err != nil {
		apiError(&resp.Diagnostics, "Reading ACL "+state.Name.ValueString(), err)
		return
	}
	if !found {
		resp.State.RemoveResource(ctx)
		return
	}
	state.fromAPI(&a)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *aclResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state aclModel
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
	body := map[string]any{"acl_entries": aclEntries(plan.AclEntries), "labels": emptyIfNil(goMap(plan.Labels))}
	if plan.AclEntries.Equal(state.AclEntries) && plan.Labels.Equal(state.Labels) {
		// Only `timeouts` changed (e.g. right after an import): nothing to send.
		state.Timeouts = plan.Timeouts
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
		return
	}
	op, err := r.api().Mutate(ctx, patchRequest(name, state.Etag.ValueString(), []string{"acl_entries", "labels"}, body))
	if err != nil {
		apiError(&resp.Diagnostics, "Updating ACL "+name, err)
		return
	}
	r.readInto(ctx, &plan, name, op, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *aclResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state aclModel
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
		apiError(&resp.Diagnostics, "Deleting ACL "+state.Name.ValueString(), err)
	}
}

func (r *aclResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importByName(ctx, req, resp, []string{"projects", "clusters", "acls"}, []string{"project_id", "cluster_id", "acl_id"}, true)
}
