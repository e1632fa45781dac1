/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  IO statistics: summing the counters of scan nodes (for EXPLAIN), the
 *	  cumulative counters every scan adds to shared memory when it ends,
 *	  and the SQL functions behind the pg_asyncscan_stats view and
 *	  pg_asyncscan_stats_reset().
 *
 * Counters are per IO method and only grow (atomic adds, no lock), until
 * pg_asyncscan_stats_reset() or a server restart.  They exist only when
 * the library is preloaded; without it the SQL functions raise an error
 * with a hint, as pg_stat_statements does.
 *
 * IDENTIFICATION
 *	  src/stats.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "funcapi.h"
#include "port/atomics.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "io_method.h"
#include "stats.h"

/* room for every method of the registry, now and to come */
#define ASYNCSCAN_MAX_IO_METHODS	4

StaticAssertDecl(ASYNCSCAN_NUM_IO_METHODS <= ASYNCSCAN_MAX_IO_METHODS,
				 "shared statistics need a row for every IO method");

/* The cumulative counters, in shared memory */
typedef struct AsyncScanSharedStats
{
	pg_atomic_uint64 counters[ASYNCSCAN_MAX_IO_METHODS][ASYNCSCAN_NUM_COUNTERS];
	slock_t		mutex;			/* protects stats_reset */
	TimestampTz stats_reset;
} AsyncScanSharedStats;

/* NULL unless the library was preloaded */
static AsyncScanSharedStats *shared_stats = NULL;

PG_FUNCTION_INFO_V1(pg_asyncscan_stats);
PG_FUNCTION_INFO_V1(pg_asyncscan_stats_reset);

static AsyncScanSharedStats *shared_stats_or_error(void);

/*
 * Add one set of counters to another (parallel participants, statement
 * totals).  Maxima are maxima; the method is the first one's.
 */
void
asyncscan_stats_add(AsyncScanStats *total, const AsyncScanStats *stats)
{
	total->direct_io |= stats->direct_io;
	total->pages_direct += stats->pages_direct;
	total->pages_direct_checked += stats->pages_direct_checked;
	total->pages_hit += stats->pages_hit;
	total->pages_read += stats->pages_read;
	total->rejected_in_buffers += stats->rejected_in_buffers;
	total->rejected_not_all_visible += stats->rejected_not_all_visible;
	total->rejected_bad_page += stats->rejected_bad_page;
	total->rejected_undecided += stats->rejected_undecided;
	total->rejected_written += stats->rejected_written;
	total->reads += stats->reads;
	total->read_bytes += stats->read_bytes;
	total->cached_bytes += stats->cached_bytes;
	total->advised_blocks += stats->advised_blocks;
	total->inflight_sum += stats->inflight_sum;
	total->submits += stats->submits;
	total->inflight_max = Max(total->inflight_max, stats->inflight_max);
	total->distance_max = Max(total->distance_max, stats->distance_max);
	total->waits += stats->waits;
	total->inline_reads += stats->inline_reads;
	total->time_waits |= stats->time_waits;
	INSTR_TIME_ADD(total->wait_time, stats->wait_time);
	total->storage_hooks |= stats->storage_hooks;
	total->staged_blocks += stats->staged_blocks;
	total->staged_used += stats->staged_used;
}

/* From the shmem_request_hook: room for the shared counters. */
Size
asyncscan_stats_shmem_size(void)
{
	return MAXALIGN(sizeof(AsyncScanSharedStats));
}

/* From the shmem_startup_hook, under AddinShmemInitLock. */
void
asyncscan_stats_shmem_startup(void)
{
	bool		found;

	shared_stats = ShmemInitStruct("pg_asyncscan",
								   sizeof(AsyncScanSharedStats), &found);
	if (found)
		return;
	for (int m = 0; m < ASYNCSCAN_MAX_IO_METHODS; m++)
		for (int c = 0; c < ASYNCSCAN_NUM_COUNTERS; c++)
			pg_atomic_init_u64(&shared_stats->counters[m][c], 0);
	SpinLockInit(&shared_stats->mutex);
	shared_stats->stats_reset = GetCurrentTimestamp();
}

void
asyncscan_stats_count(int io_method, AsyncScanCounter counter, uint64 n)
{
	if (shared_stats == NULL || n == 0)
		return;
	Assert(io_method >= 0 && io_method < ASYNCSCAN_NUM_IO_METHODS);
	Assert(counter >= 0 && counter < ASYNCSCAN_NUM_COUNTERS);
	pg_atomic_fetch_add_u64(&shared_stats->counters[io_method][counter], n);
}

/*
 * Add what one stream did (the node's counters after it, minus before it).
 * Runs also while an ERROR unwinds: it only adds to atomics.
 */
void
asyncscan_stats_report_scan(int io_method, const AsyncScanStats *before,
							const AsyncScanStats *after)
{
	instr_time	wait;

	if (shared_stats == NULL)
		return;

	wait = after->wait_time;
	INSTR_TIME_SUBTRACT(wait, before->wait_time);

	asyncscan_stats_count(io_method, ASYNCSCAN_STAT_SCANS, 1);
	asyncscan_stats_count(io_method, ASYNCSCAN_STAT_PAGES_DIRECT,
						  after->pages_direct - before->pages_direct);
	asyncscan_stats_count(io_method, ASYNCSCAN_STAT_PAGES_HIT,
						  after->pages_hit - before->pages_hit);
	asyncscan_stats_count(io_method, ASYNCSCAN_STAT_PAGES_READ,
						  after->pages_read - before->pages_read);
	asyncscan_stats_count(io_method, ASYNCSCAN_STAT_READS,
						  after->reads - before->reads);
	asyncscan_stats_count(io_method, ASYNCSCAN_STAT_READ_BYTES,
						  after->read_bytes - before->read_bytes);
	asyncscan_stats_count(io_method, ASYNCSCAN_STAT_WAITS,
						  after->waits - before->waits);
	asyncscan_stats_count(io_method, ASYNCSCAN_STAT_WAIT_TIME_US,
						  (uint64) INSTR_TIME_GET_MICROSEC(wait));
	asyncscan_stats_count(io_method, ASYNCSCAN_STAT_DIRECT_REJECTED,
						  (after->rejected_in_buffers - before->rejected_in_buffers) +
						  (after->rejected_not_all_visible - before->rejected_not_all_visible) +
						  (after->rejected_bad_page - before->rejected_bad_page) +
						  (after->rejected_undecided - before->rejected_undecided) +
						  (after->rejected_written - before->rejected_written));
	asyncscan_stats_count(io_method, ASYNCSCAN_STAT_GENERATION_REJECTED,
						  after->rejected_written - before->rejected_written);
}

static AsyncScanSharedStats *
shared_stats_or_error(void)
{
	if (shared_stats == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_asyncscan statistics are not available"),
				 errhint("Add pg_asyncscan to shared_preload_libraries and restart the server.")));
	return shared_stats;
}

/*
 * pg_asyncscan_stats() - one row per IO method.
 */
Datum
pg_asyncscan_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	AsyncScanSharedStats *shared = shared_stats_or_error();
	TimestampTz stats_reset;

	InitMaterializedSRF(fcinfo, 0);

	SpinLockAcquire(&shared->mutex);
	stats_reset = shared->stats_reset;
	SpinLockRelease(&shared->mutex);

	for (int m = 0; m < ASYNCSCAN_NUM_IO_METHODS; m++)
	{
		Datum		values[ASYNCSCAN_NUM_COUNTERS + 2];
		bool		nulls[ASYNCSCAN_NUM_COUNTERS + 2] = {0};
		int			i = 0;

		values[i++] = CStringGetTextDatum(asyncscan_io_method_ops(m)->name);
		for (int c = 0; c < ASYNCSCAN_NUM_COUNTERS; c++)
		{
			uint64		v = pg_atomic_read_u64(&shared->counters[m][c]);

			if (c == ASYNCSCAN_STAT_WAIT_TIME_US)
				values[i++] = Float8GetDatum((double) v / 1000.0);	/* ms */
			else
				values[i++] = Int64GetDatum((int64) v);
		}
		values[i++] = TimestampTzGetDatum(stats_reset);
		Assert(i == lengthof(values));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * pg_asyncscan_stats_reset() - zero every counter.  EXECUTE is revoked
 * from PUBLIC by the install script, as for pg_stat_statements_reset().
 */
Datum
pg_asyncscan_stats_reset(PG_FUNCTION_ARGS)
{
	AsyncScanSharedStats *shared = shared_stats_or_error();

	for (int m = 0; m < ASYNCSCAN_MAX_IO_METHODS; m++)
		for (int c = 0; c < ASYNCSCAN_NUM_COUNTERS; c++)
			pg_atomic_write_u64(&shared->counters[m][c], 0);
	SpinLockAcquire(&shared->mutex);
	shared->stats_reset = GetCurrentTimestamp();
	SpinLockRelease(&shared->mutex);

	PG_RETURN_VOID();
}
