/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Every difference between PostgreSQL major versions, in one place.
 *
 * The logic files never test PG_VERSION_NUM themselves; they use the
 * names defined here.  Each shim says what changed upstream and when.
 *
 * IDENTIFICATION
 *	  src/compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ASYNCSCAN_COMPAT_H
#define ASYNCSCAN_COMPAT_H

#include "postgres.h"

#include "common/relpath.h"
#include "storage/buf_internals.h"
#include "storage/smgr.h"
#include "utils/rel.h"

#if PG_VERSION_NUM < 150000
#error "pg_asyncscan requires PostgreSQL 15 or later"
#endif

/*
 * PostgreSQL 16 declares _PG_init in fmgr.h; on 15 the module declares it.
 */
#if PG_VERSION_NUM < 160000
extern PGDLLEXPORT void _PG_init(void);
#endif

/*
 * PostgreSQL 16 renamed RelFileNode to RelFileLocator (smgr_rnode became
 * smgr_rlocator) and replaced INIT_BUFFERTAG by InitBufferTag().
 */
#if PG_VERSION_NUM >= 160000
#define asyncscan_read_recent_buffer(rel, blkno, buffer) \
	ReadRecentBuffer((rel)->rd_locator, MAIN_FORKNUM, (blkno), (buffer))
#if PG_VERSION_NUM >= 180000
/* PostgreSQL 18: relpath() returns a RelPathStr by value, not a palloc'd string */
#define asyncscan_smgr_path(smgr) \
	pstrdup(relpath((smgr)->smgr_rlocator, MAIN_FORKNUM).str)
#else
#define asyncscan_smgr_path(smgr) \
	relpath((smgr)->smgr_rlocator, MAIN_FORKNUM)
#endif
#define asyncscan_init_buffer_tag(tag, rel, blkno) \
	InitBufferTag((tag), &(rel)->rd_locator, MAIN_FORKNUM, (blkno))
#else
#define asyncscan_read_recent_buffer(rel, blkno, buffer) \
	ReadRecentBuffer((rel)->rd_node, MAIN_FORKNUM, (blkno), (buffer))
#define asyncscan_smgr_path(smgr) \
	relpath((smgr)->smgr_rnode, MAIN_FORKNUM)
#define asyncscan_init_buffer_tag(tag, rel, blkno) \
	INIT_BUFFERTAG(*(tag), (rel)->rd_node, MAIN_FORKNUM, (blkno))
#endif

/*
 * The physical identity of a relation as three OIDs, and the path of a
 * permanent relation's main fork from them: RelFileNode's fields were
 * renamed in PostgreSQL 16 (RelFileLocator); GetRelationPath's backend
 * argument became a ProcNumber in 17.
 */
#if PG_VERSION_NUM >= 160000
#define asyncscan_rel_spc_oid(rel)	((rel)->rd_locator.spcOid)
#define asyncscan_rel_db_oid(rel)	((rel)->rd_locator.dbOid)
#define asyncscan_rel_number(rel)	((Oid) (rel)->rd_locator.relNumber)
#else
#define asyncscan_rel_spc_oid(rel)	((rel)->rd_node.spcNode)
#define asyncscan_rel_db_oid(rel)	((rel)->rd_node.dbNode)
#define asyncscan_rel_number(rel)	((rel)->rd_node.relNode)
#endif
#if PG_VERSION_NUM >= 180000
/* ... and in 18 it returns a RelPathStr by value */
#define asyncscan_relpath_perm(db, spc, relnumber) \
	pstrdup(GetRelationPath((db), (spc), (relnumber), INVALID_PROC_NUMBER, MAIN_FORKNUM).str)
#elif PG_VERSION_NUM >= 170000
#define asyncscan_relpath_perm(db, spc, relnumber) \
	GetRelationPath((db), (spc), (relnumber), INVALID_PROC_NUMBER, MAIN_FORKNUM)
#else
#define asyncscan_relpath_perm(db, spc, relnumber) \
	GetRelationPath((db), (spc), (relnumber), InvalidBackendId, MAIN_FORKNUM)
#endif

/*
 * PostgreSQL 17 replaced PGPROC.pgprocno by ProcNumber (MyProcNumber,
 * GetPGProcByNumber keeps its name).
 */
#if PG_VERSION_NUM >= 170000
#define asyncscan_my_procno()	MyProcNumber
#else
#define asyncscan_my_procno()	(MyProc->pgprocno)
#endif

/*
 * PostgreSQL 17 removed old_snapshot_threshold and TestForOldSnapshot().
 */
#if PG_VERSION_NUM >= 170000
#define asyncscan_old_snapshot_enabled()	false
#define asyncscan_test_for_old_snapshot(snapshot, rel, page) ((void) 0)
#else
#include "utils/snapmgr.h"
#define asyncscan_old_snapshot_enabled()	(old_snapshot_threshold >= 0)
#define asyncscan_test_for_old_snapshot(snapshot, rel, page) \
	TestForOldSnapshot((snapshot), (rel), (page))
#endif

/*
 * PostgreSQL 16 added CustomScanState.slotOps, letting a provider choose
 * the scan slot type before the projection and quals are compiled.  On 15
 * the slot is always virtual, so exec.c replaces it in BeginCustomScan and
 * compiles projection and quals again for the new slot type.
 */
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "nodes/execnodes.h"

#if PG_VERSION_NUM >= 160000
/* at CreateCustomScanState time */
#define asyncscan_request_heap_slot(css) \
	((css)->slotOps = &TTSOpsHeapTuple)
/* at BeginCustomScan time: nothing left to do */
#define asyncscan_install_heap_slot(css, estate, cscan) \
	((void) (css), (void) (estate), (void) (cscan))
#else
#define asyncscan_request_heap_slot(css) ((void) 0)
static inline void
asyncscan_install_heap_slot(CustomScanState *css, EState *estate,
							CustomScan *cscan)
{
	ExecInitScanTupleSlot(estate, &css->ss,
						  RelationGetDescr(css->ss.ss_currentRelation),
						  &TTSOpsHeapTuple);
	/* compiling again registers the SubPlans of the quals again */
	css->ss.ps.subPlan = NIL;
	ExecAssignScanProjectionInfoWithVarno(&css->ss, cscan->scan.scanrelid);
	css->ss.ps.qual = ExecInitQual(cscan->scan.plan.qual, (PlanState *) css);
}
#endif

/*
 * PostgreSQL 18 counts disabled nodes (Path.disabled_nodes) instead of
 * adding disable_cost, as cost_seqscan does for enable_seqscan = off.
 */
#include "optimizer/cost.h"
#if PG_VERSION_NUM >= 180000
#define asyncscan_disable_path(path, startup_cost) \
	((path)->disabled_nodes = 1)
#else
#define asyncscan_disable_path(path, startup_cost) \
	(*(startup_cost) += disable_cost)
#endif

/*
 * PostgreSQL 17 exported standard_ExplainOneQuery (plan, then
 * ExplainOnePlan); on 15 and 16 compat.c carries a copy of it.
 */
#include "commands/explain.h"
#if PG_VERSION_NUM >= 180000
/* PostgreSQL 18 moved ExplainState and ExplainProperty*() out of explain.h */
#include "commands/explain_format.h"
#include "commands/explain_state.h"
#endif
#if PG_VERSION_NUM >= 170000
#define asyncscan_standard_explain_one_query standard_ExplainOneQuery
#else
extern void asyncscan_standard_explain_one_query(Query *query,
												 int cursorOptions,
												 IntoClause *into,
												 ExplainState *es,
												 const char *queryString,
												 ParamListInfo params,
												 QueryEnvironment *queryEnv);
#endif

/*
 * PostgreSQL 18 reads through shared buffers with its own AIO
 * (io_method); EXPLAIN names it beside ours.  NULL before 18.
 */
#if PG_VERSION_NUM >= 180000
#include "utils/guc.h"
#define asyncscan_server_io_method()	GetConfigOption("io_method", false, false)
#else
#define asyncscan_server_io_method()	((const char *) NULL)
#endif

/*
 * PostgreSQL 18 lets extensions add EXPLAIN options
 * (RegisterExtensionExplainOption): our counters show under
 * EXPLAIN (ANALYZE, ASYNCIO) there, and under ANALYZE alone before 18
 * (explain.c).
 */
#if PG_VERSION_NUM >= 180000
#define ASYNCSCAN_HAVE_EXPLAIN_OPTIONS 1
#endif

/*
 * The storage manager table of the server patch in patches/15 (README,
 * "Patched storage hooks"): smgr_register_wrapper() takes a table of the
 * shape of smgr.c's f_smgr, whose layout is fixed within a major version.
 * A server built with the patch declares it in smgr.h (SMGR_HAVE_WRAPPER);
 * otherwise this is the same layout, so that one build of the extension
 * uses the hooks on a patched server and loads unchanged on a stock one.
 * Only 15's layout is here: 16 added smgr_zeroextend and 17 replaced
 * smgr_read/smgr_write by vectored calls, and neither patched server can
 * be built here to test against (storage_hooks.c compiles to "not
 * available" for them).  15.11 added old_blocks to smgr_truncate.
 */
#if PG_VERSION_NUM < 160000
#define ASYNCSCAN_HAVE_SMGR_WRAPPER 1
#if PG_VERSION_NUM >= 150011
#define ASYNCSCAN_SMGR_TRUNCATE_PARAMS	BlockNumber old_blocks, BlockNumber nblocks
#define ASYNCSCAN_SMGR_TRUNCATE_ARGS	old_blocks, nblocks
#else
#define ASYNCSCAN_SMGR_TRUNCATE_PARAMS	BlockNumber nblocks
#define ASYNCSCAN_SMGR_TRUNCATE_ARGS	nblocks
#endif
#ifdef SMGR_HAVE_WRAPPER
typedef f_smgr AsyncScanSmgr;
#else
typedef struct AsyncScanSmgr
{
	void		(*smgr_init) (void);
	void		(*smgr_shutdown) (void);
	void		(*smgr_open) (SMgrRelation reln);
	void		(*smgr_close) (SMgrRelation reln, ForkNumber forknum);
	void		(*smgr_create) (SMgrRelation reln, ForkNumber forknum,
								bool isRedo);
	bool		(*smgr_exists) (SMgrRelation reln, ForkNumber forknum);
	void		(*smgr_unlink) (RelFileNodeBackend rnode, ForkNumber forknum,
								bool isRedo);
	void		(*smgr_extend) (SMgrRelation reln, ForkNumber forknum,
								BlockNumber blocknum, char *buffer, bool skipFsync);
	bool		(*smgr_prefetch) (SMgrRelation reln, ForkNumber forknum,
								  BlockNumber blocknum);
	void		(*smgr_read) (SMgrRelation reln, ForkNumber forknum,
							  BlockNumber blocknum, char *buffer);
	void		(*smgr_write) (SMgrRelation reln, ForkNumber forknum,
							   BlockNumber blocknum, char *buffer, bool skipFsync);
	void		(*smgr_writeback) (SMgrRelation reln, ForkNumber forknum,
								   BlockNumber blocknum, BlockNumber nblocks);
	BlockNumber (*smgr_nblocks) (SMgrRelation reln, ForkNumber forknum);
	void		(*smgr_truncate) (SMgrRelation reln, ForkNumber forknum,
								  ASYNCSCAN_SMGR_TRUNCATE_PARAMS);
	void		(*smgr_immedsync) (SMgrRelation reln, ForkNumber forknum);
} AsyncScanSmgr;
#endif							/* SMGR_HAVE_WRAPPER */
#endif							/* PG_VERSION_NUM < 160000 */

/*
 * PostgreSQL's own IO statistics for a direct read (pgstats.c).
 *
 * PostgreSQL 16 renamed the fields of the per-table pending counters
 * (t_counts.t_blocks_fetched became counts.blocks_fetched).  A block is
 * counted as fetched by pgstat_count_buffer_read() on every major; taking
 * one back, for a page handed out and then read again through shared
 * buffers, needs the field itself.  The counters are this backend's
 * pending ones, so nothing can have been flushed in between.
 */
#include "executor/instrument.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#if PG_VERSION_NUM >= 160000
#define asyncscan_pgstat_uncount_buffer_read(rel) \
	do { \
		if ((rel)->pgstat_info != NULL) \
			(rel)->pgstat_info->counts.blocks_fetched--; \
	} while (0)
#else
#define asyncscan_pgstat_uncount_buffer_read(rel) \
	do { \
		if ((rel)->pgstat_info != NULL) \
			(rel)->pgstat_info->t_counts.t_blocks_fetched--; \
	} while (0)
#endif

/*
 * PostgreSQL 16 added pg_stat_io.  16 and 17 count reads there in blocks
 * (op_bytes = BLCKSZ): ReadBuffer counts one per block it reads.  18 counts
 * one operation per IO, with its bytes (AsyncReadBuffers); its read time is
 * the time spent starting IOs plus the time waited for them.  On 16 and
 * later, pgstat_count_io_op_time() also adds the time to pg_stat_database
 * (blk_read_time) and to pgBufferUsage (blk_read_time on 16,
 * shared_blk_read_time from 17); 16 and 17 test track_io_timing in it, 18
 * a start time that is not zero.  15 has no pg_stat_io: the time goes to
 * pg_stat_database and pgBufferUsage.blk_read_time as ReadBuffer_common
 * adds it.
 *
 * asyncscan_pgstat_count_io_read(bulkread, nblocks): one read of nblocks
 * blocks of a permanent relation, in the bulk-read context or the normal
 * one.  asyncscan_pgstat_count_io_read_time(bulkread, start): read time
 * from start (taken with track_io_timing on) until now.
 */
#if PG_VERSION_NUM >= 160000
#define asyncscan_io_context(bulkread) \
	((bulkread) ? IOCONTEXT_BULKREAD : IOCONTEXT_NORMAL)
#endif
#if PG_VERSION_NUM >= 180000
#define asyncscan_pgstat_count_io_read(bulkread, nblocks) \
	pgstat_count_io_op(IOOBJECT_RELATION, asyncscan_io_context(bulkread), \
					   IOOP_READ, 1, (uint64) (nblocks) * BLCKSZ)
#define asyncscan_pgstat_count_io_read_time(bulkread, start) \
	pgstat_count_io_op_time(IOOBJECT_RELATION, asyncscan_io_context(bulkread), \
							IOOP_READ, (start), 0, 0)
#elif PG_VERSION_NUM >= 160000
#define asyncscan_pgstat_count_io_read(bulkread, nblocks) \
	pgstat_count_io_op_n(IOOBJECT_RELATION, asyncscan_io_context(bulkread), \
						 IOOP_READ, (nblocks))
#define asyncscan_pgstat_count_io_read_time(bulkread, start) \
	pgstat_count_io_op_time(IOOBJECT_RELATION, asyncscan_io_context(bulkread), \
							IOOP_READ, (start), 0)
#else
#define asyncscan_pgstat_count_io_read(bulkread, nblocks) \
	((void) (bulkread), (void) (nblocks))
static inline void
asyncscan_pgstat_count_io_read_time(bool bulkread, instr_time start)
{
	instr_time	io_time;

	INSTR_TIME_SET_CURRENT(io_time);
	INSTR_TIME_SUBTRACT(io_time, start);
	pgstat_count_buffer_read_time(INSTR_TIME_GET_MICROSEC(io_time));
	INSTR_TIME_ADD(pgBufferUsage.blk_read_time, io_time);
}
#endif

#endif							/* ASYNCSCAN_COMPAT_H */
