package outputschema

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestExampleCorpus is the property test of the generator: for every
// schema of testdata/corpus, Example returns an object that Validate
// accepts once encoded, with the required properties only.
func TestExampleCorpus(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 30 {
		t.Fatalf("the corpus has %d schemas, want at least 30", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			s := mustCompile(t, string(raw))
			ex, err := s.Example()
			if err != nil {
				t.Fatalf("Example: %v", err)
			}
			b, err := json.Marshal(ex)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Validate(string(b)); err != nil {
				t.Fatalf("Validate(%s): %v", b, err)
			}
			// The same object again, and a copy of it.
			again, _ := s.Example()
			if b2, _ := json.Marshal(again); string(b2) != string(b) {
				t.Errorf("second Example = %s, want %s", b2, b)
			}
			var root struct {
				Required     []string        `json:"required"`
				Dependencies json.RawMessage `json:"dependencies"`
				AllOf        json.RawMessage `json:"allOf"`
				If           json.RawMessage `json:"if"`
			}
			if err := json.Unmarshal(raw, &root); err != nil {
				t.Fatal(err)
			}
			if len(root.Required) > 0 && root.Dependencies == nil && root.AllOf == nil && root.If == nil {
				var keys []string
				for k := range ex {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				want := slices.Clone(root.Required)
				sort.Strings(want)
				if !slices.Equal(keys, want) {
					t.Errorf("example has %v, want the required properties %v only", keys, want)
				}
			}
		})
	}
}

func TestExampleValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, schema, want string
	}{
		{"required only", `{"type":"object","required":["a"],"properties":{"a":{"type":"string"},"b":{"type":"string"}}}`, `{"a":"example"}`},
		{"all when none required", `{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"boolean"}}}`, `{"a":0,"b":true}`},
		{"first enum value", `{"type":"object","required":["e"],"properties":{"e":{"enum":["x","y"]}}}`, `{"e":"x"}`},
		{"const", `{"type":"object","required":["c"],"properties":{"c":{"const":[1,{"a":null}]}}}`, `{"c":[1,{"a":null}]}`},
		{"minimum", `{"type":"object","required":["n"],"properties":{"n":{"type":"integer","minimum":5}}}`, `{"n":5}`},
		{"exclusive maximum", `{"type":"object","required":["n"],"properties":{"n":{"type":"integer","exclusiveMaximum":-3}}}`, `{"n":-4}`},
		{"multipleOf above minimum", `{"type":"object","required":["n"],"properties":{"n":{"type":"number","multipleOf":0.3,"minimum":1}}}`, `{"n":1.2}`},
		{"date-time", `{"type":"object","required":["t"],"properties":{"t":{"type":"string","format":"date-time"}}}`, `{"t":"2024-01-01T00:00:00Z"}`},
		{"pattern", `{"type":"object","required":["p"],"properties":{"p":{"type":"string","pattern":"^[A-Z]{2}[0-9]{3}$"}}}`, `{"p":"AA000"}`},
		{"minItems", `{"type":"object","required":["l"],"properties":{"l":{"type":"array","minItems":2,"items":{"type":"integer","minimum":1}}}}`, `{"l":[1,1]}`},
		{"unique items", `{"type":"object","required":["l"],"properties":{"l":{"type":"array","minItems":3,"uniqueItems":true,"items":{"type":"integer"}}}}`, `{"l":[0,1,2]}`},
		{"ref", `{"type":"object","required":["a"],"definitions":{"d":{"type":"string","maxLength":2}},"properties":{"a":{"$ref":"#/definitions/d"}}}`, `{"a":"ex"}`},
		{"huge integer", `{"type":"object","required":["n"],"properties":{"n":{"type":"integer","minimum":1e300}}}`, `{"n":1e300}`},
		{"tiny number", `{"type":"object","required":["n"],"properties":{"n":{"type":"number","minimum":1.5e-300,"maximum":1e-299}}}`, `{"n":15e-301}`},
		{"negative decimal", `{"type":"object","required":["n"],"properties":{"n":{"type":"number","maximum":-2.75}}}`, `{"n":-2.75}`},
		{"nullable", `{"type":"object","required":["a"],"properties":{"a":{"type":["null","string"]}}}`, `{"a":"example"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ex, err := mustCompile(t, tt.schema).Example()
			if err != nil {
				t.Fatalf("Example: %v", err)
			}
			if b, _ := json.Marshal(ex); string(b) != tt.want {
				t.Errorf("Example = %s, want %s", b, tt.want)
			}
		})
	}
}

// Schemas nothing satisfies, or the generator cannot: an error that names
// the part.
func TestExampleFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, schema string
		want         []string
	}{
		{"false property", `{"type":"object","required":["a"],"properties":{"a":false}}`, []string{"at #/properties/a", "false"}},
		{"min above max", `{"type":"object","required":["n"],"properties":{"n":{"type":"integer","minimum":5,"maximum":4}}}`, []string{"at #/properties/n", "no integer satisfies >= 5 and <= 4"}},
		{"no multiple in range", `{"type":"object","required":["n"],"properties":{"n":{"type":"integer","multipleOf":10,"minimum":1,"maximum":9}}}`, []string{"at #/properties/n", "multiple of 10"}},
		{"forbidden required", `{"type":"object","required":["a"],"additionalProperties":false}`, []string{"at the root", `property "a" is not allowed by additionalProperties: false`}},
		{"minLength above maxLength", `{"type":"object","required":["s"],"properties":{"s":{"type":"string","minLength":5,"maxLength":2}}}`, []string{"at #/properties/s", "minLength 5 is more than maxLength 2"}},
		{"pattern and length", `{"type":"object","required":["s"],"properties":{"s":{"type":"string","pattern":"^a$","minLength":3}}}`, []string{"at #/properties/s", `cannot build a string with pattern "^a$" and length 3 to any`}},
		{"contradicting types", `{"type":"object","required":["a"],"properties":{"a":{"allOf":[{"type":"string"},{"type":"integer"}]}}}`, []string{"at #/properties/a", "no type satisfies"}},
		{"enum against type", `{"type":"object","required":["a"],"properties":{"a":{"type":"integer","enum":["x","y"]}}}`, []string{"at #/properties/a", "no value of its const or enum"}},
		{"endless recursion", `{"type":"object","required":["n"],"definitions":{"n":{"type":"object","required":["next"],"properties":{"next":{"$ref":"#/definitions/n"}}}},"properties":{"n":{"$ref":"#/definitions/n"}}}`, []string{"nest more than 64 levels"}},
		{"too many items", `{"type":"object","required":["l"],"properties":{"l":{"type":"array","minItems":3,"maxItems":2}}}`, []string{"at #/properties/l", "at least 3 items but at most 2"}},
		{"not everything", `{"type":"object","required":["a"],"properties":{"a":{"not":{}}}}`, []string{"at #/properties/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ex, err := mustCompile(t, tt.schema).Example()
			if err == nil {
				t.Fatalf("Example = %v, want an error", ex)
			}
			if !errors.Is(err, ErrNoExample) {
				t.Errorf("errors.Is(%v, ErrNoExample) = false", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

// The generator's work is bounded when branches multiply.
func TestExampleBounded(t *testing.T) {
	t.Parallel()
	// Ten properties, each an anyOf whose every branch fails but the last:
	// trying combinations one at a time would take 5^10 tries.
	var props []string
	var req []string
	for i := range 10 {
		name := string(rune('a' + i))
		req = append(req, `"`+name+`"`)
		props = append(props, `"`+name+`":{"anyOf":[false,false,false,false,{"type":"integer"}]}`)
	}
	s := mustCompile(t, `{"type":"object","required":[`+strings.Join(req, ",")+`],"properties":{`+strings.Join(props, ",")+`}}`)
	ex, err := s.Example()
	if err != nil {
		t.Fatalf("Example: %v", err)
	}
	if len(ex) != 10 {
		t.Errorf("Example = %v", ex)
	}
	// Fourteen anyOfs of two branches at the root, and a property nothing
	// satisfies: 2^14 combinations would fail one after the other.
	var anyOfs []string
	for range 14 {
		anyOfs = append(anyOfs, `{"anyOf":[{"minProperties":0},{"maxProperties":100}]}`)
	}
	s = mustCompile(t, `{"type":"object","required":["a"],"properties":{"a":{"type":"integer","not":{"type":"integer"}}},"allOf":[`+strings.Join(anyOfs, ",")+`]}`)
	if _, err := s.Example(); !errors.Is(err, ErrNoExample) || !strings.Contains(err.Error(), "too many combinations") {
		t.Errorf("Example = %v, want too many combinations", err)
	}
}
