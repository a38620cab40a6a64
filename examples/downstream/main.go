package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
)

func main() {
	base := os.Getenv("HANDINGER_BASE_URL")
	if base == "" {
		base = "https://handinger.com"
	}
	key := os.Getenv("HANDINGER_API_KEY")
	c, err := NewClientWithResponses(base, WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+key)
		return nil
	}))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	budget := BudgetLow
	res, err := c.CreateTaskWithResponse(context.Background(), nil, CreateTask{Input: "Say hello.", Budget: &budget})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if res.JSON200 == nil {
		fmt.Fprintf(os.Stderr, "status %d: %s\n", res.StatusCode(), res.Body)
		os.Exit(1)
	}
	fmt.Printf("task %s: %s\n", res.JSON200.Metadata.TaskID, res.JSON200.OutputText)
}
