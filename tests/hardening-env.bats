#!/usr/bin/env bats
# Issue 4, hostile environments: a log that cannot be written never blocks,
# kills or changes the program (SPEC §2 "The log"), and nothing a program
# passes -- a unix socket name, its own name -- can break a record's line or
# forge another record (SPEC §4).

load common

# A probe run whose output does not depend on the shim: errno after every
# call, and the options read back.
PROBE_STEPS=(errno-preset 7 socket inet stream set socket SO_KEEPALIVE 1 bind 127.0.0.1 0 listen 4
	get socket SO_KEEPALIVE socket unix dgram bindunix @sp-hostile fd 999 get socket SO_RCVBUF)

@test "a FIFO without a reader as the log: refused at once, the program never blocks" {
	mkfifo log.fifo
	SOCKPOLICY_LOG=log.fifo run preload_within 10 "$PROBE" socket inet stream
	[ "$status" -eq 0 ]
	assert_eq "$output" "sockpolicy: SOCKPOLICY_LOG: cannot open log file '$PWD/log.fifo': No such device or address
socket=3"
}

@test "a FIFO whose reader never reads: records are dropped when it fills, the program never blocks" {
	mkfifo log.fifo
	exec 7<>log.fifo # a reader that reads nothing, held by the test
	SOCKPOLICY_LOG=$PWD/log.fifo SOCKPOLICY_LOG_FORMAT=json run preload_within 30 "$HELPERS/threads" 4 2000
	exec 7>&-
	[ "$status" -eq 0 ]
	[ "$output" = "failures=0" ]
}

@test "a FIFO reader that goes away: the log stops, no SIGPIPE, and the program's own SIGPIPE is untouched" {
	mkfifo log.fifo
	# the reader, made before the program starts: it reads 100 bytes and
	# leaves, and every later record meets EPIPE
	exec 7<>log.fifo
	timeout 30 head -c 100 <&7 >/dev/null &
	exec 7<&-
	cat >pipe.py <<-'PY'
		import os, signal, socket, sys
		signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # as a C program has it
		for i in range(3000):
		    socket.socket().close()
		print("sockets done", flush=True)
		r, w = os.pipe(); os.close(r)
		os.write(w, b"x")                               # the program's own broken pipe
		print("not reached")
	PY
	SOCKPOLICY_LOG=$PWD/log.fifo run preload_within 30 "$PYTHON" pipe.py
	wait
	# killed by its own SIGPIPE (status 128+13), after all its sockets
	[ "$status" -eq 141 ]
	[ "$output" = "sockets done" ]
	run bare "$PYTHON" pipe.py
	[ "$status" -eq 141 ]
}

@test "/dev/full as the log: the program runs exactly as without the shim" {
	run bare "$PROBE" "${PROBE_STEPS[@]}"
	without=$output
	[ "$status" -eq 0 ]
	for fmt in text json; do
		SOCKPOLICY_LOG=/dev/full SOCKPOLICY_LOG_FORMAT=$fmt run preload_within 10 "$PROBE" "${PROBE_STEPS[@]}"
		[ "$status" -eq 0 ]
		assert_eq "$output" "$without"
	done
}

@test "a log in a read-only directory: one message, and the program runs as without the shim" {
	mkdir ro
	run bare "$PROBE" "${PROBE_STEPS[@]}"
	without=$output
	# root writes wherever a mode allows: a read-only mount is unwritable for everyone
	run timeout 20 unshare -m sh -c 'dir=$1 lib=$2; shift 2
		mount --bind -o ro "$dir" "$dir" && SOCKPOLICY_LOG="$dir/log.txt" LD_PRELOAD="$lib" "$@" 3>&- 4>&-' \
		_ "$PWD/ro" "$LIB" "$PROBE" "${PROBE_STEPS[@]}"
	[ "$status" -eq 0 ]
	assert_eq "${lines[0]}" "sockpolicy: SOCKPOLICY_LOG: cannot open log file '$PWD/ro/log.txt': Read-only file system"
	assert_eq "$(printf '%s\n' "${lines[@]:1}")" "$without"
}

@test "a disk that fills up: records are dropped, one torn line at most, and logging resumes whole when space returns" {
	mkdir full
	cat >fill.py <<-'PY'
		import os, socket, sys
		log, filler = sys.argv[1], sys.argv[2]
		last, same = -1, 0
		for i in range(100000):          # until the log stops growing: the disk is full
		    socket.socket().close()
		    size = os.stat(log).st_size
		    same = same + 1 if size == last else 0
		    last = size
		    if same > 20:
		        break
		os.unlink(filler)                # space again
		for i in range(5):
		    socket.socket(socket.AF_INET6).close()
		print("done")
	PY
	run timeout 60 unshare -m sh -c 'mount -t tmpfs -o size=64k none "$1" && head -c 40000 /dev/zero >"$1/filler" &&
		SOCKPOLICY_LOG="$1/log.json" SOCKPOLICY_LOG_FORMAT=json LD_PRELOAD="$2" "$3" fill.py "$1/log.json" "$1/filler" 3>&- 4>&- &&
		cp "$1/log.json" log.json' _ "$PWD/full" "$LIB" "$PYTHON"
	[ "$status" -eq 0 ]
	[ "$output" = done ]
	run "$PYTHON" -c '
import json, sys
bad = inet6 = 0
for line in open(sys.argv[1], "rb"):
    try:
        inet6 += json.loads(line).get("family") == "AF_INET6"
    except ValueError:
        bad += 1
print(bad, inet6)' log.json
	# the torn record alone is lost; the five after it are whole
	[ "$output" = "1 5" ] || [ "$output" = "0 5" ]
}

@test "a relative log path: the program and its forked children after a chdir write beside the first file" {
	mkdir sub elsewhere
	SOCKPOLICY_LOG=sub/log.%p.json SOCKPOLICY_LOG_FORMAT=json preload "$PYTHON" -c '
import os, socket, sys
os.chdir(sys.argv[1])
socket.socket()
pid = os.fork()
if pid == 0:
    socket.socket(socket.AF_INET6); os._exit(0)
os.waitpid(pid, 0)
print(os.getpid(), pid)' "$PWD/elsewhere" >pids
	read -r parent child <pids
	[ -z "$(ls -A elsewhere)" ]
	[ "$(logcount "sub/log.$parent.json" call=socket)" = 1 ]
	[ "$(logcount "sub/log.$child.json" call=socket family=AF_INET6)" = 1 ]
}

@test "SOCKPOLICY_LOG=stderr after the program closed fd 2 and a socket took it: the peer gets only the program's bytes" {
	cat >peer.py <<-'PY'
		import os, socket
		srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
		os.close(2)
		c = socket.socket()                 # takes descriptor 2
		assert c.fileno() == 2, c.fileno()
		c.connect(srv.getsockname())
		a, _ = srv.accept()
		c.sendall(b"program bytes\n")
		for i in range(50):                 # logged calls while fd 2 is the socket
		    socket.socket().close()
		c.close()
		got = b""
		a.settimeout(5)
		while True:
		    chunk = a.recv(65536)
		    if not chunk:
		        break
		    got += chunk
		print(repr(got))
	PY
	SOCKPOLICY_LOG=stderr preload_within 20 "$PYTHON" peer.py >out.txt 2>err.txt
	assert_eq "$(cat out.txt)" "b'program bytes\\n'"
	# the records went to the stderr the program had at load
	[ "$(grep -c 'python3: socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0) = ' err.txt)" -ge 52 ]
}

@test "stderr a pipe whose reader left, or a socket whose peer left or never reads: no SIGPIPE, no block" {
	# a pipe: the reader exits before the program starts
	{ sleep 0.5; SOCKPOLICY_LOG=stderr preload_within 20 "$HELPERS/threads" 2 500 >pipe.out; echo $? >pipe.rc; } 2>&1 | true
	assert_eq "$(cat pipe.rc) $(cat pipe.out)" "0 failures=0"
	# sockets as stderr, as systemd gives a service: the peer closed, or never reads
	cat >sockerr.py <<-'PY'
		import socket, subprocess, sys
		for mode in ("closed", "unread"):
		    a, b = socket.socketpair()
		    if mode == "closed":
		        a.close()
		    p = subprocess.run(sys.argv[1:], stderr=b, stdout=subprocess.PIPE, timeout=20)
		    print(mode, p.returncode, p.stdout.decode().strip())
	PY
	SOCKPOLICY_LOG=stderr run timeout 60 "$PYTHON" sockerr.py env LD_PRELOAD="$LIB" "$HELPERS/threads" 4 2000
	assert_eq "$output" "closed 0 failures=0
unread 0 failures=0"
}

@test "unix names with newlines, quotes, backslashes, NULs, abstract, a full 108-byte unterminated path: whole lines, no forged record" {
	cat >names.py <<-'PY'
		import json, os, socket, sys
		forge = '","call":"socket","fd":9,"ret":9,"action":"pass"}\n{"ts":"2026-01-01T00:00:00.000000Z","pid":1,"tid":1,"prog":"forged","call":"socket","fd":7,"ret":7,"action":"inject"}\n'
		names = [
		    b"a\nb",
		    b'q"uote\\back\\"slash',
		    forge.encode()[:100],
		    b"\0abstract\nwith\0nul\"and\\",
		    b"\0" + forge.encode()[:100],
		    b"\0" + b"A" * 107,              # an abstract name filling sun_path
		    b"\xff\xfe\x80 bytes",
		]
		for n in names:
		    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
		    s.bind(n); s.listen(1)
		    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
		    c.connect(n)
		    a, _ = s.accept()
		    for x in (a, c, s):
		        x.close()
		    if n[0] != 0:
		        os.unlink(n)
		print(len(names))
	PY
	SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json run preload_within 20 "$PYTHON" names.py
	[ "$output" = 7 ]
	# logq refuses any line that is not one whole JSON object
	[ "$($LOGQ check log.json)" = 42 ]
	[ "$(logcount log.json call=socket)" = 14 ]
	[ "$(logcount log.json prog=forged)" = 0 ]
	[ "$(wc -l <log.json)" = 42 ]
	run "$PYTHON" -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["call"] == "bind":
        print(ascii(r["addr"]))' log.json
	assert_eq "${lines[0]}" "'unix:a\\nb'"
	assert_eq "${lines[1]}" "'unix:q\"uote\\\\back\\\\\"slash'"
	assert_eq "${lines[3]}" "'unix:@abstract\\nwith\\x00nul\"and\\\\'"
	assert_eq "${lines[5]}" "'unix:@$(printf 'A%.0s' $(seq 107))'"
	assert_eq "${lines[6]}" "'unix:\\xff\\xfe\\x80 bytes'"
	# the text log: one line per record, as many as in JSON
	SOCKPOLICY_LOG=log.txt run preload_within 20 "$PYTHON" names.py
	[ "$(wc -l <log.txt)" = 42 ]
	[ "$(grep -c '^[0-9T:.Z-]* sockpolicy\[[0-9]*\] python3: ' log.txt)" = 42 ]
	grep -qF 'bind(3, "unix:a\nb") = 0' log.txt
	# a filesystem path of 108 bytes, unterminated (Python cannot make one)
	long=$(printf 'L%.0s' $(seq 108))
	rm -f log.json log.txt
	SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json run preload_within 20 "$HELPERS/sunpath" "$long"
	[ "$output" = "sunpath=ok" ]
	[ "$($LOGQ check log.json)" = 6 ]
	[ "$(logcount log.json call=bind addr="unix:$long")" = 1 ]
	[ "$(logcount log.json call=connect addr="unix:$long")" = 1 ]
	SOCKPOLICY_LOG=log.txt run preload_within 20 "$HELPERS/sunpath" "$long"
	grep -qF "bind(3, \"unix:$long\") = 0" log.txt
}

@test "a program named to forge a record: its name is escaped in both formats" {
	name=$'evil\n2026-01-01T00:00:00.000000Z sockpolicy[1] x: socket(AF_INET, SOCK_STREAM, 0) = 3 "\\'
	named() { bash -c 'export LD_PRELOAD="$3"; exec -a "$1" "$2" socket inet stream 3>&- 4>&-' _ "$name" "$PROBE" "$LIB"; }
	SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json run named
	[ "$output" = "socket=3" ]
	[ "$($LOGQ check log.json)" = 1 ]
	[ "$($LOGQ values log.json prog)" = "$name" ]
	SOCKPOLICY_LOG=log.txt run named
	[ "$(wc -l <log.txt)" = 1 ]
	grep -qF ' evil\n2026-01-01T00:00:00.000000Z sockpolicy[1] x: socket(AF_INET, SOCK_STREAM, 0) = 3 \"\\: socket(' log.txt
}
