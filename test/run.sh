#!/bin/bash
# test/run.sh -- the full pg_asyncscan test suite on a fresh Debian 12 machine.
#
#   bash test/run.sh                 PostgreSQL 15, patched 15 and 18 (what CI
#                                    and README run)
#   bash test/run.sh --all-majors    15, 15p, 16, 17 and 18 (16 and 17 fail to
#                                    build where Debian's archive does not
#                                    serve their source: see below)
#   bash test/run.sh --majors 17,18  the majors listed; 15p is PostgreSQL 15
#                                    with the storage hook patches of
#                                    patches/15 (test/build_pg.sh 15 --patched)
#   bash test/run.sh --quick         skip installcheck-large (the table larger
#                                    than one 1 GB segment, the slow part)
#
# Runs as root (re-executes itself through sudo otherwise).  For each major
# it installs or builds that PostgreSQL (15: Debian 12's packages; 17 and 18:
# built once by test/build_pg.sh from Debian's source packages, with
# assertions and TAP support, into /var/cache/pg_asyncscan, reused later),
# builds the extension from a copy of this tree in a temporary directory and
# installs it, starts a throwaway cluster (data checksums, Unix socket only)
# as the postgres user, and runs against it
#   1. the pg_regress tests       (sql/, expected/)
#   2. the isolation tests        (test/specs, test/expected)
#   3. the TAP tests              (test/t; they start their own clusters)
#   4. the large regression tests (make installcheck-large), unless --quick
# Each suite runs even if an earlier one failed.  On failure it prints the
# diffs, TAP logs and server log tail and exits 1.  Clusters are stopped and
# temporary directories removed on every exit, unless KEEP=1.
#
# PostgreSQL 16 is in none of Debian's suites any more (bookworm has 15,
# trixie 17, unstable 18), so test/build_pg.sh cannot fetch its source; a
# major that cannot be built counts as one failure ("pgNN build") and the
# other majors still run.
#
# Environment: KEEP=1 keeps the work directories; PORT (default 54321) is
# the first port tried for the cluster; SUITE_TIMEOUT (seconds, default
# 900) bounds each suite; ASYNCSCAN_SOAK_SECONDS bounds the randomised soak
# (test/t/071_soak.pl, default 120).

set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=test/lib.sh
. "$HERE/lib.sh"

QUICK=0
MAJORS="15 15p 18"
while [ $# -gt 0 ]; do
	case $1 in
		--quick) QUICK=1 ;;
		--all-majors) MAJORS="15 15p 16 17 18" ;;
		--majors)
			[ $# -ge 2 ] || asyncscan_die "--majors needs a list, e.g. 15,18"
			MAJORS=${2//,/ }
			shift
			;;
		-h | --help)
			sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
			exit 0
			;;
		*) asyncscan_die "unknown argument: $1 (try --help)" ;;
	esac
	shift
done
for m in $MAJORS; do
	[[ $m =~ ^(1[5-9]|15p)$ ]] || asyncscan_die "not a PostgreSQL major we test: $m"
done

asyncscan_require_root "$0" "$@"

START_TIME=$(date +%s)
KEEP=${KEEP:-0}
SUITE_TIMEOUT=${SUITE_TIMEOUT:-900}
WORK=
DATA=
SUITE_PGID=

cleanup()
{
	local rc=$?
	set +e
	trap - EXIT INT TERM
	if [ -n "$SUITE_PGID" ]; then
		kill -TERM -- "-$SUITE_PGID" 2>/dev/null
		sleep 1
	fi
	if [ -n "${ASYNCSCAN_BUILD_PID:-}" ]; then
		# its own process group (setsid): make and the compilers go too
		kill -TERM -- "-$ASYNCSCAN_BUILD_PID" 2>/dev/null
	fi
	[ -n "${BUILD_LOG:-}" ] && rm -f "$BUILD_LOG"
	asyncscan_release_work
	exit "$rc"
}
asyncscan_trap_cleanup cleanup

# --- packages ---------------------------------------------------------------
asyncscan_install_deps
# the fault tests mount test/tools/slowfs as the postgres user
if [ -c /dev/fuse ]; then chmod 666 /dev/fuse; fi

# --- the suites -------------------------------------------------------------
SUITE_NAMES=()
SUITE_PASSED=()
SUITE_FAILED=()
TOTAL_PASSED=0
TOTAL_FAILED=0
TAP_FAILED_FILES=
RELIABILITY=()
SKIPPED=()

# print_failure_details SUITE -- what a developer needs to see
print_failure_details()
{
	local suite=$1 f n
	case $suite in
		regress | large)
			if [ -s "$SRC/regression.diffs" ]; then
				echo "----- $SRC/regression.diffs -----"
				head -n 1000 "$SRC/regression.diffs"
			fi
			;;
		isolation)
			for f in "$SRC/test/output_iso/regression.diffs" \
				"$SRC/output_iso/regression.diffs"; do
				if [ -s "$f" ]; then
					echo "----- $f -----"
					head -n 1000 "$f"
				fi
			done
			;;
		tap)
			# the logs of the failed test files, or of all when unknown
			local pattern t
			pattern=
			for t in $TAP_FAILED_FILES; do
				t=$(basename "$t" .pl)
				pattern="$pattern $SRC/tmp_check/log/regress_log_$t $SRC/tmp_check/log/${t}_*.log"
			done
			[ -n "$pattern" ] ||
				pattern="$SRC/tmp_check/log/regress_log_* $SRC/tmp_check/log/*.log"
			for f in $pattern; do
				[ -f "$f" ] || continue
				case $f in
					*/regress_log_*) n=200 ;;
					*) n=60 ;;
				esac
				echo "----- $f (last $n lines) -----"
				tail -n "$n" "$f"
			done
			;;
	esac
	echo "----- server log $SERVER_LOG (last 60 lines) -----"
	tail -n 60 "$SERVER_LOG" || true
	echo "-----"
}

# run_suite NAME KIND MAKE-ARGS... -- run one make target as postgres, count
# test files passed and failed from its output, record them.
run_suite()
{
	local name=$1 kind=$2 out rc passed=0 failed=0 total files bad
	shift 2
	out=$LOGS/$name.out
	echo
	asyncscan_log "suite $name: make $*"
	# The suite runs in a process group of its own, in the background, so
	# that an interrupt or a timeout can end all of it (make, prove, the
	# TAP test scripts) and "wait" returns at once when a signal arrives.
	rc=0
	# shellcheck disable=SC2016  # expanded by the inner bash
	setsid bash -c 'set -o pipefail; cd "$1" && shift && out=$1 && shift &&
		"$@" 2>&1 </dev/null | tee "$out"' _ "$SRC" "$out" \
		runuser -u postgres -- env HOME="$ASYNCSCAN_PG_HOME" \
		PATH="$PG_BINDIR:$PATH" \
		timeout --foreground --kill-after=30 "$SUITE_TIMEOUT" \
		make "$@" PG_CONFIG="$PG_CONFIG" \
		PGHOST="$SOCK" PGPORT="$PORT" PGUSER=postgres &
	SUITE_PGID=$!
	wait "$SUITE_PGID" || rc=$?
	# whatever the suite left running (after a timeout) goes too
	kill -TERM -- "-$SUITE_PGID" 2>/dev/null || true
	SUITE_PGID=
	if [ "$rc" -eq 124 ]; then
		echo "suite $name: timed out after $SUITE_TIMEOUT s"
	fi

	case $kind in
		pg_regress)
			# " All 8 tests passed." / " 2 of 8 tests failed."
			if total=$(grep -oE 'All [0-9]+ tests passed' "$out" | grep -oE '[0-9]+'); then
				passed=$total
			elif bad=$(grep -oE '[0-9]+ of [0-9]+ tests failed' "$out"); then
				failed=${bad%% of *}
				total=${bad#* of }
				total=${total%% *}
				passed=$((total - failed))
			fi
			;;
		prove)
			# "Files=3, Tests=40, ..." and, under "Test Summary Report",
			# one "test/t/NNN_x.pl (Wstat: 256 ...)" line per failed file
			TAP_FAILED_FILES=$(grep -oE '^[^ ]+\.pl +\(Wstat: ' "$out" |
				sed 's/ .*//' || true)
			if files=$(grep -oE '^Files=[0-9]+' "$out" | grep -oE '[0-9]+'); then
				failed=$(printf '%s' "$TAP_FAILED_FILES" | grep -c . || true)
				passed=$((files - failed))
			fi
			;;
	esac
	if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
		# make failed but no test reported failing: the harness itself broke
		# (missing files, timeout, server gone); count that as one failure
		echo "suite $name: make exited with status $rc"
		failed=1
	fi
	if [ "$rc" -eq 0 ] && [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
		echo "suite $name: no test ran"
		failed=1
	fi
	SUITE_NAMES+=("pg$PG_MAJOR $name")
	SUITE_PASSED+=("$passed")
	SUITE_FAILED+=("$failed")
	TOTAL_PASSED=$((TOTAL_PASSED + passed))
	TOTAL_FAILED=$((TOTAL_FAILED + failed))
	# the figures the TAP tests print for README's "Reliability" table
	RELIABILITY+=("$(sed -n "s/^# reliability: /pg$PG_MAJOR: /p" "$out")")
	storage_hook_skips "$name" "$out"
	if [ "$failed" -ne 0 ]; then
		echo
		echo "===== suite pg$PG_MAJOR $name FAILED: details ====="
		print_failure_details "$name"
	fi
}

# storage_hook_skips SUITE OUTPUT -- the storage hook tests skip on a stock
# server (expected: listed in the summary) but must run on 15p, where a
# skip means the patch did not take effect: counted as a failure there.
storage_hook_skips()
{
	local name=$1 files=("$2") skips
	[ "$name" = regress ] && files+=("$SRC/results/storage_hooks.out")
	skips=$(grep -hE 'skipped: the server lacks the storage hook patch|^storage hooks not in use' \
		"${files[@]}" 2>/dev/null | sort -u || true)
	[ -n "$skips" ] || return 0
	if [ "$PG_MAJOR" = 15p ]; then
		echo "suite $name: storage hook tests skipped on the patched server: $skips"
		SUITE_FAILED[-1]=$((SUITE_FAILED[-1] + 1))
		TOTAL_FAILED=$((TOTAL_FAILED + 1))
	else
		SKIPPED+=("pg$PG_MAJOR $name: $skips")
	fi
}

# run_major MAJOR -- build and install the extension for MAJOR, start a
# cluster, run every suite against it, stop it and remove its directory.
run_major()
{
	echo
	asyncscan_log "===== PostgreSQL $1 ====="
	asyncscan_use_major "$1" || {
		SUITE_NAMES+=("pg$1 build")
		SUITE_PASSED+=(0)
		SUITE_FAILED+=(1)
		TOTAL_FAILED=$((TOTAL_FAILED + 1))
		return 0
	}

	WORK=$(asyncscan_make_workdir "pg_asyncscan-test-pg$PG_MAJOR")
	export ASYNCSCAN_PG_HOME=$WORK
	SRC=$WORK/src
	DATA=$WORK/data
	SOCK=$WORK
	SERVER_LOG=$WORK/server.log
	LOGS=$WORK/logs
	mkdir -p "$LOGS"
	chown postgres: "$LOGS"

	asyncscan_log "copy tree to $SRC"
	asyncscan_copy_tree "$ROOT" "$SRC"
	asyncscan_build_install "$SRC"

	PORT=$(asyncscan_pick_port "${PORT:-54321}")
	asyncscan_log "initdb (data checksums) and start on port $PORT, socket in $SOCK"
	# Preloaded, as the README recommends: the worker IO method and the
	# statistics view need it.  (What needs no preload is tested by TAP
	# tests with clusters of their own.)
	asyncscan_initdb "$DATA" "$PORT" "$SOCK" \
		"shared_preload_libraries = 'pg_asyncscan'" \
		"shared_buffers = 128MB" \
		"fsync = off" \
		"max_connections = 40" \
		"log_min_messages = warning" \
		"log_line_prefix = '%m [%p] %q%a '"
	asyncscan_pg_start "$DATA" "$SERVER_LOG"

	# One "make installcheck" per kind of test, so that a failing
	# regression test does not keep the isolation and TAP tests from running.
	run_suite regress pg_regress installcheck ISOLATION= TAP_TESTS=
	run_suite isolation pg_regress installcheck REGRESS= TAP_TESTS=
	run_suite tap prove installcheck REGRESS= ISOLATION=
	if [ "$QUICK" = 1 ]; then
		echo
		asyncscan_log "--quick: skipping installcheck-large"
	else
		run_suite large pg_regress installcheck-large
	fi

	asyncscan_release_work
	WORK=
	DATA=
}

# Majors other than 15 that are not built yet are built in the background,
# one after the other, niced, while the suite runs against the first
# major: on a fresh machine that hides most of the 10 minutes a build takes.
# asyncscan_use_major waits for that build (and reports its failure).
to_build=
for major in $MAJORS; do
	[ "$major" = 15 ] || to_build="$to_build $major"
done
if [ -n "$to_build" ]; then
	BUILD_LOG=$(mktemp /tmp/pg_asyncscan-build.XXXXXX)
	asyncscan_log "building PostgreSQL$to_build in the background (log: $BUILD_LOG)"
	# shellcheck disable=SC2016  # expanded by the inner bash
	setsid nice -n 10 bash -c 'for m in $2; do
			case $m in
				*p) bash "$1" "${m%p}" --patched --cache "$3" ;;
				*) bash "$1" "$m" --cache "$3" ;;
			esac
		done' \
		_ "$HERE/build_pg.sh" "$to_build" "$ASYNCSCAN_PG_CACHE" \
		>"$BUILD_LOG" 2>&1 </dev/null &
	ASYNCSCAN_BUILD_PID=$!
fi

for major in $MAJORS; do
	run_major "$major"
done

# --- summary ----------------------------------------------------------------
echo
echo "===== pg_asyncscan test summary ($(($(date +%s) - START_TIME)) s) ====="
for i in "${!SUITE_NAMES[@]}"; do
	printf '  %-15s %3d passed, %d failed\n' "${SUITE_NAMES[$i]}" \
		"${SUITE_PASSED[$i]}" "${SUITE_FAILED[$i]}"
done
if [ ${#SKIPPED[@]} -gt 0 ]; then
	echo "skipped where they cannot run:"
	printf '  %s\n' "${SKIPPED[@]}"
fi
if [ ${#RELIABILITY[@]} -gt 0 ]; then
	echo "reliability figures (README \"Reliability\"):"
	printf '%s\n' "${RELIABILITY[@]}" | sed '/^$/d; s/^/  /'
fi
[ "$QUICK" = 1 ] && echo "  (--quick: installcheck-large not run)"
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
[ "$TOTAL_FAILED" -eq 0 ]
