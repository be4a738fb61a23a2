package provider

// The cost of one kplane_acl of many entries through the provider's protocol server (the RPCs a
// `tofu apply` sends: validate, plan, apply), against a fake API, without tofu.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// fakeACLAPI answers an ACL create with a running Operation, and the Operation's long poll with
// the ACL as created (the body's entries, echoed).
func fakeACLAPI(t testing.TB) *httptest.Server {
	var mu sync.Mutex
	created := map[string]json.RawMessage{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/acls"):
			var body struct {
				AclEntries []aclEntryAPI `json:"acl_entries"`
			}
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			name := strings.TrimPrefix(r.URL.Path, "/v1/") + "/" + r.URL.Query().Get("acl_id")
			acl, _ := json.Marshal(aclAPI{Name: name, UID: "u", Etag: "e1", State: "ACTIVE", AclEntries: body.AclEntries})
			created["operations/op1"] = acl
			_ = json.NewEncoder(w).Encode(map[string]any{"name": "operations/op1", "done": false})
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/operations/"):
			acl, ok := created[strings.TrimPrefix(r.URL.Path, "/v1/")]
			if !ok {
				http.NotFound(w, r)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"name": r.URL.Path[4:], "done": true, "response": acl})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// objectOf is a value of object type typ with the given attributes and every other one null.
func objectOf(typ tftypes.Type, vals map[string]tftypes.Value) tftypes.Value {
	obj := typ.(tftypes.Object)
	all := map[string]tftypes.Value{}
	for k, at := range obj.AttributeTypes {
		if v, ok := vals[k]; ok {
			all[k] = v
		} else {
			all[k] = tftypes.NewValue(at, nil)
		}
	}
	return tftypes.NewValue(typ, all)
}

func dynamic(t testing.TB, typ tftypes.Type, v tftypes.Value) *tfprotov6.DynamicValue {
	dv, err := tfprotov6.NewDynamicValue(typ, v)
	if err != nil {
		t.Fatal(err)
	}
	return &dv
}

func noErrors(t testing.TB, what string, diags []*tfprotov6.Diagnostic) {
	t.Helper()
	for _, d := range diags {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			t.Fatalf("%s: %s: %s", what, d.Summary, d.Detail)
		}
	}
}

// applyACL runs validate, plan and apply of one kplane_acl of n entries (as `tofu apply` does,
// without its second plan) and returns each RPC's duration and the applied state.
func applyACL(t testing.TB, n int) (map[string]time.Duration, tftypes.Value) {
	ctx := context.Background()
	api := fakeACLAPI(t)
	server, err := providerserver.NewProtocol6WithError(New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	providerType := schemas.Provider.ValueType()
	cfg := objectOf(providerType, map[string]tftypes.Value{
		"endpoint": tftypes.NewValue(tftypes.String, api.URL),
		"token":    tftypes.NewValue(tftypes.String, "x"),
		"project":  tftypes.NewValue(tftypes.String, "bench"),
	})
	conf, err := server.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{Config: dynamic(t, providerType, cfg)})
	if err != nil {
		t.Fatal(err)
	}
	noErrors(t, "configure", conf.Diagnostics)

	typ := schemas.ResourceSchemas["kplane_acl"].ValueType()
	entriesType := typ.(tftypes.Object).AttributeTypes["acl_entries"].(tftypes.Set)
	entries := make([]tftypes.Value, 0, n)
	for i := range n {
		entries = append(entries, objectOf(entriesType.ElementType, map[string]tftypes.Value{
			"principal": tftypes.NewValue(tftypes.String, fmt.Sprintf("User:u-%d", i)),
			"operation": tftypes.NewValue(tftypes.String, "READ"),
		}))
	}
	config := dynamic(t, typ, objectOf(typ, map[string]tftypes.Value{
		"cluster_id":  tftypes.NewValue(tftypes.String, "t"),
		"acl_id":      tftypes.NewValue(tftypes.String, "topicPrefixed/tf-"),
		"acl_entries": tftypes.NewValue(entriesType, entries),
	}))
	prior := dynamic(t, typ, tftypes.NewValue(typ, nil))
	took := map[string]time.Duration{}

	started := time.Now()
	val, err := server.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: "kplane_acl", Config: config})
	if err != nil {
		t.Fatal(err)
	}
	noErrors(t, "validate", val.Diagnostics)
	took["validate"] = time.Since(started)

	started = time.Now()
	plan, err := server.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{
		TypeName: "kplane_acl", PriorState: prior, ProposedNewState: config, Config: config,
	})
	if err != nil {
		t.Fatal(err)
	}
	noErrors(t, "plan", plan.Diagnostics)
	took["plan"] = time.Since(started)

	started = time.Now()
	applied, err := server.ApplyResourceChange(ctx, &tfprotov6.ApplyResourceChangeRequest{
		TypeName: "kplane_acl", PriorState: prior, PlannedState: plan.PlannedState, Config: config,
	})
	if err != nil {
		t.Fatal(err)
	}
	noErrors(t, "apply", applied.Diagnostics)
	took["apply"] = time.Since(started)
	state, err := applied.NewState.Unmarshal(typ)
	if err != nil {
		t.Fatal(err)
	}
	return took, state
}

// TestACLApplyOfManyEntries applies an ACL of 200 entries through the protocol server: the
// applied state holds every entry with the omitted defaults left null.
func TestACLApplyOfManyEntries(t *testing.T) {
	const n = 200
	took, state := applyACL(t, n)
	t.Logf("%d entries: %v", n, took)
	var attrs map[string]tftypes.Value
	if err := state.As(&attrs); err != nil {
		t.Fatal(err)
	}
	var entries []tftypes.Value
	if err := attrs["acl_entries"].As(&entries); err != nil {
		t.Fatal(err)
	}
	if len(entries) != n {
		t.Fatalf("%d entries in state, want %d", len(entries), n)
	}
	for _, e := range entries {
		var ea map[string]tftypes.Value
		if err := e.As(&ea); err != nil {
			t.Fatal(err)
		}
		if !ea["host"].IsNull() || !ea["permission_type"].IsNull() {
			t.Fatalf("omitted defaults are in state: %v", e)
		}
	}
}

// BenchmarkACLApply1000: go test -run '^$' -bench ACLApply -benchtime 1x -cpuprofile cpu.out
func BenchmarkACLApply1000(b *testing.B) {
	for range b.N {
		took, _ := applyACL(b, 1000)
		b.Logf("%v", took)
	}
}

func aclEntryObject(principal, operation string, permission, host attr.Value) attr.Value {
	return types.ObjectValueMust(aclEntryTypes, map[string]attr.Value{
		"principal": types.StringValue(principal), "operation": types.StringValue(operation),
		"permission_type": permission, "host": host,
	})
}

// aclEntriesValue's semantic equality keeps the prior value exactly when the sets hold the same
// elements (a null attribute is not its default, nor an unknown one).
func TestACLEntriesSameElements(t *testing.T) {
	ctx := context.Background()
	a := aclEntryObject("User:a", "READ", types.StringNull(), types.StringNull())
	b := aclEntryObject("User:b", "WRITE", types.StringValue("DENY"), types.StringValue("*"))
	aDefaults := aclEntryObject("User:a", "READ", types.StringValue("ALLOW"), types.StringValue("*"))
	aUnknown := aclEntryObject("User:a", "READ", types.StringUnknown(), types.StringNull())
	for _, c := range []struct {
		x, y []attr.Value
		want bool
	}{
		{[]attr.Value{a, b}, []attr.Value{b, a}, true},
		{[]attr.Value{a, b}, []attr.Value{a}, false},
		{[]attr.Value{a}, []attr.Value{aDefaults}, false},
		{[]attr.Value{a}, []attr.Value{aUnknown}, false},
		{[]attr.Value{a, b}, []attr.Value{a, aDefaults}, false},
	} {
		x, y := aclEntriesOf(c.x), aclEntriesOf(c.y)
		got, diags := x.SetSemanticEquals(ctx, y)
		if diags.HasError() || got != c.want || got != x.SetValue.Equal(y.SetValue) {
			t.Errorf("%v vs %v: %v, want %v", c.x, c.y, got, c.want)
		}
	}
	if got, _ := aclEntriesOf([]attr.Value{a}).SetSemanticEquals(ctx, aclEntriesNull()); got {
		t.Error("a set is semantically equal to null")
	}
	if !newACLEntriesType().Equal(aclEntriesOf([]attr.Value{a}).Type(ctx)) || newACLEntriesType().Equal(types.SetType{ElemType: types.ObjectType{AttrTypes: aclEntryTypes}}) {
		t.Error("type equality")
	}
}

// aclEntriesType.Validate refuses duplicates as SetType.Validate does, and accepts what it
// accepts.
func TestACLEntriesValidateDuplicates(t *testing.T) {
	ctx := context.Background()
	typ := newACLEntriesType()
	tfType := typ.TerraformType(ctx)
	elem := func(p string, host any) tftypes.Value {
		return tftypes.NewValue(tfType.(tftypes.Set).ElementType, map[string]tftypes.Value{
			"principal": tftypes.NewValue(tftypes.String, p), "operation": tftypes.NewValue(tftypes.String, "READ"),
			"permission_type": tftypes.NewValue(tftypes.String, nil), "host": tftypes.NewValue(tftypes.String, host),
		})
	}
	for _, c := range []struct {
		elems []tftypes.Value
		dup   bool
	}{
		{[]tftypes.Value{elem("User:a", nil), elem("User:b", nil), elem("User:a", "*")}, false},
		{[]tftypes.Value{elem("User:a", nil), elem("User:b", nil), elem("User:a", nil)}, true},
		{[]tftypes.Value{elem("User:a", tftypes.UnknownValue), elem("User:a", tftypes.UnknownValue)}, false},
	} {
		in := tftypes.NewValue(tfType, c.elems)
		got := typ.Validate(ctx, in, path.Root("acl_entries"))
		want := typ.SetType.Validate(ctx, in, path.Root("acl_entries"))
		if got.HasError() != c.dup || want.HasError() != c.dup {
			t.Errorf("%v: %v (SetType: %v), want duplicate %v", c.elems, got, want, c.dup)
		}
	}
	for _, in := range []tftypes.Value{tftypes.NewValue(tfType, nil), tftypes.NewValue(tfType, tftypes.UnknownValue)} {
		if diags := typ.Validate(ctx, in, path.Root("acl_entries")); diags.HasError() {
			t.Errorf("%v: %v", in, diags)
		}
	}
}
