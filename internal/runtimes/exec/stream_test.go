package exec

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/handinger/handinger/agent"
)

// feed writes data to a new stream in chunks of the given sizes (the rest in
// one last chunk) and returns the deltas and the final output.
func feed(data []byte, sizes []byte, maxWords int64) ([]string, string) {
	var deltas []string
	s := newStream(maxWords, func(d string) { deltas = append(deltas, d) })
	for _, n := range sizes {
		n := min(int(n), len(data))
		s.write(data[:n])
		data = data[n:]
	}
	s.write(data)
	return deltas, s.finish()
}

func TestStreamHoldsBackWhatMayChange(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		chunks   []string
		maxWords int64
		deltas   []string
		out      string
	}{
		{"trailing newline", []string{"hello\n"}, -1, []string{"hello"}, "hello"},
		{"one newline only", []string{"a\n", "\n"}, -1, []string{"a", "\n"}, "a\n"},
		{"crlf", []string{"a b\r\n"}, -1, []string{"a b"}, "a b"},
		{"space waits for a word", []string{"one ", "two"}, -1, []string{"one", " two"}, "one two"},
		{"split rune", []string{"caf\xc3", "\xa9 ok"}, -1, []string{"caf", "é ok"}, "café ok"},
		{"split space rune", []string{"a\xc2", "\xa0b"}, -1, []string{"a", "\u00a0b"}, "a\u00a0b"},
		{"cap", []string{"a b ", "c d"}, 2, []string{"a b"}, "a b"},
		{"cap inside a chunk", []string{"a bc d"}, 2, []string{"a bc"}, "a bc"},
		{"cap at zero", []string{"  a"}, 0, nil, ""},
		{"cap not reached", []string{"a b\n"}, 2, []string{"a b"}, "a b"},
		{"nothing", nil, -1, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var deltas []string
			s := newStream(tc.maxWords, func(d string) { deltas = append(deltas, d) })
			for _, c := range tc.chunks {
				s.write([]byte(c))
			}
			out := s.finish()
			if out != tc.out || strings.Join(deltas, "|") != strings.Join(tc.deltas, "|") {
				t.Errorf("deltas %q, output %q; want %q, %q", deltas, out, tc.deltas, tc.out)
			}
		})
	}
}

func FuzzStream(f *testing.F) {
	f.Add([]byte("hello world\n"), []byte{3, 1}, int64(-1))
	f.Add([]byte("caf\xc3\xa9 \xe3\x80\x80 na\xc3\xafve \xff x\r\n"), []byte{4, 1, 2, 1}, int64(2))
	f.Add([]byte("a b c d e f"), []byte{1, 1, 1}, int64(0))
	f.Add([]byte("\n\n"), []byte{1}, int64(5))
	f.Fuzz(func(t *testing.T, data, sizes []byte, maxWords int64) {
		if maxWords < -1 {
			maxWords = -1
		}
		deltas, out := feed(data, sizes, maxWords)
		if got := strings.Join(deltas, ""); got != out {
			t.Fatalf("deltas add up to %q, output is %q", got, out)
		}
		if _, whole := feed(data, nil, maxWords); whole != out {
			t.Fatalf("chunked output %q, whole output %q", out, whole)
		}
		if !bytes.HasPrefix(data, []byte(out)) {
			t.Fatalf("output %q is not a prefix of %q", out, data)
		}
		if utf8.Valid(data) {
			for _, d := range deltas {
				if !utf8.ValidString(d) {
					t.Fatalf("delta %q splits a rune", d)
				}
			}
		}
		all := agent.CountTokens(string(data))
		switch n := agent.CountTokens(out); {
		case maxWords >= 0 && all > maxWords:
			if n != maxWords || strings.TrimRightFunc(out, unicode.IsSpace) != out {
				t.Fatalf("capped at %d words: output %q has %d", maxWords, out, n)
			}
		default:
			want := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
			if !strings.HasSuffix(string(data), "\r\n") {
				want = strings.TrimSuffix(string(data), "\n")
			}
			if out != want {
				t.Fatalf("output %q, want %q", out, want)
			}
		}
	})
}
