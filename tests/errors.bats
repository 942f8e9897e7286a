#!/usr/bin/env bats
# Bad input gets a clear, specific message and never a crash or a hang
# (SPEC §3 "Errors"); errno is exactly what the program's own call left.

load common

@test "a misspelt option: one message with a suggestion, the policy dropped, the program runs" {
	SOCKPOLICY='SO_KEEPALIVE=1; SO_REUSEADR=1' run preload "$PROBE" socket inet stream get socket SO_KEEPALIVE
	[ "$status" -eq 0 ]
	assert_eq "$output" "sockpolicy: SOCKPOLICY:1:17: unknown option 'SO_REUSEADR' (did you mean 'SO_REUSEADDR'?)
socket=3
SO_KEEPALIVE=0"
}

@test "the message names the file and line for a policy file; env rules follow the file" {
	printf 'SO_KEEPALIVE=1\n\ntcp: TCP_NODELAY=maybe\n' >bad.conf
	SOCKPOLICY_FILE=$PWD/bad.conf run preload "$PROBE" socket inet stream
	assert_contains "$output" "sockpolicy: $PWD/bad.conf:3:18: invalid boolean 'maybe' for TCP_NODELAY"
	printf 'SO_KEEPALIVE=1\n' >good.conf
	SOCKPOLICY_FILE=$PWD/good.conf SOCKPOLICY=$'SO_REUSEADDR=1\nIP_TOS=300' run preload "$PROBE" socket inet stream \
		get socket SO_KEEPALIVE
	assert_eq "$output" "sockpolicy: SOCKPOLICY:2:8: value '300' is out of range for IP_TOS (0..255)
socket=3
SO_KEEPALIVE=0"
}

@test "the error is reported once per process, not per call, and logging still works" {
	SOCKPOLICY='bogus' SOCKPOLICY_LOG=log.txt run preload "$PROBE" socket inet stream socket inet dgram \
		set socket SO_KEEPALIVE 1
	[ "$(echo "$output" | grep -c '^sockpolicy:')" = 1 ]
	[ "$(grep -c 'socket(' log.txt)" = 2 ]
	grep -q 'setsockopt(4, SOL_SOCKET, SO_KEEPALIVE, 1) = 0$' log.txt
}

@test "SOCKPOLICY_STRICT=1 ends the process at load with 78 (EX_CONFIG)" {
	SOCKPOLICY='SO_REUSEADDR=2' SOCKPOLICY_STRICT=1 run preload "$PROBE" socket inet stream
	[ "$status" -eq 78 ]
	assert_eq "$output" "sockpolicy: SOCKPOLICY:1:14: invalid boolean '2' for SO_REUSEADDR (use 1 0 on off true false yes no)"
	SOCKPOLICY='SO_REUSEADDR=1' SOCKPOLICY_STRICT=1 run preload "$PROBE" socket inet stream
	[ "$status" -eq 0 ]
	SOCKPOLICY_LOG=/nonexistent/dir/log SOCKPOLICY_STRICT=1 run preload "$PROBE" socket inet stream
	[ "$status" -eq 78 ]
	assert_contains "$output" "sockpolicy: SOCKPOLICY_LOG: cannot open log file '/nonexistent/dir/log': No such file or directory"
}

@test "a log that cannot be opened: a message, the policy still applies" {
	SOCKPOLICY='SO_KEEPALIVE=1' SOCKPOLICY_LOG=/nonexistent/dir/log run preload "$PROBE" socket inet stream \
		get socket SO_KEEPALIVE
	[ "$status" -eq 0 ]
	assert_contains "$output" "cannot open log file '/nonexistent/dir/log'"
	assert_contains "$output" "SO_KEEPALIVE=1"
}

@test "hostile values: 20-digit numbers, negative sizes, port=70000, port=9-1, an open quote" {
	while IFS='|' read -r policy message; do
		SOCKPOLICY=$policy run preload "$PROBE" socket inet stream
		[ "$status" -eq 0 ] || { echo "status $status for $policy"; return 1; }
		assert_contains "$output" "$message"
		assert_contains "$output" "socket=3"
	done <<'CASES'
SO_RCVBUF=99999999999999999999|SOCKPOLICY:1:11: value '99999999999999999999' is out of range for SO_RCVBUF (0..2147483647)
SO_SNDBUF=-4K|SOCKPOLICY:1:11: size '-4K' for SO_SNDBUF cannot be negative
tcp port=70000: SO_REUSEADDR=1|SOCKPOLICY:1:10: port '70000' is out of range (1..65535)
tcp port=9-1: SO_REUSEADDR=1|SOCKPOLICY:1:10: port range '9-1' runs backwards (write 1-9)
tcp: TCP_CONGESTION="bbr|SOCKPOLICY:1:21: unterminated string
IP_TTL=0x1FFFFFFFFFFFFFFFFFFFF|SOCKPOLICY:1:8: value '0x1FFFFFFFFFFFFFFFFFFFF' is out of range for IP_TTL (-1..255)
CASES
}

@test "20,000 rules load and apply; 1 MB of garbage is refused at once" {
	for i in $(seq 1 20000); do echo "tcp port=$((i % 65535 + 1)): SO_RCVBUF=$i"; done >big.conf
	echo "tcp: TCP_NODELAY=1" >>big.conf
	SOCKPOLICY_FILE=$PWD/big.conf run preload_within 20 "$PROBE" socket inet stream get tcp TCP_NODELAY
	[ "$status" -eq 0 ]
	assert_contains "$output" "TCP_NODELAY=1"
	head -c 1000000 /dev/urandom | tr -d '\0' >garbage.conf
	SOCKPOLICY_FILE=$PWD/garbage.conf run preload_within 20 "$PROBE" socket inet stream
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^sockpolicy:\ $PWD/garbage.conf:[0-9]+:[0-9]+:\  ]]
	[ "${lines[1]}" = "socket=3" ]
}

@test "random bytes in SOCKPOLICY never crash the program" {
	for i in $(seq 1 40); do
		policy=$(head -c 300 /dev/urandom | tr -d '\0')
		SOCKPOLICY=$policy run preload_within 10 "$PROBE" socket inet stream
		[ "$status" -eq 0 ] || { printf 'status %s for %q\n' "$status" "$policy"; return 1; }
		[ "${lines[-1]}" = "socket=3" ]
	done
}

@test "a policy file that is a FIFO, a directory, /dev/zero or too big is refused without hanging" {
	mkfifo fifo
	mkdir dir
	head -c $((4 * 1024 * 1024 + 1)) /dev/zero | tr '\0' '#' >huge.conf
	for f in "$PWD/fifo" "$PWD/dir" /dev/zero "$PWD/huge.conf" "$PWD/missing.conf"; do
		SOCKPOLICY_FILE=$f run preload_within 10 "$PROBE" socket inet stream
		[ "$status" -eq 0 ] || { echo "status $status for $f"; return 1; }
		[[ "${lines[0]}" =~ ^sockpolicy:\ $f:\  ]] || { echo "${lines[0]}"; return 1; }
		[ "${lines[1]}" = "socket=3" ]
	done
	SOCKPOLICY_FILE=$PWD/huge.conf run preload "$PROBE" socket inet stream
	assert_contains "$output" "policy file is larger than 4 MiB"
	SOCKPOLICY_FILE=$PWD/fifo SOCKPOLICY_STRICT=1 run preload_within 10 "$PROBE" socket inet stream
	[ "$status" -eq 78 ]
}

@test "errno: ENOTSOCK, EBADF and ENOPROTOOPT pass through exactly, under any policy" {
	for policy in '' 'force SO_KEEPALIVE=1; min SO_RCVBUF=1K' 'deny 6/99'; do
		SOCKPOLICY=$policy SOCKPOLICY_LOG=log.txt run preload "$PROBE" fd 0 set socket SO_KEEPALIVE 1 \
			fd 999 set socket SO_RCVBUF 100 get socket SO_RCVBUF \
			socket inet stream set socket 9999 1 get tcp 9998 </dev/null
		assert_contains "$output" "set SO_KEEPALIVE=1 -> rc=-1 ENOTSOCK"
		assert_contains "$output" "set SO_RCVBUF=100 -> rc=-1 EBADF"
		assert_contains "$output" "SO_RCVBUF=-1 EBADF"
		assert_contains "$output" "set 9999=1 -> rc=-1 ENOPROTOOPT"
		assert_contains "$output" "9998=-1 ENOPROTOOPT"
	done 3<&- 4<&-
}

@test "errno is untouched by a successful call, even when an injection failed" {
	SOCKPOLICY='tcp: TCP_CONGESTION=nosuchcc; SO_KEEPALIVE=1' SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json \
		run preload "$PROBE" errno-preset 4242 socket inet stream get socket SO_KEEPALIVE \
		set socket SO_RCVBUF 65536 bind 127.0.0.1 0 listen 1
	assert_eq "$output" "socket=3 errno-after=4242
SO_KEEPALIVE=1 errno-after=4242
set SO_RCVBUF=65536 -> rc=0 errno-after=4242
bind=0 errno-after=4242
listen=0 errno-after=4242"
	[ "$(logcount log.json action=inject opt=TCP_CONGESTION ret=-1 errno=ENOENT)" = 1 ]
}

@test "errno: a failed call keeps the kernel's errno when the policy acted before it" {
	SOCKPOLICY='tcp port=1-65535: SO_KEEPALIVE=1, TCP_CONGESTION=nosuchcc' SOCKPOLICY_LOG=log.json \
		SOCKPOLICY_LOG_FORMAT=json run preload "$PROBE" errno-preset 5 socket inet stream bind 203.0.113.9 80
	assert_contains "$output" "bind=-1 EADDRNOTAVAIL errno-after=99"
	# both injections happened first; one of them failed with its own errno
	[ "$(logcount log.json action=inject opt=SO_KEEPALIVE ret=0)" = 1 ]
	[ "$(logcount log.json action=inject opt=TCP_CONGESTION errno=ENOENT)" = 1 ]
}

@test "NULL and unmapped values give EFAULT, not a crash, with and without a policy" {
	for policy in '' 'min SO_RCVBUF=1K; force SO_SNDBUF=64K; ignore SO_KEEPALIVE'; do
		SOCKPOLICY=$policy SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json run preload "$PROBE" \
			socket inet stream setnull socket SO_RCVBUF 4 setbad socket SO_RCVBUF 4 setbad socket SO_PRIORITY 4
		[ "$status" -eq 0 ]
		assert_contains "$output" "setnull=-1 EFAULT"
		assert_contains "$output" "setbad=-1 EFAULT"
		[ "$($LOGQ count log.json call=setsockopt value=null)" -ge 2 ]
	done
}
