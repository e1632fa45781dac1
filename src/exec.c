/*-------------------------------------------------------------------------
 *
 * exec.c
 *	  Executor callbacks of the AsyncSeqScan custom scan node: the
 *	  page-at-a-time tuple loop over the pages the read stream hands out.
 *
 * For each page the node collects the offsets of the tuples its snapshot
 * sees (visibility.c, the part of heapgetpage() a Seq Scan leaves to the
 * table AM), then returns them one by one through ExecScan, which
 * evaluates the quals and the projection.  A parallel-aware node takes its
 * blocks from the chunk allocator in the query's DSM (parallel_chunks.c),
 * and leaves its IO counters there for the leader's EXPLAIN.
 *
 * Tuples are stored in a heap-tuple slot without a buffer pin: the node
 * itself keeps the page (private copy or pinned buffer) until it asks the
 * stream for the next one, and it clears the slot before that.  This saves
 * the per-tuple pin bookkeeping a Seq Scan pays.
 *
 * IDENTIFICATION
 *	  src/exec.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/parallel.h"
#include "access/relscan.h"
#include "executor/executor.h"
#include "executor/instrument.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/dsm.h"
#include "storage/predicate.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "asyncscan.h"
#include "compat.h"
#include "io_method.h"
#include "stats.h"
#include "visibility.h"

static void asyncscan_begin(CustomScanState *node, EState *estate, int eflags);
static TupleTableSlot *asyncscan_exec(CustomScanState *node);
static void asyncscan_end(CustomScanState *node);
static void asyncscan_rescan(CustomScanState *node);
static TupleTableSlot *asyncscan_next(ScanState *ss);
static bool asyncscan_recheck(ScanState *ss, TupleTableSlot *slot);
static TupleTableSlot *store_next_tuple(AsyncSeqScanState *state,
										TupleTableSlot *slot);
static bool next_page(AsyncSeqScanState *state);
static void start_stream(AsyncSeqScanState *state);
static void asyncscan_release_page(AsyncSeqScanState *state);

static Size asyncscan_estimate_dsm(CustomScanState *node,
									ParallelContext *pcxt);
static void asyncscan_initialize_dsm(CustomScanState *node,
									 ParallelContext *pcxt, void *coordinate);
static void asyncscan_reinitialize_dsm(CustomScanState *node,
									   ParallelContext *pcxt, void *coordinate);
static void asyncscan_initialize_worker(CustomScanState *node,
										shm_toc *toc, void *coordinate);
static void asyncscan_shutdown(CustomScanState *node);
static void collect_worker_stats(dsm_segment *seg, Datum arg);

static const CustomExecMethods asyncscan_exec_methods = {
	.CustomName = ASYNCSCAN_NODE_NAME,
	.BeginCustomScan = asyncscan_begin,
	.ExecCustomScan = asyncscan_exec,
	.EndCustomScan = asyncscan_end,
	.ReScanCustomScan = asyncscan_rescan,
	.EstimateDSMCustomScan = asyncscan_estimate_dsm,
	.InitializeDSMCustomScan = asyncscan_initialize_dsm,
	.ReInitializeDSMCustomScan = asyncscan_reinitialize_dsm,
	.InitializeWorkerCustomScan = asyncscan_initialize_worker,
	.ShutdownCustomScan = asyncscan_shutdown,
	.ExplainCustomScan = asyncscan_explain,
};

Node *
asyncscan_create_scan_state(CustomScan *cscan)
{
	AsyncSeqScanState *state = palloc0(sizeof(AsyncSeqScanState));

	NodeSetTag(state, T_CustomScanState);
	state->css.flags = cscan->flags;
	state->css.methods = &asyncscan_exec_methods;
	asyncscan_request_heap_slot(&state->css);

	return (Node *) state;
}

static void
asyncscan_begin(CustomScanState *node, EState *estate, int eflags)
{
	AsyncSeqScanState *state = (AsyncSeqScanState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;

	Assert(node->ss.ss_currentRelation != NULL);
	asyncscan_install_heap_slot(node, estate, cscan);
	Assert(TTS_IS_HEAPTUPLE(node->ss.ss_ScanTupleSlot));

	/* the method is fixed for the life of the node, rescans included */
	state->io_method_requested = asyncscan_io_method_setting();
	state->io_method = asyncscan_resolve_io_method(state->io_method_requested,
												   &state->fallback_reason);
	state->stats.io_method = state->io_method;
	if (state->fallback_reason != NULL && (eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0)
		asyncscan_stats_count(state->io_method_requested,
							  ASYNCSCAN_STAT_FALLBACKS, 1);
	state->stream = NULL;
	state->finished = false;
	state->have_page = false;
	state->tuple.t_tableOid = RelationGetRelid(node->ss.ss_currentRelation);
}

static TupleTableSlot *
asyncscan_exec(CustomScanState *node)
{
	return ExecScan(&node->ss,
					(ExecScanAccessMtd) asyncscan_next,
					(ExecScanRecheckMtd) asyncscan_recheck);
}

/*
 * Return the next visible tuple of the relation, or an empty slot.
 */
static TupleTableSlot *
asyncscan_next(ScanState *ss)
{
	AsyncSeqScanState *state = (AsyncSeqScanState *) ss;
	TupleTableSlot *slot = ss->ss_ScanTupleSlot;

	while (state->next_tuple >= state->ntuples)
	{
		/* the slot points into the page: empty it before letting go */
		ExecClearTuple(slot);
		asyncscan_release_page(state);
		if (state->finished || !next_page(state))
			return slot;
	}
	return store_next_tuple(state, slot);
}

/*
 * Store the next visible tuple of the current page in the scan slot,
 * pointing into the page (no buffer pin: the node holds the page).
 */
static TupleTableSlot *
store_next_tuple(AsyncSeqScanState *state, TupleTableSlot *slot)
{
	OffsetNumber offnum = state->offsets[state->next_tuple++];
	Page		page = state->page.page;
	ItemId		lp = PageGetItemId(page, offnum);

	Assert(state->have_page && ItemIdIsNormal(lp));
	state->tuple.t_data = (HeapTupleHeader) PageGetItem(page, lp);
	state->tuple.t_len = ItemIdGetLength(lp);
	ItemPointerSet(&state->tuple.t_self, state->page.blkno, offnum);

	pgstat_count_heap_getnext(state->css.ss.ss_currentRelation);
	return ExecStoreHeapTuple(&state->tuple, slot, false);
}

/*
 * Move to the next page of the stream (starting the stream first if need
 * be) and collect its visible tuples; false at the end of the relation.
 */
static bool
next_page(AsyncSeqScanState *state)
{
	if (state->stream == NULL)
		start_stream(state);

	if (!asyncscan_stream_next(state->stream, &state->page))
	{
		/* give back memory and descriptors now, keep the counters */
		asyncscan_stream_end(state->stream);
		state->stream = NULL;
		state->finished = true;
		return false;
	}
	state->have_page = true;
	state->next_tuple = 0;
	state->ntuples = asyncscan_visible_tuples(state->css.ss.ss_currentRelation,
											  state->css.ss.ps.state->es_snapshot,
											  state->stream, &state->page,
											  state->offsets);
	return true;
}

/*
 * Start the read stream, when the scan first asks for a page (and again
 * after a rescan): what heap_beginscan does for a Seq Scan, then the
 * stream over all blocks, or over this participant's chunks of a parallel
 * scan.
 */
static void
start_stream(AsyncSeqScanState *state)
{
	ScanState  *ss = &state->css.ss;
	EState	   *estate = ss->ps.state;
	Relation	rel = ss->ss_currentRelation;
	MemoryContext oldcxt;

	/*
	 * Time the waits as track_io_timing would, or for EXPLAIN ANALYZE with
	 * TIMING (instrumentation is set up after BeginCustomScan, so decide
	 * here).
	 */
	state->stats.time_waits = track_io_timing ||
		(ss->ps.instrument != NULL && ss->ps.instrument->need_timer);

	/* what heap_beginscan does for a Seq Scan */
	pgstat_count_heap_scan(rel);
	PredicateLockRelation(rel, estate->es_snapshot);

	/* the stream lives as long as the query, or until rescan */
	oldcxt = MemoryContextSwitchTo(estate->es_query_cxt);
	if (state->pshared != NULL)
	{
		/* a participant of a parallel scan: blocks from the chunks */
		asyncscan_chunk_begin(&state->chunk, &state->pshared->blocks);
		state->stream = asyncscan_stream_begin(rel, estate->es_snapshot,
											   state->io_method,
											   &state->stats,
											   state->pshared->blocks.nblocks,
											   asyncscan_chunk_next_block,
											   &state->chunk);
	}
	else
		state->stream = asyncscan_stream_begin(rel, estate->es_snapshot,
											   state->io_method,
											   &state->stats,
											   InvalidBlockNumber,
											   NULL, NULL);
	MemoryContextSwitchTo(oldcxt);
}

/* Forget the current page; the stream releases it on its next call. */
static void
asyncscan_release_page(AsyncSeqScanState *state)
{
	state->have_page = false;
	state->ntuples = 0;
	state->next_tuple = 0;
}

/*
 * AsyncSeqScan is never planned where EvalPlanQual could recheck its rows
 * (see planner.c), so like a Seq Scan there is nothing to recheck.
 */
static bool
asyncscan_recheck(ScanState *ss, TupleTableSlot *slot)
{
	return true;
}

static void
asyncscan_end(CustomScanState *node)
{
	AsyncSeqScanState *state = (AsyncSeqScanState *) node;

	/* a segment still attached must not call back into freed memory */
	if (state->dsm_seg != NULL)
	{
		cancel_on_dsm_detach(state->dsm_seg, collect_worker_stats,
							 PointerGetDatum(state));
		state->dsm_seg = NULL;
	}

	ExecClearTuple(node->ss.ss_ScanTupleSlot);
	asyncscan_release_page(state);
	if (state->stream != NULL)
	{
		asyncscan_stream_end(state->stream);
		state->stream = NULL;
	}
}

static void
asyncscan_rescan(CustomScanState *node)
{
	AsyncSeqScanState *state = (AsyncSeqScanState *) node;

	/* clears the scan slot before its page goes away */
	ExecScanReScan(&node->ss);
	asyncscan_release_page(state);
	if (state->stream != NULL)
	{
		asyncscan_stream_end(state->stream);
		state->stream = NULL;
	}
	state->finished = false;
}

static Size
asyncscan_estimate_dsm(CustomScanState *node, ParallelContext *pcxt)
{
	return add_size(offsetof(AsyncScanParallelShared, worker_stats),
					mul_size(sizeof(AsyncScanStats), pcxt->nworkers));
}

static void
asyncscan_initialize_dsm(CustomScanState *node, ParallelContext *pcxt,
						 void *coordinate)
{
	AsyncSeqScanState *state = (AsyncSeqScanState *) node;
	AsyncScanParallelShared *shared = (AsyncScanParallelShared *) coordinate;

	/* the leader fixes the block count, after the snapshot, for everyone */
	asyncscan_chunks_init(&shared->blocks,
						  RelationGetNumberOfBlocks(node->ss.ss_currentRelation));
	shared->nworkers = pcxt->nworkers;
	memset(shared->worker_stats, 0, sizeof(AsyncScanStats) * pcxt->nworkers);
	state->pshared = shared;

	/*
	 * The workers' counters are complete only once they have finished,
	 * which the Gather waits for after this node's shutdown: collect them
	 * when the segment is detached, which happens after that wait.  The
	 * leader's totals are allocated now, so the callback allocates nothing.
	 */
	if (state->worker_stats == NULL)
	{
		state->worker_stats =
			MemoryContextAllocZero(node->ss.ps.state->es_query_cxt,
								   sizeof(AsyncScanStats) * pcxt->nworkers);
		state->nworkers_stats = pcxt->nworkers;
	}
	state->dsm_seg = pcxt->seg;
	on_dsm_detach(pcxt->seg, collect_worker_stats, PointerGetDatum(state));
}

/*
 * The query's DSM segment is going away, after every worker finished: add
 * what the workers left in it to the leader's totals for EXPLAIN (a new
 * segment after a rescan starts again from zero).
 */
static void
collect_worker_stats(dsm_segment *seg, Datum arg)
{
	AsyncSeqScanState *state = (AsyncSeqScanState *) DatumGetPointer(arg);
	AsyncScanParallelShared *shared = state->pshared;

	if (shared != NULL)
	{
		int			n = Min(shared->nworkers, state->nworkers_stats);

		for (int w = 0; w < n; w++)
			asyncscan_stats_add(&state->worker_stats[w],
								&shared->worker_stats[w]);
	}
	state->pshared = NULL;
	state->dsm_seg = NULL;
}

static void
asyncscan_reinitialize_dsm(CustomScanState *node, ParallelContext *pcxt,
						   void *coordinate)
{
	AsyncScanParallelShared *shared = (AsyncScanParallelShared *) coordinate;

	/* a rescan: hand out every block again; counters keep accumulating */
	asyncscan_chunks_reset(&shared->blocks);
}

static void
asyncscan_initialize_worker(CustomScanState *node, shm_toc *toc,
							void *coordinate)
{
	AsyncSeqScanState *state = (AsyncSeqScanState *) node;

	state->pshared = (AsyncScanParallelShared *) coordinate;
}

/*
 * Before the DSM goes away: a worker ends its stream (which adds what it
 * read to the cumulative statistics) and leaves its counters there, for
 * the leader to collect when the segment is detached.  A worker's plan does
 * not run again after its shutdown, so ending the stream here loses
 * nothing, also when a LIMIT above the Gather stopped the worker early.
 */
static void
asyncscan_shutdown(CustomScanState *node)
{
	AsyncSeqScanState *state = (AsyncSeqScanState *) node;
	AsyncScanParallelShared *shared = state->pshared;

	if (shared == NULL)
		return;

	if (IsParallelWorker())
	{
		ExecClearTuple(node->ss.ss_ScanTupleSlot);
		asyncscan_release_page(state);
		if (state->stream != NULL)
		{
			asyncscan_stream_end(state->stream);
			state->stream = NULL;
			state->finished = true;
		}

		Assert(ParallelWorkerNumber < shared->nworkers);
		asyncscan_stats_add(&shared->worker_stats[ParallelWorkerNumber],
							&state->stats);
		/* left in the DSM once, even if shut down again */
		memset(&state->stats, 0, sizeof(AsyncScanStats));
		state->stats.io_method = state->io_method;
		return;
	}

	/* the leader: its workers' counters come at detach */
}
