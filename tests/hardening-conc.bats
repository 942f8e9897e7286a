#!/usr/bin/env bats
# Issue 4, concurrency: signal handlers inside wrappers, fork from many
# threads, vfork and posix_spawn children, exec chains, and many processes
# appending to one log -- no deadlock, no torn or lost record, and the
# parent's state is its own when its children are gone.

load common

SPAWNER=$HELPERS/spawner

@test "a signal handler makes socket calls while the interrupted thread is inside a wrapper: no deadlock, records whole" {
	for fmt in json text; do
		rm -f log.*
		SOCKPOLICY='SO_REUSEADDR=1' SOCKPOLICY_LOG=$PWD/log.$fmt SOCKPOLICY_LOG_FORMAT=$fmt \
			run preload_within 60 "$HELPERS/sigstorm" 3000 300
		[ "$status" -eq 0 ]
		[[ "$output" =~ ^main=([0-9]+)\ handler=([0-9]+)\ bad=0$ ]]
		made=${BASH_REMATCH[1]} handled=${BASH_REMATCH[2]}
		[ "$made" -ge 3000 ]
		[ "$handled" -ge 300 ]
		echo "$fmt: $made sockets, $handled handlers"
		if [ $fmt = json ]; then
			# every record whole; every call of the handler and of the main thread logged once
			[ "$(logcount log.json call=socket type=SOCK_DGRAM)" = "$handled" ]
			[ "$(logcount log.json call=setsockopt opt=SO_BROADCAST action=pass ret=0)" = "$handled" ]
			[ "$(logcount log.json call=getsockopt opt=SO_BROADCAST value=1)" = "$handled" ]
			[ "$(logcount log.json call=socket type=SOCK_STREAM)" = "$made" ]
			[ "$(logcount log.json call=setsockopt opt=SO_REUSEADDR action=inject)" = "$((made + handled))" ]
		else
			[ "$(wc -l <log.text)" = "$((made * 4 + handled * 4))" ]
			[ "$(grep -c ' sockpolicy\[[0-9]*\] sigstorm: ' log.text)" = "$((made * 4 + handled * 4))" ]
		fi
	done
}

@test "fork from a program whose 8 threads are busy in wrappers: every child and grandchild logs, none hangs" {
	SOCKPOLICY='SO_KEEPALIVE=1' SOCKPOLICY_LOG=$PWD/log.json SOCKPOLICY_LOG_FORMAT=json \
		run preload_within 120 "$SPAWNER" fork-threads 40
	[ "$status" -eq 0 ]
	[ "$output" = "children=40 failed=0" ]
	# whole, and each child and grandchild made its one UDP socket
	[ "$(logcount log.json call=socket type=SOCK_DGRAM)" = 80 ]
	[ "$(logcount log.json call=setsockopt opt=SO_BROADCAST ret=0)" = 80 ]
	[ "$($LOGQ values log.json pid call=socket type=SOCK_DGRAM | sort -u | wc -l)" = 80 ]
	# with %p: one file per process
	rm -f log.json
	SOCKPOLICY_LOG=$PWD/log.%p.json SOCKPOLICY_LOG_FORMAT=json run preload_within 120 "$SPAWNER" fork-threads 10
	[ "$output" = "children=10 failed=0" ]
	[ "$(ls log.*.json | wc -l)" = 21 ]
	for f in log.*.json; do
		pid=${f#log.}
		pid=${pid%.json}
		[ "$(logcount "$f" pid="$pid")" = "$($LOGQ check "$f")" ]
	done
}

@test "a vfork child that makes socket calls and closes every descriptor leaves its parent's state alone" {
	# what Python's subprocess does; the parent had set SO_KEEPALIVE=0 itself,
	# and a `default` rule must still respect that when it binds afterwards
	for log in log.json 'log.%p.json'; do
		rm -f log.*
		SOCKPOLICY='default SO_KEEPALIVE=1' SOCKPOLICY_LOG=$PWD/$log SOCKPOLICY_LOG_FORMAT=json \
			run preload_within 30 "$SPAWNER" vfork data.txt
		[ "$status" -eq 0 ]
		assert_eq "$output" "child=0
parent-file=open
bind=0
SO_KEEPALIVE=0
socket-after=ok
log-descriptors=1"
		[ "$(cat data.txt)" = "parent data" ]
		[ "$(cat log.* | $LOGQ check /dev/stdin)" = 7 ]
		[ "$(cat log.* | $LOGQ count /dev/stdin call=socket type=SOCK_DGRAM)" = 1 ]
		[ "$(cat log.* | $LOGQ count /dev/stdin action=inject)" = 0 ]
		rm -f data.txt
	done
	# the same in the program users meet: Python's subprocess (vfork, close_range)
	cat >sub.py <<-'PY'
		import socket, subprocess
		s = socket.socket()
		s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 0)
		subprocess.run(["true"])
		s.bind(("127.0.0.1", 0))
		print(s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))
	PY
	SOCKPOLICY='default SO_KEEPALIVE=1' run preload_within 30 "$PYTHON" sub.py
	[ "$output" = 0 ]
}

@test "posix_spawn children: logged in their own right, and the parent goes on with its sockets and files" {
	for log in log.json 'log.%p.json'; do
		rm -f log.* data.txt
		SOCKPOLICY='default SO_KEEPALIVE=1' SOCKPOLICY_LOG=$PWD/$log SOCKPOLICY_LOG_FORMAT=json \
			run preload_within 30 "$SPAWNER" spawn data.txt "$PROBE" socket inet dgram fd 7 get socket SO_KEEPALIVE
		[ "$status" -eq 0 ]
		assert_eq "$output" "socket=3
SO_KEEPALIVE=-1 ENOTSOCK
child=0
parent-file=open
bind=0
SO_KEEPALIVE=0
socket-after=ok
log-descriptors=1"
		[ "$(cat log.* | $LOGQ count /dev/stdin prog=sockprobe call=socket)" = 1 ]
		[ "$(cat log.* | $LOGQ count /dev/stdin prog=spawner call=socket)" = 2 ]
	done
}

@test "exec chains: each program in the chain logs, and no descriptor of the shim survives an exec" {
	SOCKPOLICY='SO_KEEPALIVE=1' SOCKPOLICY_LOG=$PWD/log.json SOCKPOLICY_LOG_FORMAT=json \
		run preload_within 30 "$SPAWNER" exec 5
	without=$(bare "$SPAWNER" exec 5)
	# the same descriptors at every stage, and as many as without the shim
	# plus its own one
	echo "$output"
	[ "$(echo "$output" | sed 's/fds=.*//' | tr '\n' ' ')" = "stage=5  stage=4  stage=3  stage=2  stage=1  stage=0  " ]
	[ "$(echo "$output" | sed 's/.*fds=//' | sort -u | wc -l)" = 1 ]
	[ "$(echo "$output" | sed -n 's/.*fds=//p' | head -n1)" = "$(( $(echo "$without" | sed -n 's/.*fds=//p' | head -n1) + 1 ))" ]
	[ "$(logcount log.json call=socket)" = 6 ]
	[ "$(logcount log.json action=inject opt=SO_KEEPALIVE)" = 6 ]
	[ "$($LOGQ values log.json pid | sort -u | wc -l)" = 1 ]
	# through sh and python too, logging to stderr: each stage its own duplicate
	SOCKPOLICY_LOG=stderr run preload_within 30 sh -c 'exec "$1" -c "import os; os.execv(\"$2\", [\"$2\", \"exec\", \"2\"])"' sh "$PYTHON" "$SPAWNER"
	[ "$(echo "$output" | grep -c 'spawner: socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0) = ')" = 3 ]
}

@test "many processes appending to one log file: no torn and no lost line" {
	cat >many.sh <<-'SH'
		for i in $(seq 1 16); do
		    "$1" 2 300 >/dev/null &
		    "$2" "$(printf 'unix-%0100d' "$i")" >/dev/null &
		done
		wait
	SH
	SOCKPOLICY='SO_REUSEADDR=1; force SO_KEEPALIVE=1' SOCKPOLICY_LOG=$PWD/log.json SOCKPOLICY_LOG_FORMAT=json \
		run preload_within 120 sh many.sh "$HELPERS/threads" "$HELPERS/sunpath"
	[ "$status" -eq 0 ]
	# threads: 2 x 300 sockets, each logged with its two injections and its
	# forced setsockopt; sunpath: 6 calls on unix sockets, which the policy
	# leaves alone
	[ "$($LOGQ check log.json)" = "$((16 * 600 * 4 + 16 * 6))" ]
	[ "$(logcount log.json prog=threads call=socket)" = "$((16 * 600))" ]
	[ "$(logcount log.json prog=sunpath call=bind ret=0)" = 16 ]
	[ "$($LOGQ values log.json pid | sort -u | wc -l)" = 32 ]
	# the same in text: one whole line per record
	SOCKPOLICY='SO_REUSEADDR=1; force SO_KEEPALIVE=1' SOCKPOLICY_LOG=$PWD/log.txt run preload_within 120 sh many.sh "$HELPERS/threads" "$HELPERS/sunpath"
	[ "$(wc -l <log.txt)" = "$((16 * 600 * 4 + 16 * 6))" ]
	[ "$(grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{15}Z sockpolicy\[[0-9]+\] (threads|sunpath): [a-z]+\(.*\) = -?[0-9]+' log.txt)" = "$((16 * 600 * 4 + 16 * 6))" ]
}
