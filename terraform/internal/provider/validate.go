package provider

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

func pathRoot(name string) path.Path { return path.Root(name) }

// resourceIDPattern: ids of projects, tokens, clusters and users (RFC 1123 label).
var resourceIDPattern = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

var topicNamePattern = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// topicNameProblem is why a Kafka topic name is refused by the API, or "".
func topicNameProblem(name string) string {
	switch {
	case name == "." || name == "..":
		return `must not be "." or ".."`
	case strings.HasPrefix(name, "__"):
		return `must not start with "__" (reserved for Kafka's internal topics)`
	case !topicNamePattern.MatchString(name):
		return "must be 1-249 characters of a-z, A-Z, 0-9, '.', '_' and '-'"
	}
	return ""
}

// aclPatternKinds are the prefixes of an acl_id; the bare ones take no name.
var (
	aclNamedKinds = []string{"topic", "topicPrefixed", "consumerGroup", "consumerGroupPrefixed",
		"transactionalId", "transactionalIdPrefixed"}
	aclBareKinds = []string{"cluster", "allTopics", "allConsumerGroups", "allTransactionalIds"}
)

// aclIDProblem is why an acl_id is not one of the API's resource patterns, or "".
func aclIDProblem(id string) string {
	for _, k := range aclBareKinds {
		if id == k {
			return ""
		}
	}
	kind, name, ok := strings.Cut(id, "/")
	if ok && name != "" {
		for _, k := range aclNamedKinds {
			if kind == k {
				return ""
			}
		}
	}
	return fmt.Sprintf("must be one of %s, or {kind}/{name} with kind one of %s",
		strings.Join(aclBareKinds, ", "), strings.Join(aclNamedKinds, ", "))
}

// stringCheck is a string validator from a function returning the problem ("" = valid).
type stringCheck struct {
	what  string
	check func(string) string
}

func (v stringCheck) Description(context.Context) string         { return v.what }
func (v stringCheck) MarkdownDescription(context.Context) string { return v.what }

func (v stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if problem := v.check(req.ConfigValue.ValueString()); problem != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid "+v.what,
			fmt.Sprintf("%q %s", req.ConfigValue.ValueString(), problem))
	}
}

func resourceIDValidator(kind string) validator.String {
	return stringCheck{kind + " id", func(s string) string {
		if resourceIDPattern.MatchString(s) {
			return ""
		}
		return "must be 1-63 characters of a-z, 0-9 and '-', start with a letter and not end with '-'"
	}}
}

func topicNameValidator() validator.String { return stringCheck{"topic name", topicNameProblem} }
func aclIDValidator() validator.String     { return stringCheck{"acl_id", aclIDProblem} }

// configKeys refuses map keys outside an allow-list (the API's, see allowlist.go).
type configKeys struct {
	what    string
	allowed map[string]bool
}

func (v configKeys) Description(context.Context) string {
	return "keys must be " + v.what + " kplane allows"
}
func (v configKeys) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v configKeys) ValidateMap(_ context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	for key := range req.ConfigValue.Elements() {
		if !v.allowed[key] {
			resp.Diagnostics.AddAttributeError(req.Path.AtMapKey(key), "Unknown "+v.what,
				fmt.Sprintf("%q is not a %s kplane allows; allowed: %s", key, v.what, strings.Join(sortedKeys(v.allowed), ", ")))
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
