package validation_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/handinger/handinger/validation"
)

// FuzzPlainPathParam checks that the middleware's fast path for plain
// string path parameters refuses exactly what kin-openapi's
// ValidateParameter refuses, with the same field errors, for every
// operation of the document with such a parameter.
func FuzzPlainPathParam(f *testing.F) {
	for _, seed := range []string{"tsk_01HZY31W2SZJ8MJ2FQTR3M1K9D", "", "bad id", "é", "%2F", "a/b",
		strings.Repeat("x", 64), strings.Repeat("x", 65), "\x00", "-_-"} {
		f.Add(seed)
	}
	doc := mustSpec(f)
	ops := [][2]string{{"GET", "/api/tasks/{taskId}"}, {"DELETE", "/api/tasks/{taskId}"}, {"GET", "/api/tasks/{taskId}/turns"}}
	f.Fuzz(func(t *testing.T, value string) {
		for _, op := range ops {
			kin, fast, n, err := validation.PlainPathErrors(doc, op[0], op[1], value)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Fatalf("%s %s: no plain path parameter", op[0], op[1])
			}
			if !reflect.DeepEqual(kin, fast) {
				t.Fatalf("%s %s with %q:\nkin-openapi: %+v\nfast path:   %+v", op[0], op[1], value, kin, fast)
			}
		}
	})
}
