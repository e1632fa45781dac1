/*-------------------------------------------------------------------------
 *
 * stream.h
 *	  The read stream: hands the pages of a heap relation out in block
 *	  order, reading ahead through an IO method.
 *
 * IDENTIFICATION
 *	  src/stream.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ASYNCSCAN_STREAM_H
#define ASYNCSCAN_STREAM_H

#include "portability/instr_time.h"
#include "storage/bufmgr.h"
#include "utils/relcache.h"
#include "utils/snapshot.h"

#include "io.h"

/* GUCs, defined in stream.c */
extern int	asyncscan_io_depth;
extern int	asyncscan_io_combine_limit;
extern bool asyncscan_direct_reads;
extern bool asyncscan_direct_io;

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

/* A page handed to the consumer. */
typedef struct AsyncScanPage
{
	BlockNumber blkno;
	Page		page;			/* private copy, or BufferGetPage(buffer) */
	Buffer		buffer;			/* pinned buffer on the buffered path, else
								 * InvalidBuffer */
	bool		all_visible;	/* a private copy whose tuples are all
								 * visible; a private copy without it needs
								 * each tuple judged (visibility.c) */
} AsyncScanPage;

typedef struct AsyncScanStream AsyncScanStream;

/*
 * Where a stream's blocks come from: the next block number, increasing,
 * or InvalidBlockNumber at the end (a parallel scan's chunk allocator).
 */
typedef BlockNumber (*AsyncScanBlockSource) (void *arg);

extern AsyncScanStream *asyncscan_stream_begin(Relation rel, Snapshot snapshot,
											   int io_method,
											   AsyncScanStats *stats,
											   BlockNumber nblocks,
											   AsyncScanBlockSource source,
											   void *source_arg);
extern bool asyncscan_stream_next(AsyncScanStream *stream, AsyncScanPage *page);
extern void asyncscan_stream_reread_buffered(AsyncScanStream *stream,
											 AsyncScanPage *page);
extern void asyncscan_stream_end(AsyncScanStream *stream);
extern bool asyncscan_stream_direct_allowed(Relation rel, Snapshot snapshot);
extern void asyncscan_stats_add(AsyncScanStats *total,
								const AsyncScanStats *stats);

extern void asyncscan_stream_init(void);

#endif							/* ASYNCSCAN_STREAM_H */
