#!/usr/bin/env bats
# sockpolicy inspect and apply (SPEC §7): the sockets of programs that are
# already running -- python3, a static C program, a Go program, none of
# them started under sockpolicy -- read and changed through pidfd_getfd(2),
# without a restart; and the refusals, as user nobody.

load common
bats_require_minimum_version 1.5.0

# The interpreter itself, not a wrapper script (pyenv's shims), so that
# `exec -a` names the program; the system one for user nobody, who cannot
# read root's home.
PY_REAL=$("$PYTHON" -c 'import sys; print(sys.executable)')
PY_SYS=/usr/bin/python3

# app.py server DIR | app.py client DIR PORT: a TCP server with one
# accepted connection, or its client.  Each writes its descriptors and,
# on SIGUSR1, what it reads itself of its connection's options (ROLE.values).
write_app() {
	cat >app.py <<'EOF'
import os, signal, socket, sys
role, d = sys.argv[1], sys.argv[2]
conn = None
def put(name, text):
    tmp = os.path.join(d, name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.rename(tmp, os.path.join(d, name))
def dump(*_):
    vals = [("SO_KEEPALIVE", socket.SOL_SOCKET, socket.SO_KEEPALIVE),
            ("TCP_KEEPIDLE", socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
            ("TCP_KEEPINTVL", socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
            ("TCP_NODELAY", socket.IPPROTO_TCP, socket.TCP_NODELAY)]
    put(role + ".values", " ".join("%s=%d" % (n, conn.getsockopt(l, o)) for n, l, o in vals))
signal.signal(signal.SIGUSR1, dump)
if role == "server":
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
    l.bind(("127.0.0.1", 0))
    l.listen(5)
    put("port", str(l.getsockname()[1]))
    conn, _ = l.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 77)
    put("server.fds", "%d %d" % (l.fileno(), conn.fileno()))
else:
    conn = socket.create_connection(("127.0.0.1", int(sys.argv[3])))
    put("client.fds", "%d %d" % (conn.fileno(), conn.getsockname()[1]))
while conn.recv(1):
    pass
EOF
}

# Starts the server (named sockapp-srv) and its client (sockapp-cli):
# SERVER, CLIENT, PORT, LFD and CFD (the server's listener and connection),
# CLIFD and CLIPORT (the client's socket and its own port).
start_pair() {
	write_app
	(exec -a sockapp-srv "$PY_REAL" app.py server "$PWD" 3>&- 4>&-) &
	SERVER=$!
	wait_for_file port
	PORT=$(cat port)
	(exec -a sockapp-cli "$PY_REAL" app.py client "$PWD" "$PORT" 3>&- 4>&-) &
	CLIENT=$!
	wait_for_file server.fds
	wait_for_file client.fds
	read -r LFD CFD <server.fds
	read -r CLIFD CLIPORT <client.fds
}

# values ROLE PID: what the program itself reads of its connection now.
values() {
	rm -f "$1.values"
	kill -USR1 "$2"
	wait_for_file "$1.values"
	cat "$1.values"
}

# ss's timers of the established sockets matching FILTER.
ss_timers() {
	ss -tnoH state established "$1"
}

# json_of PID FD KEY: a field of one socket in inspect --json.
json_of() {
	"$CLI" inspect --json "$1" | jq -c --argjson fd "$2" "select(.fd == \$fd) | $3"
}

@test "inspect shows a python3 server's listener and accepted connection, and its client, with what they set" {
	start_pair
	run --separate-stderr "$CLI" inspect --json "$SERVER" "$CLIENT"
	[ "$status" -eq 0 ] || { echo "$output $stderr"; return 1; }
	[ "$(wc -l <<<"$output")" -eq 3 ]
	listener=$(jq -c --argjson fd "$LFD" --argjson pid "$SERVER" 'select(.pid == $pid and .fd == $fd)' <<<"$output")
	conn=$(jq -c --argjson fd "$CFD" --argjson pid "$SERVER" 'select(.pid == $pid and .fd == $fd)' <<<"$output")
	client=$(jq -c --argjson fd "$CLIFD" --argjson pid "$CLIENT" 'select(.pid == $pid and .fd == $fd)' <<<"$output")
	# §7's keys, the log's forms
	assert_eq "$(jq -c '[.prog, .family, .type, .protocol, .addr, .peer, .state]' <<<"$listener")" \
		"[\"sockapp-srv\",\"AF_INET\",\"SOCK_STREAM\",\"IPPROTO_TCP\",\"127.0.0.1:$PORT\",null,\"LISTEN\"]"
	assert_eq "$(jq -c '[.addr, .peer, .state]' <<<"$conn")" "[\"127.0.0.1:$PORT\",\"127.0.0.1:$CLIPORT\",\"ESTAB\"]"
	assert_eq "$(jq -c '[.prog, .addr, .peer, .state]' <<<"$client")" \
		"[\"sockapp-cli\",\"127.0.0.1:$CLIPORT\",\"127.0.0.1:$PORT\",\"ESTAB\"]"
	# what the server set: SO_REUSEADDR and SO_RCVBUF (doubled by the
	# kernel) on the listener, TCP_NODELAY and TCP_KEEPIDLE on the connection
	assert_eq "$(jq -c '.options | [.SO_REUSEADDR, .SO_RCVBUF, .TCP_NODELAY]' <<<"$listener")" "[1,65536,0]"
	assert_eq "$(jq -c '.options | [.TCP_NODELAY, .TCP_KEEPIDLE, .SO_KEEPALIVE]' <<<"$conn")" "[1,77,0]"
	assert_eq "$(jq -c '.options | [.TCP_NODELAY, .TCP_KEEPIDLE, .SO_REUSEADDR]' <<<"$client")" "[0,7200,0]"
	# every kind of value in its log form
	assert_eq "$(jq -c '.options | [.SO_LINGER, .SO_RCVTIMEO, (.TCP_CONGESTION | type), (.IP_TTL | type)]' <<<"$conn")" \
		'[{"onoff":0,"linger":0},0,"string","number"]'
	# options that do not fit a TCP socket are not listed
	[ "$(jq '.options | has("UDP_CORK") or has("IPV6_V6ONLY") or has("SO_TYPE")' <<<"$conn")" = false ]

	# the table: a row per socket, its options under it, what differs from a
	# new socket marked
	run --separate-stderr "$CLI" inspect "$SERVER"
	[ "$status" -eq 0 ]
	assert_contains "$output" "PID     PROG"
	grep -qE "^$SERVER +sockapp-srv +$LFD +inet tcp +LISTEN +127\.0\.0\.1:$PORT +-$" <<<"$output"
	grep -qE "^$SERVER +sockapp-srv +$CFD +inet tcp +ESTAB +127\.0\.0\.1:$PORT +127\.0\.0\.1:$CLIPORT$" <<<"$output"
	assert_contains "$output" " TCP_KEEPIDLE=77* "
	assert_contains "$output" " SO_REUSEADDR=1* "
	assert_contains "$output" " SO_KEEPALIVE=0 "
	assert_contains "$output" "(* differs from a new socket of the same kind)"
}

@test "apply gives a running connection keepalive, scoped by port= and dport=: the program and ss see it" {
	start_pair
	[ "$(values server "$SERVER")" = "SO_KEEPALIVE=0 TCP_KEEPIDLE=77 TCP_KEEPINTVL=75 TCP_NODELAY=1" ]
	assert_not_contains "$(ss_timers "( sport = :$PORT )")" "keepalive"

	run --separate-stderr "$CLI" apply -p "port=$PORT: SO_KEEPALIVE=1, TCP_KEEPINTVL=9" "$SERVER" "$CLIENT"
	[ "$status" -eq 0 ] || { echo "$output $stderr"; return 1; }
	# one record per option set, action inject, as the log writes it: the
	# server's listener and connection have the port, the client does not
	grep -qE "^[0-9T:.-]+Z sockpolicy\[$SERVER\] sockapp-srv: setsockopt\($CFD, SOL_SOCKET, SO_KEEPALIVE, 1\) = 0 \[inject\]$" <<<"$output"
	grep -qE "sockpolicy\[$SERVER\] sockapp-srv: setsockopt\($LFD, SOL_TCP, TCP_KEEPINTVL, 9\) = 0 \[inject\]$" <<<"$output"
	[ "$(wc -l <<<"$output")" -eq 4 ]
	assert_not_contains "$output" "[$CLIENT]"
	assert_contains "$stderr" "$SERVER (sockapp-srv): set 4 options on 2 of 2 sockets"

	# the program reads it back from its own socket; ss shows the timer
	[ "$(values server "$SERVER")" = "SO_KEEPALIVE=1 TCP_KEEPIDLE=77 TCP_KEEPINTVL=9 TCP_NODELAY=1" ]
	[ "$(values client "$CLIENT")" = "SO_KEEPALIVE=0 TCP_KEEPIDLE=7200 TCP_KEEPINTVL=75 TCP_NODELAY=0" ]
	assert_contains "$(ss_timers "( sport = :$PORT )")" "timer:(keepalive,"
	assert_not_contains "$(ss_timers "( dport = :$PORT )")" "keepalive"

	# dport= reaches the client's connection (its peer is the server's port)
	run --separate-stderr "$CLI" apply --json -p "dport=$PORT: SO_KEEPALIVE=1, TCP_KEEPIDLE=33" "$SERVER" "$CLIENT"
	[ "$status" -eq 0 ]
	assert_eq "$(jq -c '[.pid, .prog, .call, .fd, .ret, .action, .level, .opt, .value]' <<<"$output")" \
		"[$CLIENT,\"sockapp-cli\",\"setsockopt\",$CLIFD,0,\"inject\",\"SOL_SOCKET\",\"SO_KEEPALIVE\",1]
[$CLIENT,\"sockapp-cli\",\"setsockopt\",$CLIFD,0,\"inject\",\"SOL_TCP\",\"TCP_KEEPIDLE\",33]"
	[ "$(values client "$CLIENT")" = "SO_KEEPALIVE=1 TCP_KEEPIDLE=33 TCP_KEEPINTVL=75 TCP_NODELAY=0" ]
	assert_contains "$(ss_timers "( dport = :$PORT )")" "timer:(keepalive,"
	# inspect agrees
	[ "$(json_of "$CLIENT" "$CLIFD" '[.options.SO_KEEPALIVE, .options.TCP_KEEPIDLE]')" = "[1,33]" ]
}

@test "apply: prog= is the program's short name, as the library sees it" {
	start_pair
	run --separate-stderr "$CLI" apply -p 'prog=sockapp-cl*: SO_KEEPALIVE=1' "$SERVER" "$CLIENT"
	[ "$status" -eq 0 ]
	[ "$(wc -l <<<"$output")" -eq 1 ]
	assert_contains "$output" "sockpolicy[$CLIENT] sockapp-cli: setsockopt($CLIFD, SOL_SOCKET, SO_KEEPALIVE, 1) = 0 [inject]"
	[ "$(values client "$CLIENT")" = "SO_KEEPALIVE=1 TCP_KEEPIDLE=7200 TCP_KEEPINTVL=75 TCP_NODELAY=0" ]
	[ "$(values server "$SERVER")" = "SO_KEEPALIVE=0 TCP_KEEPIDLE=77 TCP_KEEPINTVL=75 TCP_NODELAY=1" ]
}

@test "apply: default leaves the program's own value and fills the gaps; set replaces it; the last rule wins" {
	start_pair
	run --separate-stderr "$CLI" apply -p 'tcp: default TCP_KEEPIDLE=30, default TCP_KEEPINTVL=7' "$SERVER"
	[ "$status" -eq 0 ]
	# the program set TCP_KEEPIDLE=77 on its connection: kept
	[ "$(values server "$SERVER")" = "SO_KEEPALIVE=0 TCP_KEEPIDLE=77 TCP_KEEPINTVL=7 TCP_NODELAY=1" ]
	assert_not_contains "$output" "setsockopt($CFD, SOL_TCP, TCP_KEEPIDLE"
	assert_contains "$output" "setsockopt($CFD, SOL_TCP, TCP_KEEPINTVL, 7) = 0 [inject]"
	# the listener still had a new socket's value: filled
	[ "$(json_of "$SERVER" "$LFD" '.options.TCP_KEEPIDLE')" = 30 ]

	run --separate-stderr "$CLI" apply -p 'tcp: TCP_KEEPIDLE=31' -p "port=$PORT: TCP_KEEPIDLE=32" "$SERVER"
	[ "$status" -eq 0 ]
	[ "$(values server "$SERVER")" = "SO_KEEPALIVE=0 TCP_KEEPIDLE=32 TCP_KEEPINTVL=7 TCP_NODELAY=1" ]
	[ "$(grep -c TCP_KEEPIDLE <<<"$output")" -eq 2 ] # one per socket, not one per rule
	run --separate-stderr "$CLI" apply -p "port=$PORT: TCP_KEEPIDLE=32" -p 'tcp: TCP_KEEPIDLE=31' "$SERVER"
	[ "$(values server "$SERVER")" = "SO_KEEPALIVE=0 TCP_KEEPIDLE=31 TCP_KEEPINTVL=7 TCP_NODELAY=1" ]
}

@test "apply --dry-run prints what it would set and changes nothing" {
	start_pair
	run --separate-stderr "$CLI" apply --dry-run -p 'tcp: SO_KEEPALIVE=1, default TCP_KEEPIDLE=30' "$SERVER"
	[ "$status" -eq 0 ]
	assert_contains "$output" "$SERVER sockapp-srv fd $CFD: would set SO_KEEPALIVE=1 (now 0) [set]"
	assert_contains "$output" "$SERVER sockapp-srv fd $LFD: would set TCP_KEEPIDLE=30 (now 7200) [default]"
	assert_not_contains "$output" "fd $CFD: would set TCP_KEEPIDLE"
	assert_contains "$stderr" "would set 3 options on 2 of 2 sockets"
	[ "$(values server "$SERVER")" = "SO_KEEPALIVE=0 TCP_KEEPIDLE=77 TCP_KEEPINTVL=75 TCP_NODELAY=1" ]
	[ "$(json_of "$SERVER" "$LFD" '[.options.SO_KEEPALIVE, .options.TCP_KEEPIDLE]')" = "[0,7200]" ]
	assert_not_contains "$(ss_timers "( sport = :$PORT )")" "keepalive"

	run --separate-stderr "$CLI" apply -n --json -p 'tcp: SO_KEEPALIVE=1' "$SERVER"
	[ "$status" -eq 0 ]
	assert_eq "$(jq -c --argjson fd "$CFD" 'select(.fd == $fd) | [.pid, .prog, .opt, .value, .current, .verb, .dry_run]' <<<"$output")" \
		"[$SERVER,\"sockapp-srv\",\"SO_KEEPALIVE\",1,0,\"set\",true]"
	[ "$(values server "$SERVER")" = "SO_KEEPALIVE=0 TCP_KEEPIDLE=77 TCP_KEEPINTVL=75 TCP_NODELAY=1" ]
}

@test "apply: ignore, deny, min and max are reported once each and skipped; force and at= act now" {
	start_pair
	run --separate-stderr "$CLI" apply -p 'deny SO_MARK; ignore SO_DEBUG' \
		-p 'min SO_RCVBUF=1K, max SO_SNDBUF=1M' -p 'at=accept: force TCP_NODELAY=0' "$SERVER" "$CLIENT"
	[ "$status" -eq 0 ]
	# two processes, three sockets: still one warning per action
	[ "$(grep -c 'skipped$' <<<"$stderr")" -eq 4 ]
	assert_contains "$stderr" "sockpolicy: SOCKPOLICY:1:6: warning: 'deny SO_MARK': it acts on the program's own setsockopt calls, which apply cannot reach: skipped"
	assert_contains "$stderr" "SOCKPOLICY:2:23: warning: 'max SO_SNDBUF=1048576'"
	assert_contains "$stderr" "SOCKPOLICY:3:18: warning: 'at=accept: force TCP_NODELAY=0': set now; the program's own later setsockopt calls are not rewritten"
	# nothing of the skipped ones was set; force acted on every TCP socket
	assert_not_contains "$output" "SO_MARK"
	assert_not_contains "$output" "SO_RCVBUF"
	[ "$(grep -c 'TCP_NODELAY, 0) = 0 \[inject\]' <<<"$output")" -eq 3 ]
	[ "$(values server "$SERVER")" = "SO_KEEPALIVE=0 TCP_KEEPIDLE=77 TCP_KEEPINTVL=75 TCP_NODELAY=0" ]
}

@test "apply: what the kernel refuses is a record with its errno, and the status is 1" {
	start_pair
	run --separate-stderr "$CLI" apply -p "port=$PORT: TCP_CONGESTION=nosuchcc, SO_KEEPALIVE=1" "$SERVER"
	[ "$status" -eq 1 ]
	assert_contains "$output" "sockapp-srv: setsockopt($CFD, SOL_TCP, TCP_CONGESTION, \"nosuchcc\") = -1 ENOENT (No such file or directory) [inject]"
	# the rest still applied
	[ "$(values server "$SERVER")" = "SO_KEEPALIVE=1 TCP_KEEPIDLE=77 TCP_KEEPINTVL=75 TCP_NODELAY=1" ]
	assert_contains "$stderr" "the kernel refused 2"
	run --separate-stderr "$CLI" apply --json -p "port=$PORT: TCP_CONGESTION=nosuchcc" "$SERVER"
	[ "$status" -eq 1 ]
	[ "$(jq -r 'select(.fd == '"$CFD"') | "\(.ret) \(.errno) \(.value)"' <<<"$output")" = "-1 ENOENT nosuchcc" ]
}

@test "inspect and apply: 200 sockets of one process, each with its own value" {
	cat >many.py <<'EOF'
import os, signal, socket, sys
d = sys.argv[1]
socks = []
for i in range(200):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 1 + i)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
def count(*_):
    n = sum(1 for s in socks if s.getsockopt(socket.SOL_SOCKET, socket.SO_PRIORITY) == 5)
    with open(os.path.join(d, "count.tmp"), "w") as f:
        f.write("%d\n" % n)
    os.rename(os.path.join(d, "count.tmp"), os.path.join(d, "count"))
signal.signal(signal.SIGUSR1, count)
with open(os.path.join(d, "ttl.tmp"), "w") as f:
    for i, s in enumerate(socks):
        f.write("%d %d\n" % (s.fileno(), 1 + i))
os.rename(os.path.join(d, "ttl.tmp"), os.path.join(d, "ttl"))
while True:
    signal.pause()
EOF
	("$PY_REAL" many.py "$PWD" 3>&- 4>&-) &
	pid=$!
	wait_for_file ttl
	run --separate-stderr "$CLI" inspect --json "$pid"
	[ "$status" -eq 0 ]
	[ "$(wc -l <<<"$output")" -eq 200 ]
	jq -r '"\(.fd) \(.options.IP_TTL)"' <<<"$output" | sort >seen
	sort ttl >want
	diff want seen
	[ "$(jq -r '"\(.state) \(.protocol)"' <<<"$output" | sort -u)" = "UNCONN IPPROTO_UDP" ]

	run --separate-stderr "$CLI" apply -p 'udp: SO_PRIORITY=5' "$pid"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'SO_PRIORITY, 5) = 0 \[inject\]$' <<<"$output")" -eq 200 ]
	kill -USR1 "$pid"
	wait_for_file count
	[ "$(cat count)" = 200 ]
}

@test "inspect and apply reach a static C program, which no preload can" {
	cat >st.c <<'EOF'
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

static void set(int fd, int level, int opt, int v)
{
	if (setsockopt(fd, level, opt, &v, sizeof v) < 0)
		perror("setsockopt");
}

int main(int argc, char *argv[])
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int t = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_INET, SOCK_DGRAM, 0);
	FILE *f;

	set(t, SOL_SOCKET, SO_KEEPALIVE, 1);
	set(t, IPPROTO_TCP, TCP_KEEPIDLE, 123);
	set(t, IPPROTO_IP, IP_TOS, 0x10);
	set(u, SOL_SOCKET, SO_BROADCAST, 1);
	set(u, IPPROTO_IP, IP_TTL, 9);
	if (bind(t, (struct sockaddr *)&a, sizeof a) < 0 || listen(t, 1) < 0 ||
	    bind(u, (struct sockaddr *)&a, sizeof a) < 0)
		return 1;
	if (argc < 2 || !(f = fopen(argv[1], "w")))
		return 1;
	fprintf(f, "%d %d\n", t, u);
	fclose(f);
	pause();
	return 0;
}
EOF
	gcc -static -O1 -o staticsrv st.c
	# static indeed: no program interpreter
	! readelf -l staticsrv | grep -q INTERP || false
	(exec ./staticsrv fds 3>&- 4>&-) &
	pid=$!
	wait_for_file fds
	read -r t u <fds
	run --separate-stderr "$CLI" inspect --json "$pid"
	[ "$status" -eq 0 ]
	assert_eq "$(jq -c --argjson fd "$t" 'select(.fd == $fd) | [.prog, .state, .options.SO_KEEPALIVE, .options.TCP_KEEPIDLE, .options.IP_TOS]' <<<"$output")" \
		'["staticsrv","LISTEN",1,123,16]'
	assert_eq "$(jq -c --argjson fd "$u" 'select(.fd == $fd) | [.type, .state, .options.SO_BROADCAST, .options.IP_TTL]' <<<"$output")" \
		'["SOCK_DGRAM","UNCONN",1,9]'
	run --separate-stderr "$CLI" apply -p 'tcp: TCP_KEEPIDLE=45; udp: IP_TTL=3' "$pid"
	[ "$status" -eq 0 ]
	[ "$(json_of "$pid" "$t" '.options.TCP_KEEPIDLE')" = 45 ]
	[ "$(json_of "$pid" "$u" '.options.IP_TTL')" = 3 ]
}

@test "inspect and apply reach a Go program (no cgo, raw system calls)" {
	command -v go >/dev/null || skip "go is not installed (.ci/run installs golang-go)"
	cat >main.go <<'EOF'
package main

import (
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	d := net.Dialer{KeepAlive: 37 * time.Second}
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	a, err := ln.Accept()
	if err != nil {
		panic(err)
	}
	a.(*net.TCPConn).SetKeepAlivePeriod(41 * time.Second)
	c.(*net.TCPConn).SetNoDelay(false)
	port := ln.Addr().(*net.TCPAddr).Port
	os.WriteFile(os.Args[1]+".tmp", []byte(fmt.Sprintf("%d\n", port)), 0o644)
	os.Rename(os.Args[1]+".tmp", os.Args[1])
	buf := make([]byte, 1)
	c.Read(buf)
}
EOF
	CGO_ENABLED=0 GOCACHE=$PWD/gocache GOPATH=$PWD/gopath HOME=$PWD GOFLAGS= GO111MODULE=off \
		timeout 300 go build -o goserver main.go
	! readelf -l goserver | grep -q INTERP || false
	(exec ./goserver port 3>&- 4>&-) &
	pid=$!
	wait_for_file port
	port=$(cat port)
	run --separate-stderr "$CLI" inspect --json "$pid"
	[ "$status" -eq 0 ]
	# Go's own choices: keepalive on both connections at the periods asked,
	# TCP_NODELAY on by default and turned off on the dialled one
	assert_eq "$(jq -c 'select(.state == "ESTAB" and .peer == "127.0.0.1:'"$port"'") | [.prog, .options.SO_KEEPALIVE, .options.TCP_KEEPIDLE, .options.TCP_KEEPINTVL, .options.TCP_NODELAY]' <<<"$output")" \
		'["goserver",1,37,37,0]'
	assert_eq "$(jq -c 'select(.state == "ESTAB" and .addr == "127.0.0.1:'"$port"'") | [.options.SO_KEEPALIVE, .options.TCP_KEEPIDLE, .options.TCP_NODELAY]' <<<"$output")" \
		'[1,41,1]'
	[ "$(jq -r 'select(.state == "LISTEN") | .addr' <<<"$output")" = "127.0.0.1:$port" ]
	run --separate-stderr "$CLI" apply -p "dport=$port: TCP_KEEPCNT=4" "$pid"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'TCP_KEEPCNT, 4) = 0 \[inject\]$' <<<"$output")" -eq 1 ]
	assert_eq "$("$CLI" inspect --json "$pid" | jq -c 'select(.state == "ESTAB") | .options.TCP_KEEPCNT' | sort | tr '\n' ' ')" "4 9 "
}

@test "inspect: unix and IPv6 sockets, a process without sockets" {
	"$PY_REAL" - "$PWD" 3>&- 4>&- <<'EOF' &
import os, signal, socket, sys
d = sys.argv[1]
a, b = socket.socketpair()
u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
u.bind("\0sockpolicy-inspect-%d" % os.getpid())
u.listen(1)
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s6.bind(("::1", 0))
with open(os.path.join(d, "fds.tmp"), "w") as f:
    f.write("%d %d %d %d\n" % (a.fileno(), u.fileno(), s6.fileno(), s6.getsockname()[1]))
os.rename(os.path.join(d, "fds.tmp"), os.path.join(d, "fds"))
signal.pause()
EOF
	pid=$!
	wait_for_file fds
	read -r pair listener v6 port6 <fds
	run --separate-stderr "$CLI" inspect --json "$pid"
	[ "$status" -eq 0 ]
	assert_eq "$(jq -c --argjson fd "$pair" 'select(.fd == $fd) | [.family, .type, .protocol, .addr, .peer, .state, (.options | has("TCP_NODELAY"))]' <<<"$output")" \
		'["AF_UNIX","SOCK_STREAM",0,"unix:","unix:","ESTAB",false]'
	assert_eq "$(jq -c --argjson fd "$listener" 'select(.fd == $fd) | [.addr, .state]' <<<"$output")" \
		"[\"unix:@sockpolicy-inspect-$pid\",\"LISTEN\"]"
	assert_eq "$(jq -c --argjson fd "$v6" 'select(.fd == $fd) | [.family, .addr, .options.IPV6_V6ONLY, (.options | has("IP_TTL")), (.options | has("UDP_CORK"))]' <<<"$output")" \
		"[\"AF_INET6\",\"[::1]:$port6\",1,false,true]"
	run --separate-stderr "$CLI" inspect "$pid"
	grep -qE "^$pid +python3(\.[0-9]+)? +$v6 +inet6 udp +UNCONN +\[::1\]:$port6 +-$" <<<"$output"
	grep -qE "^$pid +python3(\.[0-9]+)? +$pair +unix stream +ESTAB +\"unix:\" +\"unix:\"$" <<<"$output"

	sleep 60 3>&- 4>&- &
	run --separate-stderr "$CLI" inspect "$!"
	[ "$status" -eq 0 ]
	assert_contains "$stderr" "$!"' (sleep): no sockets'
}

@test "inspect and apply: no such process, a thread, bad arguments and a bad policy give 125" {
	true &
	gone=$!
	wait "$gone" || true
	run --separate-stderr "$CLI" inspect "$gone"
	[ "$status" -eq 125 ]
	assert_eq "$stderr" "sockpolicy: $gone: no such process"
	run --separate-stderr "$CLI" apply -p 'SO_KEEPALIVE=1' "$gone"
	[ "$status" -eq 125 ]
	assert_eq "$stderr" "sockpolicy: $gone: no such process"

	# a thread's id is not a process's
	"$PY_REAL" -c '
import threading, time, sys
def run():
    print(threading.get_native_id(), flush=True)
    time.sleep(60)
threading.Thread(target=run, daemon=True).start()
time.sleep(60)' >tid 3>&- 4>&- &
	pid=$!
	wait_for_file tid
	run --separate-stderr "$CLI" inspect "$(cat tid)"
	[ "$status" -eq 125 ]
	assert_contains "$stderr" "$(cat tid): is a thread of process $pid: give the process id"

	for args in "" "12x" "-5" "0" "--bogus 1"; do
		run --separate-stderr "$CLI" inspect $args
		[ "$status" -eq 125 ] || { echo "inspect $args: $status"; return 1; }
		run --separate-stderr "$CLI" apply -p 'SO_KEEPALIVE=1' $args
		[ "$status" -eq 125 ] || { echo "apply $args: $status"; return 1; }
	done
	run --separate-stderr "$CLI" inspect 12x
	assert_contains "$stderr" "'12x' is not a process id"
	run --separate-stderr "$CLI" apply -p 'SO_REUSEADR=1' "$pid"
	[ "$status" -eq 125 ]
	assert_eq "$stderr" "sockpolicy: SOCKPOLICY:1:1: unknown option 'SO_REUSEADR' (did you mean 'SO_REUSEADDR'?)"
	run --separate-stderr env -u SOCKPOLICY -u SOCKPOLICY_FILE "$CLI" apply -f /nonexistent "$pid"
	[ "$status" -eq 125 ]
	assert_contains "$stderr" "/nonexistent"
	run --separate-stderr "$CLI" inspect --help
	[ "$status" -eq 0 ]
	assert_contains "$output" "Usage: sockpolicy inspect"
}

# as_nobody CMD...: runs CMD as user nobody, without root's groups.
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
}

@test "as user nobody: another user's process, a non-dumpable one are refused with the cause named (125)" {
	[ -x "$PY_SYS" ] || skip "no $PY_SYS for user nobody"
	start_pair
	run --separate-stderr as_nobody "$CLI" inspect "$SERVER"
	[ "$status" -eq 125 ]
	assert_eq "$stderr" "sockpolicy: $SERVER (sockapp-srv): not permitted: it runs as user 0 (root) and you are user $(id -u nobody) (nobody): another user's process needs CAP_SYS_PTRACE (run sockpolicy as root, or as that user)"
	[ -z "$output" ]
	run --separate-stderr as_nobody "$CLI" apply -p 'SO_KEEPALIVE=1' "$SERVER"
	[ "$status" -eq 125 ]
	assert_contains "$stderr" "not permitted: it runs as user 0 (root)"
	[ "$(values server "$SERVER")" = "SO_KEEPALIVE=0 TCP_KEEPIDLE=77 TCP_KEEPINTVL=75 TCP_NODELAY=1" ]

	# nobody's own process: readable while dumpable, refused once it is not
	code='
import ctypes, os, socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
if sys.argv[1] == "hide":
    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE
print(os.getpid(), flush=True)
time.sleep(60)'
	# exec: the background job is python itself, which teardown ends
	(exec setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$PY_SYS" -c "$code" show >show.ready 3>&- 4>&-) &
	show=$!
	(exec setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$PY_SYS" -c "$code" hide >hide.ready 3>&- 4>&-) &
	hide=$!
	wait_for_file show.ready
	wait_for_file hide.ready
	[ "$(cat show.ready)" = "$show" ] && [ "$(cat hide.ready)" = "$hide" ]
	run --separate-stderr as_nobody "$CLI" inspect --json "$show"
	[ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
	[ "$(jq '.options.SO_KEEPALIVE' <<<"$output")" = 1 ]
	run --separate-stderr as_nobody "$CLI" inspect "$hide"
	[ "$status" -eq 125 ]
	assert_contains "$stderr" "sockpolicy: $hide (python3"
	assert_contains "$stderr" "not permitted: the process is not dumpable (it called prctl(PR_SET_DUMPABLE, 0), or changed its user or group ids): that needs CAP_SYS_PTRACE"
	# root has CAP_SYS_PTRACE: both are open to it
	run --separate-stderr "$CLI" inspect --json "$hide"
	[ "$status" -eq 0 ]
	[ "$(jq '.options.SO_KEEPALIVE' <<<"$output")" = 1 ]
}

@test "a kernel without pidfd_getfd or pidfd_open is named (125)" {
	start_pair
	# x86_64 numbers; the seccomp helper fails them with ENOSYS
	[ "$(uname -m)" = x86_64 ] || skip "system call numbers here are x86_64's"
	run --separate-stderr "$HELPERS/sysfail" 438 38 "$CLI" inspect "$SERVER"
	[ "$status" -eq 125 ]
	assert_eq "$stderr" "sockpolicy: $SERVER (sockapp-srv): this kernel has no pidfd_getfd(2): inspect and apply need Linux 5.6 or later"
	run --separate-stderr "$HELPERS/sysfail" 434 38 "$CLI" apply -p 'SO_KEEPALIVE=1' "$SERVER"
	[ "$status" -eq 125 ]
	assert_eq "$stderr" "sockpolicy: $SERVER: this kernel has no pidfd_open(2): inspect and apply need Linux 5.6 or later"
	[ "$(values server "$SERVER")" = "SO_KEEPALIVE=0 TCP_KEEPIDLE=77 TCP_KEEPINTVL=75 TCP_NODELAY=1" ]
}

@test "Yama's ptrace_scope 1, 2 and 3 are named as the cause of a refusal (as user nobody, own process)" {
	[ -x "$PY_SYS" ] || skip "no $PY_SYS for user nobody"
	[ "$(uname -m)" = x86_64 ] || skip "system call numbers here are x86_64's"
	# Yama is a sysctl of the whole machine: not changed here.  What the
	# kernel does under it is done instead -- pidfd_getfd (438) refused with
	# EPERM (1) while /proc/PID/fd stays readable -- and the sysctl file is
	# one of a tmpfs over /proc/sys/kernel in a mount namespace of its own.
	yama_before=$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo none)
	(exec setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$PY_SYS" -c '
import os, socket, time
s = socket.socket()
print(os.getpid(), flush=True)
time.sleep(60)' >own.ready 3>&- 4>&-) &
	own=$!
	wait_for_file own.ready
	[ "$(cat own.ready)" = "$own" ]
	# yama_inspect SCOPE: inspect as nobody, the sysctl file saying SCOPE
	# ("none": no Yama)
	yama_inspect() {
		unshare -m sh -c '
			mount -t tmpfs -o mode=755 sockpolicy-yama /proc/sys/kernel || exit 99
			if [ "$1" != none ]; then
				mkdir /proc/sys/kernel/yama && echo "$1" >/proc/sys/kernel/yama/ptrace_scope || exit 99
			fi
			shift
			exec setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"' \
			_ "$1" "$HELPERS/sysfail" 438 1 "$CLI" inspect "$own"
	}
	run --separate-stderr yama_inspect 1
	[ "$status" -eq 125 ] || { echo "$status $stderr"; return 1; }
	assert_eq "$stderr" "sockpolicy: $own (python3): not permitted: Yama's kernel.yama.ptrace_scope is 1: only an ancestor of a process may take its descriptors; run sockpolicy as root (CAP_SYS_PTRACE), or set kernel.yama.ptrace_scope to 0"
	run --separate-stderr yama_inspect 2
	[ "$status" -eq 125 ]
	assert_eq "$stderr" "sockpolicy: $own (python3): not permitted: Yama's kernel.yama.ptrace_scope is 2: only a process with CAP_SYS_PTRACE may take another's descriptors (run sockpolicy as root)"
	run --separate-stderr yama_inspect 3
	[ "$status" -eq 125 ]
	assert_eq "$stderr" "sockpolicy: $own (python3): not permitted: Yama's kernel.yama.ptrace_scope is 3: no process may take another's descriptors, whatever its privileges, until the next boot"
	run --separate-stderr yama_inspect none
	[ "$status" -eq 125 ]
	assert_contains "$stderr" "sockpolicy: $own (python3): not permitted: taking a process's sockets needs ptrace access"
	# and nothing of it outside the namespace
	[ "$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo none)" = "$yama_before" ]
}

@test "inspect: each socket that cannot be read is named, and the status is 1" {
	start_pair
	[ "$(uname -m)" = x86_64 ] || skip "system call numbers here are x86_64's"
	# getsockopt (55) refused with EACCES (13), as a security module may
	run --separate-stderr "$HELPERS/sysfail" 55 13 "$CLI" inspect --json "$SERVER" "$CLIENT"
	[ "$status" -eq 1 ]
	assert_contains "$stderr" "sockpolicy: $SERVER (sockapp-srv) fd $LFD: Permission denied"
	assert_contains "$stderr" "sockpolicy: $CLIENT (sockapp-cli) fd $CLIFD: Permission denied"
	[ -z "$output" ]
}

@test "the inspect benchmark reads 1,000 sockets of a process and times it" {
	BENCH_INSPECT=$SP_BUILD/bench/inspect_bench
	[ -x "$BENCH_INSPECT" ] || skip "inspect_bench not built"
	run timeout 120 "$BENCH_INSPECT" --quick "$CLI"
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	grep -qE '^inspect, 1,000 sockets: +[0-9]+\.[0-9] ms' <<<"$output"
	assert_contains "$output" "1000 sockets listed"
}
