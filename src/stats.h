/*-------------------------------------------------------------------------
 *
 * stats.h
 *	  IO statistics: the counters of one scan node (EXPLAIN), and the
 *	  cumulative ones per IO method, kept in shared memory (the
 *	  pg_asyncscan_stats view).
 *
 * IDENTIFICATION
 *	  src/stats.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ASYNCSCAN_STATS_H
#define ASYNCSCAN_STATS_H

#include "portability/instr_time.h"

/*
 * Counters of one scan node, accumulated over its rescans.  Pages are
 * counted once each: direct + hit + read = pages handed out.
 */
typedef struct AsyncScanStats
{
	int			io_method;		/* method that did the reading */
	bool		direct_io;		/* direct reads used O_DIRECT */
	uint64		pages_direct;	/* used from a private direct read */
	uint64		pages_direct_checked;	/* of which not all-visible, tuples
										 * judged one by one */
	uint64		pages_hit;		/* buffered path, found in shared buffers */
	uint64		pages_read;		/* buffered path, read into shared buffers */
	uint64		rejected_in_buffers;	/* direct copy dropped: page is now in
										 * shared buffers */
	uint64		rejected_not_all_visible;	/* direct copy dropped: page not
											 * PD_ALL_VISIBLE */
	uint64		rejected_bad_page;	/* direct copy dropped: header or
									 * checksum did not verify */
	uint64		rejected_undecided; /* direct copy dropped: a tuple's
									 * visibility needs the shared buffer */
	uint64		rejected_written;	/* direct copy dropped: the block was
									 * written during the read (storage
									 * hooks' write generations) */
	uint64		reads;			/* direct reads issued */
	uint64		read_bytes;		/* bytes they asked for */
	uint64		cached_bytes;	/* of which direct_io found in the page
								 * cache */
	uint64		advised_blocks; /* buffered blocks prefetched into the OS
								 * cache */
	uint64		inflight_sum;	/* reads in flight summed at each submit */
	uint64		submits;		/* batches submitted */
	int			inflight_max;	/* most reads in flight at once */
	int			distance_max;	/* largest look-ahead window, in blocks */
	uint64		waits;			/* times the consumer waited for a read */
	uint64		inline_reads;	/* reads the worker method performed in the
								 * backend because its arena was full */
	bool		time_waits;		/* measure wait_time (track_io_timing, or
								 * EXPLAIN ANALYZE with TIMING) */
	instr_time	wait_time;		/* total time spent waiting, if measured */
	/* the storage hooks of a patched server (storage_hooks.c) */
	bool		storage_hooks;	/* were in use */
	uint64		staged_blocks;	/* buffered blocks read ahead into staging
								 * through PrefetchBuffer */
	uint64		staged_used;	/* buffered reads served from staging */
} AsyncScanStats;

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

/* the shared counters (shmem.c) */
extern Size asyncscan_stats_shmem_size(void);
extern void asyncscan_stats_shmem_startup(void);

extern void asyncscan_stats_add(AsyncScanStats *total,
								const AsyncScanStats *stats);
extern void asyncscan_stats_report_scan(int io_method,
										const AsyncScanStats *before,
										const AsyncScanStats *after);
extern void asyncscan_stats_count(int io_method, AsyncScanCounter counter,
								  uint64 n);

#endif							/* ASYNCSCAN_STATS_H */
