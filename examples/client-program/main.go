// Command client-program shows how another Go program uses the Handinger
// client: it sends its arguments as the input of a new task and prints the
// worker's answer. main_test.go tests it against handingertest's
// in-process server, with a scripted reply instead of a model.
//
//	HANDINGER_API_KEY=hnd_… go run . Summarise the quarterly report.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/handinger/handinger/client"
	"github.com/handinger/handinger/gen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: client-program INPUT…")
		os.Exit(2)
	}
	c, err := client.New() // HANDINGER_API_KEY; HANDINGER_BASE_URL or https://handinger.com
	if err == nil {
		err = run(ctx, c, strings.Join(os.Args[1:], " "), os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "client-program:", err)
		os.Exit(1)
	}
}

// run sends input as a new task and writes the worker's answer to w. A turn
// still running when the create call answers is waited for.
func run(ctx context.Context, c *client.Client, input string, w io.Writer) error {
	created, err := c.Tasks.Create(ctx, gen.CreateTask{Input: input})
	if err != nil {
		return fmt.Errorf("create task: %w", err)
	}
	if e := created.Worker.Error; e != nil {
		return fmt.Errorf("task %s failed: %s", created.TaskID, e.Message)
	}
	output := created.Worker.OutputText
	if created.Worker.Running {
		task, err := c.Tasks.Wait(ctx, created.TaskID)
		if err != nil {
			return fmt.Errorf("wait for task %s: %w", created.TaskID, err)
		}
		if task.Task.Status == gen.TaskStatusError {
			return fmt.Errorf("task %s failed", created.TaskID)
		}
		output = task.Turns[len(task.Turns)-1].OutputText
	}
	_, err = fmt.Fprintln(w, output)
	return err
}
