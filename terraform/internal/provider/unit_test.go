package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	fwprovider "github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestParseImportID(t *testing.T) {
	topic := []string{"projects", "clusters", "topics"}
	acl := []string{"projects", "clusters", "acls"}
	cases := []struct {
		id    string
		cols  []string
		slash bool
		want  []string
	}{
		{"projects/p/clusters/c/topics/t", topic, false, []string{"p", "c", "t"}},
		{"p/c/t", topic, false, []string{"p", "c", "t"}},
		{"p/c/orders.v1", topic, false, []string{"p", "c", "orders.v1"}},
		{"projects/p/clusters/c/acls/topic/orders", acl, true, []string{"p", "c", "topic/orders"}},
		{"p/c/topic/orders", acl, true, []string{"p", "c", "topic/orders"}},
		{"p/c/cluster", acl, true, []string{"p", "c", "cluster"}},
		{"projects/p", []string{"projects"}, false, []string{"p"}},
		{"p", []string{"projects"}, false, []string{"p"}},
	}
	for _, c := range cases {
		got, err := parseImportID(c.id, c.cols, c.slash)
		if err != nil || len(got) != len(c.want) {
			t.Fatalf("%s: %v %v", c.id, got, err)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Fatalf("%s: got %v want %v", c.id, got, c.want)
			}
		}
	}
	for _, bad := range []string{"p/c", "p/c/t/x", "projects/p/clusters/c/users/u", "//t", ""} {
		if got, err := parseImportID(bad, topic, false); err == nil {
			t.Fatalf("%q parsed as %v", bad, got)
		}
	}
}

func TestTopicNameRules(t *testing.T) {
	for _, ok := range []string{"orders", "a.b_c-D9", "_x"} {
		if p := topicNameProblem(ok); p != "" {
			t.Fatalf("%q refused: %s", ok, p)
		}
	}
	for _, bad := range []string{"", ".", "..", "__consumer_offsets", "has space", "ü", string(make([]byte, 250))} {
		if topicNameProblem(bad) == "" {
			t.Fatalf("%q accepted", bad)
		}
	}
}

func TestACLIDRules(t *testing.T) {
	for _, ok := range []string{"cluster", "topic/orders", "topicPrefixed/ord", "allTopics", "transactionalId/tx"} {
		if p := aclIDProblem(ok); p != "" {
			t.Fatalf("%q refused: %s", ok, p)
		}
	}
	for _, bad := range []string{"", "topic", "topic/", "group/x", "cluster/x", "allTopics/x"} {
		if aclIDProblem(bad) == "" {
			t.Fatalf("%q accepted", bad)
		}
	}
}

// Unset maps stay null (no perpetual diff against the API's {}); set ones echo the API.
func TestStringMapKeepsUnsetNull(t *testing.T) {
	if got := stringMap(map[string]string{}, types.MapNull(types.StringType)); !got.IsNull() {
		t.Fatalf("got %v", got)
	}
	empty := types.MapValueMust(types.StringType, map[string]attr.Value{})
	if got := stringMap(map[string]string{}, empty); got.IsNull() || len(got.Elements()) != 0 {
		t.Fatalf("got %v", got)
	}
	got := stringMap(map[string]string{"retention.ms": "1000"}, types.MapNull(types.StringType))
	if got.Elements()["retention.ms"].(types.String).ValueString() != "1000" {
		t.Fatalf("got %v", got)
	}
}

// The request body carries only what the user set: no partition_count/replication_factor when
// unset, and configs exactly as written.
func TestTopicBodyOnlyWhatWasSet(t *testing.T) {
	m := topicModel{
		PartitionCount: types.Int64Unknown(), ReplicationFactor: types.Int64Null(),
		Configs: types.MapValueMust(types.StringType, map[string]attr.Value{"retention.ms": types.StringValue("60000")}),
		Labels:  types.MapNull(types.StringType),
	}
	body := topicBody(&m)
	if _, ok := body["partition_count"]; ok {
		t.Fatalf("body %v", body)
	}
	if _, ok := body["replication_factor"]; ok {
		t.Fatalf("body %v", body)
	}
	if body["configs"].(map[string]string)["retention.ms"] != "60000" || len(body["labels"].(map[string]string)) != 0 {
		t.Fatalf("body %v", body)
	}
	var back topicModel
	back.Configs = types.MapNull(types.StringType)
	back.Labels = types.MapNull(types.StringType)
	back.fromAPI(&topicAPI{Name: "projects/p/clusters/c/topics/t", PartitionCount: 3, ReplicationFactor: 1,
		Configs: map[string]string{}, Labels: map[string]string{}})
	if back.TopicID.ValueString() != "t" || back.ClusterID.ValueString() != "c" || !back.Configs.IsNull() || back.PartitionCount.ValueInt64() != 3 {
		t.Fatalf("model %+v", back)
	}
}

func TestACLEntriesOrderIsStable(t *testing.T) {
	entry := func(p, op string) attr.Value {
		return types.ObjectValueMust(aclEntryTypes, map[string]attr.Value{
			"principal": types.StringValue(p), "operation": types.StringValue(op),
			"permission_type": types.StringValue("ALLOW"), "host": types.StringValue("*"),
		})
	}
	a := types.SetValueMust(types.ObjectType{AttrTypes: aclEntryTypes}, []attr.Value{entry("User:b", "READ"), entry("User:a", "WRITE")})
	got := aclEntries(aclEntriesValue{a})
	if len(got) != 2 || got[0].Principal != "User:a" || got[1].Operation != "READ" {
		t.Fatalf("got %+v", got)
	}
}

// Every resource's schema is valid for the framework (e.g. write-only rules, defaults).
func TestSchemasAreValid(t *testing.T) {
	ctx := context.Background()
	p := New("test")()
	for _, f := range p.Resources(ctx) {
		r := f()
		var meta resource.MetadataResponse
		r.Metadata(ctx, resource.MetadataRequest{ProviderTypeName: "kplane"}, &meta)
		var resp resource.SchemaResponse
		r.Schema(ctx, resource.SchemaRequest{}, &resp)
		if resp.Diagnostics.HasError() {
			t.Fatalf("%s: %v", meta.TypeName, resp.Diagnostics)
		}
		if diags := resp.Schema.ValidateImplementation(ctx); diags.HasError() {
			t.Fatalf("%s: %v", meta.TypeName, diags)
		}
	}
	var presp fwprovider.SchemaResponse
	p.Schema(ctx, fwprovider.SchemaRequest{}, &presp)
	if presp.Diagnostics.HasError() {
		t.Fatal(presp.Diagnostics)
	}
}

// The API's defaults (ALLOW, "*") are applied in the mapping: an omitted field stays omitted,
// a written one stays written, and an imported entry (no prior) leaves the defaults out.
func TestACLEntryDefaultsInTheMapping(t *testing.T) {
	omitted := types.ObjectValueMust(aclEntryTypes, map[string]attr.Value{
		"principal": types.StringValue("User:a"), "operation": types.StringValue("READ"),
		"permission_type": types.StringNull(), "host": types.StringNull(),
	})
	explicit := types.ObjectValueMust(aclEntryTypes, map[string]attr.Value{
		"principal": types.StringValue("User:b"), "operation": types.StringValue("WRITE"),
		"permission_type": types.StringValue("ALLOW"), "host": types.StringValue("*"),
	})
	set := types.SetValueMust(types.ObjectType{AttrTypes: aclEntryTypes}, []attr.Value{omitted, explicit})
	api := aclEntries(aclEntriesValue{set})
	if api[0] != (aclEntryAPI{"User:a", "ALLOW", "READ", "*"}) || api[1] != (aclEntryAPI{"User:b", "ALLOW", "WRITE", "*"}) {
		t.Fatalf("sent %+v", api)
	}
	m := aclModel{AclEntries: aclEntriesValue{set}, Labels: types.MapNull(types.StringType)}
	m.fromAPI(&aclAPI{Name: "projects/p/clusters/c/acls/topic/t", AclEntries: api})
	if !m.AclEntries.SetValue.Equal(set) || m.AclID.ValueString() != "topic/t" {
		t.Fatalf("read back %v", m.AclEntries)
	}
	imported := aclModel{AclEntries: aclEntriesNull(), Labels: types.MapNull(types.StringType)}
	imported.fromAPI(&aclAPI{Name: "projects/p/clusters/c/acls/topic/t", AclEntries: api[:1]})
	want := types.SetValueMust(types.ObjectType{AttrTypes: aclEntryTypes}, []attr.Value{omitted})
	if !imported.AclEntries.SetValue.Equal(want) {
		t.Fatalf("imported %v", imported.AclEntries)
	}
}
