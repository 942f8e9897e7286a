#!/usr/bin/env bats
# Issue 10, the shim and the program's memory (defects 1, 2, 11, 12, 14):
# a record uses only bytes it can read safely and never more than the call
# passed or the kernel returned; at=accept rules and the log see the peer
# the kernel knows whatever the program's buffer; a bad pointer gets EFAULT
# from the kernel, not SIGSEGV from the shim, also where seccomp refuses
# process_vm_readv; a cut value names the length the program passed.

load common

MEMPROBE=$HELPERS/memprobe

# memp ARGS...: memprobe under the shim, text log in log.txt, JSON in
# log.json (two runs), each within 30 s.
memp_text() {
	SOCKPOLICY_LOG=$PWD/log.txt preload_within 30 "$MEMPROBE" "$@"
}
memp_json() {
	SOCKPOLICY_LOG=$PWD/log.json SOCKPOLICY_LOG_FORMAT=json preload_within 30 "$MEMPROBE" "$@"
}

# Runs ARGS under a seccomp filter that refuses process_vm_readv (EPERM),
# the shim preloaded after the filter is in place.
under_seccomp() {
	timeout 30 "$MEMPROBE" seccomp env LD_PRELOAD="$LIB" "$@" 3>&- 4>&-
}

# SO_RXQ_OVFL, by number or by name (the log may know it)
RXQ='(40|SO_RXQ_OVFL)'

@test "setsockopt: a value that ends where a PROT_NONE page begins, optlen 64: no crash, its readable start and the length passed" {
	# the kernel reads the 4 bytes SO_RXQ_OVFL needs and succeeds; a read
	# of 64 bytes in place crashed the program
	run memp_text setguard 1 40 64
	[ "$status" -eq 0 ] || { echo "status $status: $output"; return 1; }
	assert_eq "$output" "setsockopt=0"
	grep -Eq "setsockopt\(3, SOL_SOCKET, $RXQ, 0x2a000000\.\.\.\(64 bytes\)\) = 0$" log.txt || { cat log.txt; return 1; }
	# an option of the table passed at a length not its own: the same
	run memp_json setguard 1 9 64
	[ "$status" -eq 0 ] || { echo "status $status: $output"; return 1; }
	assert_eq "$($LOGQ values log.json value call=setsockopt opt=SO_KEEPALIVE)" "0x2a000000...(64 bytes)"
	# and where the kernel refuses the call (a copy was made before too)
	rm -f log.txt
	run memp_text setguard 6 9999 64
	[ "$status" -eq 0 ]
	assert_eq "$output" "setsockopt=-1 ENOPROTOOPT"
	grep -q "0x2a000000\.\.\.(64 bytes)) = -1 ENOPROTOOPT" log.txt || { cat log.txt; return 1; }
}

@test "setsockopt: a readable value is logged as the bytes passed, no byte after them" {
	run memp_json setfill 64
	[ "$status" -eq 0 ]
	value=$($LOGQ values log.json value call=setsockopt)
	assert_eq "$value" "0x01000000$(printf 'ab%.0s' $(seq 60))"
}

@test "a cut value names the length the program passed (4,000), not how much was copied" {
	run memp_text setfill 4000
	[ "$status" -eq 0 ]
	# 128 bytes shown, then the length of the value
	grep -Eq "setsockopt\(3, SOL_SOCKET, $RXQ, 0x01000000(ab){124}\.\.\.\(4000 bytes\)\) = 0$" log.txt || {
		cat log.txt
		return 1
	}
	run memp_json setfill 4000
	[ "$status" -eq 0 ]
	assert_eq "$($LOGQ values log.json value call=setsockopt)" "0x01000000$(printf 'ab%.0s' $(seq 124))...(4000 bytes)"
}

@test "getsockopt: NETLINK_LIST_MEMBERSHIPS says it needs 8 bytes of a 4-byte buffer before a PROT_NONE page: no crash, 4 bytes logged" {
	run memp_json getnl
	[ "$status" -eq 0 ] || { echo "status $status: $output"; return 1; }
	# the kernel's answer is untouched: it needs 8
	assert_eq "$output" "getsockopt=0
len=8"
	# the group bit of RTNLGRP_LINK, from the 4 bytes the buffer holds
	assert_eq "$($LOGQ values log.json value call=getsockopt)" "1"
}

# accept_rule FAMILY MODE RULE ADDR-PATTERN [accept|accept4]: the rule acts on
# the accepted socket and the log shows its peer, however the program's
# buffer is.
accept_case() {
	local family=$1 mode=$2 rule=$3 pattern=$4 call=${5:-accept} port
	rm -f log.json
	SOCKPOLICY="$rule" run memp_json "$call" "$family" "$mode"
	[ "$status" -eq 0 ] || { echo "status $status: $output"; return 1; }
	assert_contains "$output" "keepalive=1"
	port=$(sed -n 's/^client-port=//p' <<<"$output")
	assert_eq "$($LOGQ values log.json addr call=$call)" "${pattern/PORT/$port}"
	[ "$(logcount log.json call=setsockopt action=inject opt=SO_KEEPALIVE)" = 1 ]
}

@test "at=accept daddr=: an IPv6 peer into a 16-byte struct sockaddr, or addrlen 0, still matches, and the log shows it" {
	rule='at=accept daddr=::1/128: SO_KEEPALIVE=1'
	accept_case v6 small "$rule" "[::1]:PORT"
	# the program still gets what the kernel gave it: the full length
	assert_contains "$output" "addrlen=28"
	accept_case v6 zero "$rule" "[::1]:PORT"
	accept_case v6 null "$rule" "[::1]:PORT"
	accept_case v6 full "$rule" "[::1]:PORT"
	accept_case v6 zero "$rule" "[::1]:PORT" accept4
}

@test "at=accept dport=: addrlen 0 for an IPv4 peer still matches; a range that excludes the peer's port does not" {
	accept_case v4 zero 'at=accept dport=1024-65535: SO_KEEPALIVE=1' "127.0.0.1:PORT"
	assert_contains "$output" "addrlen=16"
	accept_case v4 small 'at=accept daddr=127.0.0.0/8: SO_KEEPALIVE=1' "127.0.0.1:PORT" accept4
	SOCKPOLICY='at=accept dport=1-1023: SO_KEEPALIVE=1' run memp_json accept v4 zero
	[ "$status" -eq 0 ]
	assert_contains "$output" "keepalive=0"
}

@test "the test's seccomp filter refuses process_vm_readv" {
	run "$MEMPROBE" pvr
	assert_eq "$output" "pvr=ok"
	run "$MEMPROBE" seccomp "$MEMPROBE" pvr
	assert_eq "$output" "pvr=EPERM"
}

@test "process_vm_readv refused by seccomp: a bad pointer to bind, connect, setsockopt, getsockopt gets the kernel's answer" {
	for call in bind connect setsockopt getsockopt; do
		rm -f log.txt
		SOCKPOLICY_LOG=$PWD/log.txt run under_seccomp "$MEMPROBE" bad $call
		[ "$status" -eq 0 ] || { echo "$call: status $status: $output"; return 1; }
		assert_eq "$output" "$call=-1 EFAULT"
		grep -q "$call(3, .*= -1 EFAULT" log.txt || { cat log.txt; return 1; }
	done
	# the policy copies the address before the call: the same
	SOCKPOLICY='at=bind port=80: SO_KEEPALIVE=1; at=connect dport=80: SO_KEEPALIVE=1' run under_seccomp "$MEMPROBE" bad bind
	[ "$status" -eq 0 ]
	assert_eq "$output" "bind=-1 EFAULT"
	SOCKPOLICY='at=connect dport=80: SO_KEEPALIVE=1' run under_seccomp "$MEMPROBE" bad connect
	assert_eq "$output" "connect=-1 EFAULT"
}

@test "process_vm_readv refused by seccomp: accept with a bad length pointer gets the kernel's answer" {
	# ASan's own accept() reads the length before the call, in the helper
	[ -z "${SOCKPOLICY_TEST_SANITIZED:-}" ] || skip "the sanitizer's accept interceptor reads *addrlen itself"
	SOCKPOLICY_LOG=$PWD/log.txt run under_seccomp "$MEMPROBE" bad accept
	[ "$status" -eq 0 ] || { echo "accept: status $status: $output"; return 1; }
	assert_eq "$output" "accept=-1 EAGAIN"
	grep -q "accept(3, NULL) = -1 EAGAIN" log.txt || { cat log.txt; return 1; }
	SOCKPOLICY='at=accept dport=80: SO_KEEPALIVE=1' run under_seccomp "$MEMPROBE" bad accept
	[ "$status" -eq 0 ]
	assert_eq "$output" "accept=-1 EAGAIN"
}

@test "process_vm_readv refused: values are still copied right, up to the page the kernel refuses" {
	SOCKPOLICY_LOG=$PWD/log.txt run under_seccomp "$MEMPROBE" setguard 1 40 64
	[ "$status" -eq 0 ] || { echo "status $status: $output"; return 1; }
	grep -Eq "$RXQ, 0x2a000000\.\.\.\(64 bytes\)\) = 0$" log.txt || { cat log.txt; return 1; }
	SOCKPOLICY_LOG=$PWD/log.json SOCKPOLICY_LOG_FORMAT=json run under_seccomp "$MEMPROBE" setfill 4000
	assert_eq "$($LOGQ values log.json value call=setsockopt)" "0x01000000$(printf 'ab%.0s' $(seq 124))...(4000 bytes)"
	rm -f log.json
	SOCKPOLICY='at=accept daddr=::1/128: SO_KEEPALIVE=1' SOCKPOLICY_LOG=$PWD/log.json SOCKPOLICY_LOG_FORMAT=json \
		run under_seccomp "$MEMPROBE" accept v6 small
	assert_contains "$output" "keepalive=1"
	port=$(sed -n 's/^client-port=//p' <<<"$output")
	assert_eq "$($LOGQ values log.json addr call=accept)" "[::1]:$port"
}

@test "process_vm_readv refused: a program that takes the numbers of the shim's pipes gets no byte of ours in its file" {
	SOCKPOLICY_LOG=$PWD/log.txt run under_seccomp "$MEMPROBE" takeover "$PWD/own"
	[ "$status" -eq 0 ] || { echo "status $status: $output"; return 1; }
	assert_contains "$output" "first=-1 ENOPROTOOPT"
	assert_contains "$output" "second=-1 ENOPROTOOPT"
	assert_contains "$output" "file-size=0"
	# the shim's two pipe ends were among those taken
	taken=$(sed -n 's/^taken=//p' <<<"$output")
	[ "$taken" -ge 2 ]
	# both values copied: the second through a pipe made again
	[ "$(grep -c '9999, 0x01000000ed5e0000) = -1 ENOPROTOOPT' log.txt)" = 2 ] || { cat log.txt; return 1; }
}

@test "process_vm_readv refused: threads of a parent and its forked child each read their own bytes" {
	SOCKPOLICY_LOG=$PWD/log.json SOCKPOLICY_LOG_FORMAT=json run under_seccomp "$MEMPROBE" race 500 8
	[ "$status" -eq 0 ] || { echo "status $status: $output"; return 1; }
	assert_eq "$output" "race=done"
	# every value is 1 and the tid of the thread that passed it
	run "$PYTHON" - log.json <<'EOF'
import json, struct, sys
n = bad = 0
pids = set()
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["call"] != "setsockopt" or r["opt"] not in (40, "SO_RXQ_OVFL"):
        continue
    n += 1
    pids.add(r["pid"])
    if r["value"] != "0x01000000" + struct.pack("<i", r["tid"]).hex():
        bad += 1
print(n, bad, len(pids))
EOF
	# 500 in the parent before the fork, 500 x 8 threads in each process
	assert_eq "$output" "8500 0 2"
}
