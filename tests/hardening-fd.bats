#!/usr/bin/env bats
# Issue 4, fd safety (SPEC §2 "The log"): whatever a program does to
# descriptors -- close, dup2, dup3, close_range, closefrom, raw syscalls,
# a million of them, none left -- the shim's log never lands in a file of
# the program's, and logging goes on or stops cleanly.

load common

FDPROBE=$HELPERS/fdprobe

# fdp STEPS...: fdprobe under the shim, logging JSON to log.json.
fdp() {
	SOCKPOLICY_LOG=$PWD/log.json SOCKPOLICY_LOG_FORMAT=json preload_within 30 "$FDPROBE" "$@"
}

@test "close() of the log descriptor gives EBADF; a raw close is noticed and the file opened again" {
	run fdp findlog log.json close sockets 1 rawclose sockets 2 count log.json
	[ "$status" -eq 0 ]
	assert_eq "$output" "findlog=found
close=-1 EBADF
sockets=1 failed=0
rawclose=ok
sockets=2 failed=0
count=1"
	# every call logged, before and after the raw close
	[ "$(logcount log.json call=socket)" = 3 ]
	[ "$(logcount log.json call=setsockopt opt=SO_KEEPALIVE)" = 3 ]
}

@test "a descriptor number taken from the shim by a raw dup3 is the program's: its close works, the log goes on" {
	# the program's file now sits at the number of the shim's descriptor:
	# close() must close it, not answer EBADF as for the shim's own
	run fdp own own.txt sockets 1 findlog log.json rawdup3 write close sockets 2 count own.txt count log.json
	[ "$status" -eq 0 ]
	assert_eq "$output" "own=ok
sockets=1 failed=0
findlog=found
rawdup3=ok
write=ok
close=ok
sockets=2 failed=0
count=1
count=1"
	assert_eq "$(cat own.txt)" "program data"
	# the file log was opened again for the records after the switch
	[ "$(logcount log.json call=socket)" = 3 ]
	# the same for close_range over it: the program's file is closed too
	rm -f own.txt log.json
	run fdp own own.txt sockets 1 findlog log.json rawdup3 close_range 0 sockets 1 count own.txt
	assert_eq "$output" "own=ok
sockets=1 failed=0
findlog=found
rawdup3=ok
close_range=ok
sockets=1 failed=0
count=0"
	[ "$(logcount log.json call=socket)" = 2 ]
}

@test "dup2, dup3, raw dup3 onto the log descriptor: the program gets it, its file holds only its data" {
	# "rawclose dup3": the number is free when the program takes it (the
	# shim had nothing left to move, and once stopped logging for good)
	for op in dup2 dup3 rawdup3 "rawclose dup3"; do
		rm -f own.txt log.json
		# shellcheck disable=SC2086
		run fdp own own.txt sockets 1 findlog log.json $op write sockets 2 count log.json count own.txt
		[ "$status" -eq 0 ] || { echo "$op: $output"; return 1; }
		assert_eq "$output" "own=ok
sockets=1 failed=0
findlog=found
$(for o in $op; do echo "$o=ok"; done)
write=ok
sockets=2 failed=0
count=1
count=2"
		assert_eq "$(cat own.txt)" "program data"
		[ "$(logcount log.json call=socket)" = 3 ] || { echo "$op: $(cat log.json)"; return 1; }
	done
}

@test "a forked child whose %p log number a raw dup3 took keeps that file open when it opens its own log" {
	# the child's first record opens its own plog.<pid>; the inherited
	# descriptor it leaves is the program's file now, not the parent's log
	SOCKPOLICY_LOG=$PWD/plog.%p SOCKPOLICY_LOG_FORMAT=json preload_within 30 "$FDPROBE" \
		own own.txt sockets 1 forkchild findlog-parent "$PWD/plog." rawdup3 sockets 1 write count own.txt >out.txt
	assert_eq "$(cat out.txt)" "own=ok
sockets=1 failed=0
forkchild=ok
findlog=found
rawdup3=ok
sockets=1 failed=0
write=ok
count=2"
	assert_eq "$(cat own.txt)" "program data"
	# one socket record in each process's file
	[ "$(ls plog.* | wc -l)" = 2 ]
	for f in plog.*; do [ "$(logcount "$f" call=socket)" = 1 ] || { cat "$f"; return 1; }; done
}

@test "the log descriptor as a source: dup2 and dup from it fail with EBADF, as for a descriptor never opened" {
	run fdp own own.txt findlog log.json dupfrom dupof sockets 1 count log.json
	assert_eq "$output" "own=ok
findlog=found
dupfrom=-1 EBADF
dupof=-1 EBADF
sockets=1 failed=0
count=1"
	[ ! -s own.txt ]
}

@test "close_range (plain, CLOEXEC, UNSHARE) and closefrom over the log descriptor leave it open and working" {
	for op in "close_range 0" "close_range cloexec" "close_range unshare" closefrom; do
		rm -f log.json
		# shellcheck disable=SC2086
		run fdp sockets 1 $op sockets 2 count log.json
		[ "$status" -eq 0 ] || { echo "$op: $output"; return 1; }
		assert_contains "$output" "count=1"
		[ "$(logcount log.json call=socket)" = 3 ] || { echo "$op: $output"; return 1; }
	done
}

@test "a file given as fd:N that the program closes and reuses never receives a record" {
	# the program's descriptor 3 is the log destination; the shim writes
	# to its own duplicate, so the file the program opens next at 3 is its own
	SOCKPOLICY_LOG=fd:3 SOCKPOLICY_LOG_FORMAT=json timeout 30 env LD_PRELOAD="$LIB" \
		"$FDPROBE" sockets 1 closefd 3 open own.txt sockets 2 3>log.json 4>&- >out.txt
	assert_eq "$(cat out.txt)" "sockets=1 failed=0
closefd=ok
open=3
sockets=2 failed=0"
	assert_eq "$(cat own.txt)" "program data"
	[ "$(logcount log.json call=socket)" = 3 ]
}

@test "a file given as fd:N, replaced under the shim by a raw dup3: no record reaches the program's file" {
	# the shim's copy shares the program's open file, so it is checked by
	# its inode before each record, not by a mark of its own
	SOCKPOLICY_LOG=fd:3 SOCKPOLICY_LOG_FORMAT=json timeout 30 env LD_PRELOAD="$LIB" \
		"$FDPROBE" own own.txt sockets 1 findlog log.json rawdup3 write sockets 2 3>log.json >out.txt
	assert_eq "$(cat out.txt)" "own=ok
sockets=1 failed=0
findlog=found
rawdup3=ok
write=ok
sockets=2 failed=0"
	assert_eq "$(cat own.txt)" "program data"
	# logging stopped at the first record after the switch (a descriptor
	# cannot be opened again), and the program ran on
	[ "$(logcount log.json call=socket)" = 1 ]
}

@test "stderr that is a FIFO: the shim's reopened copy is marked; replaced by a raw dup3, logging stops" {
	# SPEC §2: a descriptor that is no longer what was opened is never
	# written to; a destination other than a file is not opened again
	mkfifo fifo
	cat fifo >fromfifo.json &
	local reader=$!
	SOCKPOLICY_LOG=stderr SOCKPOLICY_LOG_FORMAT=json timeout 30 env LD_PRELOAD="$LIB" \
		"$FDPROBE" own own.txt sockets 1 findlog fifo sig log rawdup3 write sockets 2 2>fifo >out.txt
	wait "$reader"
	assert_eq "$(cat out.txt)" "own=ok
sockets=1 failed=0
findlog=found
sig=49
rawdup3=ok
write=ok
sockets=2 failed=0"
	assert_eq "$(cat own.txt)" "program data"
	[ "$(logcount fromfifo.json call=socket)" = 1 ]
}

@test "the mark that tells the log descriptor apart is never on a file the program shares" {
	# a log file the shim opened itself carries the mark ...
	run fdp findlog log.json sig log sockets 1
	assert_eq "$output" "findlog=found
sig=49
sockets=1 failed=0"
	# ... a file the program passed as fd:N or stderr is its own too: the
	# shim's duplicate shares it, so it stays unmarked (F_GETSIG 0)
	SOCKPOLICY_LOG=fd:3 SOCKPOLICY_LOG_FORMAT=json timeout 30 env LD_PRELOAD="$LIB" \
		"$FDPROBE" sockets 1 findlog log.json sig 3 sig log sockets 1 3>log.json >out.txt
	assert_eq "$(cat out.txt)" "sockets=1 failed=0
findlog=found
sig=0
sig=0
sockets=1 failed=0"
	[ "$(logcount log.json call=socket)" = 2 ]
	SOCKPOLICY_LOG=stderr SOCKPOLICY_LOG_FORMAT=json timeout 30 env LD_PRELOAD="$LIB" \
		"$FDPROBE" sockets 1 sig 2 2>err.json >out.txt
	assert_eq "$(cat out.txt)" "sockets=1 failed=0
sig=0"
	[ "$(logcount err.json call=socket)" = 1 ]
}

@test "RLIMIT_NOFILE raised: sockets far above the log, up to the hard limit, get the policy and are logged" {
	# above 65536 where the machine allows it (fs.nr_open, CAP_SYS_RESOURCE);
	# tests/unit/test_fdtab.c covers the registry up to its end, 16M
	top=$(ulimit -Hn)
	[ "$top" = unlimited ] && top=1048576
	[ "$top" -gt 1048576 ] && top=1048576
	low=$((top > 70001 ? 70000 : top - 100))
	high=$((top - 576))
	[ "$low" -gt 5000 ] || skip "RLIMIT_NOFILE hard limit $top is too low to matter"
	echo "testing fds $low and $high"
	SOCKPOLICY='SO_REUSEADDR=1; ignore SO_KEEPALIVE' run fdp rlimit "$top" lowfill "$low" socket \
		get "$low" reuseaddr set "$low" keepalive 1 get "$low" keepalive \
		dupsock "$high" set "$high" keepalive 1 get "$high" keepalive count log.json
	[ "$status" -eq 0 ]
	assert_eq "$output" "rlimit=ok
lowfill=ok
socket=$low
reuseaddr=1
set=ok
keepalive=0
dupsock=ok
set=ok
keepalive=0
count=1"
	# bare, the same steps set SO_KEEPALIVE: the policy made the difference
	run bare "$FDPROBE" rlimit "$top" dupsock "$high" set "$high" keepalive 1 get "$high" keepalive
	assert_contains "$output" "keepalive=1"
	[ "$(logcount log.json call=socket fd="$low" ret="$low")" = 1 ]
	[ "$(logcount log.json call=setsockopt fd="$low" opt=SO_REUSEADDR action=inject ret=0)" = 1 ]
	[ "$(logcount log.json call=setsockopt fd="$low" opt=SO_KEEPALIVE action=ignore)" = 1 ]
	[ "$(logcount log.json call=setsockopt fd="$high" opt=SO_KEEPALIVE action=ignore)" = 1 ]
}

@test "every descriptor below the shim's floor already used at load: the log goes above, the program's files stay clean" {
	# RLIMIT_NOFILE 256: the shim's floor is 232; descriptors 3..231 are the program's
	run timeout 30 bash -c 'ulimit -n 256 || exit 9
		for fd in $(seq 3 231); do eval "exec $fd>>prog.txt"; done
		SOCKPOLICY_LOG=$PWD/log.json SOCKPOLICY_LOG_FORMAT=json LD_PRELOAD="$1" "$2" \
			sockets 2 closefrom sockets 2 open own.txt count log.json' _ "$LIB" "$FDPROBE"
	[ "$status" -eq 0 ]
	assert_eq "$output" "sockets=2 failed=0
closefrom=ok
sockets=2 failed=0
open=3
count=1"
	[ ! -s prog.txt ]
	assert_eq "$(cat own.txt)" "program data"
	[ "$(logcount log.json call=socket)" = 4 ]
}

@test "one descriptor left free at load: the shim does not take it, the program runs as without the shim" {
	[ -z "${SOCKPOLICY_TEST_SANITIZED:-}" ] || skip "ASan's runtime needs descriptors of its own"
	# the dynamic loader itself needs one descriptor to open libc
	script='ulimit -n 32 || exit 9
		for fd in $(seq 3 30); do eval "exec $fd</dev/null"; done
		exec "$@"'
	run timeout 20 bash -c "$script" _ "$FDPROBE" socket socket
	without=$output
	[ "$status" -eq 0 ]
	assert_eq "$without" "socket=31
socket=-1"
	SOCKPOLICY_LOG=$PWD/log.txt SOCKPOLICY='SO_KEEPALIVE=1' run timeout 20 bash -c "$script" _ env LD_PRELOAD="$LIB" \
		"$FDPROBE" socket get 31 keepalive socket
	[ "$status" -eq 0 ]
	assert_eq "$output" "sockpolicy: SOCKPOLICY_LOG: no descriptor to spare for the log (the program's RLIMIT_NOFILE is all used)
socket=31
keepalive=1
socket=-1"
	[ ! -e log.txt ] || [ ! -s log.txt ]
}

@test "stdin closed and no descriptor above 2 free: the log never takes descriptor 0" {
	[ -z "${SOCKPOLICY_TEST_SANITIZED:-}" ] || skip "ASan's runtime needs descriptors of its own"
	# the program opens its own file expecting descriptor 0, as daemons do
	script='ulimit -n 16 || exit 9
		exec 0<&-
		for fd in $(seq 3 15); do eval "exec $fd</dev/null"; done
		exec "$@"'
	run timeout 20 bash -c "$script" _ "$FDPROBE" open own.txt socket
	without=$output
	assert_eq "$without" "open=0
socket=-1"
	rm -f own.txt
	SOCKPOLICY_LOG=$PWD/log.txt run timeout 20 bash -c "$script" _ env LD_PRELOAD="$LIB" "$FDPROBE" open own.txt socket
	assert_contains "${lines[0]}" "sockpolicy: SOCKPOLICY_LOG: cannot use log file '$PWD/log.txt'"
	assert_eq "$(printf '%s\n' "${lines[@]:1}")" "$without"
	assert_eq "$(cat own.txt)" "program data"
	[ ! -s log.txt ]
}

@test "a dup() that lands on the number of a socket closed inside libc gets the state of what it duplicates" {
	# fd 3 and 4: a unix pair; fd 5: a TCP socket, closed by fclose (no
	# wrapper sees it); dup(3) then gets 5, and is the unix socket: under
	# 'tcp: deny SO_SNDBUF' it sets SO_SNDBUF as without the shim.  A TCP
	# socket's dup is denied like the socket itself.
	SOCKPOLICY='tcp: deny SO_SNDBUF' run preload "$PROBE" socketpair socket inet stream \
		set socket SO_SNDBUF 4096 fclose fd 3 dup set socket SO_SNDBUF 4096 \
		socket inet stream dup set socket SO_SNDBUF 4096
	assert_eq "$output" "socketpair=0
socket=5
set SO_SNDBUF=4096 -> rc=-1 EPERM
fclose=0
dup=5
set SO_SNDBUF=4096 -> rc=0
socket=6
dup=7
set SO_SNDBUF=4096 -> rc=-1 EPERM"
}

@test "a dup keeps what the program set: a default rule does not override it on the duplicate" {
	# the program sets SO_KEEPALIVE=1, dups the socket, closes the
	# original and binds the duplicate: 'default' acts at the first bind
	# only where the program did not set the option itself
	SOCKPOLICY='tcp: default SO_KEEPALIVE=0' run preload "$PROBE" socket inet stream \
		set socket SO_KEEPALIVE 1 dup fd 3 close fd 4 bind 127.0.0.1 0 get socket SO_KEEPALIVE
	assert_eq "$output" "socket=3
set SO_KEEPALIVE=1 -> rc=0
dup=4
close=0
bind=0
SO_KEEPALIVE=1"
}

@test "a socket closed inside libc (fclose) lends nothing to the socketpair that reuses its number" {
	# under 'tcp: deny SO_SNDBUF' the unix socket must set it freely, as
	# without the shim; a stale entry once made it fail with EPERM
	SOCKPOLICY='tcp: deny SO_SNDBUF' run preload "$PROBE" socket inet stream set socket SO_SNDBUF 4096 \
		fclose socketpair set socket SO_SNDBUF 4096
	assert_eq "$output" "socket=3
set SO_SNDBUF=4096 -> rc=-1 EPERM
fclose=0
socketpair=0
set SO_SNDBUF=4096 -> rc=0"
}
