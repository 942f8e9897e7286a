# sockpolicy: one Makefile, real file targets.  Append to CFLAGS/LDFLAGS on
# the command line as usual; B= moves the build directory.

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
PKGLIBDIR  ?= $(LIBDIR)/sockpolicy
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
DESTDIR    ?=
B          ?= build

CC      ?= cc
CFLAGS  ?= -O2 -g
LDFLAGS ?=

VERSION := 0.1.0

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wformat=2 -Wno-format-nonliteral -Werror
BASE_CFLAGS := -std=gnu11 -D_GNU_SOURCE -fPIC -fvisibility=hidden $(WARN) \
        -DSP_SYSCONFDIR='"$(SYSCONFDIR)"' -DSP_VERSION='"$(VERSION)"' \
        -DSP_PKGLIBDIR='"$(PKGLIBDIR)"'
HARDEN := -Wl,-z,relro,-z,now
ALL_CFLAGS = $(BASE_CFLAGS) $(SAN_CFLAGS) $(CFLAGS)

POLICY_SRC  := $(wildcard policy/*.c)
PRELOAD_SRC := $(wildcard preload/*.c)
POLICY_OBJ  := $(POLICY_SRC:%.c=$(B)/%.o)
PRELOAD_OBJ := $(PRELOAD_SRC:%.c=$(B)/%.o)

LIB := $(B)/libsockpolicy.so

.PHONY: all check demo install uninstall clean unit
all: $(LIB)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(PRELOAD_OBJ) $(POLICY_OBJ) preload/libsockpolicy.map
	$(CC) -shared $(ALL_CFLAGS) $(HARDEN) -Wl,--version-script=preload/libsockpolicy.map \
		-Wl,-soname,libsockpolicy.so $(LDFLAGS) -o $@ $(PRELOAD_OBJ) $(POLICY_OBJ) -ldl

-include $(POLICY_OBJ:.o=.d) $(PRELOAD_OBJ:.o=.d)

clean:
	rm -rf $(B)

# ---- tests ----
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
HELPER_SRC := $(wildcard tests/helpers/*.c)
HELPER_BIN := $(patsubst tests/helpers/%.c,$(B)/tests/%,$(filter-out tests/helpers/lib%.c,$(HELPER_SRC)))
HELPER_LIB := $(patsubst tests/helpers/lib%.c,$(B)/tests/lib%.so,$(filter tests/helpers/lib%.c,$(HELPER_SRC)))
TEST_OBJ := $(POLICY_OBJ) $(B)/preload/record.o

$(B)/tests/test_%: tests/unit/test_%.c tests/unit/tap.h $(TEST_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(TEST_OBJ)

$(B)/tests/%: tests/helpers/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< -lpthread

$(B)/tests/lib%.so: tests/helpers/lib%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -shared -o $@ $<

unit: $(UNIT_BIN)

# Everything a test needs, built; then every suite.  Last line of output:
# "N passed, N failed".
TEST_DEPS := all $(UNIT_BIN) $(HELPER_BIN) $(HELPER_LIB)
check: $(TEST_DEPS)
	@B=$(B) tests/run

# The main job in one command: a legacy server that cannot restart on its
# port in TIME_WAIT, then can under the shim, with the log shown.
demo: all $(B)/tests/legacy_server
	@B=$(B) tools/demo.sh

install: all
	install -d $(DESTDIR)$(PKGLIBDIR)
	install -m 0644 $(LIB) $(DESTDIR)$(PKGLIBDIR)/libsockpolicy.so

uninstall:
	rm -f $(DESTDIR)$(PKGLIBDIR)/libsockpolicy.so
	-rmdir $(DESTDIR)$(PKGLIBDIR)
