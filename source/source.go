// Package source owns what every kind of metrics source shares: the Source
// contract the gateway scrapes through (request, response, failure
// reasons), the settings every [KIND.NAME] section has (merge, verify,
// labels, process) with their one validation, and the Kind type. Each kind
// lives in a package of its own (source/exporter, source/file, scripts), so
// its dependencies stay its own.
package source

import (
	"context"
	"io"
	"net/url"
)

// Kind names a kind of source, as its TOML sections do: "exporter" for
// [exporter.NAME].
type Kind string

// A Source yields one exposition of metrics per scrape: an HTTP exporter,
// a textfile, an on-demand script. The gateway treats every kind the same.
type Source interface {
	// Scrape fetches the source's metrics now. ctx carries the scrape's
	// deadline. On success the caller reads and closes Body; the gateway
	// bounds how much it reads.
	Scrape(ctx context.Context, req Request) (*Response, error)
}

// Request is what a scrape asks of a source.
type Request struct {
	// Params are the client's query parameters on /proxy, without the
	// module value that named the source (a further module= is the
	// upstream's own); nil on a merged path. HTTP sources forward them all;
	// scripts take the names on their allow-list.
	Params url.Values
	// Proxy is set when the source is scraped on its own (/proxy), not
	// merged: a file source then adds exporter_exporter's mtime metric.
	Proxy bool
	// Accept is the Accept header to present upstream: the client's on
	// /proxy, the merge's choice on /metrics. Empty means text.
	Accept string
	// AcceptEncoding is the client's Accept-Encoding on /proxy, forwarded so a
	// compressed body can pass through untouched. Empty on the merged path.
	AcceptEncoding string
}

// Response is a source's answer.
type Response struct {
	// ContentType is the exposition format of Body, as an HTTP Content-Type.
	ContentType string
	// ContentEncoding is set when Body is still encoded (gzip passed through
	// on /proxy because the client accepts it).
	ContentEncoding string
	Body            io.ReadCloser
}

// TimeoutHeader is the header in which Prometheus sends its scrape timeout,
// and in which corral passes what is left of it upstream.
const TimeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"

// ContentTypeText is the Prometheus text format 0.0.4: what a file or a
// script holds.
const ContentTypeText = "text/plain; version=0.0.4; charset=utf-8"

// DefaultMaxBodyBytes bounds what is read from one source per scrape when
// [web] max_body_bytes is left out.
const DefaultMaxBodyBytes = 32 << 20
