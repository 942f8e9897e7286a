#!/usr/bin/env bats
# One decision core, two backends (issue 11): the library and the seccomp
# supervisor execute the same policy/decide.h verdicts, so a socket's
# history (at=connect and at=listen once per socket) and the kernel
# refusal fallback come out the same under --via=preload and --via=seccomp.

load common

# A UDP socket connected twice, the program setting SO_SNDBUF itself in
# between: an at=connect rule acts at the first connect only, so the
# program's own 8K (16K as the kernel doubles it) is what is left.
@test "at=connect acts at a socket's first connect only, under both backends" {
	for via in preload seccomp; do
		run timeout 30 "$CLI" run --via=$via -p 'udp at=connect: SO_SNDBUF=64K' -- python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", 9))
first = s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
s.connect(("127.0.0.1", 9))
print(first, s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF))'
		echo "via=$via: $output"
		[ "$status" -eq 0 ]
		[ "$output" = "131072 16384" ]
	done
}

# A forced value the kernel refuses (SO_MARK without CAP_NET_ADMIN, as
# nobody) is logged as refused, and the program's own value goes through
# with its own result: the same records from both backends.
@test "a refused force falls back to the program's own set, logged alike by both backends" {
	local dir
	dir=$(mktemp -d /tmp/sockpolicy-decide.XXXXXX)
	chmod 1777 "$dir"
	for via in preload seccomp; do
		log=$dir/$via.log
		run timeout 30 setpriv --reuid=nobody --regid=nogroup --clear-groups \
			"$CLI" run --via=$via -p 'force SO_MARK=7' -l "$log" -- python3 -c '
import socket, errno
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, 3)
    print("set")
except OSError as e:
    print(errno.errorcode[e.errno])'
		echo "via=$via: $output"
		cat "$log"
		[ "$status" -eq 0 ]
		[ "$output" = "EPERM" ]
		grep -q 'SO_MARK, 3 -> 7) = -1 EPERM.*\[force\]' "$log"
		grep -q 'setsockopt(.*SO_MARK, 3) = -1 EPERM' "$log"
	done
	rm -rf "$dir"
}
