#!/usr/bin/env bash
# Installs the Debian 12 packages synod needs to build, test and benchmark.
# This is the only way dependencies arrive: nothing is installed by hand.
# It is idempotent and cheap when everything is present (no apt-get update then).
set -euo pipefail

packages=(
	build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
	libuv1-dev libcmocka-dev libssl-dev libreadline-dev
	libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev
	python3-kazoo python3-pytest python3-prometheus-client python3-cryptography
	zookeeper zookeeper-bin libzookeeper-mt-dev
	etcd-server etcd-client golang-go golang-etcd-server-dev python3-matplotlib
	valgrind iproute2 procps nftables
	chromium chromium-driver python3-selenium
	adduser man-db systemd dpkg-dev
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
