package server

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// conns bounds the connections a listener keeps open, below the process's
// file descriptor limit, so that a flood of idle or slow connections cannot
// lock other clients out ("too many open files"). At the cap, a newcomer
// is still accepted: the oldest connection that is idle between requests or
// has not sent its first request yet is closed to make room. Only when every
// open connection is busy with a request is the newcomer closed instead.
type conns struct {
	net.Listener
	max int

	mu   sync.Mutex
	open map[net.Conn]*connState
}

// connState is what the cap needs to know of one connection.
type connState struct {
	waiting bool      // idle, or not yet sent its first request
	since   time.Time // when it started waiting
}

func newConns(ln net.Listener, max int) *conns {
	return &conns{Listener: ln, max: max, open: map[net.Conn]*connState{}}
}

// Accept accepts a connection, making room for it at the cap.
func (l *conns) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		var victim net.Conn
		if len(l.open) >= l.max {
			victim = l.oldestWaiting()
			if victim != nil {
				delete(l.open, victim) // its ConnState(closed) finds it gone
			}
		}
		admitted := len(l.open) < l.max
		if admitted {
			l.open[c] = &connState{waiting: true, since: time.Now()}
		}
		l.mu.Unlock()
		if victim != nil {
			_ = victim.Close()
		}
		if admitted {
			return c, nil
		}
		_ = c.Close() // every connection is busy: this one waits its turn elsewhere
	}
}

// oldestWaiting is the connection that has waited longest without a
// request in flight; nil when every one is busy. l.mu is held.
func (l *conns) oldestWaiting() net.Conn {
	var oldest net.Conn
	var since time.Time
	for c, s := range l.open {
		if s.waiting && (oldest == nil || s.since.Before(since)) {
			oldest, since = c, s.since
		}
	}
	return oldest
}

// track is the http.Server's ConnState hook.
func (l *conns) track(c net.Conn, state http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.open[c]
	if s == nil {
		return
	}
	switch state {
	case http.StateActive:
		s.waiting = false
	case http.StateIdle:
		s.waiting, s.since = true, time.Now()
	case http.StateHijacked, http.StateClosed:
		delete(l.open, c)
	}
}
