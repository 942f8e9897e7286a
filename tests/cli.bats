#!/usr/bin/env bats
# The sockpolicy command (SPEC §5): run, check, audit, report, options, its
# exit statuses, and `make install` giving a command that finds the
# installed library and man pages that render cleanly.

load common
bats_require_minimum_version 1.5.0

MARK=$HELPERS/libclimark.so

# A python3 program that makes a TCP socket and prints what the kernel says
# of the options a test sets.
probe_py() {
	cat >probe.py <<'EOF'
import socket
s = socket.socket()
print("TCP_NODELAY=%d" % s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
print("SO_KEEPALIVE=%d" % s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))
print("SO_RCVBUF=%d" % s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
EOF
}

# The entries of the LD_PRELOAD that python3, run by the command, sees.
seen_preload() {
	"$PYTHON" -c 'import os; print(os.environ.get("LD_PRELOAD", ""))'
}

@test "run applies the policy to an unmodified python3: the kernel reads it back, the log says so" {
	probe_py
	run bare "$PYTHON" probe.py
	assert_contains "$output" "TCP_NODELAY=0"
	run bare "$CLI" run -p 'tcp: TCP_NODELAY=1' -p 'SO_KEEPALIVE=on, SO_RCVBUF=64K' -l log.txt -- "$PYTHON" probe.py
	[ "$status" -eq 0 ]
	assert_eq "$output" "TCP_NODELAY=1
SO_KEEPALIVE=1
SO_RCVBUF=131072"
	grep -q 'python3: setsockopt(3, SOL_TCP, TCP_NODELAY, 1) = 0 \[inject\]' log.txt
	# --json: the same log as JSON lines
	run bare "$CLI" run -p 'tcp: TCP_NODELAY=1' -l log.json --json -- "$PYTHON" probe.py
	[ "$status" -eq 0 ]
	[ "$(logcount log.json call=setsockopt opt=TCP_NODELAY action=inject value=1)" = 1 ]
}

@test "run without -p/-f passes on the inherited policy, and -p/-f replace it" {
	probe_py
	SOCKPOLICY='SO_KEEPALIVE=1' run bare "$CLI" run -- "$PYTHON" probe.py
	[ "$status" -eq 0 ]
	assert_contains "$output" "SO_KEEPALIVE=1"
	# -p replaces SOCKPOLICY; -f replaces SOCKPOLICY_FILE and is made absolute
	echo 'tcp: TCP_NODELAY=1' >p.conf
	printf 'SO_KEEPALIVE=1\n' >other.conf
	SOCKPOLICY='SO_KEEPALIVE=1' SOCKPOLICY_FILE=$PWD/other.conf run bare "$CLI" run -f p.conf -- "$PYTHON" probe.py
	[ "$status" -eq 0 ]
	assert_contains "$output" "TCP_NODELAY=1"
	assert_contains "$output" "SO_KEEPALIVE=0"
	SOCKPOLICY='x' run bare "$CLI" run -f p.conf --print-env
	[ "$status" -eq 0 ]
	assert_contains "$output" "export SOCKPOLICY_FILE='$PWD/p.conf'"
	assert_contains "$output" "unset SOCKPOLICY
"
	# an inherited bad policy is refused like a -p one
	SOCKPOLICY='tcp: TCP_NODELAY=2' run bare "$CLI" run -- "$PYTHON" probe.py
	[ "$status" -eq 125 ]
	assert_eq "$output" "sockpolicy: SOCKPOLICY:1:18: invalid boolean '2' for TCP_NODELAY (use 1 0 on off true false yes no)"
	SOCKPOLICY_LOG_FORMAT=yaml run bare "$CLI" run -- "$PYTHON" probe.py
	[ "$status" -eq 125 ]
	assert_eq "$output" "sockpolicy: SOCKPOLICY_LOG_FORMAT: unknown log format 'yaml' (use text or json)"
}

@test "run sets the variables its options name, and --print-env shows them" {
	run bare "$CLI" run -p 'SO_KEEPALIVE=1' -p 'tcp: TCP_NODELAY=1' -l stderr --json --strict --print-env
	[ "$status" -eq 0 ]
	assert_eq "$output" "export LD_PRELOAD='$(realpath "$SP_BUILD/libsockpolicy.so")'
export SOCKPOLICY='SO_KEEPALIVE=1
tcp: TCP_NODELAY=1'
unset SOCKPOLICY_FILE
export SOCKPOLICY_LOG='stderr'
export SOCKPOLICY_LOG_FORMAT='json'
export SOCKPOLICY_STRICT='1'"
	# and CMD gets exactly these
	run bare "$CLI" run -p 'SO_KEEPALIVE=1' --strict -l "$PWD/l.txt" -- env
	[ "$status" -eq 0 ]
	assert_contains "$output" "SOCKPOLICY_STRICT=1"
	assert_contains "$output" "SOCKPOLICY_LOG=$PWD/l.txt"
	assert_contains "$output" "SOCKPOLICY=SO_KEEPALIVE=1"
}

@test "an existing LD_PRELOAD entry is kept and still works; ours is never added twice" {
	lib=$(realpath "$LIB")
	probe_py
	cat >both.py <<'EOF'
import os, socket
s = socket.socket()
print("marker=" + ("yes" if os.environ.get("CLIMARK_LOADED") == str(os.getpid()) else "no"))
print("TCP_NODELAY=%d" % s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
print("LD_PRELOAD=" + os.environ["LD_PRELOAD"])
maps = open("/proc/self/maps").read()
print("mapped=%d,%d" % (("libclimark.so" in maps), ("libsockpolicy.so" in maps)))
EOF
	LD_PRELOAD=$MARK run bare "$CLI" run -p 'tcp: TCP_NODELAY=1' -- "$PYTHON" both.py
	[ "$status" -eq 0 ]
	assert_eq "$output" "marker=yes
TCP_NODELAY=1
LD_PRELOAD=$lib:$MARK
mapped=1,1"
	# run inside run: still once; the policy is the inner one
	LD_PRELOAD=$MARK run bare "$CLI" run -p 'SO_KEEPALIVE=1' -- "$CLI" run -p 'tcp: TCP_NODELAY=1' -- "$PYTHON" both.py
	[ "$status" -eq 0 ]
	assert_contains "$output" "LD_PRELOAD=$lib:$MARK
"
	# another spelling of the same library, or another build of it, is
	# replaced in place: the user chose its position
	mkdir other
	cp "$LIB" other/libsockpolicy.so
	LD_PRELOAD="$MARK $SP_BUILD/./libsockpolicy.so:$PWD/other/libsockpolicy.so" run bare "$CLI" run -- "$PYTHON" both.py
	[ "$status" -eq 0 ]
	assert_eq "$output" "marker=yes
TCP_NODELAY=0
LD_PRELOAD=$MARK:$lib
mapped=1,1"
}

@test "a sanitizer runtime first in LD_PRELOAD stays first" {
	# a harmless stand-in under a sanitizer's name, so this process loads it
	cp "$MARK" libasan.so.8
	LD_PRELOAD="$PWD/libasan.so.8:$MARK" run bare "$CLI" run -- "$PYTHON" -c 'import os; print(os.environ["LD_PRELOAD"])'
	[ "$status" -eq 0 ]
	assert_eq "$output" "$PWD/libasan.so.8:$(realpath "$LIB"):$MARK"
	LD_PRELOAD="$MARK:$PWD/libasan.so.8" run bare "$CLI" run -- "$PYTHON" -c 'import os; print(os.environ["LD_PRELOAD"])'
	assert_eq "$output" "$(realpath "$LIB"):$MARK:$PWD/libasan.so.8"
}

@test "run with a typo exits 125 naming the suggestion, before the command starts" {
	run bare "$CLI" run -p 'SO_REUSEADR=1' -- touch started
	[ "$status" -eq 125 ]
	assert_eq "$output" "sockpolicy: SOCKPOLICY:1:1: unknown option 'SO_REUSEADR' (did you mean 'SO_REUSEADDR'?)"
	[ ! -e started ]
	# in a file: named by its path
	printf 'SO_KEEPALIVE=1\ntcp: TCP_NODELY=1\n' >bad.conf
	run bare "$CLI" run -f bad.conf -- touch started
	[ "$status" -eq 125 ]
	assert_eq "$output" "sockpolicy: bad.conf:2:6: unknown option 'TCP_NODELY' (did you mean 'TCP_NODELAY'?)"
	[ ! -e started ]
}

@test "several -p are one text: an error in the second -p is SOCKPOLICY:2:COL" {
	run bare "$CLI" run -p 'SO_KEEPALIVE=1' -p 'tcp: TCP_NODELAY=maybe' -- true
	[ "$status" -eq 125 ]
	assert_eq "$output" "sockpolicy: SOCKPOLICY:2:18: invalid boolean 'maybe' for TCP_NODELAY (use 1 0 on off true false yes no)"
	run bare "$CLI" check -p 'SO_KEEPALIVE=1' -p 'tcp: TCP_NODELAY=1' -p 'udp: TCP_NODELAY=1'
	[ "$status" -eq 2 ]
	assert_contains "$output" "sockpolicy: SOCKPOLICY:3:"
}

@test "exit statuses: 127 not found, 126 not executable, otherwise the command's own" {
	run -127 bare "$CLI" run -- /nonexistent/cmd
	[ "$status" -eq 127 ]
	assert_eq "$output" "sockpolicy: cannot run '/nonexistent/cmd': No such file or directory"
	run -127 bare "$CLI" run -- no-such-command-anywhere
	[ "$status" -eq 127 ]
	printf '#!/bin/sh\nexit 0\n' >noexec
	chmod 0644 noexec
	run bare "$CLI" run -- ./noexec
	[ "$status" -eq 126 ]
	assert_contains "$output" "Permission denied"
	run bare "$CLI" run -- sh -c 'exit 42'
	[ "$status" -eq 42 ]
	run bare "$CLI" run -p 'SO_KEEPALIVE=1' -- "$PYTHON" -c 'import sys; sys.exit(3)'
	[ "$status" -eq 3 ]
	# it is an exec, not a fork: the command runs in the process we started
	"$CLI" run -- sh -c 'echo $$ >pid' 3>&- 4>&- &
	started=$!
	wait "$started"
	assert_eq "$(cat pid)" "$started"
}

@test "usage: --help on every command, --version, and usage errors exit 2" {
	for cmd in run check audit report options; do
		run bare "$CLI" "$cmd" --help
		[ "$status" -eq 0 ] || { echo "$cmd --help: $status"; return 1; }
		assert_contains "$output" "Usage: sockpolicy $cmd"
	done
	run bare "$CLI" --help
	[ "$status" -eq 0 ]
	assert_contains "$output" "Usage: sockpolicy COMMAND"
	run bare "$CLI" --version
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^sockpolicy\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
	run bare "$CLI"
	[ "$status" -eq 2 ]
	run bare "$CLI" frobnicate
	[ "$status" -eq 2 ]
	assert_eq "$output" "sockpolicy: unknown command 'frobnicate' (see 'sockpolicy --help')"
	# run and audit keep 125 for their own failures, apart from CMD's 2
	run bare "$CLI" run --bogus -- true
	[ "$status" -eq 125 ]
	assert_eq "$output" "sockpolicy: run: unknown option '--bogus' (see 'sockpolicy run --help')"
	run bare "$CLI" run -p
	[ "$status" -eq 125 ]
	assert_contains "$output" "option '-p' needs an argument"
	run bare "$CLI" run -p 'SO_KEEPALIVE=1'
	[ "$status" -eq 125 ]
	assert_contains "$output" "no command to run"
	run bare "$CLI" run -f a -f b -- true
	[ "$status" -eq 125 ]
	run bare "$CLI" audit
	[ "$status" -eq 125 ]
	run bare "$CLI" audit --bogus -- true
	[ "$status" -eq 125 ]
	run bare "$CLI" report
	[ "$status" -eq 2 ]
	run bare "$CLI" options extra
	[ "$status" -eq 2 ]
}

@test "check prints each action of several rules normalised, one a line" {
	cat >p.conf <<'EOF'
# a file's rules come first
tcp port=8080: SO_REUSEPORT=yes
EOF
	run bare "$CLI" check -f p.conf -p 'tcp: TCP_NODELAY=on, SO_RCVBUF=4M; force SO_SNDTIMEO=250ms' \
		-p 'prog=nginx* tcp at=accept: TCP_NODELAY=1' -p 'min SO_RCVBUF=64K; max SO_RCVBUF=8M; ignore SO_LINGER' \
		-p 'udp !addr=10.0.0.0/8: default SO_SNDBUF=1K, IP_TOS=0x10; deny SO_BROADCAST; 6/1=1'
	[ "$status" -eq 0 ]
	assert_eq "$output" "tcp port=8080: set SO_REUSEPORT=1
tcp: set TCP_NODELAY=1
tcp: set SO_RCVBUF=4194304
force SO_SNDTIMEO=0.25
prog=nginx* tcp at=accept: set TCP_NODELAY=1
min SO_RCVBUF=65536
max SO_RCVBUF=8388608
ignore SO_LINGER
udp !addr=10.0.0.0/8: default SO_SNDBUF=1024
udp !addr=10.0.0.0/8: set IP_TOS=16
deny SO_BROADCAST
set TCP_NODELAY=1"
	# its output is a policy that checks to itself
	"$CLI" check -f p.conf -p 'tcp: TCP_NODELAY=on, SO_RCVBUF=4M' >norm.conf
	run bare "$CLI" check -f norm.conf
	[ "$status" -eq 0 ]
	assert_eq "$output" "$(cat norm.conf)"
	# invalid: 2, the library's message, nothing on stdout
	run bare "$CLI" check -p 'tcp udp: SO_KEEPALIVE=1'
	[ "$status" -eq 2 ]
	[[ "$output" == "sockpolicy: SOCKPOLICY:1:"* ]]
	# no -p/-f: what a program would get
	SOCKPOLICY='SO_KEEPALIVE=1' run bare "$CLI" check
	[ "$status" -eq 0 ]
	assert_eq "$output" "set SO_KEEPALIVE=1"
	SOCKPOLICY='SO_KEEPALIVE=2' run bare "$CLI" check
	[ "$status" -eq 2 ]
}

@test "audit of an unmodified program names the options it set, children included" {
	cat >app.py <<'EOF'
import socket, subprocess, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.bind(("127.0.0.1", 0))
s.listen(8)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
subprocess.run([sys.argv[1], "socket", "inet", "stream", "set", "socket", "SO_KEEPALIVE", "1"], check=True)
sys.exit(5)
EOF
	# an inherited policy does not apply during an audit
	SOCKPOLICY='SO_LINGER=5' run bare "$CLI" audit -o audit.json -- "$PYTHON" app.py "$PROBE"
	[ "$status" -eq 5 ]
	echo "$output"
	assert_contains "$output" "PROG"
	[[ "$output" =~ python3\ +setsockopt\ +SOL_SOCKET\ +SO_REUSEADDR\ +1\ +pass\ +-\ +1\ +-$'\n' ]]
	[[ "$output" =~ python3\ +setsockopt\ +SOL_TCP\ +TCP_NODELAY\ +1\ +pass ]]
	# EFFECTIVE: what each value became, in the order of VALUES
	r=$(cat /proc/sys/net/core/rmem_max)
	[[ "$output" =~ python3\ +setsockopt\ +SOL_SOCKET\ +SO_RCVBUF\ +3\ +pass\ +-\ +65536\ x2,\ 32768\ +$((2 * (r < 65536 ? r : 65536))),\ $((2 * (r < 32768 ? r : 32768)))$'\n' ]]
	[[ "$output" =~ python3\ +listen\ +-\ +-\ +1\ +pass\ +-\ +8 ]]
	[[ "$output" =~ sockprobe\ +setsockopt\ +SOL_SOCKET\ +SO_KEEPALIVE\ +1\ +pass ]]
	assert_not_contains "$output" "SO_LINGER"
	assert_not_contains "$output" "inject"
	# the kept log is whole JSON, one file for every process
	[ "$(logcount audit.json call=setsockopt)" = 6 ]
	[ "$(logcount audit.json prog=sockprobe call=socket)" = 1 ]
}

@test "audit: its temporary log is removed, 126/127 without a summary, signals as 128+N" {
	mkdir tmp
	TMPDIR=$PWD/tmp run bare "$CLI" audit -- "$PYTHON" -c 'import socket; socket.socket()'
	[ "$status" -eq 0 ]
	[[ "$output" =~ python3\ +socket\ +-\ +-\ +1\ +pass\ +-\ +AF_INET\ SOCK_STREAM\|SOCK_CLOEXEC\ 0 ]]
	[ -z "$(ls tmp)" ]
	TMPDIR=$PWD/tmp run -127 bare "$CLI" audit -- /nonexistent
	[ "$status" -eq 127 ]
	assert_eq "$output" "sockpolicy: cannot run '/nonexistent': No such file or directory"
	[ -z "$(ls tmp)" ]
	TMPDIR=$PWD/tmp run bare "$CLI" audit -- sh -c 'kill -TERM $$'
	[ "$status" -eq 143 ]
	assert_eq "$output" "No socket calls were recorded."
	# -o with a % in its name: one literal file, not one per pid
	run bare "$CLI" audit -o 'a%p.json' -- "$PYTHON" -c 'import socket; socket.socket()'
	[ "$status" -eq 0 ]
	[ -s 'a%p.json' ]
}

# Two logs from two programs, with and without a policy.
make_logs() {
	SOCKPOLICY_LOG=one.json SOCKPOLICY_LOG_FORMAT=json SOCKPOLICY='force SO_SNDBUF=64K' \
		preload "$PROBE" socket inet stream set socket SO_SNDBUF 4096 set socket SO_KEEPALIVE 1 >/dev/null
	SOCKPOLICY_LOG=two.json SOCKPOLICY_LOG_FORMAT=json SOCKPOLICY= preload "$PYTHON" -c '
import socket
for i in range(3):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
try:
    s.setsockopt(socket.IPPROTO_TCP, 99, 1)
except OSError:
    pass
'
}

@test "report sums several JSON logs: the table" {
	make_logs
	run bare "$CLI" report one.json two.json
	[ "$status" -eq 0 ]
	echo "$output"
	[ "${#lines[@]}" = 8 ]
	[[ "${lines[0]}" =~ ^PROG\ +CALL\ +LEVEL\ +OPTION\ +COUNT\ +ACTIONS\ +ERRORS\ +VALUES\ +EFFECTIVE$ ]]
	[[ "$output" =~ python3\ +socket\ +-\ +-\ +3\ +pass\ +-\ +AF_INET\ SOCK_STREAM\|SOCK_CLOEXEC\ 0 ]]
	[[ "$output" =~ python3\ +setsockopt\ +SOL_SOCKET\ +SO_KEEPALIVE\ +3\ +pass\ +-\ +1\ +-$'\n' ]]
	[[ "$output" =~ python3\ +setsockopt\ +SOL_TCP\ +99\ +1\ +pass\ +ENOPROTOOPT\ +1 ]]
	[[ "$output" =~ sockprobe\ +setsockopt\ +SOL_SOCKET\ +SO_SNDBUF\ +2\ +inject,\ force\ +-\ +65536\ +131072 ]]
	[[ "$output" =~ sockprobe\ +setsockopt\ +SOL_SOCKET\ +SO_KEEPALIVE\ +1\ +pass ]]
	# programs in name order, calls in SPEC order
	[[ "${lines[1]}" =~ ^python3\ +socket ]]
	[[ "${lines[4]}" =~ ^python3\ +setsockopt\ +SOL_TCP ]]
	[[ "${lines[5]}" =~ ^sockprobe\ +socket ]]
}

@test "report --json: an array of {prog, call, level, opt, value, action, count}" {
	make_logs
	run bare "$CLI" report --json one.json two.json
	[ "$status" -eq 0 ]
	echo "$output" >summary.json
	run "$PYTHON" - summary.json <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))
keys = {"prog", "call", "level", "opt", "value", "action", "count"}
assert all(set(r) == keys for r in rows), rows
def count(**want):
    return sum(r["count"] for r in rows if all(r[k] == v for k, v in want.items()))
checks = [
    count(prog="python3", call="socket") == 3,
    count(prog="python3", call="setsockopt", opt="SO_KEEPALIVE", value=1, action="pass") == 3,
    count(prog="python3", call="setsockopt", level="SOL_TCP", opt=99, value=1) == 1,
    count(prog="sockprobe", call="setsockopt", opt="SO_SNDBUF", value=65536, action="force") == 1,
    count(prog="sockprobe", call="setsockopt", opt="SO_SNDBUF", value=65536, action="inject") == 1,
    count(prog="sockprobe", call="socket", level=None, opt=None) == 1,
    sum(r["count"] for r in rows) == 12,
    len(rows) == len({json.dumps([r[k] for k in sorted(keys - {"count"})]) for r in rows}),
]
print(checks)
sys.exit(0 if all(checks) else 1)
EOF
	echo "$output"
	[ "$status" -eq 0 ]
	# stdin, and the same counts as the logs hold
	run bare "$CLI" report --json - <two.json
	[ "$status" -eq 0 ]
	[ "$(grep -c '"prog":"python3"' <<<"$output")" -ge 3 ]
	run bare "$CLI" report --json /dev/null
	assert_eq "$output" "[]"
}

# report reads the records our writers give without json-c (a busy audit
# has hundreds of thousands); every other line goes to json-c.  The same
# log respaced, which only json-c reads, must sum to the same tables.
@test "report: the fast reader of our own records sums exactly what json-c sums" {
	make_logs
	SOCKPOLICY_LOG=three.json SOCKPOLICY_LOG_FORMAT=json SOCKPOLICY='SO_RCVBUF=32K; tcp: max SO_SNDBUF=16K' \
		preload "$PYTHON" -c '
import socket, struct
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 5))
l.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 2, 500000))
l.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
l.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
l.bind(("127.0.0.1", 0))
l.listen(7)
c = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
try:
    c.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, -1)
except OSError:
    pass
c.connect(("::1", l.getsockname()[1]))
'
	cat one.json two.json three.json >ours.json
	# every line our writers made is of the plain shape the fast reader takes
	[ "$(wc -l <ours.json)" -ge 20 ]
	[ "$(grep -c '^{"' ours.json)" = "$(wc -l <ours.json)" ]
	cp ours.json all.json
	cat >>all.json <<'LINES'
{"prog":"a b","call":"setsockopt","action":"deny","level":0,"opt":-7,"value":-12,"ret":-1,"errno":"EPERM"}
{"prog":"q\"uote","call":"socket","action":"pass","family":"AF_INET","type":"x\/y","protocol":null}
{"prog":"t","call":"setsockopt","action":"pass","level":"SOL_SOCKET","opt":"SO_KEEPALIVE","value":true,"effective":0}
{"prog":"t","call":"setsockopt","action":"pass","level":"SOL_SOCKET","opt":"SO_KEEPALIVE","value":1.0}
{"prog":"t","call":"listen","action":"pass"}
{"prog":"t","call":"getsockopt","action":"pass","value":3}
{"prog":"t","call":"setsockopt","action":"pass","level":"SOL_SOCKET","opt":"SO_MARK","value":12345678901234567890}
{"prog":"t","call":"setsockopt","action":"pass","level":"SOL_SOCKET","opt":"SO_MARK","value":"caf\u00e9"}
{"prog":"t","call":"setsockopt","action":"pass","level":"SOL_SOCKET","opt":"SO_MARK","value":0,"value":7}
LINES
	sed 's/^{/{ /' all.json >spaced.json
	run bare "$CLI" report all.json
	[ "$status" -eq 0 ]
	fast=$output
	run bare "$CLI" report spaced.json
	[ "$status" -eq 0 ]
	assert_eq "$fast" "$output"
	assert_contains "$fast" "SO_LINGER"
	assert_contains "$fast" "a b "
	run bare "$CLI" report --json all.json
	[ "$status" -eq 0 ]
	fast=$output
	run bare "$CLI" report --json spaced.json
	assert_eq "$fast" "$output"
}

@test "report on a malformed or unreadable log names FILE:LINE and exits 2" {
	make_logs
	{ head -n 2 two.json; echo '{"ts":"x","prog":"p","call":"socket"'; tail -n 1 two.json; } >cut.json
	run bare "$CLI" report one.json cut.json
	[ "$status" -eq 2 ]
	assert_eq "$output" "sockpolicy: cut.json:3: the JSON record is cut short"
	{ head -n 1 two.json; echo 'garbage'; } >bad.json
	run bare "$CLI" report --json bad.json
	[ "$status" -eq 2 ]
	assert_eq "$output" "sockpolicy: bad.json:2: not JSON: unexpected character"
	{ head -n 4 two.json; echo '{"ts":"x"}'; } >norec.json
	run bare "$CLI" report norec.json
	[ "$status" -eq 2 ]
	assert_eq "$output" "sockpolicy: norec.json:5: not a sockpolicy record: no string \"prog\", \"call\" or \"action\""
	# a text log, by mistake
	SOCKPOLICY_LOG=log.txt preload "$PROBE" socket inet stream >/dev/null
	run bare "$CLI" report log.txt
	[ "$status" -eq 2 ]
	assert_contains "$output" "sockpolicy: log.txt:1: not JSON"
	assert_contains "$output" "SOCKPOLICY_LOG_FORMAT=json"
	run bare "$CLI" report one.json missing.json
	[ "$status" -eq 2 ]
	assert_eq "$output" "sockpolicy: missing.json: cannot open: No such file or directory"
	printf '{"prog":"p","call":"socket","action":"pass","x":"\xff"}\n' >utf.json
	run bare "$CLI" report utf.json
	[ "$status" -eq 2 ]
	assert_contains "$output" "utf.json:1:"
}

@test "options lists every option SPEC §3 names, with level, type and fit" {
	run bare "$CLI" options
	[ "$status" -eq 0 ]
	for name in SO_REUSEADDR SO_REUSEPORT SO_KEEPALIVE SO_RCVBUF SO_SNDBUF SO_RCVBUFFORCE SO_SNDBUFFORCE \
		SO_RCVLOWAT SO_SNDLOWAT SO_RCVTIMEO SO_SNDTIMEO SO_LINGER SO_BROADCAST SO_OOBINLINE SO_PRIORITY \
		SO_MARK SO_BINDTODEVICE SO_DONTROUTE SO_BUSY_POLL SO_INCOMING_CPU SO_ZEROCOPY SO_MAX_PACING_RATE \
		SO_TIMESTAMP TCP_NODELAY TCP_CORK TCP_KEEPIDLE TCP_KEEPINTVL TCP_KEEPCNT TCP_MAXSEG TCP_QUICKACK \
		TCP_DEFER_ACCEPT TCP_FASTOPEN TCP_FASTOPEN_CONNECT TCP_USER_TIMEOUT TCP_CONGESTION \
		TCP_NOTSENT_LOWAT TCP_WINDOW_CLAMP TCP_SYNCNT TCP_LINGER2 IP_TOS IP_TTL IP_FREEBIND \
		IP_TRANSPARENT IP_BIND_ADDRESS_NO_PORT IP_MULTICAST_TTL IP_MULTICAST_LOOP IP_RECVERR \
		IP_MTU_DISCOVER IPV6_V6ONLY IPV6_TCLASS IPV6_UNICAST_HOPS IPV6_MULTICAST_HOPS \
		IPV6_MULTICAST_LOOP IPV6_RECVERR UDP_CORK UDP_SEGMENT; do
		grep -qE "^$name +[A-Z0-9_]+ +[0-9]+/[0-9]+ +[a-z]+ +[a-z0-9]+ +- +preload,seccomp " <<<"$output" ||
			{ echo "missing or marked: $name"; return 1; }
	done
	for name in SO_TYPE SO_ERROR SO_DOMAIN SO_PROTOCOL SO_ACCEPTCONN; do
		grep -qE "^$name +SOL_SOCKET .* read-only +- " <<<"$output" || { echo "not read-only: $name"; return 1; }
	done
	grep -qE '^TCP_NODELAY +IPPROTO_TCP +6/1 +boolean +tcp ' <<<"$output"
	grep -qE '^SO_RCVBUF +SOL_SOCKET +1/8 +size +any ' <<<"$output"
	grep -qE '^SO_RCVTIMEO +SOL_SOCKET +1/20 +timeout +any ' <<<"$output"
	grep -qE '^IP_TOS +IPPROTO_IP +0/1 +integer +inet +- +preload,seccomp +0\.\.255$' <<<"$output"
	grep -qE '^IPV6_V6ONLY +IPPROTO_IPV6 +41/26 +boolean +inet6 ' <<<"$output"
	grep -qE '^UDP_SEGMENT +IPPROTO_UDP +17/103 +integer +udp ' <<<"$output"
	grep -qE '^TCP_CONGESTION +IPPROTO_TCP +6/13 +string +tcp +- +preload,seccomp +at most 15 bytes$' <<<"$output"
	# every option the table has, and every listed name a policy accepts
	# (read-only ones excepted)
	names=$(awk 'NR > 1 && $6 == "-" { print $1 }' <<<"$output")
	for name in $names; do
		"$CLI" check -p "default $name=1" >/dev/null 2>&1 || "$CLI" check -p "default $name=off" >/dev/null 2>&1 ||
			"$CLI" check -p "default $name=bbr" >/dev/null 2>&1 || { echo "refused: $name"; return 1; }
	done
}

@test "run takes the supervisor for programs the library cannot reach, and says so" {
	if [ ! -e "$(cc -print-file-name=libc.a)" ] || [ "$(cc -print-file-name=libc.a)" = libc.a ]; then
		skip "no libc.a for a static test program"
	fi
	printf 'int main(void) { return 7; }\n' >prog.c
	cc -static -o static prog.c
	run bare "$CLI" run -p 'SO_KEEPALIVE=1' -- ./static
	[ "$status" -eq 7 ]
	assert_eq "$output" "sockpolicy: './static' is statically linked: running it under the seccomp supervisor"
	# --via=preload cannot reach it: sockpolicy's own failure
	run bare "$CLI" run --via=preload -p 'SO_KEEPALIVE=1' -- ./static
	[ "$status" -eq 125 ]
	assert_eq "$output" "sockpolicy: --via=preload: './static' is statically linked: the library cannot reach it (use --via=seccomp)"
	# a script is judged by its interpreter
	printf '#!%s\n' "$PWD/static" >script
	chmod +x script
	run bare "$CLI" run -- ./script
	[ "$status" -eq 7 ]
	assert_contains "$output" "'./script' is statically linked: running it under the seccomp supervisor"
}

@test "run supervises a Go program, warns about a setuid one; a plain dynamic program gets no word" {
	# what the Go linker leaves in every binary, cgo or not
	printf '%s\n' '__attribute__((used, section(".note.go.buildid"))) static const char id[] = "Go";' \
		'int main(void) { return 0; }' >go.c
	cc -o gobin go.c
	run bare "$CLI" run -- ./gobin
	[ "$status" -eq 0 ]
	assert_contains "$output" "sockpolicy: './gobin' is a Go program: running it under the seccomp supervisor"
	run bare "$CLI" run -- "$PYTHON" -c 'pass'
	[ "$status" -eq 0 ]
	assert_eq "$output" ""
	run bare "$CLI" audit -- ./gobin
	assert_contains "$output" "is a Go program"
	if [ "$(id -u)" != 0 ]; then
		skip "setuid to another user needs root"
	fi
	printf 'int main(void) { return 0; }\n' >c.c
	cc -o suid c.c
	chown nobody suid
	chmod 4755 suid
	run bare "$CLI" run -- ./suid
	[ "$status" -eq 0 ]
	assert_contains "$output" "sockpolicy: warning: './suid' is setuid: the loader ignores LD_PRELOAD paths"
	assert_contains "$output" "/etc/ld.so.preload"
}

@test "the library is found by the command's own location, never the current directory" {
	# a copy of the command alone: no library next to it, and one in the cwd
	mkdir -p alone work
	cp "$CLI" alone/sockpolicy
	cp "$LIB" work/libsockpolicy.so
	cd work
	run bare ../alone/sockpolicy run --print-env
	assert_not_contains "$output" "$PWD/libsockpolicy.so"
	cd ..
	# a library path holding a space or a colon cannot go into LD_PRELOAD
	for dir in 'with space' 'with:colon'; do
		mkdir -p "$dir"
		cp "$CLI" "$LIB" "$dir/"
		run bare "$dir/sockpolicy" run -- true
		[ "$status" -eq 125 ] || { echo "$dir: $status"; return 1; }
		assert_contains "$output" "holds a space or a colon"
	done
}

@test "make install PREFIX=/usr DESTDIR=...: the installed command finds the installed library; man pages render" {
	root=$BATS_TEST_TMPDIR/root
	# a build of its own, so that other builds are left alone
	unset MAKEFLAGS MAKELEVEL MFLAGS
	run make -C "$SP_ROOT" -j2 B="$BATS_TEST_TMPDIR/build" PREFIX=/usr DESTDIR="$root" install
	[ "$status" -eq 0 ] || { echo "$output" | tail -n 20; return 1; }
	[ -x "$root/usr/bin/sockpolicy" ]
	[ -f "$root/usr/lib/sockpolicy/libsockpolicy.so" ]
	[ -f "$root/usr/share/man/man1/sockpolicy.1" ]
	[ -f "$root/usr/share/man/man5/sockpolicy-policy.5" ]
	# the installed command preloads the installed library
	probe_py
	cat >maps.py <<'EOF'
import socket
s = socket.socket()
print("TCP_NODELAY=%d" % s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
print([l.split()[-1] for l in open("/proc/self/maps") if "libsockpolicy" in l][0])
EOF
	run bare "$root/usr/bin/sockpolicy" run -p 'tcp: TCP_NODELAY=1' -l log.json --json -- "$PYTHON" maps.py
	[ "$status" -eq 0 ]
	assert_eq "$output" "TCP_NODELAY=1
$(realpath "$root/usr/lib/sockpolicy/libsockpolicy.so")"
	[ "$(logcount log.json opt=TCP_NODELAY action=inject)" = 1 ]
	# and it was built for /usr: its compiled-in directory is the installed one
	strings "$root/usr/bin/sockpolicy" | grep -qx /usr/lib/sockpolicy
	# man -l renders both pages without a warning
	for page in "$root/usr/share/man/man1/sockpolicy.1" "$root/usr/share/man/man5/sockpolicy-policy.5"; do
		MANWIDTH=80 man --warnings -l "$page" >page.txt 2>warnings.txt
		[ ! -s warnings.txt ] || { cat warnings.txt; return 1; }
		grep -q 'SOCKPOLICY' page.txt
	done
	# bash completion, and an example policy that applies nothing
	grep -q 'complete -F _sockpolicy sockpolicy' "$root/usr/share/bash-completion/completions/sockpolicy"
	run "$root/usr/bin/sockpolicy" check -f "$root/etc/sockpolicy.conf"
	[ "$status" -eq 0 ] && [ -z "$output" ]
	# an admin's policy is never overwritten
	echo 'tcp: TCP_NODELAY=1' >"$root/etc/sockpolicy.conf"
	make -C "$SP_ROOT" B="$BATS_TEST_TMPDIR/build" PREFIX=/usr DESTDIR="$root" install >/dev/null
	[ "$(cat "$root/etc/sockpolicy.conf")" = 'tcp: TCP_NODELAY=1' ]
	# uninstall takes it all away again, but the policy
	run make -C "$SP_ROOT" B="$BATS_TEST_TMPDIR/build" PREFIX=/usr DESTDIR="$root" uninstall
	[ "$status" -eq 0 ]
	[ "$(find "$root" -type f)" = "$root/etc/sockpolicy.conf" ]
}
