package fastpath

import (
	"slices"

	"github.com/getkin/kin-openapi/openapi3"
)

// Reaches reports whether a property marked readOnly (for a request) or
// writeOnly (for a response) can be reached from s, which is when
// kin-openapi's VisitAsRequest or VisitAsResponse changes a verdict.
func Reaches(s *openapi3.Schema, writeOnly bool) bool {
	seen := map[*openapi3.Schema]bool{}
	var walk func(s *openapi3.Schema) bool
	walkRef := func(ref *openapi3.SchemaRef) bool {
		return ref != nil && walk(ref.Value)
	}
	walkRefs := func(refs openapi3.SchemaRefs) bool {
		return slices.ContainsFunc(refs, walkRef)
	}
	walk = func(s *openapi3.Schema) bool {
		if s == nil || seen[s] {
			return false
		}
		seen[s] = true
		if (writeOnly && s.WriteOnly) || (!writeOnly && s.ReadOnly) {
			return true
		}
		for _, p := range s.Properties {
			if walkRef(p) {
				return true
			}
		}
		return walkRef(s.Items) || walkRef(s.AdditionalProperties.Schema) || walkRef(s.Not) ||
			walkRefs(s.AllOf) || walkRefs(s.AnyOf) || walkRefs(s.OneOf)
	}
	return walk(s)
}
