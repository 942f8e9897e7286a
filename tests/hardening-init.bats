#!/usr/bin/env bats
# Issue 4, start-up order: the shim serves calls made before its own
# constructor has run -- from another library's constructor, from many
# threads at once, from a child forked in the middle of it all.

load common

EARLY=$HELPERS/libearly.so

# early PRELOAD STEPS...: the probe with PRELOAD (a colon list) preloaded.
early() {
	local list=$1
	shift
	timeout 60 env LD_PRELOAD="$list" "$PROBE" "$@" 3>&- 4>&-
}

@test "another library's constructor that runs first: its socket() and getsockopt() already get the policy" {
	# LD_PRELOAD=shim:early runs early's constructor first (ld.so initialises
	# the preloaded objects last to first); shown by LD_DEBUG, not assumed
	SOCKPOLICY='SO_KEEPALIVE=1' SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json LD_DEBUG=files \
		run early "$LIB:$EARLY" socket inet stream get socket SO_KEEPALIVE
	[ "$status" -eq 0 ]
	order=$(echo "$output" | sed -n 's/.*calling init: .*\/\(lib[a-z]*\.so\)$/\1/p' | grep -E 'libearly|libsockpolicy' | tr '\n' ' ')
	assert_eq "$order" "libearly.so libsockpolicy.so "
	assert_contains "$output" "early: constructor SO_KEEPALIVE=1"
	assert_contains "$output" "SO_KEEPALIVE=1"
	# logged too: the constructor's calls come first in the log
	run $LOGQ values log.json call
	assert_eq "$(echo "$output" | head -n 4 | tr '\n' ' ')" "socket setsockopt getsockopt socket "
	[ "$(logcount log.json call=getsockopt opt=SO_KEEPALIVE value=1)" = 2 ]
	# and the other way round, the shim first: the same
	SOCKPOLICY='SO_KEEPALIVE=1' LD_DEBUG=files run early "$EARLY:$LIB" socket inet stream
	order=$(echo "$output" | sed -n 's/.*calling init: .*\/\(lib[a-z]*\.so\)$/\1/p' | grep -E 'libearly|libsockpolicy' | tr '\n' ' ')
	assert_eq "$order" "libsockpolicy.so libearly.so "
	assert_contains "$output" "early: constructor SO_KEEPALIVE=1"
}

@test "64 threads whose very first call is socket() race the lazy start: every one gets the policy" {
	for i in $(seq 1 10); do
		rm -f log.json
		SP_EARLY_THREADS=64 SOCKPOLICY='SO_KEEPALIVE=1' SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json \
			run early "$LIB:$EARLY" socket inet stream
		[ "$status" -eq 0 ] || { echo "round $i: status $status: $output"; return 1; }
		assert_eq "$output" "early: threads=64 keepalive=1 in 64
early: constructor SO_KEEPALIVE=1
socket=3"
		[ "$(logcount log.json call=socket ret=-1)" = 0 ]
		[ "$(logcount log.json call=socket)" = 66 ]
		[ "$(logcount log.json call=setsockopt action=inject opt=SO_KEEPALIVE ret=0)" = 66 ]
		[ "$($LOGQ values log.json tid call=getsockopt | sort -u | wc -l)" -ge 64 ]
	done
}

@test "a child forked while another thread is starting the shim starts it itself instead of waiting for ever" {
	# GCC's ASan allocator keeps the lock a parent's thread held at fork:
	# the child's first malloc waits for ever (glibc's malloc resets it)
	[ -z "${SOCKPOLICY_TEST_SANITIZED:-}" ] || skip "ASan's allocator is not fork-safe in threaded programs"
	# one thread forks 20 times while 8 others race the start; each child
	# makes a socket at once and dies of SIGALRM after 5 s if it hangs
	for i in 1 2 3; do
		SP_EARLY_FORK=1 SP_EARLY_THREADS=8 SOCKPOLICY='SO_KEEPALIVE=1' run early "$LIB:$EARLY" socket inet stream
		[ "$status" -eq 0 ]
		assert_contains "$output" "early: forked children failed=0"
		assert_contains "$output" "early: threads=8 keepalive=1 in 8"
	done
}

@test "a signal handler that makes socket calls while the shim starts: no deadlock, every call served" {
	# a 20 us timer whose handler calls socket() and getsockopt(), running
	# from before the shim's first call (in libearly's constructor) on
	for i in 1 2 3; do
		rm -f log.json
		SP_EARLY_SIGNALS=1 SOCKPOLICY='SO_KEEPALIVE=1' SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json \
			run early "$LIB:$EARLY" socket inet stream
		[ "$status" -eq 0 ]
		assert_eq "$output" "early: signals=some
early: constructor SO_KEEPALIVE=1
socket=3"
		# every record whole; the calls after the start all have the policy
		n=$($LOGQ check log.json)
		[ "$n" -ge 600 ] || { echo "$n records"; return 1; }
		[ "$(logcount log.json call=getsockopt value=0)" = 0 ]
	done
}
