#!/usr/bin/env bash
# The example applications on a local synod cluster: `make example-chat`, `make
# example-booking` and `make examples-stop` call this script (start chat|booking | stop).
#
# start: brings up the cluster of scripts/cluster.sh (3 servers, or the one synod-cluster/
# already holds) unless it runs, then three servers of the example in the background, each
# in its own session, logging to synod-cluster/logs/, and prints where to connect.
# stop: stops exactly the example servers this script started (synod-cluster/examples.pids,
# each PID checked to still be that program), then the cluster. Nothing is killed by name.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
DIR="$ROOT/synod-cluster"
PIDS="$DIR/examples.pids"
CHAT_BIN="$ROOT/build/examples/chatnet/chatnet-server"
CLIENT_BIN="$ROOT/build/examples/chatnet/chatnet-client"
BOOKING_BIN="$ROOT/build/examples/booking/booking-server"
EXAMPLE_SERVERS=3
CHAT_PORT_BASE=7001
BOOKING_PORT_BASE=8081
# Where ports are looked for when the usual ones are taken, and how many to try.
FALLBACK_PORT_BASE=37001
FALLBACK_PORT_TRIES=2000
START_WAIT_S=15
STOP_WAIT_S=10

SCRIPT_NAME=examples
# shellcheck source=scripts/ports.sh
source "$ROOT/scripts/ports.sh"

# The cluster's connection string, from the server lines of its zoo.cfg.
synod_hosts() {
	sed -n 's/^server\.[0-9]*=.*;\(.*\)$/\1/p' "$DIR/zoo.cfg" | paste -sd, -
}

# True if PID $1 still runs the program $2 (a PID may have been reused since).
ours() {
	[ -d "/proc/$1" ] && [ "$(readlink "/proc/$1/exe" 2>/dev/null)" = "$2" ]
}

ensure_cluster() {
	local out
	if ! out=$(scripts/cluster.sh start 2>&1); then
		grep -q "already running" <<<"$out" || {
			echo "$out" >&2
			exit 1
		}
	else
		echo "$out"
	fi
}

start() {
	local kind=$1 bin base name i port taken="" addrs=() pid deadline
	case "$kind" in
	chat) bin=$CHAT_BIN base=$CHAT_PORT_BASE name=chatnet ;;
	booking) bin=$BOOKING_BIN base=$BOOKING_PORT_BASE name=booking ;;
	*) die "start chat|booking, not '$kind'" ;;
	esac
	[ -x "$bin" ] || die "$bin is missing: run make examples first"
	if [ -f "$PIDS" ] && grep -q "^$name " "$PIDS"; then
		while read -r n p b; do
			if [ "$n" = "$name" ] && ours "$p" "$b"; then
				die "$name servers already run (see $PIDS): make examples-stop first"
			fi
		done <"$PIDS"
	fi
	ensure_cluster
	local hosts
	hosts=$(synod_hosts)
	for ((i = 1; i <= EXAMPLE_SERVERS; i++)); do
		port=$(pick_port $((base + i - 1)) "$taken")
		taken="$taken $port"
		addrs+=("127.0.0.1:$port")
		# setsid: the server leaves this terminal's session; the inner sh records its own PID
		# and then becomes the server (exec keeps the PID).
		# shellcheck disable=SC2016 # $$, $0 and $@ are the inner shell's
		setsid sh -c 'echo "$$" >"$0"; exec "$@"' "$DIR/.example-pid" \
			"$bin" --synod "$hosts" --listen "127.0.0.1:$port" \
			</dev/null >>"$DIR/logs/$name-$i.log" 2>&1 &
		deadline=$((SECONDS + START_WAIT_S))
		while [ ! -s "$DIR/.example-pid" ] && [ $SECONDS -lt "$deadline" ]; do sleep 0.1; done
		pid=$(cat "$DIR/.example-pid" 2>/dev/null || true)
		rm -f "$DIR/.example-pid"
		[ -n "$pid" ] || die "$name server $i did not start; see $DIR/logs/$name-$i.log"
		echo "$name $pid $bin" >>"$PIDS"
		until grep -q "serving" "$DIR/logs/$name-$i.log" 2>/dev/null; do
			if ! ours "$pid" "$bin" || [ $SECONDS -ge "$deadline" ]; then
				tail -n 20 "$DIR/logs/$name-$i.log" >&2
				die "$name server $i (pid $pid) is not serving"
			fi
			sleep 0.2
		done
		echo "$name server $i  pid $pid  127.0.0.1:$port"
	done
	echo
	if [ "$kind" = chat ]; then
		echo "chat servers: ${addrs[*]}"
		echo "  a user:   $CLIENT_BIN --synod $hosts --name alice"
		echo "  with nc:  nc ${addrs[0]/:/ }   (then REGISTER bob, SAY hello, USERS)"
	else
		echo "booking servers: ${addrs[*]}"
		echo "  the page: http://${addrs[0]}/   (any of them; all are equal)"
		echo "  the API:  curl -X POST -d '{\"name\":\"blue\"}' http://${addrs[0]}/rooms"
	fi
	echo "logs: synod-cluster/logs/  stop: make examples-stop"
}

stop() {
	if [ -f "$PIDS" ]; then
		local name pid bin stopped=() entry deadline
		while read -r name pid bin; do
			if ours "$pid" "$bin"; then
				kill -TERM "$pid"
				stopped+=("$name:$pid:$bin")
			fi
		done <"$PIDS"
		deadline=$((SECONDS + STOP_WAIT_S))
		for entry in "${stopped[@]}"; do
			IFS=: read -r name pid bin <<<"$entry"
			while ours "$pid" "$bin" && [ $SECONDS -lt "$deadline" ]; do sleep 0.1; done
			if ours "$pid" "$bin"; then
				echo "examples: $name (pid $pid) ignored SIGTERM for ${STOP_WAIT_S}s: SIGKILL"
				kill -KILL "$pid"
			fi
			echo "examples: stopped $name (pid $pid)"
		done
		rm -f "$PIDS"
	fi
	scripts/cluster.sh stop
}

case "${1:-}" in
start) start "${2:-}" ;;
stop) stop ;;
*)
	echo "usage: scripts/examples.sh start chat|booking | stop" >&2
	exit 2
	;;
esac
