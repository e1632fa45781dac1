#!/bin/bash
# bench/run.sh -- the pg_asyncscan benchmark suite in one command.
#
#   bash bench/run.sh [--quick | --full] [options]
#
# Measures what issue 14's targets are judged on, side by side in one run,
# and writes report.md (targets met or not, headline table, "never slower"
# grid, details, plots), results.json and build.txt into
# bench/results/<timestamp>-<mode>/:
#   headline   1 client, no qual, cold / OS-warm / shared-buffer-hot, the
#              all-visible and the never-vacuumed table: PG15 Seq Scan,
#              AsyncSeqScan defaults, each io_method (and with direct_io),
#              PG18's Seq Scan (worker, io_uring), AsyncSeqScan on 18,
#              PG17's Seq Scan and AsyncSeqScan on 17
#   grid       Seq Scan vs AsyncSeqScan defaults for every table state
#              (all-visible, never-vacuumed, partly all-visible) x cache
#              state x query (no qual, cheap qual, expensive qual) x 1, 2,
#              4 clients
#   slow       ext4 on a loop device backed by slowfs (2 ms, and 0.5 ms in
#              --full, per request), the device's limit measured with fio
#   parallel   Gather with 2 workers, cold and warm
#   mixed      OLTP at a fixed rate next to a scanning client
#   hooks      issue 15's patched storage hooks: PostgreSQL 15 built with
#              patches/15 next to the stock 15 (same data), the
#              never-vacuumed table cold on the local disk and on the slow
#              device (2 ms): Seq Scan, AsyncSeqScan defaults and with
#              direct_reads=off on both, the all-visible table's
#              AsyncSeqScan in the same rounds, PG18's Seq Scan; a Bitmap
#              Heap Scan on the slow device (effective_io_concurrency
#              default and 32), stock vs patched
# Every timed run's result is checked against the Seq Scan's.
#
#   --quick           (default) the subset: headline and grid at scale 50,
#                     grid with 1 client (and 4 clients without quals),
#                     fewer rounds: ~23 min
#   --full            headline at scale 150 (1.9 GB), the whole grid at
#                     scale 50, every slow-device, mixed and hooks row:
#                     ~1.5-2 h
#   --runs N          rounds of every group (overrides the mode's 3-15)
#   --scale N         pgbench scale of the headline / parallel table
#   --grid-scale N    ... of the grid's tables (50)
#   --hot-scale N     ... of the shared-buffer-hot tables (8)
#   --slow-scale N    ... of the slow device's tables (quick 10, full 30)
#   --mixed-scale N   ... of the mixed workload's database (50)
#   --only LIST       only these groups (ids or prefixes: head, head-cold,
#                     grid, grid-hot, grid-warm-nv, par, slow, slow2000,
#                     mixed, hooks, hooks-bitmap; bench/matrix.py --dry-run
#                     --verbose lists them)
#   --configs LIST    only these configurations (bench/matrix.py --list)
#   --skip LIST       leave out: pg15p (the patched 15, and with it the
#                     hooks groups), pg17, pg18, slow, mixed, grid,
#                     parallel, headline, hooks
#   --keep-page-reporting
#                     leave the guest's free page reporting as it is (by
#                     default it is switched off for the run and restored
#                     after it: see "free page reporting" below)
#   --dry-run         print the groups and the estimated time, then exit
#   --explain         keep one cold EXPLAIN (ANALYZE, BUFFERS) per
#                     configuration of the cold 1-client groups (the
#                     report's appendix; --full does it anyway)
#   --ref REF         build pg_asyncscan from git REF (git archive) instead
#                     of the working tree
#   --no-build        reuse the pg_asyncscan.so of the previous run
#   --fresh-data      regenerate the clusters, tables and the slow device
#   --strict-plans    every AsyncSeqScan row must plan the Custom Scan (by
#                     default a Seq Scan is accepted, and reported, when
#                     pg_asyncscan is loaded and enabled: the planner stepped
#                     aside, as issue 14 allows where it cannot win)
#   --self-test-wrong-result
#                     test the harness: expect one row more than the Seq
#                     Scan returns, so that every timed run fails with
#                     "wrong result" (the report must say so)
#   --out DIR         result directory (default bench/results/<ts>-<mode>)
#   --report DIR      only (re)write DIR/report.md and plots from its
#                     results.json, measure nothing
#   --clean           stop and remove everything under the work directory
#                     (clusters, data, slow device); keeps the PostgreSQL 18
#                     and patched 15 builds and the PostgreSQL 17 root;
#                     then exit
#
# Needs root (drop_caches, apt-get, losetup, mount); servers, initdb and
# pgbench run as the postgres user.  Work directory (clusters, data and the
# slow device's backing file, kept between runs): /var/tmp/pg_asyncscan-bench,
# its mount points beside it in /var/tmp/pg_asyncscan-bench-mnt;
# PostgreSQL 18 build (test/build_pg.sh 18 --flavor bench), the patched
# PostgreSQL 15 (test/build_pg.sh 15 --patched --flavor bench: pg15-patched),
# PostgreSQL 17 (Debian trixie's package in a root file system made by
# test/debian_chroot.sh; the 17 server runs there, with the work directory
# bound at the same path) and the slowfs binary: /var/cache/pg_asyncscan-bench
# (made once).  Ports 5491 (PostgreSQL 15), 5492 (18), 5493 (17) and 5494
# (patched 15).  The
# servers are stopped and the slow device unmounted (ext4, loop device,
# slowfs) when the script ends, however it ends, and leftovers of a killed
# run are cleared at the start.
#
# Environment: BENCH_WORK, BENCH_CACHE override the two directories,
# BENCH_PORT the first port.

set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=test/lib.sh
. "$ROOT/test/lib.sh"

WORK=${BENCH_WORK:-/var/tmp/pg_asyncscan-bench}
WORK=${WORK%/}
# the slow device's mount points (bench/matrix.py: SlowDevice), beside the
# work directory so that the PostgreSQL 17 chroot, which binds the work
# directory, holds no copy of them
SLOWDEV_MNT=$WORK-mnt
CACHE=${BENCH_CACHE:-/var/cache/pg_asyncscan-bench}
PORT=${BENCH_PORT:-5491}
MODE=quick
DRY_RUN=0
OUT=
REF=
BUILD=1
CLEAN=0
KEEP_PAGE_REPORTING=0
REPORT_ONLY=
PYARGS=()
SKIP=

ORIG_ARGS=("$@")
usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; }

while [ $# -gt 0 ]; do
	case $1 in
		--quick) MODE=quick ;;
		--full) MODE=full ;;
		--runs | --scale | --grid-scale | --hot-scale | --slow-scale | --mixed-scale | --only | --configs)
			[ $# -ge 2 ] || asyncscan_die "$1 needs a value"
			PYARGS+=("$1" "$2")
			shift
			;;
		--skip)
			[ $# -ge 2 ] || asyncscan_die "$1 needs a value"
			SKIP=$2
			PYARGS+=("$1" "$2")
			shift
			;;
		--ref)
			[ $# -ge 2 ] || asyncscan_die "$1 needs a value"
			REF=$2
			shift
			;;
		--out)
			[ $# -ge 2 ] || asyncscan_die "$1 needs a value"
			OUT=$2
			shift
			;;
		--report)
			[ $# -ge 2 ] || asyncscan_die "$1 needs a value"
			REPORT_ONLY=$2
			shift
			;;
		--dry-run) DRY_RUN=1 ;;
		--keep-page-reporting) KEEP_PAGE_REPORTING=1 ;;
		--explain) PYARGS+=(--explain on) ;;
		--no-build) BUILD=0 ;;
		--fresh-data) PYARGS+=(--fresh-data) ;;
		--strict-plans) PYARGS+=(--strict-plans) ;;
		--self-test-wrong-result) PYARGS+=(--self-test-wrong-result) ;;
		--clean) CLEAN=1 ;;
		-h | --help)
			usage
			exit 0
			;;
		*) asyncscan_die "unknown argument: $1 (try --help)" ;;
	esac
	shift
done

export PYTHONDONTWRITEBYTECODE=1
if [ -n "$REPORT_ONLY" ]; then
	exec python3 "$HERE/report.py" "$REPORT_ONLY"
fi
for s in ${SKIP//,/ }; do
	case $s in
		pg15p | pg17 | pg18 | slow | mixed | grid | parallel | headline | hooks) ;;
		*) asyncscan_die "--skip: unknown group '$s' (pg15p, pg17, pg18, slow, mixed, grid, parallel, headline, hooks)" ;;
	esac
done
# the plan and its estimated duration, before anything is built
if [ "$CLEAN" = 0 ]; then
	python3 "$HERE/matrix.py" --mode "$MODE" --dry-run "${PYARGS[@]}" ||
		asyncscan_die "bad options (see above)"
fi
[ "$DRY_RUN" = 1 ] && exit 0

asyncscan_require_root "$0" "${ORIG_ARGS[@]}"

PG18_DIR=$CACHE/pg18
PG18_CONFIG=$PG18_DIR/bin/pg_config
PG15P_DIR=$CACHE/pg15-patched
PG15P_CONFIG=$PG15P_DIR/bin/pg_config
SLOWFS_BIN=$CACHE/slowfs/slowfs
LIBDIR=$WORK/lib
LIBDIR18=$WORK/lib18
LIBDIR17=$WORK/lib17
LIBDIR15P=$WORK/lib15p
PG17_BINDIR=/usr/lib/postgresql/17/bin
# what the selected groups need: which servers, the slow device
USED=" $(python3 "$HERE/matrix.py" --mode "$MODE" --used "${PYARGS[@]}") "
USE_PG18=0
[[ $USED == *" pg18 "* ]] && USE_PG18=1
USE_PG17=0
[[ $USED == *" pg17 "* ]] && USE_PG17=1
USE_PG15P=0
[[ $USED == *" pg15p "* ]] && USE_PG15P=1
USE_SLOW=0
[[ $USED == *" slow "* ]] && USE_SLOW=1

# in_pg17_root CMD... -- run CMD (as root) in the PostgreSQL 17 root, with
# $WORK at the same path
in_pg17_root()
{
	bash "$ROOT/test/debian_chroot.sh" run 17 --cache "$CACHE" --bind "$WORK" -- "$@"
}

# teardown_slowdev -- the slow device's leftovers.  matrix.py mounts it in
# a mount namespace of its own (see below), which goes away with its last
# process: if matrix.py was killed, that is its slowfs daemon (PID file
# $WORK/slowdev/slowfs.pid; killed only if it is still our slowfs), and with
# the namespace go the ext4 mount and its (autoclear) loop device.  Mounts
# in this namespace are from older versions of this script: ext4, then
# loop devices whose backing file is on our slowfs mount, then slowfs.
# Never fails.
teardown_slowdev()
{
	local dev pid
	pid=$(cat "$WORK/slowdev/slowfs.pid" 2>/dev/null || true)
	if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
		grep -qF "$SLOWDEV_MNT/fuse"; then
		kill "$pid" 2>/dev/null || true
		sleep 1
		kill -KILL "$pid" 2>/dev/null || true
		rm -f "$WORK/slowdev/slowfs.pid"
	fi
	if grep -qs " $SLOWDEV_MNT/ext4 " /proc/self/mountinfo; then
		umount "$SLOWDEV_MNT/ext4" 2>/dev/null || umount -l "$SLOWDEV_MNT/ext4" 2>/dev/null || true
	fi
	for dev in $(losetup -l -n -O NAME,BACK-FILE 2>/dev/null |
		awk -v p="$SLOWDEV_MNT/fuse/" 'index($2, p) == 1 {print $1}'); do
		losetup -d "$dev" 2>/dev/null || true
	done
	if grep -qs " $SLOWDEV_MNT/fuse " /proc/self/mountinfo; then
		fusermount3 -u "$SLOWDEV_MNT/fuse" 2>/dev/null ||
			fusermount3 -uz "$SLOWDEV_MNT/fuse" 2>/dev/null || true
	fi
}

# stop_everything -- our servers (only those whose data directory is under
# $WORK), the slow device and the older harness's slowfs mount; never fails
stop_everything()
{
	local d pg_ctl
	for d in "$WORK/pg15/data" "$WORK/pg18/data" "$WORK/pg15p/data"; do
		[ -f "$d/postmaster.pid" ] || continue
		pg_ctl=$PG_BINDIR/pg_ctl
		[ "$d" = "$WORK/pg18/data" ] && pg_ctl=$PG18_DIR/bin/pg_ctl
		[ "$d" = "$WORK/pg15p/data" ] && pg_ctl=$PG15P_DIR/bin/pg_ctl
		[ -x "$pg_ctl" ] || continue
		runuser -u postgres -- "$pg_ctl" -D "$d" -m fast -w -t 60 stop >/dev/null 2>&1 ||
			runuser -u postgres -- "$pg_ctl" -D "$d" -m immediate -w -t 30 stop \
				>/dev/null 2>&1 || true
	done
	d=$WORK/pg17/data
	if [ -f "$d/postmaster.pid" ] && [ -x "$CACHE/pg17-trixie/root$PG17_BINDIR/pg_ctl" ]; then
		in_pg17_root runuser -u postgres -- "$PG17_BINDIR/pg_ctl" -D "$d" -m fast -w \
			-t 60 stop >/dev/null 2>&1 ||
			in_pg17_root runuser -u postgres -- "$PG17_BINDIR/pg_ctl" -D "$d" \
				-m immediate -w -t 30 stop >/dev/null 2>&1 || true
	fi
	teardown_slowdev
	if grep -qs " $WORK/slowfs-mnt " /proc/self/mountinfo; then
		runuser -u postgres -- fusermount3 -u "$WORK/slowfs-mnt" 2>/dev/null ||
			fusermount3 -uz "$WORK/slowfs-mnt" 2>/dev/null || true
	fi
}

# --- free page reporting ------------------------------------------------------
# A virtual machine whose balloon driver reports free memory to the host
# (virtio-balloon free page reporting; Linux's page_reporting module) hands
# the page cache that drop_caches frees back to the host, which discards it.
# Whoever touches such a page next -- the kernel filling the page cache for
# a cold read, and the process the data is copied to -- waits for the host
# to fault it in again: on this project's machine a cold scan of 1.9 GB then
# spends ~1 s more in the kernel, in one run or the next depending on how
# far reporting got (measured: backend system time 150 vs 1,150 ms, same
# scan, same plan, for Seq Scan and AsyncSeqScan alike).  That is no
# property of storage or of either scan, and a physical server has no such
# cost, so for the run page_reporting_order is raised to the largest value
# the kernel accepts (on this machine's 6.18, 11: one above the largest page
# order, so that no free block is large enough to be reported) and restored
# on every exit; the report says which.  The original value is
# kept in $WORK until it is restored, so that a run killed before it could
# restore leaves it to the next run (or --clean) to put back.
PAGE_REPORTING_ORDER=/sys/module/page_reporting/parameters/page_reporting_order
PAGE_REPORTING_SAVED=$WORK/page_reporting_order.orig
restore_page_reporting()
{
	[ -f "$PAGE_REPORTING_SAVED" ] || return 0
	if cat "$PAGE_REPORTING_SAVED" >"$PAGE_REPORTING_ORDER" 2>/dev/null; then
		rm -f "$PAGE_REPORTING_SAVED"
	else
		echo "could not restore $PAGE_REPORTING_ORDER to $(cat "$PAGE_REPORTING_SAVED")" >&2
	fi
}
# stop_page_reporting -- prints what the report states ("" when the machine
# has no free page reporting or --keep-page-reporting)
stop_page_reporting()
{
	[ -w "$PAGE_REPORTING_ORDER" ] || return 0
	if [ "$KEEP_PAGE_REPORTING" = 1 ]; then
		echo "kept page_reporting_order=$(cat "$PAGE_REPORTING_ORDER")"
		return 0
	fi
	local order
	mkdir -p "$WORK"
	[ -f "$PAGE_REPORTING_SAVED" ] || cat "$PAGE_REPORTING_ORDER" >"$PAGE_REPORTING_SAVED"
	order=$(cat "$PAGE_REPORTING_SAVED")
	while [ "$order" -lt 64 ] && echo $((order + 1)) >"$PAGE_REPORTING_ORDER" 2>/dev/null; do
		order=$((order + 1))
	done
	[ "$(cat "$PAGE_REPORTING_ORDER")" = "$order" ] ||
		asyncscan_die "could not raise $PAGE_REPORTING_ORDER; use --keep-page-reporting"
	echo "page_reporting_order=$order for the run (was $(cat "$PAGE_REPORTING_SAVED"))"
}

if [ "$CLEAN" = 1 ]; then
	stop_everything
	restore_page_reporting
	asyncscan_log "removing $WORK and $SLOWDEV_MNT (the PostgreSQL 18 and patched 15 builds and the 17 root in $CACHE stay)"
	grep -qs " $SLOWDEV_MNT/" /proc/self/mountinfo &&
		asyncscan_die "something is still mounted below $SLOWDEV_MNT"
	rm -rf "$WORK" "$SLOWDEV_MNT"
	exit 0
fi

PY_PID=
cleanup()
{
	local rc=$?
	set +e
	trap - EXIT INT TERM HUP
	stop_everything
	restore_page_reporting
	exit "$rc"
}
# on_signal MESSAGE RC -- stop the harness (it stops its servers and saves
# what it measured), then exit through cleanup
on_signal()
{
	echo "$1: stopping" >&2
	if [ -n "$PY_PID" ]; then
		kill -TERM "$PY_PID" 2>/dev/null
		wait "$PY_PID" 2>/dev/null
	fi
	exit "$2"
}
trap cleanup EXIT
trap 'on_signal interrupted 130' INT
trap 'on_signal terminated 143' TERM HUP

T_START=$(date +%s)
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${OUT:-$HERE/results/$STAMP-$MODE}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
# the log keeps running through an interrupt, to record how it ended
exec > >(trap '' INT TERM HUP; exec tee -a "$OUT/run.log") 2>&1
asyncscan_log "pg_asyncscan benchmark, mode $MODE, results in $OUT"

# --- packages --------------------------------------------------------------
# fio: the slow device's limit; e2fsprogs: its ext4; util-linux: losetup,
# fincore
ASYNCSCAN_PACKAGES+=(gnuplot-nox fuse3 libfuse3-dev util-linux python3 fio e2fsprogs)
asyncscan_install_deps
stop_everything

# --- PostgreSQL 18 (built once, cached) -------------------------------------
# optimised, no assertions: the same build as for the tests' other majors,
# flavour "bench"
if [ "$USE_PG18" = 1 ]; then
	bash "$ROOT/test/build_pg.sh" 18 --flavor bench --cache "$CACHE" ||
		asyncscan_die "PostgreSQL 18 build failed (test/build_pg.sh)"
fi

# --- PostgreSQL 15 with the storage hook patches (built once, cached) ------
# the same Debian source as the stock 15 package (bookworm), upstream's
# tree with patches/15 applied, optimised like the 18 build; rebuilt when
# the patches change (build_pg.sh's stamp)
if [ "$USE_PG15P" = 1 ]; then
	bash "$ROOT/test/build_pg.sh" 15 --patched --flavor bench --cache "$CACHE" ||
		asyncscan_die "patched PostgreSQL 15 build failed (test/build_pg.sh 15 --patched)"
fi

# --- PostgreSQL 17 (Debian trixie's package, in a chroot; made once) --------
if [ "$USE_PG17" = 1 ]; then
	bash "$ROOT/test/debian_chroot.sh" prepare 17 --cache "$CACHE" ||
		asyncscan_die "the PostgreSQL 17 root could not be made (test/debian_chroot.sh)"
fi

# --- slowfs (built when its source changed) --------------------------------
if [ "$USE_SLOW" = 1 ]; then
	sum=$(sha256sum "$ROOT/test/tools/slowfs.c" | cut -d' ' -f1)
	if [ ! -x "$SLOWFS_BIN" ] || [ "$(cat "$SLOWFS_BIN.sha256" 2>/dev/null)" != "$sum" ]; then
		asyncscan_log "building slowfs ($ROOT/test/tools/slowfs.c)"
		mkdir -p "$(dirname "$SLOWFS_BIN")"
		# shellcheck disable=SC2046
		cc -O2 -Wall -Wextra $(pkg-config --cflags fuse3) -o "$SLOWFS_BIN" \
			"$ROOT/test/tools/slowfs.c" $(pkg-config --libs fuse3) -lpthread
		echo "$sum" >"$SLOWFS_BIN.sha256"
	fi
	PYARGS+=(--slowfs "$SLOWFS_BIN")
fi

# --- pg_asyncscan -------------------------------------------------------------
# Built from a copy of the tree (or of git REF), once per PostgreSQL major,
# and loaded by the bench clusters from private directories ($LIBDIR for
# 15, $LIBDIR15P for the patched 15, $LIBDIR17, $LIBDIR18;
# dynamic_library_path), so a "make install" by someone else on this
# machine during the run does not change the library under test.  On 15
# the system installation is only used by CREATE EXTENSION (made with "make
# install" if it is missing); the patched 15's prefix, which only the
# benchmark uses, gets the same build each time, for the same.  On 18 only the
# control and SQL files go into the PostgreSQL 18 prefix: 18 looks for the
# "$libdir/pg_asyncscan" of CREATE FUNCTION in dynamic_library_path too,
# so CREATE EXTENSION loads the private copy.
mkdir -p "$WORK"
chown postgres: "$WORK"
BUILD_INFO=$OUT/build.txt
if [ "$BUILD" = 1 ]; then
	SRC=$WORK/build/src
	rm -rf "$WORK/build"
	mkdir -p "$SRC"
	if [ -n "$REF" ]; then
		asyncscan_log "pg_asyncscan from git $REF"
		git -C "$ROOT" archive "$REF" | tar -C "$SRC" -xf -
		chown -R postgres: "$WORK/build"
		DESCRIBE=$(git -C "$ROOT" describe --always "$REF" 2>/dev/null || echo "$REF")
		COMMIT=$(git -C "$ROOT" rev-parse "$REF")
	else
		asyncscan_log "pg_asyncscan from the working tree $ROOT"
		asyncscan_copy_tree "$ROOT" "$SRC"
		DESCRIBE=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
		COMMIT=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
	fi
	chown -R postgres: "$WORK/build"
	[ "$USE_PG18" = 1 ] && cp -a "$SRC" "$WORK/build/src18"
	[ "$USE_PG17" = 1 ] && cp -a "$SRC" "$WORK/build/src17"
	[ "$USE_PG15P" = 1 ] && cp -a "$SRC" "$WORK/build/src15p"
	asyncscan_log "building pg_asyncscan for PostgreSQL 15"
	asyncscan_as_pg make -C "$SRC" -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG" >/dev/null ||
		asyncscan_die "pg_asyncscan build failed"
	mkdir -p "$LIBDIR"
	install -m 755 "$SRC/pg_asyncscan.so" "$LIBDIR/pg_asyncscan.so"
	if [ "$USE_PG18" = 1 ]; then
		asyncscan_log "building pg_asyncscan for PostgreSQL 18"
		asyncscan_as_pg make -C "$WORK/build/src18" -s -j"$(nproc)" \
			PG_CONFIG="$PG18_CONFIG" >/dev/null ||
			asyncscan_die "pg_asyncscan build for PostgreSQL 18 failed"
		mkdir -p "$LIBDIR18"
		install -m 755 "$WORK/build/src18/pg_asyncscan.so" "$LIBDIR18/pg_asyncscan.so"
		install -m 644 "$WORK/build/src18/pg_asyncscan.control" \
			"$WORK/build/src18"/pg_asyncscan--*.sql \
			"$("$PG18_CONFIG" --sharedir)/extension/"
	fi
	if [ "$USE_PG15P" = 1 ]; then
		# against the patched server's headers: SMGR_HAVE_WRAPPER (smgr.h)
		# compiles the hooks in; the library looks the patch's function up
		# when it is loaded
		asyncscan_log "building pg_asyncscan for the patched PostgreSQL 15"
		asyncscan_as_pg make -C "$WORK/build/src15p" -s -j"$(nproc)" \
			PG_CONFIG="$PG15P_CONFIG" >/dev/null ||
			asyncscan_die "pg_asyncscan build for the patched PostgreSQL 15 failed"
		mkdir -p "$LIBDIR15P"
		install -m 755 "$WORK/build/src15p/pg_asyncscan.so" "$LIBDIR15P/pg_asyncscan.so"
		make -C "$WORK/build/src15p" -s install PG_CONFIG="$PG15P_CONFIG" >/dev/null ||
			asyncscan_die "pg_asyncscan install into $PG15P_DIR failed"
	fi
	if [ "$USE_PG17" = 1 ]; then
		# built and installed in the root (its compiler and liburing); as
		# on 15 the preloaded copy is the private one, the installed one
		# serves CREATE EXTENSION
		asyncscan_log "building pg_asyncscan for PostgreSQL 17 (in the trixie root)"
		in_pg17_root runuser -u postgres -- make -C "$WORK/build/src17" -s -j"$(nproc)" \
			PG_CONFIG="$PG17_BINDIR/pg_config" >/dev/null ||
			asyncscan_die "pg_asyncscan build for PostgreSQL 17 failed"
		in_pg17_root make -C "$WORK/build/src17" -s install \
			PG_CONFIG="$PG17_BINDIR/pg_config" >/dev/null ||
			asyncscan_die "pg_asyncscan install into the PostgreSQL 17 root failed"
		mkdir -p "$LIBDIR17"
		install -m 755 "$WORK/build/src17/pg_asyncscan.so" "$LIBDIR17/pg_asyncscan.so"
	fi
	if [ ! -f "$("$PG_CONFIG" --sharedir)/extension/pg_asyncscan.control" ]; then
		asyncscan_log "pg_asyncscan not installed yet: make install"
		make -C "$SRC" -s install PG_CONFIG="$PG_CONFIG" >/dev/null
	fi
	{
		echo "pg_asyncscan_source=${REF:-working tree}"
		echo "pg_asyncscan_describe=$DESCRIBE"
		echo "pg_asyncscan_commit=$COMMIT"
		if [ -z "$REF" ]; then
			echo "pg_asyncscan_dirty_files=$(git -C "$ROOT" status --porcelain -- src \
				Makefile pg_asyncscan.control 'pg_asyncscan--*.sql' 2>/dev/null |
				awk '{print $2}' | tr '\n' ' ')"
		fi
	} >"$WORK/lib/build.txt"
fi
[ -f "$LIBDIR/pg_asyncscan.so" ] || asyncscan_die "no $LIBDIR/pg_asyncscan.so: run without --no-build"
if [ "$USE_PG17" = 1 ]; then
	[ -f "$LIBDIR17/pg_asyncscan.so" ] ||
		asyncscan_die "no $LIBDIR17/pg_asyncscan.so: run without --no-build"
fi
if [ "$USE_PG15P" = 1 ]; then
	[ -f "$LIBDIR15P/pg_asyncscan.so" ] ||
		asyncscan_die "no $LIBDIR15P/pg_asyncscan.so: run without --no-build"
	[ -f "$("$PG15P_CONFIG" --sharedir)/extension/pg_asyncscan.control" ] ||
		asyncscan_die "pg_asyncscan is not installed in $PG15P_DIR: run without --no-build"
fi
if [ "$USE_PG18" = 1 ]; then
	[ -f "$LIBDIR18/pg_asyncscan.so" ] ||
		asyncscan_die "no $LIBDIR18/pg_asyncscan.so: run without --no-build"
	[ -f "$("$PG18_CONFIG" --sharedir)/extension/pg_asyncscan.control" ] ||
		asyncscan_die "pg_asyncscan is not installed in $PG18_DIR: run without --no-build"
fi
{
	cat "$WORK/lib/build.txt" 2>/dev/null
	echo "pg_asyncscan_so_sha256=$(sha256sum "$LIBDIR/pg_asyncscan.so" | cut -d' ' -f1)"
	[ "$USE_PG18" = 1 ] &&
		echo "pg_asyncscan_pg18_so_sha256=$(sha256sum "$LIBDIR18/pg_asyncscan.so" | cut -d' ' -f1)"
	echo "liburing=$(dpkg-query -W -f='${Version}' liburing2 2>/dev/null)"
	echo "gcc=$(gcc -dumpfullversion 2>/dev/null)"
	echo "pg15_package=$(dpkg-query -W -f='${Version}' "postgresql-$PG_MAJOR" 2>/dev/null)"
	[ -f "$PG18_DIR/.built" ] && sed 's/^/pg18_build=/' "$PG18_DIR/.built"
	if [ "$USE_PG15P" = 1 ]; then
		echo "pg_asyncscan_pg15p_so_sha256=$(sha256sum "$LIBDIR15P/pg_asyncscan.so" | cut -d' ' -f1)"
		sed 's/^/pg15p_build=/' "$PG15P_DIR/.built"
		echo "pg15p_patches=$(cd "$ROOT/patches/15" && printf '%s ' *.patch)"
	fi
	if [ "$USE_PG17" = 1 ]; then
		echo "pg_asyncscan_pg17_so_sha256=$(sha256sum "$LIBDIR17/pg_asyncscan.so" | cut -d' ' -f1)"
		echo "pg17_chroot=$(head -n 1 "$CACHE/pg17-trixie/.built")"
		# shellcheck disable=SC2016  # dpkg-query's own ${FIELD} syntax
		echo "pg17_liburing=$(in_pg17_root dpkg-query -W -f='${Version}' liburing2 2>/dev/null)"
		echo "pg17_gcc=$(in_pg17_root gcc -dumpfullversion 2>/dev/null)"
	fi
	echo "slowfs_sha256=$(sha256sum "$ROOT/test/tools/slowfs.c" | cut -d' ' -f1)"
	echo "bench_commit=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null)"
	echo "command=bash bench/run.sh ${ORIG_ARGS[*]}"
} >"$BUILD_INFO"

# --- the matrix -----------------------------------------------------------------
# in the background, so that a signal to this script is handled at once; in
# a mount namespace of its own (unshare execs python3: PY_PID is the
# harness), so that the slow device's mounts are invisible to every other
# mount namespace on the machine and none can keep them alive
PAGE_REPORTING=$(stop_page_reporting) || exit 1
[ -z "$PAGE_REPORTING" ] || asyncscan_log "free page reporting: $PAGE_REPORTING"
unshare --mount --propagation private -- python3 "$HERE/matrix.py" --mode "$MODE" --out "$OUT" --lib "$LIBDIR" \
	--page-reporting "$PAGE_REPORTING" \
	--pg18 "$PG18_DIR" --lib18 "$LIBDIR18" --pg17-cache "$CACHE" --lib17 "$LIBDIR17" \
	--pg15p "$PG15P_DIR" --lib15p "$LIBDIR15P" \
	--workdir "$WORK" --port-base "$PORT" "${PYARGS[@]}" &
PY_PID=$!
rc=0
wait "$PY_PID" || rc=$?
PY_PID=
stop_everything
# exit 3: the harness ran to the end but some runs failed (a wrong result, a
# server error): the report shows them
[ "$rc" = 0 ] || [ "$rc" = 3 ] ||
	asyncscan_die "the benchmark harness failed (exit $rc); see $OUT/run.log"

# --- report -----------------------------------------------------------------------
python3 "$HERE/report.py" "$OUT"
[ "$rc" = 0 ] ||
	asyncscan_die "some runs FAILED (wrong result or error): see 'Failed runs' in $OUT/report.md"
asyncscan_log "done in $(( ($(date +%s) - T_START) / 60 )) min $(( ($(date +%s) - T_START) % 60 )) s:" \
	"$OUT/report.md"
