package exposition

import (
	"fmt"
	"sync"
)

// scanners holds scanners between uses so that their slices and maps are
// reused across scrapes.
var scanners = sync.Pool{New: func() any { return newScanner() }}

// Validate reports whether body is a valid exposition in the format its
// Content-Type names. Text is checked by a scan of the bytes, strict enough
// that what passes is accepted by Prometheus' text parser; OpenMetrics 1.0.0
// by the same scan in OpenMetrics mode (expfmt has no OpenMetrics parser);
// delimited protobuf message by message, as expfmt's decoder checks it
// (readProto).
// Errors name the line:
// "line 12: ...".
func Validate(contentType string, body []byte) (err error) {
	defer caught(&err)
	hook(body)
	f := FormatOf(contentType)
	switch f {
	case Text, OpenMetrics:
		s := scanners.Get().(*scanner)
		err := s.scan(body, f == OpenMetrics, nil)
		s.reset(nil, false, nil)
		scanners.Put(s)
		return err
	case Protobuf:
		return readProto(body, nil, nil)
	default:
		return fmt.Errorf("unsupported content type %q", contentType)
	}
}
