#!/usr/bin/env bats
# What the library is as a file (SPEC §1, the design card): it needs libc
# alone, and exports the wrapped functions and nothing else.

load common

@test "the library needs only libc" {
	run readelf -d "$LIB"
	[ "$status" -eq 0 ]
	needed=$(echo "$output" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
	# a SANITIZE=1 build adds the sanitizers' runtimes, and nothing else
	[ -z "${SOCKPOLICY_TEST_SANITIZED:-}" ] || needed=${needed/libasan.so.8 libubsan.so.1 /}
	assert_eq "$needed" "libc.so.6 "
}

@test "only the wrapped functions are exported" {
	# the eight of SPEC §4, the six that hide the log descriptor, and
	# socketpair, whose sockets get fresh per-socket state
	run sh -c "nm -D --defined-only '$LIB' | awk '{print \$3}' | sort | tr '\n' ' '"
	assert_eq "$output" "accept accept4 bind close close_range closefrom connect dup dup2 dup3 getsockopt listen setsockopt socket socketpair "
}

@test "it is built with full RELRO, and loads into a program that never opens a socket" {
	run readelf -d "$LIB"
	assert_contains "$output" "BIND_NOW"
	run readelf -l "$LIB"
	assert_contains "$output" "GNU_RELRO"
	run preload true
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}
