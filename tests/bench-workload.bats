#!/usr/bin/env bats
# make bench's real workload (issue 11): nginx under wrk, a new connection
# per request, in six configurations.  `--quick` proves that the script
# works and leaves nothing behind; speed is never asserted (see bench.bats).

load common

WORKLOAD=$SP_ROOT/tests/bench/workload.sh
NAMES='bare|shim, no policy|shim, at=accept rule|shim, 1,000 rules|shim, JSON log|strace -f'

need() {
	# a sanitized library is not benchmarked (bench.bats)
	[ -z "${SOCKPOLICY_TEST_SANITIZED:-}" ] || skip "a sanitized build is not benchmarked"
	local c
	for c in nginx wrk strace ss; do
		command -v "$c" >/dev/null || {
			echo "$c is not installed (.ci/run installs it)"
			return 1
		}
	done
}

# ours PATTERN: the pids of processes whose command line holds PATTERN.
ours() {
	pgrep -f -- "$1" || true
}

@test "workload --quick prints six rows with requests/s, CPU per request and ratios, then ends every process" {
	need
	export TMPDIR=$BATS_TEST_TMPDIR
	run timeout 120 "$WORKLOAD" --lib "$LIB" --quick
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	# each row: name, requests/s, ratio, CPU us per request, ratio
	[ "$(grep -cE "^($NAMES) +[0-9]+ +[0-9]+\.[0-9]{2}x +[0-9]+\.[0-9] +[0-9]+\.[0-9]{2}x$" <<<"$output")" = 6 ] ||
		{ echo "$output"; return 1; }
	grep -qE '^bare +[0-9]+ +1\.00x +[0-9.]+ +1\.00x$' <<<"$output"
	# a new connection per request, or the table would measure keep-alive
	grep -qE 'connections per request \(bare, nginx stub_status\): 1\.0[0-9]{2};' <<<"$output" ||
		{ echo "$output"; return 1; }
	# the JSON log and strace rows did log and trace
	[[ "$output" =~ JSON\ log:\ ([0-9]+)\ records ]] && [ "${BASH_REMATCH[1]}" -gt 0 ]
	[[ "$output" =~ strace:\ ([0-9]+)\ accept4 ]] && [ "${BASH_REMATCH[1]}" -gt 0 ]
	# nothing left: no nginx, strace or timeout of its temporary directory
	[ -z "$(ours "$BATS_TEST_TMPDIR/sockpolicy-workload")" ]
	[ -z "$(ls -d "$BATS_TEST_TMPDIR"/sockpolicy-workload.* 2>/dev/null)" ]
}

@test "workload stopped midway (SIGTERM, SIGINT) ends every process it started" {
	need
	export TMPDIR=$BATS_TEST_TMPDIR
	local sig pid script i n
	for sig in TERM INT; do
		timeout 120 "$WORKLOAD" --lib "$LIB" --rounds 5 >out.txt 2>&1 3>&- 4>&- &
		pid=$!
		# all six servers (and strace) are up once wrk runs; a loaded
		# host can take seconds to start them
		for i in $(seq 1 1200); do
			pgrep -x wrk >/dev/null && [ "$(ours "$BATS_TEST_TMPDIR/sockpolicy-workload" | wc -l)" -ge 13 ] && break
			sleep 0.05
		done
		n=$(ours "$BATS_TEST_TMPDIR/sockpolicy-workload" | wc -l)
		[ "$n" -ge 13 ] || { echo "$sig: $n processes"; cat out.txt; return 1; }
		# twice, as timeout(1) or a terminal may send it: once to the
		# script, once to its process group; the second must not cut the
		# first one's cleanup short
		script=$(pgrep -P "$pid")
		kill -"$sig" "$script"
		sleep 0.05
		kill -"$sig" "$script" 2>/dev/null || true
		wait "$pid" || true
		[ -z "$(ours "$BATS_TEST_TMPDIR/sockpolicy-workload")" ] || {
			ps -o pid,args -p "$(ours "$BATS_TEST_TMPDIR/sockpolicy-workload" | paste -sd,)"
			return 1
		}
		[ -z "$(ls -d "$BATS_TEST_TMPDIR"/sockpolicy-workload.* 2>/dev/null)" ]
	done
}

@test "workload refuses bad options and a missing library, with status 2" {
	run "$WORKLOAD" --quick
	[ "$status" -eq 2 ]
	run "$WORKLOAD" --lib "$BATS_TEST_TMPDIR/none.so" --quick
	[ "$status" -eq 2 ]
	assert_contains "$output" "no library at"
	run "$WORKLOAD" --lib "$LIB" --rounds 0
	[ "$status" -eq 2 ]
	assert_contains "$output" "'0' is not a count"
	run "$WORKLOAD" --lib "$LIB" --bogus
	[ "$status" -eq 2 ]
}
