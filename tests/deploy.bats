#!/usr/bin/env bats
# The Debian package (SPEC §8): `dpkg-buildpackage -us -uc -b` on a copy of
# this tree (its outputs land in the parent directory, never beside the
# checkout), lintian without errors, and the extracted tree working: the
# packaged command runs a program under a policy with the packaged library.

load common

setup_file() {
	command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
		return 0 # each test skips, saying why
	local top=$BATS_FILE_TMPDIR/pkg
	mkdir -p "$top/src"
	# the working tree as it is, without build directories or git
	tar -C "$SP_ROOT" --exclude='./build*' --exclude=./.git --exclude='./debian/build' \
		--exclude='./debian/sockpolicy' --exclude='./debian/.debhelper' -cf - . | tar -C "$top/src" -xf -
	(cd "$top/src" && timeout 600 dpkg-buildpackage -us -uc -b) >"$top/build.log" 2>&1
	echo $? >"$top/build.rc"
	DEB=$(ls "$top"/sockpolicy_*.deb 2>/dev/null | head -1)
	if [ -n "$DEB" ]; then
		dpkg-deb -x "$DEB" "$top/root"
		dpkg-deb -e "$DEB" "$top/control"
	fi
}

setup() {
	common_setup
	command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
		skip "dpkg-dev and debhelper are not installed (.ci/run --install)"
	TOP=$BATS_FILE_TMPDIR/pkg
	ROOT=$TOP/root
	MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
}

@test "deb: dpkg-buildpackage -us -uc -b builds the package" {
	if [ "$(cat "$TOP/build.rc")" != 0 ]; then
		tail -n 40 "$TOP/build.log"
		false
	fi
	ls "$TOP"/sockpolicy_*.deb
}

@test "deb: the library sits in a private multiarch directory, with the command, man pages, completion" {
	[ -x "$ROOT/usr/bin/sockpolicy" ]
	[ -f "$ROOT/usr/lib/$MA/sockpolicy/libsockpolicy.so" ]
	[ -f "$ROOT/usr/share/man/man1/sockpolicy.1.gz" ]
	[ -f "$ROOT/usr/share/man/man5/sockpolicy-policy.5.gz" ]
	[ -f "$ROOT/usr/share/bash-completion/completions/sockpolicy" ]
	[ -f "$ROOT/usr/share/doc/sockpolicy/copyright" ]
	# the command has that directory compiled in
	grep -q "/usr/lib/$MA/sockpolicy" "$ROOT/usr/bin/sockpolicy"
}

@test "deb: /etc/sockpolicy.conf is a conffile that applies nothing" {
	grep -qx /etc/sockpolicy.conf "$TOP/control/conffiles"
	run "$ROOT/usr/bin/sockpolicy" check -f "$ROOT/etc/sockpolicy.conf"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# only comments: every non-blank line starts with #
	! grep -vE '^(#.*)?$' "$ROOT/etc/sockpolicy.conf"
}

@test "deb: lintian reports no errors" {
	command -v lintian >/dev/null || skip "lintian is not installed (.ci/run --install)"
	run lintian --fail-on error "$TOP"/sockpolicy_*.changes
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output != *"E: "* ]]
}

@test "deb: the extracted command runs a program under a policy with the packaged library" {
	cd "$BATS_TEST_TMPDIR"
	run "$ROOT/usr/bin/sockpolicy" run -p 'tcp: TCP_NODELAY=1' -p 'tcp: SO_RCVBUF=100000' -l stderr -- \
		"$PYTHON" -c 'import socket; s = socket.socket(); print("read", s.getsockopt(6, 1), s.getsockopt(1, 8))'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"read 1 200000"* ]]
	[[ $output == *"[inject]"* ]]
	run "$ROOT/usr/bin/sockpolicy" run -p 'tcp: TCP_NODELAY=1' --print-env
	[[ $output == *"LD_PRELOAD='$ROOT/usr/lib/$MA/sockpolicy/libsockpolicy.so'"* ]]
}

@test "deb: the packaged man page and completion describe the systemd command" {
	zcat "$ROOT/usr/share/man/man1/sockpolicy.1.gz" | grep -q 'systemd'
	grep -q 'complete -F _sockpolicy sockpolicy' "$ROOT/usr/share/bash-completion/completions/sockpolicy"
}
