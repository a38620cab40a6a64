package outputschema

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzCompile feeds arbitrary documents to Compile and, for those it
// accepts, to Example and Validate: nothing may panic, errors carry their
// sentinel, and an example must validate.
//
//	go test -run '^$' -fuzz FuzzCompile -fuzztime 20s ./internal/outputschema/
func FuzzCompile(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "corpus", "*.json"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		``, `{`, `[]`, `{"type":"array"}`, `{"type":"object","$ref":"#"}`,
		`{"type":"object","properties":{"a":{"$ref":"#"}}}`,
		`{"type":"object","properties":{"a":{"$ref":"https://example.com"}}}`,
		`{"type":"object","properties":{"a":{"pattern":"^(a|b)*c{2,3}\\d$","minLength":4}}}`,
		`{"type":"object","required":["a"],"properties":{"a":{"oneOf":[{"type":"number"},{"type":"integer"}]}}}`,
		`{"type":"object","required":["a"],"properties":{"a":{"type":"number","multipleOf":0.01,"exclusiveMinimum":0.005,"maximum":1e-1}}}`,
		`{"type":"object","minProperties":3,"propertyNames":{"enum":["x","y","z"]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := Compile(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidSchema) {
				t.Fatalf("Compile error %v is not ErrInvalidSchema", err)
			}
			return
		}
		_, _ = s.Validate(string(raw))
		ex, err := s.Example()
		if err != nil {
			if !errors.Is(err, ErrNoExample) {
				t.Fatalf("Example error %v is not ErrNoExample", err)
			}
			return
		}
		b, err := json.Marshal(ex)
		if err != nil {
			t.Fatalf("Marshal(example): %v", err)
		}
		if _, err := s.Validate(string(b)); err != nil {
			t.Fatalf("the example %s does not validate: %v", b, err)
		}
	})
}

// FuzzValidate feeds arbitrary outputs to Validate: it never panics, and
// returns an object exactly when it returns no error.
func FuzzValidate(f *testing.F) {
	s := mustCompile(f, orderSchema)
	for _, out := range []string{
		validOrder, "```json\n" + validOrder + "\n```", "```json\n```", "```json\n\n```",
		"", "null", "[]", `{"a":1e999}`, `{"id":"x"}`, "```json\r\n{}\r\n```",
	} {
		f.Add(out)
	}
	f.Fuzz(func(t *testing.T, output string) {
		obj, err := s.Validate(output)
		if (obj == nil) == (err == nil) {
			t.Fatalf("Validate = %v, %v: want exactly one of them", obj, err)
		}
		if err != nil && !errors.Is(err, ErrInvalidOutput) {
			t.Fatalf("Validate error %v is not ErrInvalidOutput", err)
		}
	})
}

// FuzzExample builds schemas from the fuzz input with a small grammar
// (randomSchema), so that the generator, not the JSON parser, is explored:
// nothing may panic, and every example must validate.
//
//	go test -run '^$' -fuzz FuzzExample -fuzztime 20s ./internal/outputschema/
func FuzzExample(f *testing.F) {
	for _, seed := range []string{"", "\x00", "\x01\x02\x03\x04\x05", "\x06\x07\x08\x09\x0a\x0b\x0c\x0d", "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		raw := randomSchema(data)
		s, err := Compile(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidSchema) {
				t.Fatalf("Compile(%s): error %v is not ErrInvalidSchema", raw, err)
			}
			return
		}
		ex, err := s.Example()
		if err != nil {
			if !errors.Is(err, ErrNoExample) {
				t.Fatalf("Example(%s): error %v is not ErrNoExample", raw, err)
			}
			return
		}
		b, err := json.Marshal(ex)
		if err != nil {
			t.Fatalf("Marshal(example): %v", err)
		}
		if _, err := s.Validate(string(b)); err != nil {
			t.Fatalf("the example %s of %s does not validate: %v", b, raw, err)
		}
	})
}
