package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/handinger/handinger/gen"
)

// ErrNoAPIKey is returned by New when neither HANDINGER_API_KEY nor
// WithAPIKey gives an API key.
var ErrNoAPIKey = errors.New("handinger: no API key: set " + EnvAPIKey + " or use WithAPIKey")

// ErrTimeout matches (errors.Is) the error of a call whose attempts all
// timed out (WithTimeout, or the HTTP client's own timeout). It does not
// match context.DeadlineExceeded: the end of the caller's context is
// reported as that instead.
var ErrTimeout = errors.New("request timed out")

// errOutsideCall: the doer or the editor saw a request this package did not
// start, which means a bug here.
var errOutsideCall = errors.New("handinger: request sent outside a client call")

// Error is an answer other than 2xx: the problem document (RFC 9457) the API
// sends with it, decoded. Fields the answer lacks are empty; Body always
// holds what came.
type Error struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Type is the URI naming the kind of problem, e.g.
	// https://handinger.com/problems/not-found.
	Type string
	// Title is the short summary of the kind of problem.
	Title string
	// Detail says what was wrong with this request.
	Detail string
	// Instance is the request path the problem occurred on.
	Instance string
	// Errors names each offending field, when the problem is about fields.
	Errors []gen.FieldError
	// RequestID identifies the request for support: the problem's
	// requestId, or else the X-Request-Id header.
	RequestID string
	// ShouldRetry is the answer's x-should-retry header: false when a retry
	// cannot succeed, true when it may; nil when the header was absent.
	ShouldRetry *bool
	// RetryAfter is the wait the answer's Retry-After asked for, 0 when it
	// had none.
	RetryAfter time.Duration
	// Header holds the answer's headers.
	Header http.Header
	// Body is the raw body of the answer.
	Body []byte
}

// newError decodes a non-2xx answer.
func newError(status int, h http.Header, body []byte, now time.Time) *Error {
	e := &Error{StatusCode: status, Header: h, Body: body, RequestID: h.Get("X-Request-Id")}
	e.ShouldRetry = shouldRetryHeader(h)
	e.RetryAfter, _ = retryAfter(h, now)
	if !strings.Contains(h.Get("Content-Type"), "json") {
		return e
	}
	var p gen.Problem
	if json.Unmarshal(body, &p) != nil {
		return e
	}
	e.Type, e.Title, e.Detail = p.Type, p.Title, p.Detail
	if p.Instance != nil {
		e.Instance = *p.Instance
	}
	if p.RequestID != nil && *p.RequestID != "" {
		e.RequestID = *p.RequestID
	}
	if p.Errors != nil {
		e.Errors = *p.Errors
	}
	return e
}

// Error reads like "handinger: 404 Not Found: Task tsk_x does not exist.
// (request 01J…-1)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("handinger: ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" ")
		b.WriteString(t)
	}
	msg := e.Detail
	if msg == "" {
		msg = e.Title
	}
	if msg == "" {
		msg = snippet(e.Body)
	}
	if msg != "" {
		b.WriteString(": ")
		b.WriteString(msg)
	}
	if e.RequestID != "" {
		b.WriteString(" (request ")
		b.WriteString(e.RequestID)
		b.WriteString(")")
	}
	return b.String()
}

// snippet is the start of a body that is not a problem document (a proxy's
// error page, say), on one line, for the error message.
func snippet(body []byte) string {
	const max = 120
	s := strings.Join(strings.Fields(string(body)), " ")
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, s)
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return s
}

// ConnectionError is a call that got no answer: the connection failed on
// every attempt (or the failure was not worth retrying).
type ConnectionError struct {
	// Err is the failure of the last attempt.
	Err error
	// Attempts is how many attempts were made.
	Attempts int
}

// Error says that the connection failed, and why.
func (e *ConnectionError) Error() string {
	return fmt.Sprintf("connection failed (%d attempts): %v", e.Attempts, e.Err)
}

// Unwrap returns the failure of the last attempt.
func (e *ConnectionError) Unwrap() error { return e.Err }

// wrap gives an error of a method call its context; an *Error goes out as
// it is, its message already says everything.
func wrap(err error, op string, id string) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if id != "" {
		op += " " + id
	}
	return fmt.Errorf("handinger: %s: %w", op, err)
}
