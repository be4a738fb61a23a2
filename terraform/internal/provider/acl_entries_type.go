package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// aclEntriesType is the Go type of `acl_entries`: the framework's set of objects, with the same
// Terraform type (the schema tofu sees is unchanged), whose values answer the framework's
// semantic-equality question for the whole set at once.
//
// Without it, after every Create, Update and Read the framework compares each element of the new
// state with each element of the prior (planned) value to find semantically equal elements,
// logging both elements' String() at each of the n² pairs: 17 s of the 41 s of CPU that the
// validate, plan and apply of an ACL of 1,000 entries cost in BenchmarkACLApply1000. The elements
// are objects of plain strings, which have no semantic equality of their own, so that walk can
// only ever keep the new value; when the new set equals the prior one, keeping the prior value
// is the same result, found in O(n).
//
// Its Validate is SetType.Validate's duplicate check in O(n) instead of O(n²): the framework
// calls it at every read of the attribute (each ValueAtPath, Get and Set), 8.4 s of those 41 s.
type aclEntriesType struct{ basetypes.SetType }

var (
	_ basetypes.SetTypable                    = aclEntriesType{}
	_ basetypes.SetValuableWithSemanticEquals = aclEntriesValue{}
)

func newACLEntriesType() aclEntriesType {
	return aclEntriesType{basetypes.SetType{ElemType: basetypes.ObjectType{AttrTypes: aclEntryTypes}}}
}

func (t aclEntriesType) Equal(o attr.Type) bool {
	other, ok := o.(aclEntriesType)
	return ok && t.SetType.Equal(other.SetType)
}

func (t aclEntriesType) String() string { return "aclEntriesType" }

func (t aclEntriesType) ValueFromSet(_ context.Context, in basetypes.SetValue) (basetypes.SetValuable, diag.Diagnostics) {
	return aclEntriesValue{in}, nil
}

func (t aclEntriesType) ValueFromTerraform(ctx context.Context, in tftypes.Value) (attr.Value, error) {
	v, err := t.SetType.ValueFromTerraform(ctx, in)
	if err != nil {
		return nil, err
	}
	set, ok := v.(basetypes.SetValue)
	if !ok {
		return nil, fmt.Errorf("unexpected value type %T", v)
	}
	return aclEntriesValue{set}, nil
}

// Validate refuses duplicate elements among the fully known ones, as SetType.Validate does
// (one error per extra copy rather than per pair); a value other than a set of objects of
// strings is left to SetType.Validate.
func (t aclEntriesType) Validate(ctx context.Context, in tftypes.Value, p path.Path) diag.Diagnostics {
	if in.Type() == nil || !in.Type().Is(tftypes.Set{}) || !in.IsKnown() || in.IsNull() {
		return t.SetType.Validate(ctx, in, p)
	}
	var elems []tftypes.Value
	if err := in.As(&elems); err != nil {
		return t.SetType.Validate(ctx, in, p)
	}
	var diags diag.Diagnostics
	seen := make(map[string]bool, len(elems))
	for _, e := range elems {
		if !e.IsFullyKnown() {
			continue
		}
		k, ok := terraformElementKey(e)
		if !ok {
			return t.SetType.Validate(ctx, in, p)
		}
		if seen[k] {
			diags.AddAttributeError(p, "Duplicate Set Element", fmt.Sprintf("This attribute contains duplicate values of: %s", e))
		}
		seen[k] = true
	}
	return diags
}

// terraformElementKey is elementKey of a fully known Terraform value.
func terraformElementKey(e tftypes.Value) (string, bool) {
	var attrs map[string]tftypes.Value
	if err := e.As(&attrs); err != nil || len(attrs) != len(aclEntryNames) {
		return "", false
	}
	key := make([]byte, 0, 64)
	for _, name := range aclEntryNames {
		v, ok := attrs[name]
		if !ok || !v.Type().Is(tftypes.String) {
			return "", false
		}
		if v.IsNull() {
			key = append(key, 'n')
			continue
		}
		var s string
		if err := v.As(&s); err != nil {
			return "", false
		}
		key = fmt.Appendf(key, "v%q", s)
	}
	return string(key), true
}

func (t aclEntriesType) ValueType(_ context.Context) attr.Value { return aclEntriesValue{} }

// aclEntriesValue is a value of aclEntriesType.
type aclEntriesValue struct{ basetypes.SetValue }

func aclEntriesOf(elems []attr.Value) aclEntriesValue {
	return aclEntriesValue{basetypes.NewSetValueMust(basetypes.ObjectType{AttrTypes: aclEntryTypes}, elems)}
}

func aclEntriesNull() aclEntriesValue {
	return aclEntriesValue{basetypes.NewSetNull(basetypes.ObjectType{AttrTypes: aclEntryTypes})}
}

func (v aclEntriesValue) Type(_ context.Context) attr.Type { return newACLEntriesType() }

func (v aclEntriesValue) Equal(o attr.Value) bool {
	other, ok := o.(aclEntriesValue)
	return ok && v.SetValue.Equal(other.SetValue)
}

// SetSemanticEquals keeps the prior value when it holds exactly the new value's elements;
// otherwise the framework compares element by element, as it does for a plain set.
func (v aclEntriesValue) SetSemanticEquals(_ context.Context, prior basetypes.SetValuable) (bool, diag.Diagnostics) {
	p, ok := prior.(aclEntriesValue)
	if !ok {
		return false, nil
	}
	return sameElements(v.SetValue, p.SetValue), nil
}

// sameElements is SetValue.Equal in O(n) for known sets of objects of strings (an element is
// keyed by its attributes, null and unknown apart from every string); anything else is left to
// SetValue.Equal.
func sameElements(a, b basetypes.SetValue) bool {
	if !known(a) || !known(b) || !a.ElementType(context.Background()).Equal(b.ElementType(context.Background())) {
		return a.Equal(b)
	}
	ea, eb := a.Elements(), b.Elements()
	if len(ea) != len(eb) {
		return false
	}
	count := make(map[string]int, len(ea))
	for _, e := range ea {
		k, ok := elementKey(e)
		if !ok {
			return a.Equal(b)
		}
		count[k]++
	}
	for _, e := range eb {
		k, ok := elementKey(e)
		if !ok {
			return a.Equal(b)
		}
		if count[k] == 0 {
			return false
		}
		count[k]--
	}
	return true
}

// elementKey identifies an object of string attributes: each attribute in aclEntryTypes' order
// of names as "n" (null), "u" (unknown) or "v" and the quoted string.
func elementKey(e attr.Value) (string, bool) {
	o, ok := e.(basetypes.ObjectValue)
	if !ok || !known(o) {
		return "", false
	}
	attrs := o.Attributes()
	if len(attrs) != len(aclEntryTypes) {
		return "", false
	}
	key := make([]byte, 0, 64)
	for _, name := range aclEntryNames {
		s, ok := attrs[name].(basetypes.StringValue)
		switch {
		case !ok:
			return "", false
		case s.IsNull():
			key = append(key, 'n')
		case s.IsUnknown():
			key = append(key, 'u')
		default:
			key = fmt.Appendf(key, "v%q", s.ValueString())
		}
	}
	return string(key), true
}

// aclEntryNames are aclEntryTypes' attribute names in a fixed order.
var aclEntryNames = []string{"principal", "permission_type", "operation", "host"}
