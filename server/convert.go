package server

import (
	"encoding/json"
	"time"

	"github.com/handinger/handinger/gen"
	"github.com/handinger/handinger/internal/service"
	"github.com/handinger/handinger/internal/store"
)

// This file is the one place that maps store rows to the API's models.
// Slices are never nil: the spec's arrays are required and a nil slice would
// go out as null.

func (s *handler) task(t store.Task) gen.Task {
	out := gen.Task{
		ID:             t.ID,
		CompletedAt:    utcPtr(t.CompletedAt),
		CreatedAt:      t.CreatedAt.UTC(),
		OrganizationID: t.OrgID,
		Status:         gen.TaskStatus(t.Status),
		Title:          t.Title,
		Totals: gen.Totals{
			Credits:    t.Credits,
			DurationMs: t.DurationMs,
			TurnCount:  int32(t.TurnCount),
		},
		TriggeredBy: gen.TriggeredBy(t.TriggeredBy),
		Url:         s.publicURL + "/tasks/" + t.ID,
		WorkerID:    t.WorkerID,
	}
	if t.CreatedByUserID != "" {
		u := t.CreatedByUserID
		out.CreatedByUserID = &u
	}
	if !t.Status.Terminal() {
		out.CompletedAt = nil
	}
	return out
}

func turn(t store.Turn) gen.Turn {
	return gen.Turn{
		ID:               t.ID,
		CompletedAt:      utcPtr(t.CompletedAt),
		Credits:          t.Credits,
		DurationMs:       t.DurationMs,
		Input:            t.Input,
		InputTokens:      t.InputTokens,
		OutputText:       t.OutputText,
		OutputTokens:     t.OutputTokens,
		Role:             t.Role,
		Seq:              int32(t.Seq),
		StartedAt:        t.AcceptedAt.UTC(),
		Status:           gen.TurnStatus(t.Status),
		StructuredOutput: object(t.StructuredOutput),
		TaskID:           t.TaskID,
	}
}

func turns(list []store.Turn) []gen.Turn {
	out := make([]gen.Turn, 0, len(list))
	for _, t := range list {
		out = append(out, turn(t))
	}
	return out
}

// worker builds the create answer: the worker's state after the turn.
func (s *handler) worker(c service.Created) gen.Worker {
	t := c.Turn
	created := c.Worker.CreatedAt.Unix()
	w := gen.Worker{
		ID:               c.Worker.ID,
		Object:           gen.WorkerObjectWorker,
		CreatedAt:        &created,
		OutputText:       t.OutputText,
		Output:           []gen.OutputMessage{},
		Messages:         messages(c.Turns),
		StructuredOutput: object(t.StructuredOutput),
		Files:            []gen.WorkerFile{},
		Sources:          []gen.Source{},
		Metadata:         gen.WorkerMetadata{TaskID: t.TaskID, TurnID: t.ID, Seq: int32(t.Seq)},
		Url:              s.publicURL + "/workers/" + c.Worker.ID,
	}
	switch t.Status {
	case store.StatusPending:
		w.Status, w.Running = gen.WorkerStatusPending, true
	case store.StatusRunning:
		w.Status, w.Running = gen.WorkerStatusRunning, true
	default:
		w.Status = gen.WorkerStatusCompleted
		credits, duration := t.Credits, t.DurationMs
		w.Usage = &gen.Usage{Credits: &credits, DurationMs: &duration}
	}
	if t.OutputText != "" {
		w.Output = append(w.Output, gen.OutputMessage{
			ID:      "msg_" + t.ID,
			Type:    gen.OutputMessageTypeMessage,
			Role:    gen.OutputMessageRoleAssistant,
			Status:  gen.OutputMessageStatusCompleted,
			Content: []gen.OutputText{{Type: gen.OutputTextTypeOutputText, Text: t.OutputText}},
		})
	}
	if t.Status == store.StatusError {
		w.Error = &gen.WorkerError{Code: t.ErrorCode, Message: t.ErrorMessage}
	}
	if t.Status == store.StatusAborted {
		w.IncompleteDetails = &gen.IncompleteDetails{Reason: gen.IncompleteDetailsReason(t.IncompleteReason)}
	}
	return w
}

// messages is the Worker's conversation: the one rule, store.Conversation,
// as the spec's free-form message objects.
func messages(turns []store.Turn) []map[string]interface{} {
	conv := store.Conversation(turns)
	out := make([]map[string]interface{}, len(conv))
	for i, m := range conv {
		out[i] = map[string]interface{}{"role": m.Role, "content": m.Content}
	}
	return out
}

// object decodes a stored JSON object; nil (sent as null) when there is none.
func object(raw []byte) *map[string]interface{} {
	if len(raw) == 0 {
		return nil
	}
	var m map[string]interface{}
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil
	}
	return &m
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
