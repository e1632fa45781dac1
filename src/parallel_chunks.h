/*-------------------------------------------------------------------------
 *
 * parallel_chunks.h
 *	  The block allocator of a parallel AsyncSeqScan (parallel_chunks.c):
 *	  participants claim chunks of consecutive blocks from a shared
 *	  counter.
 *
 * IDENTIFICATION
 *	  src/parallel_chunks.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ASYNCSCAN_PARALLEL_CHUNKS_H
#define ASYNCSCAN_PARALLEL_CHUNKS_H

#include "port/atomics.h"
#include "storage/block.h"

/* The shared part, in the query's DSM segment. */
typedef struct AsyncScanChunkAllocator
{
	BlockNumber nblocks;		/* blocks to scan, fixed by the leader */
	pg_atomic_uint64 nallocated;	/* blocks handed out so far */
} AsyncScanChunkAllocator;

/* One participant's view of the allocator: its current chunk. */
typedef struct AsyncScanChunk
{
	AsyncScanChunkAllocator *allocator;
	BlockNumber next;			/* next block of the current chunk */
	BlockNumber remaining;		/* blocks left in it */
	BlockNumber chunk_size;		/* size of the next chunk to claim */
} AsyncScanChunk;

/* the leader: a new allocator, or every block handed out again (rescan) */
extern void asyncscan_chunks_init(AsyncScanChunkAllocator *allocator,
								  BlockNumber nblocks);
extern void asyncscan_chunks_reset(AsyncScanChunkAllocator *allocator);

/* a participant: start claiming, then take block after block */
extern void asyncscan_chunk_begin(AsyncScanChunk *chunk,
								  AsyncScanChunkAllocator *allocator);
extern BlockNumber asyncscan_chunk_next_block(void *chunk);

#endif							/* ASYNCSCAN_PARALLEL_CHUNKS_H */
