#!/usr/bin/env bats
# What a policy does to sockets (SPEC §3), read back from the kernel with
# getsockopt by the program itself, and seen in the log.

load common

probe() { preload "$PROBE" "$@"; }

@test "options are injected at creation and read back by the program" {
	SOCKPOLICY='SO_REUSEADDR=1; SO_KEEPALIVE=on; tcp: TCP_NODELAY=1' run probe socket inet stream \
		get socket SO_REUSEADDR get socket SO_KEEPALIVE get tcp TCP_NODELAY
	assert_eq "$output" "socket=3
SO_REUSEADDR=1
SO_KEEPALIVE=1
TCP_NODELAY=1"
}

@test "udp: rules leave TCP sockets alone (and TCP_* never reaches UDP)" {
	SOCKPOLICY='udp: SO_RCVBUF=1M; tcp: TCP_NODELAY=1' SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json \
		run probe socket inet stream get socket SO_RCVBUF socket inet dgram get socket SO_RCVBUF
	[ "$status" -eq 0 ]
	tcp_buf=$(echo "$output" | sed -n 2p)
	udp_buf=$(echo "$output" | sed -n 4p)
	[ "$udp_buf" = "SO_RCVBUF=2097152" ]   # the kernel doubles what it is given
	[ "$tcp_buf" != "SO_RCVBUF=2097152" ]
	[ "$(logcount log.json action=inject fd=3 opt=SO_RCVBUF)" = 0 ]
	[ "$(logcount log.json action=inject fd=4 opt=TCP_NODELAY)" = 0 ]
	[ "$(logcount log.json action=inject fd=4 opt=SO_RCVBUF value=1048576 ret=0)" = 1 ]
}

@test "IP_* only on inet, IPV6_* only on inet6, nothing on unix without a unix selector" {
	SOCKPOLICY='IP_TOS=0x10; IPV6_TCLASS=32; SO_SNDBUF=64K' SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json \
		run probe socket inet stream get ip IP_TOS socket inet6 stream get ipv6 IPV6_TCLASS \
		socket unix stream get socket SO_SNDBUF
	[ "$status" -eq 0 ]
	assert_contains "$output" "IP_TOS=16"
	assert_contains "$output" "IPV6_TCLASS=32"
	[ "$(logcount log.json action=inject fd=3)" = 2 ]    # IP_TOS, SO_SNDBUF
	[ "$(logcount log.json action=inject fd=4)" = 2 ]    # IPV6_TCLASS, SO_SNDBUF
	[ "$(logcount log.json action=inject fd=5)" = 0 ]    # unix: untouched
	[ "$(logcount log.json action=inject opt=IP_TOS)" = 1 ]
	[ "$(logcount log.json action=inject opt=IPV6_TCLASS)" = 1 ]
}

@test "a unix selector reaches unix sockets, by type" {
	SOCKPOLICY='unix stream: SO_SNDBUF=64K; unix dgram: SO_PASSCRED=1' run probe \
		socket unix stream get socket SO_SNDBUF get socket SO_PASSCRED \
		socket unix dgram get socket SO_PASSCRED
	assert_contains "$output" "SO_SNDBUF=131072"
	[ "$(echo "$output" | sed -n 3p)" = "SO_PASSCRED=0" ]
	[ "$(echo "$output" | sed -n 5p)" = "SO_PASSCRED=1" ]
}

@test "force rewrites the program's own setsockopt, and the log shows both values" {
	SOCKPOLICY='force SO_SNDBUF=1M' SOCKPOLICY_LOG=log.txt run probe socket inet stream \
		set socket SO_SNDBUF 4096 get socket SO_SNDBUF
	assert_contains "$output" "set SO_SNDBUF=4096 -> rc=0"
	assert_contains "$output" "SO_SNDBUF=2097152"
	# and what the socket got, as the program's own getsockopt reads it
	grep -q "setsockopt(3, SOL_SOCKET, SO_SNDBUF, 4096 -> 1048576) = 0 (effective 2097152) \[force\]" log.txt
}

@test "ignore: the program's setsockopt returns 0 and never reaches the kernel" {
	SOCKPOLICY='ignore SO_KEEPALIVE' SOCKPOLICY_LOG=log.txt run probe socket inet stream \
		set socket SO_KEEPALIVE 1 get socket SO_KEEPALIVE
	assert_contains "$output" "set SO_KEEPALIVE=1 -> rc=0"
	assert_contains "$output" "SO_KEEPALIVE=0"
	grep -q "setsockopt(3, SOL_SOCKET, SO_KEEPALIVE, 1) = 0 \[ignore\]" log.txt
}

@test "deny: the program's setsockopt fails with EPERM" {
	SOCKPOLICY='deny SO_BROADCAST' SOCKPOLICY_LOG=log.txt run probe socket inet dgram \
		set socket SO_BROADCAST 1 get socket SO_BROADCAST
	assert_contains "$output" "set SO_BROADCAST=1 -> rc=-1 EPERM"
	assert_contains "$output" "SO_BROADCAST=0"
	grep -q "setsockopt(3, SOL_SOCKET, SO_BROADCAST, 1) = -1 EPERM (Operation not permitted) \[deny\]" log.txt
}

@test "min and max clamp the program's value; values in range pass untouched" {
	SOCKPOLICY='min SO_RCVBUF=64K; max SO_RCVBUF=1M' SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json \
		run probe socket inet stream set socket SO_RCVBUF 1024 get socket SO_RCVBUF \
		set socket SO_RCVBUF 8388608 get socket SO_RCVBUF set socket SO_RCVBUF 200000 get socket SO_RCVBUF
	[ "$(echo "$output" | sed -n 3p)" = "SO_RCVBUF=131072" ]
	[ "$(echo "$output" | sed -n 5p)" = "SO_RCVBUF=2097152" ]
	[ "$(echo "$output" | sed -n 7p)" = "SO_RCVBUF=400000" ]
	[ "$(logcount log.json action=clamp requested=1024 value=65536)" = 1 ]
	[ "$(logcount log.json action=clamp requested=8388608 value=1048576)" = 1 ]
	[ "$(logcount log.json action=pass call=setsockopt value=200000)" = 1 ]
	[ "$(logcount log.json action=inject)" = 0 ]   # min and max inject nothing
}

@test "max on a timeout clamps the program's struct timeval" {
	SOCKPOLICY='max SO_RCVTIMEO=1.5' run probe socket inet stream settv socket SO_RCVTIMEO 30 0 \
		gettv socket SO_RCVTIMEO
	assert_contains "$output" "SO_RCVTIMEO=1.500000"
}

@test "a force the kernel refuses is logged, and the program's own value goes through" {
	SOCKPOLICY='force IP_TTL=0' SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json run probe \
		socket inet stream set ip IP_TTL 9 get ip IP_TTL
	assert_contains "$output" "set IP_TTL=9 -> rc=0"
	assert_contains "$output" "IP_TTL=9"
	[ "$(logcount log.json action=force ret=-1 errno=EINVAL value=0 requested=9)" = 1 ]
	[ "$(logcount log.json action=pass call=setsockopt ret=0 value=9)" = 1 ]
}

@test "a clamped value the kernel refuses is logged, and the program's own value goes through" {
	SOCKPOLICY='tcp: max TCP_MAXSEG=10' SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json run probe \
		socket inet stream set tcp TCP_MAXSEG 1200 get tcp TCP_MAXSEG
	assert_contains "$output" "set TCP_MAXSEG=1200 -> rc=0"
	assert_contains "$output" "TCP_MAXSEG=1200"
	[ "$(logcount log.json action=clamp ret=-1 errno=EINVAL value=10 requested=1200)" = 1 ]
	[ "$(logcount log.json action=pass call=setsockopt ret=0 value=1200)" = 1 ]
}

@test "port= acts just before bind() on that port only" {
	port=$("$PROBE" socket inet stream bind 127.0.0.1 0 port | sed -n 's/port=//p')
	SOCKPOLICY="tcp port=$port: SO_KEEPALIVE=1" SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json run probe \
		socket inet stream get socket SO_KEEPALIVE bind 127.0.0.1 "$port" get socket SO_KEEPALIVE \
		socket inet stream bind 127.0.0.1 0 get socket SO_KEEPALIVE
	[ "$(echo "$output" | sed -n 2p)" = "SO_KEEPALIVE=0" ]   # not at creation
	[ "$(echo "$output" | sed -n 4p)" = "SO_KEEPALIVE=1" ]   # after bind to the port
	[ "$(echo "$output" | sed -n 7p)" = "SO_KEEPALIVE=0" ]   # another port
	[ "$(logcount log.json action=inject opt=SO_KEEPALIVE fd=3)" = 1 ]
}

@test "dport= acts just before connect() to that port; the program's other sockets are untouched" {
	"$PYTHON" -c '
import socket,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(8)
print(s.getsockname()[1], flush=True); time.sleep(5)' >port &
srv=$!
wait_for_file port
port=$(cat port)
	SOCKPOLICY="tcp dport=$port: TCP_USER_TIMEOUT=5000; tcp dport=1-1023: TCP_USER_TIMEOUT=1" run probe \
		socket inet stream connect 127.0.0.1 "$port" get tcp TCP_USER_TIMEOUT \
		socket inet stream get tcp TCP_USER_TIMEOUT
	kill "$srv"
	assert_contains "$output" "connect=0"
	[ "$(echo "$output" | sed -n 3p)" = "TCP_USER_TIMEOUT=5000" ]
	[ "$(echo "$output" | sed -n 5p)" = "TCP_USER_TIMEOUT=0" ]
}

@test "prog= matches the program's short name" {
	SOCKPOLICY='prog=sockprobe: SO_KEEPALIVE=1; prog=nginx: SO_REUSEADDR=1' run probe socket inet stream \
		get socket SO_KEEPALIVE get socket SO_REUSEADDR
	assert_contains "$output" "SO_KEEPALIVE=1"
	assert_contains "$output" "SO_REUSEADDR=0"
	SOCKPOLICY='prog=python*: SO_KEEPALIVE=1; !prog=python*: SO_REUSEADDR=1' run preload "$PYTHON" -c '
import socket; s=socket.socket()
print(s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE), s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR))'
	assert_eq "$output" "1 0"
}

@test "every value form reaches the kernel as its type" {
	SOCKPOLICY='SO_KEEPALIVE=yes; SO_REUSEADDR=true; SO_OOBINLINE=on; IP_TOS=0x28; SO_RCVBUF=64K;
		SO_SNDBUF=1M; SO_RCVTIMEO=2.5; SO_SNDTIMEO=500ms; SO_LINGER=7; tcp: TCP_CONGESTION=reno;
		tcp: 6/3=1; IPPROTO_TCP/4=42' run probe socket inet stream \
		get socket SO_KEEPALIVE get socket SO_REUSEADDR get socket SO_OOBINLINE get ip IP_TOS \
		get socket SO_RCVBUF get socket SO_SNDBUF gettv socket SO_RCVTIMEO gettv socket SO_SNDTIMEO \
		getlinger getstr tcp TCP_CONGESTION get tcp TCP_CORK get tcp TCP_KEEPIDLE
	assert_eq "$output" "socket=3
SO_KEEPALIVE=1
SO_REUSEADDR=1
SO_OOBINLINE=1
IP_TOS=40
SO_RCVBUF=131072
SO_SNDBUF=2097152
SO_RCVTIMEO=2.500000
SO_SNDTIMEO=0.500000
SO_LINGER=1,7
TCP_CONGESTION=reno
TCP_CORK=1
TCP_KEEPIDLE=42"
}

@test "linger off, a quoted string and boolean words off/no/false" {
	SOCKPOLICY='SO_LINGER=off; SO_KEEPALIVE=no; SO_REUSEADDR=false; SO_OOBINLINE=off;
		tcp: TCP_CONGESTION="cubic"' run probe socket inet stream setlinger 1 5 getlinger \
		get socket SO_KEEPALIVE getstr tcp TCP_CONGESTION
	# the program's own setlinger still goes through afterwards: set acts only at creation
	assert_contains "$output" "SO_LINGER=1,5"
	assert_contains "$output" "SO_KEEPALIVE=0"
	assert_contains "$output" "TCP_CONGESTION=cubic"
	SOCKPOLICY='SO_LINGER=off' run probe socket inet stream getlinger
	assert_contains "$output" "SO_LINGER=0,0"
}

@test "a policy file is read, and SOCKPOLICY's rules come after it (last wins)" {
	printf '# tuned buffers\nSO_RCVBUF=64K\nSO_KEEPALIVE=1\n' >policy.conf
	SOCKPOLICY_FILE=$PWD/policy.conf run probe socket inet stream get socket SO_RCVBUF get socket SO_KEEPALIVE
	assert_contains "$output" "SO_RCVBUF=131072"
	assert_contains "$output" "SO_KEEPALIVE=1"
	SOCKPOLICY_FILE=policy.conf SOCKPOLICY='SO_RCVBUF=128K' run probe socket inet stream get socket SO_RCVBUF \
		get socket SO_KEEPALIVE
	assert_contains "$output" "SO_RCVBUF=262144"
	assert_contains "$output" "SO_KEEPALIVE=1"
}

@test "the last rule for an option wins" {
	SOCKPOLICY='SO_RCVBUF=16K; tcp: SO_RCVBUF=32K; SO_RCVBUF=48K' run probe socket inet stream get socket SO_RCVBUF \
		socket inet dgram get socket SO_RCVBUF
	[ "$(echo "$output" | sed -n 2p)" = "SO_RCVBUF=98304" ]
	[ "$(echo "$output" | sed -n 4p)" = "SO_RCVBUF=98304" ]
	SOCKPOLICY='SO_RCVBUF=48K; tcp: SO_RCVBUF=32K' run probe socket inet stream get socket SO_RCVBUF \
		socket inet dgram get socket SO_RCVBUF
	[ "$(echo "$output" | sed -n 2p)" = "SO_RCVBUF=65536" ]
	[ "$(echo "$output" | sed -n 4p)" = "SO_RCVBUF=98304" ]
}

@test "default fills the gap before first use, and the program's own choice wins" {
	SOCKPOLICY='default SO_KEEPALIVE=1; default SO_RCVBUF=64K' SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json \
		run probe socket inet stream get socket SO_KEEPALIVE set socket SO_RCVBUF 8192 \
		bind 127.0.0.1 0 get socket SO_KEEPALIVE get socket SO_RCVBUF
	[ "$(echo "$output" | sed -n 2p)" = "SO_KEEPALIVE=0" ]   # nothing at creation
	[ "$(echo "$output" | sed -n 5p)" = "SO_KEEPALIVE=1" ]   # filled in at bind
	[ "$(echo "$output" | sed -n 6p)" = "SO_RCVBUF=16384" ]  # the program's 8192 stays
	[ "$(logcount log.json action=inject opt=SO_RCVBUF)" = 0 ]
}

@test "at=accept acts on each accepted socket, at=listen on the listener" {
	SOCKPOLICY='tcp at=accept: TCP_NODELAY=1; tcp at=listen: TCP_DEFER_ACCEPT=3' run probe \
		socket inet stream bind 127.0.0.1 0 get tcp TCP_DEFER_ACCEPT listen 4 get tcp TCP_DEFER_ACCEPT port
	assert_contains "$(echo "$output" | sed -n 3p)" "TCP_DEFER_ACCEPT=0"
	[[ "$(echo "$output" | sed -n 5p)" =~ TCP_DEFER_ACCEPT=[1-9] ]]
	cat >acc.py <<'PY'
import socket, threading
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
c = socket.create_connection(s.getsockname())
a, _ = s.accept()
print(a.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), c.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
PY
	SOCKPOLICY='tcp at=accept: TCP_NODELAY=1' run preload "$PYTHON" acc.py
	assert_eq "$output" "1 0"
}

@test "addr= and daddr= match the addresses of bind and connect" {
	SOCKPOLICY='addr=127.0.0.0/8: SO_KEEPALIVE=1; inet6 addr=::1/128: SO_KEEPALIVE=1; daddr=10.0.0.0/8: SO_MARK=1' \
		run probe socket inet stream bind 127.0.0.2 0 get socket SO_KEEPALIVE socket inet stream bind 0.0.0.0 0 \
		get socket SO_KEEPALIVE socket inet6 stream bind ::1 0 get socket SO_KEEPALIVE
	[ "$(echo "$output" | sed -n 3p)" = "SO_KEEPALIVE=1" ]
	[ "$(echo "$output" | sed -n 6p)" = "SO_KEEPALIVE=0" ]
	[ "$(echo "$output" | sed -n 9p)" = "SO_KEEPALIVE=1" ]
}

@test "path= matches a unix socket's path at bind and at connect" {
	SOCKPOLICY="unix path=$PWD/*.sock: SO_SNDBUF=64K; unix path=@abs*: SO_PASSCRED=1" run probe \
		socket unix stream bindunix "$PWD/a.sock" get socket SO_SNDBUF listen 1 \
		socket unix stream connectunix "$PWD/a.sock" get socket SO_SNDBUF \
		socket unix dgram bindunix @abstract1 get socket SO_PASSCRED \
		socket unix stream bindunix "$PWD/other" get socket SO_SNDBUF
	[ "$(echo "$output" | sed -n 3p)" = "SO_SNDBUF=131072" ]
	[ "$(echo "$output" | sed -n 7p)" = "SO_SNDBUF=212992" ] || [ "$(echo "$output" | sed -n 7p)" != "SO_SNDBUF=131072" ]
	[ "$(echo "$output" | sed -n 10p)" = "SO_PASSCRED=1" ]
	[ "$(echo "$output" | sed -n 13p)" != "SO_SNDBUF=131072" ]
}

@test "with no policy the shim injects nothing and the program sees the kernel's defaults" {
	run bare "$PROBE" socket inet stream get socket SO_RCVBUF get socket SO_KEEPALIVE get tcp TCP_NODELAY
	without=$output
	run probe socket inet stream get socket SO_RCVBUF get socket SO_KEEPALIVE get tcp TCP_NODELAY
	assert_eq "$output" "$without"
}

@test "/etc/sockpolicy.conf applies when neither SOCKPOLICY nor SOCKPOLICY_FILE is set" {
	mkdir -p up work
	run unshare -m sh -c "mount -t overlay overlay -o lowerdir=/etc,upperdir=$PWD/up,workdir=$PWD/work /etc &&
		echo 'SO_KEEPALIVE=1' >/etc/sockpolicy.conf &&
		LD_PRELOAD='$LIB' '$PROBE' socket inet stream get socket SO_KEEPALIVE 3>&- 4>&- &&
		SOCKPOLICY= LD_PRELOAD='$LIB' '$PROBE' socket inet stream get socket SO_KEEPALIVE 3>&- 4>&- &&
		echo 'SO_KEEPALIV=1' >/etc/sockpolicy.conf &&
		LD_PRELOAD='$LIB' '$PROBE' socket inet stream get socket SO_KEEPALIVE 3>&- 4>&-"
	assert_eq "$output" "socket=3
SO_KEEPALIVE=1
socket=3
SO_KEEPALIVE=0
sockpolicy: /etc/sockpolicy.conf:1:1: unknown option 'SO_KEEPALIV' (did you mean 'SO_KEEPALIVE'?)
socket=3
SO_KEEPALIVE=0"
}
