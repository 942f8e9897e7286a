# Shared by the compat suites (tests/compat/*.bats), loaded after ../common:
# real programs from Debian packages, started by the tests themselves on
# loopback, stopped in teardown.  A missing program fails the test (CI
# installs it, see .ci/run); nothing is skipped.

# require CMD PACKAGE: fails, naming the Debian package, when CMD is missing.
require() {
	command -v "$1" >/dev/null 2>&1 && return 0
	echo "$1 is not installed (Debian package $2; .ci/run installs it)"
	return 1
}

# Background processes the test started; teardown ends them.
BG_PIDS=()

# bg CMD...: starts CMD in the background with descriptors 3 and 4 closed
# (bats waits on them) and a time limit, so that nothing outlives the test
# even if teardown never runs.  Output goes to the files the caller
# redirects to.  Sets BG_PID.
bg() {
	timeout 60 "$@" 3>&- 4>&- &
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
}

compat_teardown() {
	local pid
	for pid in "${BG_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${BG_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	return 0
}
teardown() { compat_teardown; }

# free_port: a TCP port on 127.0.0.1 that nothing listens on now, for the
# servers whose configuration needs a number (nginx, redis).
free_port() {
	"$PYTHON" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# wait_listen PORT: waits until something listens on 127.0.0.1:PORT, 10 s.
wait_listen() {
	local i
	for i in $(seq 1 200); do
		[ -n "$(ss -Htln "sport = :$1")" ] && return 0
		sleep 0.05
	done
	echo "nothing listens on port $1 after 10 s" >&2
	return 1
}

# wait_grep REGEX FILE: waits until FILE has a line matching REGEX, 10 s.
wait_grep() {
	local i
	for i in $(seq 1 200); do
		grep -qE "$1" "$2" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "no line matching '$1' in $2 after 10 s:" >&2
	cat "$2" >&2 2>/dev/null
	return 1
}

# socat_port FILE: the port socat -d -d reported listening on in FILE
# ("listening on AF=2 127.0.0.1:PORT", "listening on AF=10 [...]:PORT").
socat_port() {
	wait_grep 'listening on AF=[0-9]+ .*:[0-9]+$' "$1" || return 1
	sed -n 's/.*listening on AF=[0-9]* .*:\([0-9][0-9]*\)$/\1/p' "$1" | head -n 1
}

# time_wait PORT: how many connections with local port PORT are in TIME_WAIT.
time_wait() {
	ss -Htan state time-wait "sport = :$1" | wc -l
}

# skmem SS-ARGS...: "rb=N tb=N" of the one socket that `ss -Hnm SS-ARGS`
# finds (-t established TCP, -tl listening TCP, -ul UDP; then a filter):
# rb is sk_rcvbuf and tb sk_sndbuf as the kernel holds them, twice what
# setsockopt asked for.  Waits up to 10 s for the socket to appear.
skmem() {
	local i out
	for i in $(seq 1 200); do
		out=$(ss -Hnm "$@")
		if [[ "$out" =~ rb([0-9]+),t[0-9]+,tb([0-9]+) ]]; then
			echo "rb=${BASH_REMATCH[1]} tb=${BASH_REMATCH[2]}"
			return 0
		fi
		sleep 0.05
	done
	echo "ss found no socket for: $*" >&2
	return 1
}

# keepalive_timer SS-ARGS...: the whole seconds left on the keepalive timer
# of the one socket `ss -Hno SS-ARGS` finds (ss -o prints it as
# "timer:(keepalive,4min59sec,0)" or "timer:(keepalive,41sec,0)"); waits
# up to 10 s for it.
keepalive_timer() {
	local i out t m s
	for i in $(seq 1 200); do
		out=$(ss -Hno "$@")
		if [[ "$out" =~ timer:\(keepalive,([^,]*), ]]; then
			t=${BASH_REMATCH[1]} m=0 s=0
			[[ "$t" =~ ([0-9]+)min ]] && m=${BASH_REMATCH[1]}
			[[ "$t" =~ ([0-9]+)(\.[0-9]+)?sec ]] && s=${BASH_REMATCH[1]}
			echo $((m * 60 + s))
			return 0
		fi
		sleep 0.05
	done
	echo "ss found no keepalive timer for: $*" >&2
	return 1
}

# nginx_conf PORT LISTEN_PARAMS [MAIN]: nginx serving www/ on
# 127.0.0.1:PORT with everything in the test's directory; by default in
# the foreground as one process, else with the MAIN directives.
nginx_conf() {
	mkdir -p www
	echo hello >www/index.html
	cat >nginx.conf <<-EOF
		${3:-daemon off; master_process off;}
		pid $PWD/nginx.pid;
		error_log stderr notice;
		events { worker_connections 64; }
		http {
			access_log off;
			client_body_temp_path $PWD/body;
			proxy_temp_path $PWD/proxy;
			fastcgi_temp_path $PWD/fastcgi;
			uwsgi_temp_path $PWD/uwsgi;
			scgi_temp_path $PWD/scgi;
			server { listen 127.0.0.1:$1 $2; root $PWD/www; }
		}
	EOF
}
