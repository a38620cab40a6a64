package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Backoff between attempts: full jitter over an exponential ceiling.
const (
	initialBackoff = 500 * time.Millisecond
	maxBackoff     = 8 * time.Second
	// maxRetryAfter caps the wait an answer's Retry-After may ask for.
	maxRetryAfter = 60 * time.Second
)

// doer is the generated client's HttpRequestDoer: it sends a request with
// the settings of the call in its context, retrying as the package
// documentation describes.
type doer struct{}

// Do sends req, retrying it, and returns the final answer with its body
// already read (so that the attempt's timeout covers the body too).
func (doer) Do(req *http.Request) (*http.Response, error) {
	cl := callFrom(req.Context())
	if cl == nil {
		return nil, errOutsideCall
	}
	res, err := cl.send(req)
	if cl.responseBody != nil {
		*cl.responseBody = cl.body
	}
	if cl.responseInfo != nil {
		*cl.responseInfo = ResponseInfo{}
		if res != nil {
			*cl.responseInfo = ResponseInfo{StatusCode: res.StatusCode, Header: res.Header.Clone(), RequestID: res.Header.Get("X-Request-Id")}
		}
	}
	return res, err
}

// send runs the attempts of one request.
func (cl *call) send(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		// A body that cannot be read again: keep a copy for the retries.
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	attempts := cl.maxRetries + 1
	for n := 1; ; n++ {
		res, body, err := cl.attempt(ctx, req, n)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if n >= attempts || permanent(err) {
				if isTimeout(err) {
					return nil, fmt.Errorf("%w after %d attempts: %v", ErrTimeout, n, err)
				}
				return nil, &ConnectionError{Err: err, Attempts: n}
			}
			if err := cl.sleep(ctx, cl.backoff(n, nil)); err != nil {
				return nil, err
			}
			continue
		}
		if n < attempts && shouldRetry(res) {
			if err := cl.sleep(ctx, cl.backoff(n, res.Header)); err != nil {
				return nil, err
			}
			continue
		}
		cl.answered, cl.status, cl.header, cl.body = true, res.StatusCode, res.Header, body
		res.Body = io.NopCloser(bytes.NewReader(body))
		return res, nil
	}
}

// attempt sends req once (the n-th time) under the attempt timeout and
// reads the whole answer.
func (cl *call) attempt(ctx context.Context, req *http.Request, n int) (*http.Response, []byte, error) {
	actx, cancel := ctx, context.CancelFunc(func() {})
	if cl.timeout > 0 {
		actx, cancel = context.WithTimeout(ctx, cl.timeout)
	}
	defer cancel()
	r := req.WithContext(actx)
	if n > 1 && req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			return nil, nil, fmt.Errorf("rewind request body: %w", err)
		}
		r.Body = b
	}
	res, err := cl.httpClient.Do(r)
	if err != nil {
		return nil, nil, err
	}
	body, err := readBody(res)
	res.Body.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("read answer: %w", err)
	}
	return res, body, nil
}

// readBody reads a whole answer body, in one allocation when its length is
// announced.
func readBody(res *http.Response) ([]byte, error) {
	n := res.ContentLength
	if n < 0 || n > 4<<20 {
		return io.ReadAll(res.Body)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(res.Body, b); err != nil {
		return nil, err
	}
	return b, nil
}

// isTimeout reports whether an attempt failed by running out of time: its
// own context's deadline, or the HTTP client's or a dialer's timeout.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// permanent reports whether a failure to get an answer would recur on
// every attempt: the server's certificate does not verify.
func permanent(err error) bool {
	var cve *tls.CertificateVerificationError
	return errors.As(err, &cve)
}

// shouldRetry decides whether an error answer is worth another attempt.
// The answer's x-should-retry header decides when present; otherwise 408,
// 429 and 5xx are retried.
func shouldRetry(res *http.Response) bool {
	if res.StatusCode < 400 {
		return false
	}
	if v := shouldRetryHeader(res.Header); v != nil {
		return *v
	}
	s := res.StatusCode
	return s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500
}

// shouldRetryHeader reads x-should-retry: true, false or nil (absent or
// neither). Each call returns a new pointer, so callers may keep it.
func shouldRetryHeader(h http.Header) *bool {
	var v bool
	switch strings.TrimSpace(h.Get("X-Should-Retry")) {
	case "true":
		v = true
	case "false":
	default:
		return nil
	}
	return &v
}

// backoff is the wait after the n-th attempt failed: the answer's
// Retry-After when it has one, else a uniform draw below the exponential
// ceiling 0.5 s, 1 s, 2 s, … capped at 8 s.
func (cl *call) backoff(n int, h http.Header) time.Duration {
	if h != nil {
		if d, ok := retryAfter(h, cl.now()); ok {
			return d
		}
	}
	ceiling := maxBackoff
	if n <= 5 {
		ceiling = min(initialBackoff<<(n-1), maxBackoff)
	}
	return time.Duration(cl.random(int64(ceiling)))
}

// retryAfter reads a Retry-After header, in seconds or as an HTTP date, as
// a wait from now, capped at maxRetryAfter; ok is false when there is no
// usable header.
func retryAfter(h http.Header, now time.Time) (d time.Duration, ok bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if math.IsNaN(secs) || secs < 0 {
			return 0, false
		}
		if secs >= maxRetryAfter.Seconds() {
			return maxRetryAfter, true
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), maxRetryAfter), true
}

// sleepContext waits for d or until ctx ends, whichever comes first; it
// returns ctx's error in the second case.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
