#!/usr/bin/env bash
# Builds a Debian package of synod from a configured and built CMake tree:
#   scripts/make-deb.sh BUILD_DIR [OUT_DIR]
# It sets the tree's install prefix to /usr (paths inside the unit, the config and synod.pc
# are fixed when CMake configures, so this reconfigures and rebuilds what changed), installs
# it into a staging directory (make install's rules, so the package holds exactly what
# make install puts in place), adds the control file (Depends
# from dpkg-shlibdeps) and the maintainer scripts of packaging/deb, and runs dpkg-deb.
# Prints the path of the .deb. One package holds the server, the CLI, the tools and
# libsynod (shared, static, header, pkg-config file).
set -euo pipefail

build=${1:?usage: make-deb.sh BUILD_DIR [OUT_DIR]}
out=${2:-$build}
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
[ -n "$version" ] || { echo "make-deb: no project version in $build/CMakeCache.txt" >&2; exit 1; }
arch=$(dpkg --print-architecture)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage="$work/synod_${version}_${arch}"

cmake -S "$src" -B "$build" -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
DESTDIR="$stage" cmake --install "$build" >/dev/null

# dpkg-shlibdeps reads debian/control of the directory it runs in.
mkdir -p "$work/debian"
printf 'Source: synod\n\nPackage: synod\nArchitecture: any\n' > "$work/debian/control"
mapfile -t elves < <(find "$stage/usr/bin" "$stage/usr/lib" -type f \( -perm -u+x -o -name '*.so.*' \))
depends=$(cd "$work" && dpkg-shlibdeps -O -e"${elves[@]}" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "make-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

mkdir -p "$stage/DEBIAN"
installed_kb=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@DEPENDS@/$depends/" \
	-e "s/@INSTALLED_KB@/$installed_kb/" "$src/packaging/deb/control.in" > "$stage/DEBIAN/control"
(cd "$stage" && find etc -type f | sed 's|^|/|') > "$stage/DEBIAN/conffiles"
for script in postinst prerm postrm; do
	install -m 0755 "$src/packaging/deb/$script" "$stage/DEBIAN/$script"
done

deb="$out/synod_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$stage" "$deb" >/dev/null
echo "$deb"
