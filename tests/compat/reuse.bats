#!/usr/bin/env bats
# Forcing reuse on real servers: socat's TCP-LISTEN does not set
# SO_REUSEADDR (unless given ",reuseaddr"), so it cannot restart on a port
# it left in TIME_WAIT, and can under the policy.  Python's http.server
# sets SO_REUSEADDR itself; `ignore SO_REUSEADDR` takes that away, which
# shows the difference the other way round.

load ../common
load compat

REUSE='tcp: SO_REUSEADDR=1'

setup() {
	common_setup
	require socat socat
}

# socat_once OUT [ENV...]: runs one socat server on 127.0.0.1 ($PORT, or
# any port when unset) that answers "hi" and closes first, serves one socat
# client, and leaves the server's side of that connection in TIME_WAIT.
# Sets PORT; the server's stderr is in OUT.
socat_once() {
	local out=$1
	shift
	bg env "$@" socat -d -d "TCP-LISTEN:${PORT:-0},bind=127.0.0.1" SYSTEM:'echo hi' 2>"$out"
	local pid=$BG_PID
	PORT=$(socat_port "$out") || return 1
	run timeout 20 socat -u "TCP:127.0.0.1:$PORT" STDOUT
	[ "$status" -eq 0 ] && [ "$output" = hi ] || { echo "client: $status $output"; return 1; }
	wait "$pid" || { echo "server failed:"; cat "$out"; return 1; }
	[ "$(time_wait "$PORT")" -ge 1 ] || { echo "no TIME_WAIT on $PORT"; return 1; }
}

@test "socat: without the shim it cannot restart on its port in TIME_WAIT" {
	unset PORT
	socat_once first.err
	run timeout 20 socat "TCP-LISTEN:$PORT,bind=127.0.0.1" SYSTEM:'echo hi' 3>&- 4>&-
	[ "$status" -ne 0 ]
	assert_contains "$output" "Address already in use"
}

@test "socat: under SO_REUSEADDR=1 it restarts on its TIME_WAIT port, the log shows the injection before bind" {
	unset PORT
	socat_once first.err LD_PRELOAD="$LIB" SOCKPOLICY="$REUSE"
	# without the policy the restart still fails: socat sets no SO_REUSEADDR
	run timeout 20 socat "TCP-LISTEN:$PORT,bind=127.0.0.1" SYSTEM:'echo hi' 3>&- 4>&-
	[ "$status" -ne 0 ]
	assert_contains "$output" "Address already in use"
	# with it, it restarts and serves again
	socat_once second.err LD_PRELOAD="$LIB" SOCKPOLICY="$REUSE" \
		SOCKPOLICY_LOG="$PWD/log.json" SOCKPOLICY_LOG_FORMAT=json
	[ "$(logcount log.json prog=socat call=setsockopt level=SOL_SOCKET opt=SO_REUSEADDR value=1 action=inject ret=0)" = 1 ]
	[ "$(logcount log.json prog=socat call=bind addr="127.0.0.1:$PORT" ret=0)" = 1 ]
	# socat itself never set the option: the only record is the policy's
	[ "$(logcount log.json opt=SO_REUSEADDR action=pass)" = 0 ]
	# the injection is on the listening socket, and comes before its bind
	fd=$($LOGQ values log.json fd call=bind)
	mapfile -t calls < <($LOGQ values log.json call fd="$fd")
	assert_eq "${calls[*]:0:4}" "socket setsockopt bind listen"
}

@test "socat: a first instance without the policy still blocks the port (README: run under the policy from the first start)" {
	unset PORT
	socat_once first.err
	run timeout 20 env LD_PRELOAD="$LIB" SOCKPOLICY="$REUSE" \
		socat "TCP-LISTEN:$PORT,bind=127.0.0.1" SYSTEM:'echo hi' 3>&- 4>&-
	[ "$status" -ne 0 ]
	assert_contains "$output" "Address already in use"
}

# http_get PORT: one HTTP/1.0 GET that reads until the server has closed
# (curl would close as soon as it has Content-Length bytes, racing the
# server's close): the server closes first, so its side goes to TIME_WAIT.
http_get() {
	"$PYTHON" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
while True:
    data = s.recv(65536)
    if not data:
        break
    sys.stdout.buffer.write(data)
s.close()' "$1"
}

# http_once OUT [ENV...]: python3 -m http.server on 127.0.0.1 ($PORT or
# any), one request (http_get), then the server is stopped.  Sets PORT.
http_once() {
	local out=$1
	shift
	bg env "$@" "$PYTHON" -u -m http.server --bind 127.0.0.1 "${PORT:-0}" >"$out" 2>&1
	local pid=$BG_PID
	wait_grep '^Serving HTTP on 127\.0\.0\.1 port [0-9]+' "$out" || return 1
	PORT=$(sed -n 's/^Serving HTTP on 127\.0\.0\.1 port \([0-9]*\).*/\1/p' "$out")
	http_get "$PORT" >get.out
	grep -q '^HTTP/1.0 200 OK' get.out || { echo "GET failed:"; cat get.out; return 1; }
	kill "$pid"
	wait "$pid" || true
	[ "$(time_wait "$PORT")" -ge 1 ] || { echo "no TIME_WAIT on $PORT"; return 1; }
}

@test "python3 http.server sets SO_REUSEADDR itself: it restarts on its TIME_WAIT port without the shim" {
	unset PORT
	http_once first.out
	http_once second.out
	grep -q "port $PORT" second.out
}

@test "python3 http.server under 'ignore SO_REUSEADDR': its own setsockopt is dropped and the restart fails" {
	unset PORT
	http_once first.out LD_PRELOAD="$LIB" SOCKPOLICY='ignore SO_REUSEADDR'
	run timeout 20 env LD_PRELOAD="$LIB" SOCKPOLICY='ignore SO_REUSEADDR' \
		SOCKPOLICY_LOG="$PWD/log.json" SOCKPOLICY_LOG_FORMAT=json \
		"$PYTHON" -m http.server --bind 127.0.0.1 "$PORT" 3>&- 4>&-
	[ "$status" -ne 0 ]
	assert_contains "$output" "Address already in use"
	[ "$(logcount log.json call=setsockopt opt=SO_REUSEADDR value=1 action=ignore ret=0)" = 1 ]
	[ "$(logcount log.json call=bind addr="127.0.0.1:$PORT" ret=-1 errno=EADDRINUSE)" = 1 ]
}
