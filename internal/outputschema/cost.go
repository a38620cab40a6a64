package outputschema

import (
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// validationCost bounds how many subschemas one value of an output may be
// checked against, along any one path from the root of an output nested at
// most MaxOutputDepth levels, saturating a little above MaxValidationCost.
//
// A subschema costs one plus what the subschemas applying to the same value
// cost ($ref, allOf, anyOf, oneOf, not, if/then/else, schema dependencies)
// plus the costliest child value: a property, an item, a property name.
// Along one path only one child is taken at each level, which is why a
// recursive tree (left and right both $ref to the node) costs little while
// a recursion through anyOf with two branches doubles at every level.
//
// A $ref cycle that returns to the same value without descending is counted
// once: the validator stops such cycles itself.
func validationCost(root *jsonschema.Schema) int64 {
	c := coster{memo: map[*jsonschema.Schema][]int64{}}
	return c.cost(root, MaxOutputDepth)
}

const (
	costCap    = MaxValidationCost + 1
	inProgress = -1
)

type coster struct {
	memo map[*jsonschema.Schema][]int64
}

func sat(a, b int64) int64 {
	if a+b > costCap {
		return costCap
	}
	return a + b
}

func (c *coster) cost(s *jsonschema.Schema, d int) int64 {
	if s == nil {
		return 0
	}
	m := c.memo[s]
	if m == nil {
		m = make([]int64, MaxOutputDepth+1)
		c.memo[s] = m
	}
	switch v := m[d]; {
	case v == inProgress:
		return 1
	case v > 0:
		return v
	}
	m[d] = inProgress
	n := int64(1)
	for _, t := range inPlace(s) {
		if n = sat(n, c.cost(t, d)); n >= costCap {
			break
		}
	}
	if d > 0 && n < costCap {
		var most int64
		for _, g := range childGroups(s) {
			var sum int64
			for _, t := range g {
				sum = sat(sum, c.cost(t, d-1))
			}
			most = max(most, sum)
		}
		n = sat(n, most)
	}
	m[d] = n
	return n
}

// inPlace lists the subschemas that apply to the same value as s.
func inPlace(s *jsonschema.Schema) []*jsonschema.Schema {
	out := []*jsonschema.Schema{s.Ref, s.RecursiveRef, s.Not, s.If, s.Then, s.Else, s.ContentSchema}
	if s.DynamicRef != nil {
		out = append(out, s.DynamicRef.Ref)
	}
	out = append(out, s.AllOf...)
	out = append(out, s.AnyOf...)
	out = append(out, s.OneOf...)
	for _, d := range s.Dependencies {
		if t, ok := d.(*jsonschema.Schema); ok {
			out = append(out, t)
		}
	}
	for _, t := range s.DependentSchemas {
		out = append(out, t)
	}
	return out
}

// childGroups lists, for each kind of child value (a named property, any
// other property, an item at a given index, any other item, a property
// name), the subschemas of s that apply to it.
func childGroups(s *jsonschema.Schema) [][]*jsonschema.Schema {
	var groups [][]*jsonschema.Schema
	var patterns []*jsonschema.Schema
	for _, t := range s.PatternProperties {
		patterns = append(patterns, t)
	}
	for _, t := range s.Properties {
		groups = append(groups, append([]*jsonschema.Schema{t}, patterns...))
	}
	other := append([]*jsonschema.Schema{schemaOf(s.AdditionalProperties), s.UnevaluatedProperties}, patterns...)
	groups = append(groups, other, []*jsonschema.Schema{s.PropertyNames})

	contains := []*jsonschema.Schema{s.Contains, s.UnevaluatedItems}
	switch items := s.Items.(type) {
	case *jsonschema.Schema:
		groups = append(groups, append([]*jsonschema.Schema{items}, contains...))
	case []*jsonschema.Schema:
		for _, t := range items {
			groups = append(groups, append([]*jsonschema.Schema{t}, contains...))
		}
	}
	for _, t := range s.PrefixItems {
		groups = append(groups, append([]*jsonschema.Schema{t}, contains...))
	}
	groups = append(groups, append([]*jsonschema.Schema{schemaOf(s.AdditionalItems), s.Items2020}, contains...))
	return groups
}

// schemaOf returns v when it is a subschema (additionalProperties and
// additionalItems may be booleans).
func schemaOf(v any) *jsonschema.Schema {
	t, _ := v.(*jsonschema.Schema)
	return t
}
