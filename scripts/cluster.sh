#!/usr/bin/env bash
# A local synod cluster for trying things out: `make cluster N=3`, `make cluster-stop`,
# `make cluster-clean` call this script (start [N] | stop | clean).
#
# Layout, under ./synod-cluster/ in the repository:
#   zoo.cfg        one file for every server: server.N lines with each one's client port
#                  (ZooKeeper's `;127.0.0.1:2181` suffix) and a relative dataDir=data
#   s1/ .. sN/     server N runs with sN/ as its working directory, so sN/data is its data
#                  directory; sN/data/myid holds N, as for ZooKeeper; sN/admin-port is
#                  the port of its admin server (--admin-port: 8180+N-1 unless taken)
#   logs/sN.log    each server's output
#   pids           "N PID" per server this script started
#
# stop signals exactly the PIDs in `pids`, and only after checking that each one is still
# the synod process started in sN/ (a PID may have been reused since): nothing is killed by
# name. Data stays, so `start` again brings the same cluster back on the same ports.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
DIR="$ROOT/synod-cluster"
BIN="$ROOT/build/src/server/synod"
PIDS="$DIR/pids"
N_MAX=7
CLIENT_PORT_BASE=2181
PEER_PORT_BASE=2888
ELECTION_PORT_BASE=3888
# Admin servers (HTTP /commands and /metrics): 8180, 8181, ... or a free port, given to
# each server with --admin-port since the servers share one zoo.cfg. Not 8080.. (ZooKeeper's
# default, which `make run` takes) nor 8081.. (the booking example's servers).
ADMIN_PORT_BASE=8180
# Where ports are looked for when the usual ones are taken, and how many to try.
FALLBACK_PORT_BASE=32181
FALLBACK_PORT_TRIES=2000
START_WAIT_S=15
STOP_WAIT_S=10

SCRIPT_NAME=cluster
# shellcheck source=scripts/ports.sh
source "$ROOT/scripts/ports.sh"

# The number of server lines in an existing zoo.cfg.
existing_count() {
	grep -c '^server\.[0-9]*=' "$DIR/zoo.cfg"
}

# Client port of server $1 from zoo.cfg (after the ';' of its server line).
client_port_of() {
	sed -n "s/^server\.$1=.*;.*:\([0-9]*\)\$/\1/p" "$DIR/zoo.cfg"
}

write_config() {
	local n=$1 i taken="" client peer election usual lines="" moved=""
	for ((i = 1; i <= n; i++)); do
		client=$(pick_port $((CLIENT_PORT_BASE + i - 1)) "$taken")
		taken="$taken $client"
		peer=$(pick_port $((PEER_PORT_BASE + i - 1)) "$taken")
		taken="$taken $peer"
		election=$(pick_port $((ELECTION_PORT_BASE + i - 1)) "$taken")
		taken="$taken $election"
		usual=$((CLIENT_PORT_BASE + i - 1))
		[ "$client" -eq "$usual" ] ||
			moved="${moved}cluster: port $usual is busy: server.$i takes client port $client"$'\n'
		lines="${lines}server.$i=127.0.0.1:$peer:$election;127.0.0.1:$client"$'\n'
	done
	mkdir -p "$DIR/logs"
	cat >"$DIR/zoo.cfg" <<EOF
# A local synod cluster of $n servers, written by scripts/cluster.sh (make cluster N=$n).
# Each server runs in its own directory (synod-cluster/sN), so the relative dataDir is
# sN/data; sN/data/myid says which server.N it is. Client ports come from the server
# lines, so there is no clientPort here. ZooKeeper 3.8 reads this file unchanged.
tickTime=2000
dataDir=data
initLimit=10
syncLimit=5
4lw.commands.whitelist=*
${lines}
EOF
	for ((i = 1; i <= n; i++)); do
		mkdir -p "$DIR/s$i/data"
		echo "$i" >"$DIR/s$i/data/myid"
	done
	printf %s "$moved" >&2
}

# True if PID $1 is the synod server this script started in sN/ ($2 = N).
ours() {
	local pid=$1 n=$2
	[ -d "/proc/$pid" ] || return 1
	[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$DIR/s$n" ] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "synod serve -c $DIR/zoo.cfg"
}

# True if any server listed in the pid file still runs.
running() {
	local n pid
	[ -f "$PIDS" ] || return 1
	while read -r n pid; do
		if ours "$pid" "$n"; then
			return 0
		fi
	done <"$PIDS"
	return 1
}

# "imok"-style answer of a four-letter word on 127.0.0.1:$1, or nothing (bounded by timeout).
four_letter() {
	# shellcheck disable=SC2016 # $0 and $1 are the inner shell's arguments
	timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" && printf %s "$1" >&3 && cat <&3' \
		"$1" "$2" 2>/dev/null || true
}

start() {
	local n=${1:-}
	[ -x "$BIN" ] || die "$BIN is missing: run make build first"
	running && die "a cluster is already running (see $PIDS): make cluster-stop first"
	if [ -f "$DIR/zoo.cfg" ]; then
		local have
		have=$(existing_count)
		n=${n:-$have}
		[ "$n" = "$have" ] ||
			die "synod-cluster/ holds a $have-server cluster; make cluster-clean to start over with $n"
	fi
	n=${n:-3}
	if ! [[ "$n" =~ ^[0-9]+$ ]] || [ "$n" -lt 1 ] || [ "$n" -gt $N_MAX ]; then
		die "N must be a number from 1 to $N_MAX, not '$n'"
	fi
	[ -f "$DIR/zoo.cfg" ] || write_config "$n"

	: >"$PIDS"
	local i pid admin admin_taken=""
	for ((i = 1; i <= n; i++)); do
		admin=$(pick_port $((ADMIN_PORT_BASE + i - 1)) "$admin_taken")
		admin_taken="$admin_taken $admin"
		echo "$admin" >"$DIR/s$i/admin-port"
		# setsid: the server leaves this terminal's session, so ^C here does not reach it;
		# the inner sh records its own PID and then becomes synod (exec keeps the PID).
		# The subshell execs too, so no shell lingers holding this terminal's output open.
		# shellcheck disable=SC2016 # $$, $0 and $@ are the inner shell's
		(cd "$DIR/s$i" && exec setsid sh -c 'echo "$$" >"$0"; exec "$@"' "$DIR/s$i/.pid" \
			"$BIN" serve -c "$DIR/zoo.cfg" --admin-port "$admin") </dev/null \
			>>"$DIR/logs/s$i.log" 2>&1 &
	done
	local hosts="" port deadline mode
	deadline=$((SECONDS + START_WAIT_S))
	for ((i = 1; i <= n; i++)); do
		while [ ! -s "$DIR/s$i/.pid" ] && [ $SECONDS -lt "$deadline" ]; do sleep 0.1; done
		pid=$(cat "$DIR/s$i/.pid" 2>/dev/null || true)
		rm -f "$DIR/s$i/.pid"
		[ -n "$pid" ] || die "server.$i did not start; see $DIR/logs/s$i.log"
		echo "$i $pid" >>"$PIDS"
	done
	for ((i = 1; i <= n; i++)); do
		port=$(client_port_of "$i")
		pid=$(awk -v n="$i" '$1 == n { print $2 }' "$PIDS")
		until [ -n "$(four_letter "$port" ruok)" ]; do
			if ! ours "$pid" "$i" || [ $SECONDS -ge "$deadline" ]; then
				echo "cluster: server.$i (pid $pid) is not serving; its log ends with:" >&2
				tail -n 20 "$DIR/logs/s$i.log" >&2
				stop
				exit 1
			fi
			sleep 0.2
		done
		hosts="$hosts${hosts:+,}127.0.0.1:$port"
		mode=$(four_letter "$port" srvr | grep '^Mode:' || true)
		echo "server.$i  pid $pid  client 127.0.0.1:$port  admin" \
			"http://127.0.0.1:$(cat "$DIR/s$i/admin-port")/commands  $mode"
	done
	echo
	echo "connection string: $hosts"
	echo "  e.g. build/src/server/synod --server $hosts ls /"
	echo "logs: synod-cluster/logs/  stop: make cluster-stop  stop and delete: make cluster-clean"
}

stop() {
	[ -f "$PIDS" ] || {
		echo "cluster: nothing to stop (no $PIDS)"
		return 0
	}
	local n pid stopped=()
	while read -r n pid; do
		if ours "$pid" "$n"; then
			kill -TERM "$pid"
			stopped+=("$n:$pid")
		else
			echo "cluster: server.$n (pid $pid) is not running"
		fi
	done <"$PIDS"
	local entry deadline
	deadline=$((SECONDS + STOP_WAIT_S))
	for entry in "${stopped[@]}"; do
		n=${entry%%:*}
		pid=${entry#*:}
		while ours "$pid" "$n" && [ $SECONDS -lt "$deadline" ]; do sleep 0.1; done
		if ours "$pid" "$n"; then
			echo "cluster: server.$n (pid $pid) ignored SIGTERM for ${STOP_WAIT_S}s: SIGKILL"
			kill -KILL "$pid"
		fi
		echo "cluster: stopped server.$n (pid $pid)"
	done
	rm -f "$PIDS"
}

case "${1:-}" in
start) start "${2:-}" ;;
stop) stop ;;
clean)
	stop
	rm -rf "$DIR"
	echo "cluster: removed synod-cluster/"
	;;
*)
	echo "usage: scripts/cluster.sh start [N] | stop | clean" >&2
	exit 2
	;;
esac
