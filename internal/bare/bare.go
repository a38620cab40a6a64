// Package bare is the physical baseline of the server's benchmarks: the
// retrieve and create operations answered with net/http's ServeMux and
// encoding/json over the same service, and nothing else — no auth, no
// validation, no metrics, no logging, no generated code.
package bare

import (
	"encoding/json"
	"net/http"

	"github.com/handinger/handinger/gen"
	"github.com/handinger/handinger/internal/service"
	"github.com/handinger/handinger/internal/store"
)

// Handler serves GET /api/tasks/{taskId} and POST /api/tasks for one fixed
// principal.
func Handler(svc *service.Service, who store.Principal, publicURL string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/tasks/{taskId}", func(w http.ResponseWriter, r *http.Request) {
		task, turns, err := svc.RetrieveTask(r.Context(), who.OrgID, r.PathValue("taskId"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		out := gen.TaskWithTurns{Task: gen.Task{
			ID: task.ID, CompletedAt: task.CompletedAt, CreatedAt: task.CreatedAt, CreatedByUserID: &task.CreatedByUserID,
			OrganizationID: task.OrgID, Status: gen.TaskStatus(task.Status), Title: task.Title,
			Totals:      gen.Totals{Credits: task.Credits, DurationMs: task.DurationMs, TurnCount: int32(task.TurnCount)},
			TriggeredBy: gen.TriggeredBy(task.TriggeredBy), Url: publicURL + "/tasks/" + task.ID, WorkerID: task.WorkerID,
		}, Turns: make([]gen.Turn, 0, len(turns))}
		for _, t := range turns {
			out.Turns = append(out.Turns, gen.Turn{
				ID: t.ID, CompletedAt: t.CompletedAt, Credits: t.Credits, DurationMs: t.DurationMs, Input: t.Input,
				InputTokens: t.InputTokens, OutputText: t.OutputText, OutputTokens: t.OutputTokens, Role: t.Role,
				Seq: int32(t.Seq), StartedAt: t.AcceptedAt, Status: gen.TurnStatus(t.Status), TaskID: t.TaskID,
			})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("POST /api/tasks", func(w http.ResponseWriter, r *http.Request) {
		var in gen.CreateTask
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c, err := svc.CreateTask(r.Context(), who, service.CreateParams{Input: in.Input})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		created := c.Worker.CreatedAt.Unix()
		out := gen.Worker{
			ID: c.Worker.ID, Object: gen.WorkerObjectWorker, CreatedAt: &created, Status: gen.WorkerStatusCompleted,
			OutputText: c.Turn.OutputText, Output: []gen.OutputMessage{}, Messages: []map[string]interface{}{},
			Files: []gen.WorkerFile{}, Sources: []gen.Source{}, Url: publicURL + "/workers/" + c.Worker.ID,
			Metadata: gen.WorkerMetadata{TaskID: c.Task.ID, TurnID: c.Turn.ID, Seq: int32(c.Turn.Seq)},
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", "/api/tasks/"+c.Task.ID)
		_ = json.NewEncoder(w).Encode(out)
	})
	return mux
}
