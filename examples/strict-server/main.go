// Command strict-server shows how another repository serves the Handinger
// Tasks API from openapi.yaml: oapi-codegen generates the models, client,
// std-http strict server and embedded spec into package api (see
// api/generate.go; oapi-codegen is pinned with `go get -tool`), and the
// repository's validation middleware stands in front of the generated router.
//
// Only retrieveTask is implemented, from an in-memory map holding one task,
// tsk_example; the other operations answer 501 problem JSON:
//
//	go generate ./... && go run . -addr 127.0.0.1:8081
//	curl -s http://127.0.0.1:8081/api/tasks/tsk_example           # 200, the task
//	curl -s 'http://127.0.0.1:8081/api/tasks?limit=abc'           # 400 problem JSON naming limit
//	curl -s http://127.0.0.1:8081/api/tasks/bad.id                # 400: the id breaks its pattern
//
// What the generated server checks without the middleware, and what it does
// not, is shown by TestWithoutMiddleware in server_test.go.
//
// The generated api/api.gen.go is not committed here, because this copy is
// regenerated from the repository's openapi.yaml at ../../openapi.yaml,
// which changes; a repository that copies this example points the
// //go:generate line at its vendored copy of the spec and commits the
// generated file with it.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/handinger/handinger/validation"

	"example.com/strict-server/api"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "address to listen on")
	flag.Parse()

	h, err := NewHandler(NewServer(exampleTask()), validation.Options{Mode: validation.Requests})
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{
		Addr:              *addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
	}
	fmt.Fprintf(os.Stderr, "listening on http://%s\n", *addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// exampleTask is the task the command serves: one completed turn.
func exampleTask() api.TaskWithTurns {
	start := time.Date(2026, 5, 14, 9, 30, 0, 0, time.UTC)
	end := start.Add(2410 * time.Millisecond)
	user := "usr_example"
	return api.TaskWithTurns{
		Task: api.Task{
			ID:              "tsk_example",
			CompletedAt:     &end,
			CreatedAt:       start,
			CreatedByUserID: &user,
			OrganizationID:  "org_example",
			Status:          api.TaskStatusCompleted,
			Title:           "Say hello",
			Totals:          api.Totals{Credits: 1, DurationMs: 2410, TurnCount: 1},
			TriggeredBy:     api.TriggeredByApi,
			Url:             "http://127.0.0.1:8081/tasks/tsk_example",
			WorkerID:        "wrk_example",
		},
		Turns: []api.Turn{{
			ID:           "trn_example",
			CompletedAt:  &end,
			Credits:      1,
			DurationMs:   2410,
			Input:        "Say hello.",
			InputTokens:  2,
			OutputText:   "Hello.",
			OutputTokens: 1,
			Role:         "user",
			Seq:          1,
			StartedAt:    start,
			Status:       "completed",
			TaskID:       "tsk_example",
		}},
	}
}
