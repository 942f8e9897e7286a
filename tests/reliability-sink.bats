#!/usr/bin/env bats
# Issue 10, the log's sink: a relative path in a directory with '%' in its
# name (3), a pipe the shim cannot open again (4), a terminal under
# `stty tostop` (5), signal handlers that dup2 onto the log while their
# thread writes a record (8), a writer count leaked by cancellation and
# fork (9), records lost by the threads of a forked child (10).

load common

STRESS=$HELPERS/sinkstress

# as_nobody: copies of the library and helpers that user 65534 can read,
# in $U; "${NOBODY[@]}" CMD runs CMD as that user.  Its descriptors that
# root opened (a pipe, a terminal) cannot be opened again through
# /proc/self/fd: the shim's way of getting a non-blocking copy fails.
# (bats's own directories are root's alone: $U is made in TMPDIR.)
as_nobody() {
	U=$(mktemp -d "${TMPDIR:-/tmp}/sockpolicy-nobody.XXXXXX")
	cp "$LIB" "$STRESS" "$PROBE" "$U/"
	chmod 755 "$U"
	NOBODY=("$(command -v setpriv)" --reuid=65534 --regid=65534 --clear-groups)
}

teardown() {
	common_teardown
	[ -z "${U:-}" ] || rm -rf "$U"
}

# ptyjob MODE PROG [ARG...]: runs PROG (logging to stderr, stdout
# to /dev/null) on a new terminal of a session of its own, in the
# foreground (fg) or in a process group of its own (bg), with TOSTOP set
# (MODE ending in -tostop) or not.  Prints what reached the terminal, then
# "RESULT: exit N", "RESULT: stopped by SIG..." or "RESULT: timeout";
# PROG's stdout is kept in job.out.
ptyjob() {
	cat >ptyjob.py <<'EOF'
import os, pty, signal, sys, termios, time
lib, mode, prog = sys.argv[1:4]
pid, master = pty.fork()
if pid == 0:
    try:
        attrs = termios.tcgetattr(0)
        if mode.endswith('-tostop'):
            attrs[3] |= termios.TOSTOP
        else:
            attrs[3] &= ~termios.TOSTOP
        termios.tcsetattr(0, termios.TCSANOW, attrs)
        env = dict(os.environ, LD_PRELOAD=lib, SOCKPOLICY_LOG='stderr')
        c = os.fork()
        if c == 0:
            if mode.startswith('bg'):
                os.setpgid(0, 0)
            os.dup2(os.open('job.out', os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
            os.execve(prog, [prog] + sys.argv[4:], env)
        if mode.startswith('bg'):
            try:
                os.setpgid(c, c)
            except OSError:
                pass
        deadline, st = time.time() + 20, None
        while time.time() < deadline:
            p, s = os.waitpid(c, os.WUNTRACED | os.WNOHANG)
            if p:
                st = s
                break
            time.sleep(0.01)
        if st is None:
            msg = 'timeout'
            os.kill(c, signal.SIGKILL)
        elif os.WIFSTOPPED(st):
            msg = 'stopped by ' + signal.Signals(os.WSTOPSIG(st)).name
            os.kill(c, signal.SIGKILL)
        else:
            msg = 'exit %d' % os.waitstatus_to_exitcode(st)
        os.write(1, ('\nRESULT: ' + msg + '\n').encode())
    finally:
        os._exit(0)
out = b''
while True:
    try:
        d = os.read(master, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors='replace').replace('\r', ''))
EOF
	timeout 60 "$PYTHON" ptyjob.py "$LIB" "$@"
}

# pipejob PROG ARG...: runs PROG with SOCKPOLICY_LOG=stderr, its stderr a
# pipe that nobody reads.  Prints "exit N" or "blocked", then how many
# bytes reached the pipe.
pipejob() {
	cat >pipejob.py <<'EOF'
import os, subprocess, sys
r, w = os.pipe()
env = dict(os.environ, SOCKPOLICY_LOG='stderr')
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=w, env=env)
os.close(w)
try:
    print('exit', p.wait(timeout=20))
except subprocess.TimeoutExpired:
    p.kill()
    p.wait()
    print('blocked')
os.set_blocking(r, False)
try:
    print('piped', len(os.read(r, 1 << 20)))
except BlockingIOError:
    print('piped 0')
EOF
	timeout 60 "$PYTHON" pipejob.py "$@"
}

@test "a relative log path in a directory named with % is that directory's file; %p and %% are the value's" {
	mkdir 'a%%b' 'x%py'
	(cd 'a%%b' && SOCKPOLICY_LOG=x.log preload "$STRESS" calls 3 >/dev/null)
	[ "$(grep -c setsockopt 'a%%b/x.log')" = 3 ]
	[ ! -e 'a%b' ]
	# the value's own %p still expands, and %% is a '%'
	pid=$(cd 'x%py' && SOCKPOLICY_LOG='y-%p-%%.log' preload sh -c 'echo $$; exec "$1" calls 2 >/dev/null' _ "$STRESS")
	[ "$(grep -c setsockopt "x%py/y-$pid-%.log")" = 2 ]
	[ "$(ls 'x%py')" = "y-$pid-%.log" ]
}

@test "sockpolicy run -l: a relative file is passed on absolute, the directory's % doubled, the value's kept" {
	mkdir 'x%py'
	cd 'x%py'
	run bare "$CLI" run -l 'r-%p.log' --print-env
	[ "$status" -eq 0 ]
	assert_contains "$output" "export SOCKPOLICY_LOG='${BATS_TEST_TMPDIR//%/%%}/x%%py/r-%p.log'"
	run bare "$CLI" run -l 'r-%%.log' -- "$STRESS" calls 2
	[ "$status" -eq 0 ]
	[ "$(grep -c setsockopt 'r-%.log')" = 2 ]
	# the program may change directory: the log stays where run was asked
	run bare "$CLI" run -l 'moved.log' -- sh -c 'cd / && exec "$1" calls 2' _ "$STRESS"
	[ "$status" -eq 0 ]
	[ "$(grep -c setsockopt moved.log)" = 2 ]
	run bare "$CLI" run -l stderr --print-env
	assert_contains "$output" "export SOCKPOLICY_LOG='stderr'"
}

@test "stderr a pipe that cannot be reopened (no /proc): records are dropped when it is full, the program never blocks" {
	# ASan reads its options, and writes its reports, with /proc: the next
	# test, by a change of user, is the sanitized build's
	[ -z "${SOCKPOLICY_TEST_SANITIZED:-}" ] || skip "no /proc: ASan's runtime needs it"
	pipejob true >/dev/null # writes pipejob.py
	run timeout 90 unshare -m sh -c 'mount -t tmpfs none /proc && [ ! -e /proc/self/fd ] && exec "$@"' _ \
		"$PYTHON" pipejob.py env LD_PRELOAD="$LIB" "$STRESS" calls 3000
	[ "$status" -eq 0 ]
	echo "$output"
	[ "${lines[0]}" = "exit 0" ]
	# the pipe took what it holds (64 KiB), and whole records only
	[[ "${lines[1]}" =~ ^piped\ ([0-9]+)$ ]]
	[ "${BASH_REMATCH[1]}" -gt 60000 ]
}

@test "stderr another user's pipe after a change of user: the program never blocks" {
	pipejob true >/dev/null
	as_nobody
	run "$PYTHON" pipejob.py env LD_PRELOAD="$U/libsockpolicy.so" "${NOBODY[@]}" "$U/sinkstress" calls 3000
	[ "$status" -eq 0 ]
	echo "$output"
	[ "${lines[0]}" = "exit 0" ]
	[[ "${lines[1]}" =~ ^piped\ ([0-9]+)$ ]]
	[ "${BASH_REMATCH[1]}" -gt 60000 ]
}

@test "a terminal that cannot be reopened through /proc is the controlling one: opened as /dev/tty, records arrive" {
	ptyjob fg /bin/true >/dev/null # writes ptyjob.py
	as_nobody
	run timeout 60 "$PYTHON" ptyjob.py "$U/libsockpolicy.so" fg "${NOBODY[@]}" \
		"$U/sockprobe" socket inet stream set socket SO_KEEPALIVE 1
	echo "$output"
	assert_contains "$output" "RESULT: exit 0"
	assert_contains "$output" "sockprobe: setsockopt("
	# an open file of the shim's own, non-blocking: not the program's blocking one
	run timeout 60 "$PYTHON" ptyjob.py "$U/libsockpolicy.so" fg "${NOBODY[@]}" "$U/sinkstress" lognonblock
	assert_contains "$output" "RESULT: exit 0"
	[ "$(cat job.out)" = "log_nonblock=1" ]
}

@test "a terminal that is not ours and cannot be reopened: no log, with a message, never a blocking duplicate" {
	cat >other.py <<'EOF'
import os, subprocess, sys
m, s = os.openpty()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=s, timeout=20,
                   env=dict(os.environ, SOCKPOLICY_LOG='stderr'), start_new_session=True)
os.close(s)
os.set_blocking(m, False)
try:
    print(os.read(m, 65536).decode().replace('\r', ''))
except (BlockingIOError, OSError):
    pass
print('exit', p.returncode)
EOF
	as_nobody
	run timeout 60 "$PYTHON" other.py env LD_PRELOAD="$U/libsockpolicy.so" "${NOBODY[@]}" "$U/sinkstress" calls 3
	echo "$output"
	assert_contains "$output" "sockpolicy: SOCKPOLICY_LOG: descriptor 2 (a terminal or device) cannot be opened again without blocking"
	assert_not_contains "$output" "setsockopt("
	assert_contains "$output" "exit 0"
}

@test "stty tostop: a background job logging to the terminal is not stopped; its records are dropped there" {
	run ptyjob bg-tostop "$PROBE" socket inet stream set socket SO_KEEPALIVE 1
	echo "$output"
	assert_contains "$output" "RESULT: exit 0"
	assert_not_contains "$output" "setsockopt("
	# without tostop, or in the foreground, the records are on the terminal
	run ptyjob bg "$PROBE" socket inet stream set socket SO_KEEPALIVE 1
	assert_contains "$output" "RESULT: exit 0"
	assert_contains "$output" "sockprobe: setsockopt("
	run ptyjob fg-tostop "$PROBE" socket inet stream set socket SO_KEEPALIVE 1
	assert_contains "$output" "RESULT: exit 0"
	assert_contains "$output" "sockprobe: setsockopt("
}

@test "a SIGALRM handler dup2s a file onto the log while its thread writes a record: nothing in its file, no record lost, no hang" {
	# json: with two more threads logging, which the handler's dup2 waits for
	for fmt in text json; do
		rm -f prog.txt log.txt
		threads=0
		[ $fmt = text ] || threads=2
		SOCKPOLICY_LOG=$PWD/log.txt SOCKPOLICY_LOG_FORMAT=$fmt run preload_within 60 "$STRESS" sigdup 1.5 prog.txt $threads
		[ "$status" -eq 0 ]
		[[ "$output" =~ ^calls=([0-9]+)\ handlers=([0-9]+)$ ]]
		calls=${BASH_REMATCH[1]} handlers=${BASH_REMATCH[2]}
		echo "$fmt: $calls calls, $handlers handlers"
		[ "$handlers" -ge 20 ]
		# the program's file holds what its handler wrote, and only that
		[ "$(grep -vc '^handler$' prog.txt)" = 0 ]
		[ "$(grep -c '^handler$' prog.txt)" -ge 20 ]
		[ "$(grep -c setsockopt log.txt)" = "$calls" ]
	done
	$LOGQ check log.txt
}

@test "a pending cancel does not act inside a logged setsockopt, which is no cancellation point" {
	SOCKPOLICY_LOG=$PWD/log.txt run preload_within 30 "$STRESS" selfcancel
	[ "$status" -eq 0 ]
	[ "$output" = "after_setsockopt=1" ]
	[ "$(grep -c setsockopt log.txt)" = 1 ]
}

@test "threads cancelled while logging leave no count behind: a dup2 onto the log's number does not stall" {
	SOCKPOLICY_LOG=$PWD/log.txt run preload_within 60 "$STRESS" cancel 20
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^dup2_ms=([0-9]+)$ ]]
	echo "$output"
	[ "${BASH_REMATCH[1]}" -lt 100 ]
}

@test "children forked while other threads log: a dup2 onto the log's number in the child does not stall" {
	SOCKPOLICY_LOG=$PWD/log.txt run preload_within 120 "$STRESS" forkdup 5 2
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^slowest_ms=([0-9]+)$ ]]
	echo "$output"
	[ "${BASH_REMATCH[1]}" -lt 100 ]
}

@test "a %p log: threads of a forked child that log while its first record opens its file lose nothing" {
	SOCKPOLICY_LOG=$PWD/log.%p SOCKPOLICY_LOG_FORMAT=json run preload_within 120 "$STRESS" forklog 8 80 20
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" = 20 ]
	lost=0
	for child in "${lines[@]}"; do
		got=$(logcount "log.$child" call=setsockopt)
		[ "$got" = 640 ] || { echo "child $child: $got of 640"; lost=1; }
	done
	[ $lost = 0 ]
}
