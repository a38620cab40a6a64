package outputschema

import (
	"encoding/json"
	"fmt"
)

// randomSchema builds an output schema from the bytes of a fuzz input,
// each byte choosing the next keyword or value, so that fuzzing explores
// schemas rather than JSON syntax.
func randomSchema(data []byte) []byte {
	r := &byteReader{data: data}
	props := map[string]any{}
	var required []string
	n := 1 + r.next(4)
	for i := range n {
		name := fmt.Sprintf("p%d", i)
		props[name] = r.schema(0)
		if r.next(3) > 0 {
			required = append(required, name)
		}
	}
	root := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		root["required"] = required
	}
	if r.next(4) == 0 {
		root["additionalProperties"] = false
	}
	if r.next(6) == 0 {
		root["definitions"] = map[string]any{"d": r.schema(1)}
		props["viaRef"] = map[string]any{"$ref": "#/definitions/d"}
	}
	b, _ := json.Marshal(root)
	return b
}

type byteReader struct {
	data []byte
	i    int
}

// next returns a number in [0, n) taken from the input, 0 once it is spent.
func (r *byteReader) next(n int) int {
	if r.i >= len(r.data) || n <= 0 {
		return 0
	}
	b := r.data[r.i]
	r.i++
	return int(b) % n
}

func (r *byteReader) schema(depth int) map[string]any {
	kinds := 12
	if depth >= 3 {
		kinds = 6 // scalars only
	}
	switch r.next(kinds) {
	case 0:
		s := map[string]any{"type": "string"}
		if r.next(2) == 0 {
			s["minLength"] = r.next(12)
		}
		if r.next(2) == 0 {
			s["maxLength"] = 4 + r.next(20)
		}
		if r.next(3) == 0 {
			s["pattern"] = []string{"^[a-z]+$", "^[A-Z]{2}-[0-9]{3,5}$", "(x|y)z", "^\\d+(\\.\\d{2})?$", "^[^@]+@[^@]+$", "[aeiou]{2}", "^$|^a"}[r.next(7)]
		}
		if r.next(3) == 0 {
			s["format"] = []string{"date-time", "date", "time", "email", "uri", "uuid", "hostname", "ipv4", "ipv6", "duration"}[r.next(10)]
		}
		return s
	case 1:
		s := map[string]any{"type": []string{"integer", "number"}[r.next(2)]}
		if r.next(2) == 0 {
			s["minimum"] = r.next(50) - 10
		}
		if r.next(2) == 0 {
			s["maximum"] = r.next(100)
		}
		if r.next(3) == 0 {
			s["exclusiveMinimum"] = float64(r.next(20)) / 4
		}
		if r.next(3) == 0 {
			s["exclusiveMaximum"] = 5 + float64(r.next(40))/4
		}
		if r.next(3) == 0 {
			s["multipleOf"] = []float64{0.5, 3, 0.01, 7, 2.5}[r.next(5)]
		}
		return s
	case 2:
		return map[string]any{"type": "boolean"}
	case 3:
		return map[string]any{"enum": []any{"a", 2, nil, "b"}[r.next(3):]}
	case 4:
		return map[string]any{"const": []any{"fixed", 1.5, false, map[string]any{"k": "v"}}[r.next(4)]}
	case 5:
		return map[string]any{"type": []string{"string", "null"}}
	case 6, 7:
		s := map[string]any{"type": "array", "items": r.schema(depth + 1)}
		if r.next(2) == 0 {
			s["minItems"] = r.next(4)
		}
		if r.next(3) == 0 {
			s["maxItems"] = 1 + r.next(4)
		}
		if r.next(3) == 0 {
			s["uniqueItems"] = true
		}
		return s
	case 8, 9:
		s := map[string]any{"type": "object", "properties": map[string]any{"a": r.schema(depth + 1), "b": r.schema(depth + 1)}}
		if r.next(2) == 0 {
			s["required"] = []string{"a"}
		}
		if r.next(3) == 0 {
			s["additionalProperties"] = false
		}
		if r.next(4) == 0 {
			s["minProperties"] = r.next(4)
		}
		return s
	case 10:
		return map[string]any{[]string{"anyOf", "oneOf", "allOf"}[r.next(3)]: []any{r.schema(depth + 1), r.schema(depth + 1)}}
	default:
		return map[string]any{"type": "object", "if": map[string]any{"required": []string{"a"}}, "then": map[string]any{"required": []string{"b"}}, "properties": map[string]any{"a": r.schema(depth + 1), "b": r.schema(depth + 1)}, "required": []string{"a"}}
	}
}
