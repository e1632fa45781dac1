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

#include "stats.h"

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

extern void asyncscan_stream_init(void);

#endif							/* ASYNCSCAN_STREAM_H */
