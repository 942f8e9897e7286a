#!/usr/bin/env bats
# System-wide mode (SPEC §8, README "System-wide"): /etc/ld.so.preload names
# the library, /etc/sockpolicy.conf holds the policy.  Only ever inside a
# private mount namespace (unshare -m) where a copy of /etc is bound over
# /etc: the machine's own /etc is never written.

load common

READBACK='#include <stdio.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
int main(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), v = -1;
	socklen_t l = sizeof v;
	getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &l);
	printf("nodelay %d\n", v);
	return 0;
}'

setup() {
	common_setup
	[ "$(id -u)" = 0 ] || skip "needs root for unshare -m"
	# world-readable: the setuid test runs programs as nobody
	SW=$(mktemp -d /tmp/sockpolicy-sw.XXXXXX)
	chmod 755 "$SW"
	cp -a /etc "$SW/etc"
	cp "$LIB" "$SW/libsockpolicy.so"
	chmod 644 "$SW/libsockpolicy.so"
	echo "$READBACK" | gcc -x c - -o "$SW/readback"
}

teardown() {
	common_teardown
	[ -z "${SW:-}" ] || rm -rf "$SW"
}

# in_ns SCRIPT: runs SCRIPT (bash) with $SW/etc as /etc, in a private
# mount namespace that ends with it.
# A sanitized library (SANITIZE=1) loads in programs without ASan only with
# ASAN_OPTIONS=verify_asan_link_order=0 (Makefile): kept in the empty
# environments below as ENVI.
in_ns() {
	SW=$SW ENVI="env -i ${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS}" unshare -m bash -c 'mount --make-rprivate / && mount --bind "$SW/etc" /etc && '"$1" 3>&- 4>&-
}

@test "system-wide: every program gets /etc/sockpolicy.conf through /etc/ld.so.preload" {
	echo "$SW/libsockpolicy.so" >"$SW/etc/ld.so.preload"
	echo 'tcp: TCP_NODELAY=1' >"$SW/etc/sockpolicy.conf"
	run in_ns '$ENVI "$SW/readback"; $ENVI /bin/sh -c "\"$SW/readback\""'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'nodelay 1\nnodelay 1')" ]
	# the machine's own /etc is untouched
	[ ! -e /etc/ld.so.preload ] || ! grep -q "$SW" /etc/ld.so.preload || false
	run env -i "$SW/readback"
	[ "$output" = "nodelay 0" ]
}

@test "system-wide: a bad policy fails open: programs run unchanged and say why" {
	echo "$SW/libsockpolicy.so" >"$SW/etc/ld.so.preload"
	echo 'tcp: TCP_NODELAY=maybe' >"$SW/etc/sockpolicy.conf"
	run in_ns '$ENVI "$SW/readback"; echo "status $?"'
	echo "$output"
	[[ $output == *"nodelay 0"* ]]
	[[ $output == *"status 0"* ]]
	[[ $output == *"sockpolicy:"*"/etc/sockpolicy.conf:1:"* ]]
}

@test "system-wide: setuid programs get the system policy and ignore SOCKPOLICY" {
	[ -z "${SOCKPOLICY_TEST_SANITIZED:-}" ] ||
		skip "ASan reads no ASAN_OPTIONS in a setuid program, so it refuses to load after libc"
	echo "$SW/libsockpolicy.so" >"$SW/etc/ld.so.preload"
	echo 'tcp: TCP_NODELAY=1' >"$SW/etc/sockpolicy.conf"
	cp "$SW/readback" "$SW/readback-suid"
	chmod 4755 "$SW/readback-suid"
	run in_ns 'cd / && setpriv --reuid=65534 --regid=65534 --clear-groups env -i SOCKPOLICY="tcp: TCP_NODELAY=0" "$SW/readback-suid"
		setpriv --reuid=65534 --regid=65534 --clear-groups env -i SOCKPOLICY="tcp: TCP_NODELAY=0" "$SW/readback"'
	echo "$output"
	# secure execution: the environment's policy is not read, the system's is;
	# the same program without setuid takes the environment's
	[ "$output" = "$(printf 'nodelay 1\nnodelay 0')" ]
}

@test "system-wide: undo by emptying /etc/ld.so.preload; a broken library does not stop programs" {
	: >"$SW/etc/ld.so.preload"
	echo 'tcp: TCP_NODELAY=1' >"$SW/etc/sockpolicy.conf"
	run in_ns '$ENVI "$SW/readback"; grep -c libsockpolicy /proc/self/maps'
	[ "${lines[0]}" = "nodelay 0" ]
	[ "${lines[1]}" = 0 ]
	# a library that is gone (removed by hand): the loader says so and goes on
	echo "$SW/gone.so" >"$SW/etc/ld.so.preload"
	run in_ns '/bin/true && echo "true ran"'
	echo "$output"
	[[ $output == *"ld.so"*"gone.so"*"cannot be preloaded"* ]]
	[[ $output == *"true ran"* ]]
	# a truncated one (copied over in place) crashes every program that
	# starts, so recovery is from a shell that is already running, with a
	# builtin: ": >/etc/ld.so.preload" (README "System-wide")
	head -c 1000 "$LIB" >"$SW/broken.so"
	echo "$SW/broken.so" >"$SW/etc/ld.so.preload"
	run in_ns '/bin/true; echo "true: $?"; : >/etc/ld.so.preload; $ENVI "$SW/readback"'
	echo "$output"
	[[ ${lines[0]} != "true: 0" ]]
	[[ ${lines[-1]} == "nodelay 0" ]]
	[ ! -s "$SW/etc/ld.so.preload" ]
}

@test "system-wide: 64-bit and 32-bit programs each load their build through \$LIB in /etc/ld.so.preload" {
	printf 'int main(void){return 0;}\n' | gcc -m32 -x c - -o /dev/null 2>/dev/null ||
		skip "gcc -m32 cannot link (Debian: gcc-multilib)"
	[ -f "$SP_BUILD/i386/libsockpolicy.so" ] # make check builds it when gcc -m32 links
	echo "$READBACK" | gcc -m32 -x c - -o "$SW/readback32"
	# the loader expands $LIB for each program: lib/<multiarch> for the
	# native one, lib32 (gcc-multilib's loader) or lib/i386-linux-gnu for i386
	ma=$(gcc -print-multiarch)
	mkdir -p "$SW/lib/$ma" "$SW/lib32" "$SW/lib/i386-linux-gnu"
	cp "$SW/libsockpolicy.so" "$SW/lib/$ma/"
	cp "$SP_BUILD/i386/libsockpolicy.so" "$SW/lib32/"
	cp "$SP_BUILD/i386/libsockpolicy.so" "$SW/lib/i386-linux-gnu/"
	chmod -R a+rX "$SW/lib" "$SW/lib32"
	echo "$SW/\$LIB/libsockpolicy.so" >"$SW/etc/ld.so.preload"
	echo 'tcp: TCP_NODELAY=1' >"$SW/etc/sockpolicy.conf"
	run in_ns '$ENVI "$SW/readback"; $ENVI "$SW/readback32"'
	echo "$output"
	[ "$output" = "$(printf 'nodelay 1\nnodelay 1')" ]
}
