#!/usr/bin/env bash
# make demo: the main job of sockpolicy, shown on a legacy server that
# binds its port without SO_REUSEADDR.  Restarted right after serving a
# client, it fails: the old connection holds the port in TIME_WAIT.  Run
# under the shim with SOCKPOLICY='SO_REUSEADDR=1', it restarts at once, and
# the log shows what the shim did.
set -eu
cd "$(dirname "$0")/.."
B=${B:-build}
LIB=$PWD/$B/libsockpolicy.so
SERVER=$PWD/$B/tests/legacy_server
work=$(mktemp -d "${TMPDIR:-/tmp}/sockpolicy-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT

# serve_once PORT [ENV...]: start the server, be its one client, let it exit.
serve_once() {
	local port=$1
	shift
	rm -f "$work/port"
	env "$@" "$SERVER" "$port" "$work/port" >/dev/null &
	local pid=$!
	for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
	# read to the end: the server closes first, so its side goes to TIME_WAIT
	exec 9<>"/dev/tcp/127.0.0.1/$(cat "$work/port")"
	cat <&9 >/dev/null
	exec 9<&-
	wait "$pid"
}

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }

say "1. The legacy server, as it is: serve one client, then restart on the same port"
serve_once 0
port=$(cat "$work/port")
echo "   served a client on 127.0.0.1:$port; its side of the connection is now in TIME_WAIT"
echo "   \$ $B/tests/legacy_server $port"
if "$SERVER" "$port" >/dev/null 2>"$work/err"; then
	echo "   (unexpected: the restart worked)"
else
	echo "   $(cat "$work/err")      <- the restart fails"
fi

say "2. The same binary under the shim: SOCKPOLICY='SO_REUSEADDR=1'"
run=(LD_PRELOAD="$LIB" SOCKPOLICY='SO_REUSEADDR=1' SOCKPOLICY_LOG="$work/log.txt")
serve_once 0 "${run[@]}"
port=$(cat "$work/port")
echo "   served a client on 127.0.0.1:$port; restarting at once:"
echo "   \$ LD_PRELOAD=$B/libsockpolicy.so SOCKPOLICY='SO_REUSEADDR=1' SOCKPOLICY_LOG=log.txt $B/tests/legacy_server $port"
: >"$work/log.txt"
serve_once "$port" "${run[@]}"
echo "   the restart binds 127.0.0.1:$port and serves again. The log (log.txt):"
sed 's/^/   /' "$work/log.txt"

say "3. Auditing: every socket call of the program, as JSON lines"
LD_PRELOAD="$LIB" SOCKPOLICY_LOG="$work/audit.json" SOCKPOLICY_LOG_FORMAT=json \
	python3 -c 'import socket; s = socket.create_server(("127.0.0.1", 0)); s.close()'
sed 's/^/   /' "$work/audit.json"
echo
echo "Note: Linux wants SO_REUSEADDR on the old socket too, so run the server under"
echo "the policy from its first start (README, \"Forcing reuse\")."
