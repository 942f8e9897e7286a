#!/usr/bin/env bats
# Runtimes: each reaches libc its own way (CPython's socketmodule, Perl's
# pp_sys, Node's libuv, the JVM's libnio).  Under the policy, each program
# reads the option back through its own socket API, and its calls are in
# the log.  Go is the honest "no": its net package makes raw system calls,
# so even a Go binary that links libc and loads the shim is never reached.

load ../common
load compat

POLICY='tcp: SO_RCVBUF=100K, TCP_NODELAY=1; udp: SO_RCVBUF=100K, SO_SNDBUF=60K'

# runtime LOG CMD...: CMD under POLICY with a JSON log in LOG.
runtime() {
	env LD_PRELOAD="$LIB" SOCKPOLICY="$POLICY" SOCKPOLICY_LOG="$PWD/$1" SOCKPOLICY_LOG_FORMAT=json \
		"${@:2}" 3>&- 4>&-
}

@test "python3: a listener, a client and an accepted socket read back the policy" {
	cat >probe.py <<-'PY'
		import socket
		srv = socket.socket()
		srv.bind(("127.0.0.1", 0))
		srv.listen(1)
		cli = socket.create_connection(srv.getsockname())
		acc, _ = srv.accept()
		for s in (srv, cli, acc):
		    print(s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF),
		          s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
	PY
	run runtime log.json "$PYTHON" probe.py
	[ "$status" -eq 0 ]
	# the kernel doubles SO_RCVBUF; the accepted socket inherits both
	assert_eq "$output" "204800 1
204800 1
204800 1"
	[ "$(logcount log.json prog=python3 call=setsockopt opt=SO_RCVBUF value=102400 action=inject ret=0)" = 2 ]
	[ "$(logcount log.json prog=python3 call=setsockopt opt=TCP_NODELAY value=1 action=inject ret=0)" = 2 ]
	[ "$(logcount log.json prog=python3 call=getsockopt opt=SO_RCVBUF value=204800)" = 3 ]
	[ "$(logcount log.json prog=python3 call=connect ret=0)" = 1 ]
	[ "$(logcount log.json prog=python3 call=accept4)" = 1 ]
}

@test "perl: IO::Socket::INET sockets read back the policy" {
	require perl perl
	cat >probe.pl <<-'PL'
		use strict;
		use IO::Socket::INET;
		use Socket qw(SOL_SOCKET SO_RCVBUF IPPROTO_TCP TCP_NODELAY);
		my $srv = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)
		    or die "listen: $!";
		my $cli = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $srv->sockport)
		    or die "connect: $!";
		my $acc = $srv->accept or die "accept: $!";
		for my $s ($srv, $cli, $acc) {
		    print unpack('i', getsockopt($s, SOL_SOCKET, SO_RCVBUF)), ' ',
		          unpack('i', getsockopt($s, IPPROTO_TCP, TCP_NODELAY)), "\n";
		}
	PL
	run runtime log.json perl probe.pl
	[ "$status" -eq 0 ]
	assert_eq "$output" "204800 1
204800 1
204800 1"
	[ "$(logcount log.json prog=perl call=setsockopt opt=SO_RCVBUF value=102400 action=inject ret=0)" = 2 ]
	[ "$(logcount log.json prog=perl call=setsockopt opt=TCP_NODELAY value=1 action=inject ret=0)" = 2 ]
	[ "$(logcount log.json prog=perl call=getsockopt opt=SO_RCVBUF value=204800)" = 3 ]
	[ "$(logcount log.json prog=perl call=listen ret=0)" = 1 ]
	lfd=$($LOGQ values log.json fd call=listen prog=perl)
	[ "$(logcount log.json prog=perl call=accept4 fd="$lfd")" = 1 ]
}

@test "node: a dgram socket reads back the policy's buffers through libuv; net calls are logged" {
	require node nodejs
	# make check SANITIZE=1: ASan's runtime, loaded after node's own
	# libraries, finds no _dl_get_tls_static_info and crashes node at start
	[ -z "${SOCKPOLICY_TEST_SANITIZED:-}" ] || skip "node cannot load an ASan-built library"
	cat >probe.js <<-'JS'
		const dgram = require('dgram');
		const net = require('net');
		const u = dgram.createSocket('udp4');
		u.bind(0, '127.0.0.1', () => {
		  console.log(u.getRecvBufferSize() + ' ' + u.getSendBufferSize());
		  u.close();
		  const srv = net.createServer(c => c.end('hi'));
		  srv.listen(0, '127.0.0.1', () => {
		    const c = net.connect(srv.address().port, '127.0.0.1');
		    c.on('data', d => console.log(String(d)));
		    c.on('end', () => srv.close());
		  });
		});
	JS
	run runtime log.json node probe.js
	[ "$status" -eq 0 ]
	assert_eq "$output" "204800 122880
hi"
	[ "$(logcount log.json prog=node call=socket type=SOCK_DGRAM\|SOCK_NONBLOCK\|SOCK_CLOEXEC)" = 1 ]
	[ "$(logcount log.json prog=node call=setsockopt opt=SO_RCVBUF value=102400 action=inject ret=0)" = 3 ]
	[ "$(logcount log.json prog=node call=setsockopt opt=SO_SNDBUF value=61440 action=inject ret=0)" = 1 ]
	[ "$(logcount log.json prog=node call=getsockopt opt=SO_RCVBUF value=204800)" = 1 ]
	# libuv sets SO_REUSEADDR on every TCP listener itself
	[ "$(logcount log.json prog=node call=setsockopt opt=SO_REUSEADDR value=1 action=pass)" = 1 ]
	[ "$(logcount log.json prog=node call=connect)" -ge 1 ]
	[ "$(logcount log.json prog=node call=accept4)" -ge 1 ]
}

@test "java: java.net sockets (AF_INET6, dual stack) read back the policy" {
	require java openjdk-17-jdk-headless
	cat >Probe.java <<-'JAVA'
		import java.net.*;
		public class Probe {
		    public static void main(String[] a) throws Exception {
		        InetAddress lo = InetAddress.getLoopbackAddress();
		        ServerSocket srv = new ServerSocket(0, 1, lo);
		        Socket cli = new Socket(lo, srv.getLocalPort());
		        Socket acc = srv.accept();
		        System.out.println(srv.getReceiveBufferSize());
		        for (Socket s : new Socket[] {cli, acc})
		            System.out.println(s.getReceiveBufferSize() + " " + s.getTcpNoDelay());
		    }
		}
	JAVA
	run runtime log.json java Probe.java
	[ "$status" -eq 0 ]
	# the JDK halves what getsockopt returns for SO_RCVBUF on Linux, so Java
	# reads back exactly the policy's value
	assert_eq "$output" "102400
102400 true
102400 true"
	srv=$($LOGQ values log.json fd call=listen prog=java)
	[ "$(logcount log.json prog=java call=socket family=AF_INET6 ret="$srv")" -ge 1 ]
	[ "$(logcount log.json prog=java call=setsockopt fd="$srv" opt=SO_RCVBUF value=102400 action=inject ret=0)" -ge 1 ]
	[ "$(logcount log.json prog=java call=setsockopt fd="$srv" opt=SO_REUSEADDR value=1 action=pass ret=0)" = 1 ]
	[ "$(logcount log.json prog=java call=connect ret=0)" = 1 ]
	[ "$(logcount log.json prog=java call=accept fd="$srv")" = 1 ]
	[ "$(logcount log.json prog=java call=getsockopt opt=TCP_NODELAY value=1)" = 2 ]
	# the JVM's own probe sockets at startup get the policy too
	[ "$(logcount log.json prog=java call=socket)" -gt 3 ]
	[ "$(logcount log.json prog=java call=setsockopt opt=SO_RCVBUF action=inject)" -gt 2 ]
}

@test "go (websocketd, linked with libc): the library cannot reach it; run takes the supervisor, and the policy applies" {
	require websocketd websocketd
	[ -x "$CLI" ] || { echo "$CLI is missing: make builds it"; return 1; }
	port=$(free_port)
	ldd "$(command -v websocketd)" >ldd.out
	grep -q 'libc\.so\.6' ldd.out
	# the library is no way in: Go makes its socket calls without libc
	run bare "$CLI" run --via=preload -p "$POLICY" -- websocketd --version
	[ "$status" -eq 125 ]
	assert_contains "$output" "'websocketd' is a Go program: the library cannot reach it (use --via=seccomp)"
	bg "$CLI" run -p "$POLICY" -l "$PWD/log.json" --json -- \
		websocketd --address=127.0.0.1 --port="$port" echo hi >ws.out 2>&1
	wait_listen "$port"
	# the command says which way it took before the program starts
	run cat ws.out
	assert_contains "$output" "'websocketd' is a Go program: running it under the seccomp supervisor"
	# no library in the process: the supervisor works from outside
	pid=$(ss -Htlnp "sport = :$port" | sed -n 's/.*pid=\([0-9]*\).*/\1/p')
	! grep -q libsockpolicy.so "/proc/$pid/maps" || false
	# the listener has the policy's buffer, and the log has Go's calls
	mem=$(skmem -tl "sport = :$port")
	[ "${mem% *}" = rb=204800 ]
	[ "$($LOGQ count log.json call=listen)" -ge 1 ]
	[ "$($LOGQ count log.json call=setsockopt opt=SO_RCVBUF action=inject)" -ge 1 ]
	# an audit takes the supervisor too
	run "$CLI" audit -- websocketd --version 3>&- 4>&-
	[ "$status" -eq 0 ]
	assert_contains "$output" "'websocketd' is a Go program: running it under the seccomp supervisor"
}
