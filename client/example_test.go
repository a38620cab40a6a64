package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/handinger/handinger/client"
	"github.com/handinger/handinger/gen"
)

// The examples run against an in-process server that TestMain starts and
// names in HANDINGER_BASE_URL and HANDINGER_API_KEY; its builtin runtime
// answers every turn with a short preamble followed by the input.

func ExampleNew() {
	// The API key comes from HANDINGER_API_KEY and the base URL from
	// HANDINGER_BASE_URL (default https://handinger.com); options win.
	c, err := client.New(client.WithMaxRetries(3), client.WithTimeout(30*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	created, err := c.Tasks.Create(context.Background(), gen.CreateTask{Input: "Say hello."})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(created.Worker.OutputText)
	// Output:
	// Turn 1, with no earlier messages in view. As I read your request: Say hello.
}

func ExampleTasksService_Create() {
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	first, err := c.Tasks.Create(ctx, gen.CreateTask{
		Input:  "Summarise the attached quarterly report in five bullet points.",
		Budget: new(gen.BudgetLow), // Go 1.26: new takes a value
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(first.Seq, first.Worker.Status, first.Worker.OutputText)

	// The same task id adds a follow-up turn, which sees the first as history.
	next, err := c.Tasks.Create(ctx, gen.CreateTask{Input: "Now in Spanish.", TaskID: &first.TaskID})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(next.Seq, next.Worker.Status, next.Worker.OutputText)
	// Output:
	// 1 completed Turn 1, with no earlier messages in view. Here is what I make of it: Summarise the attached quarterly report in five bullet points.
	// 2 completed Turn 2, with 2 earlier messages in view. As I read your request: Now in Spanish.
}

func ExampleTasksService_Retrieve() {
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	created, err := c.Tasks.Create(ctx, gen.CreateTask{Input: "List three prime numbers."})
	if err != nil {
		log.Fatal(err)
	}
	t, err := c.Tasks.Retrieve(ctx, created.TaskID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q is %s after %d turn(s)\n", t.Task.Title, t.Task.Status, t.Task.Totals.TurnCount)
	for _, turn := range t.Turns {
		fmt.Println(turn.Seq, turn.Role, turn.OutputText)
	}
	// Output:
	// "List three prime numbers." is completed after 1 turn(s)
	// 1 user Turn 1, with no earlier messages in view. Here is what I make of it: List three prime numbers.
}

func ExampleTasksService_Archive() {
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	created, err := c.Tasks.Create(ctx, gen.CreateTask{Input: "A task to put away."})
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.Tasks.Archive(ctx, created.TaskID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("archived:", res.Archived)

	// An archived task takes no more turns; the refusal is permanent.
	_, err = c.Tasks.Create(ctx, gen.CreateTask{Input: "One more?", TaskID: &created.TaskID})
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Title, *apiErr.ShouldRetry)
	}
	// Output:
	// archived: true
	// 409 Task archived false
}

func ExampleTasksService_List() {
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	first, err := c.Tasks.Create(ctx, gen.CreateTask{Input: "Plan the week."})
	if err != nil {
		log.Fatal(err)
	}
	for _, input := range []string{"Plan Monday.", "Plan Tuesday."} {
		if _, err := c.Tasks.Create(ctx, gen.CreateTask{Input: input, WorkerID: &first.Worker.ID}); err != nil {
			log.Fatal(err)
		}
	}
	// Newest first, two per page: List reads the second page when the loop
	// gets there.
	for t, err := range c.Tasks.List(ctx, client.ListParams{WorkerID: first.Worker.ID, PageSize: 2}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(t.Title, t.Status)
	}
	// Output:
	// Plan Tuesday. completed
	// Plan Monday. completed
	// Plan the week. completed
}

func ExampleTasksService_Turns() {
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	first, err := c.Tasks.Create(ctx, gen.CreateTask{Input: "Name a colour."})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Tasks.Create(ctx, gen.CreateTask{Input: "Name another.", TaskID: &first.TaskID}); err != nil {
		log.Fatal(err)
	}
	turns, err := c.Tasks.Turns(ctx, first.TaskID)
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range turns.Items {
		fmt.Printf("%d %s: %s\n", t.Seq, t.Status, t.OutputText)
	}
	// Output:
	// 1 completed: Turn 1, with no earlier messages in view. In reply: Name a colour.
	// 2 completed: Turn 2, with 2 earlier messages in view. Working from what you wrote: Name another.
}

func ExampleTasksService_Wait() {
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	// This turn takes a second, longer than the example server's wait limit
	// (half a second): Create answers while it still runs.
	created, err := c.Tasks.Create(ctx, gen.CreateTask{Input: "Write the long report. [delay=1s]"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("running:", created.Worker.Running)

	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	t, err := c.Tasks.Wait(ctx, created.TaskID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.Task.Status, t.Turns[0].OutputText)
	// Output:
	// running: true
	// completed Turn 1, with no earlier messages in view. Here is what I make of it: Write the long report.
}

func ExampleError() {
	c, err := client.New()
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.Tasks.Retrieve(context.Background(), "tsk_01HZY31W2SZJ8MJ2FQTR3M1K9D")
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Type)
		fmt.Println(apiErr.Detail)
		fmt.Println(apiErr.RequestID != "")
	}
	// Output:
	// 404 https://handinger.com/problems/not-found
	// Task tsk_01HZY31W2SZJ8MJ2FQTR3M1K9D does not exist.
	// true
}
