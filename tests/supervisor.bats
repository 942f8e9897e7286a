#!/usr/bin/env bats
# The seccomp supervisor (SPEC §6): static glibc, musl, i386 (socketcall)
# and Go programs under `run --via=seccomp` and `audit`, compared with bare
# runs of the same programs; also as user nobody; fork/exec trees; a
# signal storm; the supervisor killed; a second supervisor refused.

load common

# Programs built once for the suite, in a directory user nobody can read.
setup_file() {
	SV_DIR=$(mktemp -d /tmp/sockpolicy-sv.XXXXXX)
	export SV_DIR
	chmod 755 "$SV_DIR"
	local src=$SP_ROOT/tests/helpers/svprobe.c
	cc -O2 -static -o "$SV_DIR/svprobe-static" "$src" -lpthread
	musl-gcc -O2 -static -o "$SV_DIR/svprobe-musl" "$src" -lpthread
	cc -m32 -O2 -static -o "$SV_DIR/svprobe-i386" "$src" -lpthread
	cc -m32 -O2 -o "$SV_DIR/svprobe-i386-dyn" "$src" -lpthread
	cp "$SP_BUILD/tests/svprobe" "$SV_DIR/svprobe"
	mkdir -p "$SP_BUILD/gocache"
	cp "$SP_ROOT/tests/helpers/go/svgo.go" "$SV_DIR/main.go"
	(cd "$SV_DIR" && CGO_ENABLED=0 GOCACHE=$SP_BUILD/gocache GOPATH=$SV_DIR/gopath HOME=$SV_DIR GOFLAGS= \
		GO111MODULE=off timeout 300 go build -o svgo main.go)
	chmod -R a+rX "$SV_DIR"
}

teardown_file() {
	rm -rf "$SV_DIR"
}

# listen_port PID: the TCP port that PID or a process under it (CMD under
# sockpolicy) listens on, once it does; waits up to 10 s.
listen_port() {
	local i p port tree level
	for i in $(seq 1 200); do
		tree=$1 level=$1
		while [ -n "$level" ]; do
			level=$(pgrep -d , -P "$level") || level=
			tree="$tree,$level"
		done
		for p in ${tree//,/ }; do
			port=$(ss -Htlnp | awk -v pat="pid=$p," 'index($0, pat) { n = split($4, a, ":"); print a[n]; exit }')
			[ -n "$port" ] && { echo "$port"; return 0; }
		done
		sleep 0.05
	done
	echo "timed out waiting for a listener under $1" >&2
	return 1
}

as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
}

sv() {
	"$CLI" run --via=seccomp "$@" 3>&- 4>&-
}

@test "the test programs are what the suite says: static, musl, i386, Go without an interpreter" {
	for p in svprobe-static svprobe-musl svprobe-i386 svgo; do
		! readelf -l "$SV_DIR/$p" | grep -q INTERP || { echo "$p is dynamic"; return 1; }
	done
	readelf -h "$SV_DIR/svprobe-i386" | grep -q 'ELF32'
	readelf -S "$SV_DIR/svgo" | grep -q '\.note\.go\.buildid'
}

@test "auto picks the supervisor for a static, musl, i386 and Go program and says so; the library for a dynamic one" {
	for p in svprobe-static svprobe-musl svprobe-i386; do
		run --separate-stderr "$CLI" run -p 'SO_KEEPALIVE=1' -- "$SV_DIR/$p" get
		[ "$status" -eq 0 ]
		assert_eq "$output" "SO_RCVBUF=131072 TCP_NODELAY=0 SO_KEEPALIVE=1"
		assert_contains "$stderr" "sockpolicy: '$SV_DIR/$p' is statically linked: running it under the seccomp supervisor"
	done
	run --separate-stderr "$CLI" run -p 'SO_KEEPALIVE=1' -- "$SV_DIR/svprobe" get
	assert_eq "$output" "SO_RCVBUF=131072 TCP_NODELAY=0 SO_KEEPALIVE=1"
	assert_eq "$stderr" ""
	run --separate-stderr "$CLI" run --via=preload -- "$SV_DIR/svprobe-static" get
	[ "$status" -eq 125 ]
	assert_eq "$output" ""
	run --separate-stderr "$CLI" run --via=magic -- "$SV_DIR/svprobe" get
	[ "$status" -eq 125 ]
	assert_eq "$stderr" "sockpolicy: --via=magic: unknown way (use auto, preload or seccomp)"
}

@test "x32: a program is refused (125) before it starts, whatever --via says; x32 calls of a supervised one get the kernel's answer" {
	cat >x32.c <<'EOF'
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void)
{
	close(open("started", O_CREAT | O_WRONLY, 0644));
	return socket(AF_INET, SOCK_STREAM, 0) < 0;
}
EOF
	cc -mx32 -static -O2 -o x32prog x32.c
	readelf -h x32prog | grep -qE 'Class: +ELF32'
	readelf -h x32prog | grep -qE 'Machine: +Advanced Micro Devices X86-64'
	for args in "run --via=seccomp" "run --via=auto" "run --via=preload" "audit" "audit --via=seccomp"; do
		run --separate-stderr "$CLI" $args -- ./x32prog
		[ "$status" -eq 125 ] || { echo "$args: $status $stderr"; return 1; }
		assert_eq "$stderr" "sockpolicy: './x32prog' is an x32 program: neither the library nor the supervisor reaches it"
		[ ! -e started ]
	done

	# an x86-64 program's own x32 call (nr | __X32_SYSCALL_BIT): the filter
	# lets it through unseen, so it gets what it gets bare (ENOSYS on a
	# kernel without x32), unlogged, while its other calls are supervised
	cat >x32call.c <<'EOF'
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(0x40000000L | SYS_socket, AF_INET, SOCK_STREAM, 0);
	int s, v = 0;
	socklen_t len = sizeof v;

	printf("x32 socket %ld %s\n", r, r < 0 ? strerrorname_np(errno) : "-");
	s = socket(AF_INET, SOCK_STREAM, 0);
	getsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, &len);
	printf("socket %d SO_KEEPALIVE=%d\n", s, v);
	return 0;
}
EOF
	cc -static -O2 -o x32call x32call.c
	bare ./x32call >bare.out
	sv -p 'SO_KEEPALIVE=1' -l "$PWD/log.json" --json -- ./x32call >sv.out
	# the x32 call's result and the next descriptor number, as bare; the
	# policy on the supervised socket
	assert_eq "$(sed -n 1p sv.out)" "$(sed -n 1p bare.out)"
	assert_eq "$(sed -n 2p sv.out)" "$(sed -n 2p bare.out | sed 's/SO_KEEPALIVE=0$/SO_KEEPALIVE=1/')"
	grep -qE '^socket [0-9]+ SO_KEEPALIVE=0$' <(sed -n 2p bare.out)
	[ "$(logcount log.json call=socket)" = 1 ]
}

@test "a static C server restarts onto its port in TIME_WAIT only with SO_REUSEADDR=1, both instances supervised" {
	(sv -p 'SO_REUSEADDR=1' -- "$SV_DIR/svprobe-static" serve 0 >first.out 2>&1) &
	wait_for_file first.out
	port=$(sed -n 's/^bind=ok port=\([1-9][0-9]*\)$/\1/p' first.out)
	[ -n "$port" ] || { cat first.out; return 1; }
	timeout 10 "$SV_DIR/svprobe" connect "$port"
	wait
	# the server closed first: its end of the connection waits in TIME_WAIT
	[ -n "$(ss -Htan state time-wait "sport = :$port")" ]
	run timeout 10 "$CLI" run --via=seccomp -- "$SV_DIR/svprobe-static" serve "$port"
	[ "$status" -eq 1 ]
	assert_eq "$output" "bind=EADDRINUSE"
	(sv -p 'SO_REUSEADDR=1' -- "$SV_DIR/svprobe-static" serve "$port" >second.out 2>&1) &
	wait_for_file second.out
	assert_eq "$(cat second.out)" "bind=ok port=$port"
	timeout 10 "$SV_DIR/svprobe" connect "$port"
	wait
}

# errnos and emfile of PROG bare, then under the supervisor with a log
# and with a policy: every line the same.
same_as_bare() {
	local prog=$1
	bare "$prog" errnos >bare.out
	bare "$prog" emfile 24 >>bare.out
	[ "$(grep -c ' -1 E' bare.out)" -ge 12 ]
	sv_same "$prog" -l "$PWD/log.json" --json
	sv_same "$prog" -p 'SO_KEEPALIVE=1; deny SO_PRIORITY; force SO_SNDBUF=64K'
}

# sv_same PROG ARGS...: PROG's errnos and emfile under `run ARGS` are bare.out.
sv_same() {
	local prog=$1
	shift
	rm -f log.json
	sv "$@" -- "$prog" errnos >sv.out 2>sv.err || true
	sv "$@" -- "$prog" emfile 24 >>sv.out 2>>sv.err || true
	diff bare.out sv.out
	assert_eq "$(cat sv.err)" ""
}

@test "errno, return values and fd numbers are exactly the bare ones (static glibc), EMFILE included, and logged" {
	same_as_bare "$SV_DIR/svprobe-static"
	sv -l "$PWD/log.json" --json -- "$SV_DIR/svprobe-static" errnos >/dev/null
	[ "$(logcount log.json call=bind errno=EADDRINUSE ret=-1)" = 1 ]
	[ "$(logcount log.json call=setsockopt opt=SO_RCVBUF errno=EINVAL)" = 1 ]
	[ "$(logcount log.json call=setsockopt fd=997 errno=EBADF)" = 1 ]
	[ "$(logcount log.json call=socket errno=EAFNOSUPPORT fd=-1)" = 1 ]
	[ "$(logcount log.json call=socket ret=3 prog=svprobe-static)" = 1 ]
	# a connect is let through: its result is not known (README)
	[ "$(logcount log.json call=connect ret=null)" = 1 ]
	sv -l "$PWD/emfile.json" --json -- "$SV_DIR/svprobe-static" emfile 24 >/dev/null
	[ "$(logcount emfile.json call=socket errno=EMFILE)" = 1 ]
}

@test "errno, return values and fd numbers are exactly the bare ones: musl and i386 (socketcall)" {
	same_as_bare "$SV_DIR/svprobe-musl"
	same_as_bare "$SV_DIR/svprobe-i386"
}

@test "i386: socketcall(2) sub-calls get the policy: inject, force, deny" {
	run sv -p 'SO_KEEPALIVE=1; tcp: force SO_RCVBUF=40K' -- "$SV_DIR/svprobe-i386" get
	assert_eq "$output" "SO_RCVBUF=81920 TCP_NODELAY=0 SO_KEEPALIVE=1"
	sv -p 'deny SO_PRIORITY' -l "$PWD/log.json" --json -- "$SV_DIR/svprobe-i386" errnos >/dev/null
	[ "$(logcount log.json call=socket prog=svprobe-i386)" -ge 4 ]
	[ "$(logcount log.json call=setsockopt opt=SO_RCVBUF errno=EINVAL)" = 1 ]
}

@test "i386 direct calls (a dynamic 32-bit glibc program: socket(2) is 359): the policy and errno as bare" {
	# the direct calls, not socketcall(2), as strace names them
	strace -f -e trace=socket,socketcall "$SV_DIR/svprobe-i386-dyn" get 2>&1 >/dev/null | grep -q '^socket(AF_INET'
	run sv -p 'SO_KEEPALIVE=1; tcp: force SO_RCVBUF=40K' -- "$SV_DIR/svprobe-i386-dyn" get
	assert_eq "$output" "SO_RCVBUF=81920 TCP_NODELAY=0 SO_KEEPALIVE=1"
	same_as_bare "$SV_DIR/svprobe-i386-dyn"
}

@test "Go: forced SO_RCVBUF and TCP_NODELAY read back inside and with ss; deny; at=accept" {
	# go_run ARGS...: svgo under `run ARGS` on a port of its own, which is
	# $port then
	go_run() {
		rm -f go.out
		mkfifo hold
		(sv "$@" -- "$SV_DIR/svgo" 0 <hold >go.out 2>go.err) &
		exec 5>hold
		wait_for_file go.out
		for i in $(seq 1 100); do grep -q ready go.out && break; sleep 0.05; done
		port=$(awk '$1 == "ready" { print $2 }' go.out)
		[ -n "$port" ] || { cat go.out go.err; return 1; }
	}
	go_done() {
		exec 5>&-
		wait
		rm -f hold
	}
	# Go sets TCP_NODELAY=1 on every connection itself: force makes it 0
	go_run -p 'tcp: force SO_RCVBUF=40K, force TCP_NODELAY=0'
	assert_eq "$(grep -v ready go.out)" "client SO_RCVBUF=81920 TCP_NODELAY=0
server SO_RCVBUF=81920 TCP_NODELAY=0"
	ss -Htmi "sport = :$port or dport = :$port" >ss.out
	[ "$(grep -c 'rb81920,' ss.out)" -eq 2 ]
	go_done
	go_run -p 'deny TCP_NODELAY'
	assert_eq "$(grep -v ready go.out)" "client SO_RCVBUF=131072 TCP_NODELAY=0
server SO_RCVBUF=131072 TCP_NODELAY=0"
	go_done
	# the listener is Go's non-blocking one: accepted here, at=accept acts
	go_run -p 'tcp at=accept: SO_RCVBUF=20K'
	assert_eq "$(grep -v ready go.out)" "client SO_RCVBUF=131072 TCP_NODELAY=1
server SO_RCVBUF=40960 TCP_NODELAY=1"
	go_done
	# and bare, for the record: Go's own choices
	(bare "$SV_DIR/svgo" 0 </dev/null >bare.out 2>&1)
	assert_eq "$(grep -v ready bare.out)" "client SO_RCVBUF=131072 TCP_NODELAY=1
server SO_RCVBUF=131072 TCP_NODELAY=1"
}

@test "audit of a Go program, busybox-static nc, static musl and i386 programs" {
	run "$CLI" audit -o go.json -- "$SV_DIR/svgo" 0 </dev/null
	[ "$status" -eq 0 ]
	# Go's connect is non-blocking: made here, its result is logged
	[ "$(logcount go.json call=connect errno=EINPROGRESS prog=svgo)" = 1 ]
	assert_contains "$output" "svgo  setsockopt  SOL_TCP     TCP_NODELAY"
	assert_contains "$output" "svgo  accept4"
	"$CLI" audit -o nc.json -- busybox nc -l -p 0 >nc.out 2>&1 3>&- 4>&- &
	port=$(listen_port $!)
	echo hello | timeout 5 "$SV_DIR/svprobe" connect "$port" || true
	wait
	assert_contains "$(cat nc.out)" "busybox  listen"
	[ "$(logcount nc.json prog=busybox call=setsockopt opt=SO_REUSEADDR)" = 1 ]
	[ "$(logcount nc.json prog=busybox call=accept)" = 1 ]
	for p in svprobe-musl svprobe-i386; do
		run "$CLI" audit -o "$p.json" -- "$SV_DIR/$p" errnos
		[ "$status" -eq 0 ]
		assert_contains "$output" "$p  setsockopt  SOL_SOCKET  SO_RCVBUF"
		[ "$(logcount "$p.json" call=bind errno=EADDRINUSE)" = 1 ]
	done
}

@test "as user nobody: the policy applies, errno as bare, audit works" {
	cd "$SV_DIR"
	run --separate-stderr as_nobody "$CLI" run -p 'SO_KEEPALIVE=1; tcp: force SO_RCVBUF=40K' -- "$SV_DIR/svprobe-static" get
	assert_eq "$output" "SO_RCVBUF=81920 TCP_NODELAY=0 SO_KEEPALIVE=1"
	assert_eq "$stderr" "sockpolicy: '$SV_DIR/svprobe-static' is statically linked: running it under the seccomp supervisor"
	for p in svprobe-static svprobe-i386; do
		as_nobody "$SV_DIR/$p" errnos >"$BATS_TEST_TMPDIR/bare.out"
		as_nobody "$CLI" run --via=seccomp -l stderr -- "$SV_DIR/$p" errnos >"$BATS_TEST_TMPDIR/sv.out" 2>/dev/null
		diff "$BATS_TEST_TMPDIR/bare.out" "$BATS_TEST_TMPDIR/sv.out"
	done
	run as_nobody "$CLI" run -p 'tcp: force TCP_NODELAY=0' -- "$SV_DIR/svgo" 0 </dev/null
	assert_contains "$output" "client SO_RCVBUF=131072 TCP_NODELAY=0"
	run as_nobody "$CLI" audit -- "$SV_DIR/svprobe-musl" errnos
	[ "$status" -eq 0 ]
	assert_contains "$output" "svprobe-musl  bind"
}

@test "a static parent exec'ing a dynamic child: both supervised, prog= follows exec" {
	run sv -p 'prog=svprobe: SO_KEEPALIVE=1' -l "$PWD/log.json" --json -- "$SV_DIR/svprobe-static" exec "$SV_DIR/svprobe" get
	[ "$status" -eq 0 ]
	assert_eq "$output" "SO_RCVBUF=131072 TCP_NODELAY=0 SO_KEEPALIVE=1"
	[ "$(logcount log.json prog=svprobe call=setsockopt action=inject)" = 1 ]
	# the parent goes by its own name: the rule is not for it
	run sv -p 'prog=svprobe: SO_KEEPALIVE=1' -- "$SV_DIR/svprobe-static" get
	assert_eq "$output" "SO_RCVBUF=131072 TCP_NODELAY=0 SO_KEEPALIVE=0"
}

@test "a signal storm during binds never makes a bind run twice" {
	run sv -l "$PWD/log.json" --json -p 'SO_REUSEADDR=1' -- "$SV_DIR/svprobe-static" binds 3000
	[ "$status" -eq 0 ]
	assert_eq "$output" "binds=3000 failed=0 signals=some"
	[ "$(logcount log.json call=bind ret=0)" = 3000 ]
}

@test "the supervisor killed mid-run: CMD dies with it" {
	("$CLI" run --via=seccomp -p 'SO_KEEPALIVE=1' -- "$SV_DIR/svprobe-static" hold >hold.out 2>&1 3>&- 4>&-) &
	wait_for_file hold.out
	for i in $(seq 1 100); do grep -q holding hold.out && break; sleep 0.05; done
	# the oldest: sockpolicy itself (its guard, a clone of it, has the same command line)
	cli=$(pgrep -f -o "sockpolicy run --via=seccomp -p SO_KEEPALIVE=1 -- $SV_DIR/svprobe-static hold")
	child=$(pgrep -P "$cli" -x svprobe-static)
	guard=$(pgrep -P "$cli" -x sockpolicy-guar)
	[ -n "$child" ] && [ -n "$guard" ]
	# the guard holds its two sockets, CMD's pidfd and the listener, and
	# nothing else of sockpolicy's: not its stdout (hold.out here; a pipe's
	# reader would wait for the guard after sockpolicy died)
	held=$(for fd in /proc/"$guard"/fd/*; do readlink "$fd"; done | sed 's/:.*//' | sort | tr '\n' ' ')
	assert_eq "$held" "anon_inode anon_inode socket socket "
	kill -0 "$child"
	kill -9 "$cli"
	for i in $(seq 1 100); do kill -0 "$child" 2>/dev/null || kill -0 "$guard" 2>/dev/null || break; sleep 0.05; done
	! kill -0 "$child" 2>/dev/null || false
	! kill -0 "$guard" 2>/dev/null || false
	wait || true
	assert_not_contains "$(cat hold.out)" "failed"
}

# A daemon (double fork, setsid) is init's child, not CMD's: no walk of
# CMD's tree finds it.  Its next socket call, which would fail with ENOSYS
# once no listener is left, comes to the guard instead, which kills it.
@test "the supervisor killed: a daemon CMD left (double fork) dies at its next socket call, never sees ENOSYS" {
	cat >daemon.py <<'PY'
import os, socket, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        with open("daemon.tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename("daemon.tmp", "daemon.pid")
        for i in range(3000):  # 30 s at most
            try:
                socket.socket().close()
            except OSError as e:
                with open("daemon.err", "a") as f:
                    f.write("%s\n" % e)
            time.sleep(0.01)
        os._exit(0)
    os._exit(0)
os.wait()
print("waiting", flush=True)
time.sleep(30)
PY
	("$CLI" run --via=seccomp -p 'SO_KEEPALIVE=1' -- "$PYTHON" daemon.py >daemon.out 2>&1 3>&- 4>&- & echo $! >cli.pid; wait) &
	for i in $(seq 1 200); do [ -s daemon.pid ] && grep -q waiting daemon.out && break; sleep 0.05; done
	cli=$(cat cli.pid) daemon=$(cat daemon.pid)
	[ "$(ps -o ppid= -p "$daemon" | tr -d ' ')" != "$cli" ]
	sleep 0.1
	kill -9 "$cli"
	for i in $(seq 1 100); do [ "$(ps -o stat= -p "$daemon")" = Z ] || ! kill -0 "$daemon" 2>/dev/null && break; sleep 0.05; done
	state=$(ps -o stat= -p "$daemon" || true)
	[ -z "$state" ] || [ "$state" = Z ] || { kill "$daemon"; false; }
	[ ! -e daemon.err ] || { cat daemon.err; false; }
	wait || true
}

# CMD ended and was reaped (its number free) while a program it started is
# still served; the number goes to an unrelated process (a pid namespace
# of the test's own, ns_last_pid); then sockpolicy is killed: the guard
# must not take that process for CMD.
@test "the supervisor killed after CMD ended: a process that reused CMD's number is left alone" {
	cat >reuse.sh <<'SH'
"$CLI" run --via=seccomp -p SO_KEEPALIVE=1 -- sh -c 'sleep 20 & echo $$ >cmd.pid' 3>&- 4>&- &
cli=$!
for i in $(seq 1 200); do [ -s cmd.pid ] && [ ! -e "/proc/$(cat cmd.pid)" ] && break; sleep 0.05; done
cmd=$(cat cmd.pid)
echo $((cmd - 1)) >/proc/sys/kernel/ns_last_pid
sleep 20 &
other=$!
sleep 0.2
{ kill -9 "$cli"; wait "$cli"; } 2>/dev/null
sleep 0.5
kill -0 "$other" 2>/dev/null && alive=1 || alive=0
echo "reused=$((other == cmd)) alive=$alive"
SH
	run timeout 60 unshare --pid --fork --mount-proc --kill-child env CLI="$CLI" bash reuse.sh
	[ "$status" -eq 0 ]
	assert_eq "$output" "reused=1 alive=1"
}

# sv_free while the serving thread waits for a call (a process CMD left
# is still under the filter): the thread is stopped, not cancelled; the
# driver is built from the supervisor's own objects.
@test "the supervisor is freed while its thread still serves: it stops at once, cleanly" {
	cat >drv.c <<'C'
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "supervisor/supervisor.h"
int main(void)
{
	struct sp_policy p;
	struct sp_error err;
	char *cmd[] = {"sh", "-c", "sleep 20 & echo $! >daemon.pid", NULL};
	int started;
	sp_policy_init(&p);
	if (sp_policy_parse(&p, "SO_KEEPALIVE=1", 14, &err) != 0)
		return 2;
	struct sv_config cfg = {&p, NULL, 0, 0, "drv"};
	struct sv *s = sv_new(&cfg);
	/* CMD ends; the sleep it left is still under the filter, served */
	if (!s || sv_spawn(cmd, s, 0, &started) != 0 || !started)
		return 3;
	sv_free(s);
	printf("freed\n");
	FILE *f = fopen("daemon.pid", "r");
	int daemon = 0;
	if (f && fscanf(f, "%d", &daemon) == 1 && daemon > 0)
		kill(daemon, SIGKILL);
	if (f)
		fclose(f);
	sp_policy_free(&p);
	return 0;
}
C
	# valgrind knows neither seccomp(2) nor pidfd_open(2): ASan checks
	# the heap, LeakSanitizer that nothing is left behind
	cc -std=gnu11 -D_GNU_SOURCE -fsanitize=address,undefined -I"$SP_ROOT" -o drv drv.c "$SP_BUILD"/supervisor/*.o \
		"$SP_BUILD"/policy/*.o "$SP_BUILD"/log/*.o -lpthread
	ASAN_OPTIONS=detect_leaks=1 run timeout 10 ./drv
	[ "$status" -eq 0 ]
	assert_eq "$output" "freed"
}

# The same program under both backends, logging to syslog (a private /dev
# in a mount namespace, with the test's own /dev/log): the datagrams are
# the same, but for the time and the pid; text and JSON.
@test "syslog: the supervisor sends the library's datagrams (RFC 3164 head in UTC, the program's pid), text and JSON" {
	cat >syslogd.py <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind("/dev/log"); s.settimeout(10)
open(sys.argv[1], "w").close()
for _ in range(28):
    print(s.recv(8192).decode(), flush=True)
PY
	private_dev='mkdir -p olddev && mount --bind /dev olddev && mount -t tmpfs none /dev &&
		touch /dev/null && mount --bind olddev/null /dev/null'
	probe="'$PROBE' socket inet stream set socket SO_SNDBUF 4096 bind 127.0.0.1 0 listen 4 get socket SO_RCVBUF"
	pol="'SO_KEEPALIVE=1; force SO_SNDBUF=64K'"
	run timeout 60 unshare -m sh -c "$private_dev &&
		('$PYTHON' syslogd.py ready >received &) &&
		for i in \$(seq 100); do [ -e ready ] && break; sleep 0.05; done &&
		export TZ=EST5 && n=0 &&
		for args in '--via=preload' '--via=seccomp' '--via=preload --json' '--via=seccomp --json'; do
			'$CLI' run \$args -l syslog -p $pol -- $probe >/dev/null 3>&- 4>&- || exit 1
			n=\$((n + 7))
			# a datagram the receiver has no room for is dropped (never
			# blocking, as the library): each run waits for the last
			for i in \$(seq 200); do [ \$(wc -l <received) -ge \$n ] && break; sleep 0.05; done
		done; cat received"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 28 ]
	# the head: LOG_USER|LOG_INFO, the time in UTC (not local: the runs had
	# TZ=EST5), the pid of the program the record is about
	head_re='^<14>[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} sockpolicy\[([0-9]+)\]: '
	utc=$(TZ=UTC0 date +'%b %e %H')
	for l in "${lines[@]}"; do
		[[ "$l" =~ $head_re ]]
		[ "${l:4:9}" = "$utc" ] || [ "${l:4:9}" = "$(TZ=UTC0 date +'%b %e %H')" ]
	done
	# the same bytes after the time, pid and ts (JSON) are taken away
	norm() { sed -E 's/^<14>.{15} sockpolicy\[[0-9]+\]: //; s/"ts":"[^"]*","pid":[0-9]+,"tid":[0-9]+,//'; }
	preload_text=$(printf '%s\n' "${lines[@]:0:7}" | norm)
	seccomp_text=$(printf '%s\n' "${lines[@]:7:7}" | norm)
	preload_json=$(printf '%s\n' "${lines[@]:14:7}" | norm)
	seccomp_json=$(printf '%s\n' "${lines[@]:21:7}" | norm)
	assert_contains "$preload_text" "sockprobe: setsockopt(3, SOL_SOCKET, SO_KEEPALIVE, 1) = 0 [inject]"
	assert_eq "$seccomp_text" "$preload_text"
	assert_contains "$preload_json" '"call":"setsockopt"'
	assert_eq "$seccomp_json" "$preload_json"
	# each record names the pid of sockprobe, not of sockpolicy: one pid a run
	[ "$(printf '%s\n' "${lines[@]:7:7}" | sed -E 's/.*sockpolicy\[([0-9]+)\].*/\1/' | sort -u | wc -l)" = 1 ]
}

@test "a second supervisor cannot act (EBUSY): it says so and CMD runs unchanged; with --strict CMD does not start (125)" {
	run --separate-stderr sv -- "$CLI" run --via=seccomp -p 'SO_KEEPALIVE=1' -l "$PWD/log.txt" -- "$SV_DIR/svprobe-static" get
	[ "$status" -eq 0 ]
	assert_eq "$output" "SO_RCVBUF=131072 TCP_NODELAY=0 SO_KEEPALIVE=0"
	assert_contains "$stderr" "sockpolicy: warning: the supervisor cannot act: a seccomp notifier already supervises this process"
	# and once in the (text) log
	[ "$(grep -c ' svprobe-static: warning: the supervisor cannot act: a seccomp notifier' log.txt)" = 1 ]
	run --separate-stderr sv -- "$CLI" run --via=seccomp --strict -p 'SO_KEEPALIVE=1' -- "$SV_DIR/svprobe-static" get
	[ "$status" -eq 125 ]
	assert_eq "$output" ""
	assert_contains "$stderr" "sockpolicy: error: the supervisor cannot act"
}

@test "make bench's supervisor part prints every row with its target" {
	[ -z "${SOCKPOLICY_TEST_SANITIZED:-}" ] || skip "a sanitized build is not benchmarked"
	cc -O2 -static -o sv_bench-static "$SP_ROOT/tests/bench/sv_bench.c"
	cc -O2 -o sv_bench "$SP_ROOT/tests/bench/sv_bench.c"
	cc -O2 -o spawn_time "$SP_ROOT/tests/bench/spawn_time.c"
	run env SV_BENCH_ROUNDS=1 SV_BENCH_N=200 SV_BENCH_RUNS=5 "$SP_ROOT/tests/bench/supervisor.sh" --cli "$CLI" \
		--lib "$LIB" --static "$PWD/sv_bench-static" --dynamic "$PWD/sv_bench" --spawn-time "$PWD/spawn_time"
	[ "$status" -eq 0 ]
	assert_contains "$output" "setsockopt let through (ns)"
	assert_contains "$output" "setsockopt handled, force (ns)"
	assert_contains "$output" "socket+close, option at creation (ns)"
	assert_contains "$output" "start-up, run ... -- noop (us)"
	[ "$(grep -cE ' (met|NOT met)$' <<<"$output")" -eq 3 ]
}

@test "sigstorm under the supervisor: socket calls in signal handlers and between them, none fails" {
	run timeout 120 "$CLI" run --via=seccomp -p 'udp: SO_BROADCAST=1; tcp: force SO_RCVBUF=40K' \
		-l "$PWD/log.json" --json -- "$HELPERS/sigstorm" 2000 200
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^main=2000\ handler=[0-9]+\ bad=0$ ]]
	# the handlers' sockets were made by the supervisor and got the policy
	[ "$(logcount log.json call=setsockopt opt=SO_BROADCAST action=inject)" -ge 200 ]
}

# bats' own descriptors closed, for the timeout's duration alone
sv_timed() {
	timeout -k 5 20 "$CLI" run --via=seccomp "$@" 3>&- 4>&-
}

audit_timed() {
	timeout -k 5 20 "$CLI" audit --via=seccomp "$@" 3>&- 4>&-
}

@test "a log on CMD's stderr never blocks CMD: a full pipe nobody reads drops records; a pipe, file or fd:N read gets them" {
	printf 'import socket\nfor i in range(2000):\n    socket.socket().close()\n' >blk.py
	mkfifo full
	sleep 60 <full &
	reader=$!
	start=$SECONDS
	rc=0
	sv_timed -l stderr -- "$PYTHON" blk.py 2>full || rc=$?
	kill "$reader" 2>/dev/null || true
	wait "$reader" || true
	[ "$rc" -eq 0 ]
	[ $((SECONDS - start)) -lt 15 ]
	# read: every record arrives, through a pipe, to a file, to fd:N
	# a pipe read: what fits in it (100 records, ~10K) is never dropped
	sed 's/2000/100/' blk.py >few.py
	sv_timed -l stderr -- "$PYTHON" few.py 2>&1 | grep -c 'python3[.0-9]*: socket(AF_INET, .* = 3$' >piped
	[ "$(cat piped)" = 100 ]
	sv_timed -l stderr -- "$PYTHON" blk.py 2>err.txt
	[ "$(grep -c ': socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0) = 3$' err.txt)" = 2000 ]
	sv_timed -l fd:5 -- "$PYTHON" blk.py 5>fd5.txt
	[ "$(grep -c ': socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0) = 3$' fd5.txt)" = 2000 ]
}

@test "audit under the supervisor does not wait for a daemon CMD leaves; it prints the summary, names the survivor and kills it" {
	start=$SECONDS
	run --separate-stderr audit_timed -- sh -c \
		'sleep 30 & echo $! >daemon.pid; '"$PYTHON"' -c "import socket; socket.socket()"; exit 0'
	pid=$(cat daemon.pid)
	alive=0
	kill -0 "$pid" 2>/dev/null && alive=1 && kill "$pid"
	[ "$status" -eq 0 ]
	[ $((SECONDS - start)) -lt 10 ]
	grep -qE '^python3[.0-9]* +socket +- +- +1 +pass ' <<<"$output"
	assert_eq "$stderr" "sockpolicy: warning: 1 process that sh started still ran when it ended: $pid (sleep); killed with audit, as no supervisor serves its socket calls after it; the summary covers what was logged until sh ended"
	[ "$alive" = 0 ]
}

# A program that drops root (setuid to nobody) after the supervisor has met
# it: the supervisor must not go on making sockets, binding or setting
# options for it with root's powers.
@test "a program that drops root under the supervisor: raw socket, low port and SO_RCVBUFFORCE fail as bare" {
	local port
	# a privileged port nothing uses: an old supervisor's bind succeeds there
	port=$(ss -tuanH | awk '{n = split($5, a, ":"); used[a[n]] = 1} END {for (p = 900; p < 1024; p++) if (!(p in used)) {print p; exit}}')
	[ -n "$port" ]
	cat >drop.py <<'PY'
import errno, os, socket, sys
socket.socket().close()  # the supervisor meets the process while it is root
os.setgroups([]); os.setgid(65534); os.setuid(65534)
def t(f):
    try:
        f()
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
def raw():
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
def bind():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.close()
def force():
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, 33, 1 << 20)  # SO_RCVBUFFORCE: CAP_NET_ADMIN
    finally:
        s.close()
print("raw=%s bind=%s force=%s" % (t(raw), t(bind), t(force)))
PY
	run timeout 60 "$PYTHON" drop.py "$port"
	assert_eq "$output" "raw=EPERM bind=EACCES force=EPERM"
	run timeout 60 "$CLI" run --via=seccomp -l /dev/null -- "$PYTHON" drop.py "$port" 3>&- 4>&-
	assert_eq "$output" "raw=EPERM bind=EACCES force=EPERM"
	run timeout 60 "$CLI" run --via=seccomp -p 'tcp: SO_KEEPALIVE=1; SO_PRIORITY=1' -- "$PYTHON" drop.py "$port" 3>&- 4>&-
	assert_eq "$output" "raw=EPERM bind=EACCES force=EPERM"
	run timeout 60 "$CLI" audit --via=seccomp -- "$PYTHON" drop.py "$port"
	assert_contains "$output" "raw=EPERM bind=EACCES force=EPERM"
}

# The supervisor reads a process's credentials and network namespace when
# it meets it, and again at each call once the process has made a call
# that changes them (setuid above, unshare here): its sockets must then be
# made in its own namespace, not in ours.
@test "a program that leaves our network namespace under the supervisor: its new socket is in its own, as bare" {
	cat >netns.py <<'PY'
import ctypes, errno, socket
ls = socket.socket()  # the supervisor meets the process in our namespace
ls.bind(("127.0.0.1", 0))
ls.listen(1)
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x10000000 | 0x40000000) != 0:  # CLONE_NEWUSER | CLONE_NEWNET
    raise SystemExit("unshare: " + errno.errorcode[ctypes.get_errno()])
s = socket.socket()
s.settimeout(5)
try:
    s.connect(ls.getsockname())  # our listener, out of reach from a new namespace
    print("connect=ok")
except OSError as e:
    print("connect=" + errno.errorcode[e.errno])
PY
	run timeout 60 "$PYTHON" netns.py
	assert_eq "$output" "connect=ENETUNREACH"
	run timeout 60 "$CLI" run --via=seccomp -p 'SO_KEEPALIVE=1' -- "$PYTHON" netns.py 3>&- 4>&-
	assert_eq "$output" "connect=ENETUNREACH"
	run timeout 60 "$CLI" run --via=seccomp -l /dev/null -- "$PYTHON" netns.py 3>&- 4>&-
	assert_eq "$output" "connect=ENETUNREACH"
}

# Each process met used to keep a pidfd in the supervisor until CMD ended:
# a parent forking many short-lived children ran the supervisor out of
# fds, and the children's sockets then failed or went without the policy.
@test "1,500 short-lived children under ulimit -n 1024: every socket made and given the policy" {
	cat >forks.py <<'PY'
import os, socket, sys
bad = 0
for i in range(int(sys.argv[1])):
    pid = os.fork()
    if pid == 0:
        try:
            s = socket.socket()
            os._exit(0 if s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) else 2)
        except OSError:
            os._exit(1)
    _, st = os.waitpid(pid, 0)
    bad += st != 0
s = socket.socket()
print("children=%s failed=%d last=%d" % (sys.argv[1], bad, s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)))
PY
	run bash -c 'ulimit -n 1024 && exec timeout 60 "$0" run --via=seccomp -p "tcp: SO_KEEPALIVE=1" -l /dev/null -- "$1" forks.py 1500 3>&- 4>&-' "$CLI" "$PYTHON"
	[ "$status" -eq 0 ]
	assert_eq "$output" "children=1500 failed=0 last=1"
}

# A thread's tid, once it ended, can be given to a thread of another
# process while the first lives: the supervisor must not take the new
# thread for one of the old process (its fds, its name, its credentials).
# In a pid namespace of the test's own, ns_last_pid hands the tid over.
@test "a tid reused by a thread of another process: its calls act on its own fds" {
	cat >reuse.py <<'PY'
import os, socket, sys, threading
a = socket.socket()
fd = a.fileno()
seen = []
def first():
    seen.append(threading.get_native_id())
    socket.socket().close()  # the supervisor meets this tid as a thread of A
t = threading.Thread(target=first); t.start(); t.join()
x = seen[0]
pid = os.fork()
if pid == 0:
    b = socket.socket()
    os.dup2(b.fileno(), fd)  # B's own socket at the number of A's
    out = []
    def second():
        out.append(threading.get_native_id())
        s = socket.socket(fileno=os.dup(fd))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        s.close()
    # another thread may take the number first (sockpolicy's own, under
    # load): a few tries, each a thread of B's that sets its own socket
    for attempt in range(10):
        with open("/proc/sys/kernel/ns_last_pid", "w") as f:
            f.write(str(x - 1))
        t = threading.Thread(target=second); t.start(); t.join()
        if out[-1] == x:
            break
    b2 = socket.socket(fileno=os.dup(fd))
    print("reused=%d B=%d" % (out[-1] == x, b2.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
print("A=%d" % a.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))
PY
	run timeout 60 unshare --pid --fork --mount-proc --kill-child "$CLI" run --via=seccomp -l /dev/null -- "$PYTHON" reuse.py
	[ "$status" -eq 0 ]
	assert_eq "$output" "reused=1 B=1
A=0"
}
