package spec_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/handinger/handinger/spec"
)

// loadFile loads openapi.yaml from the repository, as a downstream generator
// would, and validates it with examples validation on.
func loadFile(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile("../openapi.yaml")
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(loader.Context,
		openapi3.EnableExamplesValidation(),
		openapi3.EnableSchemaFormatValidation(),
		openapi3.EnableSchemaPatternValidation(),
		openapi3.EnableSchemaDefaultsValidation(),
	); err != nil {
		t.Fatalf("openapi.yaml is not valid: %v", err)
	}
	return doc
}

func TestSpecValidates(t *testing.T) {
	t.Parallel()
	doc := loadFile(t)
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi version = %q, want 3.0.3", doc.OpenAPI)
	}
	if _, err := spec.Load(); err != nil {
		t.Fatalf("spec.Load: %v", err)
	}
}

// field is one member of a model as the wire has it.
type field struct {
	typ      string // JSON type
	format   string
	nullable bool
	required bool
	enum     []string
}

// reference lists every model of the reference page with its wire names
// (camelCase, snake_case inside Worker), JSON types, and rules: what the
// reference fixes. Members beyond it are allowed; make spec-diff judges
// whether a change breaks clients.
var reference = map[string]map[string]field{
	"CreateTask": {
		"input":    {typ: "string", required: true},
		"budget":   {typ: "string", enum: []string{"low", "standard", "high", "unlimited"}},
		"taskId":   {typ: "string"},
		"workerId": {typ: "string"},
	},
	"DeleteTaskResponse": {
		"archived": {typ: "boolean", required: true},
	},
	"Totals": {
		"credits":    {typ: "integer", required: true},
		"durationMs": {typ: "integer", required: true},
		"turnCount":  {typ: "integer", required: true},
	},
	"Task": {
		"id":              {typ: "string", required: true},
		"completedAt":     {typ: "string", format: "date-time", nullable: true, required: true},
		"createdAt":       {typ: "string", format: "date-time", required: true},
		"createdByUserId": {typ: "string", nullable: true, required: true},
		"organizationId":  {typ: "string", required: true},
		"status":          {typ: "string", required: true, enum: []string{"pending", "running", "completed", "error", "aborted"}},
		"title":           {typ: "string", required: true},
		"totals":          {typ: "object", required: true},
		"triggeredBy":     {typ: "string", required: true, enum: []string{"api", "email", "schedule", "ui"}},
		"url":             {typ: "string", required: true},
		"workerId":        {typ: "string", required: true},
	},
	"TaskWithTurns": {
		"task":  {typ: "object", required: true},
		"turns": {typ: "array", required: true},
	},
	"Turn": {
		"id":               {typ: "string", required: true},
		"completedAt":      {typ: "string", format: "date-time", nullable: true, required: true},
		"credits":          {typ: "integer", required: true},
		"durationMs":       {typ: "integer", required: true},
		"input":            {typ: "string", required: true},
		"inputTokens":      {typ: "integer", required: true},
		"outputText":       {typ: "string", required: true},
		"outputTokens":     {typ: "integer", required: true},
		"role":             {typ: "string", required: true},
		"seq":              {typ: "integer", required: true},
		"startedAt":        {typ: "string", format: "date-time", required: true},
		"status":           {typ: "string", required: true},
		"structuredOutput": {typ: "object", nullable: true, required: true},
		"taskId":           {typ: "string", required: true},
	},
	"Worker": {
		"id":                 {typ: "string", required: true},
		"object":             {typ: "string", required: true, enum: []string{"worker"}},
		"created_at":         {typ: "integer", nullable: true, required: true},
		"status":             {typ: "string", required: true, enum: []string{"pending", "running", "completed"}},
		"running":            {typ: "boolean", required: true},
		"output_text":        {typ: "string", required: true},
		"output":             {typ: "array", required: true},
		"messages":           {typ: "array", required: true},
		"structured_output":  {typ: "object", nullable: true, required: true},
		"files":              {typ: "array", required: true},
		"sources":            {typ: "array", required: true},
		"metadata":           {typ: "object", required: true},
		"error":              {typ: "object", nullable: true, required: true},
		"incomplete_details": {typ: "object", nullable: true, required: true},
		"url":                {typ: "string", required: true},
		"usage":              {typ: "object"},
	},
	"Usage": {
		"credits":    {typ: "integer"},
		"durationMs": {typ: "integer"},
	},
	"WorkerError": {
		"code":    {typ: "string", required: true},
		"message": {typ: "string", required: true},
	},
	"IncompleteDetails": {
		"reason": {typ: "string", required: true, enum: []string{"budget", "shutdown"}},
	},
	"WorkerFile": {
		"filename":  {typ: "string", nullable: true, required: true},
		"mediaType": {typ: "string", required: true},
		"url":       {typ: "string", required: true},
		"size":      {typ: "integer"},
	},
	"Source": {
		"id":    {typ: "string", required: true},
		"type":  {typ: "string", required: true, enum: []string{"url"}},
		"url":   {typ: "string", required: true},
		"title": {typ: "string", nullable: true, required: true},
	},
	"OutputMessage": {
		"id":      {typ: "string", required: true},
		"type":    {typ: "string", required: true, enum: []string{"message"}},
		"role":    {typ: "string", required: true, enum: []string{"assistant"}},
		"status":  {typ: "string", required: true, enum: []string{"completed"}},
		"content": {typ: "array", required: true},
	},
	"OutputText": {
		"type": {typ: "string", required: true, enum: []string{"output_text"}},
		"text": {typ: "string", required: true},
	},
	"TaskList": {
		"items":      {typ: "array", required: true},
		"nextCursor": {typ: "string", nullable: true, required: true},
	},
	"TurnList": {
		"taskId": {typ: "string", required: true},
		"items":  {typ: "array", required: true},
	},
}

func TestModelsMatchTheWire(t *testing.T) {
	t.Parallel()
	doc := loadFile(t)
	for name, fields := range reference {
		ref := doc.Components.Schemas[name]
		if ref == nil {
			t.Errorf("schema %s is missing", name)
			continue
		}
		s := ref.Value
		for fname, want := range fields {
			pref := s.Properties[fname]
			if pref == nil {
				t.Errorf("%s.%s is missing", name, fname)
				continue
			}
			p := pref.Value
			if !p.Type.Is(want.typ) {
				t.Errorf("%s.%s type = %v, want %s", name, fname, p.Type, want.typ)
			}
			if p.Format != want.format && want.format != "" {
				t.Errorf("%s.%s format = %q, want %q", name, fname, p.Format, want.format)
			}
			if p.Nullable != want.nullable {
				t.Errorf("%s.%s nullable = %v, want %v", name, fname, p.Nullable, want.nullable)
			}
			if got := slices.Contains(s.Required, fname); got != want.required {
				t.Errorf("%s.%s required = %v, want %v", name, fname, got, want.required)
			}
			if want.enum != nil {
				var got []string
				for _, e := range p.Enum {
					got = append(got, e.(string))
				}
				if strings.Join(got, ",") != strings.Join(want.enum, ",") {
					t.Errorf("%s.%s enum = %v, want %v", name, fname, got, want.enum)
				}
			}
			if p.Description == "" && pref.Ref == "" {
				t.Errorf("%s.%s has no description", name, fname)
			}
		}
		// A member beyond the reference is an addition: whether it breaks
		// anyone is make spec-diff's question, not this test's. It must
		// still say what it is.
		for fname, pref := range s.Properties {
			if _, ok := fields[fname]; !ok && pref.Value.Description == "" && pref.Ref == "" {
				t.Errorf("%s.%s, beyond the reference, has no description", name, fname)
			}
		}
	}
}

func TestCreateTaskRules(t *testing.T) {
	t.Parallel()
	doc := loadFile(t)
	s := doc.Components.Schemas["CreateTask"].Value
	if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
		t.Error("CreateTask must set additionalProperties: false")
	}
	if got := s.Properties["input"].Value.MinLength; got != 1 {
		t.Errorf("CreateTask.input minLength = %d, want 1", got)
	}
	if got := s.Properties["budget"].Value.Default; got != "standard" {
		t.Errorf("CreateTask.budget default = %v, want standard", got)
	}
	for _, name := range []string{"TaskId", "WorkerId"} {
		id := doc.Components.Schemas[name].Value
		if id.Pattern != `^[A-Za-z0-9_-]{1,64}$` || id.MaxLength == nil || *id.MaxLength != 64 || id.MinLength != 1 {
			t.Errorf("%s: pattern %q, minLength %d, maxLength %v", name, id.Pattern, id.MinLength, id.MaxLength)
		}
	}
}

// operations lists every operation: method, path, operationId and the schema
// of its 200 answer.
var operations = []struct {
	method, path, id, ok string
}{
	{"POST", "/api/tasks", "createTask", "Worker"},
	{"GET", "/api/tasks", "listTasks", "TaskList"},
	{"GET", "/api/tasks/{taskId}", "retrieveTask", "TaskWithTurns"},
	{"DELETE", "/api/tasks/{taskId}", "archiveTask", "DeleteTaskResponse"},
	{"GET", "/api/tasks/{taskId}/turns", "listTurns", "TurnList"},
	{"GET", "/healthz", "getHealth", "Health"},
	{"GET", "/readyz", "getReadiness", "Health"},
}

func TestOperations(t *testing.T) {
	t.Parallel()
	doc := loadFile(t)
	count := 0
	for _, item := range doc.Paths.Map() {
		count += len(item.Operations())
	}
	if count != len(operations) {
		t.Errorf("the spec has %d operations, the test knows %d: add the new ones here", count, len(operations))
	}
	for _, want := range operations {
		item := doc.Paths.Value(want.path)
		if item == nil {
			t.Errorf("path %s is missing", want.path)
			continue
		}
		op := item.GetOperation(want.method)
		if op == nil {
			t.Errorf("%s %s is missing", want.method, want.path)
			continue
		}
		if op.OperationID != want.id {
			t.Errorf("%s %s operationId = %q, want %q", want.method, want.path, op.OperationID, want.id)
		}
		ok := op.Responses.Status(200)
		if ok == nil || ok.Value.Content.Get("application/json") == nil {
			t.Errorf("%s: no application/json 200 answer", want.id)
			continue
		}
		if ref := ok.Value.Content.Get("application/json").Schema.Ref; ref != "#/components/schemas/"+want.ok {
			t.Errorf("%s: 200 schema = %q, want %s", want.id, ref, want.ok)
		}
		public := strings.HasPrefix(want.path, "/api/")
		if public && op.Security != nil {
			t.Errorf("%s must use the global bearer security", want.id)
		}
		if !public && (op.Security == nil || len(*op.Security) != 0) {
			t.Errorf("%s must need no key (security: [])", want.id)
		}
		required := []int{500}
		if public {
			required = append(required, 400, 401, 429)
		}
		for _, code := range required {
			if op.Responses.Status(code) == nil {
				t.Errorf("%s does not declare %d", want.id, code)
			}
		}
		for code, resp := range op.Responses.Map() {
			if strings.HasPrefix(code, "2") {
				continue
			}
			mt := resp.Value.Content.Get("application/problem+json")
			if mt == nil || mt.Schema.Ref != "#/components/schemas/Problem" || len(resp.Value.Content) != 1 {
				t.Errorf("%s %s answer is not only application/problem+json Problem", want.id, code)
			}
		}
	}
	create := doc.Paths.Value("/api/tasks").Post
	loc := create.Responses.Status(200).Value.Headers["Location"]
	if loc == nil || !loc.Value.Required {
		t.Error("createTask 200 must declare a required Location header")
	}
	for _, code := range []int{404, 409, 413, 422} {
		if create.Responses.Status(code) == nil {
			t.Errorf("createTask does not declare %d", code)
		}
	}
	if doc.Paths.Value("/api/tasks/{taskId}").Delete.Responses.Status(403) == nil {
		t.Error("archiveTask does not declare 403")
	}
	if len(doc.Security) != 1 || doc.Components.SecuritySchemes["bearerAuth"].Value.Scheme != "bearer" {
		t.Error("the spec must apply the bearer scheme globally")
	}
}

// TestEveryComponentHasExampleAndDescriptions checks that the docs and tests
// have an example for every schema and that each one validates.
func TestEveryComponentHasExampleAndDescriptions(t *testing.T) {
	t.Parallel()
	doc := loadFile(t)
	for name, ref := range doc.Components.Schemas {
		s := ref.Value
		if s.Description == "" {
			t.Errorf("schema %s has no description", name)
		}
		if s.Example == nil && !s.Nullable {
			t.Errorf("schema %s has no example", name)
			continue
		}
		if s.Example != nil {
			if err := s.VisitJSON(s.Example); err != nil {
				t.Errorf("example of %s does not validate: %v", name, err)
			}
		}
		for pname, p := range s.Properties {
			if p.Ref == "" && p.Value.Description == "" {
				t.Errorf("%s.%s has no description", name, pname)
			}
		}
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Summary == "" || op.Description == "" || len(op.Tags) == 0 {
				t.Errorf("%s %s needs a summary, a description and a tag", method, path)
			}
		}
	}
}

// router builds a kin-openapi router over the embedded spec.
func router(t *testing.T) routers.Router {
	t.Helper()
	doc, err := spec.Load()
	if err != nil {
		t.Fatal(err)
	}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// validate runs kin-openapi request validation the way the server does, with
// every error reported.
func validate(t *testing.T, r routers.Router, req *http.Request) error {
	t.Helper()
	route, params, err := r.FindRoute(req)
	if err != nil {
		return err
	}
	return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			MultiError:         true,
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		},
	})
}

func TestRequestValidation(t *testing.T) {
	t.Parallel()
	r := router(t)
	long := strings.Repeat("a", 65)
	cases := []struct {
		name, method, target, body string
		ok                         bool
		mention                    string
	}{
		{"minimal create", "POST", "/api/tasks", `{"input":"hi"}`, true, ""},
		{"full create", "POST", "/api/tasks", `{"input":"hi","budget":"high","taskId":"tsk_01HZY31W2SZJ8MJ2FQTR3M1K9D","workerId":"wrk_vk81XUHKHG-qr4"}`, true, ""},
		{"missing input", "POST", "/api/tasks", `{"budget":"low"}`, false, "input"},
		{"empty input", "POST", "/api/tasks", `{"input":""}`, false, "input"},
		{"unknown budget", "POST", "/api/tasks", `{"input":"hi","budget":"huge"}`, false, "budget"},
		{"extra field", "POST", "/api/tasks", `{"input":"hi","colour":"red"}`, false, "colour"},
		{"wrong type", "POST", "/api/tasks", `{"input":42}`, false, "input"},
		{"bad task id", "POST", "/api/tasks", `{"input":"hi","taskId":"../etc"}`, false, "taskId"},
		{"long worker id", "POST", "/api/tasks", `{"input":"hi","workerId":"` + long + `"}`, false, "workerId"},
		{"not json", "POST", "/api/tasks", `{"input":`, false, ""},
		{"retrieve", "GET", "/api/tasks/tsk_01HZY31W2SZJ8MJ2FQTR3M1K9D", "", true, ""},
		{"retrieve bad id", "GET", "/api/tasks/tsk%20x", "", false, "taskId"},
		{"retrieve long id", "GET", "/api/tasks/" + long, "", false, "taskId"},
		{"archive", "DELETE", "/api/tasks/wrk_abc", "", true, ""},
		{"turns", "GET", "/api/tasks/tsk_1/turns", "", true, ""},
		{"list", "GET", "/api/tasks?limit=100&status=running&workerId=wrk_1&cursor=abc", "", true, ""},
		{"list limit 0", "GET", "/api/tasks?limit=0", "", false, "limit"},
		{"list limit 101", "GET", "/api/tasks?limit=101", "", false, "limit"},
		{"list bad status", "GET", "/api/tasks?status=done", "", false, "status"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var req *http.Request
			if c.body != "" {
				req = httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
				req.Header.Set("Content-Type", "application/json")
			} else {
				req = httptest.NewRequest(c.method, c.target, nil)
			}
			req.Header.Set("Authorization", "Bearer test")
			err := validate(t, r, req)
			if c.ok && err != nil {
				t.Fatalf("valid request rejected: %v", err)
			}
			if !c.ok && err == nil {
				t.Fatal("invalid request accepted")
			}
			if err != nil && !strings.Contains(err.Error(), c.mention) {
				t.Errorf("error %q does not name %q", err, c.mention)
			}
		})
	}
}

// TestOperationExamplesValidate sends every request example of the spec
// through request validation.
func TestOperationExamplesValidate(t *testing.T) {
	t.Parallel()
	doc := loadFile(t)
	r := router(t)
	n := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil {
				continue
			}
			for name, ex := range op.RequestBody.Value.Content.Get("application/json").Examples {
				body, err := json.Marshal(ex.Value.Value)
				if err != nil {
					t.Fatal(err)
				}
				req := httptest.NewRequest(method, path, strings.NewReader(string(body)))
				req.Header.Set("Content-Type", "application/json")
				if err := validate(t, r, req); err != nil {
					t.Errorf("example %s of %s %s is rejected: %v", name, method, path, err)
				}
				n++
			}
		}
	}
	if n == 0 {
		t.Error("no request examples found")
	}
}

// TestEnumNamesAreFixed checks that every enum fixes its Go constant names
// with x-enum-varnames, prefixed by its type, so that plain generator runs
// downstream get names that never clash (a bare `Budget` constant once did).
func TestEnumNamesAreFixed(t *testing.T) {
	t.Parallel()
	doc := loadFile(t)
	check := func(where string, s *openapi3.Schema) {
		if len(s.Enum) == 0 {
			return
		}
		names, _ := s.Extensions["x-enum-varnames"].([]any)
		if len(names) != len(s.Enum) {
			t.Errorf("%s: x-enum-varnames has %d names for %d values", where, len(names), len(s.Enum))
		}
	}
	for name, ref := range doc.Components.Schemas {
		check(name, ref.Value)
		for pname, p := range ref.Value.Properties {
			if p.Ref == "" {
				check(name+"."+pname, p.Value)
			}
		}
	}
}
