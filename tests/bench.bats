#!/usr/bin/env bats
# The benchmark (issue 5) runs: `bench --quick` prints every table whole.
# Speed is never asserted here -- `make bench` shows it; a timed test on a
# shared machine would only measure the neighbours.

load common

BENCH=$SP_BUILD/bench/bench
OPS='socket\+close TCP|socket\+close UDP|setsockopt|getsockopt|socket\+setsockopt\+bind\+close'

@test "bench --quick prints the wall-clock, instruction and load-time tables, and every target" {
	[ -x "$BENCH" ] || skip "bench not built"
	# valgrind cannot run ASan programs, and LeakSanitizer none under strace
	[ -z "${SOCKPOLICY_TEST_SANITIZED:-}" ] || skip "a sanitized build is not benchmarked"
	run timeout 120 "$BENCH" --lib "$LIB" --quick
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	# wall-clock: every operation, in ns and as a ratio, in every column
	cols=7
	command -v strace >/dev/null || cols=5
	[ "$(grep -cE "^($OPS) +([0-9]+ +){$((cols - 1))}[0-9]+$" <<<"$output")" = 5 ]
	[ "$(grep -cE "^($OPS) +([0-9]+\.[0-9]+x +){$((cols - 1))}[0-9]+\.[0-9]+x$" <<<"$output")" = 5 ]
	# load time: three rows of figures
	[ "$(grep -cE '^(bare|shim, no policy|shim, 1,000 rules) +[0-9]+\.[0-9]+ +[-+][0-9.]+' <<<"$output")" = 3 ]
	if command -v valgrind >/dev/null; then
		# instructions: bare absolute, the four shim columns over it
		[ "$(grep -cE "^($OPS) +[0-9]+( +[-+][0-9]+){4}$" <<<"$output")" = 5 ]
		assert_contains "$output" "malloc/free/lock calls"
		[ "$(grep -cE ' (met|NOT MET)$' <<<"$output")" -ge 6 ]
	fi
	assert_contains "$output" "Targets (issue 5)"
	assert_contains "$output" "load time, 1,000 rules"
}

@test "bench refuses a missing library and bad options, with status 2" {
	[ -x "$BENCH" ] || skip "bench not built"
	run "$BENCH" --lib "$BATS_TEST_TMPDIR/none.so" --quick
	[ "$status" -eq 2 ]
	run "$BENCH" --quick
	[ "$status" -eq 2 ]
	run "$BENCH" --lib "$LIB" --runs 0
	[ "$status" -eq 2 ]
}
