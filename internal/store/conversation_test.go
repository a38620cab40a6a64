package store_test

import (
	"reflect"
	"testing"

	"github.com/handinger/handinger/agent"
	"github.com/handinger/handinger/internal/store"
)

func TestConversation(t *testing.T) {
	t.Parallel()
	got := store.Conversation([]store.Turn{
		{Input: "Plan a trip.", OutputText: "Day 1: …"},
		{Input: "[fail]"}, // a turn without output adds no answer
		{Input: "Make it three days.", OutputText: "Day 1, 2, 3: …"},
	})
	want := []agent.Message{
		{Role: "user", Content: "Plan a trip."},
		{Role: "assistant", Content: "Day 1: …"},
		{Role: "user", Content: "[fail]"},
		{Role: "user", Content: "Make it three days."},
		{Role: "assistant", Content: "Day 1, 2, 3: …"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Conversation = %+v\nwant %+v", got, want)
	}
	if got := store.Conversation(nil); got == nil || len(got) != 0 {
		t.Errorf("Conversation(nil) = %#v, want an empty, non-nil slice", got)
	}
}
