#!/bin/sh
# Builds etcd-loadgen into OUT_DIR (default: build/bench) from Debian's Go packages only:
# golang-go, and golang-etcd-server-dev's clientv3 under /usr/share/gocode (GOPATH mode, so
# nothing is downloaded). The Go build cache lives in OUT_DIR too, so a clean clone builds.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$(mkdir -p "${1:-$here/../../build/bench}" && cd "${1:-$here/../../build/bench}" && pwd)
command -v go >/dev/null || { echo "etcd-loadgen: go not found (scripts/deps.sh installs golang-go)" >&2; exit 1; }
[ -d /usr/share/gocode/src/go.etcd.io/etcd/clientv3 ] || { echo "etcd-loadgen: clientv3 not found (scripts/deps.sh installs golang-etcd-server-dev)" >&2; exit 1; }
cd "$here"
GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$out/go-cache" GOFLAGS= \
	go build -o "$out/etcd-loadgen" .
