package outputschema

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCompileAccepts(t *testing.T) {
	t.Parallel()
	for name, raw := range map[string]string{
		"minimal":             `{"type":"object"}`,
		"type list":           `{"type":["object"],"properties":{"a":{"type":"string"}}}`,
		"draft-07 with #":     `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object"}`,
		"draft-07 without #":  `{"$schema":"http://json-schema.org/draft-07/schema","type":"object"}`,
		"draft-07 https":      `{"$schema":"https://json-schema.org/draft-07/schema#","type":"object"}`,
		"local refs":          `{"type":"object","definitions":{"s":{"type":"string"}},"properties":{"a":{"$ref":"#/definitions/s"}}}`,
		"$defs ref":           `{"type":"object","$defs":{"s":{"type":"string"}},"properties":{"a":{"$ref":"#/$defs/s"}}}`,
		"$id root":            `{"$id":"https://example.com/s.json","type":"object","definitions":{"s":{"type":"string"}},"properties":{"a":{"$ref":"#/definitions/s"}}}`,
		"anchor ref":          `{"type":"object","definitions":{"s":{"$id":"#str","type":"string"}},"properties":{"a":{"$ref":"#str"}}}`,
		"recursive":           `{"type":"object","definitions":{"n":{"type":"object","properties":{"l":{"$ref":"#/definitions/n"},"r":{"$ref":"#/definitions/n"}}}},"properties":{"root":{"$ref":"#/definitions/n"}}}`,
		"nested $schema":      `{"type":"object","properties":{"a":{"$schema":"http://json-schema.org/draft-07/schema#","type":"string"}}}`,
		"whitespace":          "\n  {\"type\" : \"object\"}\n",
		"pattern":             `{"type":"object","properties":{"a":{"type":"string","pattern":"^[a-z]{2,8}$"}}}`,
		"big but fine number": `{"type":"object","properties":{"a":{"type":"number","maximum":1e300}}}`,
		"15 levels of properties": nest(15, `{"type":"object"}`, func(inner string) string {
			return `{"type":"object","properties":{"a":` + inner + `}}`
		}),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := Compile([]byte(raw)); err != nil {
				t.Fatalf("Compile: %v", err)
			}
		})
	}
}

func TestCompileRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		raw     string
		want    string // in the message
		pointer string
	}{
		{"empty", ``, "the schema is empty", ""},
		{"not JSON", `{"type":`, "not JSON", ""},
		{"trailing garbage", `{"type":"object"} x`, "not JSON", ""},
		{"array document", `[{"type":"object"}]`, "must be a JSON object, not an array", ""},
		{"string document", `"object"`, "must be a JSON object, not a string", ""},
		{"boolean schema", `true`, "must be a JSON object, not a boolean", ""},
		{"no type", `{"properties":{}}`, `the root must have type "object"; it has no type`, "/type"},
		{"type array", `{"type":"array","items":{"type":"string"}}`, `the root must have type "object"`, "/type"},
		{"type string", `{"type":"string"}`, `the root must have type "object"`, "/type"},
		{"nullable root", `{"type":["object","null"]}`, `the root must have type "object"`, "/type"},
		{"root $ref", `{"type":"object","$ref":"#/definitions/a","definitions":{"a":{"type":"array"}}}`, "the root must not be a $ref", "/$ref"},
		{"draft 2020-12", `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object"}`, `$schema "https://json-schema.org/draft/2020-12/schema" is not draft-07`, "/$schema"},
		{"draft-04", `{"$schema":"http://json-schema.org/draft-04/schema#","type":"object"}`, "is not draft-07", "/$schema"},
		{"custom meta-schema", `{"$schema":"https://example.com/meta","type":"object"}`, "is not draft-07", "/$schema"},
		{"$schema not a string", `{"$schema":7,"type":"object"}`, "$schema must be a string", "/$schema"},
		{"nested other draft", `{"type":"object","properties":{"a":{"$schema":"https://json-schema.org/draft/2019-09/schema"}}}`, "$schema at #/properties/a is not draft-07", "/properties/a/$schema"},
		{"remote ref", `{"type":"object","properties":{"a":{"$ref":"https://example.com/s.json"}}}`, `$ref "https://example.com/s.json" at #/properties/a is not local`, "/properties/a/$ref"},
		{"relative ref", `{"type":"object","properties":{"a":{"$ref":"other.json#/x"}}}`, "is not local", "/properties/a/$ref"},
		{"file ref", `{"type":"object","items":{"$ref":"file:///etc/passwd"}}`, "is not local", "/items/$ref"},
		{"meta-schema ref", `{"type":"object","properties":{"a":{"$ref":"http://json-schema.org/draft-07/schema#"}}}`, "is not local", "/properties/a/$ref"},
		{"remote ref behind a local one", `{"type":"object","properties":{"a":{"$ref":"#/enum/0"}},"enum":[{"$ref":"http://example.com/x"}]}`, `$ref to "http://example.com/x" is not allowed`, ""},
		{"ref to nothing", `{"type":"object","properties":{"a":{"$ref":"#/definitions/missing"}}}`, `$ref "#/definitions/missing" points to nothing`, ""},
		{"meta-schema violation", `{"type":"object","properties":{"a":{"type":"string","minLength":-1}}}`, "at '/properties/a/minLength': minimum: got -1, want 0", "/properties/a/minLength"},
		{"unknown type", `{"type":"object","properties":{"a":{"type":"strin"}}}`, "not a valid draft-07 schema: at '/properties/a/type'", "/properties/a/type"},
		{"required not a list", `{"type":"object","required":"a"}`, "at '/required'", "/required"},
		{"lookahead pattern", `{"type":"object","properties":{"a":{"pattern":"^(?=a)"}}}`, "is not valid regex", "/properties/a/pattern"},
		{"huge pattern", `{"type":"object","properties":{"a":{"pattern":"[a-z]{1000}[a-z]{1000}[a-z]{1000}"}}}`, "the pattern is too large", "/properties/a/pattern"},
		{"huge number", `{"type":"object","properties":{"a":{"maximum":1e999999}}}`, "the number at #/properties/a/maximum is out of range", "/properties/a/maximum"},
		{"long number", `{"type":"object","enum":[` + strings.Repeat("1", 200) + `]}`, "out of range", "/enum/0"},
		{"too large", `{"type":"object","description":"` + strings.Repeat("x", MaxSchemaBytes) + `"}`, fmt.Sprintf("more than the limit of %d", MaxSchemaBytes), ""},
		{"too deep", nest(MaxSchemaDepth, `{}`, func(inner string) string { return `{"type":"object","properties":{"a":` + inner + `}}` }), "levels deep, more than the limit of 32", ""},
		{"too many subschemas", manyProperties(MaxSubschemas), "more than 1000 subschemas", ""},
		{"too costly", costly(20), "too costly to validate against", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := Compile([]byte(tt.raw))
			if err == nil {
				t.Fatalf("Compile accepted it (cost %d)", s.cost)
			}
			if !errors.Is(err, ErrInvalidSchema) {
				t.Errorf("errors.Is(%v, ErrInvalidSchema) = false", err)
			}
			if !strings.HasPrefix(err.Error(), "outputSchema: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to start with %q and contain %q", err, "outputSchema: ", tt.want)
			}
			if strings.Contains(err.Error(), baseURL) {
				t.Errorf("error = %q names the internal URL", err)
			}
			var se *SchemaError
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *SchemaError", err)
			}
			if se.Pointer != tt.pointer {
				t.Errorf("Pointer = %q, want %q", se.Pointer, tt.pointer)
			}
		})
	}
}

// A chain of definitions each an anyOf of two $refs to the next validates
// in time 2^n; Compile must refuse it quickly, not hang.
func TestCompileRefusesExponentialValidation(t *testing.T) {
	t.Parallel()
	for _, n := range []int{15, 40, 200} {
		if _, err := Compile([]byte(costly(n))); err == nil || !strings.Contains(err.Error(), "too costly") {
			t.Errorf("chain of %d: err = %v, want too costly", n, err)
		}
	}
	// A shorter chain is fine, and an instance validates.
	s, err := Compile([]byte(costly(8)))
	if err != nil {
		t.Fatalf("chain of 8: %v", err)
	}
	if _, err := s.Validate(`{"x":"leaf"}`); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func nest(n int, leaf string, wrap func(string) string) string {
	s := leaf
	for range n {
		s = wrap(s)
	}
	return s
}

func manyProperties(n int) string {
	var sb strings.Builder
	sb.WriteString(`{"type":"object","properties":{`)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"p%d":{"type":"string"}`, i)
	}
	sb.WriteString(`}}`)
	return sb.String()
}

// costly is a schema whose validation doubles with every one of n links.
func costly(n int) string {
	var sb strings.Builder
	sb.WriteString(`{"type":"object","properties":{"x":{"$ref":"#/definitions/d0"}},"definitions":{`)
	for i := range n {
		fmt.Fprintf(&sb, `"d%d":{"anyOf":[{"$ref":"#/definitions/d%d"},{"$ref":"#/definitions/d%d"}]},`, i, i+1, i+1)
	}
	fmt.Fprintf(&sb, `"d%d":{"type":"string"}}}`, n)
	return sb.String()
}
