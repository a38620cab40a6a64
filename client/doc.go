// Package client is the Go client of the Handinger Tasks API: the hosted
// service at https://handinger.com and the server built from this
// repository.
//
// It is a thin layer over the client generated from openapi.yaml
// (gen.ClientWithResponses): every request is built, sent and decoded by the
// generated code, and every request and answer body is a model of package
// gen. This package adds what the official Handinger libraries add: the API
// key and base URL from the environment, timeouts, retries, idempotency keys,
// typed errors, paging and polling.
//
// # Configuration
//
// New reads the API key from HANDINGER_API_KEY and the base URL from
// HANDINGER_BASE_URL (default https://handinger.com); options override both.
// Every Option may also be given to a single call, where it applies to that
// call only:
//
//	c, err := client.New(client.WithMaxRetries(5))
//	t, err := c.Tasks.Retrieve(ctx, id, client.WithTimeout(5*time.Second))
//
// # Retries
//
// A call is retried, by default twice, when the connection fails, the
// attempt times out (WithTimeout, default 60 s per attempt) or the answer is
// 408, 429 or 5xx. A 409 is retried only when the answer carries
// "x-should-retry: true", and other 4xx never are; the x-should-retry header
// of an answer overrides its status either way. Between attempts the client
// waits with exponential backoff and full jitter (up to 0.5 s, 1 s, 2 s, …,
// capped at 8 s), or for the answer's Retry-After (at most 60 s). The
// caller's context ends the waits and the call at any time.
//
// Create sends an Idempotency-Key, the same on every attempt of one call, so
// that a retried create whose first attempt reached the server returns that
// attempt's turn instead of running a second one.
//
// # Errors
//
// Every answer other than 2xx becomes an *Error holding the decoded problem
// document (RFC 9457): status, type, title, detail, offending fields and the
// request id to quote to support. A connection that failed on every attempt
// gives a *ConnectionError, attempts that all timed out an error matching
// ErrTimeout, and the end of the caller's context an error matching
// context.Canceled or context.DeadlineExceeded. Errors never contain the API
// key.
//
// # Optional fields
//
// Optional members of the gen models are pointers. Fill them with Go 1.26's
// new, which takes a value, or with the address of a variable:
//
//	c.Tasks.Create(ctx, gen.CreateTask{Input: "Summarise.", Budget: new(gen.BudgetLow), TaskID: &created.TaskID})
//
// WithResponseInfo hands a call's status, headers and request id to the
// caller, for a successful call as for a failed one.
//
// # Tasks
//
// Client.Tasks has one method per operation of the API (Create, Retrieve,
// Archive, ListPage, Turns) and two helpers: List iterates over every task
// across pages, and Wait polls a task until its status is terminal.
package client
