#!/usr/bin/env bash
# Removes what `make install` installed, from BUILD_DIR/install_manifest.txt (CMake's
# record of every file it put in place), under $DESTDIR if set. Directories left empty go
# too when they are synod's own (etc/synod, include/synod) or inside a DESTDIR; shared
# ones of the system (/usr/local/bin, ...) stay even when empty.
# Usage: scripts/uninstall.sh BUILD_DIR
set -euo pipefail

manifest=${1:?usage: uninstall.sh BUILD_DIR}/install_manifest.txt
[ -f "$manifest" ] || { echo "uninstall: $manifest not found: nothing was installed from this tree" >&2; exit 1; }
while IFS= read -r file || [ -n "$file" ]; do
	path="${DESTDIR:-}$file"
	if [ -e "$path" ] || [ -L "$path" ]; then
		rm -f -- "$path"
		echo "removed $path"
	fi
	dir=$(dirname -- "$path")
	if [ -n "${DESTDIR:-}" ]; then
		while [ "$dir" != "${DESTDIR%/}" ] && [ "$dir" != / ] && rmdir -- "$dir" 2>/dev/null; do
			dir=$(dirname -- "$dir")
		done
	elif [ "$(basename -- "$dir")" = synod ]; then
		rmdir -- "$dir" 2>/dev/null || true
	fi
done < "$manifest"
