#!/bin/sh
# Runs synod-check-wal on a clean WAL, a torn tail and a corrupt middle record,
# and checks its exit codes (0 / 1 / 2). usage: check_wal_cli.sh <make_wal> <synod-check-wal>
set -u
make_wal=$1
check=$2
dir=$(mktemp -d /tmp/synod-check-wal-test-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$make_wal" "$dir" 300 || fail "make_wal"
"$check" "$dir" > "$dir/out" 2>&1; rc=$?
[ $rc -eq 0 ] || { cat "$dir/out"; fail "clean WAL: exit $rc"; }
grep -q "300 records; clean" "$dir/out" || fail "clean WAL: no summary"
grep -q "meta: term 7, vote 2" "$dir/out" || fail "clean WAL: meta not shown"
"$check" -v "$dir" | grep -q "index 300 " || fail "-v does not list records"

last=$(ls "$dir"/wal/*.seg | sort | tail -1)
first=$(ls "$dir"/wal/*.seg | sort | head -1)
cp "$last" "$dir/last.bak"
# Torn tail: junk after the last record of the last segment (offset 4000).
printf 'junk' | dd of="$last" bs=1 seek=4000 conv=notrunc 2>/dev/null
"$check" "$dir" > "$dir/out" 2>&1; rc=$?
[ $rc -eq 1 ] || { cat "$dir/out"; fail "torn tail: exit $rc"; }
grep -q "TORN TAIL" "$dir/out" || fail "torn tail not reported"
cp "$dir/last.bak" "$last"

# Corruption: a flipped byte in the first record of the first segment (offset 32 + 40).
printf 'X' | dd of="$first" bs=1 seek=72 conv=notrunc 2>/dev/null
"$check" "$dir" > "$dir/out" 2>&1; rc=$?
[ $rc -eq 2 ] || { cat "$dir/out"; fail "corrupt: exit $rc"; }
grep -q "CORRUPT at offset 32" "$dir/out" || { cat "$dir/out"; fail "corrupt offset not reported"; }

"$check" > /dev/null 2>&1; rc=$?
[ $rc -eq 3 ] || fail "usage: exit $rc"
echo "ok"
