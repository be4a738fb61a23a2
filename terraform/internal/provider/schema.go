package provider

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/kplane/terraform-provider-kplane/internal/client"
)

// The attributes every resource shares.

func idAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		Computed: true, Description: "The API path of the resource (same as name); the import id.",
		PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
}

func nameAttribute(pattern string) schema.StringAttribute {
	return schema.StringAttribute{
		Computed: true, Description: "The API's resource name: " + pattern + ".",
		PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
}

func projectAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		Optional: true, Computed: true,
		Description: "The project's id; default: the provider's `project`. Changing it replaces the resource.",
		PlanModifiers: []planmodifier.String{
			stringplanmodifier.UseStateForUnknown(), stringplanmodifier.RequiresReplace(),
		},
		Validators: []validator.String{resourceIDValidator("project")},
	}
}

func labelsAttribute() schema.MapAttribute {
	return schema.MapAttribute{ElementType: types.StringType, Optional: true, Description: "Labels (key/value strings)."}
}

func uidAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		Computed: true, Description: "Server-assigned unique id.",
		PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
}

func etagAttribute() schema.StringAttribute {
	return schema.StringAttribute{Computed: true, Description: "The current etag; sent with every update."}
}

func stateAttribute() schema.StringAttribute {
	return schema.StringAttribute{Computed: true, Description: "CREATING, ACTIVE, UPDATING, DELETING or FAILED (new values may appear)."}
}

// known: neither null nor unknown.
func known(v attr.Value) bool { return !v.IsNull() && !v.IsUnknown() }

// decodeResponse decodes a done Operation's `response` (the resource) into out.
func decodeResponse(op *client.Operation, out any) bool {
	if len(op.Response) == 0 || string(op.Response) == "null" {
		return false
	}
	return json.Unmarshal(op.Response, out) == nil
}

// resultOf decodes a done Operation's response (the resource) into out, or reads name when the
// Operation has none; a resource not found right after its Operation is an error.
func resultOf(ctx context.Context, c *client.Client, name string, op *client.Operation, out any) error {
	if op != nil && decodeResponse(op, out) {
		return nil
	}
	found, err := get(ctx, c, name, out)
	if err == nil && !found {
		err = fmt.Errorf("%s not found right after its operation finished", name)
	}
	return err
}
