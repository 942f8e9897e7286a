#!/usr/bin/env bats
# sockpolicy systemd (SPEC §5, §8): the drop-in's Environment= lines, read
# back by systemd's own quoting rules (tests/systemd_unit.py, and
# systemd-analyze verify), give the service exactly the policy given.

load common

UNITPY="$SP_ROOT/tests/systemd_unit.py"

# envof FILE NAME: the value systemd gives NAME from FILE's Environment=.
envof() {
	"$PYTHON" "$UNITPY" "$1" | "$PYTHON" -c 'import json,sys; sys.stdout.write(json.load(sys.stdin)[sys.argv[1]])' "$2"
}

@test "systemd: nasty policies reach the service byte for byte" {
	# quotes of both kinds, ;, %, specifier-looking text, backslashes, a tab,
	# UTF-8, and several -p joined by newlines
	p1='prog="a b": TCP_NODELAY=1; udp: SO_RCVBUF=4M # 50% of "x" \n \\ %n %%'
	p2=$'tcp port=80:\tSO_KEEPALIVE=1  ; # it\'s café, \\"quoted\\"'
	p3='ip: deny SO_MARK  # trailing \'
	run "$CLI" systemd web -p "$p1" -p "$p2" -p "$p3"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >dropin.conf
	grep -qx '\[Service\]' dropin.conf
	envof dropin.conf SOCKPOLICY >got
	printf '%s\n%s\n%s' "$p1" "$p2" "$p3" >want
	cmp got want
	envof dropin.conf LD_PRELOAD >lib
	[ "$(cat lib)" = "$(readlink -f "$LIB")" ] || [ "$(cat lib)" = "$(readlink -f "$(dirname "$CLI")")/libsockpolicy.so" ]
}

@test "systemd: the oracle parser refuses what systemd would change" {
	# so that the round trip above would catch a missing %% or escape
	printf '[Service]\nEnvironment="SOCKPOLICY=50%%n"\n' >bad1.conf
	run "$PYTHON" "$UNITPY" bad1.conf
	[ "$status" -ne 0 ]
	printf '[Service]\nEnvironment="SOCKPOLICY=a\\qb"\n' >bad2.conf
	run "$PYTHON" "$UNITPY" bad2.conf
	[ "$status" -ne 0 ]
	printf '[Service]\nEnvironment="SOCKPOLICY=a\\\\b \\"c\\" 5%%%%"\n' >good.conf
	run envof good.conf SOCKPOLICY
	[ "$output" = 'a\b "c" 5%' ]
}

@test "systemd: systemd-analyze verify reads the drop-in without a complaint" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed (Debian: systemd)"
	mkdir -p units/web.service.d
	printf '[Unit]\nDescription=web\n[Service]\nExecStart=/bin/true\n' >units/web.service
	# first a drop-in systemd must complain about: verify does read drop-ins
	printf '[Service]\nEnvironment="SOCKPOLICY=50%%Z"\n' >units/web.service.d/sockpolicy.conf
	run systemd-analyze verify units/web.service
	[[ $output == *sockpolicy.conf* ]]
	"$CLI" systemd web -p 'tcp: TCP_NODELAY=1 # 100% "on"' -p 'udp: SO_RCVBUF=1M # \x \\ '"'"'q'"'"'' \
		-l '/var/log/sp.%p.log' --json >units/web.service.d/sockpolicy.conf
	run systemd-analyze verify units/web.service
	echo "$output"
	[[ $output != *sockpolicy.conf* ]]
}

@test "systemd: the service gets the policy (environment systemd would build, then the library)" {
	run "$CLI" systemd web -p 'tcp: TCP_NODELAY=1' -p 'tcp: SO_RCVBUF=100000' -l stderr
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >dropin.conf
	"$PYTHON" "$UNITPY" dropin.conf >env.json
	run "$PYTHON" -c '
import json, os, sys
env = dict(os.environ, **json.load(open("env.json")))
os.execve(sys.executable, [sys.executable, "-c", """
import socket
s = socket.socket()
print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
"""], env)'
	[ "$status" -eq 0 ]
	[[ ${lines[-1]} == "1 200000" ]]
	[[ $output == *"TCP_NODELAY, 1) = 0 [inject]"* ]]
}

@test "systemd: an LD_PRELOAD the unit already has is kept, the unit's drop-ins read in order" {
	mkdir -p root/usr/lib/systemd/system/web.service.d root/etc/systemd/system/web.service.d
	printf '[Service]\nExecStart=/bin/true\nEnvironment="LD_PRELOAD=/opt/a.so" OTHER=1\n' \
		>root/usr/lib/systemd/system/web.service
	# a later drop-in overrides the unit; ours is not read (it is replaced)
	printf '[Service]\nEnvironment=LD_PRELOAD=/opt/libasan.so.8:/opt/b%%%%.so\n' \
		>root/usr/lib/systemd/system/web.service.d/50-preload.conf
	printf '[Service]\nEnvironment="LD_PRELOAD=/wrong.so"\n' \
		>root/etc/systemd/system/web.service.d/sockpolicy.conf
	run "$CLI" systemd web --root root -p 'tcp: TCP_NODELAY=1'
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >dropin.conf
	lib=$(envof dropin.conf LD_PRELOAD | tr ':' '\n' | sed -n 2p)
	[ "$(envof dropin.conf LD_PRELOAD)" = "/opt/libasan.so.8:$lib:/opt/b%.so" ]
	[[ $lib == */libsockpolicy.so ]]

	# an empty Environment= clears what came before
	printf '[Service]\nEnvironment=\n' >root/usr/lib/systemd/system/web.service.d/60-clear.conf
	"$CLI" systemd web --root root >dropin2.conf
	[ "$(envof dropin2.conf LD_PRELOAD)" = "$lib" ]
}

@test "systemd: --apply writes the drop-in under --root, --remove deletes it; both say daemon-reload" {
	mkdir root
	"$CLI" systemd web.service -p 'tcp: TCP_NODELAY=1' >printed.conf
	run "$CLI" systemd web.service -p 'tcp: TCP_NODELAY=1' --apply --root root
	[ "$status" -eq 0 ]
	[[ $output == *"daemon-reload"* ]]
	f=root/etc/systemd/system/web.service.d/sockpolicy.conf
	cmp printed.conf "$f"
	[ "$(stat -c %a "$f")" = 644 ]
	# applied twice: the same file, not a second LD_PRELOAD entry
	"$CLI" systemd web.service -p 'tcp: TCP_NODELAY=1' --apply --root root 2>/dev/null
	cmp printed.conf "$f"
	run "$CLI" systemd web --remove --root root
	[ "$status" -eq 0 ]
	[[ $output == *"daemon-reload"* ]]
	[ ! -e "$f" ]
	[ ! -e root/etc/systemd/system/web.service.d ]
	run "$CLI" systemd web --remove --root root
	[ "$status" -eq 0 ]
	[[ $output == *"nothing to remove"* ]]
}

@test "systemd: a bad policy or bad usage exits 125 and writes nothing" {
	mkdir root
	run "$CLI" systemd web -p 'tcp: TCP_NODELAY=yes please' --apply --root root
	[ "$status" -eq 125 ]
	[[ $output == *"SOCKPOLICY:1:"* ]]
	[ -z "$(find root -type f)" ]
	run "$CLI" systemd -p 'tcp: TCP_NODELAY=1'
	[ "$status" -eq 125 ]
	[[ $output == *"no unit"* ]]
	run "$CLI" systemd web.socket -p 'tcp: TCP_NODELAY=1'
	[ "$status" -eq 125 ]
	[[ $output == *"not a service"* ]]
	run "$CLI" systemd 'web/../x' -p 'tcp: TCP_NODELAY=1'
	[ "$status" -eq 125 ]
	run "$CLI" systemd web --apply --remove
	[ "$status" -eq 125 ]
	run "$CLI" systemd web --bogus
	[ "$status" -eq 125 ]
	run "$CLI" systemd web -p "$(printf 'tcp: SO_MARK=1 # \xff')"
	[ "$status" -eq 125 ]
	[[ $output == *"UTF-8"* ]]
}

@test "systemd: -f and a relative log path are made absolute; the file is checked" {
	printf 'tcp: TCP_NODELAY=1\n' >pol.conf
	run "$CLI" systemd 'app@1' -f pol.conf -l 'logs/sp.%p.json' --json
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >dropin.conf
	[ "$(envof dropin.conf SOCKPOLICY_FILE)" = "$PWD/pol.conf" ]
	[ "$(envof dropin.conf SOCKPOLICY_LOG)" = "$PWD/logs/sp.%p.json" ]
	[ "$(envof dropin.conf SOCKPOLICY_LOG_FORMAT)" = json ]
	[[ $output == *"app@1.service"* ]]
	printf 'tcp: NO_SUCH_OPTION=1\n' >bad.conf
	run "$CLI" systemd app -f bad.conf
	[ "$status" -eq 125 ]
	[[ $output == *"bad.conf:1:"* ]]
}
