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
#
# Runs as root (re-executes itself through sudo otherwise).  For each major
# it gets that PostgreSQL (test/lib.sh: asyncscan_use_major):
#   15  Debian 12's own packages;
#   17  Debian 13 (trixie)'s own binary packages, in a trixie root file
#       system that test/debian_chroot.sh makes once in
#       /var/cache/pg_asyncscan/pg17-trixie (2-5 minutes, reused later);
#       this script then runs itself inside that root ("--majors 17" there,
#       where 17 is the system's own major) and takes over its results;
#   18  built once by test/build_pg.sh from Debian's source package, with
#       assertions and TAP support, into /var/cache/pg_asyncscan/pg18
#       (5-10 minutes, reused later);
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
# 900) bounds each suite; ASYNCSCAN_SOAK_SECONDS bounds the randomised soak
# (test/t/071_soak.pl, default 120).  ASYNCSCAN_RESULTS_FILE (set by the
# run that starts this one inside a chroot): where to write the results for
# it.

set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=test/lib.sh
. "$HERE/lib.sh"

QUICK=0
MAJORS="15 15p 17 18"
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
RESULTS_FILE=${ASYNCSCAN_RESULTS_FILE:-}
WORK=
DATA=
SUITE_PGID=
CHROOT_PID=
# background preparations of majors (see the end): pid and log per major
declare -A PREP_PID=() PREP_LOG=()

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
# (run_major_in_chroot): SIGTERM to the chroot's first process, which passes
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
# A major that runs in a chroot goes to run_major_in_chroot.
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
		run_major_in_chroot
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
	# --directives: prove shows each skipped test and its reason
	run_suite tap prove installcheck REGRESS= ISOLATION= PROVE_FLAGS="--directives --timer"
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

# run_major_in_chroot -- run this script inside the root that
# test/debian_chroot.sh made for PG_MAJOR, where that major is the
# system's own, with this tree bound read-only at the same path and a
# work directory of ours as its /tmp; take over the suites it records in a
# results file there.  Its own PID and mount namespaces: whatever it
# leaves running is killed and whatever it mounts unmounted when it ends
# (see stop_chroot_run for INT and TERM); one such run at a time
# (--exclusive: it installs the extension into the root).
run_major_in_chroot()
{
	local rc=0 kind name passed failed skipped note args envs var
	WORK=$(asyncscan_make_workdir "pg_asyncscan-test-pg$PG_MAJOR-chroot")
	chmod 1777 "$WORK"
	args=(--majors "$PG_MAJOR")
	[ "$QUICK" = 1 ] && args+=(--quick)
	# a clean environment, with the settings of this script and the tests
	# that are set here
	envs=(PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
		KEEP="$KEEP" SUITE_TIMEOUT="$SUITE_TIMEOUT" ASYNCSCAN_RESULTS_FILE=/tmp/results)
	for var in TERM CI PORT ASYNCSCAN_SOAK_SECONDS ASYNCSCAN_SOAK_SEED PG_TEST_SEED \
		PG_TEST_EXTRA PG_TEST_TIMEOUT_DEFAULT; do
		[ -n "${!var+set}" ] && envs+=("$var=${!var}")
	done
	asyncscan_log "running the suites inside $ASYNCSCAN_CHROOT (this tree bound" \
		"read-only, /tmp there is $WORK)"
	setsid bash "$HERE/debian_chroot.sh" run "$PG_MAJOR" --cache "$ASYNCSCAN_PG_CACHE" \
		--pid --exclusive --tmp "$WORK" --bind-ro "$ROOT" -- \
		env -i "${envs[@]}" bash "$ROOT/test/run.sh" "${args[@]}" </dev/null &
	CHROOT_PID=$!
	wait "$CHROOT_PID" || rc=$?
	CHROOT_PID=
	if [ -s "$WORK/results" ]; then
		while IFS=$'\t' read -r kind name passed failed skipped note; do
			case $kind in
				suite) record_suite "$name" "$passed" "$failed" "$skipped" "$note" ;;
				reliability) RELIABILITY+=("$name") ;;
				skip) SKIP_REPORT+=("$name") ;;
			esac
		done <"$WORK/results"
	else
		echo "the run inside $ASYNCSCAN_CHROOT recorded no results (exit status $rc)"
		record_suite "pg$PG_MAJOR chroot" 0 1 0
	fi
	asyncscan_release_work
	WORK=
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

start_preparations
for major in $MAJORS; do
	run_major "$major"
done

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
	# for the run that started this one (run_major_in_chroot)
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
