/*-------------------------------------------------------------------------
 *
 * compat.c
 *	  Whole functions that older PostgreSQL majors lack (see compat.h).
 *
 * IDENTIFICATION
 *	  src/compat.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "compat.h"

#if PG_VERSION_NUM < 170000

#include "executor/instrument.h"
#include "tcop/tcopprot.h"

/*
 * What ExplainOneQuery does without a hook: plan the query, then
 * ExplainOnePlan.  PostgreSQL 17 exports this as standard_ExplainOneQuery.
 */
void
asyncscan_standard_explain_one_query(Query *query, int cursorOptions,
									 IntoClause *into, ExplainState *es,
									 const char *queryString,
									 ParamListInfo params,
									 QueryEnvironment *queryEnv)
{
	PlannedStmt *plan;
	instr_time	planstart,
				planduration;
	BufferUsage bufusage_start,
				bufusage;

	if (es->buffers)
		bufusage_start = pgBufferUsage;
	INSTR_TIME_SET_CURRENT(planstart);

	plan = pg_plan_query(query, queryString, cursorOptions, params);

	INSTR_TIME_SET_CURRENT(planduration);
	INSTR_TIME_SUBTRACT(planduration, planstart);
	if (es->buffers)
	{
		memset(&bufusage, 0, sizeof(BufferUsage));
		BufferUsageAccumDiff(&bufusage, &pgBufferUsage, &bufusage_start);
	}

	ExplainOnePlan(plan, into, es, queryString, params, queryEnv,
				   &planduration, (es->buffers ? &bufusage : NULL));
}

#endif							/* PG_VERSION_NUM < 170000 */

#ifdef ASYNCSCAN_HAVE_EXPLAIN_OPTIONS

#include "commands/defrem.h"
#include "commands/explain_state.h"

/*
 * EXPLAIN (ANALYZE, ASYNCIO [boolean]) through PostgreSQL 18's extension
 * EXPLAIN API.  The option's value lives in the ExplainState, under our
 * extension id; the validation hook rejects ASYNCIO without ANALYZE the way
 * EXPLAIN rejects TIMING without ANALYZE.
 */
static int	asyncio_extension_id = -1;
static explain_validate_options_hook_type prev_validate_options_hook = NULL;

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
	if (asyncscan_explain_asyncio(es) && !es->analyze)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("EXPLAIN option %s requires ANALYZE", "ASYNCIO")));
}

void
asyncscan_explain_option_init(void)
{
	asyncio_extension_id = GetExplainExtensionId("pg_asyncscan");
	RegisterExtensionExplainOption("asyncio", asyncio_option_handler);
	prev_validate_options_hook = explain_validate_options_hook;
	explain_validate_options_hook = asyncio_validate_options;
}

bool
asyncscan_explain_asyncio(ExplainState *es)
{
	bool	   *asyncio = GetExplainExtensionState(es, asyncio_extension_id);

	return asyncio != NULL && *asyncio;
}

#endif							/* ASYNCSCAN_HAVE_EXPLAIN_OPTIONS */
