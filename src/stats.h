/*-------------------------------------------------------------------------
 *
 * stats.h
 *	  Cumulative IO statistics per IO method, kept in shared memory.
 *
 * IDENTIFICATION
 *	  src/stats.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ASYNCSCAN_STATS_H
#define ASYNCSCAN_STATS_H

#include "datatype/timestamp.h"
#include "port/atomics.h"
#include "storage/spin.h"

#include "stream.h"

/* The counters of the pg_asyncscan_stats view, per IO method */
typedef enum AsyncScanCounter
{
	ASYNCSCAN_STAT_SCANS = 0,	/* streams run (a rescan starts another) */
	ASYNCSCAN_STAT_PAGES_DIRECT,
	ASYNCSCAN_STAT_PAGES_HIT,
	ASYNCSCAN_STAT_PAGES_READ,
	ASYNCSCAN_STAT_READS,
	ASYNCSCAN_STAT_READ_BYTES,
	ASYNCSCAN_STAT_WAITS,
	ASYNCSCAN_STAT_WAIT_TIME_US,	/* only where waits were timed */
	ASYNCSCAN_STAT_FALLBACKS,	/* scans that asked for this method and got
								 * another */
	ASYNCSCAN_STAT_DIRECT_REJECTED,
	ASYNCSCAN_STAT_ERRORS,		/* reads that failed */
	/* through the storage hooks of a patched server (storage_hooks.c) */
	ASYNCSCAN_STAT_STAGED_BLOCKS,	/* blocks read ahead into staging */
	ASYNCSCAN_STAT_STAGED_USED, /* of which handed to the buffer manager */
	ASYNCSCAN_STAT_STAGED_DROPPED,	/* of which dropped (written meanwhile,
									 * failed, or never asked for) */
	ASYNCSCAN_STAT_GENERATION_REJECTED, /* direct pages written during their
										 * read */
	ASYNCSCAN_NUM_COUNTERS
} AsyncScanCounter;

/* room for every method of the registry, now and to come */
#define ASYNCSCAN_MAX_IO_METHODS	4

typedef struct AsyncScanSharedStats
{
	pg_atomic_uint64 counters[ASYNCSCAN_MAX_IO_METHODS][ASYNCSCAN_NUM_COUNTERS];
	slock_t		mutex;			/* protects stats_reset */
	TimestampTz stats_reset;
} AsyncScanSharedStats;

extern void asyncscan_stats_shmem_init(AsyncScanSharedStats *shared);
extern void asyncscan_stats_report_scan(int io_method,
										const AsyncScanStats *before,
										const AsyncScanStats *after);
extern void asyncscan_stats_count(int io_method, AsyncScanCounter counter,
								  uint64 n);

#endif							/* ASYNCSCAN_STATS_H */
