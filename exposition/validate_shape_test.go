package exposition

import "testing"

// TestValidateMisshapenValue: a text bucket without le is a plain series to
// Prometheus, whatever its value, so a negative one is accepted; a bucket
// with le still may not count below zero.
func TestValidateMisshapenValue(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"bucket without le, negative", "# TYPE h histogram\nh_bucket{ne=\"1\"} -4\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", true},
		{"bucket with le, negative", "# TYPE h histogram\nh_bucket{le=\"1\"} -4\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", false},
	} {
		if err := Validate(ctText, []byte(tc.body)); (err == nil) != tc.ok {
			t.Errorf("%s: want ok %v, have %v", tc.name, tc.ok, err)
		}
	}
}
