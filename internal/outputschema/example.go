package outputschema

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Example returns a small object that the schema accepts, for runtimes that
// make up their output (the builtin stand-in runtime). It is built on the
// first call; every call returns a fresh copy, numbers as json.Number like
// Validate's. The object always passes Validate once encoded: the generator
// checks every value it builds with the validator and keeps only those that
// pass.
//
// The object has the required properties and only those or, when none is
// required, every declared property the generator can fill. A value is the
// const, else the first enum value that fits, else one of a type the
// schemas allow: strings honour format (date-time, date, time, email, uri,
// uri-reference, uri-template, uuid, hostname, ipv4, ipv6, json-pointer,
// relative-json-pointer, regex, duration, semver), minLength, maxLength and
// pattern; numbers honour minimum, maximum, their exclusive forms and
// multipleOf (0 when allowed, else the allowed value nearest to it);
// integers are integers; arrays get minItems items (one when minItems is 0
// near the root), distinct under uniqueItems; objects nest. $ref, allOf
// and the dependencies of present properties are followed; anyOf, oneOf
// and if/then/else are tried one branch at a time (a few thousand tries at
// most); not is only checked.
//
// Patterns are satisfied by building a string from the regular
// expression's syntax (the first alternative, a readable rune of each
// class, repetitions grown until the length bounds hold). What defeats the
// generator: a pattern that must also hold a format or another pattern it
// was not built from; word boundaries; uniqueItems over items with little
// variety (arrays of booleans or of constant objects). Then, and when
// nothing satisfies the schema (a false subschema, minimum above maximum, a
// required property forbidden by additionalProperties: false …), Example
// returns an error, errors.Is(err, ErrNoExample), that says which part of
// the schema: "no example for outputSchema: at #/properties/code: cannot
// build a string with pattern …".
func (s *Schema) Example() (map[string]any, error) {
	s.exampleOnce.Do(func() { s.example, s.exampleErr = s.buildExample() })
	if s.exampleErr != nil {
		return nil, s.exampleErr
	}
	return deepCopy(s.example).(map[string]any), nil
}

func (s *Schema) buildExample() (map[string]any, error) {
	g := &gen{}
	v, err := g.value([]*jsonschema.Schema{s.sch}, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoExample, err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: the generator built %s, not an object", ErrNoExample, jsonKind(v))
	}
	// What Validate would check of the object once encoded; the
	// generator validated it already, this is the guarantee.
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("%w: encode the example: %w", ErrNoExample, err)
	}
	if _, err := s.Validate(string(b)); err != nil {
		return nil, fmt.Errorf("%w: the example does not validate: %w", ErrNoExample, err)
	}
	return obj, nil
}

// Limits of the example generator.
const (
	// maxExampleSteps bounds the values the generator tries, for schemas
	// whose anyOf/oneOf branches multiply.
	maxExampleSteps = 5000
	// optionalDepth is the depth from which optional content (properties
	// when none is required, the first item of an array without minItems)
	// is left out, so that recursive schemas end.
	optionalDepth = 3
	// maxExampleString is the longest string the generator makes: a longer
	// minLength is refused.
	maxExampleString = 4096
)

var errTooComplex = errors.New("the schema has too many combinations (anyOf, oneOf, if) to build an example for")

// genError says which subschema the generator could not satisfy.
type genError struct {
	at  string
	msg string
}

func (e *genError) Error() string {
	if e.at == "" || e.at == "#" {
		return "at the root: " + e.msg
	}
	return "at " + e.at + ": " + e.msg
}

func failAt(conj []*jsonschema.Schema, format string, args ...any) error {
	at := ""
	if len(conj) > 0 {
		at = location(conj[0].Location)
	}
	return &genError{at: at, msg: fmt.Sprintf(format, args...)}
}

// gen builds values. A value is built for a conjunction of subschemas,
// all of which it must satisfy; anyOf, oneOf and if/then/else are choices,
// tried one option at a time; every candidate is checked with the
// validator before it is kept.
type gen struct {
	steps int
}

type choice [][]*jsonschema.Schema

func (g *gen) value(all []*jsonschema.Schema, depth, seed int) (any, error) {
	if depth >= MaxOutputDepth {
		return nil, failAt(all, "the example would nest more than %d levels: a required property or item always leads back here", MaxOutputDepth)
	}
	conj, choices, err := expand(nil, all)
	if err != nil {
		return nil, err
	}
	return g.solve(all, conj, choices, depth, seed)
}

// expand adds the schemas add to conj, following $ref and allOf, and
// returns the choices they bring.
func expand(conj, add []*jsonschema.Schema) ([]*jsonschema.Schema, []choice, error) {
	out := slices.Clone(conj)
	var choices []choice
	stack := slices.Clone(add)
	slices.Reverse(stack)
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if s == nil || slices.Contains(out, s) {
			continue
		}
		if s.Bool != nil {
			if !*s.Bool {
				return nil, nil, failAt([]*jsonschema.Schema{s}, "the schema is false: no value satisfies it")
			}
			continue
		}
		out = append(out, s)
		for i := len(s.AllOf) - 1; i >= 0; i-- {
			stack = append(stack, s.AllOf[i])
		}
		if s.Ref != nil {
			stack = append(stack, s.Ref)
		}
		for _, branches := range [][]*jsonschema.Schema{s.AnyOf, s.OneOf} {
			if len(branches) > 0 {
				var c choice
				for _, b := range branches {
					c = append(c, []*jsonschema.Schema{b})
				}
				choices = append(choices, c)
			}
		}
		if s.If != nil && (s.Then != nil || s.Else != nil) {
			choices = append(choices, choice{nonNil(s.If, s.Then), nonNil(s.Else)})
		}
	}
	return out, choices, nil
}

func nonNil(ss ...*jsonschema.Schema) []*jsonschema.Schema {
	var out []*jsonschema.Schema
	for _, s := range ss {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

func (g *gen) solve(all, conj []*jsonschema.Schema, choices []choice, depth, seed int) (any, error) {
	if len(choices) == 0 {
		return g.leaf(all, conj, depth, seed)
	}
	var firstErr error
	for _, option := range choices[0] {
		c2, more, err := expand(conj, option)
		if err == nil {
			var v any
			v, err = g.solve(all, c2, append(slices.Clone(choices[1:]), more...), depth, seed)
			if err == nil {
				return v, nil
			}
		}
		if errors.Is(err, errTooComplex) {
			return nil, err
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

func (g *gen) step() error {
	g.steps++
	if g.steps > maxExampleSteps {
		return errTooComplex
	}
	return nil
}

// leaf builds a value for a conjunction without choices left, and keeps it
// when it satisfies every schema of all.
func (g *gen) leaf(all, conj []*jsonschema.Schema, depth, seed int) (any, error) {
	if err := g.step(); err != nil {
		return nil, err
	}
	if cands, ok := fixedValues(conj); ok {
		for i := range cands {
			v := cands[(i+seed)%len(cands)]
			if checkAll(v, all) == nil {
				return deepCopy(v), nil
			}
		}
		return nil, failAt(conj, "no value of its const or enum satisfies the rest of the schema")
	}
	var firstErr error
	for _, t := range typeOrder(conj) {
		variants := 1
		if t != "object" && t != "array" {
			variants = 3 // a string or number to tell oneOf branches apart
		}
		for variant := range variants {
			if err := g.step(); err != nil {
				return nil, err
			}
			v, err := g.build(t, conj, depth, seed+variant)
			if err == nil {
				if err = checkAll(v, all); err == nil {
					return v, nil
				}
			}
			if errors.Is(err, errTooComplex) {
				return nil, err
			}
			if firstErr == nil {
				firstErr = err
			}
			var ge *genError
			if errors.As(err, &ge) {
				break // the type cannot be built; variants will not help
			}
		}
	}
	if firstErr == nil {
		firstErr = failAt(conj, "no type satisfies every subschema")
	}
	return nil, firstErr
}

// checkAll validates v against every schema of ss.
func checkAll(v any, ss []*jsonschema.Schema) error {
	for _, s := range ss {
		if err := s.Validate(v); err != nil {
			var ve *jsonschema.ValidationError
			if errors.As(err, &ve) {
				msg, _ := describe(ve)
				return &checkError{at: location(s.Location), msg: msg}
			}
			return err
		}
	}
	return nil
}

// checkError is a candidate the validator refused.
type checkError struct {
	at  string
	msg string
}

func (e *checkError) Error() string {
	at := e.at
	if at == "" || at == "#" {
		at = "the root"
	}
	return fmt.Sprintf("at %s: the value built does not validate: %s", at, strings.TrimPrefix(e.msg, "at the root: "))
}

// fixedValues returns the values const and enum allow, when they say.
func fixedValues(conj []*jsonschema.Schema) ([]any, bool) {
	for _, s := range conj {
		if s.Const != nil {
			return []any{*s.Const}, true
		}
	}
	for _, s := range conj {
		if s.Enum != nil {
			return s.Enum.Values, true
		}
	}
	return nil, false
}

var typeNames = []string{"object", "array", "string", "integer", "number", "boolean", "null"}

// typeOrder lists the types every schema of conj allows, those its
// keywords hint at first (properties: object, items: array …), then
// string, integer, number, boolean, object, array, null; "number" before
// "integer" when a schema names number but not integer.
func typeOrder(conj []*jsonschema.Schema) []string {
	allowed := map[string]bool{}
	for _, t := range typeNames {
		allowed[t] = true
	}
	namesNumber := false
	for _, s := range conj {
		if s.Types == nil || s.Types.IsEmpty() {
			continue
		}
		names := s.Types.ToStrings()
		if slices.Contains(names, "number") && !slices.Contains(names, "integer") {
			namesNumber = true
		}
		for _, t := range typeNames {
			ok := slices.Contains(names, t) || (t == "integer" && slices.Contains(names, "number"))
			if !ok {
				allowed[t] = false
			}
		}
	}
	hints := map[string]bool{}
	for _, s := range conj {
		if s.Properties != nil || s.Required != nil || s.PatternProperties != nil || s.AdditionalProperties != nil ||
			s.MinProperties != nil || s.MaxProperties != nil || s.PropertyNames != nil || s.Dependencies != nil {
			hints["object"] = true
		}
		if s.Items != nil || s.AdditionalItems != nil || s.MinItems != nil || s.MaxItems != nil || s.UniqueItems || s.Contains != nil {
			hints["array"] = true
		}
		if s.MinLength != nil || s.MaxLength != nil || s.Pattern != nil || s.Format != nil {
			hints["string"] = true
		}
		if s.Minimum != nil || s.Maximum != nil || s.ExclusiveMinimum != nil || s.ExclusiveMaximum != nil || s.MultipleOf != nil {
			hints["integer"], hints["number"] = true, true
		}
	}
	order := []string{"object", "array", "string", "integer", "number"}
	if namesNumber {
		order = []string{"object", "array", "string", "number", "integer"}
	}
	var out []string
	for _, t := range order {
		if hints[t] && allowed[t] {
			out = append(out, t)
		}
	}
	rest := []string{"string", "integer", "number", "boolean", "object", "array", "null"}
	if namesNumber {
		rest = []string{"string", "number", "integer", "boolean", "object", "array", "null"}
	}
	for _, t := range rest {
		if allowed[t] && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func (g *gen) build(t string, conj []*jsonschema.Schema, depth, seed int) (any, error) {
	switch t {
	case "null":
		return nil, nil
	case "boolean":
		return seed%2 == 0, nil
	case "string":
		return buildString(conj, seed)
	case "integer", "number":
		return buildNumber(conj, t == "integer", seed)
	case "array":
		return g.array(conj, depth, seed)
	default:
		return g.object(conj, depth, seed)
	}
}

// object builds an object with the required properties, or, when none are
// and near the root, the declared ones.
func (g *gen) object(conj []*jsonschema.Schema, depth, seed int) (any, error) {
	var required []string
	minProps, maxProps := 0, -1
	for _, s := range conj {
		for _, k := range s.Required {
			if !slices.Contains(required, k) {
				required = append(required, k)
			}
		}
		if s.MinProperties != nil {
			minProps = max(minProps, *s.MinProperties)
		}
		if s.MaxProperties != nil && (maxProps < 0 || *s.MaxProperties < maxProps) {
			maxProps = *s.MaxProperties
		}
	}
	// Property dependencies: a present property may require others, or
	// bring a schema the whole object must satisfy.
	var depSchemas []*jsonschema.Schema
	for i := 0; i < len(required); i++ {
		for _, s := range conj {
			switch d := s.Dependencies[required[i]].(type) {
			case []string:
				for _, k := range d {
					if !slices.Contains(required, k) {
						required = append(required, k)
					}
				}
			case *jsonschema.Schema:
				switch {
				case d.Bool != nil && !*d.Bool:
					return nil, failAt([]*jsonschema.Schema{d}, "property %q is required but its dependency schema is false", required[i])
				case d.Bool == nil && !slices.Contains(conj, d):
					depSchemas = append(depSchemas, d)
				}
			}
		}
	}
	if len(depSchemas) > 0 {
		// Start again with the dependencies part of the conjunction.
		return g.value(append(slices.Clone(conj), depSchemas...), depth, seed)
	}
	if maxProps >= 0 && len(required) > maxProps {
		return nil, failAt(conj, "%d properties are required but maxProperties is %d", len(required), maxProps)
	}

	var optional []string
	if len(required) == 0 && depth < optionalDepth {
		for _, s := range conj {
			for k := range s.Properties {
				if !slices.Contains(optional, k) {
					optional = append(optional, k)
				}
			}
		}
		sort.Strings(optional)
	}

	attempt := func(withOptional bool) (map[string]any, error) {
		obj := map[string]any{}
		for _, k := range required {
			v, err := g.property(conj, k, depth, seed)
			if err != nil {
				return nil, err
			}
			obj[k] = v
		}
		if withOptional {
			for _, k := range optional {
				if maxProps >= 0 && len(obj) >= maxProps {
					break
				}
				if v, err := g.property(conj, k, depth, seed); err == nil {
					obj[k] = v
				} else if errors.Is(err, errTooComplex) {
					return nil, err
				}
			}
		}
		if err := g.fillProperties(conj, obj, minProps, depth, seed); err != nil {
			return nil, err
		}
		if err := checkAll(obj, conj); err != nil {
			return nil, err
		}
		return obj, nil
	}
	if len(optional) > 0 {
		if obj, err := attempt(true); err == nil {
			return obj, nil
		} else if errors.Is(err, errTooComplex) {
			return nil, err
		}
	}
	return attempt(false)
}

// property builds the value of property k of an object of conj.
func (g *gen) property(conj []*jsonschema.Schema, k string, depth, seed int) (any, error) {
	ss, err := propertySchemas(conj, k)
	if err != nil {
		return nil, err
	}
	return g.value(ss, depth+1, seed)
}

// propertySchemas returns the subschemas property k of an object of conj
// must satisfy, or an error when k is not allowed.
func propertySchemas(conj []*jsonschema.Schema, k string) ([]*jsonschema.Schema, error) {
	var out []*jsonschema.Schema
	for _, s := range conj {
		if s.PropertyNames != nil && s.PropertyNames.Validate(k) != nil {
			return nil, failAt([]*jsonschema.Schema{s}, "property %q is not allowed by propertyNames", k)
		}
		matched := false
		if p, ok := s.Properties[k]; ok {
			out = append(out, p)
			matched = true
		}
		for re, p := range s.PatternProperties {
			if re.MatchString(k) {
				out = append(out, p)
				matched = true
			}
		}
		if !matched {
			switch ap := s.AdditionalProperties.(type) {
			case bool:
				if !ap {
					return nil, failAt([]*jsonschema.Schema{s}, "property %q is not allowed by additionalProperties: false", k)
				}
			case *jsonschema.Schema:
				out = append(out, ap)
			}
		}
	}
	return out, nil
}

// fillProperties adds properties to obj until it has minProps: declared
// ones first, then names made from patternProperties, then "property1",
// "property2" ….
func (g *gen) fillProperties(conj []*jsonschema.Schema, obj map[string]any, minProps, depth, seed int) error {
	if len(obj) >= minProps {
		return nil
	}
	var names []string
	for _, s := range conj {
		var declared []string
		for k := range s.Properties {
			declared = append(declared, k)
		}
		sort.Strings(declared)
		names = append(names, declared...)
	}
	for _, s := range conj {
		for re := range s.PatternProperties {
			for i := range 3 {
				names = append(names, patternStrings(re.String(), i, 4)...)
			}
		}
	}
	for _, s := range conj {
		if s.PropertyNames == nil {
			continue
		}
		for i := range minProps + 2 {
			if v, err := g.value([]*jsonschema.Schema{s.PropertyNames}, depth+1, i); err == nil {
				if name, ok := v.(string); ok {
					names = append(names, name)
				}
			} else if errors.Is(err, errTooComplex) {
				return err
			}
		}
	}
	for i := 1; i <= minProps+len(obj); i++ {
		names = append(names, fmt.Sprintf("property%d", i))
	}
	for _, k := range names {
		if len(obj) >= minProps {
			return nil
		}
		if _, ok := obj[k]; ok {
			continue
		}
		v, err := g.property(conj, k, depth, seed)
		if errors.Is(err, errTooComplex) {
			return err
		}
		if err == nil {
			obj[k] = v
		}
	}
	if len(obj) < minProps {
		return failAt(conj, "cannot find %d properties that satisfy minProperties", minProps)
	}
	return nil
}

// array builds an array of minItems items, or of one near the root.
func (g *gen) array(conj []*jsonschema.Schema, depth, seed int) (any, error) {
	minItems, maxItems := 0, -1
	unique := false
	tuple := 0
	var contains []*jsonschema.Schema
	for _, s := range conj {
		if s.MinItems != nil {
			minItems = max(minItems, *s.MinItems)
		}
		if s.MaxItems != nil && (maxItems < 0 || *s.MaxItems < maxItems) {
			maxItems = *s.MaxItems
		}
		unique = unique || s.UniqueItems
		if s.Contains != nil {
			contains = append(contains, s.Contains)
		}
		if items, ok := s.Items.([]*jsonschema.Schema); ok {
			tuple = max(tuple, len(items))
			if ai, ok := s.AdditionalItems.(bool); ok && !ai && (maxItems < 0 || len(items) < maxItems) {
				maxItems = len(items)
			}
		}
	}
	need := minItems
	if len(contains) > 0 {
		need = max(need, 1)
	}
	if maxItems >= 0 && need > maxItems {
		return nil, failAt(conj, "needs at least %d items but at most %d are allowed", need, maxItems)
	}
	if need > maxExampleString {
		return nil, failAt(conj, "minItems %d is too many for an example", need)
	}
	want := need
	if depth < optionalDepth {
		want = max(want, 1, tuple)
		if maxItems >= 0 {
			want = min(want, maxItems)
		}
	}
	attempt := func(n int) ([]any, error) {
		arr := make([]any, 0, n)
		for i := range n {
			ss := itemSchemas(conj, i)
			if i == 0 {
				ss = append(ss, contains...)
			}
			itemSeed := seed
			if unique {
				itemSeed = seed + i
			}
			v, err := g.value(ss, depth+1, itemSeed)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		if err := checkAll(arr, conj); err != nil {
			return nil, err
		}
		return arr, nil
	}
	if want > need {
		if arr, err := attempt(want); err == nil {
			return arr, nil
		} else if errors.Is(err, errTooComplex) {
			return nil, err
		}
	}
	return attempt(need)
}

// itemSchemas returns the subschemas item i of an array of conj must
// satisfy.
func itemSchemas(conj []*jsonschema.Schema, i int) []*jsonschema.Schema {
	var out []*jsonschema.Schema
	for _, s := range conj {
		switch items := s.Items.(type) {
		case *jsonschema.Schema:
			out = append(out, items)
		case []*jsonschema.Schema:
			if i < len(items) {
				out = append(out, items[i])
			} else if ai, ok := s.AdditionalItems.(*jsonschema.Schema); ok {
				out = append(out, ai)
			}
		}
	}
	return out
}

// deepCopy copies a decoded JSON value.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}
