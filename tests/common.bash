# Shared by every bats suite: where the build is, and small helpers.
# SOCKPOLICY_TESTLIB / SOCKPOLICY_TESTCLI point the suites at an installed
# build instead of build/ (as libfaketime's FAKETIME_TESTLIB does).
#
# A negated command (`! cmd`) never fails a test unless it is the test's
# last command (bash's errexit ignores it): write `! cmd || false`.

SP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=${B:-build}
case "$B" in /*) SP_BUILD=$B ;; *) SP_BUILD=$SP_ROOT/$B ;; esac
LIB=${SOCKPOLICY_TESTLIB:-$SP_BUILD/libsockpolicy.so}
CLI=${SOCKPOLICY_TESTCLI:-$SP_BUILD/sockpolicy}
HELPERS=$SP_BUILD/tests
PROBE=$HELPERS/sockprobe
# The interpreter itself, not a version manager's shim: a pyenv shim is a
# bash script whose own socket calls (name-service lookups) would show up
# in every log and summary the suites read.
PYTHON=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}
LOGQ="$PYTHON $SP_ROOT/tests/logq"

# No policy or log from the calling environment may leak into a test.
unset SOCKPOLICY SOCKPOLICY_FILE SOCKPOLICY_LOG SOCKPOLICY_LOG_FORMAT SOCKPOLICY_STRICT LD_PRELOAD

# Every test runs in its own temporary directory.
common_setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
}
setup() { common_setup; }

# Whatever a test left running in the background is ended with it, so that
# a failed test never leaves a server waiting for a client.
common_teardown() {
	local pids
	pids=$(jobs -p)
	[ -z "$pids" ] || kill $pids 2>/dev/null || true
}
teardown() { common_teardown; }

# preload CMD...: runs CMD with the library preloaded (and the SOCKPOLICY*
# variables the caller put in the environment of this call).
# bats keeps descriptors 3 and 4 open; the program gets them closed, as it
# would outside the test runner.
preload() {
	env LD_PRELOAD="$LIB" "$@" 3>&- 4>&-
}

# preload_within SECS CMD...: preload, killed after SECS seconds (status 124).
preload_within() {
	timeout "$1" env LD_PRELOAD="$LIB" "${@:2}" 3>&- 4>&-
}

# bare CMD...: the same without the library.
bare() {
	"$@" 3>&- 4>&-
}

# The JSON log must be whole: every line a JSON object.  Prints the count
# of records matching KEY=VALUE filters.
logcount() {
	$LOGQ count "$@"
}

# Waits until FILE is not empty (a server's port file), up to 30 s: a
# loaded CI machine can take seconds to start an interpreter.  TEST -e:
# until it exists (an empty marker file).
wait_for_file() {
	local i test=${2:--s}
	for i in $(seq 1 600); do
		[ "$test" "$1" ] && return 0
		sleep 0.05
	done
	echo "timed out waiting for $1" >&2
	return 1
}

# Fails the test with what was expected and what came.
assert_eq() {
	if [ "$1" != "$2" ]; then
		echo "expected: $2"
		echo "got:      $1"
		return 1
	fi
}

assert_contains() {
	if [[ "$1" != *"$2"* ]]; then
		echo "expected to contain: $2"
		echo "got: $1"
		return 1
	fi
}

assert_not_contains() {
	if [[ "$1" == *"$2"* ]]; then
		echo "expected not to contain: $2"
		echo "got: $1"
		return 1
	fi
}
