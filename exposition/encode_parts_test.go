package exposition

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
)

// TestDecodedPartsMissing: a text histogram without its +Inf bucket, _count
// or _sum, or a summary without _count or _sum, is left out of OpenMetrics
// and protobuf output as a conflict of its source (their encoders would
// write the missing part as 0: an +Inf bucket below the others, a count of
// 0), and so is one whose series has samples with different timestamps
// (they would all get one); the rest of the output is whole. An
// OpenMetrics sample of another name inside a histogram's block does not
// split the histogram (Prometheus reads on in the block): it stays whole.
func TestDecodedPartsMissing(t *testing.T) {
	for _, tc := range []struct {
		name, contentType, body string
		want                    string // conflicts, source/family
	}{
		{"no +Inf bucket", ctText, "# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_sum 2\nh_count 3\n", "[s/h]"},
		{"no _count", ctText, "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 3\nh_sum 2\n", "[s/h]"},
		{"no _sum", ctText, "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 3\nh_count 3\n", "[s/h]"},
		{"one series of two without _count", ctText, "# TYPE h histogram\nh_bucket{a=\"1\",le=\"+Inf\"} 3\nh_sum{a=\"1\"} 2\nh_count{a=\"1\"} 3\nh_bucket{a=\"2\",le=\"+Inf\"} 3\nh_sum{a=\"2\"} 2\n", "[s/h]"},
		{"summary without _sum", ctText, "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_count 3\n", "[s/s]"},
		{"whole histogram", ctText, "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 3\nh_sum 2\nh_count 3\n", "[]"},
		{"summary without quantiles", ctText, "# TYPE s summary\ns_sum 2\ns_count 3\n", "[]"},
		{"histogram samples with different timestamps", ctText, "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 3 1000\nh_sum 2 2000\nh_count 3 1000\n", "[s/h]"},
		{"summary samples with and without a timestamp", ctText, "# TYPE s summary\ns_sum 2 1000\ns_count 3\n", "[s/s]"},
		{"histogram series each with its timestamp", ctText, "# TYPE h histogram\nh_bucket{a=\"1\",le=\"+Inf\"} 3 1000\nh_sum{a=\"1\"} 2 1000\nh_count{a=\"1\"} 3 1000\nh_bucket{a=\"2\",le=\"+Inf\"} 3 2000\nh_sum{a=\"2\"} 2 2000\nh_count{a=\"2\"} 3 2000\n", "[]"},
		{"fractional bucket without le", ctText, "# TYPE h histogram\nh_bucket{x=\"1\"} 0.5\nh_bucket{le=\"+Inf\"} 3\nh_sum 2\nh_count 3\n", "[]"},
		{"a _sum with le beside the histogram's", ctText, "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 3\nh_sum{le=\"1\"} 9\nh_sum 2\nh_count 3\n", "[]"},
		{"the only _sum with le", ctOM, "# TYPE h histogram\nh_count 0\nh_sum{le=\"0\"} 0\nh_bucket{le=\"Inf\"} 0\n# EOF\n", "[s/h]"},
		{"a summary _count with quantile beside the summary's", ctText, "# TYPE s summary\ns_sum 2\ns_count{quantile=\"0.5\"} 9\ns_count 3\n", "[]"},
		{"a summary's le is a label: _count of another series", ctText, "# TYPE s summary\ns_sum 0\ns_count{le=\"1\"} 0\n", "[s/s]"},
		{"a histogram's quantile is a label: _count of another series", ctText, "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count{quantile=\"0.5\"} 1\n", "[s/h]"},
		{"other name in an OpenMetrics histogram block", ctOM, "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nother_bucket{le=\"2\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n# EOF\n", "[]"},
	} {
		body := tc.body + "# TYPE z gauge\nz 1\n"
		if tc.contentType == ctOM {
			body = strings.Replace(tc.body, "# EOF\n", "# TYPE z gauge\nz 1\n# EOF\n", 1)
		}
		for _, format := range []expfmt.Format{fmtOM, fmtProto} {
			t.Run(tc.name+"/"+fmt.Sprint(format.FormatType()), func(t *testing.T) {
				var out bytes.Buffer
				rep, err := Merge(&out, Options{Label: "exporter", Format: format}, []Input{{Name: "s", ContentType: tc.contentType, Body: []byte(body)}})
				if err != nil {
					t.Fatal(err)
				}
				var conflicts []string
				for _, c := range rep.Conflicts {
					conflicts = append(conflicts, c.Source+"/"+c.Family)
				}
				if have := fmt.Sprint(slices.Sorted(slices.Values(conflicts))); have != tc.want {
					t.Errorf("conflicts:\nwant %s\nhave %s (%v)", tc.want, have, rep.Conflicts)
				}
				checkParses(t, format, out.Bytes())
				if format == fmtOM {
					if !strings.Contains(out.String(), `z{exporter="s"} 1`) {
						t.Errorf("want z in the output:\n%s", out.String())
					}
					if tc.want != "[]" && strings.Contains(out.String(), "h_count") {
						t.Errorf("want no h_count in the output:\n%s", out.String())
					}
				}
			})
		}
	}
}
