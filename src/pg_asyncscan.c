/*-------------------------------------------------------------------------
 *
 * pg_asyncscan.c
 *	  Entry point of pg_asyncscan: module magic and _PG_init, which only
 *	  wires the parts together.  Nothing calls into this file.
 *
 * _PG_init calls each part's init function, which defines that part's
 * GUCs and installs its hooks:
 *
 *	- io_method.c: pg_asyncscan.io_method and io_combine_limit;
 *	- stream.c: io_depth, direct_reads, direct_io;
 *	- planner.c: enabled, min_relation_size; the custom scan methods
 *	  (RegisterCustomScanMethods) and set_rel_pathlist_hook;
 *	- explain.c: ExplainOneQuery_hook, ExecutorStart_hook,
 *	  ExecutorEnd_hook, and on PostgreSQL 18 the EXPLAIN option ASYNCIO
 *	  (RegisterExtensionExplainOption, explain_validate_options_hook);
 *	- io_worker.c, when preloading: io_workers, worker_arena_size, and the
 *	  IO worker processes (RegisterBackgroundWorker);
 *	- storage_hooks.c: pg_asyncscan.storage_hooks, and on a patched server
 *	  when preloading, the storage manager wrapper
 *	  (smgr_register_wrapper);
 *	- shmem.c, when preloading: shmem_request_hook and shmem_startup_hook.
 *
 * Then it reserves the "pg_asyncscan." prefix.
 *
 * IDENTIFICATION
 *	  src/pg_asyncscan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "asyncscan.h"
#include "compat.h"
#include "io_method.h"
#include "io_worker.h"
#include "shmem.h"
#include "storage_hooks.h"
#include "stream.h"

PG_MODULE_MAGIC;

#define ASYNCSCAN_VERSION "0.1"

PG_FUNCTION_INFO_V1(pg_asyncscan_version);

void
_PG_init(void)
{
	asyncscan_io_method_init();
	asyncscan_stream_init();
	asyncscan_planner_init();
	asyncscan_explain_init();
	asyncscan_worker_init();
	asyncscan_storage_hooks_init();
	asyncscan_shmem_init();

	MarkGUCPrefixReserved("pg_asyncscan");
}

/*
 * pg_asyncscan_version() - the version of the loaded library.  Calling it
 * (CREATE EXTENSION does) loads the library into the session.
 */
Datum
pg_asyncscan_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(ASYNCSCAN_VERSION));
}
