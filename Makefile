# Makefile for pg_asyncscan (PGXS)

MODULE_big = pg_asyncscan
OBJS = \
	src/pg_asyncscan.o \
	src/planner.o \
	src/exec.o \
	src/explain.o \
	src/stream.o \
	src/pgstats.o \
	src/visibility.o \
	src/parallel_chunks.o \
	src/shmem.o \
	src/stats.o \
	src/storage_hooks.o \
	src/checksum.o \
	src/compat.o \
	src/io.o \
	src/io_method.o \
	src/io_sync.o \
	src/io_worker.o

# io_uring through liburing, found with pkg-config; without it the method
# is simply not offered
LIBURING_LIBS := $(shell pkg-config --libs liburing 2>/dev/null)
ifneq ($(LIBURING_LIBS),)
OBJS += src/io_uring.o
PG_CPPFLAGS += -DASYNCSCAN_HAVE_LIBURING $(shell pkg-config --cflags liburing)
SHLIB_LINK += $(LIBURING_LIBS)
endif

EXTENSION = pg_asyncscan
DATA = pg_asyncscan--0.1.sql
PGFILEDESC = "pg_asyncscan - asynchronous batched reads for sequential heap scans"

# regression tests (sql/, expected/)
REGRESS = setup guc planner explain explain_asyncio differential checked paths cursor_rescan errors methods storage_hooks parallel parallel_limit security badinput
# the table larger than one 1GB segment: slower, run by installcheck-large
REGRESS_LARGE = segment
REGRESS_OPTS = --inputdir=. --outputdir=.

# isolation tests (test/isolation: specs/, expected/)
ISOLATION = concurrent_writers serializable_skew
ISOLATION_OPTS = --inputdir=test/isolation --outputdir=test/isolation/output

# TAP tests (test/t)
TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

# our own sources build warning-free: test/run.sh (and so CI) builds with
# COPT=-Werror (test/lib.sh), a packager's newer compiler only warns
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

EXTRA_CLEAN = test/isolation/output test/tmp_check tmp_check results regression.diffs regression.out

# the checksum loops are written to be unrolled and vectorised, and are
# compiled with the options the server compiles its own copy with
src/checksum.o: CFLAGS += $(CFLAGS_UNROLL_LOOPS) $(CFLAGS_VECTORIZE)

# PGXS tracks no header dependencies: rebuild everything when a header changes
$(OBJS): $(wildcard src/*.h)

# run the slow regression tests (test/run.sh runs this after installcheck),
# after setup (the extension and io_analyze() in a fresh database)
installcheck-large:
	$(pg_regress_installcheck) $(REGRESS_OPTS) setup $(REGRESS_LARGE)

.PHONY: installcheck-large
