#!/usr/bin/env bats
# Issue 4, checked by valgrind: memcheck finds no error of the shim's in
# unmodified programs under a busy policy, and helgrind finds no race in the
# lazy start but the kinds listed below, which are ordered by means it
# cannot see.  (ASan and UBSan: `make check SANITIZE=1`; fuzzing: `make fuzz`.)

load common

# Every kind of action, at every moment, with the log on.
BUSY='SO_REUSEADDR=1; tcp: TCP_NODELAY=1, SO_KEEPALIVE=1; force SO_SNDBUF=64K; min SO_RCVBUF=8K
max SO_RCVBUF=1M; tcp at=accept: TCP_NODELAY=1; tcp dport=1-65535: TCP_USER_TIMEOUT=5000
default IP_TOS=16; deny SO_BROADCAST; ignore SO_LINGER; unix path=@sp*: SO_PASSCRED=1
tcp port=1-65535 addr=127.0.0.0/8: TCP_CONGESTION=cubic; inet6: IPV6_V6ONLY=1; SO_RCVTIMEO=2.5'

setup() {
	common_setup || return 1
	[ -z "${SOCKPOLICY_TEST_SANITIZED:-}" ] || skip "valgrind cannot run ASan-built programs"
	command -v valgrind >/dev/null || { echo "valgrind is not installed (Debian package valgrind; .ci/run installs it)"; return 1; }
}

# memcheck LOG CMD...: CMD under the shim and valgrind's memcheck, its
# report in LOG; fails on any error or a definite leak.
memcheck() {
	local report=$1
	shift
	SOCKPOLICY=$BUSY SOCKPOLICY_LOG=$PWD/log.json SOCKPOLICY_LOG_FORMAT=json LD_PRELOAD="$LIB" \
		timeout 300 valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		--log-file="$report" "$@" 3>&- 4>&-
}

@test "memcheck: C programs under a busy policy -- every wrapper, every action, threads, signals -- no error, no leak" {
	run memcheck probe.vg "$PROBE" socket inet stream set socket SO_SNDBUF 4096 set socket SO_RCVBUF 100 \
		setlinger 1 5 set socket SO_BROADCAST 1 settv socket SO_RCVTIMEO 1 500 bind 127.0.0.1 0 listen 4 \
		getstr tcp TCP_CONGESTION getlinger socket inet6 dgram bind ::1 0 connect ::1 9 \
		socket unix dgram bindunix @sp-valgrind get socket SO_PASSCRED fd 77 set socket SO_KEEPALIVE 1
	[ "$status" -eq 0 ] || { cat probe.vg; return 1; }
	assert_contains "$output" "SO_PASSCRED=1"
	grep -q 'ERROR SUMMARY: 0 errors' probe.vg
	for cmd in "$HELPERS/sunpath @sp-valgrind" "$HELPERS/threads 4 100" "$HELPERS/sigstorm 300 50" \
		"$HELPERS/spawner vfork data.txt" "$HELPERS/fdprobe findlog log.json dup2 sockets 3 closefrom sockets 2"; do
		rm -f log.json
		# shellcheck disable=SC2086
		run memcheck cmd.vg $cmd
		[ "$status" -eq 0 ] || { echo "$cmd:"; cat cmd.vg; return 1; }
		grep -q 'ERROR SUMMARY: 0 errors' cmd.vg
		[ "$($LOGQ check log.json)" -gt 0 ]
	done
}

@test "memcheck: python3 under a busy policy has the errors it has without the shim, and none in the shim" {
	# CPython's own interpreter reports some errors under memcheck; what
	# counts is that the shim adds none
	real=$("$PYTHON" -c 'import sys; print(sys.executable)')
	cat >busy.py <<-'PY'
		import socket
		srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(8)
		for i in range(20):
		    c = socket.socket(); c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
		    c.connect(srv.getsockname()); a, _ = srv.accept()
		    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
		    c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
		    a.close(); c.close()
		u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); u.bind(b"\0sp-busy\n"); u.close()
		print("done")
	PY
	PYTHONMALLOC=malloc run memcheck py.vg "$real" busy.py
	[ "$output" = done ]
	PYTHONMALLOC=malloc run timeout 300 valgrind --log-file=bare.vg "$real" busy.py
	[ "$output" = done ]
	with=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' py.vg)
	without=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' bare.vg)
	echo "errors with the shim: $with, without: $without"
	[ "$with" = "$without" ]
	! grep -E 'libsockpolicy|preload/|policy/' py.vg || false
	grep -q 'definitely lost: 0 bytes' py.vg
	[ "$(logcount log.json call=accept4)" = 20 ]
}

@test "helgrind: 64 threads racing the lazy start -- correct, and no race but those ordered by atomics or the kernel" {
	SP_EARLY_PROG=sockprobe SP_EARLY_THREADS=64 SOCKPOLICY='SO_KEEPALIVE=1' SOCKPOLICY_LOG=$PWD/log.json \
		SOCKPOLICY_LOG_FORMAT=json LD_PRELOAD="$LIB:$HELPERS/libearly.so" \
		run timeout 600 valgrind --tool=helgrind --log-file=hg.vg "$PROBE" socket inet stream 3>&- 4>&-
	[ "$status" -eq 0 ]
	[[ "$output" == "early: threads=64 keepalive=1 in 64
early: constructor SO_KEEPALIVE=1
socket="[0-9]* ]]
	[ "$(logcount log.json call=socket)" = 66 ]
	# What helgrind reports, and why each is ordered:
	#  - data the starting thread wrote (the sink, the compiled table, the
	#    real functions, the program name), read by threads that then saw
	#    sp_init_state DONE:
	#    a release store and an acquire load, which helgrind does not model;
	#  - entries of the fd registry (anonymous mappings) written by one
	#    thread's close() and another's socket() on the reused number: the
	#    kernel hands the number out only after the close;
	#  - sink.torn, a relaxed atomic flag.
	# Anything else is a race to fix.
	run "$PYTHON" - hg.vg <<-'PY'
		import re, sys
		text = open(sys.argv[1]).read()
		init_symbols = {"sink", "sp_sink_kind", "sp_init_state", "sp_policy_table", "log_json", "sp_real",
		                "policy", "init_claim", "owner", "mark", "sp_prog_name",
		                "sp_sink_descriptor"}
		races = text.split("Possible data race during ")[1:]
		bad = []
		for r in races:
		    r = r.split("----------------")[0]
		    sym = re.search(r'inside data symbol "([^"]+)"', r)
		    if sym and sym.group(1) in init_symbols:
		        continue
		    if re.search(r"alloc'd\n(?:.*\n)*?.*\binitialise\b", r):
		        continue
		    if re.search(r"is in a rw- anonymous segment", r):
		        continue
		    bad.append(r)
		print(len(races), "reported,", len(bad), "unexplained")
		for r in bad:
		    print(r)
	PY
	echo "$output"
	[[ "$output" == *" reported, 0 unexplained" ]] || return 1
	echo "# helgrind: $output" >&3
}
