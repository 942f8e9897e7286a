#!/usr/bin/env bats
# Issue 10, the policy's own defects: min/max in each option's meaning
# (#6), v4-mapped CIDRs (#7), and prog= under secure execution (#13).
# Real sockets; the kernel's own reading of each value is read back.

load common

probe() { preload_within 20 "$PROBE" "$@"; }

teardown() {
	[ -z "${D:-}" ] || rm -rf "$D"
	common_teardown
}

# ---- #6: min and max in the option's own meaning ----

@test "max SO_RCVTIMEO: 0 (wait forever) is lowered to the max; min leaves forever alone" {
	SOCKPOLICY='max SO_RCVTIMEO=10' SOCKPOLICY_LOG=max.json SOCKPOLICY_LOG_FORMAT=json run probe \
		socket inet stream settv socket SO_RCVTIMEO 0 0 gettv socket SO_RCVTIMEO
	assert_eq "$(echo "$output" | sed -n 3p)" "SO_RCVTIMEO=10.000000"
	[ "$(logcount max.json action=clamp opt=SO_RCVTIMEO value=10 requested=0)" = 1 ]
	SOCKPOLICY='min SO_RCVTIMEO=5' SOCKPOLICY_LOG=min.json SOCKPOLICY_LOG_FORMAT=json run probe \
		socket inet stream settv socket SO_RCVTIMEO 0 0 gettv socket SO_RCVTIMEO \
		settv socket SO_RCVTIMEO 1 0 gettv socket SO_RCVTIMEO
	assert_eq "$(echo "$output" | sed -n 3p)" "SO_RCVTIMEO=0.000000"   # still forever
	assert_eq "$(echo "$output" | sed -n 5p)" "SO_RCVTIMEO=5.000000"   # 1 s raised
	[ "$(logcount min.json action=pass call=setsockopt opt=SO_RCVTIMEO value=0)" = 1 ]
	[ "$(logcount min.json action=clamp opt=SO_RCVTIMEO value=5 requested=1)" = 1 ]
}

@test "SO_SNDTIMEO with a negative tv_sec (no wait at all): min raises it, max leaves it" {
	SOCKPOLICY='min SO_SNDTIMEO=5' run probe socket inet stream settv socket SO_SNDTIMEO -1 0 \
		gettv socket SO_SNDTIMEO
	assert_eq "$(echo "$output" | sed -n 3p)" "SO_SNDTIMEO=5.000000"
	SOCKPOLICY='max SO_SNDTIMEO=5' SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json run probe \
		socket inet stream settv socket SO_SNDTIMEO -1 0
	assert_eq "$(echo "$output" | sed -n 2p)" "settv=0"
	[ "$(logcount log.json action=pass call=setsockopt opt=SO_SNDTIMEO)" = 1 ]
	[ "$(logcount log.json action=clamp)" = 0 ]
}

@test "max SO_SNDBUF: -1 (the largest buffer) is lowered to the max; min leaves -1 alone" {
	wmem_max=$(cat /proc/sys/net/core/wmem_max)
	SOCKPOLICY='max SO_SNDBUF=64K' run probe socket inet stream set socket SO_SNDBUF -1 get socket SO_SNDBUF
	assert_eq "$(echo "$output" | sed -n 3p)" "SO_SNDBUF=131072"   # 64K, doubled by the kernel
	SOCKPOLICY='min SO_SNDBUF=64K' SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json run probe \
		socket inet stream set socket SO_SNDBUF -1 get socket SO_SNDBUF
	assert_eq "$(echo "$output" | sed -n 3p)" "SO_SNDBUF=$((2 * wmem_max))"   # the largest, untouched
	[ "$(logcount log.json action=pass call=setsockopt opt=SO_SNDBUF value=-1)" = 1 ]
	[ "$(logcount log.json action=clamp)" = 0 ]
}

@test "max TCP_MAXSEG: 0 (no limit of the program's own) is lowered; SO_MARK -1 is the largest u32" {
	SOCKPOLICY='tcp: max TCP_MAXSEG=1200' run probe socket inet stream set tcp TCP_MAXSEG 0 get tcp TCP_MAXSEG
	assert_eq "$(echo "$output" | sed -n 3p)" "TCP_MAXSEG=1200"
	SOCKPOLICY='max SO_MARK=100' run probe socket inet stream set socket SO_MARK -1 get socket SO_MARK
	assert_eq "$(echo "$output" | sed -n 2,3p)" "set SO_MARK=-1 -> rc=0
SO_MARK=100"
}

@test "a value the kernel refuses is not clamped into one it takes: the program gets its own error" {
	SOCKPOLICY='tcp: min TCP_KEEPIDLE=60' SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json run probe \
		socket inet stream set tcp TCP_KEEPIDLE 0 set tcp TCP_KEEPIDLE 10 get tcp TCP_KEEPIDLE
	assert_eq "$(echo "$output" | sed -n 2,4p)" "set TCP_KEEPIDLE=0 -> rc=-1 EINVAL
set TCP_KEEPIDLE=10 -> rc=0
TCP_KEEPIDLE=60"
	[ "$(logcount log.json action=pass opt=TCP_KEEPIDLE ret=-1 errno=EINVAL value=0)" = 1 ]
	[ "$(logcount log.json action=clamp opt=TCP_KEEPIDLE value=60 requested=10)" = 1 ]
}

@test "a bound that means the system's default is refused with its position" {
	run "$CLI" check -p 'max IP_TTL=32; min IP_TTL=-1'
	[ "$status" -eq 2 ]
	assert_contains "$output" "SOCKPOLICY:1:27: min IP_TTL=-1 means the system's default"
	SOCKPOLICY='max IP_TTL=-1' SOCKPOLICY_STRICT=1 run probe socket inet stream
	[ "$status" -eq 78 ]
	assert_contains "$output" "max IP_TTL=-1 means the system's default"
}

# ---- #7: v4-mapped CIDRs ----

# dual PEER...: a dual-stack listener on [::]:ephemeral; for each PEER
# (4:ADDR for an AF_INET client, 6:ADDR for an AF_INET6 one) a client
# connects and prints its SO_KEEPALIVE after connect().
dual() {
	cat >dual.py <<'EOF'
import socket, sys
srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
srv.bind(("::", 0))
srv.listen(8)
port = srv.getsockname()[1]
for peer in sys.argv[1:]:
    fam, addr = peer.split(":", 1)
    c = socket.socket(socket.AF_INET if fam == "4" else socket.AF_INET6, socket.SOCK_STREAM)
    c.settimeout(10)
    c.connect((addr, port))
    print(f"{addr} SO_KEEPALIVE={c.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)}")
    srv.accept()[0].close()
    c.close()
EOF
	preload_within 30 "$PYTHON" dual.py "$@"
}

@test "daddr=::ffff:127.0.0.1/128 (as the log prints a dual-stack peer) matches that peer" {
	# the form is taken from the log itself
	SOCKPOLICY_LOG=log.json SOCKPOLICY_LOG_FORMAT=json run dual 6:::ffff:127.0.0.1
	[ "$status" -eq 0 ]
	peer=$($LOGQ values log.json addr call=connect | head -1)
	[[ "$peer" == '[::ffff:127.0.0.1]:'* ]]
	mapped=${peer%]:*}
	mapped=${mapped#[}
	SOCKPOLICY="daddr=$mapped/128: SO_KEEPALIVE=1" run dual "6:$mapped" 6:::1 4:127.0.0.1 6:::ffff:127.0.0.2
	[ "$status" -eq 0 ]
	assert_eq "$output" "::ffff:127.0.0.1 SO_KEEPALIVE=1
::1 SO_KEEPALIVE=0
127.0.0.1 SO_KEEPALIVE=1
::ffff:127.0.0.2 SO_KEEPALIVE=0"
}

@test "a v4-mapped CIDR is checked as the IPv4 CIDR it maps; a plain v4 CIDR still matches mapped peers" {
	run "$CLI" check -p 'daddr=::ffff:127.0.0.0/104: SO_KEEPALIVE=1'
	[ "$status" -eq 0 ]
	assert_eq "$output" "daddr=127.0.0.0/8: set SO_KEEPALIVE=1"
	SOCKPOLICY='daddr=::ffff:127.0.0.0/104: SO_KEEPALIVE=1' run dual 6:::ffff:127.0.0.5 4:127.0.0.1 6:::1
	assert_eq "$output" "::ffff:127.0.0.5 SO_KEEPALIVE=1
127.0.0.1 SO_KEEPALIVE=1
::1 SO_KEEPALIVE=0"
	SOCKPOLICY='daddr=127.0.0.1/32: SO_KEEPALIVE=1' run dual 6:::ffff:127.0.0.1
	assert_eq "$output" "::ffff:127.0.0.1 SO_KEEPALIVE=1"
}

# ---- #13: prog= under secure execution ----

NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

# secure_setup: a setuid-root markprobe named "realname" and a plain copy,
# where nobody can reach them (not under the test's 0700 directory).
secure_setup() {
	[ "$(id -u)" = 0 ] || skip "needs root: a setuid-root program run by nobody"
	D=$(mktemp -d /tmp/sockpolicy-prog.XXXXXX)
	chmod 755 "$D"
	cp "$HELPERS/markprobe" "$D/realname"
	cp "$HELPERS/markprobe" "$D/plain"
	chmod 4755 "$D/realname"
	cp "$LIB" "$D/libsockpolicy.so"
	mkdir "$D/up" "$D/work"
	run "${NOBODY[@]}" "$D/realname"
	[[ "$output" == "secure=1 "* ]] ||
		skip "setuid does not raise privileges here (nosuid mount or no_new_privs): $output"
}

# in_private_etc [--no-proc] CMD...: CMD as nobody, in a mount namespace
# whose /etc has ld.so.preload naming the test build and sockpolicy.conf
# holding the policy in $POLICY; the machine's /etc is never touched.
in_private_etc() {
	local noproc=0
	[ "$1" != --no-proc ] || { noproc=1; shift; }
	printf '%s\n' "$POLICY" >"$D/policy"
	timeout 30 unshare -m --propagation private sh -c '
		D=$1 noproc=$2; shift 2
		mount -t overlay overlay -o lowerdir=/etc,upperdir="$D/up",workdir="$D/work" /etc || exit 9
		echo "$D/libsockpolicy.so" >/etc/ld.so.preload
		cp "$D/policy" /etc/sockpolicy.conf
		[ "$noproc" = 0 ] || mount -t tmpfs -o ro none /proc || exit 9
		exec "$@"' _ "$D" "$noproc" "${NOBODY[@]}" "$@" 3>&- 4>&-
}

@test "setuid under exec -a: prog= goes by the executable, not argv[0]; a plain program keeps argv[0]" {
	secure_setup
	POLICY='prog=trusted: SO_MARK=66, SO_KEEPALIVE=1
prog=realname: SO_PRIORITY=5'
	run in_private_etc bash -c 'exec -a trusted "$1"' _ "$D/realname"
	# argv[0] says trusted; the rules for trusted do not apply, its own name's do
	assert_eq "$output" "secure=1 argv0=trusted
SO_MARK=0 SO_PRIORITY=5 SO_KEEPALIVE=0"
	# a program that is not setuid keeps going by argv[0], as before
	run in_private_etc bash -c 'exec -a trusted "$1"' _ "$D/plain"
	assert_eq "$output" "secure=0 argv0=trusted
SO_MARK=0 SO_PRIORITY=0 SO_KEEPALIVE=1"
}

@test "setuid without /proc: the name is unknown, only prog=* matches" {
	[ -z "${SOCKPOLICY_TEST_SANITIZED:-}" ] ||
		skip "ASan reads ASAN_OPTIONS from /proc/self/environ: without /proc it refuses the preload order"
	secure_setup
	POLICY='prog=trusted: SO_MARK=66; prog=realname: SO_KEEPALIVE=1; prog=*: SO_PRIORITY=4'
	run in_private_etc --no-proc bash -c 'exec -a trusted "$1"' _ "$D/realname"
	assert_eq "$output" "secure=1 argv0=trusted
SO_MARK=0 SO_PRIORITY=4 SO_KEEPALIVE=0"
}

@test "apply to a running setuid process goes by its executable's name, as the library does" {
	secure_setup
	# started by nobody as 'trusted'; it waits with its socket open
	"${NOBODY[@]}" bash -c 'exec -a trusted "$1" wait' _ "$D/realname" >"$D/out" 3>&- 4>&- &
	pid=$!
	wait_for_file "$D/out"
	run "$CLI" apply --dry-run -p 'prog=trusted: SO_KEEPALIVE=1' "$pid"
	[ "$status" -eq 0 ]
	assert_not_contains "$output" "would set SO_KEEPALIVE"
	assert_contains "$output" "$pid (realname): would set 0 options"
	run "$CLI" apply --dry-run -p 'prog=realname: SO_KEEPALIVE=1' "$pid"
	[ "$status" -eq 0 ]
	assert_contains "$output" "$pid realname fd 3: would set SO_KEEPALIVE=1 (now 0) [set]"
	kill "$pid"
}
