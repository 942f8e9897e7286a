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
