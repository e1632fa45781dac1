/*-------------------------------------------------------------------------
 *
 * planner.c
 *	  Offer AsyncSeqScan to the planner: the set_rel_pathlist hook, the
 *	  cost model, and the CustomPath -> CustomScan conversion.
 *
 * The path is offered for plain heap relations (and partitions) of at
 * least pg_asyncscan.min_relation_size, beside the Seq Scan path, and the
 * planner keeps whichever is cheaper.  It is not offered where it would be
 * wrong or unhelpful: relations modified by the statement or carrying row
 * marks (their scans need EvalPlanQual rechecks), system catalogs,
 * temporary relations (their pages live in backend-local buffers),
 * TABLESAMPLE, and relations of other table access methods.
 *
 * Cost model.  A Seq Scan pays disk_cost + cpu_cost, where
 *		disk_cost = seq_page_cost * pages
 *		cpu_cost  = (cpu_tuple_cost + quals per tuple) * tuples
 *				  + target list per output row
 * because its 8kB reads are synchronous: the CPU waits for every read.  An
 * AsyncSeqScan keeps reads in flight while the executor works on earlier
 * pages, so part of the smaller of the two components is hidden behind the
 * larger one:
 *		run_cost = disk_cost + cpu_cost
 *				 - ASYNCSCAN_IO_OVERLAP * Min(disk_cost, cpu_cost)
 * With ASYNCSCAN_IO_OVERLAP = 0.5 an AsyncSeqScan is never costed above
 * the Seq Scan and at most 25% below it, so index and bitmap scans still
 * win wherever they beat a Seq Scan by a clear margin.  enable_seqscan =
 * off disables it exactly as it disables a Seq Scan (disable_cost, or a
 * disabled node from PostgreSQL 18 on: compat.h).
 *
 * Aggregates over AsyncSeqScan get the relation's whole rows, as the
 * planner hands a Seq Scan's rows to an Agg (use_physical_tlist() in
 * createplan.c, which does not apply to custom paths): the Agg reads its
 * inputs from the scan tuple itself, where a narrowed target list would
 * cost a projection per row (about a tenth of an aggregate's run time
 * over OS-cached pages).  Only for a plain base relation whose needed
 * columns are all plain columns, and only for the path an Agg reads
 * directly; other parents (Sort, Hash, Append, Gather) keep the narrow
 * rows they ask for.
 *
 * The partial path (parallel AsyncSeqScan under Gather) is costed as
 * cost_seqscan costs a Parallel Seq Scan: the CPU part is divided among
 * the participants, the disk part is not, and the same overlap applies.
 *
 * IDENTIFICATION
 *	  src/planner.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/table.h"
#include "catalog/catalog.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "commands/extension.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/plancat.h"
#include "optimizer/planmain.h"
#include "optimizer/planner.h"
#include "optimizer/prep.h"
#include "optimizer/restrictinfo.h"
#include "optimizer/tlist.h"
#include "parser/parsetree.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/spccache.h"

#include "asyncscan.h"
#include "compat.h"

/* Fraction of the smaller of disk and CPU cost hidden by overlapped IO */
#define ASYNCSCAN_IO_OVERLAP	0.5

/* GUC variables */
static bool asyncscan_enabled = true;
static int	asyncscan_min_relation_size = 1024; /* blocks: 8MB */

static set_rel_pathlist_hook_type prev_set_rel_pathlist_hook = NULL;
static create_upper_paths_hook_type prev_create_upper_paths_hook = NULL;

static void asyncscan_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel,
									   Index rti, RangeTblEntry *rte);
static bool asyncscan_rel_is_eligible(PlannerInfo *root, RelOptInfo *rel,
									  Index rti, RangeTblEntry *rte);
static void asyncscan_cost(PlannerInfo *root, RelOptInfo *rel, Path *path);
static void asyncscan_create_upper_paths(PlannerInfo *root,
										 UpperRelationKind stage,
										 RelOptInfo *input_rel,
										 RelOptInfo *output_rel,
										 void *extra);
static void give_aggs_whole_rows(PlannerInfo *root, List *paths,
								 List **originals, List **copies);
static Path *whole_row_path(PlannerInfo *root, CustomPath *cpath);
static Plan *asyncscan_plan_custom_path(PlannerInfo *root, RelOptInfo *rel,
										CustomPath *best_path, List *tlist,
										List *clauses, List *custom_plans);

static const CustomPathMethods asyncscan_path_methods = {
	.CustomName = ASYNCSCAN_NODE_NAME,
	.PlanCustomPath = asyncscan_plan_custom_path,
};

const CustomScanMethods asyncscan_scan_methods = {
	.CustomName = ASYNCSCAN_NODE_NAME,
	.CreateCustomScanState = asyncscan_create_scan_state,
};

void
asyncscan_planner_init(void)
{
	DefineCustomBoolVariable("pg_asyncscan.enabled",
							 "Lets the planner use AsyncSeqScan for large heap scans.",
							 NULL,
							 &asyncscan_enabled,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_asyncscan.min_relation_size",
							"Smallest relation for which AsyncSeqScan is considered.",
							"Smaller relations keep a plain Seq Scan.",
							&asyncscan_min_relation_size,
							1024, 0, INT_MAX / 2,
							PGC_USERSET,
							GUC_UNIT_BLOCKS,
							NULL, NULL, NULL);

	RegisterCustomScanMethods(&asyncscan_scan_methods);

	prev_set_rel_pathlist_hook = set_rel_pathlist_hook;
	set_rel_pathlist_hook = asyncscan_set_rel_pathlist;
	prev_create_upper_paths_hook = create_upper_paths_hook;
	create_upper_paths_hook = asyncscan_create_upper_paths;
}

static CustomPath *
make_asyncscan_path(RelOptInfo *rel, int parallel_workers)
{
	CustomPath *cpath = makeNode(CustomPath);

	cpath->path.pathtype = T_CustomScan;
	cpath->path.parent = rel;
	cpath->path.pathtarget = rel->reltarget;
	cpath->path.param_info = NULL;
	cpath->path.parallel_aware = parallel_workers > 0;
	cpath->path.parallel_safe = rel->consider_parallel;
	cpath->path.parallel_workers = parallel_workers;
	cpath->path.pathkeys = NIL;		/* no useful order */
	/* no backward scan, no mark/restore: SCROLL cursors get a Material */
	cpath->flags = CUSTOMPATH_SUPPORT_PROJECTION;
	cpath->custom_paths = NIL;
	cpath->custom_private = NIL;
	cpath->methods = &asyncscan_path_methods;
	return cpath;
}

static void
asyncscan_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel,
						   Index rti, RangeTblEntry *rte)
{
	CustomPath *cpath;

	if (prev_set_rel_pathlist_hook)
		prev_set_rel_pathlist_hook(root, rel, rti, rte);

	if (!asyncscan_rel_is_eligible(root, rel, rti, rte))
		return;

	cpath = make_asyncscan_path(rel, 0);
	asyncscan_cost(root, rel, &cpath->path);
	add_path(rel, &cpath->path);

	/*
	 * A partial path for Gather / Gather Merge, with the worker count a
	 * Parallel Seq Scan gets (reloption parallel_workers,
	 * max_parallel_workers_per_gather, min_parallel_table_scan_size).
	 */
	if (rel->consider_parallel)
	{
		int			parallel_workers;

		parallel_workers = compute_parallel_worker(rel, rel->pages, -1,
												   max_parallel_workers_per_gather);
		if (parallel_workers > 0)
		{
			cpath = make_asyncscan_path(rel, parallel_workers);
			asyncscan_cost(root, rel, &cpath->path);
			add_partial_path(rel, &cpath->path);
		}
	}
}

/*
 * Is an AsyncSeqScan correct and worthwhile for this relation?
 */
static bool
asyncscan_rel_is_eligible(PlannerInfo *root, RelOptInfo *rel,
						  Index rti, RangeTblEntry *rte)
{
	Relation	relation;
	bool		eligible;

	if (!asyncscan_enabled)
		return false;
	if (rel->reloptkind != RELOPT_BASEREL &&
		rel->reloptkind != RELOPT_OTHER_MEMBER_REL)
		return false;
	if (rte->rtekind != RTE_RELATION || rte->relkind != RELKIND_RELATION)
		return false;
	/* an inheritance parent is scanned through its Append children */
	if (rte->inh || IS_DUMMY_REL(rel))
		return false;
	if (rte->tablesample != NULL)
		return false;
	/* LATERAL references would need a parameterized path */
	if (rel->lateral_relids != NULL)
		return false;
	if ((double) rel->pages < (double) asyncscan_min_relation_size)
		return false;

	/* rows the statement modifies or locks need EvalPlanQual rechecks */
	if (bms_is_member(rti, root->all_result_relids) ||
		rti == (Index) root->parse->resultRelation)
		return false;
	if (get_plan_rowmark(root->rowMarks, rti) != NULL)
		return false;

	if (IsCatalogRelationOid(rte->relid))
		return false;

	/* the planner holds a lock on the relation already */
	relation = table_open(rte->relid, NoLock);
	eligible = relation->rd_rel->relam == HEAP_TABLE_AM_OID &&
		(relation->rd_rel->relpersistence == RELPERSISTENCE_PERMANENT ||
		 relation->rd_rel->relpersistence == RELPERSISTENCE_UNLOGGED);
	table_close(relation, NoLock);
	if (!eligible)
		return false;

	/* only in databases where the extension is installed */
	return OidIsValid(get_extension_oid("pg_asyncscan", true));
}

/*
 * The cost model described at the top of this file.
 */
static void
asyncscan_cost(PlannerInfo *root, RelOptInfo *rel, Path *path)
{
	double		spc_seq_page_cost;
	Cost		startup_cost = 0;
	Cost		disk_cost;
	Cost		cpu_cost;
	double		parallel_divisor = 1.0;

	if (path->parallel_workers > 0)
	{
		/* as get_parallel_divisor() in costsize.c */
		parallel_divisor = path->parallel_workers;
		if (parallel_leader_participation &&
			1.0 - 0.3 * path->parallel_workers > 0)
			parallel_divisor += 1.0 - 0.3 * path->parallel_workers;
	}

	/* rows per participant, as for a Parallel Seq Scan */
	path->rows = clamp_row_est(rel->rows / parallel_divisor);

	if (!enable_seqscan)
		asyncscan_disable_path(path, &startup_cost);

	get_tablespace_page_costs(rel->reltablespace, NULL, &spc_seq_page_cost);
	/* like cost_seqscan, IO is not divided among participants */
	disk_cost = spc_seq_page_cost * rel->pages;

	startup_cost += rel->baserestrictcost.startup;
	cpu_cost = (cpu_tuple_cost + rel->baserestrictcost.per_tuple) * rel->tuples;
	startup_cost += path->pathtarget->cost.startup;
	cpu_cost += path->pathtarget->cost.per_tuple * rel->rows;
	cpu_cost /= parallel_divisor;

	path->startup_cost = startup_cost;
	path->total_cost = startup_cost + disk_cost + cpu_cost -
		ASYNCSCAN_IO_OVERLAP * Min(disk_cost, cpu_cost);
}

/*
 * Grouping paths are made: Aggs (plain, hashed, partial) that read an
 * AsyncSeqScan directly read whole rows (see the top of this file).
 */
static void
asyncscan_create_upper_paths(PlannerInfo *root, UpperRelationKind stage,
							 RelOptInfo *input_rel, RelOptInfo *output_rel,
							 void *extra)
{
	List	   *originals = NIL;
	List	   *copies = NIL;

	if (prev_create_upper_paths_hook)
		prev_create_upper_paths_hook(root, stage, input_rel, output_rel, extra);

	if (stage != UPPERREL_GROUP_AGG && stage != UPPERREL_PARTIAL_GROUP_AGG)
		return;
	give_aggs_whole_rows(root, output_rel->pathlist, &originals, &copies);
	give_aggs_whole_rows(root, output_rel->partial_pathlist, &originals, &copies);
}

/*
 * Point every AggPath of paths whose input is an AsyncSeqScan path at a
 * copy of that path that returns whole rows.  The original stays as it is
 * (other paths, a Sort for instance, may read it); each original gets one
 * copy (originals[i] -> copies[i]).
 */
static void
give_aggs_whole_rows(PlannerInfo *root, List *paths,
					 List **originals, List **copies)
{
	ListCell   *lc;

	foreach(lc, paths)
	{
		AggPath    *agg = (AggPath *) lfirst(lc);
		CustomPath *cpath;
		Path	   *copy = NULL;
		ListCell   *lo;
		ListCell   *lcopy;

		if (!IsA(agg, AggPath) || !IsA(agg->subpath, CustomPath))
			continue;
		cpath = (CustomPath *) agg->subpath;
		if (cpath->methods != &asyncscan_path_methods)
			continue;

		forboth(lo, *originals, lcopy, *copies)
		{
			if (lfirst(lo) == cpath)
				copy = (Path *) lfirst(lcopy);
		}
		if (copy == NULL)
		{
			copy = whole_row_path(root, cpath);
			if (copy == NULL)
				continue;
			*originals = lappend(*originals, cpath);
			*copies = lappend(*copies, copy);
		}
		agg->subpath = copy;
	}
}

/*
 * A copy of cpath whose target is the relation's physical row, with the
 * grouping labels of cpath's target, or NULL where a Seq Scan would not
 * get a physical row either: not a plain base relation, a needed column
 * that is not a plain column (system column, whole-row Var, placeholder),
 * or dropped or missing-value columns (build_physical_tlist() gives up
 * there, as for a Seq Scan).
 */
static Path *
whole_row_path(PlannerInfo *root, CustomPath *cpath)
{
	RelOptInfo *rel = cpath->path.parent;
	PathTarget *target = cpath->path.pathtarget;
	PathTarget *physical;
	CustomPath *copy;
	List	   *tlist;
	ListCell   *lc;
	int			i;

	if (rel->reloptkind != RELOPT_BASEREL || rel->rtekind != RTE_RELATION)
		return NULL;
	foreach(lc, target->exprs)
	{
		Var		   *var = (Var *) lfirst(lc);

		if (!IsA(var, Var) || var->varno != (int) rel->relid ||
			var->varattno <= 0 || var->varlevelsup != 0)
			return NULL;
	}

	/* NIL where the relation has dropped or missing-value columns */
	tlist = build_physical_tlist(root, rel);
	if (tlist == NIL)
		return NULL;
	foreach(lc, tlist)
	{
		if (!IsA(((TargetEntry *) lfirst(lc))->expr, Var))
			return NULL;
	}
	physical = make_pathtarget_from_tlist(tlist);

	/* the grouping labels move with their columns */
	i = 0;
	foreach(lc, target->exprs)
	{
		Index		ref = get_pathtarget_sortgroupref(target, i);

		if (ref != 0)
		{
			ListCell   *lp;
			int			j = 0;
			bool		found = false;

			foreach(lp, physical->exprs)
			{
				if (equal(lfirst(lp), lfirst(lc)))
				{
					physical->sortgrouprefs[j] = ref;
					found = true;
					break;
				}
				j++;
			}
			if (!found)
				return NULL;
		}
		i++;
	}
	set_pathtarget_cost_width(root, physical);

	copy = makeNode(CustomPath);
	memcpy(copy, cpath, sizeof(CustomPath));
	copy->path.pathtarget = physical;
	return &copy->path;
}

/*
 * CustomPath -> CustomScan.  The scan tuple is the relation's row type
 * (no custom_scan_tlist); quals are evaluated by ExecScan.
 */
static Plan *
asyncscan_plan_custom_path(PlannerInfo *root, RelOptInfo *rel,
						   CustomPath *best_path, List *tlist,
						   List *clauses, List *custom_plans)
{
	CustomScan *cscan = makeNode(CustomScan);

	Assert(rel->relid > 0);
	Assert(custom_plans == NIL);

	cscan->scan.plan.targetlist = tlist;
	/* clauses arrive ordered by cost; drop pseudoconstants (gating Result) */
	cscan->scan.plan.qual = extract_actual_clauses(clauses, false);
	cscan->scan.scanrelid = rel->relid;
	cscan->flags = best_path->flags;
	cscan->custom_plans = NIL;
	cscan->custom_exprs = NIL;
	cscan->custom_private = NIL;
	cscan->custom_scan_tlist = NIL;
	cscan->custom_relids = NULL;
	cscan->methods = &asyncscan_scan_methods;

	return &cscan->scan.plan;
}
