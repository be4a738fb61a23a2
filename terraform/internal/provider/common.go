package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/kplane/terraform-provider-kplane/internal/client"
)

// defaultTimeout applies when a resource's `timeouts` block does not set one.
const defaultTimeout = 20 * time.Minute

// clusterTimeout: creating or rolling brokers takes longer.
const clusterTimeout = 60 * time.Minute

// base is embedded by every resource and data source: the configured client and default project.
type base struct {
	data *providerData
}

func (b *base) configure(raw any, diags *diag.Diagnostics) {
	if raw == nil {
		return
	}
	data, ok := raw.(*providerData)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("got %T", raw))
		return
	}
	b.data = data
}

// ready reports (as a diagnostic) a provider that was never configured.
func (b *base) ready(diags *diag.Diagnostics) bool {
	if b.data == nil {
		diags.AddError("kplane provider not configured",
			"The provider's endpoint/token were unknown or missing; set them in the provider block or the environment.")
		return false
	}
	return true
}

func (b *base) api() *client.Client { return b.data.client }

// project is the resource's project_id, or the provider's default when not set.
func (b *base) project(v types.String, diags *diag.Diagnostics) string {
	if !v.IsNull() && !v.IsUnknown() && v.ValueString() != "" {
		return v.ValueString()
	}
	if b.data.project == "" {
		diags.AddError("project_id missing", "Set project_id on the resource or `project` in the provider block.")
	}
	return b.data.project
}

// apiError turns a client error into a diagnostic: a failed Operation shows its reason and
// message, an API error its status, reason and field violations.
func apiError(diags *diag.Diagnostics, action string, err error) {
	var opErr *client.OperationError
	var status *client.Status
	switch {
	case errors.As(err, &opErr):
		s := opErr.Status
		diags.AddError(fmt.Sprintf("%s: operation failed (%s)", action, reasonOr(s)),
			fmt.Sprintf("%s\n\noperation: %s\nstatus: %d %s", s.Message, opErr.Operation, s.Code, s.Status))
	case errors.As(err, &status):
		diags.AddError(fmt.Sprintf("%s: %s", action, reasonOr(status)), status.Error())
	default:
		diags.AddError(action, err.Error())
	}
}

func reasonOr(s *client.Status) string {
	if r := s.Reason(); r != "" {
		return r
	}
	return s.Status
}

// stringMap maps an API map to state: an empty map stays null when the prior value (config or
// state) was null, so an unset attribute never shows a diff.
func stringMap(api map[string]string, prior types.Map) types.Map {
	if len(api) == 0 && (prior.IsNull() || prior.IsUnknown()) {
		return types.MapNull(types.StringType)
	}
	elems := make(map[string]attr.Value, len(api))
	for k, v := range api {
		elems[k] = types.StringValue(v)
	}
	return types.MapValueMust(types.StringType, elems)
}

// goMap is a Terraform map of strings as Go; nil when null or unknown.
func goMap(v types.Map) map[string]string {
	if v.IsNull() || v.IsUnknown() {
		return nil
	}
	out := make(map[string]string, len(v.Elements()))
	for k, e := range v.Elements() {
		if s, ok := e.(types.String); ok {
			out[k] = s.ValueString()
		}
	}
	return out
}

// emptyIfNil: the API takes {} for "no labels/configs".
func emptyIfNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// parseImportID splits an import id given as the API path (projects/p/clusters/c/topics/t) or
// its short form (p/c/t) into the ids, for the collections named (e.g. projects, clusters,
// topics). The last id may contain '/' when lastHasSlash (ACL ids such as topic/orders).
func parseImportID(id string, collections []string, lastHasSlash bool) ([]string, error) {
	n := len(collections)
	full := strings.TrimPrefix(strings.TrimPrefix(id, "/"), "v1/")
	if strings.HasPrefix(full, collections[0]+"/") {
		parts := strings.SplitN(full, "/", 2*n)
		if len(parts) == 2*n {
			ids := make([]string, n)
			ok := true
			for i := range n {
				if parts[2*i] != collections[i] || parts[2*i+1] == "" {
					ok = false
				}
				ids[i] = parts[2*i+1]
			}
			if ok && (lastHasSlash || !strings.Contains(ids[n-1], "/")) {
				return ids, nil
			}
		}
	}
	parts := strings.SplitN(id, "/", n)
	if len(parts) == n && (lastHasSlash || !strings.Contains(parts[n-1], "/")) {
		for _, p := range parts {
			if p == "" {
				return nil, importIDError(id, collections)
			}
		}
		return parts, nil
	}
	return nil, importIDError(id, collections)
}

func importIDError(id string, collections []string) error {
	var long, short []string
	for _, c := range collections {
		id := strings.TrimSuffix(strings.TrimSuffix(c, "s"), "_")
		long = append(long, c, "{"+id+"}")
		short = append(short, "{"+id+"}")
	}
	return fmt.Errorf("import id %q: expected %s or %s", id, strings.Join(long, "/"), strings.Join(short, "/"))
}

// get reads one resource; found is false on 404.
func get(ctx context.Context, c *client.Client, name string, out any) (found bool, err error) {
	err = c.Do(ctx, client.Request{Method: http.MethodGet, Path: name}, out)
	if client.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// findOperation is the newest Operation of the verb (e.g. "create") on the resource `name`; nil
// when there is none.
func findOperation(ctx context.Context, c *client.Client, name, verb string) (*client.Operation, error) {
	project := strings.SplitN(name, "/", 3)[1]
	var page struct {
		Operations []*client.Operation `json:"operations"`
	}
	q := url.Values{"filter": {fmt.Sprintf("target = %q AND verb = %s", name, verb)}, "page_size": {"1"}}
	if err := c.Do(ctx, client.Request{Method: http.MethodGet, Path: "projects/" + project + "/operations", Query: q}, &page); err != nil {
		return nil, err
	}
	if len(page.Operations) == 0 {
		return nil, nil
	}
	return page.Operations[0], nil
}

// deleteAndWait deletes name (waiting on its Operation); an already-gone resource is success.
func deleteAndWait(ctx context.Context, c *client.Client, name string) error {
	_, err := c.Mutate(ctx, client.Request{Method: http.MethodDelete, Path: name})
	if client.IsNotFound(err) {
		return nil
	}
	return err
}

// patchRequest is a PATCH of the named fields with the etag the state holds.
func patchRequest(name, etag string, fields []string, body map[string]any) client.Request {
	body["etag"] = etag
	return client.Request{
		Method: http.MethodPatch,
		Path:   name,
		Query:  url.Values{"update_mask": {strings.Join(fields, ",")}},
		Body:   body,
	}
}

// importByName implements ImportState for resources whose state is keyed by their id
// attributes: it sets those attributes (and id/name) from the import id.
func importByName(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse,
	collections []string, attrs []string, lastHasSlash bool) {
	ids, err := parseImportID(req.ID, collections, lastHasSlash)
	if err != nil {
		resp.Diagnostics.AddError("Invalid import id", err.Error())
		return
	}
	var parts []string
	for i, c := range collections {
		parts = append(parts, c, ids[i])
	}
	name := strings.Join(parts, "/")
	for i, a := range attrs {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, pathRoot(a), ids[i])...)
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, pathRoot("id"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, pathRoot("name"), name)...)
}
