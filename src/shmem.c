/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  Shared memory of pg_asyncscan: requested and attached through the
 *	  shmem_request_hook and shmem_startup_hook, as pg_stat_statements does.
 *
 * Three areas: the cumulative statistics (stats.c), the IO workers'
 * queue and arena (io_worker.c), and on a patched server the write
 * generations (storage_hooks.c).
 *
 * Only a library in shared_preload_libraries can reserve shared memory; in
 * a library loaded later (CREATE EXTENSION, LOAD) none of the areas
 * exists, and what needs one says so with a clear error.
 *
 * IDENTIFICATION
 *	  src/shmem.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "io_worker.h"
#include "shmem.h"
#include "stats.h"
#include "storage_hooks.h"

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void asyncscan_shmem_request(void);
static void asyncscan_shmem_startup(void);

void
asyncscan_shmem_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = asyncscan_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = asyncscan_shmem_startup;
}

static void
asyncscan_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();

	RequestAddinShmemSpace(asyncscan_stats_shmem_size());
	asyncscan_worker_shmem_request();
	RequestAddinShmemSpace(asyncscan_storage_hooks_shmem_size());
}

static void
asyncscan_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	asyncscan_stats_shmem_startup();
	asyncscan_worker_shmem_startup();
	asyncscan_storage_hooks_shmem_startup();
	LWLockRelease(AddinShmemInitLock);
}
