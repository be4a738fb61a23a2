package provider

import (
	"context"
	"net/http"
	"net/url"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/kplane/terraform-provider-kplane/internal/client"
)

// projectAPI is the API's Project body.
type projectAPI struct {
	Name        string            `json:"name"`
	UID         string            `json:"uid"`
	Etag        string            `json:"etag"`
	DisplayName string            `json:"display_name"`
	Labels      map[string]string `json:"labels"`
}

type projectModel struct {
	ID          types.String `tfsdk:"id"`
	Name        types.String `tfsdk:"name"`
	ProjectID   types.String `tfsdk:"project_id"`
	DisplayName types.String `tfsdk:"display_name"`
	Labels      types.Map    `tfsdk:"labels"`
	UID         types.String `tfsdk:"uid"`
	Etag        types.String `tfsdk:"etag"`
}

func (m *projectModel) fromAPI(p *projectAPI) {
	m.ID = types.StringValue(p.Name)
	m.Name = types.StringValue(p.Name)
	if ids, err := parseImportID(p.Name, []string{"projects"}, false); err == nil {
		m.ProjectID = types.StringValue(ids[0])
	}
	if p.DisplayName == "" && m.DisplayName.IsNull() {
		m.DisplayName = types.StringNull()
	} else {
		m.DisplayName = types.StringValue(p.DisplayName)
	}
	m.Labels = stringMap(p.Labels, m.Labels)
	m.UID = types.StringValue(p.UID)
	m.Etag = types.StringValue(p.Etag)
}

func projectBody(m *projectModel) map[string]any {
	return map[string]any{"display_name": m.DisplayName.ValueString(), "labels": emptyIfNil(goMap(m.Labels))}
}

type projectResource struct{ base }

var _ resource.ResourceWithImportState = (*projectResource)(nil)

func newProjectResource() resource.Resource { return &projectResource{} }

func (r *projectResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_project"
}

func (r *projectResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.configure(req.ProviderData, &resp.Diagnostics)
}

func (r *projectResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A kplane project (the tenancy boundary). Needs the admin token.",
		Attributes: map[string]schema.Attribute{
			"id":   idAttribute(),
			"name": nameAttribute("projects/{project}"),
			"project_id": schema.StringAttribute{
				Required: true, Description: "The project's id. Changing it replaces the project.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{resourceIDValidator("project")},
			},
			"display_name": schema.StringAttribute{
				Optional: true, Validators: []validator.String{stringvalidator.LengthAtMost(200)},
			},
			"labels": labelsAttribute(),
			"uid":    uidAttribute(),
			"etag":   etagAttribute(),
		},
	}
}

func (r *projectResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan projectModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !r.ready(&resp.Diagnostics) {
		return
	}
	name := "projects/" + plan.ProjectID.ValueString()
	var p projectAPI
	err := r.api().CreateSync(ctx, client.Request{
		Method: http.MethodPost, Path: "projects", Query: url.Values{"project_id": {plan.ProjectID.ValueString()}},
		Body: projectBody(&plan),
	}, name, &p)
	if err != nil {
		apiError(&resp.Diagnostics, "Creating project "+name, err)
		return
	}
	plan.fromAPI(&p)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *projectResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state projectModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.ready(&resp.Diagnostics) {
		return
	}
	var p projectAPI
	found, err := get(ctx, r.api(), state.Name.ValueString(), &p)
	if err != nil {
		apiError(&resp.Diagnostics, "Reading project "+state.Name.ValueString(), err)
		return
	}
	if !found {
		resp.State.RemoveResource(ctx)
		return
	}
	state.fromAPI(&p)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *projectResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state projectModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.ready(&resp.Diagnostics) {
		return
	}
	var p projectAPI
	name := state.Name.ValueString()
	if err := r.api().Do(ctx, patchRequest(name, state.Etag.ValueString(), []string{"display_name", "labels"}, projectBody(&plan)), &p); err != nil {
		apiError(&resp.Diagnostics, "Updating project "+name, err)
		return
	}
	plan.fromAPI(&p)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *projectResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state projectModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.ready(&resp.Diagnostics) {
		return
	}
	err := r.api().Do(ctx, client.Request{Method: http.MethodDelete, Path: state.Name.ValueString()}, nil)
	if err != nil && !client.IsNotFound(err) {
		apiError(&resp.Diagnostics, "Deleting project "+state.Name.ValueString(), err)
	}
}

func (r *projectResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importByName(ctx, req, resp, []string{"projects"}, []string{"project_id"}, false)
}

// tokenAPI is the API's Token body; Secret only in the create response.
type tokenAPI struct {
	Name   string            `json:"name"`
	UID    string            `json:"uid"`
	Etag   string            `json:"etag"`
	Role   string            `json:"role"`
	Labels map[string]string `json:"labels"`
	Secret string            `json:"secret"`
}

type tokenModel struct {
	ID        types.String `tfsdk:"id"`
	Name      types.String `tfsdk:"name"`
	ProjectID types.String `tfsdk:"project_id"`
	TokenID   types.String `tfsdk:"token_id"`
	Role      types.String `tfsdk:"role"`
	Labels    types.Map    `tfsdk:"labels"`
	Secret    types.String `tfsdk:"secret"`
	UID       types.String `tfsdk:"uid"`
	Etag      types.String `tfsdk:"etag"`
}

func (m *tokenModel) fromAPI(t *tokenAPI) {
	m.ID = types.StringValue(t.Name)
	m.Name = types.StringValue(t.Name)
	if ids, err := parseImportID(t.Name, []string{"projects", "tokens"}, false); err == nil {
		m.ProjectID, m.TokenID = types.StringValue(ids[0]), types.StringValue(ids[1])
	}
	m.Role = types.StringValue(t.Role)
	m.Labels = stringMap(t.Labels, m.Labels)
	m.UID = types.StringValue(t.UID)
	m.Etag = types.StringValue(t.Etag)
	if t.Secret != "" {
		m.Secret = types.StringValue(t.Secret)
	} else if !known(m.Secret) {
		m.Secret = types.StringNull()
	}
}

type tokenResource struct{ base }

var (
	_ resource.ResourceWithImportState = (*tokenResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*tokenResource)(nil)
)

func newTokenResource() resource.Resource { return &tokenResource{} }

func (r *tokenResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_token"
}

func (r *tokenResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.configure(req.ProviderData, &resp.Diagnostics)
}

func (r *tokenResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "An API token of a project. Its secret is shown by the API once, kept in state (sensitive).",
		Attributes: map[string]schema.Attribute{
			"id":         idAttribute(),
			"name":       nameAttribute("projects/{project}/tokens/{token}"),
			"project_id": projectAttribute(),
			"token_id": schema.StringAttribute{
				Required: true, Description: "The token's id. Changing it replaces the token.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{resourceIDValidator("token")},
			},
			"role": schema.StringAttribute{
				Required: true, Description: "viewer, editor or owner.",
				Validators: []validator.String{stringvalidator.OneOf("viewer", "editor", "owner")},
			},
			"labels": labelsAttribute(),
			"secret": schema.StringAttribute{
				Computed: true, Sensitive: true, Description: "The bearer secret (null after import: the API shows it once).",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"uid":  uidAttribute(),
			"etag": etagAttribute(),
		},
	}
}

func (r *tokenResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	var project types.String
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("project_id"), &project)...)
	if project.IsUnknown() && r.data.project != "" {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("project_id"), r.data.project)...)
	}
}

func (r *tokenResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan tokenModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !r.ready(&resp.Diagnostics) {
		return
	}
	project := r.project(plan.ProjectID, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	parent := "projects/" + project + "/tokens"
	name := parent + "/" + plan.TokenID.ValueString()
	var t tokenAPI
	err := r.api().CreateSync(ctx, client.Request{
		Method: http.MethodPost, Path: parent, Query: url.Values{"token_id": {plan.TokenID.ValueString()}},
		Body: map[string]any{"role": plan.Role.ValueString(), "labels": emptyIfNil(goMap(plan.Labels))},
	}, name, &t)
	if err != nil {
		apiError(&resp.Diagnostics, "Creating token "+name, err)
		return
	}
	plan.Secret = types.StringNull()
	plan.fromAPI(&t)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *tokenResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state tokenModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.ready(&resp.Diagnostics) {
		return
	}
	var t tokenAPI
	found, err := get(ctx, r.api(), state.Name.ValueString(), &t)
	if err != nil {
		apiError(&resp.Diagnostics, "Reading token "+state.Name.ValueString(), err)
		return
	}
	if !found {
		resp.State.RemoveResource(ctx)
		return
	}
	state.fromAPI(&t)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *tokenResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state tokenModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.ready(&resp.Diagnostics) {
		return
	}
	var t tokenAPI
	name := state.Name.ValueString()
	body := map[string]any{"role": plan.Role.ValueString(), "labels": emptyIfNil(goMap(plan.Labels))}
	if err := r.api().Do(ctx, patchRequest(name, state.Etag.ValueString(), []string{"role", "labels"}, body), &t); err != nil {
		apiError(&resp.Diagnostics, "Updating token "+name, err)
		return
	}
	plan.Secret = state.Secret
	plan.fromAPI(&t)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *tokenResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state tokenModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.ready(&resp.Diagnostics) {
		return
	}
	err := r.api().Do(ctx, client.Request{Method: http.MethodDelete, Path: state.Name.ValueString()}, nil)
	if err != nil && !client.IsNotFound(err) {
		apiError(&resp.Diagnostics, "Deleting token "+state.Name.ValueString(), err)
	}
}

func (r *tokenResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importByName(ctx, req, resp, []string{"projects", "tokens"}, []string{"project_id", "token_id"}, false)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("secret"), types.StringNull())...)
}
