#!/usr/bin/env bats
# The headline use: a legacy server that cannot restart on its port while
# the old connection sits in TIME_WAIT, and can under SO_REUSEADDR=1.

load common

# A client that reads until the server has closed: the server closes first,
# so its side of the connection, not ours, goes to TIME_WAIT.
client() {
	"$PYTHON" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
while s.recv(64):
    pass
s.close()' "$1"
}

# Runs the legacy server once on port $1 (0: any), serves one client,
# leaving the server's side of that connection in TIME_WAIT.  Prints the port.
serve_once() {
	local port=$1
	shift
	rm -f portfile
	"$@" "$HELPERS/legacy_server" "$port" portfile >server.out 2>&1 &
	local pid=$!
	wait_for_file portfile || return 1
	port=$(cat portfile)
	client "$port"
	wait "$pid"
	echo "$port"
}

@test "a legacy server cannot rebind its port in TIME_WAIT without the shim" {
	port=$(serve_once 0 env)
	run timeout 20 "$HELPERS/legacy_server" "$port"
	[ "$status" -eq 1 ]
	assert_contains "$output" "bind: Address already in use"
}

@test "the same server rebinds under SOCKPOLICY=SO_REUSEADDR=1, and the log shows why" {
	port=$(serve_once 0 env LD_PRELOAD="$LIB" SOCKPOLICY=SO_REUSEADDR=1)
	# the restart, with the policy: bind succeeds and it serves again
	port2=$(serve_once "$port" env LD_PRELOAD="$LIB" SOCKPOLICY=SO_REUSEADDR=1 SOCKPOLICY_LOG="$PWD/log.txt")
	[ "$port2" = "$port" ]
	grep -q "listening on $port" server.out
	run cat log.txt
	[[ "$output" =~ setsockopt\(([0-9]+),\ SOL_SOCKET,\ SO_REUSEADDR,\ 1\)\ =\ 0\ \[inject\] ]]
	fd=${BASH_REMATCH[1]}
	assert_contains "$output" "bind($fd, 127.0.0.1:$port) = 0"
	# the injection comes before the bind it is for
	inject_line=$(grep -n 'SO_REUSEADDR, 1) = 0 \[inject\]' log.txt | head -n1 | cut -d: -f1)
	bind_line=$(grep -n "bind($fd, 127.0.0.1:$port) = 0" log.txt | cut -d: -f1)
	[ "$inject_line" -lt "$bind_line" ]
}

@test "without the policy the preloaded shim changes nothing: the rebind still fails" {
	port=$(serve_once 0 env LD_PRELOAD="$LIB")
	run timeout 20 env LD_PRELOAD="$LIB" SOCKPOLICY_LOG="$PWD/log.json" SOCKPOLICY_LOG_FORMAT=json "$HELPERS/legacy_server" "$port"
	[ "$status" -eq 1 ]
	assert_contains "$output" "Address already in use"
	[ "$(logcount log.json call=bind errno=EADDRINUSE)" = 1 ]
	[ "$(logcount log.json action=inject)" = 0 ]
}

# Linux checks SO_REUSEADDR on both sockets: the one in TIME_WAIT keeps the
# flag of the listener it was accepted from.  So the server must run under
# the policy from its first start; README "Forcing reuse" says so.
py_serve_once() {
	local port=$1
	shift
	rm -f pyport
	"$@" "$PYTHON" server.py "$port" >pyport &
	local pid=$!
	wait_for_file pyport || return 1
	client "$(cat pyport)"
	wait "$pid"
	cat pyport
}

write_server_py() {
	cat >server.py <<'PY'
import socket, sys
s = socket.socket()                      # no SO_REUSEADDR of its own
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
print(s.getsockname()[1], flush=True)
s.settimeout(60)                         # never outlive a test that lost its client
c, _ = s.accept(); c.sendall(b"hi"); c.close(); s.close()
PY
}

@test "a python3 server restarts on its TIME_WAIT port when it runs under the policy" {
	write_server_py
	port=$(py_serve_once 0 env LD_PRELOAD="$LIB" SOCKPOLICY='tcp: SO_REUSEADDR=1')
	run timeout 20 "$PYTHON" server.py "$port"
	[ "$status" -ne 0 ]
	assert_contains "$output" "Address already in use"
	again=$(py_serve_once "$port" env LD_PRELOAD="$LIB" SOCKPOLICY='tcp: SO_REUSEADDR=1')
	[ "$again" = "$port" ]
}

@test "documented limit: a first instance started without the policy still blocks the port" {
	write_server_py
	port=$(py_serve_once 0 env)
	run timeout 20 env LD_PRELOAD="$LIB" SOCKPOLICY='tcp: SO_REUSEADDR=1' "$PYTHON" server.py "$port"
	[ "$status" -ne 0 ]
	assert_contains "$output" "Address already in use"
}
