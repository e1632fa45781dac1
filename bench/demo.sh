#!/bin/bash
# bench/demo.sh -- see pg_asyncscan work, from nothing, in a few minutes.
#
#   bash bench/demo.sh                 scale 30: pgbench_accounts ~380 MB
#   SCALE=100 RUNS=9 bash bench/demo.sh
#
# Runs as root (re-executes itself through sudo otherwise).  It installs the
# packages it needs, builds and installs the extension from a copy of this
# tree, creates a throwaway cluster as the postgres user with
# shared_preload_libraries = 'pg_asyncscan', loads it with pgbench -i, and
# then, for SELECT sum(abalance) FROM pgbench_accounts, compares
#   Seq Scan                 pg_asyncscan.enabled = off
#   AsyncSeqScan sync        pg_asyncscan.enabled = on, io_method = sync
#   AsyncSeqScan io_uring    the same with io_method = io_uring, when this
#                            build and kernel offer it
# It prints EXPLAIN (ANALYZE, BUFFERS) of each, then times the plain query
# RUNS times per configuration, interleaved, with the cache cold (server
# restarted and the OS page cache dropped before every run; skipped when
# /proc/sys/vm/drop_caches is not writable) and warm (the OS page cache
# holding the table), and prints the medians.
# Times are measured by psql's \timing: client-side, the whole statement,
# connection set-up excluded.  Every query runs in one backend process
# (max_parallel_workers_per_gather = 0), so the comparison is one process
# each.  The cluster is stopped and removed at the end, unless KEEP=1.
#
# Environment: SCALE (pgbench scale, default 30), RUNS (timed runs per
# configuration and cache state, default 7), KEEP=1, PORT (first port
# tried, default 54331).

set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=test/lib.sh
. "$ROOT/test/lib.sh"

case ${1:-} in
	-h | --help)
		sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	"") ;;
	*) asyncscan_die "unknown argument: $1 (try --help)" ;;
esac

asyncscan_require_root "$0" "$@"

SCALE=${SCALE:-30}
RUNS=${RUNS:-7}
KEEP=${KEEP:-0}
[[ $SCALE =~ ^[1-9][0-9]*$ ]] || asyncscan_die "SCALE must be a positive integer"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || asyncscan_die "RUNS must be a positive integer"

QUERY="SELECT sum(abalance) FROM pgbench_accounts"
START_TIME=$(date +%s)
WORK=
DATA=

cleanup()
{
	local rc=$?
	set +e
	trap - EXIT INT TERM
	asyncscan_release_work
	exit "$rc"
}
asyncscan_trap_cleanup cleanup

# --- packages, build, install ---------------------------------------------
asyncscan_install_deps
WORK=$(asyncscan_make_workdir pg_asyncscan-demo)
export ASYNCSCAN_PG_HOME=$WORK
SRC=$WORK/src
DATA=$WORK/data
SOCK=$WORK
SERVER_LOG=$WORK/server.log
asyncscan_copy_tree "$ROOT" "$SRC"
asyncscan_build_install "$SRC"

# --- cluster ------------------------------------------------------------------
PORT=$(asyncscan_pick_port "${PORT:-54331}")
asyncscan_log "initdb (data checksums) and start on port $PORT"
asyncscan_initdb "$DATA" "$PORT" "$SOCK" \
	"shared_preload_libraries = 'pg_asyncscan'" \
	"shared_buffers = 128MB" \
	"max_parallel_workers_per_gather = 0" \
	"jit = off" \
	"max_wal_size = 4GB" \
	"log_min_messages = warning"
asyncscan_pg_start "$DATA" "$SERVER_LOG"

# pg CMD... -- run a client program as postgres against the demo cluster
pg()
{
	asyncscan_as_pg env PGHOST="$SOCK" PGPORT="$PORT" PGUSER=postgres \
		PGDATABASE=postgres "$@"
}
sql() { pg psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

asyncscan_log "pgbench -i -s $SCALE (pgbench ends with VACUUM: pages are all-visible)"
if ! pg pgbench -i -s "$SCALE" -q >"$WORK/pgbench-init.log" 2>&1; then
	tail -n 30 "$WORK/pgbench-init.log" >&2
	asyncscan_die "pgbench -i failed"
fi
grep '^done in' "$WORK/pgbench-init.log" || true
sql -c "CREATE EXTENSION pg_asyncscan" -c "CHECKPOINT"

TABLE_SIZE=$(sql -c "SELECT pg_size_pretty(pg_relation_size('pgbench_accounts'))")
TABLE_ROWS=$(sql -c "SELECT reltuples::bigint FROM pg_class WHERE relname = 'pgbench_accounts'")

# The configurations compared: a label, the settings, the plan node they
# must give (stop if they do not: the numbers would compare the wrong
# things).  io_uring joins when this build and kernel offer it.
CONF_LABEL=("Seq Scan" "AsyncSeqScan sync")
CONF_SET=("SET pg_asyncscan.enabled = off"
	"SET pg_asyncscan.enabled = on; SET pg_asyncscan.io_method = sync")
CONF_NODE=("Seq Scan on pgbench_accounts"
	"Custom Scan (AsyncSeqScan) on pgbench_accounts")
if sql -c "SET pg_asyncscan.io_method = io_uring" >/dev/null 2>&1; then
	CONF_LABEL+=("AsyncSeqScan io_uring")
	CONF_SET+=("SET pg_asyncscan.enabled = on; SET pg_asyncscan.io_method = io_uring")
	CONF_NODE+=("Custom Scan (AsyncSeqScan) on pgbench_accounts")
	URING_NOTE="io_uring available"
else
	URING_NOTE="io_uring not available here (not built, or refused by the kernel): not compared"
fi
NCONF=${#CONF_LABEL[@]}

for ((c = 0; c < NCONF; c++)); do
	plan=$(sql -c "${CONF_SET[$c]}" -c "EXPLAIN $QUERY")
	if ! grep -qF "${CONF_NODE[$c]}" <<<"$plan"; then
		printf '%s\n' "$plan"
		asyncscan_die "\"${CONF_SET[$c]}\" did not plan a ${CONF_NODE[$c]}"
	fi
done

# --- cache states -------------------------------------------------------------
COLD_OK=0
if [ -w /proc/sys/vm/drop_caches ] &&
	(sync && echo 3 >/proc/sys/vm/drop_caches) 2>/dev/null; then
	COLD_OK=1
fi

# make_cold -- empty shared buffers (restart) and the OS page cache
make_cold()
{
	asyncscan_as_pg pg_ctl -D "$DATA" -l "$SERVER_LOG" -m fast -w -t 120 \
		restart >/dev/null || asyncscan_die "restart failed (log: $SERVER_LOG)"
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# time_query CONF -- milliseconds of one run of the query, psql \timing
time_query()
{
	local ms
	ms=$(sql -c "${CONF_SET[$1]}" -c '\timing on' -c "$QUERY" |
		sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 1)
	[ -n "$ms" ] || asyncscan_die "could not time the query"
	printf '%s\n' "$ms"
}

median()
{
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR % 2) printf "%.1f", v[(NR + 1) / 2];
			  else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo
echo "pg_asyncscan demo: $QUERY"
echo "  table:    pgbench_accounts, $TABLE_SIZE, $TABLE_ROWS rows (pgbench scale $SCALE)"
echo "  server:   PostgreSQL $(sql -c 'SHOW server_version'), shared_buffers = 128MB," \
	"data checksums on, jit = off"
echo "  one process per query: max_parallel_workers_per_gather = 0"
echo "  machine:  $(nproc) CPUs, $(free -g | awk '/^Mem:/ { print $2 }') GB RAM," \
	"data directory on $(df --output=source "$WORK" | tail -n 1)"
echo "  pg_asyncscan: io_depth = $(sql -c 'SHOW pg_asyncscan.io_depth')," \
	"io_combine_limit = $(sql -c 'SHOW pg_asyncscan.io_combine_limit')," \
	"direct_reads = $(sql -c 'SHOW pg_asyncscan.direct_reads')," \
	"direct_io = $(sql -c 'SHOW pg_asyncscan.direct_io' 2>/dev/null || echo n/a); $URING_NOTE"

# --- EXPLAIN (ANALYZE, BUFFERS) ----------------------------------------------
if [ "$COLD_OK" = 1 ]; then
	EXPLAIN_STATE="cold cache: server restarted and OS page cache dropped first"
else
	EXPLAIN_STATE="OS page cache not dropped (drop_caches not writable)"
fi
for ((c = 0; c < NCONF; c++)); do
	[ "$COLD_OK" = 1 ] && make_cold
	echo
	echo "--- ${CONF_LABEL[$c]}: ${CONF_SET[$c]} ($EXPLAIN_STATE)"
	sql -c "${CONF_SET[$c]}" -c "SET track_io_timing = on" \
		-c "EXPLAIN (ANALYZE, BUFFERS) $QUERY"
done

# --- timing -------------------------------------------------------------------
declare -A MEDIAN
STATES=()

# measure STATE -- RUNS rounds; each round times every configuration once,
# in an order rotated from round to round; cold or warm
measure()
{
	local state=$1 round k c ms line
	local -a times
	echo
	printf -- '--- %s: %s runs per configuration, interleaved (ms, psql \\timing)\n' \
		"$state" "$RUNS"
	if [ "$state" = warm ]; then
		# one untimed run each to bring the table into the OS page cache
		for ((c = 0; c < NCONF; c++)); do
			time_query "$c" >/dev/null
		done
	fi
	for ((c = 0; c < NCONF; c++)); do
		times[c]=
	done
	for ((round = 1; round <= RUNS; round++)); do
		for ((k = 0; k < NCONF; k++)); do
			c=$(((k + round - 1) % NCONF))
			[ "$state" = cold ] && make_cold
			ms=$(time_query "$c")
			times[c]="${times[c]} $ms"
		done
		line=$(printf '  run %d:' "$round")
		for ((c = 0; c < NCONF; c++)); do
			line+=$(printf '  %s %9.1f' "${CONF_LABEL[$c]}" "${times[c]##* }")
		done
		echo "$line"
	done
	for ((c = 0; c < NCONF; c++)); do
		# shellcheck disable=SC2086
		MEDIAN[$state,$c]=$(median ${times[c]})
	done
	STATES+=("$state")
}

if [ "$COLD_OK" = 1 ]; then
	measure cold
else
	echo
	echo "--- cold: skipped, /proc/sys/vm/drop_caches is not writable here" \
		"(a container without the privilege?)"
fi
measure warm

asyncscan_pg_stop "$DATA"

echo
echo "=== $QUERY, $TABLE_SIZE: median of $RUNS runs, ms (speed-up vs Seq Scan)"
line=$(printf '%-6s' state)
for ((c = 0; c < NCONF; c++)); do
	line+=$(printf ' %24s' "${CONF_LABEL[$c]}")
done
echo "$line"
for state in "${STATES[@]}"; do
	line=$(printf '%-6s' "$state")
	for ((c = 0; c < NCONF; c++)); do
		line+=$(printf ' %24s' "$(awk -v a="${MEDIAN[$state,0]}" -v b="${MEDIAN[$state,$c]}" \
			'BEGIN { printf "%.1f (%.2fx)", b, (b > 0 ? a / b : 0) }')")
	done
	echo "$line"
done
echo "(speed-up = Seq Scan median / this median; cold = server restarted" \
	"and OS page cache dropped before every run)"
echo "demo finished in $(($(date +%s) - START_TIME)) s"
