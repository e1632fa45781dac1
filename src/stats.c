/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  Cumulative IO statistics: the counters every scan adds to shared
 *	  memory when it ends, and the SQL functions behind the
 *	  pg_asyncscan_stats view and pg_asyncscan_stats_reset().
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
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "io.h"
#include "shmem.h"
#include "stats.h"

PG_FUNCTION_INFO_V1(pg_asyncscan_stats);
PG_FUNCTION_INFO_V1(pg_asyncscan_stats_reset);

static AsyncScanSharedStats *shared_stats_or_error(void);

void
asyncscan_stats_shmem_init(AsyncScanSharedStats *shared)
{
	for (int m = 0; m < ASYNCSCAN_MAX_IO_METHODS; m++)
		for (int c = 0; c < ASYNCSCAN_NUM_COUNTERS; c++)
			pg_atomic_init_u64(&shared->counters[m][c], 0);
	SpinLockInit(&shared->mutex);
	shared->stats_reset = GetCurrentTimestamp();
}

void
asyncscan_stats_count(int io_method, AsyncScanCounter counter, uint64 n)
{
	if (asyncscan_shared == NULL || n == 0)
		return;
	Assert(io_method >= 0 && io_method < ASYNCSCAN_MAX_IO_METHODS);
	Assert(counter >= 0 && counter < ASYNCSCAN_NUM_COUNTERS);
	pg_atomic_fetch_add_u64(&asyncscan_shared->stats.counters[io_method][counter],
							n);
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

	if (asyncscan_shared == NULL)
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
	if (asyncscan_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_asyncscan statistics are not available"),
				 errhint("Add pg_asyncscan to shared_preload_libraries and restart the server.")));
	return &asyncscan_shared->stats;
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

	for (int m = 0; m < asyncscan_io_method_count(); m++)
	{
		Datum		values[ASYNCSCAN_NUM_COUNTERS + 2];
		bool		nulls[ASYNCSCAN_NUM_COUNTERS + 2] = {0};
		int			i = 0;
		const IoMethodOps *ops = asyncscan_io_method_ops_or_null(m);

		if (ops == NULL)
			continue;
		values[i++] = CStringGetTextDatum(ops->name);
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
