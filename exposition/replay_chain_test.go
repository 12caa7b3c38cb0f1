package exposition

import (
	"bytes"
	"fmt"
	"testing"
)

// noteState is a scan's notes of HELP and TYPE lines, which the next
// replay of the memo does again, as text.
func noteState(s *scanner) string { return fmt.Sprint(s.notes) }

// freshNotedScan is body's scan, notes included, by a scanner that has
// never seen another body.
func freshNotedScan(body []byte, reserved [][]byte) (string, string) {
	s := newScanner()
	s.hashing, s.seed, s.noting = true, 1, true
	err := s.scan(body, false, reserved)
	return scanState(s, err), noteState(s)
}

// chainScan scans bodies one after the other with one memo-keeping
// scanner, each whole or, when piece > 0, received in pieces, and calls
// check with each body's scan and notes.
func chainScan(bodies [][]byte, reserved [][]byte, piece int, check func(i int, state, notes string)) {
	s := newSourceScanner(NewSource())
	s.hashing, s.seed = true, 1
	for i, body := range bodies {
		var err error
		if piece == 0 || i == 0 {
			err = s.scan(body, false, reserved)
		} else {
			err = receiveInPieces(s, body, piece, reserved)
		}
		check(i, scanState(s, err), noteState(s))
	}
}

// receiveInPieces scans body as it would arrive in pieces of at least
// piece bytes.
func receiveInPieces(s *scanner, body []byte, piece int, reserved [][]byte) error {
	r := &Receiver{sc: s}
	s.reset(nil, false, reserved)
	piece = max(piece, len(body)/8) // a big body in a few pieces: each is a copy
	for n := piece; n < len(body); n += piece {
		r.Feed(bytes.Clone(body[:n]))
	}
	return r.Finish(body)
}

// freshNotedPieces is freshNotedScan of body received in pieces: which of
// two errors a scan meets first depends on what has arrived, so a body in
// pieces is held to a fresh scan of the same pieces.
func freshNotedPieces(body []byte, reserved [][]byte, piece int) (string, string) {
	s := newScanner()
	s.hashing, s.seed, s.noting = true, 1, true
	err := receiveInPieces(s, body, piece, reserved)
	return scanState(s, err), noteState(s)
}

// FuzzReplayChain: for bodies scanned one after the other by one source's
// scanner (the first twice: the second replays the first),
// every scan, and the notes it leaves for the next replay, is the fresh
// scan's. Seeds: the fixtures with new values, series added and removed,
// HELP and TYPE lines changed.
func FuzzReplayChain(f *testing.F) {
	for _, name := range []string{"node_exporter.prom", "histograms.prom", "summary.prom", "escapes.prom", "inputs/utf8_names.prom", "inputs/split_family.prom"} {
		b := readFixture(f, name)
		f.Add(b, revalue(b, "1"), revalue(b, "2"), uint16(0))
		f.Add(b, revalue(b, "-1"), revalue(b, "2.5e-07"), uint16(4096))
		f.Add(b, append(revalue(b, "1"), "extra 1\n"...), revalue(b, "3"), uint16(0))
		f.Add(b, bytes.Replace(b, []byte("# HELP "), []byte("# HELP x_"), 1), b, uint16(100))
		f.Add(b, bytes.Replace(b, []byte("# TYPE "), []byte("# TYPE y_"), 1), revalue(b, "7"), uint16(0))
	}
	f.Add([]byte("# HELP a x\n# TYPE a gauge\na 1\n"), []byte("# TYPE a gauge\n# HELP a x\na 2\n"), []byte("# HELP a x\n# TYPE a gauge\na 3\n"), uint16(0))
	f.Add([]byte("# HELP a\n# HELP a x\n# TYPE a gauge\na 1\n"), []byte("# HELP a\n# HELP a x\n# TYPE a gauge\na 2\n"), []byte("# HELP a x\n# HELP a\n# TYPE a gauge\na 2\n"), uint16(0))
	f.Add([]byte("# TYPE h histogram\nh 1\nh_bucket 2\nh_count 1\n"), []byte("# TYPE h histogram\nh 2\nh_bucket 3\nh_count 1\n"), []byte("m 1 -1\n"), uint16(0))
	// A value right after the memo's name ("a-1"): here the name goes on
	// ("ab 2"), a family the memo's did not make.
	f.Add([]byte("ab 1\na-1\n# HELP b x\n# TYPE b gauge\n"), []byte("ab 1\nab 2\n# HELP b x\n# TYPE b gauge\n"), []byte("ab 1\na+1\n# HELP b x\n# TYPE b gauge\n"), uint16(0))
	f.Add([]byte("a 1\n# TYPE a gauge\n"), []byte("a 2\n# TYPE a gauge\n"), []byte("a 3\n# TYPE a counter\n"), uint16(0))
	f.Fuzz(func(t *testing.T, b1, b2, b3 []byte, piece uint16) {
		reserved := [][]byte{[]byte("exporter")}
		bodies := [][]byte{b1, b1, b2, b3, b2}
		chainScan(bodies, reserved, int(piece), func(i int, state, notes string) {
			wantState, wantNotes := freshNotedScan(bodies[i], reserved)
			if piece != 0 && i > 0 {
				wantState, wantNotes = freshNotedPieces(bodies[i], reserved, int(piece))
			}
			if state != wantState {
				t.Fatalf("body %d of %q: want the fresh scan\n%.500s\nhave\n%.500s", i, bodies, wantState, state)
			}
			if notes != wantNotes && state[:6] != "error:" {
				t.Fatalf("body %d of %q: want the fresh scan's notes\n%.500s\nhave\n%.500s", i, bodies, wantNotes, notes)
			}
		})
	})
}
