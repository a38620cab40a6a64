package handingertest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/handinger/handinger/client"
	"github.com/handinger/handinger/gen"
	"github.com/handinger/handinger/handingertest"
)

// In a test, handingertest.NewServer(t, …) starts the server and stops it
// with the test; an example has no *testing.T, so these use Start and Close,
// which take the same options.

func Example() {
	srv, err := handingertest.Start(handingertest.Reply("Summarise the report.", "Revenue grew 12%."))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()

	created, err := srv.Client.Tasks.Create(ctx, gen.CreateTask{Input: "Summarise the report."})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(created.Worker.Status, created.Worker.OutputText)

	// Inputs not scripted get the builtin runtime's answer: the input,
	// after a preamble.
	created, err = srv.Client.Tasks.Create(ctx, gen.CreateTask{Input: "Say hello."})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(created.Worker.OutputText)
	// Output:
	// completed Revenue grew 12%.
	// Turn 1, with no earlier messages in view. As I read your request: Say hello.
}

func ExampleReplyFunc() {
	srv, err := handingertest.Start(handingertest.Memory(), handingertest.ReplyFunc(strings.ToUpper))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	created, err := srv.Client.Tasks.Create(context.Background(), gen.CreateTask{Input: "Shout this."})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(created.Worker.OutputText)
	// Output: SHOUT THIS.
}

func ExampleFail() {
	srv, err := handingertest.Start(handingertest.Fail("Break.", "the model refused"))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	// A failed turn is an answer, not an error of Create.
	created, err := srv.Client.Tasks.Create(context.Background(), gen.CreateTask{Input: "Break."})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(created.Worker.Error.Code, created.Worker.Error.Message)
	// Output: runtime_error the model refused
}

func ExampleDelay() {
	// The turn outlasts the create call, which answers while it runs.
	srv, err := handingertest.Start(
		handingertest.WaitLimit(50*time.Millisecond),
		handingertest.Reply("Take your time.", "Done."),
		handingertest.Delay("Take your time.", 300*time.Millisecond),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()

	created, err := srv.Client.Tasks.Create(ctx, gen.CreateTask{Input: "Take your time."})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("running:", created.Worker.Running)
	task, err := srv.Client.Tasks.Wait(ctx, created.TaskID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(task.Task.Status, task.Turns[0].OutputText)
	// Output:
	// running: true
	// completed Done.
}

func ExampleServer_NewClient() {
	srv, err := handingertest.Start(handingertest.Memory())
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()

	created, err := srv.Client.Tasks.Create(ctx, gen.CreateTask{Input: "Private."})
	if err != nil {
		log.Fatal(err)
	}
	// Another organization's client does not see the task.
	other := srv.NewClient("org_other", "usr_other")
	_, err = other.Tasks.Retrieve(ctx, created.TaskID)
	var apiErr *client.Error
	fmt.Println(errors.As(err, &apiErr), apiErr.StatusCode)
	// Output: true 404
}
