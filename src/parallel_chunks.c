/*-------------------------------------------------------------------------
 *
 * parallel_chunks.c
 *	  The block allocator of a parallel AsyncSeqScan: which blocks each
 *	  participant reads.
 *
 * Participants hand out chunks of consecutive blocks, so each
 * participant's reads still combine: large chunks first, smaller ones near
 * the end so that participants finish together -- the scheme of
 * PostgreSQL's block-based parallel table scans
 * (table_block_parallelscan_nextpage), which a Seq Scan leaves to the
 * table AM.  The read stream takes the blocks of one participant through
 * asyncscan_chunk_next_block, as its block source.
 *
 * IDENTIFICATION
 *	  src/parallel_chunks.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "port/pg_bitutils.h"

#include "parallel_chunks.h"

#define PARALLEL_NCHUNKS			2048
#define PARALLEL_RAMPDOWN_CHUNKS	64
#define PARALLEL_MAX_CHUNK_SIZE		8192

/* chunk sizes are powers of two, halved towards the end down to 1 */
StaticAssertDecl((PARALLEL_MAX_CHUNK_SIZE & (PARALLEL_MAX_CHUNK_SIZE - 1)) == 0,
				 "PARALLEL_MAX_CHUNK_SIZE must be a power of two");

void
asyncscan_chunks_init(AsyncScanChunkAllocator *allocator, BlockNumber nblocks)
{
	allocator->nblocks = nblocks;
	pg_atomic_init_u64(&allocator->nallocated, 0);
}

void
asyncscan_chunks_reset(AsyncScanChunkAllocator *allocator)
{
	pg_atomic_write_u64(&allocator->nallocated, 0);
}

/*
 * A participant starts claiming: about PARALLEL_NCHUNKS chunks over the
 * relation, a power of two, at most PARALLEL_MAX_CHUNK_SIZE blocks.
 */
void
asyncscan_chunk_begin(AsyncScanChunk *chunk, AsyncScanChunkAllocator *allocator)
{
	chunk->allocator = allocator;
	chunk->remaining = 0;
	chunk->chunk_size =
		Min(pg_nextpower2_32(Max(allocator->nblocks / PARALLEL_NCHUNKS, 1)),
			PARALLEL_MAX_CHUNK_SIZE);
}

/*
 * The next block of this participant (an AsyncScanBlockSource): from its
 * current chunk, or the start of a new chunk claimed from the shared
 * counter; InvalidBlockNumber when every block is handed out.
 */
BlockNumber
asyncscan_chunk_next_block(void *arg)
{
	AsyncScanChunk *chunk = (AsyncScanChunk *) arg;
	AsyncScanChunkAllocator *shared = chunk->allocator;
	uint64		start;

	if (chunk->remaining > 0)
	{
		chunk->remaining--;
		return chunk->next++;
	}

	/* near the end, claim smaller chunks so participants finish together */
	if (chunk->chunk_size > 1 &&
		pg_atomic_read_u64(&shared->nallocated) >
		shared->nblocks - Min(shared->nblocks,
							  (uint64) chunk->chunk_size * PARALLEL_RAMPDOWN_CHUNKS))
		chunk->chunk_size >>= 1;

	start = pg_atomic_fetch_add_u64(&shared->nallocated, chunk->chunk_size);
	if (start >= shared->nblocks)
		return InvalidBlockNumber;

	chunk->remaining = Min((uint64) chunk->chunk_size, shared->nblocks - start) - 1;
	chunk->next = (BlockNumber) start + 1;
	return (BlockNumber) start;
}
