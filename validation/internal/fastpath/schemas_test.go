package fastpath

import (
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

func TestReaches(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(`
openapi: 3.0.3
info: {title: t, version: "1"}
paths: {}
components:
  schemas:
    Plain:
      type: object
      properties:
        a: {type: string}
        self: {$ref: '#/components/schemas/Plain'}
    Secret:
      type: object
      properties:
        list:
          type: array
          items:
            allOf:
              - {type: object, properties: {pw: {type: string, writeOnly: true}}}
    Stamped:
      type: object
      additionalProperties:
        oneOf:
          - {type: string, readOnly: true}
          - {type: integer}
`))
	if err != nil {
		t.Fatal(err)
	}
	s := func(name string) *openapi3.Schema { return doc.Components.Schemas[name].Value }
	for _, tt := range []struct {
		name                string
		readOnly, writeOnly bool
	}{{"Plain", false, false}, {"Secret", false, true}, {"Stamped", true, false}} {
		if got := Reaches(s(tt.name), false); got != tt.readOnly {
			t.Errorf("%s reaches readOnly = %v", tt.name, got)
		}
		if got := Reaches(s(tt.name), true); got != tt.writeOnly {
			t.Errorf("%s reaches writeOnly = %v", tt.name, got)
		}
	}
}
