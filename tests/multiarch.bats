#!/usr/bin/env bats
# make multiarch (SPEC §8): the library built for i386 and for musl, and
# `sockpolicy run` picking the build that matches CMD's ELF class and C
# library.  `make check` builds both when the toolchains are there
# (gcc-multilib, musl-tools: .ci/run installs them).

load common

# the program: reads back what the policy set on a fresh TCP socket
READBACK='#include <stdio.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
int main(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), nodelay = -1, rcvbuf = -1;
	socklen_t l = sizeof nodelay;
	getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &nodelay, &l);
	l = sizeof rcvbuf;
	getsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &l);
	printf("read %d %d\n", nodelay, rcvbuf);
	return 0;
}'

have_m32() { printf 'int main(void){return 0;}\n' | gcc -m32 -x c - -o /dev/null 2>/dev/null; }
have_musl() { command -v musl-gcc >/dev/null; }

need_i386() {
	have_m32 || skip "gcc -m32 cannot link (Debian: gcc-multilib)"
	[ -f "$SP_BUILD/i386/libsockpolicy.so" ] # make check builds it when gcc -m32 links
	echo "$READBACK" | gcc -m32 -x c - -o prog32
}
need_musl() {
	have_musl || skip "musl-gcc is not installed (Debian: musl-tools)"
	[ -f "$SP_BUILD/musl/libsockpolicy.so" ]
	echo "$READBACK" | musl-gcc -x c - -o progmusl
}

POLICY=(-p 'tcp: TCP_NODELAY=1' -p 'tcp: SO_RCVBUF=100000')

@test "multiarch: a dynamic 32-bit program reads back its policy under sockpolicy run" {
	need_i386
	readelf -h prog32 | grep -q 'Class: *ELF32'
	readelf -l prog32 | grep -q 'interpreter: /lib/ld-linux.so.2'
	bare ./prog32 | grep -qx 'read 0 [0-9]*'
	run "$CLI" run "${POLICY[@]}" -l stderr -- ./prog32
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"read 1 200000"* ]]
	[[ $output == *"prog32: setsockopt("*", SOL_TCP, TCP_NODELAY, 1) = 0 [inject]"* ]]
	[[ $output != *"wrong ELF class"* ]]
	run "$CLI" run "${POLICY[@]}" --print-env -- ./prog32
	[[ $output == *"/i386/libsockpolicy.so"* ]]
	[[ $output != *"supervisor"* ]]
}

@test "multiarch: a dynamic musl program reads back its policy under sockpolicy run" {
	need_musl
	readelf -l progmusl | grep -q 'interpreter: /lib/ld-musl'
	run "$CLI" run "${POLICY[@]}" -l stderr -- ./progmusl
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"read 1 200000"* ]]
	[[ $output == *"progmusl: setsockopt("*", SOL_TCP, TCP_NODELAY, 1) = 0 [inject]"* ]]
	[[ $output != *"supervisor"* ]]
	[[ $output != *"Error relocating"* ]]
}

@test "multiarch: a script is judged by its interpreter; a 64-bit glibc program keeps the native library" {
	need_i386
	printf '#!%s\n' "$PWD/prog32" >script
	chmod +x script
	run "$CLI" run "${POLICY[@]}" -- ./script
	[[ $output == *"read 1 200000"* ]]
	run "$CLI" run "${POLICY[@]}" --print-env -- "$PYTHON"
	[[ $output == *"LD_PRELOAD='$(readlink -f "$SP_BUILD")/libsockpolicy.so'"* ]]
}

# a command installed without the other builds (as plain `make install`)
native_only() {
	mkdir -p inst/bin inst/lib/sockpolicy
	cp "$CLI" inst/bin/sockpolicy
	cp "$LIB" inst/lib/sockpolicy/libsockpolicy.so
}

@test "multiarch: without a musl build, a musl program goes to the supervisor; --via=preload refuses" {
	need_musl
	native_only
	run inst/bin/sockpolicy run "${POLICY[@]}" -- ./progmusl
	echo "$output"
	# before: the glibc library went into LD_PRELOAD, musl's loader failed on
	# it and the program never ran (127)
	[ "$status" -eq 0 ]
	[[ $output == *"'./progmusl' is a musl program without a musl build of the library: running it under the seccomp supervisor"* ]]
	[[ $output == *"read 1 200000"* ]]
	[[ $output != *"Error relocating"* ]]
	run inst/bin/sockpolicy run --via=preload "${POLICY[@]}" -- ./progmusl
	[ "$status" -eq 125 ]
	[[ $output == *"the library cannot reach it"* ]]
}

@test "multiarch: without a 32-bit build, a 32-bit program goes to the supervisor; --via=preload refuses" {
	need_i386
	native_only
	run inst/bin/sockpolicy run "${POLICY[@]}" -- ./prog32
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"'./prog32' is a 32-bit program without a 32-bit build of the library: running it under the seccomp supervisor"* ]]
	[[ $output == *"read 1 200000"* ]]
	[[ $output != *"wrong ELF class"* ]]
	run inst/bin/sockpolicy run --via=preload "${POLICY[@]}" -- ./prog32
	[ "$status" -eq 125 ]
}

@test "multiarch: the installed layout (PKGLIBDIR/i386, PKGLIBDIR/musl) is found" {
	need_i386
	need_musl
	native_only
	mkdir inst/lib/sockpolicy/i386 inst/lib/sockpolicy/musl
	cp "$SP_BUILD/i386/libsockpolicy.so" inst/lib/sockpolicy/i386/
	cp "$SP_BUILD/musl/libsockpolicy.so" inst/lib/sockpolicy/musl/
	run inst/bin/sockpolicy run "${POLICY[@]}" -- ./prog32
	[[ $output == *"read 1 200000"* ]]
	run inst/bin/sockpolicy run "${POLICY[@]}" -- ./progmusl
	[[ $output == *"read 1 200000"* ]]
	run inst/bin/sockpolicy run "${POLICY[@]}" --print-env -- ./progmusl
	[[ $output == *"inst/lib/sockpolicy/musl/libsockpolicy.so'"* ]]
}

@test "multiarch: sockpolicy systemd preloads the build that matches the service's ExecStart" {
	need_i386
	need_musl
	mkdir -p root/etc/systemd/system/c.service.d root/opt
	cp prog32 progmusl root/opt/
	printf '[Service]\nExecStart=-/opt/prog32 --flag\n' >root/etc/systemd/system/a.service
	printf '[Service]\nExecStart=/opt/progmusl\n' >root/etc/systemd/system/b.service
	printf '[Service]\nExecStart=/opt/prog32\n' >root/etc/systemd/system/c.service
	# a drop-in that replaces the program
	printf '[Service]\nExecStart=\nExecStart=@/opt/progmusl progmusl\n' >root/etc/systemd/system/c.service.d/10-exec.conf
	run "$CLI" systemd a --root root -p 'tcp: TCP_NODELAY=1'
	[[ $output == *'Environment="LD_PRELOAD='*'/i386/libsockpolicy.so"'* ]]
	run "$CLI" systemd b --root root -p 'tcp: TCP_NODELAY=1'
	[[ $output == *'Environment="LD_PRELOAD='*'/musl/libsockpolicy.so"'* ]]
	run "$CLI" systemd c --root root -p 'tcp: TCP_NODELAY=1'
	[[ $output == *'Environment="LD_PRELOAD='*'/musl/libsockpolicy.so"'* ]]
	# without a musl build the native library would stop the service: refused
	native_only
	run inst/bin/sockpolicy systemd b --root root -p 'tcp: TCP_NODELAY=1' --apply
	echo "$output"
	[ "$status" -eq 125 ]
	[[ $output == *"would stop b.service from starting"* ]]
	[ ! -e root/etc/systemd/system/b.service.d ]
}
