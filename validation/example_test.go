package validation_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/handinger/handinger/spec"
	"github.com/handinger/handinger/validation"
)

// Example puts the middleware in front of a plain handler that serves the
// Handinger Tasks API and something the document does not describe. Any
// service does the same with its own *openapi3.T.
func Example() {
	doc, err := spec.Load() // the API document, servers cleared
	if err != nil {
		log.Fatal(err)
	}
	mw, err := validation.New(doc, validation.Options{Mode: validation.Requests})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/tasks", func(w http.ResponseWriter, r *http.Request) {
		// Only valid requests get here, with their body intact.
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("handler got %s\n", body)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("handler got /metrics") // not in the document: passed through
	})
	h := mw(mux) // e.g. http.ListenAndServe(":8080", mw(mux))

	send := func(method, path, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	send("POST", "/api/tasks", `{"input":"Summarise the report."}`)
	send("GET", "/metrics", "")

	w := send("POST", "/api/tasks", `{"budget":"huge","extra":true}`)
	fmt.Println(w.Code, w.Header().Get("Content-Type"))
	var out bytes.Buffer
	_ = json.Indent(&out, w.Body.Bytes(), "", "  ")
	fmt.Println(out.String())

	// Output:
	// handler got {"input":"Summarise the report."}
	// handler got /metrics
	// 400 application/problem+json
	// {
	//   "type": "https://handinger.com/problems/invalid-request",
	//   "title": "Invalid request",
	//   "status": 400,
	//   "detail": "The request does not match the API document in 3 places: body /budget: value is not one of the allowed values [\"low\",\"standard\",\"high\",\"unlimited\"]; body /extra: property \"extra\" is unsupported; body /input: property \"input\" is missing. See errors for each.",
	//   "instance": "/api/tasks",
	//   "errors": [
	//     {
	//       "in": "body",
	//       "pointer": "/budget",
	//       "detail": "value is not one of the allowed values [\"low\",\"standard\",\"high\",\"unlimited\"]"
	//     },
	//     {
	//       "in": "body",
	//       "pointer": "/extra",
	//       "detail": "property \"extra\" is unsupported"
	//     },
	//     {
	//       "in": "body",
	//       "pointer": "/input",
	//       "detail": "property \"input\" is missing"
	//     }
	//   ]
	// }
}
