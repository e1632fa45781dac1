/*-------------------------------------------------------------------------
 *
 * explain.c
 *	  What EXPLAIN shows for an AsyncSeqScan node.
 *
 * Plain EXPLAIN names the IO method.  Under ANALYZE the node's counters
 * follow: in text format two compact lines,
 *
 *	  IO: method=sync direct=245000 hit=900 read=12
 *	  Reads: count=15400 avg=127.6kB in-flight avg=14.1 max=16 window max=256 waits=31
 *
 * and in JSON, YAML and XML one named property per counter, so tests and
 * tools can read them without parsing text.
 *
 * IDENTIFICATION
 *	  src/explain.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/explain.h"
#include "lib/stringinfo.h"

#include "asyncscan.h"
#include "io.h"

void
asyncscan_explain(CustomScanState *node, List *ancestors, ExplainState *es)
{
	AsyncSeqScanState *state = (AsyncSeqScanState *) node;
	const AsyncScanStats *stats = &state->stats;
	const char *method = asyncscan_io_method_ops(state->io_method)->name;
	uint64		rejected;
	double		avg_read_kb;
	double		avg_inflight;

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

	if (!es->analyze)
	{
		ExplainPropertyText("IO Method", method, es);
		return;
	}

	rejected = stats->rejected_in_buffers + stats->rejected_not_all_visible +
		stats->rejected_bad_page;
	avg_read_kb = stats->reads > 0 ?
		(double) stats->read_bytes / stats->reads / 1024.0 : 0.0;
	avg_inflight = stats->submits > 0 ?
		(double) stats->inflight_sum / stats->submits : 0.0;

	if (es->format == EXPLAIN_FORMAT_TEXT)
	{
		appendStringInfoSpaces(es->str, es->indent * 2);
		appendStringInfo(es->str,
						 "IO: method=%s%s direct=" UINT64_FORMAT " hit=" UINT64_FORMAT
						 " read=" UINT64_FORMAT,
						 method, stats->direct_io ? " direct_io=on" : "",
						 stats->pages_direct, stats->pages_hit,
						 stats->pages_read);
		if (rejected > 0)
			appendStringInfo(es->str, " rejected=" UINT64_FORMAT, rejected);
		appendStringInfoChar(es->str, '\n');

		appendStringInfoSpaces(es->str, es->indent * 2);
		appendStringInfo(es->str,
						 "Reads: count=" UINT64_FORMAT " avg=%.1fkB in-flight avg=%.1f max=%d window max=%d waits=" UINT64_FORMAT "\n",
						 stats->reads, avg_read_kb, avg_inflight,
						 stats->inflight_max, stats->distance_max,
						 stats->waits);
		return;
	}

	ExplainPropertyText("IO Method", method, es);
	ExplainPropertyBool("Direct IO", stats->direct_io, es);
	ExplainPropertyUInteger("Pages Direct", NULL, stats->pages_direct, es);
	ExplainPropertyUInteger("Pages Hit", NULL, stats->pages_hit, es);
	ExplainPropertyUInteger("Pages Read", NULL, stats->pages_read, es);
	ExplainPropertyUInteger("Direct Rejected In Buffers", NULL,
							stats->rejected_in_buffers, es);
	ExplainPropertyUInteger("Direct Rejected Not All-Visible", NULL,
							stats->rejected_not_all_visible, es);
	ExplainPropertyUInteger("Direct Rejected Bad Page", NULL,
							stats->rejected_bad_page, es);
	ExplainPropertyUInteger("Reads", NULL, stats->reads, es);
	ExplainPropertyUInteger("Read Bytes", NULL, stats->read_bytes, es);
	ExplainPropertyFloat("Average Read Size", "kB", avg_read_kb, 1, es);
	ExplainPropertyFloat("Average In-Flight", NULL, avg_inflight, 1, es);
	ExplainPropertyInteger("Max In-Flight", NULL, stats->inflight_max, es);
	ExplainPropertyInteger("Max Window", "blocks", stats->distance_max, es);
	ExplainPropertyUInteger("Advised Blocks", NULL, stats->advised_blocks, es);
	ExplainPropertyUInteger("Waits", NULL, stats->waits, es);
}
