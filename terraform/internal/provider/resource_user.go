package provider

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/float64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
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

type quotasAPI struct {
	ProducerByteRate  *int64   `json:"producer_byte_rate,omitempty"`
	ConsumerByteRate  *int64   `json:"consumer_byte_rate,omitempty"`
	RequestPercentage *float64 `json:"request_percentage,omitempty"`
}

// userAPI is the API's User body (the fields the provider maps).
type userAPI struct {
	Name      string            `json:"name"`
	UID       string            `json:"uid"`
	Etag      string            `json:"etag"`
	State     string            `json:"state"`
	Principal string            `json:"principal"`
	Quotas    quotasAPI         `json:"quotas"`
	Labels    map[string]string `json:"labels"`
}

var quotasTypes = map[string]attr.Type{
	"producer_byte_rate": types.Int64Type, "consumer_byte_rate": types.Int64Type, "request_percentage": types.Float64Type,
}

type userModel struct {
	ID                types.String   `tfsdk:"id"`
	Name              types.String   `tfsdk:"name"`
	ProjectID         types.String   `tfsdk:"project_id"`
	ClusterID         types.String   `tfsdk:"cluster_id"`
	UserID            types.String   `tfsdk:"user_id"`
	PasswordWO        types.String   `tfsdk:"password_wo"`
	PasswordWOVersion types.Int64    `tfsdk:"password_wo_version"`
	Password          types.String   `tfsdk:"password"`
	Quotas            types.Object   `tfsdk:"quotas"`
	Labels            types.Map      `tfsdk:"labels"`
	Principal         types.String   `tfsdk:"principal"`
	UID               types.String   `tfsdk:"uid"`
	Etag              types.String   `tfsdk:"etag"`
	State             types.String   `tfsdk:"state"`
	Timeouts          timeouts.Value `tfsdk:"timeouts"`
}

func quotasBody(v types.Object) quotasAPI {
	var q quotasAPI
	if !known(v) {
		return q
	}
	a := v.Attributes()
	if p := a["producer_byte_rate"].(types.Int64); known(p) {
		q.ProducerByteRate = p.ValueInt64Pointer()
	}
	if c := a["consumer_byte_rate"].(types.Int64); known(c) {
		q.ConsumerByteRate = c.ValueInt64Pointer()
	}
	if r := a["request_percentage"].(types.Float64); known(r) {
		q.RequestPercentage = r.ValueFloat64Pointer()
	}
	return q
}

func (m *userModel) fromAPI(u *userAPI) {
	m.ID = types.StringValue(u.Name)
	m.Name = types.StringValue(u.Name)
	if ids, err := parseImportID(u.Name, []string{"projects", "clusters", "users"}, false); err == nil {
		m.ProjectID, m.ClusterID, m.UserID = types.StringValue(ids[0]), types.StringValue(ids[1]), types.StringValue(ids[2])
	}
	q := u.Quotas
	if q.ProducerByteRate == nil && q.ConsumerByteRate == nil && q.RequestPercentage == nil && !known(m.Quotas) {
		m.Quotas = types.ObjectNull(quotasTypes)
	} else {
		m.Quotas = types.ObjectValueMust(quotasTypes, map[string]attr.Value{
			"producer_byte_rate": types.Int64PointerValue(q.ProducerByteRate),
			"consumer_byte_rate": types.Int64PointerValue(q.ConsumerByteRate),
			"request_percentage": types.Float64PointerValue(q.RequestPercentage),
		})
	}
	m.Labels = stringMap(u.Labels, m.Labels)
	m.Principal = types.StringValue(u.Principal)
	m.UID = types.StringValue(u.UID)
	m.Etag = types.StringValue(u.Etag)
	m.State = types.StringValue(u.State)
	m.PasswordWO = types.StringNull() // write-only: never in state
}

type userResource struct{ base }

var (
	_ resource.ResourceWithImportState = (*userResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*userResource)(nil)
)

func newUserResource() resource.Resource { return &userResource{} }

func (r *userResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_user"
}

func (r *userResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.configure(req.ProviderData, &resp.Diagnostics)
}

func (r *userResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A SCRAM-SHA-512 user (Kafka principal User:{user_id}) of a kplane cluster.",
		Attributes: map[string]schema.Attribute{
			"id":         idAttribute(),
			"name":       nameAttribute("projects/{project}/clusters/{cluster}/users/{user}"),
			"project_id": projectAttribute(),
			"cluster_id": schema.StringAttribute{
				Required: true, Description: "The cluster's id. Changing it replaces the user.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{resourceIDValidator("cluster")},
			},
			"user_id": schema.StringAttribute{
				Required: true, Description: "The user's id. Changing it replaces the user.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{resourceIDValidator("user")},
			},
			"password_wo": schema.StringAttribute{
				Optional: true, Sensitive: true, WriteOnly: true,
				Description: "Write-only password (12-256 characters), never stored in state. It is sent on create, " +
					"and again (through :rotatePassword) whenever password_wo_version changes. When omitted the API " +
					"generates one, exposed once in `password`.",
				Validators: []validator.String{stringvalidator.LengthBetween(12, 256)},
			},
			"password_wo_version": schema.Int64Attribute{
				Optional: true, Description: "Change it to rotate the password (to password_wo, or a newly generated one).",
			},
			"password": schema.StringAttribute{
				Computed: true, Sensitive: true,
				Description:   "The generated password when password_wo is not set (null otherwise); the API shows it only once.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"quotas": schema.SingleNestedAttribute{
				Optional: true, Description: "Client quotas of the user.",
				Attributes: map[string]schema.Attribute{
					"producer_byte_rate": schema.Int64Attribute{Optional: true, Validators: []validator.Int64{int64validator.Between(1024, 1<<40)}},
					"consumer_byte_rate": schema.Int64Attribute{Optional: true, Validators: []validator.Int64{int64validator.Between(1024, 1<<40)}},
					"request_percentage": schema.Float64Attribute{Optional: true, Validators: []validator.Float64{float64validator.Between(0.01, 10000)}},
				},
			},
			"labels": labelsAttribute(),
			"principal": schema.StringAttribute{
				Computed: true, Description: "The Kafka principal, User:{user_id}.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"uid":      uidAttribute(),
			"etag":     etagAttribute(),
			"state":    stateAttribute(),
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

// ModifyPlan: a rotation to a generated password makes `password` unknown until apply.
func (r *userResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	var plan userModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if plan.ProjectID.IsUnknown() && r.data.project != "" {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("project_id"), r.data.project)...)
	}
	if req.State.Raw.IsNull() {
		return
	}
	var state userModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if plan.PasswordWOVersion.Equal(state.PasswordWOVersion) {
		return
	}
	var given types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("password_wo"), &given)...)
	if given.IsNull() {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("password"), types.StringUnknown())...)
	} else {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("password"), types.StringNull())...)
	}
}

func (r *userResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan userModel
	var given types.String
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("password_wo"), &given)...)
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
	parent := fmt.Sprintf("projects/%s/clusters/%s/users", project, plan.ClusterID.ValueString())
	name := parent + "/" + plan.UserID.ValueString()
	defer r.data.lists.invalidate(name)
	body := map[string]any{"quotas": quotasBody(plan.Quotas), "labels": emptyIfNil(goMap(plan.Labels))}
	if known(given) {
		body["password"] = given.ValueString()
	}
	op, err := r.api().Create(ctx, client.Request{
		Method: http.MethodPost, Path: parent, Query: url.Values{"user_id": {plan.UserID.ValueString()}}, Body: body,
	}, name)
	if err != nil {
		apiError(&resp.Diagnostics, "Creating user "+name, err)
		return
	}
	plan.Password = types.StringNull()
	if !known(given) && op.Password != "" {
		plan.Password = types.StringValue(op.Password)
	}
	r.readInto(ctx, &plan, name, op, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *userResource) readInto(ctx context.Context, m *userModel, name string, op *client.Operation, diags *diag.Diagnostics) {
	var u userAPI
	if err := resultOf(ctx, r.api(), name, op, &u); err != nil {
		apiError(diags, "Reading user "+name, err)
		return
	}
	m.fromAPI(&u)
}

func (r *userResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state userModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.ready(&resp.Diagnostics) {
		return
	}
	var u userAPI
	found, err := r.data.lists.read(ctx, state.Name.ValueString(), &u)
	if err != nil {
		apiError(&resp.Diagnostics, "Reading user "+state.Name.ValueString(), err)
		return
	}
	if !found {
		resp.State.RemoveResource(ctx)
		return
	}
	state.fromAPI(&u)
	if state.Password.IsUnknown() {
		state.Password = types.StringNull() // imported: the password is not readable
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *userResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state userModel
	var given types.String
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("password_wo"), &given)...)
	if resp.Diagnostics.HasError() || !r.ready(&resp.Diagnostics) {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, defaultTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	name := state.Name.ValueString()
	defer r.data.lists.invalidate(name)
	etag := state.Etag.ValueString()
	if plan.Quotas.Equal(state.Quotas) && plan.Labels.Equal(state.Labels) && plan.PasswordWOVersion.Equal(state.PasswordWOVersion) {
		// Only `timeouts` changed (e.g. right after an import): nothing to send.
		state.Timeouts = plan.Timeouts
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
		return
	}
	var op *client.Operation
	if !plan.Quotas.Equal(state.Quotas) || !plan.Labels.Equal(state.Labels) {
		body := map[string]any{"quotas": quotasBody(plan.Quotas), "labels": emptyIfNil(goMap(plan.Labels))}
		var err error
		if op, err = r.api().Mutate(ctx, patchRequest(name, etag, []string{"quotas", "labels"}, body)); err != nil {
			apiError(&resp.Diagnostics, "Updating user "+name, err)
			return
		}
		etag = ""
	}
	if !plan.PasswordWOVersion.Equal(state.PasswordWOVersion) {
		body := map[string]any{}
		if known(given) {
			body["password"] = given.ValueString()
		}
		if etag != "" {
			body["etag"] = etag
		}
		rotated, err := r.api().Mutate(ctx, client.Request{Method: http.MethodPost, Path: name + ":rotatePassword", Body: body})
		if err != nil {
			apiError(&resp.Diagnostics, "Rotating the password of user "+name, err)
			return
		}
		op = rotated
		plan.Password = types.StringNull()
		if !known(given) {
			plan.Password = types.StringValue(rotated.Password)
		}
	}
	r.readInto(ctx, &plan, name, op, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *userResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state userModel
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
		apiError(&resp.Diagnostics, "Deleting user "+state.Name.ValueString(), err)
	}
}

func (r *userResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importByName(ctx, req, resp, []string{"projects", "clusters", "users"}, []string{"project_id", "cluster_id", "user_id"}, false)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("password"), types.StringNull())...)
}
