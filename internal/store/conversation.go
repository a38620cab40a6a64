package store

import "github.com/handinger/handinger/agent"

// Conversation is the rule that turns a task's turns into the messages of
// its conversation, for the runtime that runs the next turn and for the
// messages of the Worker object alike: each turn is the user's input,
// followed by the assistant's answer when the turn produced one.
func Conversation(turns []Turn) []agent.Message {
	out := make([]agent.Message, 0, 2*len(turns))
	for _, t := range turns {
		out = append(out, agent.Message{Role: "user", Content: t.Input})
		if t.OutputText != "" {
			out = append(out, agent.Message{Role: "assistant", Content: t.OutputText})
		}
	}
	return out
}
