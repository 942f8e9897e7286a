#!/usr/bin/env bats
# Programs that rename themselves: nginx workers ("nginx: worker process"),
# Perl's $0, setproctitle in general.  They overwrite argv[0], which is
# where program_invocation_short_name points.  The prog= selectors are
# compiled against the name at load; the log's "prog" must name the same
# program, or an audit suggests a prog= that can never match.

load ../common
load compat

setup() {
	common_setup
	require perl perl
}

RENAME='
use Socket;
socket(my $a, AF_INET, SOCK_STREAM, 0) or die;
$0 = "worker: 1";                     # rewrites argv[0], as nginx does
socket(my $b, AF_INET, SOCK_STREAM, 0) or die;
print unpack("i", getsockopt($b, SOL_SOCKET, SO_RCVBUF)), "\n";'

@test "a program that renames itself (\$0) is still matched by prog= with its name at load" {
	SOCKPOLICY='prog=perl: SO_RCVBUF=100K; prog=worker*: SO_SNDBUF=100K' \
		SOCKPOLICY_LOG="$PWD/log.json" SOCKPOLICY_LOG_FORMAT=json run preload perl -e "$RENAME"
	[ "$status" -eq 0 ]
	assert_eq "$output" 204800
	[ "$(logcount log.json call=setsockopt opt=SO_RCVBUF action=inject)" = 2 ]
	[ "$(logcount log.json call=setsockopt opt=SO_SNDBUF)" = 0 ]
}

# The log once read program_invocation_short_name at each record and the
# policy at load, so after a rename the records said "worker: 1" while
# only prog=perl matched them: an audit of nginx named its workers
# "nginx: worker process", a prog= that never matches.  Both now use the
# name at load.
@test "the log's prog is the name prog= selectors match, also after the program renames itself" {
	SOCKPOLICY_LOG="$PWD/log.json" SOCKPOLICY_LOG_FORMAT=json run preload perl -e "$RENAME"
	[ "$status" -eq 0 ]
	[ "$(logcount log.json call=socket)" = 2 ]
	run $LOGQ values log.json prog
	assert_eq "$(sort -u <<<"$output")" perl
}
