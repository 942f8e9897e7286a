#!/usr/bin/env bats
# Promises of SPEC.md that no other suite checks: live selectors on a
# program's own calls, where errors and results go, which sockets tcp/udp
# and a lone negated selector reach, audit's empty policy, default at
# listen/connect, the empty and unusable log destinations, the time of a
# record, compile-time errors named by their source, the 4 MiB file limit,
# byte columns, a C++ program, and the last line of tests/run.

bats_require_minimum_version 1.5.0
load common

probe() { preload_within 20 "$PROBE" "$@"; }

# A TCP port on 127.0.0.1 that was free a moment ago.
free_port() {
	bare "$PROBE" socket inet stream bind 127.0.0.1 0 port | sed -n 's/^port=//p'
}

# Line N of $output.
line() { echo "$output" | sed -n "${1}p"; }

@test "port=/dport= read the socket's own port and peer: force, deny, at=listen and at=accept" {
	port=$(free_port)
	[ -n "$port" ]
	SOCKPOLICY="tcp at=listen port=$port: TCP_DEFER_ACCEPT=1; tcp at=accept port=$port: TCP_NODELAY=1;
		tcp port=$port: force SO_RCVBUF=48K; tcp dport=$port: deny SO_KEEPALIVE" \
		SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json run probe \
		socket inet stream set socket SO_RCVBUF 4096 bind 127.0.0.1 "$port" \
		set socket SO_RCVBUF 4096 get socket SO_RCVBUF listen 4 get tcp TCP_DEFER_ACCEPT \
		socket inet stream set socket SO_KEEPALIVE 1 connect 127.0.0.1 "$port" \
		set socket SO_KEEPALIVE 1 get tcp TCP_NODELAY set socket SO_RCVBUF 4096 \
		socket inet stream bind 127.0.0.1 0 listen 4 get tcp TCP_DEFER_ACCEPT \
		fd 3 accept get tcp TCP_NODELAY set socket SO_RCVBUF 4096 get socket SO_RCVBUF \
		set socket SO_KEEPALIVE 1
	[ "$status" -eq 0 ]
	assert_eq "$output" "socket=3
set SO_RCVBUF=4096 -> rc=0
bind=0
set SO_RCVBUF=4096 -> rc=0
SO_RCVBUF=98304
listen=0
TCP_DEFER_ACCEPT=1
socket=4
set SO_KEEPALIVE=1 -> rc=0
connect=0
set SO_KEEPALIVE=1 -> rc=-1 EPERM
TCP_NODELAY=0
set SO_RCVBUF=4096 -> rc=0
socket=5
bind=0
listen=0
TCP_DEFER_ACCEPT=0
accept=6
TCP_NODELAY=1
set SO_RCVBUF=4096 -> rc=0
SO_RCVBUF=98304
set SO_KEEPALIVE=1 -> rc=0"
	# fd 3: before bind it has no port (pass); after, its current port forces
	[ "$(logcount log.json call=setsockopt fd=3 opt=SO_RCVBUF action=pass value=4096)" = 1 ]
	[ "$(logcount log.json call=setsockopt fd=3 opt=SO_RCVBUF action=force requested=4096 value=49152 ret=0)" = 1 ]
	[ "$(logcount log.json call=setsockopt fd=3 opt=TCP_DEFER_ACCEPT action=inject value=1)" = 1 ]
	[ "$(logcount log.json opt=TCP_DEFER_ACCEPT action=inject)" = 1 ]      # not the other listener
	# fd 4: no peer before connect (pass); its peer afterwards is denied; its
	# own local port is another, so no force
	[ "$(logcount log.json call=setsockopt fd=4 opt=SO_KEEPALIVE action=pass)" = 1 ]
	[ "$(logcount log.json call=setsockopt fd=4 opt=SO_KEEPALIVE action=deny ret=-1 errno=EPERM)" = 1 ]
	[ "$(logcount log.json call=setsockopt fd=4 opt=SO_RCVBUF action=pass value=4096)" = 1 ]
	# plain accept(): fd is the listener, the injection goes to the new socket,
	# whose local port is the listener's (force) and whose peer is not (no deny)
	[ "$(logcount log.json call=accept fd=3 ret=6)" = 1 ]
	[ "$(logcount log.json call=setsockopt fd=6 opt=TCP_NODELAY action=inject value=1 ret=0)" = 1 ]
	[ "$(logcount log.json opt=TCP_NODELAY action=inject)" = 1 ]
	[ "$(logcount log.json call=setsockopt fd=6 opt=SO_RCVBUF action=force requested=4096 value=49152)" = 1 ]
	[ "$(logcount log.json call=setsockopt fd=6 opt=SO_KEEPALIVE action=pass ret=0)" = 1 ]
}

@test "errors go to stderr, results to stdout: check, run, report, and the library's policy error" {
	run --separate-stderr bare "$CLI" check -p 'SO_REUSEADR=1'
	[ "$status" -eq 2 ]
	assert_eq "$output" ""
	assert_eq "$stderr" "sockpolicy: SOCKPOLICY:1:1: unknown option 'SO_REUSEADR' (did you mean 'SO_REUSEADDR'?)"
	run --separate-stderr bare "$CLI" check -p 'SO_REUSEADDR=1; tcp: TCP_NODELAY=on'
	[ "$status" -eq 0 ]
	assert_eq "$output" "set SO_REUSEADDR=1
tcp: set TCP_NODELAY=1"
	assert_eq "$stderr" ""
	# the library: the program's stdout holds only the program's output
	SOCKPOLICY='SO_REUSEADR=1' run --separate-stderr preload "$PROBE" socket inet stream get socket SO_REUSEADDR
	[ "$status" -eq 0 ]
	assert_eq "$output" "socket=3
SO_REUSEADDR=0"
	assert_eq "$stderr" "sockpolicy: SOCKPOLICY:1:1: unknown option 'SO_REUSEADR' (did you mean 'SO_REUSEADDR'?)"
	# run refuses a bad policy on stderr; the command's output is its own
	run --separate-stderr bare "$CLI" run -p 'SO_REUSEADR=1' -- echo started
	[ "$status" -eq 125 ]
	assert_eq "$output" ""
	assert_contains "$stderr" "sockpolicy: SOCKPOLICY:1:1: unknown option 'SO_REUSEADR'"
	run --separate-stderr bare "$CLI" run -p 'SO_REUSEADDR=1' -- echo started
	[ "$status" -eq 0 ]
	assert_eq "$output" "started"
	assert_eq "$stderr" ""
	# report: a missing file is named on stderr, nothing on stdout
	run --separate-stderr bare "$CLI" report missing.json
	[ "$status" -eq 2 ]
	assert_eq "$output" ""
	assert_contains "$stderr" "missing.json"
	[[ "$stderr" == "sockpolicy: "* ]]
	# a missing policy file for check, and a usage error
	run --separate-stderr bare "$CLI" check -f missing.conf
	[ "$status" -eq 2 ]
	assert_eq "$output" ""
	assert_contains "$stderr" "missing.conf"
	run --separate-stderr bare "$CLI" check --no-such-option
	[ "$status" -eq 2 ]
	assert_eq "$output" ""
	[[ "$stderr" == "sockpolicy: "* ]]
	# results of options, --help, --version: stdout only
	for args in options --help --version; do
		run --separate-stderr bare "$CLI" $args
		[ "$status" -eq 0 ]
		[ -n "$output" ]
		assert_eq "$stderr" ""
	done
}

@test "a lone negated selector keeps the rule on inet and inet6: unix sockets are untouched" {
	SOCKPOLICY='!udp: SO_SNDBUF=64K' SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json run probe \
		socket unix stream get socket SO_SNDBUF socket inet stream get socket SO_SNDBUF \
		socket inet dgram socket inet6 stream get socket SO_SNDBUF socket unix dgram
	[ "$status" -eq 0 ]
	[ "$(line 4)" = "SO_SNDBUF=131072" ]     # tcp: the kernel doubles 64K
	[ "$(line 7)" = "SO_SNDBUF=131072" ]     # tcp over inet6
	[ "$(logcount log.json action=inject fd=3)" = 0 ]   # unix stream
	[ "$(logcount log.json action=inject fd=4 opt=SO_SNDBUF value=65536)" = 1 ]
	[ "$(logcount log.json action=inject fd=5)" = 0 ]   # udp, left out
	[ "$(logcount log.json action=inject fd=6 opt=SO_SNDBUF value=65536)" = 1 ]
	[ "$(logcount log.json action=inject fd=7)" = 0 ]   # unix dgram
	# a negated type selector alone and a negated prog= alone do the same
	SOCKPOLICY='!stream: SO_SNDBUF=64K; !prog=nothing*: SO_RCVBUF=64K' SOCKPOLICY_LOG=log2.json \
		SOCKPOLICY_LOG_FORMAT=json run probe socket unix dgram socket unix stream socket inet dgram
	[ "$status" -eq 0 ]
	[ "$(logcount log2.json action=inject fd=3)" = 0 ]
	[ "$(logcount log2.json action=inject fd=4)" = 0 ]
	[ "$(logcount log2.json action=inject fd=5)" = 2 ]
}

@test "tcp and udp by protocol: TCP and MPTCP streams, UDP datagrams; not UDP-Lite, not unix" {
	cat >mk.py <<'PY'
import socket, sys
keep = []
for name, f, t, p in [("tcp", 2, 1, 6), ("mptcp", 10, 1, 262), ("udp", 2, 2, 17),
                      ("udplite", 2, 2, 136), ("unix", 1, 1, 0), ("unixdgram", 1, 2, 0),
                      ("tcp6", 10, 1, 0), ("udp6", 10, 2, 0)]:
    try:
        s = socket.socket(f, t, p)
    except OSError as e:
        print(name, "unavailable", e.errno)
        continue
    keep.append(s)
    print(name, s.fileno())
PY
	SOCKPOLICY='tcp: SO_SNDBUF=64K; udp: SO_RCVBUF=64K; dgram: SO_PRIORITY=3' \
		SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json run preload_within 20 "$PYTHON" mk.py
	[ "$status" -eq 0 ]
	echo "$output"
	fd() { echo "$output" | sed -n "s/^$1 \\([0-9]*\\)$/\\1/p"; }
	for s in tcp udp udplite unix unixdgram tcp6 udp6; do
		[ -n "$(fd $s)" ]
	done
	# tcp (IPPROTO_TCP, and protocol 0 over inet6)
	for s in tcp tcp6; do
		[ "$(logcount log.json fd=$(fd $s) action=inject opt=SO_SNDBUF value=65536 ret=0)" = 1 ]
		[ "$(logcount log.json fd=$(fd $s) action=inject)" = 1 ]
	done
	# udp (IPPROTO_UDP, and 0 over inet6): the udp rule and the dgram rule
	for s in udp udp6; do
		[ "$(logcount log.json fd=$(fd $s) action=inject opt=SO_RCVBUF value=65536 ret=0)" = 1 ]
		[ "$(logcount log.json fd=$(fd $s) action=inject opt=SO_PRIORITY value=3)" = 1 ]
		[ "$(logcount log.json fd=$(fd $s) action=inject)" = 2 ]
	done
	# UDP-Lite is a datagram but not udp
	[ "$(logcount log.json fd=$(fd udplite) action=inject opt=SO_PRIORITY value=3)" = 1 ]
	[ "$(logcount log.json fd=$(fd udplite) action=inject)" = 1 ]
	# unix: neither tcp nor udp, and dgram is no family selector
	[ "$(logcount log.json fd=$(fd unix) action=inject)" = 0 ]
	[ "$(logcount log.json fd=$(fd unixdgram) action=inject)" = 0 ]
	# MPTCP is tcp, where the kernel has it (else tests/unit/test_sockclass covers it)
	if [ -n "$(fd mptcp)" ]; then
		[ "$(logcount log.json fd=$(fd mptcp) protocol=IPPROTO_MPTCP call=socket)" = 1 ]
		[ "$(logcount log.json fd=$(fd mptcp) action=inject opt=SO_SNDBUF value=65536)" = 1 ]
		[ "$(logcount log.json fd=$(fd mptcp) action=inject)" = 1 ]
	else
		echo "# this kernel has no MPTCP: $(echo "$output" | grep '^mptcp')" >&3
	fi
}

@test "UDP_CORK=1 reaches UDP sockets only" {
	SOCKPOLICY='UDP_CORK=1' SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json run probe \
		socket inet stream socket inet dgram get udp UDP_CORK socket inet6 dgram udp get udp UDP_CORK \
		socket unix dgram socket inet6 stream tcp
	[ "$status" -eq 0 ]
	assert_eq "$output" "socket=3
socket=4
UDP_CORK=1
socket=5
UDP_CORK=1
socket=6
socket=7"
	[ "$(logcount log.json action=inject opt=UDP_CORK level=SOL_UDP value=1 ret=0)" = 2 ]
	[ "$(logcount log.json action=inject fd=4)" = 1 ]
	[ "$(logcount log.json action=inject fd=5)" = 1 ]
	[ "$(logcount log.json action=inject fd=3)" = 0 ]
	[ "$(logcount log.json action=inject fd=6)" = 0 ]
	[ "$(logcount log.json action=inject fd=7)" = 0 ]
}

@test "audit runs with no policy, whatever SOCKPOLICY_FILE or /etc/sockpolicy.conf say" {
	echo 'SO_KEEPALIVE=1' >keep.conf
	# the inherited file applies to a plain preload...
	SOCKPOLICY_FILE=$PWD/keep.conf run probe socket inet stream get socket SO_KEEPALIVE
	assert_eq "$output" "socket=3
SO_KEEPALIVE=1"
	# ...but not under audit
	SOCKPOLICY_FILE=$PWD/keep.conf run bare "$CLI" audit -o audit.json -- "$PROBE" socket inet stream \
		get socket SO_KEEPALIVE
	[ "$status" -eq 0 ]
	assert_contains "$output" "SO_KEEPALIVE=0"
	assert_not_contains "$output" "inject"
	[ "$(logcount audit.json action=inject)" = 0 ]
	[ "$(logcount audit.json call=getsockopt opt=SO_KEEPALIVE value=0)" = 1 ]
	# an invalid inherited file is not even read
	echo 'SO_KEEPALIV=1' >bad.conf
	SOCKPOLICY_FILE=$PWD/bad.conf SOCKPOLICY_STRICT=1 run --separate-stderr bare "$CLI" audit -- "$PROBE" \
		socket inet stream
	[ "$status" -eq 0 ]
	assert_contains "$output" "socket=3"
	assert_eq "$stderr" ""
	# /etc/sockpolicy.conf: applies to a plain preload, not under audit
	mkdir -p up work
	run unshare -m sh -c "mount -t overlay overlay -o lowerdir=/etc,upperdir=$PWD/up,workdir=$PWD/work /etc &&
		echo 'SO_KEEPALIVE=1' >/etc/sockpolicy.conf &&
		LD_PRELOAD='$LIB' '$PROBE' socket inet stream get socket SO_KEEPALIVE 3>&- 4>&- &&
		'$CLI' audit -o '$PWD/etc.json' -- '$PROBE' socket inet stream get socket SO_KEEPALIVE 3>&- 4>&- &&
		echo 'SO_KEEPALIV=1' >/etc/sockpolicy.conf &&
		'$CLI' audit -- '$PROBE' socket inet stream 3>&- 4>&- 2>&1"
	[ "$status" -eq 0 ]
	echo "$output"
	[ "$(line 2)" = "SO_KEEPALIVE=1" ]
	[ "$(line 4)" = "SO_KEEPALIVE=0" ]
	[ "$(logcount etc.json action=inject)" = 0 ]
	assert_not_contains "$output" "sockpolicy: /etc/sockpolicy.conf"
}

@test "default acts at the first listen() and the first connect(), without a log; the program's setting wins" {
	port=$(free_port)
	[ -n "$port" ]
	SOCKPOLICY='default SO_KEEPALIVE=1; tcp: default TCP_NODELAY=1' run --separate-stderr probe \
		socket inet stream get socket SO_KEEPALIVE get tcp TCP_NODELAY set tcp TCP_NODELAY 0 \
		listen 4 get socket SO_KEEPALIVE get tcp TCP_NODELAY \
		socket inet stream bind 127.0.0.1 "$port" listen 4 \
		socket inet stream get socket SO_KEEPALIVE get tcp TCP_NODELAY set socket SO_KEEPALIVE 0 \
		connect 127.0.0.1 "$port" get socket SO_KEEPALIVE get tcp TCP_NODELAY
	[ "$status" -eq 0 ]
	assert_eq "$output" "socket=3
SO_KEEPALIVE=0
TCP_NODELAY=0
set TCP_NODELAY=0 -> rc=0
listen=0
SO_KEEPALIVE=1
TCP_NODELAY=0
socket=4
bind=0
listen=0
socket=5
SO_KEEPALIVE=0
TCP_NODELAY=0
set SO_KEEPALIVE=0 -> rc=0
connect=0
SO_KEEPALIVE=0
TCP_NODELAY=1"
	assert_eq "$stderr" ""
	[ -z "$(ls -A | grep -v '^separate-stderr-')" ]
}

@test "SOCKPOLICY_LOG empty is no log; fd:N that is not open or not a number is reported" {
	mkdir empty
	cd empty
	SOCKPOLICY_LOG= SOCKPOLICY_LOG_FORMAT=json SOCKPOLICY='SO_KEEPALIVE=1' run --separate-stderr probe \
		socket inet stream get socket SO_KEEPALIVE
	[ "$status" -eq 0 ]
	assert_eq "$output" "socket=3
SO_KEEPALIVE=1"
	assert_eq "$stderr" ""
	[ -z "$(ls -A)" ]
	cd ..
	# fd:9 open: the records go there (the control for what follows)
	SOCKPOLICY_LOG=fd:9 preload "$PROBE" socket inet stream 9>fd9.txt >out.txt 2>err.txt
	grep -q 'socket(AF_INET, SOCK_STREAM, 0) = 3' fd9.txt
	# fd:9 closed: said once on stderr, the program runs with its policy
	SOCKPOLICY_LOG=fd:9 SOCKPOLICY='SO_KEEPALIVE=1' run --separate-stderr probe socket inet stream \
		get socket SO_KEEPALIVE 9>&-
	[ "$status" -eq 0 ]
	assert_eq "$output" "socket=3
SO_KEEPALIVE=1"
	assert_eq "$stderr" "sockpolicy: SOCKPOLICY_LOG: descriptor 9 is not open"
	SOCKPOLICY_STRICT=1 SOCKPOLICY_LOG=fd:9 run --separate-stderr probe socket inet stream 9>&-
	[ "$status" -eq 78 ]
	assert_eq "$output" ""
	assert_eq "$stderr" "sockpolicy: SOCKPOLICY_LOG: descriptor 9 is not open"
	# fd:abc
	SOCKPOLICY_LOG=fd:abc run --separate-stderr probe socket inet stream
	[ "$status" -eq 0 ]
	assert_eq "$output" "socket=3"
	[[ "$stderr" == "sockpolicy: SOCKPOLICY_LOG: "*"fd:abc"* ]]
	[ "$(echo "$stderr" | wc -l)" = 1 ]
	SOCKPOLICY_STRICT=1 SOCKPOLICY_LOG=fd:abc run --separate-stderr probe socket inet stream
	[ "$status" -eq 78 ]
	assert_eq "$output" ""
}

@test "ts is the current UTC time, whatever TZ says" {
	before=$(date -u +%s.%N)
	TZ=JST-9 SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json probe socket inet stream >/dev/null
	TZ=Asia/Tokyo SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json probe socket inet dgram >/dev/null
	TZ=JST-9 SOCKPOLICY_LOG=log.txt probe socket inet stream >/dev/null
	after=$(date -u +%s.%N)
	[ "$($LOGQ check log.json)" = 2 ]
	{ $LOGQ values log.json ts; cut -d' ' -f1 log.txt; } >ts.txt
	[ "$(wc -l <ts.txt)" = 3 ]
	run "$PYTHON" -c '
import sys, datetime
lo, hi = float(sys.argv[1]), float(sys.argv[2])
for line in open("ts.txt"):
    ts = line.strip()
    t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
    # the record is written between the two readings of the clock
    ok = lo - 0.001 <= t <= hi + 0.001
    print(ts, "ok" if ok else "outside [%f, %f]" % (lo, hi))
' "$before" "$after"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c ' ok$')" = 3 ]
}

@test "whitespace around '=' in selectors is free" {
	run --separate-stderr bare "$CLI" check -p 'tcp port = 80: TCP_NODELAY=1' -p 'tcp dport =443 at= connect: TCP_NODELAY=1' \
		-p 'daddr= 10.0.0.0/8 : SO_MARK = 7'
	[ "$status" -eq 0 ]
	assert_eq "$output" "tcp port=80: set TCP_NODELAY=1
tcp dport=443 at=connect: set TCP_NODELAY=1
daddr=10.0.0.0/8: set SO_MARK=7"
	assert_eq "$stderr" ""
	# and the library reads it the same way
	port=$(free_port)
	SOCKPOLICY="tcp port = $port : SO_KEEPALIVE = 1" run probe socket inet stream bind 127.0.0.1 "$port" \
		get socket SO_KEEPALIVE
	assert_eq "$output" "socket=3
bind=0
SO_KEEPALIVE=1"
}

@test "a compile-time error names its source, line and column; nothing is applied" {
	for i in $(seq 1 129); do echo "default 1000/$i=1"; done >many.conf
	head -n 128 many.conf >max.conf
	head -n 120 many.conf >most.conf
	msg='too many options with default rules (at most 128)'
	# 128 is the limit: accepted, and the rest of the policy applies
	SOCKPOLICY_FILE=$PWD/max.conf SOCKPOLICY='SO_KEEPALIVE=1' run --separate-stderr probe socket inet stream \
		get socket SO_KEEPALIVE
	assert_eq "$output" "socket=3
SO_KEEPALIVE=1"
	assert_eq "$stderr" ""
	# 129 in the file: the file is named; SOCKPOLICY's valid rule is dropped too
	SOCKPOLICY_FILE=$PWD/many.conf SOCKPOLICY='SO_KEEPALIVE=1' run --separate-stderr probe socket inet stream \
		get socket SO_KEEPALIVE
	[ "$status" -eq 0 ]
	assert_eq "$output" "socket=3
SO_KEEPALIVE=0"
	assert_eq "$stderr" "sockpolicy: $PWD/many.conf:129:9: $msg"
	# the same text as SOCKPOLICY
	SOCKPOLICY="$(cat many.conf)" run --separate-stderr probe socket inet stream
	assert_eq "$stderr" "sockpolicy: SOCKPOLICY:129:9: $msg"
	# 120 in the file and 9 more in SOCKPOLICY: the 129th is SOCKPOLICY's 9th line
	SOCKPOLICY_FILE=$PWD/most.conf SOCKPOLICY="$(sed -n '121,129p' many.conf)
SO_KEEPALIVE=1" run --separate-stderr probe socket inet stream get socket SO_KEEPALIVE
	assert_eq "$output" "socket=3
SO_KEEPALIVE=0"
	assert_eq "$stderr" "sockpolicy: SOCKPOLICY:9:9: $msg"
	# strict: 78 at load
	SOCKPOLICY_STRICT=1 SOCKPOLICY_FILE=$PWD/many.conf run --separate-stderr probe socket inet stream
	[ "$status" -eq 78 ]
	assert_eq "$output" ""
	assert_eq "$stderr" "sockpolicy: $PWD/many.conf:129:9: $msg"
	# check says the same
	run --separate-stderr bare "$CLI" check -f many.conf
	[ "$status" -eq 2 ]
	assert_eq "$output" ""
	assert_eq "$stderr" "sockpolicy: many.conf:129:9: $msg"
}

@test "a policy file of exactly 4 MiB is accepted, one byte more is not" {
	"$PYTHON" -c '
line = b"# " + b"x" * 61 + b"\n"                 # 64 bytes
comment = line * (4 * 1024 * 1024 // 64)
assert len(comment) == 4 * 1024 * 1024
open("comment.conf", "wb").write(comment)
rule = b"SO_KEEPALIVE=1 #" + b"y" * 47 + b"\n"     # a last line of 64 bytes
open("rule.conf", "wb").write(comment[:len(comment) - len(rule)] + rule)
open("over.conf", "wb").write(comment + b"#")
'
	[ "$(stat -c %s comment.conf)" = 4194304 ]
	[ "$(stat -c %s rule.conf)" = 4194304 ]
	[ "$(stat -c %s over.conf)" = 4194305 ]
	SOCKPOLICY_FILE=$PWD/comment.conf run probe socket inet stream
	[ "$status" -eq 0 ]
	assert_eq "$output" "socket=3"
	# the last bytes of a 4 MiB file are read
	SOCKPOLICY_FILE=$PWD/rule.conf run probe socket inet stream get socket SO_KEEPALIVE
	assert_eq "$output" "socket=3
SO_KEEPALIVE=1"
	SOCKPOLICY_FILE=$PWD/over.conf SOCKPOLICY='SO_KEEPALIVE=1' run --separate-stderr probe socket inet stream \
		get socket SO_KEEPALIVE
	assert_eq "$output" "socket=3
SO_KEEPALIVE=0"
	assert_contains "$stderr" "sockpolicy: $PWD/over.conf"
	run bare "$CLI" check -f comment.conf
	[ "$status" -eq 0 ]
	assert_eq "$output" ""
	run bare "$CLI" check -f over.conf
	[ "$status" -eq 2 ]
}

@test "error columns count bytes: a UTF-8 character before the error shifts it by its length" {
	run --separate-stderr bare "$CLI" check -p 'prog=e tpc: SO_KEEPALIVE=1'
	[ "$status" -eq 2 ]
	assert_eq "$stderr" "sockpolicy: SOCKPOLICY:1:8: unknown selector 'tpc' (did you mean 'tcp'?)"
	run --separate-stderr bare "$CLI" check -p 'prog=é tpc: SO_KEEPALIVE=1'
	[ "$status" -eq 2 ]
	assert_eq "$stderr" "sockpolicy: SOCKPOLICY:1:9: unknown selector 'tpc' (did you mean 'tcp'?)"
	# the library, from a file: the comment's é on line 1 does not count on line 2
	printf '# caf\xc3\xa9\nprog="\xc3\xa9\xc3\xa9" tpc: SO_KEEPALIVE=1\n' >u.conf
	SOCKPOLICY_FILE=$PWD/u.conf run --separate-stderr probe socket inet stream
	assert_eq "$stderr" "sockpolicy: $PWD/u.conf:2:13: unknown selector 'tpc' (did you mean 'tcp'?)"
}

@test "a C++ program reads back the policy" {
	CXX=${CXX:-$(command -v g++ || command -v clang++ || true)}
	if [ -z "$CXX" ]; then
		echo "no C++ compiler (g++, or clang++ from the clang package .ci/run installs)"
		return 1
	fi
	cat >prog.cc <<'CC'
#include <iostream>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

struct Socket {
	int fd;
	Socket() : fd(::socket(AF_INET, SOCK_STREAM, 0)) { if (fd < 0) throw std::runtime_error("socket"); }
	~Socket() { ::close(fd); }
	int get(int level, int opt) const {
		int v = -1;
		socklen_t len = sizeof v;
		if (::getsockopt(fd, level, opt, &v, &len) < 0) throw std::runtime_error("getsockopt");
		return v;
	}
};

int main() {
	auto s = std::make_unique<Socket>();
	std::cout << "TCP_NODELAY=" << s->get(IPPROTO_TCP, TCP_NODELAY) << '\n'
	          << "SO_RCVBUF=" << s->get(SOL_SOCKET, SO_RCVBUF) << std::endl;
}
CC
	"$CXX" -O1 -o prog prog.cc
	ldd prog | grep -q 'libstdc++'
	run bare ./prog
	[ "$status" -eq 0 ]
	[ "$(line 1)" = "TCP_NODELAY=0" ]
	[ "$(line 2)" != "SO_RCVBUF=98304" ]
	SOCKPOLICY='tcp: TCP_NODELAY=1, SO_RCVBUF=48K' SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json \
		run preload_within 20 ./prog
	[ "$status" -eq 0 ]
	assert_eq "$output" "TCP_NODELAY=1
SO_RCVBUF=98304"
	[ "$(logcount log.json prog=prog action=inject)" = 2 ]
	[ "$(logcount log.json prog=prog call=getsockopt opt=SO_RCVBUF value=98304)" = 1 ]
}

@test "tests/run ends with 'N passed, N failed' on a one-suite run, and counts a failure" {
	suite=$SP_BUILD/tests/test_sockclass
	[ -x "$suite" ]
	planned=$("$suite" | sed -n 's/^1\.\.//p')
	[ "$planned" -gt 0 ]
	TMPDIR=$BATS_TEST_TMPDIR B=$SP_BUILD run "$SP_ROOT/tests/run" "$suite"
	[ "$status" -eq 0 ]
	last=$(echo "$output" | tail -n 1)
	[[ "$last" =~ ^[0-9]+\ passed,\ [0-9]+\ failed$ ]]
	assert_eq "$last" "$planned passed, 0 failed"
	# a suite with one failure of three
	printf '#!/bin/sh\necho "ok 1 - a"\necho "not ok 2 - b"\necho "ok 3 - c"\necho "1..3"\nexit 1\n' >fake_suite
	chmod +x fake_suite
	TMPDIR=$BATS_TEST_TMPDIR B=$SP_BUILD run "$SP_ROOT/tests/run" "$PWD/fake_suite"
	[ "$status" -ne 0 ]
	assert_eq "$(echo "$output" | tail -n 1)" "2 passed, 1 failed"
}
