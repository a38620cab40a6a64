package builtin_test

import (
	"context"
	"fmt"

	"github.com/handinger/handinger/agent"
	"github.com/handinger/handinger/internal/runtimes/builtin"
)

func Example() {
	req := agent.Request{
		Seq:          1,
		Instructions: "You answer briefly.",
		Input:        "[delay=10ms] list three colours",
		Budget:       agent.Budgets["low"],
	}
	res, err := builtin.Runtime{}.Run(context.Background(), req, nil)
	if err != nil {
		fmt.Println("failed:", err)
		return
	}
	fmt.Println(res.OutputText)
	fmt.Println(res.OutputTokens, "tokens,", res.Credits, "credits")
	// Output:
	// Turn 1, with no earlier messages in view. Taking it point by point: list three colours
	// 16 tokens, 2 credits
}
