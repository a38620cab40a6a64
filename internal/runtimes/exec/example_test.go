//go:build unix

package exec_test

import (
	"context"
	"fmt"

	"github.com/handinger/handinger/agent"
	"github.com/handinger/handinger/internal/runtimes/exec"
)

func Example() {
	// A command reads the turn as JSON on stdin and writes its answer on
	// stdout; this one ignores the turn.
	r := exec.Runtime{Command: []string{"sh", "-c", `cat >/dev/null; echo "Paris is the capital of France."`}}
	req := agent.Request{Seq: 1, Input: "What is the capital of France?", Budget: agent.Budgets["low"]}
	res, err := r.Run(context.Background(), req, func(delta string) { fmt.Printf("delta %q\n", delta) })
	if err != nil {
		fmt.Println("failed:", err)
		return
	}
	fmt.Println(res.OutputText)
	fmt.Println(res.OutputTokens, "tokens,", res.Credits, "credits")
	// Output:
	// delta "Paris is the capital of France."
	// Paris is the capital of France.
	// 6 tokens, 2 credits
}
