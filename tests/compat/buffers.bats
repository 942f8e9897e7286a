#!/usr/bin/env bats
# Tuned buffers on real programs: the policy's SO_RCVBUF/SO_SNDBUF reach the
# sockets of socat, curl and nginx.  ss -tm reads them back from outside the
# process (skmem rb = sk_rcvbuf, tb = sk_sndbuf: the kernel doubles what
# setsockopt asked for), and the JSON log shows the injections.

load ../common
load compat

setup() {
	common_setup
	require socat socat
}

@test "socat server and client: both ends read back their own policy's buffers, and data flows" {
	head -c 3000000 /dev/urandom >data.bin
	bg env LD_PRELOAD="$LIB" SOCKPOLICY='tcp: SO_RCVBUF=100K, SO_SNDBUF=60K' \
		SOCKPOLICY_LOG="$PWD/server.json" SOCKPOLICY_LOG_FORMAT=json \
		socat -d -d -u TCP-LISTEN:0,bind=127.0.0.1 CREATE:received 2>server.err
	server=$BG_PID
	port=$(socat_port server.err)
	# the client sends the data, then holds the connection open until "go"
	bg env LD_PRELOAD="$LIB" SOCKPOLICY='tcp: SO_RCVBUF=80K, SO_SNDBUF=40K' \
		SOCKPOLICY_LOG="$PWD/client.json" SOCKPOLICY_LOG_FORMAT=json \
		socat -u SYSTEM:'cat data.bin; while [ ! -e go ]; do sleep 0.05; done' "TCP:127.0.0.1:$port" 2>client.err
	client=$BG_PID
	# the server's accepted socket inherits the listener's buffers
	assert_eq "$(skmem -t "sport = :$port")" "rb=204800 tb=122880"
	assert_eq "$(skmem -t "dport = :$port")" "rb=163840 tb=81920"
	touch go
	wait "$client"
	wait "$server"
	cmp data.bin received
	[ "$(logcount server.json prog=socat call=setsockopt opt=SO_RCVBUF value=102400 action=inject ret=0)" = 1 ]
	[ "$(logcount server.json prog=socat call=setsockopt opt=SO_SNDBUF value=61440 action=inject ret=0)" = 1 ]
	[ "$(logcount server.json prog=socat call=listen ret=0)" = 1 ]
	[ "$(logcount server.json prog=socat call=accept)" = 1 ]
	[ "$(logcount client.json prog=socat call=setsockopt opt=SO_RCVBUF value=81920 action=inject ret=0)" = 1 ]
	[ "$(logcount client.json prog=socat call=setsockopt opt=SO_SNDBUF value=40960 action=inject ret=0)" = 1 ]
	[ "$(logcount client.json prog=socat call=connect addr="127.0.0.1:$port")" -ge 1 ]
}

# slow_http LISTEN: a socat HTTP server on LISTEN (e.g. TCP-LISTEN:0,...)
# that answers only once the test has made the file "go".  Sets port.
slow_http() {
	cat >answer.sh <<-'EOF'
		while [ ! -e go ]; do sleep 0.05; done
		printf 'HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n'
	EOF
	bg socat -d -d "$1" SYSTEM:'sh answer.sh' 2>server.err
	port=$(socat_port server.err)
}

@test "curl: its connection reads back the policy's buffers; its own options pass untouched" {
	require curl curl
	slow_http TCP-LISTEN:0,bind=127.0.0.1
	bg env LD_PRELOAD="$LIB" SOCKPOLICY='tcp: SO_RCVBUF=100K, SO_SNDBUF=60K' \
		SOCKPOLICY_LOG="$PWD/log.json" SOCKPOLICY_LOG_FORMAT=json \
		curl -sS -o body "http://127.0.0.1:$port/"
	curl=$BG_PID
	assert_eq "$(skmem -t "dport = :$port")" "rb=204800 tb=122880"
	touch go
	wait "$curl"
	assert_eq "$(cat body)" hello
	fd=$($LOGQ values log.json fd call=connect prog=curl | head -n 1)
	[ "$(logcount log.json prog=curl fd="$fd" call=setsockopt opt=SO_RCVBUF value=102400 action=inject ret=0)" = 1 ]
	[ "$(logcount log.json prog=curl fd="$fd" call=setsockopt opt=SO_SNDBUF value=61440 action=inject ret=0)" = 1 ]
	# curl's own choices go through as it made them
	[ "$(logcount log.json prog=curl fd="$fd" call=setsockopt opt=TCP_NODELAY value=1 action=pass ret=0)" = 1 ]
	[ "$(logcount log.json prog=curl fd="$fd" call=setsockopt opt=SO_KEEPALIVE value=1 action=pass ret=0)" = 1 ]
	# the injections come at socket creation, before connect
	mapfile -t calls < <($LOGQ values log.json call fd="$fd" prog=curl)
	assert_eq "${calls[*]:0:3}" "socket setsockopt setsockopt"
}

@test "curl over IPv6: the inet6 rule applies and the inet one does not; a denied TCP_KEEPIDLE does not stop curl" {
	require curl curl
	slow_http TCP6-LISTEN:0,bind=[::1]
	bg env LD_PRELOAD="$LIB" SOCKPOLICY='inet6 tcp: SO_RCVBUF=100K; inet tcp: SO_RCVBUF=50K; deny TCP_KEEPIDLE' \
		SOCKPOLICY_LOG="$PWD/log.json" SOCKPOLICY_LOG_FORMAT=json \
		curl -sS -v -o body "http://[::1]:$port/" 2>curl.err
	curl=$BG_PID
	mem=$(skmem -t "dport = :$port")
	assert_eq "${mem% *}" rb=204800
	touch go
	wait "$curl"
	assert_eq "$(cat body)" hello
	# curl says so and goes on
	grep -q 'Failed to set TCP_KEEPIDLE' curl.err
	[ "$(logcount log.json prog=curl call=socket family=AF_INET6 protocol=IPPROTO_TCP)" = 1 ]
	[ "$(logcount log.json prog=curl call=setsockopt opt=SO_RCVBUF value=102400 action=inject)" = 1 ]
	[ "$(logcount log.json prog=curl call=setsockopt opt=SO_RCVBUF value=51200)" = 0 ]
	[ "$(logcount log.json prog=curl call=setsockopt opt=TCP_KEEPIDLE value=60 action=deny ret=-1 errno=EPERM)" = 1 ]
	[ "$(logcount log.json prog=curl call=connect addr="[::1]:$port")" = 1 ]
}

@test "socat UDP receiver: the udp rule's SO_RCVBUF reads back, the tcp rule's does not apply" {
	bg env LD_PRELOAD="$LIB" SOCKPOLICY='udp: SO_RCVBUF=100K; tcp: SO_RCVBUF=50K' \
		SOCKPOLICY_LOG="$PWD/log.json" SOCKPOLICY_LOG_FORMAT=json \
		socat -d -d -u UDP-RECV:0,bind=127.0.0.1 CREATE:received 2>server.err
	# socat does not report the port of a UDP-RECV: ss finds it by process
	local i
	for i in $(seq 1 200); do
		port=$(ss -Hunlp | sed -n "s/.*127\.0\.0\.1:\([0-9]*\) .*pid=$(pgrep -P "$BG_PID" socat || echo none),.*/\1/p")
		[ -n "$port" ] && break
		sleep 0.05
	done
	[ -n "$port" ]
	mem=$(skmem -ul "sport = :$port")
	assert_eq "${mem% *}" rb=204800
	echo datagram | socat -u STDIN "UDP-SENDTO:127.0.0.1:$port"
	wait_grep datagram received
	[ "$(logcount log.json prog=socat call=socket type=SOCK_DGRAM protocol=IPPROTO_UDP)" = 1 ]
	[ "$(logcount log.json prog=socat call=setsockopt opt=SO_RCVBUF value=102400 action=inject ret=0)" = 1 ]
	[ "$(logcount log.json prog=socat call=setsockopt opt=SO_RCVBUF value=51200)" = 0 ]
}

@test "nginx: 'min SO_RCVBUF=64K' raises its own 'listen rcvbuf=8k'; the listener reads back 64K" {
	require nginx nginx
	require curl curl
	port=$(free_port)
	nginx_conf "$port" "rcvbuf=8k"
	bg env LD_PRELOAD="$LIB" SOCKPOLICY='min SO_RCVBUF=64K' \
		SOCKPOLICY_LOG="$PWD/log.json" SOCKPOLICY_LOG_FORMAT=json \
		nginx -p "$PWD" -c "$PWD/nginx.conf" -e stderr 2>nginx.err
	nginx=$BG_PID
	wait_listen "$port"
	mem=$(skmem -tl "sport = :$port")
	assert_eq "${mem% *}" "rb=131072"
	[ "$(curl -sf "http://127.0.0.1:$port/")" = hello ]
	kill -QUIT "$(cat nginx.pid)"
	wait "$nginx"
	[ "$(logcount log.json prog=nginx call=setsockopt opt=SO_RCVBUF requested=8192 value=65536 action=clamp ret=0)" = 1 ]
	[ "$(logcount log.json prog=nginx call=setsockopt opt=SO_REUSEADDR value=1 action=pass)" = 1 ]
	[ "$(logcount log.json prog=nginx call=accept4)" -ge 1 ]
}

teardown() {
	# a daemonized nginx is no child of the test
	[ ! -s nginx.pid ] || kill -QUIT "$(cat nginx.pid)" 2>/dev/null || true
	compat_teardown
}

@test "nginx as a daemon with 2 workers: 'prog=nginx tcp at=accept' reaches the sockets the workers accept" {
	require nginx nginx
	require curl curl
	port=$(free_port)
	nginx_conf "$port" "" "user root; worker_processes 2;"
	env LD_PRELOAD="$LIB" SOCKPOLICY='prog=nginx tcp at=accept: SO_RCVBUF=100K' \
		SOCKPOLICY_LOG="$PWD/log.%p.json" SOCKPOLICY_LOG_FORMAT=json \
		nginx -p "$PWD" -c "$PWD/nginx.conf" -e stderr 3>&- 4>&- 2>nginx.err
	wait_listen "$port"
	# an idle connection, held open: nginx has accepted it and waits
	bg socat -u "TCP:127.0.0.1:$port" STDOUT
	client=$BG_PID
	# the kernel has the connection before a worker accepts it: wait for
	# the worker's injection before reading the socket back
	for i in $(seq 1 200); do
		cat log.*.json | grep -q '"opt":"SO_RCVBUF"' && break
		sleep 0.05
	done
	mem=$(skmem -t "sport = :$port")
	assert_eq "${mem% *}" rb=204800
	# (a graceful stop waits for a connection that never sent a request)
	kill "$client"
	wait "$client" || true
	# the listener, made by the first process, is left alone
	mem=$(skmem -tl "sport = :$port")
	[ "${mem% *}" != rb=204800 ]
	[ "$(curl -sf "http://127.0.0.1:$port/")" = hello ]
	kill -QUIT "$(cat nginx.pid)"
	for i in $(seq 1 100); do [ -e nginx.pid ] || break; sleep 0.1; done
	[ ! -e nginx.pid ]
	# one log per process: the one that bound (then daemonized), and the
	# workers, which accepted and got the injections
	cat log.*.json >all.json
	[ "$(logcount all.json call=bind addr="127.0.0.1:$port" ret=0)" = 1 ]
	[ "$(logcount all.json call=setsockopt opt=SO_RCVBUF value=102400 action=inject ret=0)" -ge 2 ]
	binder=$($LOGQ values all.json pid call=bind)
	[ "$(logcount "log.$binder.json" action=inject)" = 0 ]
	for pid in $($LOGQ values all.json pid call=accept4 | sort -u); do
		[ "$pid" != "$binder" ]
	done
	# one injection per accepted socket (a woken worker may find none: EAGAIN)
	accepted=$(($(logcount all.json call=accept4) - $(logcount all.json call=accept4 ret=-1)))
	[ "$accepted" = "$(logcount all.json call=setsockopt opt=SO_RCVBUF action=inject)" ]
}

@test "redis-server: 'force TCP_KEEPIDLE=42' overrides its own 300; the kernel's keepalive timer reads back at most 42 s" {
	require redis-server redis-server
	require redis-cli redis-tools
	port=$(free_port)
	bg env LD_PRELOAD="$LIB" SOCKPOLICY='force TCP_KEEPIDLE=42' \
		SOCKPOLICY_LOG="$PWD/log.json" SOCKPOLICY_LOG_FORMAT=json \
		redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
		--daemonize no --dir "$PWD" --logfile "$PWD/redis.log"
	server=$BG_PID
	wait_listen "$port"
	# an idle client: redis-cli waiting for messages on a channel
	bg redis-cli -p "$port" subscribe idle >sub.out
	wait_grep '"action":"force"' log.json
	secs=$(keepalive_timer -t state established "sport = :$port")
	[ "$secs" -le 42 ] && [ "$secs" -ge 30 ]
	[ "$(logcount log.json prog=redis-server call=setsockopt level=SOL_TCP opt=TCP_KEEPIDLE value=42 requested=300 action=force ret=0)" = 1 ]
	[ "$(logcount log.json prog=redis-server call=setsockopt opt=SO_KEEPALIVE value=1 action=pass)" = 1 ]
}
