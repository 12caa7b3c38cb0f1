package testkit

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fatalT records a Fatalf and ends its goroutine, as testing's does.
type fatalT struct {
	testing.TB
	msg string
}

func (f *fatalT) Helper() {}

func (f *fatalT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestWithin(t *testing.T) {
	for _, tc := range []struct {
		name    string
		doneAt  int // the call that reports done; 0: never
		wantMsg string
	}{
		{"at once", 1, ""},
		{"on the third call", 3, ""},
		{"never", 0, "timed out after 300ms waiting for the thing: 3 is not yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ft := &fatalT{TB: t}
			calls := 0
			end := make(chan struct{})
			go func() {
				defer close(end)
				Within(ft, 300*time.Millisecond, "the thing", func() (bool, string) {
					calls++
					return calls == tc.doneAt, fmt.Sprintf("%d is not yet", min(calls, 3))
				})
			}()
			<-end
			if tc.wantMsg == "" && ft.msg != "" || !strings.HasPrefix(ft.msg, tc.wantMsg) {
				t.Errorf("want %q, have %q", tc.wantMsg, ft.msg)
			}
			if tc.doneAt > 0 && calls != tc.doneAt {
				t.Errorf("calls: want %d, have %d", tc.doneAt, calls)
			}
		})
	}
}
