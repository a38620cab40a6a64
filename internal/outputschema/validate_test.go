package outputschema

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// orderSchema is the schema of the Validate tests.
const orderSchema = `{
  "type": "object",
  "required": ["id", "customer", "items"],
  "additionalProperties": false,
  "properties": {
    "id": {"type": "string", "format": "uuid"},
    "customer": {"type": "string", "minLength": 2},
    "items": {
      "type": "array", "minItems": 1,
      "items": {
        "type": "object", "required": ["sku", "price"],
        "properties": {
          "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"},
          "price": {"type": "number", "minimum": 0},
          "quantity": {"type": "integer", "minimum": 1}
        }
      }
    },
    "status": {"enum": ["new", "paid", "shipped"]}
  }
}`

func mustCompile(t testing.TB, raw string) *Schema {
	t.Helper()
	s, err := Compile([]byte(raw))
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return s
}

const validOrder = `{"id":"0b7e6a3c-3c4e-4d1a-9f5e-2b1c8f7a6d5e","customer":"Ada","items":[{"sku":"ABC-1234","price":9.99,"quantity":2}],"status":"paid"}`

func TestValidateAccepts(t *testing.T) {
	t.Parallel()
	s := mustCompile(t, orderSchema)
	for name, output := range map[string]string{
		"plain":                 validOrder,
		"white space":           "\n\n  " + validOrder + "\n",
		"fenced":                "```json\n" + validOrder + "\n```",
		"fenced, crlf":          "```json\r\n" + validOrder + "\r\n```\r\n",
		"fenced, white space":   "  \n```json  \n" + validOrder + "\n```  \n",
		"fenced, pretty":        "```json\n{\n  \"id\": \"0b7e6a3c-3c4e-4d1a-9f5e-2b1c8f7a6d5e\",\n  \"customer\": \"Ada\",\n  \"items\": [{\"sku\": \"ABC-1234\", \"price\": 0}]\n}\n```",
		"big exact number":      `{"id":"0b7e6a3c-3c4e-4d1a-9f5e-2b1c8f7a6d5e","customer":"Ada","items":[{"sku":"ABC-1234","price":12345678901234567890.5}]}`,
		"number with exponent":  `{"id":"0b7e6a3c-3c4e-4d1a-9f5e-2b1c8f7a6d5e","customer":"Ada","items":[{"sku":"ABC-1234","price":1e300}]}`,
		"quantity 1.0 integral": `{"id":"0b7e6a3c-3c4e-4d1a-9f5e-2b1c8f7a6d5e","customer":"Ada","items":[{"sku":"ABC-1234","price":1,"quantity":1.0}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			obj, err := s.Validate(output)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if obj["customer"] != "Ada" {
				t.Errorf("customer = %v", obj["customer"])
			}
		})
	}
	// Numbers stay exact.
	obj, err := s.Validate(`{"id":"0b7e6a3c-3c4e-4d1a-9f5e-2b1c8f7a6d5e","customer":"Ada","items":[{"sku":"ABC-1234","price":12345678901234567890.5}]}`)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(obj)
	if !strings.Contains(string(b), `"price":12345678901234567890.5`) {
		t.Errorf("re-encoded = %s, want the exact price", b)
	}
}

func TestValidateRefuses(t *testing.T) {
	t.Parallel()
	s := mustCompile(t, orderSchema)
	deep := strings.Repeat(`{"a":`, MaxOutputDepth+1) + "1" + strings.Repeat("}", MaxOutputDepth+1)
	tests := []struct {
		name, output string
		want         []string
	}{
		{"empty", "  \n", []string{"output is empty; want a JSON object"}},
		{"not JSON", "Sure! Here it is.", []string{"output is not JSON: invalid character 'S'"}},
		{"text before JSON", "Here: " + validOrder, []string{"output is not JSON"}},
		{"text after JSON", validOrder + "\nHope this helps", []string{"output is not JSON: more text after the JSON value"}},
		{"two objects", validOrder + validOrder, []string{"output is not JSON: more text after the JSON value"}},
		{"truncated", validOrder[:40], []string{"output is not JSON: unexpected EOF"}},
		{"array", `[` + validOrder + `]`, []string{"output is an array; want a JSON object"}},
		{"string", `"hello"`, []string{"output is a string; want a JSON object"}},
		{"null", `null`, []string{"output is null; want a JSON object"}},
		{"fence without json", "```\n" + validOrder + "\n```", []string{"output is not JSON"}},
		{"fence js", "```js\n" + validOrder + "\n```", []string{"output is not JSON"}},
		{"fence json5", "```json5\n" + validOrder + "\n```", []string{"output is not JSON"}},
		{"fence on one line", "```json " + validOrder + "```", []string{"output is not JSON"}},
		{"text around fence", "Here:\n```json\n" + validOrder + "\n```", []string{"output is not JSON"}},
		{"two fences", "```json\n" + validOrder + "\n```\n```json\n" + validOrder + "\n```", []string{"output is not JSON"}},
		{"unclosed fence", "```json\n" + validOrder, []string{"output is not JSON"}},
		{"missing required", `{"id":"0b7e6a3c-3c4e-4d1a-9f5e-2b1c8f7a6d5e","customer":"Ada"}`, []string{"output does not match outputSchema: at the root: required: missing property 'items'"}},
		{"wrong type", `{"id":"0b7e6a3c-3c4e-4d1a-9f5e-2b1c8f7a6d5e","customer":7,"items":[{"sku":"ABC-1234","price":1}]}`, []string{"at '/customer': type: got number, want string"}},
		{"nested minimum", `{"id":"0b7e6a3c-3c4e-4d1a-9f5e-2b1c8f7a6d5e","customer":"Ada","items":[{"sku":"ABC-1234","price":-1}]}`, []string{"at '/items/0/price': minimum: got -1, want 0"}},
		{"pattern", `{"id":"0b7e6a3c-3c4e-4d1a-9f5e-2b1c8f7a6d5e","customer":"Ada","items":[{"sku":"abc","price":1}]}`, []string{"at '/items/0/sku': pattern: 'abc' does not match pattern"}},
		{"format", `{"id":"not-a-uuid","customer":"Ada","items":[{"sku":"ABC-1234","price":1}]}`, []string{"at '/id': format: 'not-a-uuid' is not valid uuid"}},
		{"enum", `{"id":"0b7e6a3c-3c4e-4d1a-9f5e-2b1c8f7a6d5e","customer":"Ada","items":[{"sku":"ABC-1234","price":1}],"status":"lost"}`, []string{"at '/status': enum: value must be one of 'new', 'paid', 'shipped'"}},
		{"integer", `{"id":"0b7e6a3c-3c4e-4d1a-9f5e-2b1c8f7a6d5e","customer":"Ada","items":[{"sku":"ABC-1234","price":1,"quantity":1.5}]}`, []string{"at '/items/0/quantity': type: got number, want integer"}},
		{"additional property", `{"id":"0b7e6a3c-3c4e-4d1a-9f5e-2b1c8f7a6d5e","customer":"Ada","items":[{"sku":"ABC-1234","price":1}],"note":"x"}`, []string{"at the root: additionalProperties: additional properties 'note' not allowed"}},
		{"several", `{"id":"x","customer":"A","items":[]}`, []string{"at '/id': format", "at '/customer': minLength: got 1, want 2", "at '/items': minItems: got 0, want 1"}},
		{"fenced but invalid", "```json\n{\"id\":\"x\"}\n```", []string{"output does not match outputSchema: at the root: required: missing properties"}},
		{"too deep", deep, []string{"output nests 65 levels deep, more than the limit of 64"}},
		{"too large", `{"customer":"` + strings.Repeat("x", MaxOutputBytes) + `"}`, []string{"more than the limit of 1048576"}},
		{"huge exponent", `{"customer":"Ada","n":1e999999}`, []string{"output has a number out of range at '/n'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			obj, err := s.Validate(tt.output)
			if err == nil {
				t.Fatalf("Validate accepted it: %v", obj)
			}
			if obj != nil {
				t.Errorf("object = %v, want nil with an error", obj)
			}
			if !errors.Is(err, ErrInvalidOutput) {
				t.Errorf("errors.Is(%v, ErrInvalidOutput) = false", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error = %q, want it to contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), baseURL) {
				t.Errorf("error = %q, want one line without the internal URL", err)
			}
		})
	}
}

// Many failures make one short message, not a wall of text.
func TestValidateMessageIsShort(t *testing.T) {
	t.Parallel()
	var props, out []string
	for i := range 200 {
		props = append(props, fmt.Sprintf(`"p%d":{"type":"integer"}`, i))
		out = append(out, fmt.Sprintf(`"p%d":"not an integer, and a long enough value to fill the message"`, i))
	}
	s := mustCompile(t, `{"type":"object","properties":{`+strings.Join(props, ",")+`}}`)
	_, err := s.Validate(`{` + strings.Join(out, ",") + `}`)
	if err == nil {
		t.Fatal("Validate accepted it")
	}
	if n := len(err.Error()); n > MaxMessageBytes+100 {
		t.Errorf("message is %d bytes: %q", n, err)
	}
	if !strings.Contains(err.Error(), "more") {
		t.Errorf("message %q does not say how many more failed", err)
	}
}

func TestValidateAnyOfAndOneOf(t *testing.T) {
	t.Parallel()
	s := mustCompile(t, `{"type":"object","properties":{
		"a":{"anyOf":[{"type":"string"},{"type":"integer"}]},
		"o":{"oneOf":[{"type":"integer"},{"minimum":0}]},
		"n":{"not":{"type":"string"}}}}`)
	for output, want := range map[string]string{
		`{"a":true}`: "at '/a': anyOf: matches none of the branches; at '/a': type: got boolean, want string",
		`{"o":3}`:    "at '/o': oneOf: matches branches 0 and 1, want exactly one",
		`{"n":"x"}`:  "at '/n': not: matches the schema it must not",
	} {
		_, err := s.Validate(output)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate(%s) = %v, want %q", output, err, want)
		}
	}
}

// A $ref cycle that never descends is reported, not looped on.
func TestValidateRefCycle(t *testing.T) {
	t.Parallel()
	s := mustCompile(t, `{"type":"object","definitions":{"a":{"anyOf":[{"$ref":"#/definitions/a"},{"type":"string"}]}},"properties":{"x":{"$ref":"#/definitions/a"}}}`)
	if _, err := s.Validate(`{"x":"ok"}`); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if _, err := s.Validate(`{"x":1}`); err == nil || !strings.Contains(err.Error(), "reference cycle") {
		t.Errorf("Validate = %v, want a reference cycle", err)
	}
}

func TestUnfence(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"```json\n{}\n```":              "{}\n",
		"```json\n{}\n```\n":            "{}\n",
		"```json\t\n{}\n  ```":          "{}\n  ",
		"```json\n{}```":                "```json\n{}```",
		"```JSON\n{}\n```":              "```JSON\n{}\n```",
		"```json\n```":                  "```json\n```",
		"```json\n{\"a\":\"```\"}\n```": "```json\n{\"a\":\"```\"}\n```",
		"{}":                            "{}",
	} {
		if got := unfence(in); got != want {
			t.Errorf("unfence(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkValidate validates a typical output of about 1 KB.
func BenchmarkValidate(b *testing.B) {
	s := mustCompile(b, orderSchema)
	var items []string
	for i := range 12 {
		items = append(items, fmt.Sprintf(`{"sku":"ABC-%04d","price":%d.99,"quantity":%d}`, i, i, i+1))
	}
	output := "```json\n" + `{"id":"0b7e6a3c-3c4e-4d1a-9f5e-2b1c8f7a6d5e","customer":"Ada Lovelace, Analytical Engines Ltd.","status":"paid","items":[` + strings.Join(items, ",") + "]}\n```"
	for len(output) < 1000 {
		items = append(items, `{"sku":"XYZ-9999","price":1}`)
		output = "```json\n" + `{"id":"0b7e6a3c-3c4e-4d1a-9f5e-2b1c8f7a6d5e","customer":"Ada Lovelace, Analytical Engines Ltd.","status":"paid","items":[` + strings.Join(items, ",") + "]}\n```"
	}
	if _, err := s.Validate(output); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(output)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Validate(output); err != nil {
			b.Fatal(err)
		}
	}
}
