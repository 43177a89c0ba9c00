#!/bin/sh
# libsynod under valgrind (ctest `client_valgrind`).
#
# The ctest tree is built with AddressSanitizer, which valgrind cannot run, so this
# script configures and builds, in its own directory, a plain (no sanitizer, gcc, -g)
# build of just test_client, synod-cli and synod-recipe-check, then runs under
# `valgrind --leak-check=full`:
#   1. the cmocka unit tests (test_client: in-process fake server, every reply path);
#   2. a representative set of the tests/client scenarios (lock, election, service
#      registry, config, watch across a reconnect, the C API checks), with SYNOD_CLI
#      and SYNOD_RECIPE_CHECK pointing at wrappers that exec the binaries under valgrind.
# Every valgrind process writes its own log (--log-file=...%p); the run fails if a test
# fails or if any log reports an error or a definite/indirect leak. A process killed
# with SIGKILL by a test (kill -9 scenarios) leaves a log without a summary: that is
# not a failure, there was nothing to check. Logs stay in OUT/vglogs for reading.
#
# Usage: valgrind_check.sh unit|scenarios|all SOURCE_DIR OUT_DIR PYTHON [SYNOD_BIN]
#   unit: only test_client; scenarios: only tests/client; all: both.
#   SYNOD_BIN given: the scenarios run against that synod server, else ZooKeeper.
#   SYNOD_VALGRIND_TESTS overrides the pytest -k selection.
# Exit 0 clean, 1 failure (valgrind missing included: scripts/deps.sh installs it).
set -eu

mode=$1
src=$2
out=$3
python=$4
synod_bin=${5:-}
case $mode in unit | scenarios | all) ;; *) echo "bad mode $mode" >&2; exit 2 ;; esac

command -v valgrind >/dev/null 2>&1 || { echo "valgrind not installed: run scripts/deps.sh" >&2; exit 1; }

build=$out/build
logs=$out/vglogs
bin=$out/bin
mkdir -p "$build" "$bin"
logs=$logs/$mode
rm -rf "$logs"
mkdir -p "$logs"

echo "== building test_client synod-cli synod-recipe-check without sanitizers in $build"
CC=gcc cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DSYNOD_SANITIZE=OFF \
        -DSYNOD_FUZZ=OFF -DSYNOD_CLIENT_TESTS_SYNOD=OFF >"$out/configure.log" 2>&1 ||
        { cat "$out/configure.log"; exit 1; }
cmake --build "$build" -j2 --target test_client synod-cli synod-recipe-check \
        >"$out/build.log" 2>&1 || { tail -50 "$out/build.log"; exit 1; }

vg="valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect"
vg="$vg --error-exitcode=99 --child-silent-after-fork=yes --num-callers=30"

# wrapper NAME BINARY: an executable $bin/NAME that execs BINARY under valgrind, so the
# PID a test kills is valgrind's (it is the client process).
wrapper() {
        cat >"$bin/$1" <<EOF
#!/bin/sh
exec $vg --log-file=$logs/$1.%p.log $2 "\$@"
EOF
        chmod +x "$bin/$1"
}
wrapper synod-cli "$build/src/cli/synod-cli"
wrapper synod-recipe-check "$build/tests/client/synod-recipe-check"

run_unit() {
        echo "== test_client under valgrind"
        if ! $vg --log-file="$logs/test_client.%p.log" "$build/tests/unit/client/test_client" \
                >"$out/test_client.out" 2>&1; then
                cat "$out/test_client.out"
                echo "test_client FAILED under valgrind"
                return 1
        fi
}

# Scenarios: one or two of each kind (all of tests/client under valgrind takes too long
# on a small machine; the ASan build runs them all).
default_k="test_create_get_set_stat_and_exit_codes or test_txn_is_all_or_nothing"
default_k="$default_k or test_watch_prints_events or test_killed_holder_hands_lock"
default_k="$default_k or test_try_lock_times_out or test_read_write_lock"
default_k="$default_k or test_lock_stops_command_on_connection_loss"
default_k="$default_k or test_election_fails_over or test_service_vanishes"
default_k="$default_k or test_config_apply_is_seen_whole or test_config_watch"
default_k="$default_k or test_watch_fires_for_change_made_while or test_election_callbacks"
default_k="$default_k or test_async_calls or test_lock_is_lost"
default_k="$default_k or test_add_then_remove_a_server or test_usage_standalone_and_reconfig"

run_scenarios() {
        target=zookeeper
        [ -n "$synod_bin" ] && target=synod
        echo "== tests/client scenarios under valgrind against $target"
        if ! env SYNOD_TEST_TARGET=$target SYNOD_BIN="$synod_bin" PYTHONDONTWRITEBYTECODE=1 \
                SYNOD_CLI="$bin/synod-cli" SYNOD_RECIPE_CHECK="$bin/synod-recipe-check" \
                "$python" -m pytest -q -p no:cacheprovider -k "${SYNOD_VALGRIND_TESTS:-$default_k}" \
                "$src/tests/client"; then
                echo "tests/client scenarios FAILED under valgrind"
                return 1
        fi
}

status=0
if [ "$mode" != scenarios ]; then
        run_unit || status=1
fi
if [ "$mode" != unit ]; then
        run_scenarios || status=1
fi

echo "== valgrind logs"
nlogs=0
nbad=0
for f in "$logs"/*.log; do
        [ -e "$f" ] || continue
        nlogs=$((nlogs + 1))
        if grep -q "ERROR SUMMARY: [1-9]" "$f"; then
                nbad=$((nbad + 1))
                echo "---- $f"
                cat "$f"
        fi
done
echo "$nlogs valgrind runs, $nbad with errors or leaks (logs in $logs)"
[ "$nbad" -eq 0 ] || status=1
exit $status
