/*-------------------------------------------------------------------------
 *
 * explain.c
 *	  What EXPLAIN shows for AsyncSeqScan: per node, and once per statement.
 *
 * Per node, plain EXPLAIN names the IO method (and, when it differs from
 * the requested one, which was requested and why it was not used).  Under
 * ANALYZE the node's counters follow, in text format as two compact lines
 *
 *	  IO: method=io_uring direct=245000 hit=900 read=12
 *	  Reads: count=15400 avg=127.6kB in-flight avg=14.1 max=16 window max=256 waits=31 wait=12.3ms
 *
 * and in JSON, YAML and XML as one named property per counter.  The wait
 * time is measured only when track_io_timing is on or EXPLAIN ANALYZE runs
 * with TIMING, the same discipline as PostgreSQL's own I/O timings.
 *
 * Per statement, under ANALYZE, one summary of all AsyncSeqScan nodes
 * ("AsyncSeqScan IO") is printed with the other statement-level lines, so a
 * scan of a partitioned table with many nodes can be read at a glance.
 * PostgreSQL 15 has no per-plan EXPLAIN hook, so the summary is emitted
 * from the ExecutorEnd hook of the query being explained, which runs
 * inside ExplainOnePlan after the plan and before "Execution Time"; the
 * ExplainOneQuery hook tells which query that is and where to print.
 *
 * On PostgreSQL 18 the counters (per node and per statement) are shown
 * under EXPLAIN (ANALYZE, ASYNCIO), an option registered through 18's
 * extension EXPLAIN API (below), and name the server's own io_method,
 * which reads the pages AsyncSeqScan takes through shared buffers.
 *
 * IDENTIFICATION
 *	  src/explain.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/defrem.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "lib/stringinfo.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "tcop/tcopprot.h"

#include "asyncscan.h"
#include "compat.h"
#include "io_method.h"
#include "stats.h"
#include "storage_hooks.h"

/* Sums over the AsyncSeqScan nodes of one statement */
typedef struct StatementIo
{
	int			nodes;
	int			method;			/* the method of the nodes, or -1 if mixed */
	AsyncScanStats total;
} StatementIo;

static ExplainOneQuery_hook_type prev_ExplainOneQuery_hook = NULL;
static ExecutorStart_hook_type prev_ExecutorStart_hook = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd_hook = NULL;

/* the EXPLAIN being run, and its query once ExecutorStart has seen it */
static ExplainState *explain_state = NULL;
static const char *explain_source = NULL;
static QueryDesc *explain_query = NULL;

static void show_counters(const AsyncScanStats *stats, const char *method,
						  ExplainState *es);
static void asyncscan_ExplainOneQuery(Query *query, int cursorOptions,
									  IntoClause *into, ExplainState *es,
									  const char *queryString,
									  ParamListInfo params,
									  QueryEnvironment *queryEnv);
static void asyncscan_ExecutorStart(QueryDesc *queryDesc, int eflags);
static void asyncscan_ExecutorEnd(QueryDesc *queryDesc);
static bool sum_statement_io(PlanState *ps, void *context);
static bool is_asyncscan_node(PlanState *ps);

#ifdef ASYNCSCAN_HAVE_EXPLAIN_OPTIONS

/*
 * EXPLAIN (ANALYZE, ASYNCIO [boolean]) through PostgreSQL 18's extension
 * EXPLAIN API.  The option's value lives in the ExplainState, under our
 * extension id; the validation hook rejects ASYNCIO without ANALYZE the way
 * EXPLAIN rejects TIMING without ANALYZE.
 */
static int	asyncio_extension_id = -1;
static explain_validate_options_hook_type prev_validate_options_hook = NULL;

static bool explain_asyncio(ExplainState *es);

static void
asyncio_option_handler(ExplainState *es, DefElem *opt, ParseState *pstate)
{
	bool	   *asyncio = GetExplainExtensionState(es, asyncio_extension_id);

	if (asyncio == NULL)
	{
		asyncio = palloc0(sizeof(bool));
		SetExplainExtensionState(es, asyncio_extension_id, asyncio);
	}
	*asyncio = defGetBoolean(opt);
}

static void
asyncio_validate_options(ExplainState *es, List *options, ParseState *pstate)
{
	if (prev_validate_options_hook)
		prev_validate_options_hook(es, options, pstate);
	if (explain_asyncio(es) && !es->analyze)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("EXPLAIN option %s requires ANALYZE", "ASYNCIO")));
}

static void
explain_option_init(void)
{
	asyncio_extension_id = GetExplainExtensionId("pg_asyncscan");
	RegisterExtensionExplainOption("asyncio", asyncio_option_handler);
	prev_validate_options_hook = explain_validate_options_hook;
	explain_validate_options_hook = asyncio_validate_options;
}

static bool
explain_asyncio(ExplainState *es)
{
	bool	   *asyncio = GetExplainExtensionState(es, asyncio_extension_id);

	return asyncio != NULL && *asyncio;
}

/* the counters show under EXPLAIN (ANALYZE, ASYNCIO) */
#define explain_shows_io(es)	((es)->analyze && explain_asyncio(es))

#else							/* !ASYNCSCAN_HAVE_EXPLAIN_OPTIONS */

/* before PostgreSQL 18: under EXPLAIN ANALYZE */
#define explain_option_init()	((void) 0)
#define explain_shows_io(es)	((es)->analyze)

#endif							/* ASYNCSCAN_HAVE_EXPLAIN_OPTIONS */

void
asyncscan_explain_init(void)
{
	prev_ExplainOneQuery_hook = ExplainOneQuery_hook;
	ExplainOneQuery_hook = asyncscan_ExplainOneQuery;
	prev_ExecutorStart_hook = ExecutorStart_hook;
	ExecutorStart_hook = asyncscan_ExecutorStart;
	prev_ExecutorEnd_hook = ExecutorEnd_hook;
	ExecutorEnd_hook = asyncscan_ExecutorEnd;
	explain_option_init();
}

/*
 * ExplainCustomScan callback: the lines of one node.
 */
void
asyncscan_explain(CustomScanState *node, List *ancestors, ExplainState *es)
{
	AsyncSeqScanState *state = (AsyncSeqScanState *) node;
	const char *method = asyncscan_io_method_ops(state->io_method)->name;

	if (state->fallback_reason != NULL)
	{
		const char *requested =
			asyncscan_io_method_ops(state->io_method_requested)->name;

		if (es->format == EXPLAIN_FORMAT_TEXT)
			method = psprintf("%s (requested %s, %s)", method, requested,
							  state->fallback_reason);
		else
		{
			ExplainPropertyText("IO Method Requested", requested, es);
			ExplainPropertyText("IO Method Fallback Reason",
								state->fallback_reason, es);
		}
	}

	if (!explain_shows_io(es))
	{
		ExplainPropertyText("IO Method", method, es);
		asyncscan_storage_hooks_explain_plain(es);
		return;
	}

	if (state->nworkers_stats == 0)
	{
		show_counters(&state->stats, method, es);
		return;
	}

	/* a parallel scan: the node's totals over leader and workers ... */
	{
		AsyncScanStats total = state->stats;

		for (int w = 0; w < state->nworkers_stats; w++)
			asyncscan_stats_add(&total, &state->worker_stats[w]);
		show_counters(&total, method, es);
	}

	/* ... and, with VERBOSE, each participant's own */
	if (es->verbose)
	{
		if (es->format == EXPLAIN_FORMAT_TEXT)
		{
			appendStringInfoSpaces(es->str, es->indent * 2);
			appendStringInfoString(es->str, "Leader:\n");
			es->indent++;
			show_counters(&state->stats, method, es);
			es->indent--;
			for (int w = 0; w < state->nworkers_stats; w++)
			{
				appendStringInfoSpaces(es->str, es->indent * 2);
				appendStringInfo(es->str, "Worker %d:\n", w);
				es->indent++;
				show_counters(&state->worker_stats[w], method, es);
				es->indent--;
			}
		}
		else
		{
			ExplainOpenGroup("Participants IO", "Participants IO", false, es);
			ExplainOpenGroup("Participant", NULL, true, es);
			ExplainPropertyText("Participant", "leader", es);
			show_counters(&state->stats, method, es);
			ExplainCloseGroup("Participant", NULL, true, es);
			for (int w = 0; w < state->nworkers_stats; w++)
			{
				ExplainOpenGroup("Participant", NULL, true, es);
				ExplainPropertyText("Participant", psprintf("worker %d", w), es);
				show_counters(&state->worker_stats[w], method, es);
				ExplainCloseGroup("Participant", NULL, true, es);
			}
			ExplainCloseGroup("Participants IO", "Participants IO", false, es);
		}
	}
}

/*
 * The counters of one node or of a whole statement.
 */
static void
show_counters(const AsyncScanStats *stats, const char *method,
			  ExplainState *es)
{
	uint64		rejected;
	double		avg_read_kb;
	double		avg_inflight;
	double		wait_ms = INSTR_TIME_GET_MILLISEC(stats->wait_time);
	const char *server_io_method = asyncscan_server_io_method();

	rejected = stats->rejected_in_buffers + stats->rejected_not_all_visible +
		stats->rejected_bad_page + stats->rejected_undecided +
		stats->rejected_written;
	avg_read_kb = stats->reads > 0 ?
		(double) stats->read_bytes / stats->reads / 1024.0 : 0.0;
	avg_inflight = stats->submits > 0 ?
		(double) stats->inflight_sum / stats->submits : 0.0;

	if (es->format == EXPLAIN_FORMAT_TEXT)
	{
		appendStringInfoSpaces(es->str, es->indent * 2);
		appendStringInfo(es->str, "IO: method=%s", method);
		if (stats->direct_io)
			appendStringInfo(es->str, " direct_io=on (page cache %.0f%%)",
							 stats->read_bytes > 0 ?
							 100.0 * stats->cached_bytes / stats->read_bytes : 0.0);
		appendStringInfo(es->str, " direct=" UINT64_FORMAT, stats->pages_direct);
		if (stats->pages_direct_checked > 0)
			appendStringInfo(es->str, " (tuples checked=" UINT64_FORMAT ")",
							 stats->pages_direct_checked);
		appendStringInfo(es->str, " hit=" UINT64_FORMAT " read=" UINT64_FORMAT,
						 stats->pages_hit, stats->pages_read);
		if (rejected > 0)
		{
			appendStringInfo(es->str,
							 " rejected=" UINT64_FORMAT " (in buffers=" UINT64_FORMAT
							 " not all-visible=" UINT64_FORMAT " bad page=" UINT64_FORMAT,
							 rejected, stats->rejected_in_buffers,
							 stats->rejected_not_all_visible,
							 stats->rejected_bad_page);
			if (stats->rejected_undecided > 0)
				appendStringInfo(es->str, " undecided=" UINT64_FORMAT,
								 stats->rejected_undecided);
			if (stats->storage_hooks)
				appendStringInfo(es->str, " written=" UINT64_FORMAT,
								 stats->rejected_written);
			appendStringInfoChar(es->str, ')');
		}
		if (server_io_method != NULL)
			appendStringInfo(es->str, " buffered-by=server io_method=%s",
							 server_io_method);
		appendStringInfoChar(es->str, '\n');

		appendStringInfoSpaces(es->str, es->indent * 2);
		appendStringInfo(es->str,
						 "Reads: count=" UINT64_FORMAT " avg=%.1fkB in-flight avg=%.1f max=%d window max=%d waits=" UINT64_FORMAT,
						 stats->reads, avg_read_kb, avg_inflight,
						 stats->inflight_max, stats->distance_max,
						 stats->waits);
		if (stats->time_waits)
			appendStringInfo(es->str, " wait=%.3fms", wait_ms);
		if (stats->inline_reads > 0)
			appendStringInfo(es->str, " inline=" UINT64_FORMAT,
							 stats->inline_reads);
		appendStringInfoChar(es->str, '\n');
		asyncscan_storage_hooks_explain_counters(stats, es);
		return;
	}

	ExplainPropertyText("IO Method", method, es);
	if (server_io_method != NULL)
		ExplainPropertyText("Buffered IO Method", server_io_method, es);
	ExplainPropertyBool("Direct IO", stats->direct_io, es);
	ExplainPropertyUInteger("Pages Direct", NULL, stats->pages_direct, es);
	ExplainPropertyUInteger("Pages Direct Tuples Checked", NULL,
							stats->pages_direct_checked, es);
	ExplainPropertyUInteger("Pages Hit", NULL, stats->pages_hit, es);
	ExplainPropertyUInteger("Pages Read", NULL, stats->pages_read, es);
	ExplainPropertyUInteger("Direct Rejected In Buffers", NULL,
							stats->rejected_in_buffers, es);
	ExplainPropertyUInteger("Direct Rejected Not All-Visible", NULL,
							stats->rejected_not_all_visible, es);
	ExplainPropertyUInteger("Direct Rejected Bad Page", NULL,
							stats->rejected_bad_page, es);
	ExplainPropertyUInteger("Direct Rejected Undecided", NULL,
							stats->rejected_undecided, es);
	ExplainPropertyUInteger("Reads", NULL, stats->reads, es);
	ExplainPropertyUInteger("Read Bytes", NULL, stats->read_bytes, es);
	ExplainPropertyUInteger("Read Bytes From Page Cache", NULL,
							stats->cached_bytes, es);
	ExplainPropertyFloat("Average Read Size", "kB", avg_read_kb, 1, es);
	ExplainPropertyFloat("Average In-Flight", NULL, avg_inflight, 1, es);
	ExplainPropertyInteger("Max In-Flight", NULL, stats->inflight_max, es);
	ExplainPropertyInteger("Max Window", "blocks", stats->distance_max, es);
	ExplainPropertyUInteger("Advised Blocks", NULL, stats->advised_blocks, es);
	ExplainPropertyUInteger("Waits", NULL, stats->waits, es);
	ExplainPropertyUInteger("Inline Reads", NULL, stats->inline_reads, es);
	if (stats->time_waits)
		ExplainPropertyFloat("Wait Time", "ms", wait_ms, 3, es);
	asyncscan_storage_hooks_explain_counters(stats, es);
}

/*
 * Remember which EXPLAIN is running, then do what ExplainOneQuery does
 * without a hook (or let the previous hook do it).
 */
static void
asyncscan_ExplainOneQuery(Query *query, int cursorOptions, IntoClause *into,
						  ExplainState *es, const char *queryString,
						  ParamListInfo params, QueryEnvironment *queryEnv)
{
	ExplainState *save_state = explain_state;
	const char *save_source = explain_source;
	QueryDesc  *save_query = explain_query;

	explain_state = es;
	explain_source = queryString;
	explain_query = NULL;
	PG_TRY();
	{
		if (prev_ExplainOneQuery_hook)
			prev_ExplainOneQuery_hook(query, cursorOptions, into, es,
									  queryString, params, queryEnv);
		else
			asyncscan_standard_explain_one_query(query, cursorOptions, into,
												 es, queryString, params,
												 queryEnv);
	}
	PG_FINALLY();
	{
		explain_state = save_state;
		explain_source = save_source;
		explain_query = save_query;
	}
	PG_END_TRY();
}

/*
 * The explained query is the first one started from the EXPLAIN's own
 * source text with instrumentation (ANALYZE) or EXPLAIN_ONLY; queries run
 * by functions during planning or execution have their own texts.
 */
static void
asyncscan_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (explain_state != NULL && explain_query == NULL &&
		queryDesc->sourceText == explain_source &&
		(queryDesc->instrument_options != 0 ||
		 (eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0))
		explain_query = queryDesc;

	if (prev_ExecutorStart_hook)
		prev_ExecutorStart_hook(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/*
 * Print the statement summary into the running EXPLAIN, before the
 * executor state (and the nodes' counters) goes away.
 */
static void
asyncscan_ExecutorEnd(QueryDesc *queryDesc)
{
	if (queryDesc == explain_query && explain_state != NULL &&
		explain_shows_io(explain_state) &&
		queryDesc->planstate != NULL)
	{
		ExplainState *es = explain_state;
		StatementIo sio;

		memset(&sio, 0, sizeof(sio));
		sio.method = -2;		/* none seen yet */
		sum_statement_io(queryDesc->planstate, &sio);

		if (sio.nodes > 0)
		{
			const char *method = sio.method >= 0 ?
				asyncscan_io_method_ops(sio.method)->name : "mixed";

			ExplainOpenGroup("AsyncSeqScan IO", "AsyncSeqScan IO", true, es);
			if (es->format == EXPLAIN_FORMAT_TEXT)
			{
				appendStringInfo(es->str, "AsyncSeqScan IO: nodes=%d\n",
								 sio.nodes);
				es->indent++;
				show_counters(&sio.total, method, es);
				es->indent--;
			}
			else
			{
				ExplainPropertyInteger("Nodes", NULL, sio.nodes, es);
				show_counters(&sio.total, method, es);
			}
			ExplainCloseGroup("AsyncSeqScan IO", "AsyncSeqScan IO", true, es);
		}
		explain_query = NULL;
	}

	if (prev_ExecutorEnd_hook)
		prev_ExecutorEnd_hook(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

static bool
sum_statement_io(PlanState *ps, void *context)
{
	StatementIo *sio = (StatementIo *) context;

	if (ps == NULL)
		return false;
	if (is_asyncscan_node(ps))
	{
		AsyncSeqScanState *state = (AsyncSeqScanState *) ps;

		sio->nodes++;
		if (sio->method == -2)
			sio->method = state->stats.io_method;
		else if (sio->method != state->stats.io_method)
			sio->method = -1;
		asyncscan_stats_add(&sio->total, &state->stats);
		for (int w = 0; w < state->nworkers_stats; w++)
			asyncscan_stats_add(&sio->total, &state->worker_stats[w]);
	}
	return planstate_tree_walker(ps, sum_statement_io, context);
}

/*
 * Is this plan state an AsyncSeqScan node?  Only its exec methods name
 * this file's ExplainCustomScan callback; asking that keeps EXPLAIN from
 * depending on the executor node's file.
 */
static bool
is_asyncscan_node(PlanState *ps)
{
	return IsA(ps, CustomScanState) &&
		((CustomScanState *) ps)->methods->ExplainCustomScan == asyncscan_explain;
}
