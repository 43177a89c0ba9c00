#!/usr/bin/env bash
# Checks the module dependency rule (docs/architecture.md, "Module dependencies") on #include lines:
# a module may include only its own headers and those of the modules it depends on.
# raft, proto, session and tree must not include libuv (they are pure). The examples may
# include only libsynod's public header.
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A allowed=(
	[base]="base"
	[raft]="base raft"
	[proto]="base raft proto"
	[session]="base session"
	[tree]="base session tree"
	[watch]="base session tree watch"
	[replica]="base raft session tree watch replica"
	[storage]="base storage"
	[net]="base proto net"
	[admin]="base raft proto admin synod"
	[client]="base proto client synod"
	[cli]="base raft proto session tree watch replica storage client cli synod"
	[server]="base raft proto session tree watch replica storage net admin server client cli"
)
status=0
for mod in "${!allowed[@]}"; do
	[ -d "src/$mod" ] || continue
	while IFS= read -r line; do
		file=${line%%:*}
		inc=$(sed -E 's/.*#include "([^"/]+)\/.*/\1/' <<<"$line")
		if [[ " ${allowed[$mod]} " != *" $inc "* ]]; then
			echo "dependency rule: $file includes $inc/ (allowed: ${allowed[$mod]})"
			status=1
		fi
	done < <(grep -HE '^#include "[^"/]+/' -r "src/$mod" --include='*.[ch]' || true)
done
for mod in raft proto session tree watch replica storage admin; do
	[ -d "src/$mod" ] || continue
	if grep -rlE '#include <uv\.h>' "src/$mod" >/dev/null 2>&1; then
		echo "purity: src/$mod includes libuv"
		status=1
	fi
done
# The examples are applications: they see libsynod only through its installed header.
while IFS= read -r line; do
	echo "examples use only <synod/synod.h>: $line"
	status=1
done < <(grep -HE '^#include ["<](base|raft|proto|session|tree|watch|storage|net|client|cli|server)/' \
	-r examples --include='*.[ch]' || true)
[ $status -eq 0 ] && echo "dependency rule holds"
exit $status
