#!/usr/bin/env bats
# Issue 4, secure execution (SPEC §2): a setuid program started by an
# unprivileged user runs with AT_SECURE.  glibc then ignores LD_PRELOAD
# entries with a slash; /etc/ld.so.preload still loads the shim, and the
# shim reads nothing from the environment there (secure_getenv): no policy,
# no policy file, no log path, no strict mode -- /etc/sockpolicy.conf only.
#
# The tests need root (to make a setuid-root copy and to switch to nobody)
# and a mount namespace for a private /etc; the real /etc is never touched.

load common

NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

# as nobody, with bats's descriptors 3 and 4 closed
as_nobody() {
	"${NOBODY[@]}" "$@" 3>&- 4>&-
}

setup() {
	common_setup || return 1
	[ "$(id -u)" = 0 ] || skip "needs root: a setuid-root program run by nobody"
	# nobody must reach the files: not under the test's 0700 directory
	D=$(mktemp -d /tmp/sockpolicy-secure.XXXXXX)
	chmod 755 "$D"
	cp "$HELPERS/secureprobe" "$D/suid"
	cp "$HELPERS/secureprobe" "$D/plain"
	chmod 4755 "$D/suid"
	cp "$LIB" "$D/libsockpolicy.so"
	mkdir "$D/out" "$D/up" "$D/work"
	chmod 777 "$D/out"
	# a root-only file: if the shim ever read it as root, the parse error
	# would quote it on the unprivileged user's terminal
	echo 'SECRET_TOKEN_123=1' >"$D/secret"
	chmod 600 "$D/secret"
	run "${NOBODY[@]}" "$D/suid"
	[[ "$output" == "secure=1 ruid=65534 euid=0"* ]] ||
		skip "setuid does not raise privileges here (nosuid mount or no_new_privs): $output"
}

teardown() {
	rm -rf "$D"
	! declare -F common_teardown >/dev/null || common_teardown
}


@test "a setuid program and LD_PRELOAD with a slash: glibc does not load the shim; the same program not setuid does" {
	run as_nobody env LD_PRELOAD="$D/libsockpolicy.so" SOCKPOLICY='SO_KEEPALIVE=1' \
		SOCKPOLICY_LOG="$D/out/suid.txt" "$D/suid"
	[ "$status" -eq 0 ]
	assert_eq "$output" "secure=1 ruid=65534 euid=0
SO_KEEPALIVE=0 SO_REUSEADDR=0"
	[ ! -e "$D/out/suid.txt" ]
	run as_nobody env LD_PRELOAD="$D/libsockpolicy.so" SOCKPOLICY='SO_KEEPALIVE=1' \
		SOCKPOLICY_LOG="$D/out/plain.txt" "$D/plain"
	assert_eq "$output" "secure=0 ruid=65534 euid=65534
SO_KEEPALIVE=1 SO_REUSEADDR=0"
	grep -q 'plain: socket(AF_INET, SOCK_STREAM, 0) = 3' "$D/out/plain.txt"
}

@test "/etc/ld.so.preload loads the shim into a setuid program: only /etc/sockpolicy.conf applies, nothing from the environment" {
	run timeout 30 unshare -m sh -c '
		D=$1; shift
		mount -t overlay overlay -o lowerdir=/etc,upperdir="$D/up",workdir="$D/work" /etc || exit 9
		echo "$D/libsockpolicy.so" >/etc/ld.so.preload
		echo "SO_REUSEADDR=1" >/etc/sockpolicy.conf
		for prog in suid plain; do
			"$@" env SOCKPOLICY="SO_KEEPALIVE=1" SOCKPOLICY_FILE="$D/secret" SOCKPOLICY_LOG="$D/out/$prog.log" \
				SOCKPOLICY_STRICT=1 "$D/$prog" 2>&1
			echo "status=$?"
			"$@" env SOCKPOLICY_LOG=stderr "$D/$prog" 2>&1
		done' _ "$D" "${NOBODY[@]}" 3>&- 4>&-
	# setuid: the system policy applies (SO_REUSEADDR), the environment's does
	# not; the secret is not read, no log is opened, strict mode is not on;
	# stderr as the log is not taken either
	assert_eq "$(echo "$output" | sed -n 1,5p)" "secure=1 ruid=65534 euid=0
SO_KEEPALIVE=0 SO_REUSEADDR=1
status=0
secure=1 ruid=65534 euid=0
SO_KEEPALIVE=0 SO_REUSEADDR=1"
	assert_not_contains "$output" "SECRET_TOKEN"
	[ ! -e "$D/out/suid.log" ]
	# the same program without the setuid bit, as nobody: the environment is
	# honoured -- its policy file is unreadable to nobody, and strict mode stops it
	assert_contains "$output" "sockpolicy: $D/secret: cannot open policy file: Permission denied
status=78"
	assert_contains "$output" "plain: setsockopt(3, SOL_SOCKET, SO_REUSEADDR, 1) = 0 [inject]"
	[ "$(echo "$output" | grep -c 'suid: ')" = 0 ]
}

@test "in a setuid program the shim never opens a log path, fd:N or syslog given by the environment" {
	for dest in "$D/out/pwned.log" fd:2 stderr syslog; do
		run timeout 30 unshare -m sh -c '
			D=$1; shift
			mount -t overlay overlay -o lowerdir=/etc,upperdir="$D/up",workdir="$D/work" /etc || exit 9
			echo "$D/libsockpolicy.so" >/etc/ld.so.preload
			"$@"' _ "$D" "${NOBODY[@]}" env SOCKPOLICY_LOG="$dest" SOCKPOLICY_LOG_FORMAT=json "$D/suid" 3>&- 4>&-
		[ "$status" -eq 0 ]
		assert_eq "$output" "secure=1 ruid=65534 euid=0
SO_KEEPALIVE=0 SO_REUSEADDR=0"
	done
	[ -z "$(ls -A "$D/out")" ]
}
