# corral: build the static binary, the image, and run the tests.
#
#   make build          static CGO_ENABLED=0 binary in dist/corral
#   make test           go vet + go test -race (what a machine with only Go runs)
#   make image          docker image corral:latest on $(BASE)
#   make test-images    registry-free images: corral-test-base, corral on it, corral-test-prometheus
#   make e2e            end-to-end suite (real Prometheus, node exporter, Docker)
#   make ci             .ci/run

GO       ?= go
DOCKER   ?= docker
BASE     ?= debian:bookworm-slim
IMAGE    ?= corral:latest
GOFLAGS_BUILD := -trimpath -ldflags "-s -w"

export DOCKER_BUILDKIT ?= 0

.PHONY: all build test vet e2e image test-base test-prometheus test-images ci clean

all: vet test build

build:
	mkdir -p dist
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o dist/corral ./cmd/corral

vet:
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/

test:
	$(GO) test -race -count=1 ./...

e2e:
	$(GO) test -tags e2e -count=1 -v -timeout 20m ./e2e/

image: build
	$(DOCKER) build --build-arg BASE=$(BASE) -t $(IMAGE) .

test-base:
	docker/test-base.sh corral-test-base:latest

test-prometheus: test-base
	docker/prometheus-image.sh corral-test-prometheus:latest corral-test-base:latest

test-images: test-base test-prometheus
	$(MAKE) image BASE=corral-test-base:latest

ci:
	.ci/run

clean:
	rm -rf dist
