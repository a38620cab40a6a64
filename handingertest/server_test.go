package handingertest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/handinger/handinger/agent"
	"github.com/handinger/handinger/client"
	"github.com/handinger/handinger/gen"
	"github.com/handinger/handinger/handingertest"
)

func create(t *testing.T, c *client.Client, p gen.CreateTask) *client.Created {
	t.Helper()
	got, err := c.Tasks.Create(context.Background(), p)
	if err != nil {
		t.Fatalf("create %q: %v", p.Input, err)
	}
	return got
}

func retrieve(t *testing.T, c *client.Client, id string) *gen.TaskWithTurns {
	t.Helper()
	got, err := c.Tasks.Retrieve(context.Background(), id)
	if err != nil {
		t.Fatalf("retrieve %s: %v", id, err)
	}
	return got
}

func TestReply(t *testing.T) {
	t.Parallel()
	srv := handingertest.NewServer(t,
		handingertest.Reply("Summarise the report.", "Revenue grew 12%."),
		handingertest.ReplyResult("Count.", agent.Result{OutputText: "Counted.", InputTokens: 812, OutputTokens: 164, Credits: 5}),
	)
	created := create(t, srv.Client, gen.CreateTask{Input: "Summarise the report."})
	if created.Worker.OutputText != "Revenue grew 12%." || created.Worker.Status != gen.WorkerStatusCompleted {
		t.Fatalf("create answered %s %q, want completed with the scripted reply", created.Worker.Status, created.Worker.OutputText)
	}
	// Tokens as the builtin runtime counts them: a word of the worker's
	// instructions or the input read, or of the output written, is a
	// token; a turn costs a credit, and one more per 20 words written.
	turn := retrieve(t, srv.Client, created.TaskID).Turns[0]
	if turn.InputTokens < 3 || turn.OutputTokens != 3 || turn.Credits != 2 {
		t.Errorf("turn counted %d in, %d out, %d credits; want at least 3, 3, 2", turn.InputTokens, turn.OutputTokens, turn.Credits)
	}

	created = create(t, srv.Client, gen.CreateTask{Input: "Count."})
	turn = retrieve(t, srv.Client, created.TaskID).Turns[0]
	if turn.OutputText != "Counted." || turn.InputTokens != 812 || turn.OutputTokens != 164 || turn.Credits != 5 {
		t.Errorf("turn %+v, want the scripted result", turn)
	}

	// An input no option scripts is the builtin runtime's: the input
	// echoed after a preamble.
	created = create(t, srv.Client, gen.CreateTask{Input: "Something else."})
	if !strings.HasSuffix(created.Worker.OutputText, ": Something else.") {
		t.Errorf("unscripted input answered %q, want the builtin runtime's answer", created.Worker.OutputText)
	}
}

func TestReplyFunc(t *testing.T) {
	t.Parallel()
	srv := handingertest.NewServer(t,
		handingertest.Memory(),
		handingertest.ReplyFunc(strings.ToUpper),
		handingertest.Reply("hi", "hello"),
	)
	if got := create(t, srv.Client, gen.CreateTask{Input: "shout this"}).Worker.OutputText; got != "SHOUT THIS" {
		t.Errorf("ReplyFunc answered %q", got)
	}
	if got := create(t, srv.Client, gen.CreateTask{Input: "hi"}).Worker.OutputText; got != "hello" {
		t.Errorf("Reply beside ReplyFunc answered %q", got)
	}
}

func TestReplyBudget(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("word ", 200)
	srv := handingertest.NewServer(t, handingertest.Reply("Write a lot.", long))
	low := gen.BudgetLow
	w := create(t, srv.Client, gen.CreateTask{Input: "Write a lot.", Budget: &low}).Worker
	if w.IncompleteDetails == nil || w.IncompleteDetails.Reason != agent.IncompleteBudget {
		t.Fatalf("incomplete_details %+v, want reason budget", w.IncompleteDetails)
	}
	if n := len(strings.Fields(w.OutputText)); n != 180 {
		t.Errorf("the low budget (10 credits) let %d words through, want 180", n)
	}
}

func TestFail(t *testing.T) {
	t.Parallel()
	srv := handingertest.NewServer(t, handingertest.Fail("Break.", "the model refused"))
	created := create(t, srv.Client, gen.CreateTask{Input: "Break."})
	if e := created.Worker.Error; e == nil || e.Code != "runtime_error" || e.Message != "the model refused" {
		t.Fatalf("error %+v, want runtime_error: the model refused", e)
	}
	if s := retrieve(t, srv.Client, created.TaskID).Task.Status; s != gen.TaskStatusError {
		t.Errorf("task %s, want error", s)
	}
}

func TestDelay(t *testing.T) {
	t.Parallel()
	srv := handingertest.NewServer(t,
		handingertest.WaitLimit(50*time.Millisecond),
		handingertest.Reply("Take your time.", "Done."),
		handingertest.Delay("Take your time.", 300*time.Millisecond),
	)
	ctx := context.Background()
	created := create(t, srv.Client, gen.CreateTask{Input: "Take your time."})
	if !created.Worker.Running {
		t.Fatalf("create answered %s, want the turn still running", created.Worker.Status)
	}
	task, err := srv.Client.Tasks.Wait(ctx, created.TaskID)
	if err != nil {
		t.Fatal(err)
	}
	if task.Task.Status != gen.TaskStatusCompleted || task.Turns[0].OutputText != "Done." {
		t.Errorf("task ended %s with %q, want completed with the scripted reply", task.Task.Status, task.Turns[0].OutputText)
	}
}

func TestDelayAll(t *testing.T) {
	t.Parallel()
	srv := handingertest.NewServer(t,
		handingertest.Memory(),
		handingertest.WaitLimit(500*time.Millisecond), // ample for a quick turn, even with -race
		handingertest.DelayAll(time.Minute),
		handingertest.Delay("Quick.", 0),
	)
	if w := create(t, srv.Client, gen.CreateTask{Input: "Slow."}).Worker; !w.Running {
		t.Errorf("create answered %s, want the turn still running", w.Status)
	}
	if w := create(t, srv.Client, gen.CreateTask{Input: "Quick."}).Worker; w.Running {
		t.Errorf("Delay(input, 0) beside DelayAll answered %s, want it done", w.Status)
	}
}

func TestOrganizations(t *testing.T) {
	t.Parallel()
	srv := handingertest.NewServer(t)
	created := create(t, srv.Client, gen.CreateTask{Input: "Private."})

	other := srv.NewClient("org_other", "usr_other")
	_, err := other.Tasks.Retrieve(context.Background(), created.TaskID)
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Errorf("another organization's retrieve: %v, want 404", err)
	}

	// A colleague in the same organization sees the task.
	colleague := srv.NewClient(handingertest.DefaultOrg, "usr_colleague")
	retrieve(t, colleague, created.TaskID)
}

func TestStart(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string][]handingertest.Option{"sqlite": nil, "memory": {handingertest.Memory()}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, err := handingertest.Start(opts...)
			if err != nil {
				t.Fatal(err)
			}
			c, err := client.New(client.WithBaseURL(srv.URL), client.WithAPIKey(srv.APIKey))
			if err != nil {
				t.Fatal(err)
			}
			create(t, c, gen.CreateTask{Input: "Hello."})
			srv.Close()
			srv.Close() // twice is fine
			if _, err := c.Tasks.ListPage(context.Background(), client.ListParams{}, client.WithMaxRetries(0)); err == nil {
				t.Error("the server still answers after Close")
			}
		})
	}
}
