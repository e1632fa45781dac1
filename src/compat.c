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
