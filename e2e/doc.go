// Package e2e is corral's end-to-end suite, run against real components:
//
//   - TestPrometheusScrapesCorral: Debian's Prometheus scrapes corral's merged
//     /metrics and /proxy?module=node every second while corral supervises
//     Debian's node exporter, a script and a textfile; the node exporter is
//     SIGKILLed and restarted under Prometheus' eyes.
//   - TestPromtoolCheckMetrics: promtool check metrics on every text format
//     corral serves (OpenMetrics checked structurally: Debian 12's promtool
//     reads only 0.0.4).
//   - TestQuickstart, TestExampleNodeExporter: the examples run as documented.
//   - TestLandingPageInChromium: Debian's headless Chromium shows the landing
//     page (--dump-dom, screenshots at 1280 and 400 px) and presses a
//     restart button with a real mouse click over the DevTools protocol
//     (a minimal WebSocket client on the standard library, cdp_test.go).
//   - TestDocker: with a Docker engine, the images built with no registry
//     (docker/test-base.sh, the Dockerfile, docker/prometheus-image.sh) and
//     corral as PID 1: scrape, SIGHUP reload, orphans reaped, docker stop,
//     exit codes, and examples/appliance under docker compose with Prometheus.
//   - TestDockerPID1: corral as PID 1 of containers of the corral image, as
//     tini is tested: stdin (echo x | docker run -i), a terminal (docker run
//     -t), an interactive shell under a real terminal (docker run -it: job
//     control, ^C, exit 7), every signal and the fault signals survived,
//     docker stop of a main process that ignores SIGTERM
//     (supervisor/upstream_linux_test.go maps tini's and dumb-init's cases
//     to corral's tests).
//
// The tests carry the build tag e2e, so `go test ./...` on a machine with only
// Go does not run them. .ci/run installs Debian's prometheus,
// prometheus-node-exporter, chromium and busybox-static and runs
//
//	go test -tags e2e -count=1 -v ./e2e/
//
// TestMain builds cmd/corral (static, CGO_ENABLED=0); CORRAL_E2E_BINARY=path
// tests a given binary instead, such as make build's dist/corral.
package e2e
