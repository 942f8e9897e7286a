#!/usr/bin/env bash
# The real workload (issue 11): what a user of a busy server pays.  nginx,
# one process, serves a small file on 127.0.0.1 to wrk, which opens a new
# connection for every request (Connection: close), so that every request
# goes through accept4, and the shim's accept path, once.
#
#   tests/bench/workload.sh --lib PATH [--quick] [--rounds N] [--seconds S]
#                           [--connections C]
#
# Six configurations, each its own nginx on its own port, all started
# before the first round: bare; the shim with no policy; with one rule
# acting at accept; with 1,000 rules (that one among 999 for other ports,
# shaped as tests/bench/bench.c's); with a JSON log to a file; under
# `strace -f -e trace=network -o FILE`.  Each round runs wrk once against
# every configuration, in an order rotated by one each round, so that a
# slow phase of a shared host falls on all of them; the table shows each
# configuration's median over the rounds, as requests/s and as the CPU
# time the server (nginx, and strace where it traces) spent per request,
# both against bare.  The client is the same in every row: on a 2-core
# host wrk takes about as much CPU as nginx, so requests/s hides part of
# what the server pays; the CPU column shows it whole.
#
# Exit status: 0 with the table; 1 when a configuration failed (nginx did
# not start, the shim or strace was not in it, wrk failed); 2 for bad
# options or a missing program.
set -u

usage() {
	echo "usage: $0 --lib PATH [--quick] [--rounds N] [--seconds S] [--connections C]" >&2
	exit 2
}

# Many short rounds rather than a few long ones: a burst of the host's
# other work then falls on every configuration alike.
LIB='' ROUNDS=9 SECS=1 CONNS=8 WARM=1
while [ $# -gt 0 ]; do
	case "$1" in
	--lib) [ $# -ge 2 ] || usage; LIB=$2; shift ;;
	--quick) ROUNDS=1 SECS=1 WARM=0 ;;
	--rounds) [ $# -ge 2 ] || usage; ROUNDS=$2; shift ;;
	--seconds) [ $# -ge 2 ] || usage; SECS=$2; shift ;;
	--connections) [ $# -ge 2 ] || usage; CONNS=$2; shift ;;
	*) usage ;;
	esac
	shift
done
for n in "$ROUNDS" "$SECS" "$CONNS"; do
	# wrk takes whole seconds; more than these would only be a typo
	[[ "$n" =~ ^[1-9][0-9]{0,2}$ ]] || { echo "$0: '$n' is not a count from 1 to 999" >&2; exit 2; }
done
[ -n "$LIB" ] || usage
[ -f "$LIB" ] || { echo "$0: no library at $LIB" >&2; exit 2; }
LIB=$(cd "$(dirname "$LIB")" && pwd)/$(basename "$LIB")
for pair in nginx:nginx wrk:wrk strace:strace ss:iproute2 python3:python3; do
	command -v "${pair%%:*}" >/dev/null 2>&1 && continue
	echo "$0: ${pair%%:*} is not installed (Debian package ${pair#*:}; .ci/run installs it)" >&2
	exit 2
done

# Nothing from the caller's environment may change a row: the preload and
# the policy are set per configuration below.
unset LD_PRELOAD $(compgen -e | grep '^SOCKPOLICY') 2>/dev/null

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sockpolicy-workload.XXXXXX") || exit 1
NAMES=("bare" "shim, no policy" "shim, at=accept rule" "shim, 1,000 rules" "shim, JSON log" "strace -f")
NCFG=${#NAMES[@]}
WRAP=()  # per configuration: the pid of the timeout that runs it
NGINX=() # per configuration: nginx's own pid
PORT=()

# Every process started here is ended by its pid: nginx first (so that
# strace, which would only detach from it, exits with it), then the
# timeout around it; every wait is bounded.
cleanup() {
	local i p n
	# A second signal (timeout(1) sends one to the script and one to its
	# process group) must not cut the cleanup short.
	trap '' INT TERM HUP
	if [ -n "${WRK:-}" ]; then
		kill "$WRK" 2>/dev/null
		wait "$WRK" 2>/dev/null
	fi
	for i in "${!WRAP[@]}"; do
		p=${NGINX[$i]:-}
		[ -n "$p" ] && kill "$p" 2>/dev/null
		kill "${WRAP[$i]}" 2>/dev/null
	done
	for i in "${!WRAP[@]}"; do
		for n in $(seq 1 100); do
			kill -0 "${WRAP[$i]}" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "${WRAP[$i]}" 2>/dev/null
		p=${NGINX[$i]:-}
		[ -n "$p" ] && kill -KILL "$p" 2>/dev/null
		wait "${WRAP[$i]}" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
	echo "$0: $*" >&2
	exit 1
}

free_port() {
	python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# 999 rules shaped as bench.c's 1,000 (for ports 20000-20998, half of them
# `force`), and the one rule that acts: the same as the at=accept row's.
rules1000() {
	local i
	for ((i = 0; i < 999; i++)); do
		if ((i % 2)); then
			echo "tcp port=$((20000 + i)): force SO_SNDBUF=64K"
		else
			echo "tcp port=$((20000 + i)): SO_KEEPALIVE=1"
		fi
	done
	echo "tcp port=$1 at=accept: SO_KEEPALIVE=1"
}

# The longest a server may live: every round, the warm-up, and a margin.
LIFE=$((NCFG * (ROUNDS * (SECS + 2) + WARM + 2) + 60))

# start I: starts configuration I's nginx and waits until it listens.
start() {
	local i=$1 d=$TMP/$1 port try cmd=() envs=()
	mkdir -p "$d/www"
	echo hello >"$d/www/index.html"
	for try in 1 2 3; do
		port=$(free_port) || fail "python3 found no free port"
		# the 1,000 rules are for ports 20000-20998; the server's is not one
		((port >= 20000 && port <= 20998)) && continue
		cat >"$d/nginx.conf" <<-EOF
			daemon off; master_process off;
			pid $d/nginx.pid;
			error_log $d/error.log notice;
			events { worker_connections 1024; }
			http {
				access_log off;
				client_body_temp_path $d/body;
				proxy_temp_path $d/proxy;
				fastcgi_temp_path $d/fastcgi;
				uwsgi_temp_path $d/uwsgi;
				scgi_temp_path $d/scgi;
				server {
					listen 127.0.0.1:$port;
					root $d/www;
					location = /status { stub_status; }
				}
			}
		EOF
		# SOCKPOLICY is set even when empty: /etc/sockpolicy.conf is not read
		envs=()
		case $i in
		1) envs=(LD_PRELOAD="$LIB" SOCKPOLICY=) ;;
		2) envs=(LD_PRELOAD="$LIB" SOCKPOLICY="tcp port=$port at=accept: SO_KEEPALIVE=1") ;;
		3) envs=(LD_PRELOAD="$LIB" SOCKPOLICY="$(rules1000 "$port")") ;;
		4) envs=(LD_PRELOAD="$LIB" SOCKPOLICY= SOCKPOLICY_LOG="$d/log.json" SOCKPOLICY_LOG_FORMAT=json) ;;
		esac
		cmd=(nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log")
		[ "$i" = 5 ] && cmd=(strace -f -e trace=network -o "$d/strace.out" "${cmd[@]}")
		rm -f "$d/nginx.pid"
		env "${envs[@]}" timeout "$LIFE" "${cmd[@]}" </dev/null >"$d/out" 2>"$d/err" 3>&- 4>&- &
		WRAP[$i]=$!
		local n
		for n in $(seq 1 200); do
			[ -s "$d/nginx.pid" ] && [ -n "$(ss -Htln "sport = :$port")" ] && break
			kill -0 "${WRAP[$i]}" 2>/dev/null || break
			sleep 0.05
		done
		if [ -s "$d/nginx.pid" ] && [ -n "$(ss -Htln "sport = :$port")" ]; then
			NGINX[$i]=$(cat "$d/nginx.pid")
			PORT[$i]=$port
			break
		fi
		# most likely the port was taken between the probe and nginx
		kill "${WRAP[$i]}" 2>/dev/null
		wait "${WRAP[$i]}" 2>/dev/null
		unset "WRAP[$i]"
	done
	[ -n "${PORT[$i]:-}" ] || fail "nginx (${NAMES[$i]}) did not start: $(cat "$d/err" "$d/error.log" 2>/dev/null | tail -n 5)"
	# Each row is what it says, or the run stops.
	local pid=${NGINX[$i]}
	if [ "$i" -ge 1 ] && [ "$i" -le 4 ]; then
		grep -qF "$LIB" "/proc/$pid/maps" || fail "${NAMES[$i]}: the library is not loaded in nginx"
	else
		grep -q libsockpolicy "/proc/$pid/maps" && fail "${NAMES[$i]}: the library is loaded in nginx"
	fi
	TRACER[$i]=$(awk '/^TracerPid:/ {print $2}' "/proc/$pid/status")
	if [ "$i" = 5 ]; then
		[ "${TRACER[$i]}" != 0 ] || fail "strace -f: nginx is not traced"
	else
		TRACER[$i]=0
	fi
	# a policy the library refused would leave the row unconfigured
	grep -q sockpolicy "$d/err" && fail "${NAMES[$i]}: $(cat "$d/err")"
	return 0
}

# cpu_ns I: sets NS to the nanoseconds on a CPU so far of configuration
# I's server: nginx (one thread), and strace when it traces it.
cpu_ns() {
	local p ns
	NS=0
	for p in "${NGINX[$1]}" "${TRACER[$1]}"; do
		[ "$p" != 0 ] || continue
		read -r ns _ <"/proc/$p/schedstat" || fail "${NAMES[$1]}: the server has gone"
		NS=$((NS + ns))
	done
}

# status I: "accepts requests" of configuration I's nginx (stub_status).
status() {
	local line
	exec 5<>"/dev/tcp/127.0.0.1/${PORT[$1]}" || return 1
	printf 'GET /status HTTP/1.0\r\nHost: localhost\r\n\r\n' >&5
	line=$(timeout 5 cat <&5 | sed -n 's/^ *\([0-9][0-9]*\) \([0-9][0-9]*\) \([0-9][0-9]*\) *\r*$/\1 \3/p')
	exec 5>&-
	echo "$line"
}

# bench I SECS: one wrk run against configuration I.  Sets REQS (requests
# done), RATE (requests/s), CPU (server CPU ns during the run) and ERRS
# (wrk's socket errors and answers other than 2xx).  wrk runs in the
# background of this shell so that cleanup can end it by its pid.
WRK=''
bench() {
	local i=$1 out=$TMP/wrk.out c0
	cpu_ns "$i"
	c0=$NS
	timeout $(($2 + 15)) wrk -t1 -c"$CONNS" -d"$2"s -H 'Connection: close' \
		"http://127.0.0.1:${PORT[$i]}/index.html" </dev/null >"$out" 2>&1 3>&- 4>&- &
	WRK=$!
	wait "$WRK" || fail "wrk (${NAMES[$i]}) failed: $(cat "$out")"
	WRK=''
	cpu_ns "$i"
	CPU=$((NS - c0))
	REQS=$(sed -n 's/^ *\([0-9][0-9]*\) requests in .*/\1/p' "$out")
	RATE=$(sed -n 's/^Requests\/sec: *\([0-9.][0-9.]*\)$/\1/p' "$out")
	[ -n "$REQS" ] && [ -n "$RATE" ] && [ "$REQS" -gt 0 ] || fail "wrk (${NAMES[$i]}) gave no figures: $(cat "$out")"
	# A loaded host can time out a connection now and then; more than 1%
	# of failed connections or answers means a broken row.
	ERRS=$(grep -E '^ *(Socket errors|Non-2xx)' "$out" | sed 's/^[^:]*://' | grep -oE '[0-9]+' | awk '{n += $1} END {print n + 0}')
	[ $((ERRS * 100)) -le "$REQS" ] || fail "wrk (${NAMES[$i]}): $ERRS errors in $REQS requests: $(cat "$out")"
}

median() {
	sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
TRACER=()
for ((i = 0; i < NCFG; i++)); do start "$i"; done
before=$(status 0) || fail "nginx (bare) gave no status"

if [ "$WARM" -gt 0 ]; then
	for ((i = 0; i < NCFG; i++)); do bench "$i" "$WARM"; done
fi
RATES=() CPUS=() NERR=0
for ((r = 0; r < ROUNDS; r++)); do
	for ((k = 0; k < NCFG; k++)); do
		i=$(((r + k) % NCFG))
		bench "$i" "$SECS"
		NERR=$((NERR + ERRS))
		RATES[$i]+="$RATE "
		CPUS[$i]+="$(awk -v c="$CPU" -v n="$REQS" 'BEGIN {printf "%.3f", c / n / 1000}') "
	done
done
after=$(status 0) || fail "nginx (bare) gave no status"
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# Every request a connection of its own, or the table measures keep-alive.
read -r a0 q0 <<<"$before"
read -r a1 q1 <<<"$after"
per=$(awk -v a=$((a1 - a0)) -v q=$((q1 - q0)) 'BEGIN {printf "%.3f", q ? a / q : 0}')
records=$(wc -l <"$TMP/4/log.json")
traced=$(grep -c 'accept4(' "$TMP/5/strace.out")

echo "Real workload: nginx (one process) on 127.0.0.1, wrk -t1 -c$CONNS, a new connection per"
echo "request (Connection: close); median of $ROUNDS alternating round(s) of $SECS s per configuration."
echo "CPU is nginx's time on a CPU per request (with strace's own, under strace)."
echo
printf '%-24s %10s %9s %14s %9s\n' configuration "requests/s" "vs bare" "CPU us/request" "vs bare"
bare_rate='' bare_cpu=''
for ((i = 0; i < NCFG; i++)); do
	rate=$(tr ' ' '\n' <<<"${RATES[$i]}" | grep . | median)
	cpu=$(tr ' ' '\n' <<<"${CPUS[$i]}" | grep . | median)
	[ -n "$bare_rate" ] || bare_rate=$rate bare_cpu=$cpu
	awk -v n="${NAMES[$i]}" -v r="$rate" -v c="$cpu" -v br="$bare_rate" -v bc="$bare_cpu" \
		'BEGIN {printf "%-24s %10.0f %8.2fx %14.1f %8.2fx\n", n, r, r / br, c, c / bc}'
done
echo
echo "connections per request (bare, nginx stub_status): $per;" \
	"JSON log: $records records; strace: $traced accept4 lines; wrk errors: $NERR"
echo "load average: $load0 at the start, $load1 at the end"
