# ovs-agent - build, install, demo and check.
#
#   make            build every program into build/bin/
#   make demo       install missing Debian packages (as root), build, run a
#                   throwaway agent on 127.0.0.1:8899 with the sim hypervisor
#   make check      install, build, run every test; ends with
#                   "N passed, N failed, N skipped" (make test: the same)
#   make unit       only the C unit tests
#   make install    lay out the documented places under $(DESTDIR)
#   make install-man  only the manual pages (man/*.N into $(MANDIR)/manN)
#   make deb        build/deb/ovs-agent_2.2-<build>_<arch>.deb from the
#                   committed tree (dpkg-buildpackage under fakeroot)
#   make check-deb  build the package twice, lintian, install, upgrade and
#                   purge it in a throw-away root (as root, about 3 minutes)
#   make fuzz       build the libFuzzer targets and run each from its seed
#                   corpus (make fuzz FUZZ_SECONDS=600 for a longer run)
#   make SAN=1      AddressSanitizer + UndefinedBehaviorSanitizer build (build-san/)

VERSION   := 2.2
BUILDNO   := $(shell git rev-list --count HEAD 2>/dev/null || echo 0)
CC        ?= cc
SAN       ?= 0
ifeq ($(SAN),1)
BUILD     ?= build-san
SANFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT       := -O1
else
BUILD     ?= build
SANFLAGS  :=
OPT       := -O2
endif

XMLRPC_LIBS := -lxmlrpc -lxmlrpc_xmlparse -lxmlrpc_xmltok -lxmlrpc_util
# libxml2 parses what arrives from the network (agent/rpc_parse.c).
XML2_CFLAGS := $(shell pkg-config --cflags libxml-2.0 2>/dev/null || echo -I/usr/include/libxml2)
# libnl-route-3: taps' QoS (hypervisor/tap_qos.c), the network view (agent/net/netview.c).
NL_CFLAGS := $(shell pkg-config --cflags libnl-route-3.0 2>/dev/null || echo -I/usr/include/libnl3)
CFLAGS    ?= $(OPT) -g
CFLAGS    += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
             -Wformat=2 -Wno-format-nonliteral -fstack-protector-strong \
             -D_GNU_SOURCE -D_FORTIFY_SOURCE=2 -I. \
             -DAGENT_VERSION='"$(VERSION)"' $(XML2_CFLAGS) $(NL_CFLAGS) $(SANFLAGS)
LDFLAGS   += $(SANFLAGS) -Wl,-z,relro,-z,now
# libcpg, libvotequorum, libcmap: corosync's clients (agent/cluster/corolink.c);
# libcorosync_common: their cs_strerror.
LDLIBS    := -lssl -lcrypto -lcrypt -lpam -llmdb -lxml2 -lnl-route-3 -lnl-3 $(XMLRPC_LIBS) \
             -lcpg -lvotequorum -lcmap -lcorosync_common

# Everything except the programs' main files goes into one static library;
# each program links it and the linker keeps only what it uses.
LIB_SRCS  := $(filter-out agent/server/main.c,$(wildcard agent/*/*.c)) \
             $(wildcard hypervisor/*.c hypervisor/*/*.c) $(wildcard db/*.c)
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
PROGS     := ovs-agent do_rpc ovs-agent-passwd db_kfv db_del db_dump
PROG_BINS := $(PROGS:%=$(BUILD)/bin/%)
# utils/*.c that are not programs (tool.c) are shared by the tools: an
# archive of their own, linked before libagent.a, whose code they call.
UTIL_SRCS := $(filter-out $(PROGS:%=utils/%.c),$(wildcard utils/*.c))
UTIL_OBJS := $(UTIL_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# Test tools (tests/tools/*.c): programs the e2e tests drive, not installed.
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tests/%)

.PHONY: all deps deps-build install-debs demo check test unit install install-man clean fuzz bench deb check-deb
all: $(PROG_BINS) $(UNIT_BINS) $(TOOL_BINS)

Q         := $(if $(V),,@)
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# The build number changes with every commit; only version.o carries it.
$(BUILD)/obj/agent/server/version.o: agent/server/version.c FORCE
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -DAGENT_BUILD='"$(BUILDNO)"' -c -o $@.tmp $< && \
		if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
FORCE:

$(BUILD)/libagent.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/ovs-agent: $(BUILD)/obj/agent/server/main.o $(BUILD)/libagent.a
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libutils.a: $(UTIL_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/%: $(BUILD)/obj/utils/%.o $(BUILD)/libutils.a $(BUILD)/libagent.a
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/libagent.a
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(TOOL_BINS): $(BUILD)/tests/%: $(BUILD)/obj/tests/tools/%.o $(BUILD)/libagent.a
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# --- Debian packages the build, the tests and the demo need ---------------
DEB_BUILD := build-essential pkg-config libssl-dev libxmlrpc-core-c3-dev \
             libpam0g-dev libcrypt-dev liblmdb-dev libnl-route-3-dev libxml2-dev \
             libcpg-dev libvotequorum-dev libcmap-dev libcorosync-common-dev
DEB_TEST  := clang libclang-rt-14-dev python3 curl openssl libpam-wrapper \
             procps iproute2 util-linux e2fsprogs qemu-system-x86 iputils-ping shellcheck \
             corosync chromium prometheus mandoc
DEB_BENCH := nginx-light wrk
# make deb: the Debian tools that build and check the package.
DEB_PKG   := debhelper dpkg-dev fakeroot lintian
# deps-build: what building and the demo need; deps: also what the tests need.
deps-build: ; @$(MAKE) --no-print-directory install-debs PKGS="$(DEB_BUILD)"
deps: ; @$(MAKE) --no-print-directory install-debs PKGS="$(DEB_BUILD) $(DEB_TEST) $(DEB_PKG)"
install-debs:
	@missing=$$(for p in $(PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "deps: all Debian packages present"; \
	elif [ "$$(id -u)" = 0 ]; then echo "deps: installing $$missing"; \
		(apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else echo "deps: missing Debian packages (run as root to install): $$missing"; exit 1; fi

demo: deps-build
	$(MAKE) all
	tests/demo.sh $(BUILD)

# OVS_CHECK_DEB=1: the package test (tests/e2e/test_deb.py, about 3
# minutes) runs too, so the one test command covers the .deb.
check: deps
	$(MAKE) all
	$(MAKE) SAN=1 all
	OVS_CHECK_DEB=1 tests/run.sh

# make test: the same as make check. make unit: only the C unit tests.
test: check
unit: all
	@fail=0; for t in $(UNIT_BINS); do $$t || fail=1; done; exit $$fail

# FUZZ_SECONDS per target (default 15), FUZZ_TARGETS="fuzz_record fuzz_http"
# to pick some, FUZZ_JOBS=N fuzzer processes at once (tests/fuzz/run.sh).
fuzz:
	tests/fuzz/build.sh
	tests/fuzz/run.sh

bench: deps
	@dpkg-query -W $(DEB_BENCH) >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEB_BENCH) >/dev/null
	$(MAKE) all
	bench/echo
	bench/pool

# --- install --------------------------------------------------------------
PREFIX    ?= /opt/ovs-agent-2.2
SYSCONFDIR?= /etc
# hooks_dir in agent.ini: the shipped hooks (hooks/*).
HOOKSDIR  ?= /usr/lib/ovs
# Manual pages, man/NAME.SECTION, into $(MANDIR)/manSECTION. Not gzipped:
# man reads them plain, and the Debian package's dh_compress gzips them.
MANDIR    ?= /usr/share/man
MAN_PAGES := $(wildcard man/*.[1-8])
DESTDIR   ?=
install: all install-man
	install -d $(DESTDIR)$(PREFIX)/utils $(DESTDIR)$(PREFIX)/db $(DESTDIR)$(PREFIX)/logs \
		$(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SYSCONFDIR)/ovs-agent/cert \
		$(DESTDIR)$(SYSCONFDIR)/init.d $(DESTDIR)$(SYSCONFDIR)/ovs \
		$(DESTDIR)$(SYSCONFDIR)/logrotate.d $(DESTDIR)/lib/systemd/system \
		$(DESTDIR)$(HOOKSDIR)
	install -d -m 0700 $(DESTDIR)$(SYSCONFDIR)/ovs-agent/db
	install -m 0755 $(BUILD)/bin/ovs-agent $(BUILD)/bin/ovs-agent-passwd $(DESTDIR)$(PREFIX)/bin/
	install -m 0755 $(BUILD)/bin/do_rpc $(DESTDIR)$(PREFIX)/utils/do_rpc
	ln -sf do_rpc $(DESTDIR)$(PREFIX)/utils/do_rpc.py
	install -m 0755 $(BUILD)/bin/db_kfv $(BUILD)/bin/db_del $(BUILD)/bin/db_dump \
		$(DESTDIR)$(PREFIX)/db/
	ln -sf db_kfv $(DESTDIR)$(PREFIX)/db/db_kfv.py
	ln -sf db_del $(DESTDIR)$(PREFIX)/db/db_del.py
	test -e $(DESTDIR)$(SYSCONFDIR)/ovs-agent/agent.ini || \
		install -m 0644 etc/agent.ini $(DESTDIR)$(SYSCONFDIR)/ovs-agent/agent.ini
	test -e $(DESTDIR)$(SYSCONFDIR)/ovs/repositories || \
		install -m 0644 etc/repositories $(DESTDIR)$(SYSCONFDIR)/ovs/repositories
	test -e $(DESTDIR)$(SYSCONFDIR)/ovs/repositories.options || \
		install -m 0644 etc/repositories.options $(DESTDIR)$(SYSCONFDIR)/ovs/repositories.options
	install -m 0755 init.d/ovs-agent $(DESTDIR)$(SYSCONFDIR)/init.d/ovs-agent
	install -m 0644 etc/ovs-agent.service $(DESTDIR)/lib/systemd/system/ovs-agent.service
	install -m 0644 etc/ovs-agent.logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/ovs-agent
	install -m 0755 hooks/network-bridge hooks/vif-bridge $(DESTDIR)$(HOOKSDIR)/
	install -m 0755 hooks/ovsrepositories $(DESTDIR)$(HOOKSDIR)/
	ln -sf ovsrepositories $(DESTDIR)$(HOOKSDIR)/ovs-makerepo
	ln -sf ovsrepositories $(DESTDIR)$(HOOKSDIR)/ovs-offlinerepo
	install -m 0755 hooks/ovs-cluster-configure $(DESTDIR)$(HOOKSDIR)/
	ln -sf ovs-cluster-configure $(DESTDIR)$(HOOKSDIR)/ovs-cluster-check
	install -m 0755 hooks/ovsrepositories $(DESTDIR)$(SYSCONFDIR)/init.d/ovsrepositories

install-man:
	for p in $(MAN_PAGES); do \
		install -D -m 0644 $$p $(DESTDIR)$(MANDIR)/man$${p##*.}/$${p##*/} || exit 1; done

# --- the Debian package -------------------------------------------------------
# make deb: the tree of DEB_TREE (HEAD: a clean checkout, nothing uncommitted)
# is unpacked under build/deb/src, debian/changelog written there with the
# version 2.2-BUILDNO (make deb BUILDNO=N for another), and
# dpkg-buildpackage -b run under fakeroot; the .deb, .buildinfo and .changes
# end in build/deb/ (DEB_OUT=), the unpacked tree is removed.
DEB_TREE  ?= HEAD
DEB_OUT   ?= build/deb
DEB_SRC   := $(DEB_OUT)/src/ovs-agent-$(VERSION)
deb:
	@$(MAKE) --no-print-directory install-debs PKGS="$(DEB_BUILD) $(DEB_PKG)"
	rm -rf $(DEB_OUT)/src && mkdir -p $(DEB_SRC)
	git archive --format=tar $(DEB_TREE) | tar -x -C $(DEB_SRC)
	{ printf 'ovs-agent (%s-%s) unstable; urgency=medium\n\n' $(VERSION) $(BUILDNO); \
	  printf '  * Build %s: git %s.\n\n' $(BUILDNO) "$$(git rev-parse --short $(DEB_TREE))"; \
	  printf ' -- %s  %s\n' "$$(sed -n 's/^Maintainer: //p' debian/control)" \
		"$$(git log -1 --format=%cD $(DEB_TREE))"; } >$(DEB_SRC)/debian/changelog
	cd $(DEB_SRC) && dpkg-buildpackage -b -us -uc -rfakeroot -j2
	mv $(DEB_OUT)/src/*.deb $(DEB_OUT)/src/*.buildinfo $(DEB_OUT)/src/*.changes $(DEB_OUT)/
	rm -rf $(DEB_OUT)/src
	@ls $(DEB_OUT)/ovs-agent_$(VERSION)-$(BUILDNO)_*.deb

# Not in make check: two package builds take minutes. .ci/run runs it.
check-deb:
	@$(MAKE) --no-print-directory install-debs PKGS="$(DEB_BUILD) $(DEB_PKG)"
	OVS_CHECK_DEB=1 E2E_TEST_TIMEOUT=900 python3 tests/e2e/test_deb.py

clean:
	rm -rf build build-san build-fuzz
