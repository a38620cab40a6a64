package outputschema_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/handinger/handinger/internal/outputschema"
)

const weather = `{
  "type": "object",
  "required": ["city", "celsius", "conditions"],
  "additionalProperties": false,
  "properties": {
    "city": {"type": "string", "minLength": 1},
    "celsius": {"type": "number", "minimum": -90, "maximum": 60},
    "conditions": {"enum": ["sunny", "cloudy", "rain", "snow"]},
    "observedAt": {"type": "string", "format": "date-time"}
  }
}`

func ExampleCompile() {
	_, err := outputschema.Compile([]byte(`{"type": "array", "items": {"type": "string"}}`))
	fmt.Println(err)
	fmt.Println(errors.Is(err, outputschema.ErrInvalidSchema))

	_, err = outputschema.Compile([]byte(`{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}`))
	var se *outputschema.SchemaError
	if errors.As(err, &se) {
		fmt.Println(se.Pointer)
	}
	// Output:
	// outputSchema: the root must have type "object"
	// true
	// /$schema
}

func ExampleSchema_Validate() {
	s, err := outputschema.Compile([]byte(weather))
	if err != nil {
		panic(err)
	}
	obj, err := s.Validate("```json\n{\"city\": \"Oslo\", \"celsius\": -3.5, \"conditions\": \"snow\"}\n```")
	fmt.Println(obj, err)

	_, err = s.Validate(`{"city": "Oslo", "celsius": -300, "conditions": "snow"}`)
	fmt.Println(err)
	// Output:
	// map[celsius:-3.5 city:Oslo conditions:snow] <nil>
	// output does not match outputSchema: at '/celsius': minimum: got -300, want -90
}

func ExampleSchema_Example() {
	s, err := outputschema.Compile([]byte(weather))
	if err != nil {
		panic(err)
	}
	ex, err := s.Example()
	if err != nil {
		panic(err)
	}
	b, _ := json.Marshal(ex)
	fmt.Println(string(b))
	// Output:
	// {"celsius":0,"city":"example","conditions":"sunny"}
}

func ExampleCache() {
	cache := outputschema.NewCache(128)
	// Each turn of a worker asks again; the schema is compiled once.
	a, _ := cache.Get([]byte(weather))
	b, _ := cache.Get([]byte(weather))
	fmt.Println(a == b, cache.Len())
	// Output:
	// true 1
}
