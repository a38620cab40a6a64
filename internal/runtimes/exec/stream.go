package exec

import (
	"bytes"
	"unicode"
	"unicode/utf8"
)

// stream turns stdout, as it arrives in arbitrary chunks, into output text and
// deltas. It emits only what is sure to stay in the final output: it holds
// back an incomplete UTF-8 sequence, and white space until a word follows it
// (a trailing newline is dropped, and the budget may cut the output before the
// next word). So the deltas always add up to the text finish returns.
type stream struct {
	emit     func(string)
	maxWords int64 // -1: no cap
	buf      []byte

	scanned int   // bytes of buf scanned, at a rune boundary
	words   int64 // words started
	inWord  bool
	end     int // end of the last non-space rune scanned
	cut     int // -1, or where the output ends because the budget allows no more words
	emitted int // bytes of buf emitted
}

func newStream(maxWords int64, emit func(string)) *stream {
	return &stream{emit: emit, maxWords: maxWords, cut: -1}
}

// write adds a chunk of stdout and emits what became certain.
func (s *stream) write(p []byte) {
	if s.capped() {
		return
	}
	s.buf = append(s.buf, p...)
	s.scan(false)
	if s.capped() {
		s.flush(s.cut)
	} else {
		s.flush(s.end)
	}
}

// capped reports whether a word the budget does not pay for has started.
func (s *stream) capped() bool { return s.cut >= 0 }

// scan reads the runes of buf from where it stopped. Words are counted as
// agent.CountTokens counts them: runs of runes that are not unicode.IsSpace,
// an invalid byte counting as a rune. Unless final, it stops before an
// incomplete UTF-8 sequence at the end, which the next chunk may complete.
func (s *stream) scan(final bool) {
	for s.scanned < len(s.buf) && !s.capped() {
		rest := s.buf[s.scanned:]
		if !final && !utf8.FullRune(rest) {
			return
		}
		r, size := utf8.DecodeRune(rest)
		if unicode.IsSpace(r) {
			s.inWord = false
		} else {
			if !s.inWord {
				s.inWord = true
				s.words++
				if s.maxWords >= 0 && s.words > s.maxWords {
					s.cut = s.end
					return
				}
			}
			s.end = s.scanned + size
		}
		s.scanned += size
	}
}

// flush emits buf up to i.
func (s *stream) flush(i int) {
	if i <= s.emitted {
		return
	}
	if s.emit != nil {
		s.emit(string(s.buf[s.emitted:i]))
	}
	s.emitted = i
}

// finish is called at end of file (or when the command was stopped): it
// emits the rest of the output and returns the whole of it, cut where the
// budget ends or else without its trailing newline.
func (s *stream) finish() string {
	s.scan(true)
	out := s.buf
	switch {
	case s.capped():
		out = out[:s.cut]
	case bytes.HasSuffix(out, []byte("\r\n")):
		out = out[:len(out)-2]
	default:
		out = bytes.TrimSuffix(out, []byte("\n"))
	}
	s.flush(len(out))
	return string(out)
}
