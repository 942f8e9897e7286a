#!/usr/bin/env bats
# The seccomp supervisor's log file: records are held and written
# together, at most ~10 ms after the oldest of them was made, and always
# before sockpolicy ends (SPEC §2, README "Reaching every program").  A
# held record must reach the file while the program still runs, none may
# be lost or cut at the end, the order is the order made, and a warning
# line comes after the records made before it.

load common
bats_require_minimum_version 1.5.0

sv() {
	timeout -k 5 60 "$CLI" run --via=seccomp "$@" 3>&- 4>&-
}

# keepidle.py N: one socket, then N setsockopt(TCP_KEEPIDLE) with the
# values 1..N, in order: more records than one write carries (64 KiB).
# It ends at once after the last (no interpreter teardown), well within
# the time records are held: only the writes at the end can bring them.
write_keepidle() {
	cat >keepidle.py <<'PY'
import os, socket, sys
s = socket.socket()
for i in range(int(sys.argv[1])):
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, i + 1)
os._exit(0)
PY
}

# until_in FILE PATTERN SECS: waits (0.02 s steps) until FILE holds a
# line matching PATTERN (grep -E), at most SECS seconds; 1 if it never does
until_in() {
	local i
	for i in $(seq 1 $(($3 * 50))); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.02
	done
	return 1
}

# record_while_running PID PATTERN: a line matching PATTERN reaches
# log.txt within a second while process PID still runs; PID is ended
# either way
record_while_running() {
	local pid=$1 found=0 running=0
	until_in log.txt "$2" 1 && found=1
	kill -0 "$pid" 2>/dev/null && running=1
	kill "$pid"
	wait "$pid" || true
	[ "$found" = 1 ] || { echo "no record within 1 s:"; cat log.txt; return 1; }
	[ "$running" = 1 ]
}

@test "a log file gets a call's record within a second, while the program still runs" {
	cat >sleeper.py <<'PY'
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
open("called", "w").close()
time.sleep(20)
PY
	"$CLI" run --via=seccomp -l "$PWD/log.txt" -- "$PYTHON" sleeper.py 3>&- 4>&- &
	pid=$!
	wait_for_file called -e
	record_while_running "$pid" 'python3[.0-9]*: setsockopt\(3, SOL_SOCKET, SO_KEEPALIVE, 1\) = 0$'
	# and the socket's record before it
	[ "$(grep -cE 'python3[.0-9]*: socket\(AF_INET, SOCK_STREAM\|SOCK_CLOEXEC, 0\) = 3$' log.txt)" = 1 ]
}

# The record of a blocking accept is written by the thread that waited
# for it, not by the serving thread: after it the program makes no call
# that would wake the serving thread, and the record must still come.
@test "a blocking accept's record reaches the log file while the server still runs" {
	cat >server.py <<'PY'
import os, socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
with open("port.tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename("port.tmp", "port")
c, _ = s.accept()
open("accepted", "w").close()
time.sleep(20)
PY
	"$CLI" run --via=seccomp -l "$PWD/log.txt" -- "$PYTHON" server.py 3>&- 4>&- &
	pid=$!
	wait_for_file port
	sleep 0.3 # the server waits in accept by then: a worker takes it
	bare timeout 10 "$PYTHON" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1]))).close()' \
		"$(cat port)"
	wait_for_file accepted -e
	record_while_running "$pid" 'python3[.0-9]*: accept4\(3, .*\) = 4$'
}

@test "3,000 records to a log file (a path, fd:N), text and JSON: all there at the end, whole, in order" {
	write_keepidle
	seq 1 3000 >expected
	for dest in path fd; do
		for format in text json; do
			rm -f log
			json=
			[ "$format" = json ] && json=--json
			if [ "$dest" = path ]; then
				sv -l "$PWD/log" $json -- "$PYTHON" keepidle.py 3000
			else
				sv -l fd:5 $json -- "$PYTHON" keepidle.py 3000 5>log
			fi
			[ "$(wc -l <log)" = 3001 ] || { echo "$dest $format: $(wc -l <log) lines"; false; }
			if [ "$format" = json ]; then
				# logq checks that every line is one whole record
				[ "$(logcount log call=socket)" = 1 ]
				$LOGQ values log value call=setsockopt opt=TCP_KEEPIDLE >got
			else
				# every line whole: nothing but records of this form
				[ "$(grep -cvE '^[0-9T:.-]+Z sockpolicy\[[0-9]+\] python3[.0-9]*: (socket\(AF_INET, SOCK_STREAM\|SOCK_CLOEXEC, 0\) = 3|setsockopt\(3, SOL_TCP, TCP_KEEPIDLE, [0-9]+\) = 0)$' log)" = 0 ]
				sed -nE 's/.*TCP_KEEPIDLE, ([0-9]+)\) = 0$/\1/p' log >got
			fi
			diff expected got || { echo "$dest $format: not in order"; false; }
		done
	done
}

@test "audit counts every call of a program that makes more than one write's worth" {
	write_keepidle
	# -o keeps the log: copying it once was where a sanitized build tripped
	# over the marks CMD's clone child left on sockpolicy's stack (spawn.c)
	run --separate-stderr timeout -k 5 60 "$CLI" audit --via=seccomp -o "$PWD/kept.log" -- "$PYTHON" keepidle.py 3000 3>&- 4>&-
	[ "$status" -eq 0 ]
	[ "$(grep -c '"call":"setsockopt"' kept.log)" -eq 3000 ]
	grep -qE '^python3[.0-9]* +socket +- +- +1 +pass ' <<<"$output"
	grep -qE '^python3[.0-9]* +setsockopt +SOL_TCP +TCP_KEEPIDLE +3000 +pass ' <<<"$output" || {
		echo "$output"
		false
	}
}

# The warning of a process the supervisor may not act for (it dropped
# root, then sets an option the policy forces) is a line of its own in the
# text log, written at once: the records made just before it, still held,
# must reach the file first.
@test "a warning line in the text log comes after the records made before it" {
	[ "$(id -u)" = 0 ] || skip "needs root: the program drops it"
	cat >drop.py <<'PY'
import os, socket
s = socket.socket()
for i in range(200):
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, i + 1)
os.setgroups([]); os.setgid(65534); os.setuid(65534)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 999)
PY
	run --separate-stderr sv -p 'tcp: force SO_RCVBUF=40K' -l "$PWD/log.txt" -- "$PYTHON" drop.py
	[ "$status" -eq 0 ]
	assert_contains "$stderr" "sockpolicy: warning: the supervisor cannot act on process"
	# the numbers of the lines: socket, the injection, 200 records, the
	# warning, the refused set, the last record
	warning=$(grep -n ': warning: the supervisor cannot act on this process' log.txt | cut -d: -f1)
	last_before=$(grep -n 'TCP_KEEPIDLE, 200) = 0$' log.txt | cut -d: -f1)
	after=$(grep -n 'SO_RCVBUF, 8192) = ?$' log.txt | cut -d: -f1)
	[ "$last_before" = 202 ] || { cat log.txt; false; }
	[ "$warning" = 203 ] || { cat log.txt; false; }
	[ "$after" = 204 ]
	[ "$(wc -l <log.txt)" = 205 ]
}

# SPEC §2: a log that cannot be written never changes the program.  A
# 16 KiB file system (a tmpfs of the test's own, in a mount namespace)
# fills within the first held batch: every call still succeeds, and the
# file holds what fitted, cut at most in its last line.
@test "a full disk under the held log: every call succeeds, the log keeps what fitted" {
	write_keepidle
	mkdir small
	run timeout -k 5 60 unshare -m sh -c 'mount -t tmpfs -o size=16k tmpfs "$1" &&
		"$2" run --via=seccomp -l "$1/log.txt" -- "$3" keepidle.py 3000 3>&- 4>&-; echo "rc=$?"
		cp "$1/log.txt" kept.txt' _ "$PWD/small" "$CLI" "$PYTHON"
	[ "$status" -eq 0 ]
	assert_eq "$output" "rc=0"
	size=$(wc -c <kept.txt)
	[ "$size" -gt 8192 ] && [ "$size" -le 16384 ] || { echo "kept $size bytes"; false; }
	# whole records up to the last line
	[ "$(head -n -1 kept.txt | grep -cvE 'python3[.0-9]*: (socket|setsockopt)\(')" = 0 ]
}
