# sockpolicy: one Makefile, real file targets.  Append to CFLAGS/LDFLAGS on
# the command line as usual; B= moves the build directory.

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
PKGLIBDIR  ?= $(LIBDIR)/sockpolicy
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DESTDIR    ?=
B          ?= build

CC      ?= cc
CFLAGS  ?= -O2 -g
LDFLAGS ?=

VERSION := 0.1.0

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wformat=2 -Wno-format-nonliteral -Werror
BASE_CFLAGS := -std=gnu11 -D_GNU_SOURCE -fPIC -fvisibility=hidden $(WARN)
HARDEN := -Wl,-z,relro,-z,now
ALL_CFLAGS = $(BASE_CFLAGS) $(SAN_CFLAGS) $(CFLAGS)

# policy/ is the engine, log/ the records and the shared part of the sink,
# load/ the reading of a policy's sources: both backends (preload/,
# supervisor/) and the command link them.
POLICY_SRC  := $(wildcard policy/*.c)
LOG_SRC     := $(wildcard log/*.c)
LOAD_SRC    := $(wildcard load/*.c)
PRELOAD_SRC := $(wildcard preload/*.c)
POLICY_OBJ  := $(POLICY_SRC:%.c=$(B)/%.o)
LOG_OBJ     := $(LOG_SRC:%.c=$(B)/%.o)
LOAD_OBJ    := $(LOAD_SRC:%.c=$(B)/%.o)
PRELOAD_OBJ := $(PRELOAD_SRC:%.c=$(B)/%.o)
SHARED_OBJ  := $(POLICY_OBJ) $(LOG_OBJ) $(LOAD_OBJ)

LIB := $(B)/libsockpolicy.so
CLI := $(B)/sockpolicy

.PHONY: all check demo install uninstall clean unit bench multiarch
all: $(LIB) $(CLI)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(PRELOAD_OBJ) $(SHARED_OBJ) preload/libsockpolicy.map
	$(CC) -shared $(ALL_CFLAGS) $(HARDEN) -Wl,--version-script=preload/libsockpolicy.map \
		-Wl,-soname,libsockpolicy.so $(LDFLAGS) -o $@ $(PRELOAD_OBJ) $(SHARED_OBJ) -ldl

-include $(SHARED_OBJ:.o=.d) $(PRELOAD_OBJ:.o=.d)

# ---- the command (issue 3): the same policy/ objects and loader as the
# library, plus json-c for reading logs (the library itself stays libc-only).
TOOLS_OBJ := $(patsubst %.c,$(B)/%.o,$(wildcard tools/*.c))
CLI_LIBS  := -ljson-c

# the seccomp supervisor (issue 12): run/audit --via=seccomp, in the CLI's
# process; it writes records with the same formatter
SUPERVISOR_OBJ := $(patsubst %.c,$(B)/%.o,$(wildcard supervisor/*.c))
# (inspect and apply print values and records with the log's own formatter;
# nothing of preload/ is linked here)
$(CLI): $(TOOLS_OBJ) $(SHARED_OBJ) $(SUPERVISOR_OBJ)
	$(CC) $(ALL_CFLAGS) $(HARDEN) $(LDFLAGS) -o $@ $(TOOLS_OBJ) $(SHARED_OBJ) \
		$(SUPERVISOR_OBJ) $(CLI_LIBS) -lpthread
-include $(SUPERVISOR_OBJ:.o=.d)

# The two objects that hold install paths are rebuilt whenever the paths
# change, so that `make install PREFIX=/usr SYSCONFDIR=/etc/x` after a
# plain `make` installs a command that finds the installed library and a
# library that reads the installed policy file.
INSTALL_PATHS := $(BINDIR) $(PKGLIBDIR) $(SYSCONFDIR) $(VERSION)
$(B)/paths.stamp: FORCE
	@mkdir -p $(@D)
	@echo '$(INSTALL_PATHS)' | cmp -s - $@ || echo '$(INSTALL_PATHS)' >$@
$(B)/tools/paths.o $(B)/preload/init.o: $(B)/paths.stamp
$(B)/tools/paths.o: ALL_CFLAGS += -DSP_BINDIR='"$(BINDIR)"' -DSP_PKGLIBDIR='"$(PKGLIBDIR)"' \
	-DSP_SYSCONFDIR='"$(SYSCONFDIR)"' -DSP_VERSION='"$(VERSION)"'
$(B)/preload/init.o: ALL_CFLAGS += -DSP_SYSCONFDIR='"$(SYSCONFDIR)"'
.PHONY: FORCE
FORCE:

-include $(TOOLS_OBJ:.o=.d)

# ---- more builds of the library (issue 14): 32-bit (gcc-multilib) and musl
# (musl-tools), from the same sources, each in a build directory of its
# own: $(B)/i386/ and $(B)/musl/.  `sockpolicy run` picks the one that
# matches CMD; `make install` installs those that were built.  Plain `make`
# needs neither toolchain.
CC_I386 ?= $(CC) -m32
CC_MUSL ?= musl-gcc
LIB_I386 := $(B)/i386/libsockpolicy.so
LIB_MUSL := $(B)/musl/libsockpolicy.so
.PHONY: lib-i386 lib-musl
multiarch: lib-i386 lib-musl
lib-i386:
	@$(MAKE) --no-print-directory B=$(B)/i386 CC='$(CC_I386)' SANITIZE= $(LIB_I386)
lib-musl:
	@$(MAKE) --no-print-directory B=$(B)/musl CC='$(CC_MUSL)' SANITIZE= $(LIB_MUSL)

clean:
	rm -rf $(B)

# ---- tests ----
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
HELPER_SRC := $(wildcard tests/helpers/*.c)
HELPER_BIN := $(patsubst tests/helpers/%.c,$(B)/tests/%,$(filter-out tests/helpers/lib%.c,$(HELPER_SRC)))
HELPER_LIB := $(patsubst tests/helpers/lib%.c,$(B)/tests/lib%.so,$(filter tests/helpers/lib%.c,$(HELPER_SRC)))
TEST_OBJ := $(POLICY_OBJ) $(LOG_OBJ)

$(B)/tests/test_%: tests/unit/test_%.c $(wildcard tests/unit/*.h) $(TEST_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(TEST_OBJ)

$(B)/tests/%: tests/helpers/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< -lpthread

$(B)/tests/lib%.so: tests/helpers/lib%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -shared -o $@ $<

unit: $(UNIT_BIN)

# The benchmark (issue 5): ns and instructions per socket call, bare libc
# against the shim and strace.  `make check` runs it once, quick.  Then the
# real workload (issue 11): nginx under wrk, tests/bench/workload.sh.
BENCH := $(B)/bench/bench
$(BENCH): tests/bench/bench.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $<

# ... and how long `sockpolicy inspect` takes on 1,000 sockets (issue 13).
INSPECT_BENCH := $(B)/bench/inspect_bench
$(INSPECT_BENCH): tests/bench/inspect_bench.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $<

# ... and the seccomp supervisor (issue 12): a call it lets through, one it
# handles, socket+close, start-up, against bare and the library, and an
# audit of a Go program against strace -f (tests/bench/supervisor.sh).
SV_BENCH := $(B)/bench/sv_bench
$(SV_BENCH)-static: tests/bench/sv_bench.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -static -o $@ $<
$(SV_BENCH): tests/bench/sv_bench.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $<
$(B)/bench/gobench: tests/bench/gobench.go
	@mkdir -p $(@D) $(B)/gocache
	cd $(@D) && CGO_ENABLED=0 GOCACHE=$(abspath $(B))/gocache GO111MODULE=off GOFLAGS= \
		go build -o gobench $(abspath $<)
$(B)/bench/spawn_time: tests/bench/spawn_time.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $<
SV_BENCH_GO := $(if $(shell command -v go 2>/dev/null),$(B)/bench/gobench)

bench: all $(BENCH) $(INSPECT_BENCH) $(SV_BENCH) $(SV_BENCH)-static $(B)/bench/spawn_time $(SV_BENCH_GO)
	@$(BENCH) --lib $(LIB)
	@tests/bench/workload.sh --lib $(LIB)
	@$(INSPECT_BENCH) $(CLI)
	@tests/bench/supervisor.sh --cli $(CLI) --lib $(LIB) --static $(SV_BENCH)-static --dynamic $(SV_BENCH) \
		--spawn-time $(B)/bench/spawn_time \
		$(if $(SV_BENCH_GO),--go $(SV_BENCH_GO))

# Everything a test needs, built; then every suite.  Last line of output:
# "N passed, N failed".
TEST_DEPS := all $(CLI) $(UNIT_BIN) $(HELPER_BIN) $(HELPER_LIB) $(BENCH) $(INSPECT_BENCH)
# tests/multiarch.bats: the other builds of the library, where their
# toolchains are installed (a test without its toolchain skips, saying so);
# probed for `make check` only
ifneq ($(filter check,$(MAKECMDGOALS)),)
TEST_DEPS += $(shell printf 'int main(void){return 0;}\n' | $(CC) -m32 -x c - -o /dev/null 2>/dev/null && echo lib-i386)
TEST_DEPS += $(if $(shell command -v $(CC_MUSL) 2>/dev/null),lib-musl)
endif
check: $(TEST_DEPS)
	@B=$(B) tests/run

# The main job in one command: a legacy server that cannot restart on its
# port in TIME_WAIT, then can under the shim, with the log shown.
demo: all $(B)/tests/legacy_server
	@B=$(B) tools/demo.sh

# The other builds of the library are installed (brought up to date) when
# they were built.  The example $(SYSCONFDIR)/sockpolicy.conf applies
# nothing; one already there is the admin's, so install and uninstall
# leave it alone.
INSTALL_VARIANTS := $(if $(wildcard $(LIB_I386)),lib-i386) $(if $(wildcard $(LIB_MUSL)),lib-musl)

install: all $(INSTALL_VARIANTS)
	install -d $(DESTDIR)$(PKGLIBDIR)
	install -m 0644 $(LIB) $(DESTDIR)$(PKGLIBDIR)/libsockpolicy.so
	for v in $(INSTALL_VARIANTS:lib-%=%); do \
		install -d $(DESTDIR)$(PKGLIBDIR)/$$v && \
		install -m 0644 $(B)/$$v/libsockpolicy.so $(DESTDIR)$(PKGLIBDIR)/$$v/libsockpolicy.so || exit 1; \
	done
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(CLI) $(DESTDIR)$(BINDIR)/sockpolicy
	install -m 0644 man/sockpolicy.1 $(DESTDIR)$(MANDIR)/man1/sockpolicy.1
	install -m 0644 man/sockpolicy-policy.5 $(DESTDIR)$(MANDIR)/man5/sockpolicy-policy.5
	install -d $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(SYSCONFDIR)
	install -m 0644 completion/sockpolicy.bash $(DESTDIR)$(BASHCOMPDIR)/sockpolicy
	[ -e $(DESTDIR)$(SYSCONFDIR)/sockpolicy.conf ] || \
		install -m 0644 etc/sockpolicy.conf $(DESTDIR)$(SYSCONFDIR)/sockpolicy.conf

uninstall:
	rm -f $(DESTDIR)$(PKGLIBDIR)/libsockpolicy.so $(DESTDIR)$(PKGLIBDIR)/i386/libsockpolicy.so \
		$(DESTDIR)$(PKGLIBDIR)/musl/libsockpolicy.so
	-rmdir $(DESTDIR)$(PKGLIBDIR)/i386 $(DESTDIR)$(PKGLIBDIR)/musl 2>/dev/null
	rm -f $(DESTDIR)$(BINDIR)/sockpolicy $(DESTDIR)$(MANDIR)/man1/sockpolicy.1 \
		$(DESTDIR)$(MANDIR)/man5/sockpolicy-policy.5 $(DESTDIR)$(BASHCOMPDIR)/sockpolicy
	-rmdir $(DESTDIR)$(PKGLIBDIR)

# ---- hardening (issue 4): sanitizers and fuzzing ----
# SANITIZE=1 builds everything with ASan and UBSan (use a B= of its own):
# `make check SANITIZE=1` runs the unit tests, the fuzz replays and the
# suites against the sanitized library and helpers.
ifeq ($(SANITIZE),1)
SAN_CFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# The suites preload the sanitized library into programs built without ASan
# (python3, sh), where its runtime loads after libc: ASan refuses that
# unless told.  Instrumented code then checks stack and globals; the heap of
# such a program is libc's.  The C helpers are ASan programs: checked fully.
# No leak check in the programs the suites run: LeakSanitizer's tracer
# hung in socat at exit; tests/unit/test_fuzz turns it back on for itself.
export ASAN_OPTIONS ?= verify_asan_link_order=0:detect_leaks=0
export UBSAN_OPTIONS ?= print_stacktrace=1
export SOCKPOLICY_TEST_SANITIZED := 1
endif

# The supervisor's filter is tested whole (it includes filter.c).
$(B)/tests/test_filter: supervisor/filter.c supervisor/filter.h supervisor/syscalls.h

# The fuzzers' inputs are replayed by a unit test: rebuild it when they change.
$(B)/tests/test_fuzz: tests/fuzz/fuzz_policy.c tests/fuzz/fuzz_record.c

# `make fuzz FUZZ_SECONDS=N`: each libFuzzer target for N seconds, with
# clang, ASan and UBSan.  New inputs go to $(B)/fuzz/corpus/; a crash stops
# with the input in $(B)/fuzz/crashes/ (keep it in tests/fuzz/regressions/).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 30
FUZZ_B       := $(B)/fuzz
FUZZ_SAN     := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_TARGETS := policy record
FUZZ_OBJ     := $(POLICY_SRC:%.c=$(FUZZ_B)/%.o) $(LOG_SRC:%.c=$(FUZZ_B)/%.o)
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(FUZZ_B)/fuzz_%)

$(FUZZ_B)/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(BASE_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

# kept between runs (pattern-made objects are otherwise deleted as intermediate)
.SECONDARY: $(FUZZ_OBJ)
-include $(FUZZ_OBJ:.o=.d)

$(FUZZ_B)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(BASE_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ)

.PHONY: fuzz
fuzz: $(FUZZ_BIN)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_B)/corpus/$$t $(FUZZ_B)/crashes/$$t || exit 1; \
		dict=; [ -f tests/fuzz/$$t.dict ] && dict=-dict=tests/fuzz/$$t.dict; \
		echo "fuzz_$$t: $(FUZZ_SECONDS) s"; \
		if ! $(FUZZ_B)/fuzz_$$t $$dict -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
			-max_len=4096 -print_final_stats=1 -artifact_prefix=$(FUZZ_B)/crashes/$$t/ \
			$(FUZZ_B)/corpus/$$t tests/fuzz/corpus/$$t tests/fuzz/regressions/$$t \
			>$(FUZZ_B)/fuzz_$$t.log 2>&1; then \
			tail -n 40 $(FUZZ_B)/fuzz_$$t.log; \
			echo "fuzz_$$t FAILED: the input is in $(FUZZ_B)/crashes/$$t/;" \
				"fix it and keep it in tests/fuzz/regressions/$$t/"; \
			exit 1; \
		fi; \
		grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' $(FUZZ_B)/fuzz_$$t.log; \
	done
