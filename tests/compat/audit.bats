#!/usr/bin/env bats
# Auditing real programs: which socket options do curl, socat, nginx and
# redis set themselves?  `sockpolicy audit -o LOG -- CMD` (SPEC §5) runs CMD
# with a JSON log and no policy; the log kept with -o names every call.

load ../common
load compat

setup() {
	common_setup
	require curl curl
	[ -x "$CLI" ] || { echo "$CLI is missing: make builds it"; return 1; }
}

# auditor LOG: sets AUDIT to the command prefix that audits a command and
# keeps its JSON log in LOG (SPEC §5: no policy, summary on stdout after
# the command's own output, the command's exit status).
auditor() {
	AUDIT=("$CLI" audit -o "$PWD/$1" --)
}

# row SUMMARY PROG CALL LEVEL OPTION: SUMMARY (the audit's stdout) has the
# row of PROG's CALL of LEVEL/OPTION, with a count and only "pass" actions.
row() {
	grep -qE "^$2 +$3 +$4 +$5 +[0-9]+ +pass " <<<"$1" && return 0
	echo "no row '$2 $3 $4 $5 N pass' in the summary:"
	echo "$1"
	return 1
}

# opts LOG PROG [KEY=VALUE...]: the setsockopt records of PROG in LOG as
# "LEVEL OPT=VALUE ACTION", sorted, one a line (duplicates kept).
opts() {
	local log=$1 prog=$2
	shift 2
	paste -d ' ' \
		<($LOGQ values "$log" level call=setsockopt prog="$prog" "$@") \
		<($LOGQ values "$log" opt call=setsockopt prog="$prog" "$@" | sed 's/$/=/') \
		<($LOGQ values "$log" value call=setsockopt prog="$prog" "$@") \
		<($LOGQ values "$log" action call=setsockopt prog="$prog" "$@") |
		sed 's/= /=/' | sort
}

# http_server: python3 -m http.server on 127.0.0.1, not audited.  Sets PORT.
http_server() {
	mkdir -p www
	echo hello >www/index.html
	bg "$PYTHON" -u -m http.server --bind 127.0.0.1 --directory www 0 >http.out 2>&1
	wait_grep '^Serving HTTP on 127\.0\.0\.1 port [0-9]+' http.out
	PORT=$(sed -n 's/^Serving HTTP on 127\.0\.0\.1 port \([0-9]*\).*/\1/p' http.out)
}

@test "curl: the audit names TCP_NODELAY, SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, set before connect" {
	http_server
	auditor log.json
	run "${AUDIT[@]}" curl -s "http://127.0.0.1:$PORT/" 3>&- 4>&-
	[ "$status" -eq 0 ]
	# curl's own output, then the summary
	assert_eq "${lines[0]}" hello
	row "$output" curl setsockopt SOL_TCP TCP_NODELAY
	row "$output" curl setsockopt SOL_SOCKET SO_KEEPALIVE
	row "$output" curl setsockopt SOL_TCP TCP_KEEPIDLE
	row "$output" curl setsockopt SOL_TCP TCP_KEEPINTVL
	row "$output" curl connect - -
	# the log kept with -o has each call, with its value
	assert_eq "$(opts log.json curl)" "SOL_SOCKET SO_KEEPALIVE=1 pass
SOL_TCP TCP_KEEPIDLE=60 pass
SOL_TCP TCP_KEEPINTVL=60 pass
SOL_TCP TCP_NODELAY=1 pass"
	fd=$($LOGQ values log.json fd call=connect prog=curl addr="127.0.0.1:$PORT")
	mapfile -t calls < <($LOGQ values log.json call fd="$fd" prog=curl)
	assert_eq "${calls[*]:0:6}" "socket setsockopt setsockopt setsockopt setsockopt connect"
	[ "$(logcount log.json call=socket fd="$fd" family=AF_INET protocol=IPPROTO_TCP)" = 1 ]
	# an audit changes nothing
	[ "$(logcount log.json action=inject)" = 0 ]
	[ "$(logcount log.json action=pass)" = "$($LOGQ check log.json)" ]
}

@test "curl: the audit keeps curl's exit status (7: nothing listens)" {
	port=$(free_port)
	auditor log.json
	run "${AUDIT[@]}" curl -s "http://127.0.0.1:$port/" 3>&- 4>&-
	[ "$status" -eq 7 ]
	# a non-blocking connect, then the refusal read from SO_ERROR (111)
	[ "$(logcount log.json prog=curl call=connect addr="127.0.0.1:$port" ret=-1 errno=EINPROGRESS)" = 1 ]
	[ "$(logcount log.json prog=curl call=getsockopt opt=SO_ERROR value=111)" = 1 ]
}

@test "socat: a plain TCP-LISTEN sets no option at all (why it cannot restart in TIME_WAIT); ,reuseaddr / ,nodelay,keepalive do" {
	require socat socat
	auditor plain.json
	bg "${AUDIT[@]}" socat -d -d TCP-LISTEN:0,bind=127.0.0.1 SYSTEM:'echo hi' >plain.txt 2>plain.err
	server=$BG_PID
	port=$(socat_port plain.err)
	[ "$(socat -u "TCP:127.0.0.1:$port" STDOUT)" = hi ]
	wait "$server"
	[ "$(logcount plain.json prog=socat call=listen ret=0)" = 1 ]
	[ "$(logcount plain.json prog=socat call=setsockopt)" = 0 ]
	row "$(cat plain.txt)" socat listen - -
	assert_not_contains "$(cat plain.txt)" setsockopt

	auditor server.json
	bg "${AUDIT[@]}" socat -d -d TCP-LISTEN:0,bind=127.0.0.1,reuseaddr SYSTEM:'echo hi' >server.txt 2>server.err
	server=$BG_PID
	port=$(socat_port server.err)
	auditor client.json
	run "${AUDIT[@]}" socat -u "TCP:127.0.0.1:$port,nodelay,keepalive" STDOUT 3>&- 4>&-
	assert_eq "${lines[0]}" hi
	row "$output" socat setsockopt SOL_SOCKET SO_KEEPALIVE
	row "$output" socat setsockopt SOL_TCP TCP_NODELAY
	wait "$server"
	row "$(cat server.txt)" socat setsockopt SOL_SOCKET SO_REUSEADDR
	assert_eq "$(opts server.json socat)" "SOL_SOCKET SO_REUSEADDR=1 pass"
	assert_eq "$(opts client.json socat)" "SOL_SOCKET SO_KEEPALIVE=1 pass
SOL_TCP TCP_NODELAY=1 pass"
}

@test "nginx: the audit names SO_REUSEADDR and SO_KEEPALIVE on the listener, TCP_NODELAY on its connections" {
	require nginx nginx
	port=$(free_port)
	nginx_conf "$port" so_keepalive=on
	auditor log.json
	bg "${AUDIT[@]}" nginx -p "$PWD" -c "$PWD/nginx.conf" -e stderr >summary.txt 2>nginx.err
	nginx=$BG_PID
	wait_listen "$port"
	# two requests on one keep-alive connection: nginx sets TCP_NODELAY
	# when a connection goes idle between requests
	run curl -sf "http://127.0.0.1:$port/" "http://127.0.0.1:$port/"
	assert_eq "$output" "hello
hello"
	kill -QUIT "$(cat nginx.pid)"
	wait "$nginx"
	summary=$(cat summary.txt)
	row "$summary" nginx setsockopt SOL_SOCKET SO_REUSEADDR
	row "$summary" nginx setsockopt SOL_SOCKET SO_KEEPALIVE
	row "$summary" nginx setsockopt SOL_TCP TCP_NODELAY
	row "$summary" nginx accept4 - -
	lfd=$($LOGQ values log.json fd call=bind prog=nginx addr="127.0.0.1:$port")
	assert_eq "$(opts log.json nginx fd="$lfd")" "SOL_SOCKET SO_KEEPALIVE=1 pass
SOL_SOCKET SO_REUSEADDR=1 pass"
	afd=$($LOGQ values log.json ret call=accept4 prog=nginx fd="$lfd")
	[ -n "$afd" ]
	[ "$(logcount log.json prog=nginx call=setsockopt fd="$afd" level=SOL_TCP opt=TCP_NODELAY value=1)" = 1 ]
	[ "$(logcount log.json prog=nginx call=accept4 fd="$lfd" ret="$afd")" = 1 ]
}

@test "redis-server and redis-cli: the audit names their keepalive tuning and TCP_NODELAY" {
	require redis-server redis-server
	require redis-cli redis-tools
	port=$(free_port)
	auditor server.json
	bg "${AUDIT[@]}" redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
		--daemonize no --dir "$PWD" --pidfile "$PWD/redis.pid" --logfile "$PWD/redis.log" >summary.txt
	server=$BG_PID
	wait_listen "$port"
	auditor client.json
	run "${AUDIT[@]}" redis-cli -p "$port" ping 3>&- 4>&-
	assert_eq "${lines[0]}" PONG
	for opt in SOL_TCP\ TCP_NODELAY SOL_SOCKET\ SO_KEEPALIVE SOL_TCP\ TCP_KEEPIDLE SOL_TCP\ TCP_KEEPINTVL SOL_TCP\ TCP_KEEPCNT; do
		row "$output" redis-cli setsockopt $opt
	done
	redis-cli -p "$port" shutdown nosave 3>&- 4>&- || true
	wait "$server"
	summary=$(cat summary.txt)
	for opt in SOL_SOCKET\ SO_REUSEADDR SOL_TCP\ TCP_NODELAY SOL_SOCKET\ SO_KEEPALIVE SOL_TCP\ TCP_KEEPIDLE SOL_TCP\ TCP_KEEPINTVL SOL_TCP\ TCP_KEEPCNT; do
		row "$summary" redis-server setsockopt $opt
	done
	lfd=$($LOGQ values server.json fd call=bind prog=redis-server addr="127.0.0.1:$port")
	assert_eq "$(opts server.json redis-server fd="$lfd")" "SOL_SOCKET SO_REUSEADDR=1 pass"
	# the first accepted connection: redis-cli's
	afd=$($LOGQ values server.json ret call=accept4 prog=redis-server fd="$lfd" | head -n 1)
	[ "$(logcount server.json prog=redis-server call=setsockopt fd="$afd" opt=TCP_NODELAY value=1)" -ge 1 ]
	[ "$(logcount server.json prog=redis-server call=setsockopt fd="$afd" opt=SO_KEEPALIVE value=1)" -ge 1 ]
	[ "$(logcount server.json prog=redis-server call=setsockopt fd="$afd" opt=TCP_KEEPIDLE value=300)" -ge 1 ]
	[ "$(logcount server.json prog=redis-server call=setsockopt fd="$afd" opt=TCP_KEEPINTVL value=100)" -ge 1 ]
	[ "$(logcount server.json prog=redis-server call=setsockopt fd="$afd" opt=TCP_KEEPCNT value=3)" -ge 1 ]
	assert_eq "$(opts client.json redis-cli)" "SOL_SOCKET SO_KEEPALIVE=1 pass
SOL_TCP TCP_KEEPCNT=3 pass
SOL_TCP TCP_KEEPIDLE=15 pass
SOL_TCP TCP_KEEPINTVL=5 pass
SOL_TCP TCP_NODELAY=1 pass"
}
