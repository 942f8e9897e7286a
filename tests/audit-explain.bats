#!/usr/bin/env bats
# An audit that explains (issue 15): what the kernel made of a size
# (`effective`, SPEC §4), values logged exactly as passed, option names,
# hints for recognisable failures, an audit that survives signals and
# privilege drops and says when daemons outlive CMD, `check` warnings and
# `check --host`, and 125 for sockpolicy's own failures (SPEC §5).

load common

# A program run as nobody must reach the library and its helpers, and
# an interpreter that is not in root's home (pyenv).
NOBODY_PYTHON=/usr/bin/python3

as_nobody() {
	runuser -u nobody -- "$@"
}

# ./become-nobody CMD...: a script that runs CMD as nobody, the way runuser
# does it, unless the library is an ASan build: preloaded into runuser it
# is called (close(), from libcap-ng's constructor) before the ASan
# runtime has set up its shadow memory, and crashes.  Then a program that
# drops root itself (a server's way) stands in for runuser.
make_become_nobody() {
	if [ -n "${SOCKPOLICY_TEST_SANITIZED:-}" ]; then
		cat >become-nobody <<EOF
#!/bin/sh
exec $NOBODY_PYTHON -c 'import os, sys; os.setgroups([]); os.setgid($(id -g nobody)); os.setuid($(id -u nobody)); os.execv(sys.argv[1], sys.argv[1:])' "\$@"
EOF
	else
		printf '#!/bin/sh\nexec runuser -u nobody -- "$@"\n' >become-nobody
	fi
	chmod +x become-nobody
}

@test "effective: a size option records what the socket got, as the program's own getsockopt reads it" {
	cat >sizes.py <<'EOF'
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
print(s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 30)   # far above wmem_max
print(s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF))
print(s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))
s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
try:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, b'\x01')
except OSError:
    pass
EOF
	# the policy's injected size too
	SOCKPOLICY='SO_SNDBUF=48K' SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json run preload "$PYTHON" sizes.py
	[ "$status" -eq 0 ]
	rcv=${lines[0]} snd=${lines[1]}
	[ "$($LOGQ values log.json effective call=setsockopt opt=SO_RCVBUF action=pass ret=0)" = "$rcv" ]
	[ "$($LOGQ values log.json effective call=setsockopt opt=SO_SNDBUF action=pass)" = "$snd" ]
	# the kernel capped the 1 GiB at wmem_max, doubled
	[ "$snd" = $((2 * $(cat /proc/sys/net/core/wmem_max))) ]
	[ "$($LOGQ values log.json effective call=setsockopt opt=SO_SNDBUF action=inject)" = $((2 * 49152)) ]
	# no effective for other options, for getsockopt, or for a failed call
	[ "$(grep -c '"effective"' log.json)" = 3 ]
	# text: after the result, as strace notes what a call did
	SOCKPOLICY_LOG=log.txt run preload "$PYTHON" sizes.py
	grep -qE "setsockopt\(3, SOL_SOCKET, SO_RCVBUF, 65536\) = 0 \(effective ${lines[0]}\)$" log.txt
	grep -qE "setsockopt\(3, SOL_SOCKET, SO_KEEPALIVE, 1\) = 0$" log.txt
}

@test "values are logged exactly as passed: a length that is not the option's is hex, never more bytes" {
	cat >bytes.py <<'EOF'
import socket
s = socket.socket()
for v in (b'\x01', b'\x01\x00\x00\x00', b'\x01\x00\x00\x00\x00\x00'):
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, v)
    except OSError as e:
        print(e.errno)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, b'\x10')      # ip(7) takes one byte
EOF
	SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json run preload "$PYTHON" bytes.py
	[ "$status" -eq 0 ]
	[ "$($LOGQ values log.json value opt=TCP_NODELAY)" = '0x01
1
0x010000000000' ]
	[ "$($LOGQ values log.json errno opt=TCP_NODELAY value=0x01)" = EINVAL ]
	[ "$($LOGQ values log.json value opt=IP_TOS)" = 0x10 ]
	SOCKPOLICY_LOG=log.txt run preload "$PYTHON" bytes.py
	grep -q 'setsockopt(3, SOL_TCP, TCP_NODELAY, 0x01) = -1 EINVAL (Invalid argument)$' log.txt
	grep -q 'setsockopt(3, SOL_IP, IP_TOS, 0x10) = 0$' log.txt
}

@test "the log names every option of the kernel's headers, and the options table is aligned" {
	cat >names.py <<'EOF'
import socket
s = socket.socket()
s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, b'')
s.setsockopt(socket.SOL_SOCKET, 40, 1)                        # SO_RXQ_OVFL
s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
s.setsockopt(socket.IPPROTO_IP, 8, 1)                         # IP_PKTINFO
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
u.setsockopt(socket.IPPROTO_IPV6, 62, 1)                      # IPV6_DONTFRAG
u.setsockopt(socket.IPPROTO_UDP, 102, 1)                      # UDP_NO_CHECK6_RX
EOF
	SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json run preload "$PYTHON" names.py
	[ "$status" -eq 0 ]
	assert_eq "$($LOGQ values log.json opt call=setsockopt)$($LOGQ values log.json opt call=getsockopt)" \
		"IP_OPTIONS
SO_RXQ_OVFL
IP_PKTINFO
IPV6_RECVPKTINFO
IPV6_DONTFRAG
UDP_NO_CHECK6_RXTCP_INFO"
	# a name for the log is no rule: refused with its reason
	run bare "$CLI" check -p 'IP_OPTIONS=1'
	[ "$status" -eq 2 ]
	# every column of `options` starts where its heading does
	run bare "$CLI" options
	[ "$status" -eq 0 ]
	"$PYTHON" - <<EOF
import re, sys
lines = """$output""".split("\n")
starts = [m.start() for m in re.finditer(r"\S+", lines[0])]
assert len(starts) == 8, starts
for line in lines[1:]:
    for col in starts[1:]:
        if line[col - 1] != " " or line[col] == " ":
            sys.exit("misaligned at column %d: %r" % (col, line))
EOF
	assert_contains "$output" "IP_BIND_ADDRESS_NO_PORT"
}

@test "audit: the tutorial's byte-swapped TCP_KEEPIDLE gets its hint, and force TCP_KEEPIDLE=60 repairs it" {
	cat >tutorial.py <<'EOF'
import socket, struct
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
try:
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, struct.pack('!i', 60))
    print("set")
except OSError as e:
    print("errno", e.errno)
print("idle", s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE))
EOF
	run --separate-stderr bare "$CLI" audit -- "$PYTHON" tutorial.py
	[ "$status" -eq 0 ]
	assert_contains "$output" "errno 22"
	[[ "$output" =~ python3\ +setsockopt\ +SOL_TCP\ +TCP_KEEPIDLE\ +1\ +pass\ +EINVAL\ +1006632960 ]]
	assert_contains "$output" "
hint: python3: TCP_KEEPIDLE=1006632960 failed with EINVAL: it is 60 with its bytes swapped (network order, as struct.pack('!i', 60) or htonl() makes it); pass 60 in host order (struct.pack('i', 60), or the int itself), or repair the program with the policy 'force TCP_KEEPIDLE=60'"
	[ "$(grep -c '^hint: ' <<<"$output")" = 1 ]
	# the fix the hint names, read back by the program itself
	run bare "$CLI" run -p 'tcp: force TCP_KEEPIDLE=60' -- "$PYTHON" tutorial.py
	[ "$status" -eq 0 ]
	assert_eq "$output" "set
idle 60"
}

@test "audit hints: a size capped by rmem_max, a congestion control unknown or not allowed, a capability missing" {
	rmem=$(cat /proc/sys/net/core/rmem_max)
	ask=$((2 * rmem))
	cat >fail.py <<EOF
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, $ask)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
for level, opt, v in ((socket.IPPROTO_TCP, socket.TCP_CONGESTION, b'nosuchcc'),
                      (socket.SOL_SOCKET, socket.SO_MARK, 5)):
    try:
        s.setsockopt(level, opt, v)
    except OSError as e:
        print(opt, e.errno)
EOF
	# nobody holds no CAP_NET_ADMIN; the test's directory is closed to it
	make_become_nobody
	run --separate-stderr bare "$CLI" audit -- ./become-nobody "$NOBODY_PYTHON" -c "$(cat fail.py)"
	[ "$status" -eq 0 ]
	assert_contains "$output" "13 2"
	assert_contains "$output" "36 1"
	grep -qxF "hint: python3: SO_RCVBUF=$ask got $ask, not $((2 * ask)): net.core.rmem_max ($rmem) caps it; raise the limit (sysctl -w net.core.rmem_max=$ask) or set SO_RCVBUFFORCE with CAP_NET_ADMIN" <<<"$output"
	grep -qxF "hint: python3: TCP_CONGESTION=nosuchcc failed with ENOENT: this kernel has no nosuchcc (see net.ipv4.tcp_available_congestion_control); load its module (modprobe tcp_nosuchcc)" <<<"$output"
	grep -qxF "hint: python3: SO_MARK=5 failed with EPERM: the kernel wants CAP_NET_ADMIN; give the program that capability (AmbientCapabilities=CAP_NET_ADMIN in its systemd unit, or setcap)" <<<"$output"
	# a size the kernel did not cap, and the calls that worked, get none
	[ "$(grep -c '^hint: ' <<<"$output")" = 3 ]
	# an algorithm the kernel has but does not allow: EPERM.  Which one is
	# the host's to say, so the record is written here; a host that has
	# one is asked live too.
	printf '%s\n' '{"prog":"p","call":"setsockopt","fd":3,"ret":-1,"errno":"EPERM","action":"pass","level":"SOL_TCP","opt":"TCP_CONGESTION","value":"cubic"}' >cc.json
	run bare "$CLI" report cc.json
	[ "$status" -eq 0 ]
	grep -qxF "hint: p: TCP_CONGESTION=cubic failed with EPERM: cubic is not in net.ipv4.tcp_allowed_congestion_control; add it (sysctl -w net.ipv4.tcp_allowed_congestion_control='... cubic') or give the program CAP_NET_ADMIN" <<<"$output"
	for algo in $(cat /proc/sys/net/ipv4/tcp_available_congestion_control); do
		grep -qw "$algo" /proc/sys/net/ipv4/tcp_allowed_congestion_control && continue
		run bare "$CLI" audit -- ./become-nobody "$NOBODY_PYTHON" -c "import socket; socket.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b'$algo')"
		assert_contains "$output" "hint: python3: TCP_CONGESTION=$algo failed with EPERM: $algo is not in net.ipv4.tcp_allowed_congestion_control"
		break
	done
	# a deny rule's EPERM is the policy's: no capability hint
	SOCKPOLICY='deny SO_MARK' SOCKPOLICY_LOG=deny.json SOCKPOLICY_LOG_FORMAT=json preload "$PYTHON" fail.py >/dev/null
	[ "$(logcount deny.json opt=SO_MARK action=deny)" = 1 ]
	run bare "$CLI" report deny.json
	assert_not_contains "$output" "SO_MARK=5 failed"
}

@test "audit: SIGINT, SIGTERM, SIGHUP and SIGQUIT go to CMD, and the summary still follows" {
	cat >wait.py <<'EOF'
import os, socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
open(sys.argv[1] + ".tmp", "w").write(str(os.getpid()))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(60)
EOF
	for sig in INT TERM HUP QUIT; do
		rm -f pid
		# a job of a script starts with SIGINT and SIGQUIT ignored
		env --default-signal=INT,QUIT "$CLI" audit -- "$PYTHON" wait.py pid >out 3>&- 4>&- &
		audit=$!
		wait_for_file pid
		kill -s "$sig" "$audit"
		status=0
		timeout 10 tail --pid="$audit" -f /dev/null || status=$?
		[ "$status" -eq 0 ] || { echo "$sig: audit did not end"; kill -9 "$audit"; return 1; }
		wait "$audit" || status=$?
		[ "$status" -eq $((128 + $(kill -l "$sig"))) ] || { echo "$sig: status $status"; return 1; }
		grep -qE '^python3 +setsockopt +SOL_SOCKET +SO_KEEPALIVE +1 +pass' out || { cat out; return 1; }
		! kill -0 "$(cat pid)" 2>/dev/null || { echo "$sig: CMD still runs"; return 1; }
	done
}

@test "timeout 2 sockpolicy audit -- CMD prints the table and leaves no process behind" {
	cat >stay.py <<'EOF'
import os, socket, sys, time
s = socket.socket()
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
open(sys.argv[1], "w").write(str(os.getpid()))
time.sleep(60)
EOF
	# setsid: CMD out of timeout's process group, which timeout signals too.
	# 5 s rather than the README's 2: a loaded CI machine (the sanitized
	# pass) can take seconds to start python3 under the library
	run timeout 5 "$CLI" audit -- setsid "$PYTHON" stay.py pid
	[ "$status" -eq 124 ]
	[[ "$output" =~ python3\ +setsockopt\ +SOL_TCP\ +TCP_NODELAY\ +1\ +pass ]]
	pid=$(cat pid)
	for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$pid" 2>/dev/null || { kill -9 "$pid"; echo "CMD $pid outlived the audit"; return 1; }
}

@test "audit: records survive a drop to another user, and the children a program starts" {
	cat >drop.py <<'EOF'
import os, socket, subprocess, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
print("uid", os.getuid())
# close_fds: the child inherits no descriptor of ours
subprocess.run([sys.executable, "-c", "import socket; socket.socket().setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)"], check=True)
EOF
	# the test's directory is closed to nobody: the program goes as text
	make_become_nobody
	run --separate-stderr bare "$CLI" audit -o "$PWD/kept.json" -- ./become-nobody "$NOBODY_PYTHON" -c "$(cat drop.py)"
	[ "$status" -eq 0 ]
	assert_eq "$stderr" ""
	assert_contains "$output" "uid $(id -u nobody)"
	[[ "$output" =~ python3\ +setsockopt\ +SOL_SOCKET\ +SO_KEEPALIVE\ +1\ +pass ]]
	[[ "$output" =~ python3\ +setsockopt\ +SOL_SOCKET\ +SO_BROADCAST\ +1\ +pass ]]
	[ "$(logcount kept.json call=setsockopt prog=python3)" = 2 ]
	# the kept log is the user's own
	[ "$(stat -c %a kept.json)" = 600 ]
	# and the shared one is gone; its directory must be one nobody can
	# pass through (the test's own is not)
	tmp=$(mktemp -d)
	chmod 755 "$tmp"
	TMPDIR=$tmp run bare "$CLI" audit -- ./become-nobody "$NOBODY_PYTHON" -c 'import socket; socket.socket()'
	rest=$(ls -A "$tmp")
	rmdir "$tmp"
	[ "$status" -eq 0 ]
	[[ "$output" =~ python3\ +socket ]]
	[ -z "$rest" ]
}

@test "audit says when daemons outlive CMD: the summary covers what was logged until CMD ended" {
	cat >daemon.py <<'EOF'
import os, socket, sys, time
if os.fork() == 0:
    os.setsid()
    socket.socket().setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    open(sys.argv[1], "w").write(str(os.getpid()))
    time.sleep(60)
    os._exit(0)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
EOF
	run --separate-stderr bare timeout 30 "$CLI" audit -- "$PYTHON" daemon.py pid
	pid=$(cat pid)
	kill "$pid"
	[ "$status" -eq 0 ]
	[[ "$output" =~ python3\ +setsockopt\ +SOL_SOCKET\ +SO_KEEPALIVE\ +1\ +pass ]]
	assert_eq "$stderr" "sockpolicy: warning: 1 process that $PYTHON started still runs: $pid (python3); the summary covers what was logged until $PYTHON ended"
	# a CMD that leaves nothing behind gets no such line
	run --separate-stderr bare "$CLI" audit -- "$PYTHON" -c 'import socket; socket.socket()'
	assert_eq "$stderr" ""
}

@test "check warns about rules that act too late, and says nothing about a clean policy" {
	run --separate-stderr bare "$CLI" check -p 'tcp at=listen: SO_REUSEADDR=1' -p 'tcp at=accept: TCP_NODELAY=1, SO_REUSEPORT=1'
	[ "$status" -eq 0 ]
	assert_eq "$output" "tcp at=listen: set SO_REUSEADDR=1
tcp at=accept: set TCP_NODELAY=1
tcp at=accept: set SO_REUSEPORT=1"
	assert_eq "$stderr" "sockpolicy: SOCKPOLICY:1:16: warning: SO_REUSEADDR at=listen comes after bind, where the kernel reads it: the bind it should help has happened; use at=bind or at=socket
sockpolicy: SOCKPOLICY:2:31: warning: SO_REUSEPORT at=accept changes nothing: an accepted socket is never bound, and the kernel reads SO_REUSEPORT at bind; set it on the listener (at=bind or at=socket)"
	# named by the file they are in
	printf 'SO_KEEPALIVE=1\nat=listen: default SO_REUSEPORT=1\n' >p.conf
	run --separate-stderr bare "$CLI" check -f p.conf
	[ "$status" -eq 0 ]
	[[ "$stderr" == "sockpolicy: p.conf:2:20: warning: SO_REUSEPORT at=listen comes after bind"* ]]
	for clean in 'SO_REUSEADDR=1; at=bind: SO_REUSEPORT=1' 'tcp at=accept: TCP_NODELAY=1' 'at=listen: ignore SO_REUSEADDR'; do
		run --separate-stderr bare "$CLI" check -p "$clean"
		[ "$status" -eq 0 ]
		assert_eq "$stderr" ""
	done
	# still 2 for an invalid policy
	run bare "$CLI" check -p 'at=listen: SO_REUSEADDR=2'
	[ "$status" -eq 2 ]
}

@test "check --host: sizes above the kernel's limits, a congestion control not allowed, a capability the user lacks" {
	rmem=$(cat /proc/sys/net/core/rmem_max) wmem=$(cat /proc/sys/net/core/wmem_max)
	big=$((rmem + 1))
	run --separate-stderr bare "$CLI" check --host -p "SO_RCVBUF=$big; min SO_SNDBUF=$wmem"
	[ "$status" -eq 0 ]
	assert_eq "$stderr" "sockpolicy: SOCKPOLICY:1:1: warning: SO_RCVBUF=$big is above net.core.rmem_max ($rmem): the kernel caps it, and the socket gets $((2 * rmem)), not $((2 * big)); raise the limit (sysctl -w net.core.rmem_max=$big) or use SO_RCVBUFFORCE (needs CAP_NET_ADMIN)"
	# without --host: no look at the machine
	run --separate-stderr bare "$CLI" check -p "SO_RCVBUF=$big"
	assert_eq "$stderr" ""
	# congestion control: reno is always there and allowed
	allowed=$(cat /proc/sys/net/ipv4/tcp_allowed_congestion_control)
	available=$(cat /proc/sys/net/ipv4/tcp_available_congestion_control)
	run --separate-stderr bare "$CLI" check --host -p 'tcp: TCP_CONGESTION=nosuchcc; tcp port=1: TCP_CONGESTION=reno'
	[ "$status" -eq 0 ]
	assert_eq "$stderr" "sockpolicy: SOCKPOLICY:1:6: warning: TCP_CONGESTION=nosuchcc is not in net.ipv4.tcp_available_congestion_control ($available): the kernel refuses it (ENOENT) unless its module loads; load it (modprobe tcp_nosuchcc)
sockpolicy: SOCKPOLICY:1:6: warning: TCP_CONGESTION=nosuchcc is not in net.ipv4.tcp_allowed_congestion_control ($allowed): the kernel refuses it (EPERM) to programs without CAP_NET_ADMIN; add it (sysctl -w net.ipv4.tcp_allowed_congestion_control='$allowed nosuchcc')"
	# capabilities: root holds them, nobody does not
	caps='SO_MARK=1; SO_SNDBUFFORCE=1M; IP_TRANSPARENT=1; SO_PRIORITY=3; SO_PRIORITY=7; SO_BINDTODEVICE=lo'
	run --separate-stderr bare "$CLI" check --host -p "$caps"
	[ "$status" -eq 0 ]
	assert_eq "$stderr" ""
	run --separate-stderr bare setpriv --reuid=nobody --regid=nogroup --clear-groups "$CLI" check --host -p "$caps"
	[ "$status" -eq 0 ]
	assert_eq "$stderr" "sockpolicy: SOCKPOLICY:1:1: warning: SO_MARK=1 needs CAP_NET_ADMIN, which you lack: the kernel refuses it (EPERM); run the program with it (AmbientCapabilities=CAP_NET_ADMIN in its systemd unit, or setcap)
sockpolicy: SOCKPOLICY:1:12: warning: SO_SNDBUFFORCE=1048576 needs CAP_NET_ADMIN, which you lack: the kernel refuses it (EPERM); run the program with it (AmbientCapabilities=CAP_NET_ADMIN in its systemd unit, or setcap)
sockpolicy: SOCKPOLICY:1:31: warning: IP_TRANSPARENT=1 needs CAP_NET_ADMIN, which you lack: the kernel refuses it (EPERM); run the program with it (AmbientCapabilities=CAP_NET_ADMIN in its systemd unit, or setcap)
sockpolicy: SOCKPOLICY:1:64: warning: SO_PRIORITY=7 needs CAP_NET_ADMIN for a priority outside 0..6, which you lack: the kernel refuses it (EPERM); run the program with it (AmbientCapabilities=CAP_NET_ADMIN in its systemd unit, or setcap)
sockpolicy: SOCKPOLICY:1:79: warning: SO_BINDTODEVICE=lo needs CAP_NET_RAW to move a socket already bound to a device, which you lack: the kernel refuses it (EPERM); run the program with it (AmbientCapabilities=CAP_NET_RAW in its systemd unit, or setcap)"
	# the warnings are right: as nobody, the kernel refuses SO_MARK
	run as_nobody "$PROBE" socket inet stream set socket SO_MARK 1
	assert_contains "$output" "set SO_MARK=1 -> rc=-1"
	# a clean policy: nothing to say, as nobody too
	run --separate-stderr bare setpriv --reuid=nobody --regid=nogroup --clear-groups "$CLI" check --host -p 'SO_RCVBUF=64K; tcp: TCP_NODELAY=1, TCP_CONGESTION=reno; SO_PRIORITY=6'
	[ "$status" -eq 0 ]
	assert_eq "$stderr" ""
}

@test "run and audit exit 125 for their own failures, apart from CMD's own 2; check and report keep 2" {
	run bare "$CLI" run -p 'SO_REUSEADR=1' -- sh -c 'exit 2'
	[ "$status" -eq 125 ]
	run bare "$CLI" run -- sh -c 'exit 2'
	[ "$status" -eq 2 ]
	run bare "$CLI" run --no-such-option -- true
	[ "$status" -eq 125 ]
	run bare "$CLI" audit -- sh -c 'exit 2'
	[ "$status" -eq 2 ]
	run bare "$CLI" audit --no-such-option -- true
	[ "$status" -eq 125 ]
	run bare "$CLI" audit -o /nonexistent/dir/log.json -- true
	[ "$status" -eq 125 ]
	run bare "$CLI" check -p 'SO_REUSEADR=1'
	[ "$status" -eq 2 ]
	run bare "$CLI" report missing.json
	[ "$status" -eq 2 ]
}

@test "audit: the shared log is open to other users only in an audit run by root" {
	# what the audited program is told to open: its mode and its directory's
	script='import os; p = os.environ["SOCKPOLICY_LOG"]; print("modes %o %o" % (os.stat(p).st_mode & 0o777, os.stat(os.path.dirname(p)).st_mode & 0o777))'
	run --separate-stderr bare "$CLI" audit -- "$PYTHON" -c "$script"
	[ "$status" -eq 0 ]
	assert_contains "$output" "modes 622 711"
	# nobody's audit cannot change users: nobody else may append to its log
	run --separate-stderr bare as_nobody env TMPDIR=/tmp "$CLI" audit -- "$NOBODY_PYTHON" -c "$script"
	[ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
	assert_contains "$output" "modes 600 700"
}
