# Shared by scripts/cluster.sh and scripts/examples.sh (sourced, not run): free-port
# picking. The caller sets SCRIPT_NAME (for messages), FALLBACK_PORT_BASE and
# FALLBACK_PORT_TRIES.

die() {
	echo "$SCRIPT_NAME: $*" >&2
	exit 1
}

# True if no socket on this machine has local port $1 (listening or connected; TIME-WAIT
# ones do not count: servers bind with SO_REUSEADDR).
port_free() {
	[ -z "$(ss -Htan exclude time-wait "sport = :$1" 2>/dev/null)" ]
}

# Prints a free port: $1 if free, else the first free one from FALLBACK_PORT_BASE that is
# not in the list $2 (ports already picked).
pick_port() {
	local want=$1 taken=$2 p
	if port_free "$want" && [[ " $taken " != *" $want "* ]]; then
		echo "$want"
		return
	fi
	for ((p = FALLBACK_PORT_BASE; p < FALLBACK_PORT_BASE + FALLBACK_PORT_TRIES; p++)); do
		if port_free "$p" && [[ " $taken " != *" $p "* ]]; then
			echo "$p"
			return
		fi
	done
	die "no free port found near $want or in $FALLBACK_PORT_BASE+"
}
