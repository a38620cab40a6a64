package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/handinger/handinger/agent"
)

// The error codes of a turn whose call failed (Worker.error.code); the
// package doc says when each is used.
const (
	CodeAuth        = "upstream_auth"
	CodeRateLimited = "upstream_rate_limited"
	CodeBadRequest  = "upstream_bad_request"
	CodeUnavailable = "upstream_unavailable"
	CodeTimeout     = "upstream_timeout"
)

// maxMessage bounds the part of a failure's message quoted from the
// upstream.
const maxMessage = 300

// maxErrorBody bounds what is read of an error answer's body to find its
// message.
const maxErrorBody = 16 << 10

// failure is the error of a turn whose call failed with err; res, when not
// nil, is the last HTTP answer openai-go got.
func (r *Runtime) failure(err error, res *http.Response) error {
	var (
		apiErr    *sdk.Error
		streamErr *ssestream.StreamError
		netErr    net.Error
		dnsErr    *net.DNSError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &apiErr):
		msg := apiErr.Message
		if msg == "" {
			msg = bodyMessage(apiErr.Response)
		}
		return r.statusFailure(apiErr.StatusCode, msg, err)
	case res != nil && res.StatusCode >= 400:
		// An error answer openai-go could not read as one (its "error" is
		// not an object): the status still says what happened.
		return r.statusFailure(res.StatusCode, bodyMessage(res), err)
	case errors.As(err, &streamErr):
		return r.streamFailure(streamErr, err)
	case errors.As(err, &netErr) && netErr.Timeout():
		return agent.FailureWithCode(CodeTimeout, "the model server did not answer in time (network timeout)", err)
	case errors.As(err, &dnsErr):
		return agent.FailureWithCode(CodeUnavailable, "the model server could not be reached (its host name did not resolve)", err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return agent.FailureWithCode(CodeUnavailable, "the model server could not be reached (connection refused)", err)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF):
		return agent.FailureWithCode(CodeUnavailable, "the model server's answer broke off", err)
	case errors.As(err, &syntaxErr), errors.As(err, &typeErr):
		return agent.FailureWithCode(CodeUnavailable, "the model server sent a chunk that is not a chat completion chunk", err)
	case errors.As(err, new(*net.OpError)):
		return agent.FailureWithCode(CodeUnavailable, "the model server could not be reached", err)
	}
	// Not shown: the text of an unknown error may quote the URL.
	return agent.FailureWithCode(CodeUnavailable, "the call to the model server failed", err)
}

// statusFailure is the failure of an answer with an HTTP error status and
// the upstream's message msg.
func (r *Runtime) statusFailure(status int, msg string, cause error) error {
	code, what := CodeUnavailable, "the model server failed"
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		// An upstream may quote the key it refused: leave its message out.
		return agent.FailureWithCode(CodeAuth, fmt.Sprintf("the model server refused the API key (HTTP %d)", status), cause)
	case status == http.StatusTooManyRequests:
		code, what = CodeRateLimited, "the model server is rate limiting the calls"
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout:
		code, what = CodeTimeout, "the model server timed out"
	case status >= 400 && status < 500:
		code, what = CodeBadRequest, "the model server refused the request"
	}
	text := fmt.Sprintf("%s (HTTP %d)", what, status)
	if m := r.quote(msg); m != "" {
		text += ": " + m
	}
	return agent.FailureWithCode(code, text, cause)
}

// streamFailure is the failure of a stream that carried an error object
// after it had started. Servers that put an HTTP status in its code (vLLM,
// llama.cpp) get it classified like the status.
func (r *Runtime) streamFailure(se *ssestream.StreamError, cause error) error {
	var body struct {
		Error struct {
			Message string          `json:"message"`
			Type    string          `json:"type"`
			Code    json.RawMessage `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(se.Event.Data, &body)
	e := body.Error
	if status, err := strconv.Atoi(string(e.Code)); err == nil && status >= 400 && status < 600 {
		return r.statusFailure(status, e.Message, cause)
	}
	if strings.Contains(e.Type+string(e.Code), "rate_limit") {
		return r.statusFailure(http.StatusTooManyRequests, e.Message, cause)
	}
	text := "the model server reported an error while answering"
	if m := r.quote(e.Message); m != "" {
		text += ": " + m
	}
	return agent.FailureWithCode(CodeUnavailable, text, cause)
}

// bodyMessage is the message of an error answer whose body openai-go could
// not read as {"error": {"message": …}}: a top-level message or detail
// (older vLLM, FastAPI), a string error, or the body's text.
func bodyMessage(res *http.Response) string {
	if res == nil || res.Body == nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
	// Leave the body readable for whoever dumps the error later.
	res.Body = io.NopCloser(bytes.NewReader(b))
	var v struct {
		Message string `json:"message"`
		Detail  string `json:"detail"`
		Error   any    `json:"error"`
	}
	if json.Unmarshal(b, &v) == nil {
		if s, ok := v.Error.(string); ok && s != "" {
			return s
		}
		if m, ok := v.Error.(map[string]any); ok {
			if s, ok := m["message"].(string); ok && s != "" {
				return s
			}
		}
		if v.Message != "" {
			return v.Message
		}
		return v.Detail
	}
	if strings.Contains(res.Header.Get("Content-Type"), "html") {
		return "" // a proxy's error page says nothing the status does not
	}
	return string(b)
}

// quote is msg fit for a failure's message: the API key and anything like
// one scrubbed, on one line, cut to maxMessage bytes.
func (r *Runtime) quote(msg string) string {
	msg = strings.Join(strings.Fields(r.scrub(msg)), " ")
	msg = strings.ToValidUTF8(msg, "\uFFFD")
	if len(msg) > maxMessage {
		msg = strings.ToValidUTF8(msg[:maxMessage], "") + "…"
	}
	return msg
}

// keyLike matches OpenAI-style keys, masked or not, as an upstream may quote
// them ("Incorrect API key provided: sk-proj-****abcd").
var keyLike = regexp.MustCompile(`\b(sk|rk|hnd)-[A-Za-z0-9_*\-]{4,}`)

// scrubber returns a function that removes key, and anything that looks
// like a key, from a text.
func scrubber(key string) func(string) string {
	return func(s string) string {
		if len(key) >= 4 {
			s = strings.ReplaceAll(s, key, "[redacted]")
		}
		return keyLike.ReplaceAllString(s, "[redacted]")
	}
}
