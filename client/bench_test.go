package client_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/handinger/handinger/gen"
	"github.com/handinger/handinger/handingertest"
	"github.com/handinger/handinger/validation"
)

// BenchmarkRetrieve measures what this package costs over the generated
// client it wraps: the same GET /api/tasks/{taskId} (a task of two turns)
// through the bare generated client ("generated") and through
// Client.Tasks.Retrieve ("client"), one request at a time over loopback, on
// a server validating requests only. Compare them with
//
//	go test -run '^$' -bench Retrieve -benchmem ./client/ | go run ./internal/benchratio -base generated
func BenchmarkRetrieve(b *testing.B) {
	srv := handingertest.NewServer(b, handingertest.Validation(validation.Requests))
	key, c := srv.APIKey, srv.Client
	ctx := context.Background()
	first, err := c.Tasks.Create(ctx, gen.CreateTask{Input: "Summarise the attached quarterly report in five bullet points."})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Tasks.Create(ctx, gen.CreateTask{Input: "Now in Spanish.", TaskID: &first.TaskID}); err != nil {
		b.Fatal(err)
	}
	id := first.TaskID

	b.Run("generated", func(b *testing.B) {
		g, err := gen.NewClientWithResponses(srv.URL, gen.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+key)
			return nil
		}))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			res, err := g.RetrieveTaskWithResponse(ctx, id)
			if err != nil || res.JSON200 == nil || len(res.JSON200.Turns) != 2 {
				b.Fatalf("retrieve: %v", err)
			}
		}
	})
	b.Run("client", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			t, err := c.Tasks.Retrieve(ctx, id)
			if err != nil || len(t.Turns) != 2 {
				b.Fatalf("retrieve: %v", err)
			}
		}
	})
}
