package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The tests here play an attacker against a real `handinger serve`, bounded
// in time, and check what a user would notice: the server's memory, and
// whether another client is still answered.

// rssMiB is the resident memory of process pid, from /proc.
func rssMiB(t *testing.T, pid int) float64 {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("skipping: no /proc to read the server's memory from: %v", err)
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb / 1024
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// answered checks that a client of its own gets a 200 from url within 5 s.
func answered(t *testing.T, what, url string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		t.Errorf("%s: another client was not answered: %v", what, err)
		return
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("%s: another client got %d", what, res.StatusCode)
	}
}

// TestPromisedBodiesCostNothing sends the headers of creates that promise a
// megabyte each and then sends nothing: the server must not reserve the
// megabytes before they arrive.
func TestPromisedBodiesCostNothing(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	p := startServe(t, addr, "--db", "sqlite:"+filepath.Join(t.TempDir(), "h.db"))
	before := rssMiB(t, p.cmd.Process.Pid)
	const conns = 300
	for range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "POST /api/tasks HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{\"input\":\"", addr, p.key)
	}
	time.Sleep(1500 * time.Millisecond) // the server reads every header and starts on the bodies
	after := rssMiB(t, p.cmd.Process.Pid)
	t.Logf("server RSS %.1f MiB before, %.1f MiB with %d promised megabytes pending", before, after, conns)
	if after-before > 32 {
		t.Errorf("the server grew by %.0f MiB for %d bodies that never came", after-before, conns)
	}
	answered(t, "promised bodies", p.url+"/healthz")
}

// TestIdleConnectionsCannotLockOthersOut runs the server with 128 file
// descriptors, opens more idle connections than that from one address, and
// checks that a client from another address is still answered at once.
func TestIdleConnectionsCannotLockOthersOut(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skipf("skipping: no sh to limit the server's descriptors with: %v", err)
	}
	// The limit is set by sh -c, not by a script written for the test: a
	// file just written can fail to exec ("text file busy") while another
	// test forks.
	limited := []string{"sh", "-c", `ulimit -n 128 || exit 1; exec "$0" "$@"`, handingerBinary(t)}
	addr := freeAddr(t)
	p := startServeVia(t, limited, addr, "--db", "sqlite:"+filepath.Join(t.TempDir(), "h.db"))
	attacker := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 2 * time.Second}
	var held []net.Conn
	for range 200 {
		c, err := attacker.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("the attacker's connection %d: %v", len(held), err)
		}
		held = append(held, c)
		if len(held)%2 == 0 { // half of them idle after one request, half silent
			fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		}
	}
	t.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	start := time.Now()
	for i := range 5 {
		answered(t, fmt.Sprintf("request %d after 200 idle connections", i), p.url+"/healthz")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("five requests took %s", d)
	}
	// The server closed the attacker's oldest connections to make room.
	closed := 0
	for _, c := range held {
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
					closed++
				}
				break
			}
		}
	}
	if open := len(held) - closed; open > 128 {
		t.Errorf("%d of the attacker's connections are still open, more than the server's 128 descriptors", open)
	}
}

// TestUnwritableDatabaseRefusedAtStart makes the database file immutable
// (which binds root too) and checks that serve refuses it at once instead
// of answering 500 to every create afterwards.
func TestUnwritableDatabaseRefusedAtStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "h.db")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"keys", "create", "--db", db, "--org", "o", "--user", "u"}, &out, &errb); code != 0 {
		t.Fatalf("keys create: %d %s", code, errb.String())
	}
	if msg, err := exec.Command("chattr", "+i", filepath.Join(dir, "h.db")).CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot make the file immutable here (chattr +i: %v %s)", err, msg)
	}
	t.Cleanup(func() { _ = exec.Command("chattr", "-i", filepath.Join(dir, "h.db")).Run() })
	errb.Reset()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := run(ctx, []string{"serve", "--db", db, "--addr", "127.0.0.1:0"}, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "cannot be written") {
		t.Errorf("serve on an immutable database: exit %d, stderr %q; want a refusal naming it", code, errb.String())
	}
}
