#!/bin/bash
# test/run.sh -- the full pg_asyncscan test suite on a fresh Debian 12 machine.
#
#   bash test/run.sh                 PostgreSQL 15, patched 15, 17 and 18
#                                    (what CI and README run)
#   bash test/run.sh --all-majors    15, 15p, 16, 17 and 18 (16 cannot be
#                                    had: see below)
#   bash test/run.sh --majors 17,18  the majors listed; 15p is PostgreSQL 15
#                                    with the storage hook patches of
#                                    patches/15 (test/build_pg.sh 15 --patched)
#   bash test/run.sh --quick         skip installcheck-large (the table larger
#                                    than one 1 GB segment, the slow part)
#   bash test/run.sh --suites package,regress
#                                    only the suites listed (regress,
#                                    isolation, tap, large, package); the
#                                    majors with none of them to run are left
#                                    out
#
# Runs as root (re-executes itself through sudo otherwise).  For each major
# it gets that PostgreSQL (test/lib.sh: asyncscan_use_major):
#   15  Debian 12's own packages;
#   17  Debian 13 (trixie)'s own binary packages, in a trixie root file
#       system that test/debian_chroot.sh makes once in
#       /var/cache/pg_asyncscan/pg17-trixie (2-5 minutes, reused later);
#       this script then runs itself inside that root ("--majors 17" there,
#       where 17 is the system's own major) in the background, beside the
#       majors after it, and at the end shows its output and takes over
#       its results;
#   18  built once by test/build_pg.sh from Debian's source package, with
#       assertions and TAP support, into /var/cache/pg_asyncscan/pg18
#       (5-10 minutes, reused later);
# builds the extension from a copy of this tree in a temporary directory and
# installs it, starts a throwaway cluster (data checksums, Unix socket only)
# as the postgres user, and runs against it
#   1. the pg_regress tests       (sql/, expected/)
#   2. the isolation tests        (test/isolation)
#   3. the TAP tests              (test/t; they start their own clusters)
#   4. the large regression tests (make installcheck-large), unless --quick
# and, for the system's own major only (15; once per run, after its other
# suites, because installing the package replaces what "make install" put
# there), stops that cluster and runs
#   5. the package suite: builds the Debian package (debian/, pg_buildext)
#      with dpkg-buildpackage as the postgres user from another copy of the
#      tree, checks the metadata (META.json, control file, debian/changelog)
#      agree, installs the .deb with dpkg -i, checks where dpkg -L puts its
#      files, starts a throwaway cluster that preloads the packaged library,
#      runs CREATE EXTENSION and an AsyncSeqScan with each IO method against
#      the Seq Scan's result, stops the cluster, purges the package and puts
#      back the files the package had replaced (also on any other exit).
# Each suite runs even if an earlier one failed.  On failure it prints the
# diffs, TAP logs and server log tail and exits 1.  Clusters are stopped and
# temporary directories removed on every exit, unless KEEP=1.
#
# Skipped tests: before the suites it finds out whether the postgres user
# can mount a FUSE file system (the slowfs tests) and set up an io_uring
# here, and says so.  A TAP test skipped for a reason this machine does not
# have (FUSE usable but a slowfs test skipped, io_uring usable but an
# io_uring test skipped, a reason it does not know) counts as FAILED; one
# that cannot run here counts as skipped, and the closing line says
# "N passed, N failed, N skipped".
#
# PostgreSQL 16 is in none of Debian's suites any more (bookworm has 15,
# trixie 17, unstable 18), so test/build_pg.sh cannot fetch its source; a
# major that cannot be had counts as one failure ("pgNN build") and the
# other majors still run.
#
# Environment: KEEP=1 keeps the work directories; PORT (default 54321) is
# the first port tried for the cluster; SUITE_TIMEOUT (seconds, default
# 900) bounds each suite; ASYNCSCAN_SOAK_SECONDS, ASYNCSCAN_WORKER_EXITS_SECONDS
# and ASYNCSCAN_TORN_SECONDS bound the time-bounded TAP tests (071_soak.pl,
# 022_worker_exits.pl, 081_torn_reads.pl; default 60, 30 and 15 s on stock
# 15, 30, 20 and 10 s on the other majors: set_test_durations);
# ASYNCSCAN_CANCEL_SCANS is 060_cancel_storm.pl's scans per method (160,
# elsewhere 80).  ASYNCSCAN_RESULTS_FILE (set by the
# run that starts this one inside a chroot): where to write the results for
# it.

set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=test/lib.sh
. "$HERE/lib.sh"

QUICK=0
MAJORS="15 15p 17 18"
ALL_SUITES="regress isolation tap large package"
SUITES=$ALL_SUITES
while [ $# -gt 0 ]; do
	case $1 in
		--quick) QUICK=1 ;;
		--suites)
			[ $# -ge 2 ] || asyncscan_die "--suites needs a list, e.g. package or regress,tap"
			SUITES=${2//,/ }
			shift
			;;
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
for s in $SUITES; do
	[[ " $ALL_SUITES " == *" $s "* ]] || asyncscan_die "not a suite: $s (suites: $ALL_SUITES)"
done

# suite_wanted NAME -- is suite NAME to run (--suites, --quick)?
suite_wanted()
{
	[ "$1" = large ] && [ "$QUICK" = 1 ] && return 1
	[[ " $SUITES " == *" $1 "* ]]
}

# the suites that run against the cluster run_major starts, for every major
CLUSTER_SUITES=
for s in regress isolation tap large; do
	suite_wanted "$s" && CLUSTER_SUITES="$CLUSTER_SUITES $s"
done
CLUSTER_SUITES=${CLUSTER_SUITES# }
# the package suite runs on the system's own major only: without a cluster
# suite the other majors have nothing to run
if [ -z "$CLUSTER_SUITES" ]; then
	kept=
	for m in $MAJORS; do
		if [ "$m" = "$ASYNCSCAN_SYSTEM_MAJOR" ]; then
			kept="$kept $m"
		else
			asyncscan_log "PostgreSQL $m: none of the suites $SUITES runs there: left out"
		fi
	done
	MAJORS=${kept# }
	[ -n "$MAJORS" ] || asyncscan_die "the suites $SUITES run only on PostgreSQL $ASYNCSCAN_SYSTEM_MAJOR"
fi

asyncscan_require_root "$0" "$@"

START_TIME=$(date +%s)
KEEP=${KEEP:-0}
SUITE_TIMEOUT=${SUITE_TIMEOUT:-900}
RESULTS_FILE=${ASYNCSCAN_RESULTS_FILE:-}
WORK=
DATA=
SUITE_PGID=
CHROOT_PID=
CHROOT_MAJOR=
CHROOT_WORK=
CHROOT_LOG=
# background preparations of majors (see the end): pid and log per major
declare -A PREP_PID=() PREP_LOG=()

# What the package suite (run_package_suite) has put on the system, for
# package_cleanup: the package installed, the cluster started, the tar
# file with the files the package replaced.
PKG_NAME=
PKG_DATA=
PKG_SAVED=

# package_cleanup -- undo what the package suite did, whatever state it
# stopped in: stop its cluster, purge its package, put back the files the
# package replaced.  Safe to call again; run_package_suite calls it on its
# way out, cleanup on every exit.
package_cleanup()
{
	if [ -n "$PKG_DATA" ]; then
		asyncscan_pg_stop "$PKG_DATA"
		PKG_DATA=
	fi
	if [ -n "$PKG_NAME" ]; then
		if package_present "$PKG_NAME"; then
			local log
			log=$(mktemp /tmp/pg_asyncscan-purge.XXXXXX)
			package_dpkg "$log" --purge "$PKG_NAME" || {
				echo "package suite: dpkg --purge $PKG_NAME failed:"
				cat "$log"
			}
			rm -f "$log"
		fi
		PKG_NAME=
	fi
	if [ -n "$PKG_SAVED" ]; then
		tar -C / -xpf "$PKG_SAVED" ||
			echo "package suite: could not put back the files in $PKG_SAVED"
		PKG_SAVED=
	fi
}

# package_present NAME -- is Debian package NAME on the system in any
# state but "not installed" (installed, unpacked, half-configured,
# config-files, ...)?
package_present()
{
	local status
	status=$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) || return 1
	[ -n "$status" ] && [ "$status" != not-installed ]
}

# package_dpkg LOG ARGS... -- dpkg ARGS, output to LOG; waits up to 120 s
# for the dpkg lock when another process (an apt-get of another session)
# holds it.
package_dpkg()
{
	local log=$1 i rc
	shift
	for i in $(seq 60); do
		rc=0
		DEBIAN_FRONTEND=noninteractive dpkg "$@" >"$log" 2>&1 </dev/null || rc=$?
		[ "$rc" -ne 0 ] && grep -qE 'locked by another process' "$log" || return "$rc"
		sleep 2
	done
	return "$rc"
}

# package_suite_runs -- does this run include the package suite (on the
# system's own major)?
package_suite_runs()
{
	suite_wanted package && [[ " $MAJORS " == *" $ASYNCSCAN_SYSTEM_MAJOR "* ]]
}

cleanup()
{
	local rc=$?
	set +e
	# a second INT or TERM must not cut the clean-up short
	trap '' INT TERM
	trap - EXIT
	if [ -n "$SUITE_PGID" ]; then
		kill -TERM -- "-$SUITE_PGID" 2>/dev/null
		sleep 1
	fi
	[ -n "$CHROOT_PID" ] && stop_chroot_run
	[ -n "$CHROOT_LOG" ] && rm -f "$CHROOT_LOG"
	release_chroot_work
	package_cleanup
	local pid f
	for pid in "${PREP_PID[@]}"; do
		# each in its own process group (setsid): make, the compilers,
		# debootstrap and apt-get go too
		kill -TERM -- "-$pid" 2>/dev/null
	done
	for f in "${PREP_LOG[@]}"; do rm -f "$f"; done
	asyncscan_release_work
	exit "$rc"
}

# stop_chroot_run -- end the run of this script inside a chroot
# (start_major_in_chroot): SIGTERM to the chroot's first process, which passes
# it on to the inner run (it stops its servers and removes its work
# directory); after 120 s SIGKILL, which ends every process in the
# chroot's PID namespace.  Its mounts go with its namespace.
stop_chroot_run()
{
	local init i
	init=$(pgrep -P "$CHROOT_PID" || true)
	[ -n "$init" ] && kill -TERM "$init" 2>/dev/null
	for i in $(seq 120); do
		kill -0 "$CHROOT_PID" 2>/dev/null || break
		sleep 1
	done
	if kill -0 "$CHROOT_PID" 2>/dev/null; then
		echo "the run in the chroot did not end in 120 s: killing it"
		init=$(pgrep -P "$CHROOT_PID" || true)
		[ -n "$init" ] && kill -KILL "$init" 2>/dev/null
		wait "$CHROOT_PID" 2>/dev/null
	fi
	CHROOT_PID=
}
asyncscan_trap_cleanup cleanup

# --- packages ---------------------------------------------------------------
# (debootstrap now, not in the background next to test/build_pg.sh's
# apt-get)
for major in $MAJORS; do
	if [ "$(asyncscan_major_source "$major")" = chroot ]; then
		ASYNCSCAN_PACKAGES+=(debootstrap)
		break
	fi
done
# the package suite: what dpkg-buildpackage needs for debian/ (its
# Build-Depends beyond the packages above, and build-essential, which
# dpkg-checkbuilddeps requires)
if package_suite_runs; then
	ASYNCSCAN_PACKAGES+=(build-essential dpkg-dev debhelper postgresql-server-dev-all)
fi
asyncscan_install_deps

# --- the suites -------------------------------------------------------------
SUITE_NAMES=()
SUITE_PASSED=()
SUITE_FAILED=()
SUITE_SKIPPED=()
SUITE_NOTES=()
TOTAL_PASSED=0
TOTAL_FAILED=0
TOTAL_SKIPPED=0
TAP_FAILED_FILES=
RELIABILITY=()
SKIP_REPORT=()
# why FUSE and io_uring cannot be used here (empty: they can; probe_machine)
FUSE_UNUSABLE=
IO_URING_UNUSABLE=

# record_suite NAME PASSED FAILED SKIPPED [NOTE] -- one line of the summary
record_suite()
{
	SUITE_NAMES+=("$1")
	SUITE_PASSED+=("$2")
	SUITE_FAILED+=("$3")
	SUITE_SKIPPED+=("$4")
	SUITE_NOTES+=("${5:-}")
	TOTAL_PASSED=$((TOTAL_PASSED + $2))
	TOTAL_FAILED=$((TOTAL_FAILED + $3))
	TOTAL_SKIPPED=$((TOTAL_SKIPPED + $4))
}

# probe_machine DIR -- can the postgres user use FUSE and io_uring here
# (test/lib.sh)?  The TAP tests skip what cannot run; run_suite holds
# every skip against these answers.
probe_machine()
{
	mkdir -p "$1"
	chown postgres: "$1"
	if FUSE_UNUSABLE=$(asyncscan_probe_fuse "$1"); then
		asyncscan_log "FUSE: usable (slowfs mounts as postgres): the slowfs tests must run"
	else
		asyncscan_log "FUSE: NOT usable here ($FUSE_UNUSABLE): the slowfs tests" \
			"(021, 030, 050) will be skipped"
	fi
	if IO_URING_UNUSABLE=$(asyncscan_probe_io_uring "$1"); then
		asyncscan_log "io_uring: usable by the postgres user: the io_uring tests must run"
	else
		asyncscan_log "io_uring: NOT usable here ($IO_URING_UNUSABLE): the io_uring" \
			"tests will be skipped"
	fi
}

# skip_excuse REASON -- is a TAP test skipped for REASON one that cannot
# run here?  Prints why it cannot and returns 0; returns 1 when this
# machine could have run it.  These are the reasons the TAP tests give
# (grep "skip" test/t test/perl); a reason not listed here is never
# excused, so a new skip in a test must be added here to be accepted.
skip_excuse()
{
	case $1 in
		*io_uring*)
			[ -n "$IO_URING_UNUSABLE" ] && echo "io_uring: $IO_URING_UNUSABLE"
			;;
		*'exist from PostgreSQL 18 on'*)
			[ "${PG_MAJOR%p}" -lt 18 ] && echo "PostgreSQL $PG_MAJOR"
			;;
		*'lacks the storage hook patch'*)
			# expected on a stock server; on 15p the patch must be in effect
			[ "$PG_MAJOR" != 15p ] && echo "a server without patches/15"
			;;
		*[Ff][Uu][Ss][Ee]* | *slowfs*)
			[ -n "$FUSE_UNUSABLE" ] && echo "FUSE: $FUSE_UNUSABLE"
			;;
		*'ps is not installed'*)
			! command -v ps >/dev/null 2>&1 && echo "no ps"
			;;
		*) return 1 ;;
	esac
}

# storage_hooks_regress_check NAME KIND -- (run_suite) the regression test
# storage_hooks has one expected output for a stock server ("storage hooks
# not in use", the rest skipped) and one for a patched server; pg_regress
# accepts either, so on 15p the stock one means the patch did not take
# effect: a failure.  On a stock server it is listed as a skip.
storage_hooks_regress_check()
{
	local name=$1 kind=$2 results=$SRC/results/storage_hooks.out
	[ "$kind" = pg_regress ] && [ -f "$results" ] || return 0
	grep -q '^storage hooks not in use' "$results" || return 0
	if [ "$PG_MAJOR" = 15p ]; then
		echo "suite $name: storage_hooks ran as on a stock server on the patched one"
		failed=$((failed + 1))
		passed=$((passed - 1))
	else
		SKIP_REPORT+=("pg$PG_MAJOR $name: storage_hooks: the parts that need patches/15 (a stock server)")
	fi
}

# tap_skips OUTPUT -- the skips in the output of prove --directives, one
# per line: FILE<TAB>all<TAB>REASON for a file skipped entirely ("FILE ..
# skipped: REASON"), FILE<TAB>one<TAB>REASON for each test skipped inside a
# file ("ok N # skip REASON", under the file's "FILE .. " line)
tap_skips()
{
	awk '
		# prove --timer puts the time of day first: [HH:MM:SS]
		{ sub(/^\[[0-9:]+\] /, "") }
		/^[^ ]+\.pl \.+/ { file = $1 }
		/^[^ ]+\.pl \.+ skipped: / {
			r = $0; sub(/^[^ ]+\.pl \.+ skipped: /, "", r)
			print file "\tall\t" r; next
		}
		/^(not )?ok [0-9]+ # [Ss][Kk][Ii][Pp]/ {
			r = $0; sub(/^(not )?ok [0-9]+ # [Ss][Kk][Ii][Pp] ?/, "", r)
			print file "\tone\t" r
		}' "$1"
}

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
			for f in "$SRC/test/isolation/output/regression.diffs"; do
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
# tests (pg_regress) or test files (prove) passed, failed and skipped from
# its output, record them.
run_suite()
{
	local name=$1 kind=$2 out rc passed=0 failed=0 skipped=0 note='' total files bad
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
				count_tap_skips "$out"
			fi
			;;
	esac
	if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
		# make failed but no test reported failing: the harness itself broke
		# (missing files, timeout, server gone); count that as one failure
		echo "suite $name: make exited with status $rc"
		failed=1
	fi
	if [ "$rc" -eq 0 ] && [ "$((passed + failed + skipped))" -eq 0 ]; then
		echo "suite $name: no test ran"
		failed=1
	fi
	storage_hooks_regress_check "$name" "$kind"
	record_suite "pg$PG_MAJOR $name" "$passed" "$failed" "$skipped" "$note"
	# the figures the TAP tests print for README's "Reliability" table
	RELIABILITY+=("$(sed -n "s/^# reliability: /pg$PG_MAJOR: /p" "$out")")
	if [ "$failed" -ne 0 ]; then
		echo
		echo "===== suite pg$PG_MAJOR $name FAILED: details ====="
		print_failure_details "$name"
	fi
}

# count_tap_skips OUTPUT -- (run_suite, prove) move the test files skipped
# entirely from "passed" to "skipped", and every file with a skip that
# skip_excuse does not excuse to "failed"; note the tests skipped inside
# passing files; list every skip for the summary.
count_tap_skips()
{
	local file scope reason excuse what n_one=0 unexcused=()
	while IFS=$'\t' read -r file scope reason; do
		what="pg$PG_MAJOR $file skipped"
		[ "$scope" = one ] && what="pg$PG_MAJOR $file: a test skipped"
		if excuse=$(skip_excuse "$reason"); then
			SKIP_REPORT+=("$what: $reason (cannot run here: $excuse)")
			[ "$scope" = one ] && n_one=$((n_one + 1))
		else
			SKIP_REPORT+=("$what: $reason (FAILED: this machine can run it)")
			echo "UNEXPECTED SKIP pg$PG_MAJOR $file: $reason (this machine can run it)"
			unexcused+=("$file")
		fi
		if [ "$scope" = all ]; then
			skipped=$((skipped + 1))
			passed=$((passed - 1))
		fi
	done < <(tap_skips "$1")
	[ "$n_one" -gt 0 ] && note="($n_one tests skipped inside passing files)"
	[ ${#unexcused[@]} -gt 0 ] || return 0
	for file in $(printf '%s\n' "${unexcused[@]}" | sort -u); do
		if grep -qE "^$file \.+ skipped: " "$1"; then
			skipped=$((skipped - 1))
		elif printf '%s\n' "$TAP_FAILED_FILES" | grep -qxF "$file"; then
			continue
		else
			passed=$((passed - 1))
		fi
		failed=$((failed + 1))
		TAP_FAILED_FILES="$TAP_FAILED_FILES"$'\n'"$file"
	done
}

# run_major MAJOR -- build and install the extension for MAJOR, start a
# cluster, run every suite against it, stop it and remove its directory.
# A major that runs in a chroot goes to start_major_in_chroot (and runs
# beside the next ones).
run_major()
{
	echo
	asyncscan_log "===== PostgreSQL $1 ====="
	wait_for_preparation "$1"
	asyncscan_use_major "$1" || {
		record_suite "pg$1 build" 0 1 0
		return 0
	}
	if [ -n "$ASYNCSCAN_CHROOT" ]; then
		start_major_in_chroot
		return 0
	fi

	WORK=$(asyncscan_make_workdir "pg_asyncscan-test-pg$PG_MAJOR")
	export ASYNCSCAN_PG_HOME=$WORK
	SRC=$WORK/src
	DATA=$WORK/data
	SOCK=$WORK
	SERVER_LOG=$WORK/server.log
	LOGS=$WORK/logs
	mkdir -p "$LOGS"
	chown postgres: "$LOGS"

	probe_machine "$WORK/probe"
	if [ -n "$CLUSTER_SUITES" ]; then
		run_cluster_suites
	fi
	if suite_wanted package && [ "$PG_MAJOR" = "$ASYNCSCAN_SYSTEM_MAJOR" ]; then
		# after the other suites: installing the package replaces the
		# files "make install" put in place (package_cleanup puts them
		# back)
		asyncscan_pg_stop "$DATA"
		run_package_suite
	fi

	asyncscan_release_work
	WORK=
	DATA=
}

# run_cluster_suites -- (run_major) build and install the extension from a
# copy of the tree, start a cluster that preloads it, run the suites of
# CLUSTER_SUITES against it
run_cluster_suites()
{
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
	if suite_wanted regress; then
		run_suite regress pg_regress installcheck ISOLATION= TAP_TESTS=
	fi
	if suite_wanted isolation; then
		run_suite isolation pg_regress installcheck REGRESS= TAP_TESTS=
	fi
	if suite_wanted tap; then
		# --directives: prove shows each skipped test and its reason
		run_suite tap prove installcheck REGRESS= ISOLATION= PROVE_FLAGS="--directives --timer"
	fi
	if [ "$QUICK" = 1 ]; then
		echo
		asyncscan_log "--quick: skipping installcheck-large"
	elif suite_wanted large; then
		run_suite large pg_regress installcheck-large
	fi
}

# run_package_suite -- (run_major, on the system's own major) the package
# suite, counted as one test: package_suite_steps, then package_cleanup,
# which must leave the package purged.  Its time goes into the summary.
run_package_suite()
{
	local start=$SECONDS rc=0 dir=$WORK/package
	echo
	asyncscan_log "suite package: build the Debian package, install it, CREATE EXTENSION," \
		"purge it (work directory $dir)"
	mkdir -p "$dir"
	chown postgres: "$dir"
	package_suite_steps "$dir" || rc=$?
	# after a failure: stop the cluster, purge, put the files back
	package_cleanup
	if package_present "postgresql-$PG_MAJOR-asyncscan"; then
		echo "suite package: postgresql-$PG_MAJOR-asyncscan is still installed"
		rc=1
	fi
	if [ "$rc" -eq 0 ]; then
		asyncscan_log "suite package: passed"
		record_suite "pg$PG_MAJOR package" 1 0 0 "($((SECONDS - start)) s)"
	else
		echo
		echo "===== suite pg$PG_MAJOR package FAILED ($((SECONDS - start)) s) ====="
		record_suite "pg$PG_MAJOR package" 0 1 0 "($((SECONDS - start)) s)"
	fi
}

# package_fail MESSAGE [LOG] -- (package_suite_steps) say why the package
# suite failed, with the end of LOG
package_fail()
{
	echo "suite package: $1"
	if [ -n "${2:-}" ] && [ -s "$2" ]; then
		echo "----- $2 (last 60 lines) -----"
		tail -n 60 "$2"
		echo "-----"
	fi
	return 1
}

# package_suite_steps DIR -- what the package suite checks, in DIR (a
# directory postgres may write); returns 1 at the first check that fails.
# Everything it installs or starts is in PKG_NAME, PKG_DATA and PKG_SAVED
# for package_cleanup.
package_suite_steps()
{
	local dir=$1 pkg=postgresql-$PG_MAJOR-asyncscan default_version meta_version
	local changelog_version deb_version debs deb port sock out f build_start
	local libdir=/usr/lib/postgresql/$PG_MAJOR/lib
	local extdir=/usr/share/postgresql/$PG_MAJOR/extension

	if package_present "$pkg"; then
		package_fail "$pkg is already on this system ($(dpkg-query -W \
			-f='${db:Status-Status} ${Version}' "$pkg")): this suite would replace" \
			"and purge it; remove it first (dpkg --purge $pkg)"
		return 1
	fi

	# a copy of the tree of its own: dpkg-buildpackage writes into the tree
	# and next to it
	asyncscan_copy_tree "$ROOT" "$dir/src"

	# the version in META.json (PGXN), debian/changelog and the control
	# file must agree; META.json must parse and name files that exist
	default_version=$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" \
		"$dir/src/pg_asyncscan.control")
	meta_version=$(perl -MJSON::PP -e '
		my $m = JSON::PP->new->decode(do { local $/; <STDIN> });
		my $e = $m->{provides}{pg_asyncscan} or die "no provides.pg_asyncscan\n";
		for my $k (qw(file docfile)) {
			-f "$ARGV[0]/$e->{$k}" or die "provides.pg_asyncscan.$k: no file $e->{$k}\n";
		}
		$e->{version} eq $m->{version} or die "provides.pg_asyncscan.version differs\n";
		print $m->{version}, "\n";' "$dir/src" <"$dir/src/META.json") ||
		{ package_fail "META.json is not valid (above)"; return 1; }
	changelog_version=$(dpkg-parsechangelog -l "$dir/src/debian/changelog" -S Version) ||
		{ package_fail "debian/changelog does not parse"; return 1; }
	if [ -z "$default_version" ] || { [ "$meta_version" != "$default_version" ] &&
		[ "$meta_version" != "$default_version.0" ]; }; then
		package_fail "META.json version $meta_version does not match the control" \
			"file's default_version '$default_version'"
		return 1
	fi
	if [ "$changelog_version" != "$meta_version" ]; then
		package_fail "debian/changelog's version $changelog_version is not META.json's $meta_version"
		return 1
	fi

	# dpkg-buildpackage as the postgres user: Rules-Requires-Root: no, so
	# neither root nor fakeroot is needed
	asyncscan_log "dpkg-buildpackage -us -uc -b as postgres (log: $LOGS/package-build.log)"
	build_start=$SECONDS
	# shellcheck disable=SC2016  # expanded by the inner bash
	package_run "$LOGS/package-build.log" runuser -u postgres -- \
		env HOME="$ASYNCSCAN_PG_HOME" DEB_BUILD_OPTIONS="parallel=$(nproc)" \
		bash -c 'cd "$1" && exec dpkg-buildpackage -us -uc -b' _ "$dir/src" ||
		{ package_fail "dpkg-buildpackage failed" "$LOGS/package-build.log"; return 1; }
	debs=("$dir/${pkg}_"*.deb)
	if [ ${#debs[@]} -ne 1 ] || [ ! -f "${debs[0]}" ]; then
		package_fail "expected one $dir/${pkg}_*.deb, found: $(ls "$dir")" \
			"$LOGS/package-build.log"
		return 1
	fi
	deb=${debs[0]}
	deb_version=$(dpkg-deb -f "$deb" Version)
	if [ "$deb_version" != "$changelog_version" ]; then
		package_fail "$deb has version $deb_version, debian/changelog $changelog_version"
		return 1
	fi
	asyncscan_log "built $(basename "$deb") ($(du -k "$deb" | cut -f1) kB) in" \
		"$((SECONDS - build_start)) s"

	# the files of the package already on the system (what "make install"
	# put there) are saved, to be put back after the purge
	: >"$dir/replaced.list"
	while IFS= read -r f; do
		f=/${f#./}
		[ -f "$f" ] && printf '%s\n' "${f#/}" >>"$dir/replaced.list"
	done < <(dpkg-deb --fsys-tarfile "$deb" | tar -tf - | grep -v '/$')
	if [ -s "$dir/replaced.list" ]; then
		tar -C / -cpf "$dir/replaced.tar" -T "$dir/replaced.list" ||
			{ package_fail "could not save the files the package replaces"; return 1; }
		PKG_SAVED=$dir/replaced.tar
		asyncscan_log "saved the $(wc -l <"$dir/replaced.list") files the package replaces"
	fi

	PKG_NAME=$pkg
	package_dpkg "$LOGS/package-install.log" -i "$deb" ||
		{ package_fail "dpkg -i $(basename "$deb") failed" "$LOGS/package-install.log"; return 1; }
	asyncscan_log "installed $pkg $deb_version"

	# where the files are: the places Debian's PostgreSQL $PG_MAJOR loads
	# them from, and what is there is what the package holds
	out=$(dpkg -L "$pkg")
	for f in "$libdir/pg_asyncscan.so" "$extdir/pg_asyncscan.control" \
		"$extdir/pg_asyncscan--$default_version.sql"; do
		if ! grep -qxF "$f" <<<"$out" || [ ! -f "$f" ]; then
			package_fail "dpkg -L $pkg does not list $f, or it is not there"
			printf '%s\n' "$out"
			return 1
		fi
	done
	if ! out=$(dpkg -V "$pkg" 2>&1) || [ -n "$out" ]; then
		package_fail "dpkg -V $pkg: the installed files are not the package's: $out"
		return 1
	fi

	# a throwaway cluster that preloads the packaged library
	sock=$dir
	port=$(asyncscan_pick_port "${PORT:-54321}")
	PKG_DATA=$dir/data
	( asyncscan_initdb "$PKG_DATA" "$port" "$sock" \
		"shared_preload_libraries = 'pg_asyncscan'" \
		"shared_buffers = 16MB" \
		"fsync = off" \
		"max_connections = 20" \
		"log_min_messages = warning" &&
		asyncscan_pg_start "$PKG_DATA" "$dir/server.log" ) ||
		{ package_fail "the cluster did not start" "$dir/server.log"; return 1; }
	asyncscan_log "cluster started on port $port (shared_preload_libraries = 'pg_asyncscan')"
	package_sql_checks "$sock" "$port" "$default_version" ||
		{ package_fail "the SQL checks failed" "$dir/server.log"; return 1; }
	asyncscan_pg_stop "$PKG_DATA"
	PKG_DATA=

	package_dpkg "$LOGS/package-purge.log" --purge "$pkg" ||
		{ package_fail "dpkg --purge $pkg failed" "$LOGS/package-purge.log"; return 1; }
	if package_present "$pkg" || [ -e "$libdir/pg_asyncscan.so" ]; then
		package_fail "after dpkg --purge, $pkg or its library is still there"
		return 1
	fi
	PKG_NAME=
	asyncscan_log "purged $pkg"
}

# package_psql SOCK PORT ARGS... -- psql as postgres, unaligned, no
# headers, stopping at the first error
package_psql()
{
	local sock=$1 port=$2
	shift 2
	asyncscan_as_pg psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$sock" -p "$port" \
		-d postgres "$@"
}

# package_sql_checks SOCK PORT VERSION -- (package_suite_steps) what the
# installed package must do on a cluster that preloads it: CREATE
# EXTENSION, pg_asyncscan_version() and the extension's version both
# VERSION, the library built with io_uring; a table larger than
# min_relation_size scanned by Custom Scan (AsyncSeqScan) with each IO
# method returns what the Seq Scan returns, and the statistics count one
# scan per method
package_sql_checks()
{
	local sock=$1 port=$2 version=$3 out methods method plan expected got
	# count, sum and an order-independent checksum of the rows' contents
	local query="SELECT count(*), sum(id), sum(hashtext(pad)::bigint)
		FROM package_check WHERE id % 10 <> 7"

	out=$(package_psql "$sock" "$port" -c 'CREATE EXTENSION pg_asyncscan' \
		-c 'SELECT pg_asyncscan_version()' \
		-c "SELECT extversion FROM pg_extension WHERE extname = 'pg_asyncscan'" \
		-c 'SHOW shared_preload_libraries') || return 1
	if [ "$out" != "$version"$'\n'"$version"$'\n'"pg_asyncscan" ]; then
		echo "pg_asyncscan_version(), extversion, shared_preload_libraries:" \
			"expected $version, $version, pg_asyncscan; got:"
		printf '%s\n' "$out"
		return 1
	fi
	asyncscan_log "CREATE EXTENSION pg_asyncscan: version $version"
	# the package must be built with liburing (Build-Depends), whether or
	# not this machine lets the postgres user set up an io_uring
	out=$(package_psql "$sock" "$port" -c "SELECT array_to_string(enumvals, ' ')
		FROM pg_settings WHERE name = 'pg_asyncscan.io_method'") || return 1
	if [[ " $out " != *" io_uring "* ]]; then
		echo "pg_asyncscan.io_method offers '$out': the package was built without io_uring"
		return 1
	fi
	methods="sync worker"
	if [ -z "$IO_URING_UNUSABLE" ]; then
		methods="$methods io_uring"
	else
		echo "io_uring is not usable here ($IO_URING_UNUSABLE): scanning with sync and worker only"
	fi

	# about 2,700 blocks (21 MB): more than min_relation_size's default
	# 1024; vacuumed so that its pages are all-visible (direct reads)
	package_psql "$sock" "$port" \
		-c "CREATE TABLE package_check AS SELECT i AS id, repeat(md5(i::text), 4) AS pad
			FROM generate_series(1, 150000) i" \
		-c 'VACUUM (ANALYZE) package_check' || return 1
	out=$(package_psql "$sock" "$port" -c "SELECT pg_relation_size('package_check') / 8192,
		setting FROM pg_settings WHERE name = 'pg_asyncscan.min_relation_size'
		AND unit = '8kB'") || return 1
	if ! [[ $out =~ ^[0-9]+\|[0-9]+$ ]] || [ "${out%%|*}" -le "${out#*|}" ]; then
		echo "package_check has ${out%%|*} blocks, not more than min_relation_size ${out#*|}"
		return 1
	fi

	out=$(package_psql "$sock" "$port" -c 'SET pg_asyncscan.enabled = off' \
		-c "EXPLAIN (COSTS OFF) $query" -c "$query") || return 1
	if ! grep -q 'Seq Scan on package_check' <<<"$out"; then
		echo "with pg_asyncscan.enabled = off the plan is not a Seq Scan:"
		printf '%s\n' "$out"
		return 1
	fi
	expected=$(tail -n 1 <<<"$out")

	package_psql "$sock" "$port" -c 'SELECT pg_asyncscan_stats_reset()' >/dev/null || return 1
	for method in $methods; do
		out=$(package_psql "$sock" "$port" -c 'SET max_parallel_workers_per_gather = 0' \
			-c "SET pg_asyncscan.io_method = '$method'" \
			-c "EXPLAIN (COSTS OFF) $query" -c "$query") || return 1
		plan=$(sed '$d' <<<"$out")
		got=$(tail -n 1 <<<"$out")
		if ! grep -q 'Custom Scan (AsyncSeqScan) on package_check' <<<"$plan"; then
			echo "io_method $method: the plan is not Custom Scan (AsyncSeqScan):"
			printf '%s\n' "$plan"
			return 1
		fi
		if [ "$got" != "$expected" ]; then
			echo "io_method $method: AsyncSeqScan returned $got, the Seq Scan $expected"
			return 1
		fi
		out=$(package_psql "$sock" "$port" -c "SELECT scans FROM pg_asyncscan_stats
			WHERE io_method = '$method'") || return 1
		if [ "$out" != 1 ]; then
			echo "io_method $method: pg_asyncscan_stats counts '$out' scans, not 1"
			return 1
		fi
		asyncscan_log "io_method $method: Custom Scan (AsyncSeqScan), same result as the Seq Scan ($got)"
	done
}

# package_run LOG CMD... -- run CMD with its output in LOG, in a process
# group of its own in the background (as run_suite runs make), so that an
# interrupt or SUITE_TIMEOUT ends all of it; returns CMD's exit status
package_run()
{
	local log=$1 rc=0
	shift
	setsid timeout --kill-after=30 "$SUITE_TIMEOUT" "$@" >"$log" 2>&1 </dev/null &
	SUITE_PGID=$!
	wait "$SUITE_PGID" || rc=$?
	kill -TERM -- "-$SUITE_PGID" 2>/dev/null || true
	SUITE_PGID=
	[ "$rc" -eq 124 ] && echo "suite package: timed out after $SUITE_TIMEOUT s"
	return "$rc"
}

# start_major_in_chroot -- run this script inside the root that
# test/debian_chroot.sh made for PG_MAJOR, where that major is the
# system's own, with this tree bound read-only at the same path and a
# work directory of ours as its /tmp, in the background: the run goes on
# with the next majors beside it (its own root, installation, clusters
# and Unix sockets; 17's TAP suite used about a quarter of one CPU on
# average here), and collect_major_in_chroot, at the end, shows its
# output and takes over the suites it records in a results file there.  Its own PID and
# mount namespaces: whatever it leaves running is killed and whatever it
# mounts unmounted when it ends (see stop_chroot_run for INT and TERM);
# one such run at a time (--exclusive: it installs the extension into the
# root).
start_major_in_chroot()
{
	local args envs var
	if [ -n "$CHROOT_PID" ]; then
		# one at a time: the one before first
		collect_major_in_chroot
	fi
	CHROOT_MAJOR=$PG_MAJOR
	CHROOT_WORK=$(asyncscan_make_workdir "pg_asyncscan-test-pg$PG_MAJOR-chroot")
	chmod 1777 "$CHROOT_WORK"
	CHROOT_LOG=$(mktemp "/tmp/pg_asyncscan-test-pg$PG_MAJOR-chroot-log.XXXXXX")
	# the package suite runs once, on this system's own major, not there
	args=(--majors "$PG_MAJOR" --suites "${CLUSTER_SUITES// /,}")
	[ "$QUICK" = 1 ] && args+=(--quick)
	# a clean environment, with the settings of this script and the tests
	# that are set here
	envs=(PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
		KEEP="$KEEP" SUITE_TIMEOUT="$SUITE_TIMEOUT" ASYNCSCAN_RESULTS_FILE=/tmp/results)
	for var in TERM CI PORT ASYNCSCAN_SOAK_SECONDS ASYNCSCAN_SOAK_SEED PG_TEST_SEED \
		ASYNCSCAN_WORKER_EXITS_SECONDS ASYNCSCAN_TORN_SECONDS ASYNCSCAN_CANCEL_SCANS \
		PG_TEST_EXTRA PG_TEST_TIMEOUT_DEFAULT; do
		[ -n "${!var+set}" ] && envs+=("$var=${!var}")
	done
	asyncscan_log "running the suites inside $ASYNCSCAN_CHROOT in the background," \
		"beside the next majors (this tree bound read-only, /tmp there is" \
		"$CHROOT_WORK; output: $CHROOT_LOG, shown at the end)"
	setsid bash "$HERE/debian_chroot.sh" run "$PG_MAJOR" --cache "$ASYNCSCAN_PG_CACHE" \
		--pid --exclusive --tmp "$CHROOT_WORK" --bind-ro "$ROOT" -- \
		env -i "${envs[@]}" bash "$ROOT/test/run.sh" "${args[@]}" \
		>"$CHROOT_LOG" 2>&1 </dev/null &
	CHROOT_PID=$!
}

# collect_major_in_chroot -- wait for the run start_major_in_chroot
# started (if any), show its output, record its suites, remove its work
# directory
collect_major_in_chroot()
{
	local rc=0 kind name passed failed skipped note
	[ -n "$CHROOT_PID" ] || return 0
	echo
	asyncscan_log "===== PostgreSQL $CHROOT_MAJOR (in its root, run beside the others) ====="
	wait "$CHROOT_PID" || rc=$?
	CHROOT_PID=
	cat "$CHROOT_LOG"
	rm -f "$CHROOT_LOG"
	CHROOT_LOG=
	if [ -s "$CHROOT_WORK/results" ]; then
		while IFS=$'\t' read -r kind name passed failed skipped note; do
			case $kind in
				suite) record_suite "$name" "$passed" "$failed" "$skipped" "$note" ;;
				reliability) RELIABILITY+=("$name") ;;
				skip) SKIP_REPORT+=("$name") ;;
			esac
		done <"$CHROOT_WORK/results"
	else
		echo "the run inside the PostgreSQL $CHROOT_MAJOR root recorded no results (exit status $rc)"
		record_suite "pg$CHROOT_MAJOR chroot" 0 1 0
	fi
	release_chroot_work
}

# release_chroot_work -- remove (KEEP=1: keep) the chroot run's work
# directory; never fails
release_chroot_work()
{
	local WORK=$CHROOT_WORK DATA=
	[ -n "$WORK" ] && asyncscan_release_work
	CHROOT_WORK=
}

# The majors that are not this system's own are made ready in the
# background while the suites run against the first major: test/build_pg.sh
# builds 18 (and tries 16), one after the other, niced; test/debian_chroot.sh
# makes 17's root, in a job of its own.  On a fresh machine that hides
# most of the 10 minutes a build takes.  wait_for_preparation MAJOR (in
# run_major) waits for the job that makes MAJOR and shows its log.
start_preparations()
{
	local major to_build='' to_chroot=''
	for major in $MAJORS; do
		case $(asyncscan_major_source "$major") in
			build) to_build="$to_build $major" ;;
			chroot) to_chroot="$to_chroot $major" ;;
		esac
	done
	if [ -n "$to_build" ]; then
		start_preparation "building PostgreSQL$to_build" "$to_build" \
			"$HERE/build_pg.sh" "{}" --cache "$ASYNCSCAN_PG_CACHE"
	fi
	if [ -n "$to_chroot" ]; then
		start_preparation "making the Debian root file system for PostgreSQL$to_chroot" \
			"$to_chroot" "$HERE/debian_chroot.sh" prepare "{}" --cache "$ASYNCSCAN_PG_CACHE"
	fi
}

# start_preparation WHAT MAJORS SCRIPT ARGS... -- run "bash SCRIPT ARGS"
# for each of MAJORS ({} in ARGS), in the background, in a process group of
# its own
start_preparation()
{
	local what=$1 majors=$2 log pid major
	shift 2
	log=$(mktemp /tmp/pg_asyncscan-prepare.XXXXXX)
	asyncscan_log "$what in the background (log: $log)"
	# shellcheck disable=SC2016  # expanded by the inner bash
	setsid nice -n 10 bash -c 'majors=$1; shift
		for m in $majors; do bash "${@//\{\}/$m}"; done' _ "$majors" "$@" \
		>"$log" 2>&1 </dev/null &
	pid=$!
	for major in $majors; do
		PREP_PID[$major]=$pid
		PREP_LOG[$major]=$log
	done
}

wait_for_preparation()
{
	local pid=${PREP_PID[$1]:-} log=${PREP_LOG[$1]:-} major
	[ -n "$pid" ] || return 0
	asyncscan_log "waiting for the background preparation of PostgreSQL $1 (log: $log)"
	wait "$pid" || true
	sed 's/^/    /' "$log"
	# the other majors of the same job are ready too
	for major in "${!PREP_PID[@]}"; do
		[ "${PREP_PID[$major]}" = "$pid" ] && unset "PREP_PID[$major]"
	done
	for major in "${!PREP_LOG[@]}"; do
		[ "${PREP_LOG[$major]}" = "$log" ] && unset "PREP_LOG[$major]"
	done
	rm -f "$log"
}

# set_test_durations MAJOR -- how long the time-bounded TAP tests run: the
# randomised soak (071), the exits under the worker method (022), the
# torn-read race (081) and the cancel storm's scans per method (060).  Stock PostgreSQL 15, the primary target, gets
# their full length; the other majors, which run the same code through
# the same tests, a shorter one, so that a run of all of them stays well
# within CI's time.  Whatever the environment sets wins.
set_test_durations()
{
	local soak=60 exits=30 torn=15 cancels=160
	if [ "$1" != 15 ]; then
		soak=30 exits=20 torn=10 cancels=80
	fi
	export ASYNCSCAN_SOAK_SECONDS=${USER_SOAK_SECONDS:-$soak}
	export ASYNCSCAN_WORKER_EXITS_SECONDS=${USER_WORKER_EXITS_SECONDS:-$exits}
	export ASYNCSCAN_TORN_SECONDS=${USER_TORN_SECONDS:-$torn}
	export ASYNCSCAN_CANCEL_SCANS=${USER_CANCEL_SCANS:-$cancels}
}
USER_SOAK_SECONDS=${ASYNCSCAN_SOAK_SECONDS:-}
USER_WORKER_EXITS_SECONDS=${ASYNCSCAN_WORKER_EXITS_SECONDS:-}
USER_TORN_SECONDS=${ASYNCSCAN_TORN_SECONDS:-}
USER_CANCEL_SCANS=${ASYNCSCAN_CANCEL_SCANS:-}

start_preparations
for major in $MAJORS; do
	# inside a chroot the outer run has set them already
	[ -n "$RESULTS_FILE" ] || set_test_durations "$major"
	run_major "$major"
done
collect_major_in_chroot

# --- summary ----------------------------------------------------------------
echo
where=
[ -n "$RESULTS_FILE" ] && where=" inside the Debian $(asyncscan_debian_suite "$ASYNCSCAN_SYSTEM_MAJOR") root"
echo "===== pg_asyncscan test summary$where ($(($(date +%s) - START_TIME)) s) ====="
for i in "${!SUITE_NAMES[@]}"; do
	printf '  %-15s %3d passed, %d failed, %d skipped%s\n' "${SUITE_NAMES[$i]}" \
		"${SUITE_PASSED[$i]}" "${SUITE_FAILED[$i]}" "${SUITE_SKIPPED[$i]}" \
		"${SUITE_NOTES[$i]:+ ${SUITE_NOTES[$i]}}"
done
if [ ${#SKIP_REPORT[@]} -gt 0 ]; then
	echo "skipped:"
	printf '  %s\n' "${SKIP_REPORT[@]}"
fi
if [ ${#RELIABILITY[@]} -gt 0 ]; then
	echo "reliability figures (README \"Reliability\"):"
	printf '%s\n' "${RELIABILITY[@]}" | sed '/^$/d; s/^/  /'
fi
[ "$QUICK" = 1 ] && echo "  (--quick: installcheck-large not run)"
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed, $TOTAL_SKIPPED skipped"
if [ -n "$RESULTS_FILE" ]; then
	# for the run that started this one (start_major_in_chroot)
	{
		for i in "${!SUITE_NAMES[@]}"; do
			printf 'suite\t%s\t%s\t%s\t%s\t%s\n' "${SUITE_NAMES[$i]}" "${SUITE_PASSED[$i]}" \
				"${SUITE_FAILED[$i]}" "${SUITE_SKIPPED[$i]}" "${SUITE_NOTES[$i]}"
		done
		printf '%s\n' "${RELIABILITY[@]}" | sed '/^$/d; s/^/reliability\t/'
		[ ${#SKIP_REPORT[@]} -eq 0 ] || printf 'skip\t%s\n' "${SKIP_REPORT[@]}"
	} >"$RESULTS_FILE"
fi
[ "$TOTAL_FAILED" -eq 0 ]
