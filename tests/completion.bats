#!/usr/bin/env bats
# Bash completion (SPEC §5): commands, flags and option names, from the
# command itself.  The file is sourced and its function called as bash
# does: COMP_WORDS, COMP_CWORD in, COMPREPLY out.

load common

# complete WORD...: the candidates for the last word, one per line.
complete_words() {
	bash -c '
		source "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_sockpolicy
		printf "%s\n" "${COMPREPLY[@]}"' _ "$SP_ROOT/completion/sockpolicy.bash" "$@"
}

@test "completion: the commands, systemd among them" {
	run complete_words "$CLI" ''
	[ "$status" -eq 0 ]
	for c in run check audit report options systemd --help --version; do
		grep -qx -- "$c" <<<"$output"
	done
	run complete_words "$CLI" sy
	[ "$output" = systemd ]
}

@test "completion: a command's flags" {
	run complete_words "$CLI" run --
	grep -qx -- --policy= <<<"$output"
	grep -qx -- --strict <<<"$output"
	grep -qx -- --print-env <<<"$output"
	run complete_words "$CLI" systemd web --a
	[ "$output" = --apply ]
	run complete_words "$CLI" systemd web --r
	grep -qx -- --remove <<<"$output"
	grep -qx -- --root= <<<"$output"
}

@test "completion: option names after -p, also inside a policy" {
	run complete_words "$CLI" run -p SO_RCVB
	[ "$output" = "$(printf 'SO_RCVBUF\nSO_RCVBUFFORCE')" ]
	run complete_words "$CLI" check --policy 'tcp port=80: TCP_NOD'
	[ "$output" = 'tcp port=80: TCP_NODELAY' ]
	run complete_words "$CLI" systemd web -p 'udp: SO_RCVBUF=1M; SO_SNDB'
	[[ $output == 'udp: SO_RCVBUF=1M; SO_SNDBUF'* ]]
	# every name comes from `sockpolicy options`: the ones a rule can set
	n=$(complete_words "$CLI" run -p '' | wc -l)
	[ "$n" -eq "$("$CLI" options | awk 'NR > 1 && $1 ~ /^[A-Z][A-Z0-9_]*$/ && $6 == "-"' | wc -l)" ]
	[ "$n" -gt 20 ]
}

@test "completion: read-only and log-only options are not offered where a rule sets one" {
	local table
	table=$("$CLI" options)
	# SO_RCVTIMEO_NEW is log-only, SO_PEERCRED and SO_PROTOCOL read-only
	grep -qE '^SO_RCVTIMEO_NEW +.* log-only ' <<<"$table"
	grep -qE '^SO_PEERCRED +.* read-only ' <<<"$table"
	run complete_words "$CLI" run -p SO_RCVTIMEO
	assert_eq "$output" SO_RCVTIMEO
	run complete_words "$CLI" check --policy 'tcp: SO_PEER'
	assert_eq "$output" ""
	run complete_words "$CLI" audit -p 'SO_KEEPALIVE=1, SO_PRO'
	assert_eq "$output" ""
	# none of the offered names is refused in a rule
	for name in $(complete_words "$CLI" run -p ''); do
		grep -qE "^$name +.* - +(preload|seccomp)" <<<"$table" || { echo "$name is offered"; return 1; }
	done
}

@test "completion: after -- or the first word, the command to run" {
	run complete_words "$CLI" run -p 'tcp: TCP_NODELAY=1' -- pyth
	grep -qx python3 <<<"$output"
	run complete_words "$CLI" audit -o log.json ech
	grep -qx echo <<<"$output"
	touch policy.conf
	run complete_words "$CLI" run -f poli
	[ "$output" = policy.conf ]
	run complete_words "$CLI" run -l std
	[ "$output" = stderr ]
}
