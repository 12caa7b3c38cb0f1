package tail

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func texts(lines []Line) string {
	var s []string
	for _, l := range lines {
		s = append(s, fmt.Sprintf("%d:%s", l.Seq, l.Text))
	}
	return strings.Join(s, " ")
}

func TestBounds(t *testing.T) {
	now := time.Unix(0, 0)
	for _, tc := range []struct {
		name               string
		maxLines, maxBytes int
		add                []string
		want               string
	}{
		{"fits", 3, 100, []string{"a", "b"}, "1:a 2:b"},
		{"line bound drops the oldest", 3, 100, []string{"a", "b", "c", "d", "e"}, "3:c 4:d 5:e"},
		{"byte bound drops the oldest", 10, 5, []string{"aa", "bb", "cc"}, "2:bb 3:cc"},
		{"a long line is cut and replaces all", 10, 4, []string{"a", "bcdefg"}, "2:bcde"},
		{"empty lines count against lines only", 2, 1, []string{"", "", "x"}, "2: 3:x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := New(tc.maxLines, tc.maxBytes)
			for _, s := range tc.add {
				b.Add("stdout", []byte(s), now)
			}
			lines, _ := b.Since(0)
			if have := texts(lines); have != tc.want {
				t.Errorf("have %q, want %q", have, tc.want)
			}
			held := 0
			for _, l := range lines {
				held += len(l.Text)
			}
			if len(lines) > tc.maxLines || held > tc.maxBytes {
				t.Errorf("holds %d lines, %d bytes: over %d, %d", len(lines), held, tc.maxLines, tc.maxBytes)
			}
		})
	}
}

func TestFollow(t *testing.T) {
	b := New(100, 1<<10)
	b.Add("stdout", []byte("before"), time.Now())
	var got []string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // a follower that starts after the first line
		defer wg.Done()
		var last uint64 = 1
		for len(got) < 50 {
			lines, more := b.Since(last)
			for _, l := range lines {
				got = append(got, l.Text)
				last = l.Seq
			}
			if len(got) < 50 {
				select {
				case <-more:
				case <-time.After(30 * time.Second):
					return
				}
			}
		}
	}()
	for i := range 50 {
		b.Add("stderr", fmt.Appendf(nil, "%d", i), time.Now())
	}
	wg.Wait()
	if len(got) != 50 || got[0] != "0" || got[49] != "49" {
		t.Errorf("follower saw %d lines (%v), want 0..49 in order", len(got), got)
	}
}
