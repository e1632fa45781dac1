/*-------------------------------------------------------------------------
 *
 * asyncscan.h
 *	  Declarations shared between the planner, executor and EXPLAIN parts
 *	  of the AsyncSeqScan custom scan node.
 *
 * IDENTIFICATION
 *	  src/asyncscan.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ASYNCSCAN_H
#define ASYNCSCAN_H

#include "commands/explain.h"
#include "nodes/execnodes.h"
#include "nodes/extensible.h"
#include "access/htup_details.h"
#include "port/atomics.h"

#include "parallel_chunks.h"
#include "stream.h"

/* The name EXPLAIN shows: Custom Scan (AsyncSeqScan) */
#define ASYNCSCAN_NODE_NAME "AsyncSeqScan"

/*
 * Shared state of a parallel AsyncSeqScan, in the query's DSM segment: the
 * block allocator all participants claim chunks from (parallel_chunks.c),
 * and a place where each worker leaves its IO counters for the leader's
 * EXPLAIN.
 */
typedef struct AsyncScanParallelShared
{
	AsyncScanChunkAllocator blocks;
	int			nworkers;		/* entries of worker_stats */
	AsyncScanStats worker_stats[FLEXIBLE_ARRAY_MEMBER];
} AsyncScanParallelShared;

/* Execution state of one AsyncSeqScan node. */
typedef struct AsyncSeqScanState
{
	CustomScanState css;		/* must be first */
	int			io_method_requested;	/* pg_asyncscan.io_method at executor
										 * start */
	int			io_method;		/* the method used: the requested one, or
								 * sync after a fallback */
	const char *fallback_reason;	/* why they differ, else NULL */
	AsyncScanStream *stream;	/* NULL until the first page is asked for */
	bool		finished;		/* stream reached the end */

	/* the page being walked */
	AsyncScanPage page;
	bool		have_page;
	int			ntuples;		/* visible tuples on it */
	int			next_tuple;		/* index into offsets */
	OffsetNumber offsets[MaxHeapTuplesPerPage];
	HeapTupleData tuple;		/* the tuple stored in the scan slot */

	AsyncScanStats stats;		/* accumulated over rescans */

	/* parallel scans only */
	AsyncScanParallelShared *pshared;	/* NULL unless parallel-aware */
	AsyncScanChunk chunk;		/* this participant's chunk */
	int			nworkers_stats; /* entries of worker_stats */
	AsyncScanStats *worker_stats;	/* the workers' counters, collected from
									 * the DSM when it is detached (leader) */
	struct dsm_segment *dsm_seg;	/* that DSM while the collection is
									 * pending, else NULL */
} AsyncSeqScanState;

extern const CustomScanMethods asyncscan_scan_methods;

extern void asyncscan_planner_init(void);
extern Node *asyncscan_create_scan_state(CustomScan *cscan);
extern void asyncscan_explain(CustomScanState *node, List *ancestors,
							  ExplainState *es);
extern void asyncscan_explain_init(void);

#endif							/* ASYNCSCAN_H */
