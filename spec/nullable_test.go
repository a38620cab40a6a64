package spec_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/handinger/handinger/gen"
)

// TestNullAndAbsent proves that the generated models put `null` on the wire
// for nullable required fields and leave optional fields out, exactly as
// openapi.yaml says, and that the result validates against the schema.
func TestNullAndAbsent(t *testing.T) {
	t.Parallel()
	doc := loadFile(t)
	now := time.Date(2026, 5, 14, 9, 30, 0, 0, time.UTC)

	task := gen.Task{
		ID: "tsk_1", CreatedAt: now, OrganizationID: "org_1",
		Status: gen.TaskStatusRunning, Title: "t", TriggeredBy: gen.TriggeredByApi,
		Url: "http://127.0.0.1:8080/tasks/tsk_1", WorkerID: "wrk_1",
	}
	turn := gen.Turn{
		ID: "trn_1", Input: "hi", Role: "user", Seq: 1, StartedAt: now,
		Status: "running", TaskID: "tsk_1",
	}
	m := roundTrip(t, task)
	for _, k := range []string{"completedAt", "createdByUserId"} {
		if v, ok := m[k]; !ok || v != nil {
			t.Errorf("Task.%s = %v (present %v), want null", k, v, ok)
		}
	}
	m = roundTrip(t, turn)
	if v, ok := m["structuredOutput"]; !ok || v != nil {
		t.Errorf("Turn.structuredOutput = %v (present %v), want null", v, ok)
	}
	mustValidate(t, doc.Components.Schemas["Task"].Value, task)
	mustValidate(t, doc.Components.Schemas["Turn"].Value, turn)

	// Set values come through as values.
	user := "usr_1"
	task.CompletedAt = &now
	task.CreatedByUserID = &user
	turn.StructuredOutput = &map[string]interface{}{"answer": 42.0}
	m = roundTrip(t, task)
	if m["completedAt"] != "2026-05-14T09:30:00Z" || m["createdByUserId"] != "usr_1" {
		t.Errorf("set fields = %v, %v", m["completedAt"], m["createdByUserId"])
	}
	m = roundTrip(t, turn)
	if so, _ := m["structuredOutput"].(map[string]any); so["answer"] != 42.0 {
		t.Errorf("structuredOutput = %v", m["structuredOutput"])
	}

	// Worker: required nullable members are null, optional usage is absent.
	w := gen.Worker{
		ID: "wrk_1", Object: gen.WorkerObjectWorker, Status: gen.WorkerStatusRunning, Running: true,
		Output: []gen.OutputMessage{}, Messages: []map[string]interface{}{}, Files: []gen.WorkerFile{},
		Sources:  []gen.Source{},
		Metadata: gen.WorkerMetadata{TaskID: "tsk_1", TurnID: "trn_1", Seq: 1}, Url: "u",
	}
	m = roundTrip(t, w)
	for _, k := range []string{"created_at", "structured_output", "error", "incomplete_details"} {
		if v, ok := m[k]; !ok || v != nil {
			t.Errorf("Worker.%s = %v (present %v), want null", k, v, ok)
		}
	}
	if _, ok := m["usage"]; ok {
		t.Error("Worker.usage is present though unset")
	}
	mustValidate(t, doc.Components.Schemas["Worker"].Value, w)

	// The trap: a nil slice in a required array goes out as null, which the
	// schema refuses; response validation is what catches it.
	w.Files = nil
	b, _ := json.Marshal(w)
	if !strings.Contains(string(b), `"files":null`) {
		t.Fatalf("nil slice did not serialize as null: %s", b)
	}
	var v any
	_ = json.Unmarshal(b, &v)
	if err := doc.Components.Schemas["Worker"].Value.VisitJSON(v); err == nil {
		t.Error("a Worker with files: null validated")
	}
}

func roundTrip(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// mustValidate checks v, as it goes on the wire, against schema s.
func mustValidate(t *testing.T, s *openapi3.Schema, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var wire any
	if err := json.Unmarshal(b, &wire); err != nil {
		t.Fatal(err)
	}
	if err := s.VisitJSON(wire); err != nil {
		t.Errorf("%s does not validate: %v", b, err)
	}
}
