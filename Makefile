# synod: the two commands users need are `make run` and `make test`.
# Everything else wraps CMake; build trees live in build/ (release) and build-test/
# (clang, ASan+UBSan, libFuzzer targets).

JOBS ?= $(shell nproc)
BUILD := build
TBUILD := build-test
SYNOD := $(BUILD)/src/server/synod

.PHONY: all deps build build-test run cluster cluster-stop cluster-clean test test-reference unit bench \
	bench-cluster etcd-loadgen sim fuzz faults hostile format check-format clean examples example-chat \
	example-booking examples-stop install uninstall deb

all: build

deps:
	@scripts/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSYNOD_TESTS=OFF

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

$(TBUILD)/CMakeCache.txt:
	CC=clang cmake -S . -B $(TBUILD) -DCMAKE_BUILD_TYPE=Debug -DSYNOD_SANITIZE=ON -DSYNOD_FUZZ=ON

build-test: $(TBUILD)/CMakeCache.txt
	cmake --build $(TBUILD) -j$(JOBS)

# Single node on 127.0.0.1:2181, data under ./synod-data.
run: deps build
	$(SYNOD) serve

# A local cluster of N servers (default 3, at most 7) in ./synod-cluster, in the background:
# scripts/cluster.sh prints the connection string. cluster-stop stops exactly the servers it
# started (data stays; make cluster brings them back), cluster-clean also removes the data.
cluster: deps build
	scripts/cluster.sh start $(N)

cluster-stop:
	scripts/cluster.sh stop

cluster-clean:
	scripts/cluster.sh clean

# The example applications (examples/*/README.md): `make` builds them too; example-chat and
# example-booking start the local cluster (as make cluster) and three servers of the
# example; examples-stop stops exactly those, then the cluster.
examples: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS) --target chatnet-server chatnet-client booking-server

example-chat: deps build examples
	scripts/examples.sh start chat

example-booking: deps build examples
	scripts/examples.sh start booking

examples-stop:
	scripts/examples.sh stop

# Every test but the `reference` ones: the suites that run against a ZooKeeper 3.8 ensemble
# to check that the tests describe ZooKeeper's behaviour (test-reference runs those).
test: deps build build-test
	cd $(TBUILD) && ctest --output-on-failure -j$(JOBS) --timeout 900 -LE reference

test-reference: deps build-test
	cd $(TBUILD) && ctest --output-on-failure --timeout 900 -L reference

unit: build-test
	cd $(TBUILD) && ctest --output-on-failure -j$(JOBS) -L unit

# Deterministic simulator: make sim SEED=n replays one seed, SEEDS=n runs that many.
sim: build-test
	$(TBUILD)/tests/sim/synod-sim $(if $(SEED),--seed $(SEED),--seeds $(or $(SEEDS),1000) --jobs $(JOBS)) $(SIMFLAGS)

fuzz: build-test
	scripts/fuzz.sh $(TBUILD) $(or $(FUZZ_SECONDS),600)

bench: deps build etcd-loadgen
	bench/run.py $(BUILD)

# Only the 3-server section of bench (failover, the workload matrix, follower restart).
bench-cluster: deps build etcd-loadgen
	bench/run.py $(BUILD) --only cluster

# The etcd load generator (Go, from Debian's golang-go and golang-etcd-server-dev; offline),
# with its Go build cache, in $(BUILD)/bench.
etcd-loadgen: deps
	bench/etcd-loadgen/build.sh $(BUILD)/bench

# The fault harness (tests/faults/run_faults.py, docs/testing.md): 5 servers of the release
# build in network namespaces (needs root), client processes, a seeded schedule of kills,
# pauses, partitions and bad links, every history checked for linearizability. Ends with
# `anomalies: N` and fails when N > 0. SEED=n replays a schedule; FAULTSFLAGS adds options.
faults: deps build
	/usr/bin/python3 tests/faults/run_faults.py --bin $(SYNOD) --duration $(or $(DURATION),120) $(if $(SEED),--seed $(SEED)) $(FAULTSFLAGS)

# Hostile and careless clients (tests/hostile, docs/testing.md): every scenario with the full
# counts against the release build and against ZooKeeper 3.8, then a table of the good
# client's latency and the servers' RSS. HOSTILEFLAGS adds options (--only SCENARIO).
hostile: deps build
	/usr/bin/python3 tests/hostile/run_hostile.py --bin $(SYNOD) --zookeeper $(HOSTILEFLAGS)

# make install [PREFIX=/usr/local] [DESTDIR=...]: the binaries, libsynod (shared, static,
# header, pkg-config), man pages, bash completion, the systemd unit, its sysusers entry
# and a default config (docs/operations.md, "Installing"). uninstall removes exactly
# what install put in place (build/install_manifest.txt).
PREFIX ?= /usr/local
install: deps build
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX)
	cmake --build $(BUILD) -j$(JOBS)
	cmake --install $(BUILD)

uninstall:
	scripts/uninstall.sh $(BUILD)

# A Debian package of the release build, in build/: scripts/make-deb.sh.
deb: deps build
	scripts/make-deb.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

check-format:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(TBUILD)
