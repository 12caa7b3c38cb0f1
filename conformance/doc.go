// Package conformance holds corral to Prometheus' own verdict: it parses
// exposition bodies with the parsers of the current Prometheus release
// (model/textparse for text 0.0.4, OpenMetrics 1.0 and protobuf, and
// prometheus/common/expfmt's text parser) and compares what they read with
// what corral's exposition package accepts and writes.
//
// It is its own Go module so that the corral binary's go.mod never carries
// Prometheus. Its tests run the upstream projects' own test vectors
// (testdata/vectors, see testdata/README.md) and a fuzz target through
// corral's Validate and Merge, against a table of the disagreements known
// today (known_test.go).
package conformance
