package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/handinger/handinger/problem"
)

// The rules for JSON bodies that hold whether or not validation runs in
// front of the handlers: an object names each key once (the validator
// refuses a repeat, and so does requireUniqueKeys when validation is off),
// and a body the generated code cannot decode is answered with the field
// and the JSON type at fault, never with Go's names for them (requestError).

// requireUniqueKeys refuses JSON request bodies in which an object repeats
// a key, as the validator does. It serves when validation is off; the
// validator checks the same while it decodes.
func requireUniqueKeys(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || !isJSONBody(r.Header.Get("Content-Type")) {
			next.ServeHTTP(w, r)
			return
		}
		data, err := io.ReadAll(r.Body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				problem.Write(w, r, problem.New(http.StatusRequestEntityTooLarge, "payload-too-large", "Payload too large",
					fmt.Sprintf("The request body is larger than %d bytes.", mbe.Limit)))
				return
			}
			problem.Write(w, r, problem.New(http.StatusBadRequest, "invalid-request", "Invalid request",
				"The request body could not be read."))
			return
		}
		if key, pointer, ok := repeatedKey(data); ok {
			detail := fmt.Sprintf("The key %q appears twice in one object; send each key once.", key)
			p := problem.New(http.StatusBadRequest, "invalid-request", "Invalid request", detail)
			p.Errors = []problem.FieldError{{In: problem.InBody, Pointer: pointer, Detail: detail}}
			problem.Write(w, r, p)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(data))
		next.ServeHTTP(w, r)
	})
}

// isJSONBody reports whether a Content-Type names JSON.
func isJSONBody(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// repeatedKey finds the first object key of data that repeats a key of its
// object, and its JSON pointer. A body that is not JSON has none: the
// decoder behind answers it.
func repeatedKey(data []byte) (key, pointer string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	key, pointer, ok, _ = walkKeys(dec)
	return key, pointer, ok
}

func walkKeys(dec *json.Decoder) (key, pointer string, ok bool, err error) {
	tok, err := dec.Token()
	if err != nil {
		return "", "", false, err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return "", "", false, err
			}
			k, _ := t.(string)
			if key, p, ok, err := walkKeys(dec); ok || err != nil {
				return key, "/" + problem.PointerToken(k) + p, ok, err
			}
			if seen[k] {
				return k, "/" + problem.PointerToken(k), true, nil
			}
			seen[k] = true
		}
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if key, p, ok, err := walkKeys(dec); ok || err != nil {
				return key, "/" + strconv.Itoa(i) + p, ok, err
			}
		}
	default:
		return "", "", false, nil
	}
	_, err = dec.Token() // the closing delimiter
	return "", "", false, err
}

// decodeProblem words an error of the generated code's JSON decoding: the
// field and the JSON types at fault, not Go's names for them.
func decodeProblem(err error) (problem.Problem, bool) {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		pointer := ""
		if te.Field != "" {
			pointer = "/" + strings.ReplaceAll(te.Field, ".", "/")
		}
		detail := fmt.Sprintf("The value at %q is a JSON %s, which is not what the API takes there.", pointer, te.Value)
		p := problem.New(http.StatusBadRequest, "invalid-request", "Invalid request", detail)
		p.Errors = []problem.FieldError{{In: problem.InBody, Pointer: pointer, Detail: detail}}
		return p, true
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return problem.New(http.StatusBadRequest, "invalid-request", "Invalid request",
			"The request body is not one JSON document."), true
	}
	return problem.Problem{}, false
}
