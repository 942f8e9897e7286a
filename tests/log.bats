#!/usr/bin/env bats
# The log (SPEC §2, §4): its formats, its destinations, and that it is
# whole and correct under threads, forks, execs and daemons.

load common

# For the syslog tests: a private /dev (in a mount namespace) with
# /dev/null and no /dev/log but the one the test makes.
PRIVATE_DEV='mkdir -p olddev && mount --bind /dev olddev && mount -t tmpfs none /dev &&
	touch /dev/null && mount --bind olddev/null /dev/null'

TS_RE='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z'

@test "text records have the shape of SPEC §4, one line each" {
	SOCKPOLICY='SO_REUSEADDR=1; force SO_SNDBUF=1M' SOCKPOLICY_LOG=log.txt run preload "$PROBE" \
		socket inet stream set socket SO_SNDBUF 4096 bind 127.0.0.1 0 listen 16 fd 999 get socket SO_RCVBUF
	[ "$status" -eq 0 ]
	pid_re='sockpolicy\[[0-9]+\] sockprobe: '
	mapfile -t lines <log.txt
	[ "${#lines[@]}" -eq 7 ]
	[[ "${lines[0]}" =~ ^$TS_RE\ ${pid_re}socket\(AF_INET,\ SOCK_STREAM,\ 0\)\ =\ 3$ ]]
	[[ "${lines[1]}" =~ ^$TS_RE\ ${pid_re}setsockopt\(3,\ SOL_SOCKET,\ SO_REUSEADDR,\ 1\)\ =\ 0\ \[inject\]$ ]]
	# a size option shows what the kernel made of it: doubled, capped
	wmem_max=$(cat /proc/sys/net/core/wmem_max)
	eff=$((2 * (wmem_max < 1048576 ? wmem_max : 1048576)))
	[[ "${lines[2]}" =~ ^$TS_RE\ ${pid_re}setsockopt\(3,\ SOL_SOCKET,\ SO_SNDBUF,\ 1048576\)\ =\ 0\ \(effective\ $eff\)\ \[inject\]$ ]]
	[[ "${lines[3]}" =~ ${pid_re}setsockopt\(3,\ SOL_SOCKET,\ SO_SNDBUF,\ 4096\ -\>\ 1048576\)\ =\ 0\ \(effective\ $eff\)\ \[force\]$ ]]
	[[ "${lines[4]}" =~ ${pid_re}bind\(3,\ 127\.0\.0\.1:0\)\ =\ 0$ ]]
	[[ "${lines[5]}" =~ ${pid_re}listen\(3,\ 16\)\ =\ 0$ ]]
	[[ "${lines[6]}" =~ ${pid_re}getsockopt\(999,\ SOL_SOCKET,\ SO_RCVBUF\)\ =\ -1\ EBADF\ \(Bad\ file\ descriptor\)$ ]]
}

@test "every wrapped call gives one JSON record with the keys of SPEC §4" {
	cat >all.py <<'PY'
import socket
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(4)
cli = socket.socket(); cli.connect(srv.getsockname())
acc, _ = srv.accept()                     # CPython uses accept4
cli.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
print(cli.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
PY
	SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json run preload "$PYTHON" all.py
	[ "$output" = 1 ]
	[ "$(logcount log.json call=socket family=AF_INET type=SOCK_STREAM\|SOCK_CLOEXEC protocol=0)" = 2 ]
	[ "$(logcount log.json call=bind ret=0)" = 1 ]
	[ "$(logcount log.json call=listen backlog=4)" = 1 ]
	[ "$(logcount log.json call=connect ret=0)" = 1 ]
	[ "$(logcount log.json call=accept4)" = 1 ]
	[ "$(logcount log.json call=setsockopt level=SOL_TCP opt=TCP_NODELAY value=1 action=pass)" = 1 ]
	[ "$(logcount log.json call=getsockopt opt=TCP_NODELAY value=1)" = 1 ]
	port=$($LOGQ values log.json addr call=bind | sed 's/.*://')
	cport=$($LOGQ values log.json addr call=connect)
	[ "$cport" = "127.0.0.1:$(echo "$port")" ] || [[ "$cport" == 127.0.0.1:* ]]
	# accept: fd is the listener, ret the new socket, addr the peer
	lfd=$($LOGQ values log.json fd call=listen)
	[ "$($LOGQ values log.json fd call=accept4)" = "$lfd" ]
	[[ "$($LOGQ values log.json ret call=accept4)" =~ ^[0-9]+$ ]]
	[[ "$($LOGQ values log.json addr call=accept4)" =~ ^127\.0\.0\.1:[0-9]+$ ]]
	[ "$(logcount log.json prog=python3)" = "$($LOGQ check log.json)" ]
	# pid and tid are those of the process
	[ "$($LOGQ values log.json pid call=listen)" = "$($LOGQ values log.json tid call=listen)" ]
}

@test "a failed call has errno; a successful one has none" {
	SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json run preload "$PROBE" socket inet stream \
		bind 127.0.0.1 1 socket 12345 stream
	[ "$(logcount log.json call=bind ret=-1 errno=EACCES)" = 1 ] || [ "$(logcount log.json call=bind ret=0)" = 1 ]
	[ "$(logcount log.json call=socket fd=-1 ret=-1 errno=EAFNOSUPPORT family=12345)" = 1 ]
	run $LOGQ values log.json errno call=socket ret=3
	[ "$output" = null ]
}

@test "stderr and - write to the program's stderr; fd:N to that descriptor" {
	SOCKPOLICY_LOG=stderr run preload "$PROBE" socket inet stream
	assert_contains "$output" "sockprobe: socket(AF_INET, SOCK_STREAM, 0) = 3"
	SOCKPOLICY_LOG=- run preload "$PROBE" socket inet dgram
	assert_contains "$output" "sockprobe: socket(AF_INET, SOCK_DGRAM, 0) = 3"
	SOCKPOLICY_LOG=fd:7 preload "$PROBE" socket unix stream 7>fd7.txt >stdout.txt 2>stderr.txt
	grep -q 'socket(AF_UNIX, SOCK_STREAM, 0) = 3' fd7.txt
	! grep -q sockpolicy stdout.txt stderr.txt
}

@test "a file log: made absolute at load, mode 0600, appended to" {
	mkdir sub
	echo "first line" >log.txt
	chmod 0644 log.txt
	SOCKPOLICY_LOG=sub/new.txt preload "$PYTHON" -c '
import os, socket
os.chdir("/")               # a later chdir must not move the log
socket.socket()'
	[ "$(stat -c %a sub/new.txt)" = 600 ]
	grep -q 'python3: socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0) = 3' sub/new.txt
	SOCKPOLICY_LOG=log.txt preload "$PROBE" socket inet stream
	[ "$(head -n1 log.txt)" = "first line" ]
	grep -q 'socket(AF_INET, SOCK_STREAM, 0) = 3' log.txt
}

@test "a log path that is a symlink is refused (O_NOFOLLOW), the program runs on" {
	ln -s target.txt link.txt
	SOCKPOLICY_LOG=link.txt run preload "$PROBE" socket inet stream
	[ "$status" -eq 0 ]
	assert_contains "$output" "sockpolicy: SOCKPOLICY_LOG: cannot open log file '$PWD/link.txt'"
	assert_contains "$output" "socket=3"
	[ ! -e target.txt ]
	SOCKPOLICY_LOG=link.txt SOCKPOLICY_STRICT=1 run preload "$PROBE" socket inet stream
	[ "$status" -eq 78 ]
	assert_not_contains "$output" "socket=3"
}

@test "%p gives each process its own file, also a forked child that never execs" {
	SOCKPOLICY_LOG="$PWD/log.%p.json" SOCKPOLICY_LOG_FORMAT=json preload "$PYTHON" -c '
import os, socket
socket.socket()
pid = os.fork()
if pid == 0:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM); os._exit(0)
os.waitpid(pid, 0)
socket.socket(socket.AF_INET6)
print(os.getpid(), pid)' >pids
	read -r parent child <pids
	[ -f "log.$parent.json" ] && [ -f "log.$child.json" ]
	[ "$(logcount "log.$parent.json" call=socket)" = 2 ]
	[ "$(logcount "log.$parent.json" call=socket pid="$child")" = 0 ]
	[ "$(logcount "log.$child.json" call=socket type=SOCK_DGRAM\|SOCK_CLOEXEC pid="$child")" = 1 ]
	[ "$(logcount "log.$child.json" call=socket)" = 1 ]
}

@test "%% is a literal %" {
	SOCKPOLICY_LOG="$PWD/log%%p.txt" preload "$PROBE" socket inet stream
	[ -f 'log%p.txt' ]
}

@test "fork and exec through sh: every process logs, lines never mix" {
	SOCKPOLICY='tcp: TCP_NODELAY=1' SOCKPOLICY_LOG=$PWD/log.json SOCKPOLICY_LOG_FORMAT=json \
		preload sh -c '
for i in 1 2 3 4; do "$1" socket inet stream get tcp TCP_NODELAY >out.$i & done
wait
"$2" -c "import socket; s=socket.socket(); print(s.getsockopt(6, 1))" >out.py' sh "$PROBE" "$PYTHON"
	cat out.1 out.2 out.3 out.4 out.py
	[ "$(cat out.1 out.2 out.3 out.4 | grep -c TCP_NODELAY=1)" = 4 ]
	[ "$(cat out.py)" = 1 ]
	[ "$(logcount log.json call=socket)" = 5 ]
	[ "$(logcount log.json action=inject opt=TCP_NODELAY ret=0)" = 5 ]
	[ "$(logcount log.json prog=sockprobe call=getsockopt value=1)" = 4 ]
	[ "$($LOGQ values log.json pid call=socket | sort -u | wc -l)" = 5 ]
}

@test "8 threads x 500 sockets: every JSON record is present and whole" {
	SOCKPOLICY='SO_REUSEADDR=1' SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json run preload "$HELPERS/threads" 8 500
	[ "$output" = "failures=0" ]
	[ "$($LOGQ check log.json)" = 12000 ]
	[ "$(logcount log.json call=socket ret=-1)" = 0 ]
	[ "$(logcount log.json call=socket)" = 4000 ]
	[ "$(logcount log.json action=inject opt=SO_REUSEADDR ret=0)" = 4000 ]
	[ "$(logcount log.json action=pass opt=SO_KEEPALIVE ret=0)" = 4000 ]
	[ "$($LOGQ values log.json tid | sort -u | wc -l)" -ge 8 ]
}

@test "a daemon that closes every fd keeps its files clean, and its calls are still logged" {
	for mode in loop close_range closefrom dup2; do
		rm -f data done log.json
		SOCKPOLICY='SO_KEEPALIVE=1' SOCKPOLICY_LOG=$PWD/log.json SOCKPOLICY_LOG_FORMAT=json \
			preload "$HELPERS/daemon" "$mode" "$PWD/data" "$PWD/done"
		for i in $(seq 1 200); do [ -e done ] && break; sleep 0.05; done
		[ -e done ]
		echo "mode $mode: $(cat data | tr '\n' '|')"
		[ "$(cat data)" = "daemon data
more data" ]
		[ "$(logcount log.json prog=daemon call=socket)" = 3 ]
		[ "$(logcount log.json prog=daemon action=inject opt=SO_KEEPALIVE)" = 3 ]
	done
}

@test "the shim's log descriptor is hidden from close and dup2, and moves out of the way" {
	cat >fds.py <<'PY'
import errno, os, socket, sys
log = os.path.abspath(sys.argv[1])
ours = [int(fd) for fd in os.listdir("/proc/self/fd") if os.path.realpath(f"/proc/self/fd/{fd}") == log]
assert len(ours) == 1, ours
fd = ours[0]
try:
    os.close(fd); print("closed")
except OSError as e:
    print("close:", errno.errorcode[e.errno])
own = os.open("own.txt", os.O_WRONLY | os.O_CREAT, 0o644)
os.dup2(own, fd)                     # the program takes that number for itself
os.write(fd, b"program data\n")
socket.socket()                      # logged, but not into own.txt
moved = [int(d) for d in os.listdir("/proc/self/fd") if os.path.realpath(f"/proc/self/fd/{d}") == log]
print("moved", len(moved) == 1 and moved[0] != fd)
PY
	SOCKPOLICY_LOG=log.txt run preload "$PYTHON" fds.py log.txt
	assert_eq "$output" "close: EBADF
moved True"
	[ "$(cat own.txt)" = "program data" ]
	grep -q 'python3: socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0) = ' log.txt
}

@test "syslog: records reach /dev/log with ident sockpolicy, LOG_USER|LOG_INFO" {
	cat >syslogd.py <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind("/dev/log"); s.settimeout(5)
open(sys.argv[1], "w").close()
for _ in range(2):
    print(s.recv(4096).decode(), flush=True)
PY
	run timeout 20 unshare -m sh -c "$PRIVATE_DEV &&
		('$PYTHON' syslogd.py ready >received &) &&
		for i in \$(seq 100); do [ -e ready ] && break; sleep 0.05; done &&
		SOCKPOLICY_LOG=syslog LD_PRELOAD='$LIB' '$PROBE' socket inet stream >/dev/null 3>&- 4>&- &&
		SOCKPOLICY_LOG=syslog SOCKPOLICY_LOG_FORMAT=json LD_PRELOAD='$LIB' '$PROBE' socket inet dgram >/dev/null 3>&- 4>&- &&
		for i in \$(seq 100); do [ \$(wc -l <received) -ge 2 ] && break; sleep 0.05; done; cat received"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^\<14\>[A-Z][a-z]{2}\ [\ 0-9][0-9]\ [0-9:]{8}\ sockpolicy\[[0-9]+\]:\ sockprobe:\ socket\(AF_INET,\ SOCK_STREAM,\ 0\)\ =\ 3$ ]]
	[[ "${lines[1]}" =~ ^\<14\>.*\ sockpolicy\[[0-9]+\]:\ \{\"ts\":.*\"call\":\"socket\".*\"type\":\"SOCK_DGRAM\" ]]
}

@test "syslog restarted while the program runs: the shim connects to the new one" {
	cat >receiver.py <<'PY'
import os, socket, sys
if os.path.exists("/dev/log"):
    os.unlink("/dev/log")          # what a restarted syslog daemon does
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind("/dev/log"); s.settimeout(10)
open(sys.argv[1], "w").close()
print(s.recv(4096).decode(), flush=True)
PY
	cat >app.py <<'PY'
import os, socket, time
socket.socket()                                   # logged to the first daemon
while not os.path.exists("go"):
    time.sleep(0.02)
socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # logged to the second
PY
	run timeout 30 unshare -m sh -c "$PRIVATE_DEV &&
		('$PYTHON' receiver.py ready1 >first &) &&
		for i in \$(seq 200); do [ -e ready1 ] && break; sleep 0.05; done &&
		(SOCKPOLICY_LOG=syslog LD_PRELOAD='$LIB' '$PYTHON' app.py 3>&- 4>&- &) &&
		for i in \$(seq 200); do [ -s first ] && break; sleep 0.05; done &&
		('$PYTHON' receiver.py ready2 >second &) &&
		for i in \$(seq 200); do [ -e ready2 ] && break; sleep 0.05; done &&
		touch go &&
		for i in \$(seq 200); do [ -s second ] && break; sleep 0.05; done; cat first second"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ python3:\ socket\(AF_INET,\ SOCK_STREAM\|SOCK_CLOEXEC,\ 0\) ]]
	[[ "${lines[1]}" =~ python3:\ socket\(AF_INET,\ SOCK_DGRAM\|SOCK_CLOEXEC,\ 0\) ]]
}

@test "syslog that cannot be reached is reported; strict mode stops the program" {
	run timeout 20 unshare -m sh -c "$PRIVATE_DEV && SOCKPOLICY_LOG=syslog SOCKPOLICY_STRICT=1 LD_PRELOAD='$LIB' '$PROBE' socket inet stream"
	[ "$status" -eq 78 ]
	assert_contains "$output" "sockpolicy: SOCKPOLICY_LOG: cannot reach syslog at /dev/log"
}

@test "an unknown log format is reported and text is used" {
	SOCKPOLICY_LOG=log.txt SOCKPOLICY_LOG_FORMAT=xml run preload "$PROBE" socket inet stream
	assert_contains "$output" "sockpolicy: SOCKPOLICY_LOG_FORMAT: unknown log format 'xml' (use text or json)"
	grep -q 'socket(AF_INET, SOCK_STREAM, 0) = 3' log.txt
	SOCKPOLICY_LOG=log.txt SOCKPOLICY_LOG_FORMAT=xml SOCKPOLICY_STRICT=1 run preload "$PROBE" socket inet stream
	[ "$status" -eq 78 ]
}
