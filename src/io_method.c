/*-------------------------------------------------------------------------
 *
 * io_method.c
 *	  The registry of IO methods: their ops tables, the
 *	  pg_asyncscan.io_method GUC that chooses one, and the fallback to sync
 *	  when the chosen one is not available in this backend.
 *
 * As in PostgreSQL 18's aio.c, the GUC's options and the ops table are
 * kept side by side, indexed by AsyncScanIoMethod, and a static assertion
 * checks that they have the same length.  pg_asyncscan.io_combine_limit,
 * the largest single read, is defined here too: the read stream and the
 * storage hooks' staging both size their reads by it.
 *
 * IDENTIFICATION
 *	  src/io_method.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "io_method.h"
#include "io_uring.h"
#include "io_worker.h"

/* The registry: one entry per IO method, indexed by AsyncScanIoMethod. */
static const IoMethodOps *const io_methods[] = {
	[ASYNCSCAN_IO_SYNC] = &asyncscan_io_sync_ops,
#ifdef ASYNCSCAN_HAVE_LIBURING
	[ASYNCSCAN_IO_URING] = &asyncscan_io_uring_ops,
#endif
	[ASYNCSCAN_IO_WORKER] = &asyncscan_io_worker_ops,
};

static const struct config_enum_entry asyncscan_io_method_options[] = {
	{"sync", ASYNCSCAN_IO_SYNC, false},
#ifdef ASYNCSCAN_HAVE_LIBURING
	{"io_uring", ASYNCSCAN_IO_URING, false},
#endif
	{"worker", ASYNCSCAN_IO_WORKER, false},
	{NULL, 0, false}
};

/* check that asyncscan_io_method_options and io_methods are in sync */
StaticAssertDecl(lengthof(asyncscan_io_method_options) == lengthof(io_methods) + 1,
				 "asyncscan_io_method_options out of sync with io_methods");
StaticAssertDecl(lengthof(io_methods) == ASYNCSCAN_NUM_IO_METHODS,
				 "io_methods needs an entry for every AsyncScanIoMethod");

/*
 * io_uring where this build has it: measured on par with sync when the data
 * is cached and ahead of it on slow storage; where the kernel refuses a
 * ring, the backend falls back to sync with one WARNING.
 */
#ifdef ASYNCSCAN_HAVE_LIBURING
#define DEFAULT_IO_METHOD ASYNCSCAN_IO_URING
#else
#define DEFAULT_IO_METHOD ASYNCSCAN_IO_SYNC
#endif

/* GUC variables */
static int	asyncscan_io_method = DEFAULT_IO_METHOD;
static int	asyncscan_io_combine_limit_blocks = 32;

/* the one-time fallback WARNING of this backend was given */
static bool fallback_warned = false;

static bool check_io_method(int *newval, void **extra, GucSource source);

/*
 * Define the GUCs of the IO layer.
 */
void
asyncscan_io_method_init(void)
{
	DefineCustomEnumVariable("pg_asyncscan.io_method",
							 "IO method of AsyncSeqScan reads.",
							 "sync reads with preadv() in the backend; io_uring "
							 "submits batches of reads to one io_uring per backend; "
							 "worker hands them to IO worker processes "
							 "(needs shared_preload_libraries).",
							 &asyncscan_io_method,
							 DEFAULT_IO_METHOD,
							 asyncscan_io_method_options,
							 PGC_USERSET,
							 0,
							 check_io_method, NULL, NULL);

	DefineCustomIntVariable("pg_asyncscan.io_combine_limit",
							"Largest single read, in blocks.",
							"Adjacent blocks read by the direct path are combined "
							"into one read of at most this size.",
							&asyncscan_io_combine_limit_blocks,
							32, 1, ASYNCSCAN_MAX_COMBINE,
							PGC_USERSET,
							GUC_UNIT_BLOCKS,
							NULL, NULL, NULL);
}

/* pg_asyncscan.io_method: the method asked for, before any fallback */
int
asyncscan_io_method_setting(void)
{
	return asyncscan_io_method;
}

/* pg_asyncscan.io_combine_limit, in blocks */
int
asyncscan_io_combine_limit(void)
{
	return asyncscan_io_combine_limit_blocks;
}

/*
 * The ops table of an IO method.
 */
const IoMethodOps *
asyncscan_io_method_ops(int method)
{
	if (method < 0 || method >= (int) lengthof(io_methods))
		elog(ERROR, "unknown pg_asyncscan IO method %d", method);
	return io_methods[method];
}

/*
 * The method a scan starting now uses for requested, and why it differs.
 * A method that turns out to be unavailable (io_uring refused by the
 * kernel) falls back to sync with one WARNING per backend; an explicit SET
 * of an unavailable method was already refused by check_io_method.
 */
int
asyncscan_resolve_io_method(int requested, const char **fallback_reason)
{
	*fallback_reason = NULL;
#ifdef ASYNCSCAN_HAVE_LIBURING
	if (requested == ASYNCSCAN_IO_URING)
	{
		static char reason[128];
		int			err;

		if (asyncscan_uring_available(&err))
			return requested;

		snprintf(reason, sizeof(reason), "io_uring unavailable: %s",
				 strerror(err));
		*fallback_reason = reason;
		if (!fallback_warned)
		{
			fallback_warned = true;
			ereport(WARNING,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("io_uring is not available in this backend, AsyncSeqScan uses io_method \"sync\""),
					 errdetail("Creating the ring failed: %s.", strerror(err)),
					 errhint("%s", asyncscan_uring_refusal_hint(err))));
		}
		return ASYNCSCAN_IO_SYNC;
	}
#endif
	if (requested == ASYNCSCAN_IO_WORKER && !asyncscan_worker_available())
	{
		*fallback_reason = "worker needs shared_preload_libraries";
		if (!fallback_warned)
		{
			fallback_warned = true;
			ereport(WARNING,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("io_method \"worker\" is not available in this backend, AsyncSeqScan uses io_method \"sync\""),
					 errhint("Add pg_asyncscan to shared_preload_libraries and restart the server.")));
		}
		return ASYNCSCAN_IO_SYNC;
	}
	return requested;
}

/*
 * An explicit SET of an unavailable method fails here, with the cause.
 * Other sources (server defaults, configuration files, per-role settings)
 * are accepted and fall back at first use, so a refused io_uring never
 * stops a session from starting.
 *
 * A check hook must not act as if the assignment happened: for io_uring it
 * only probes (creates a ring and closes it again); the backend's ring is
 * created by the first scan that needs it.  A parallel worker re-applies
 * its leader's settings with the leader's source, and must never fail to
 * start over a method it may not even use: it is not checked there (a scan
 * in it falls back to sync if the ring is refused).  Nothing is probed
 * outside a child of the postmaster.
 */
static bool
check_io_method(int *newval, void **extra, GucSource source)
{
	if (source != PGC_S_SESSION || !IsUnderPostmaster ||
		InitializingParallelWorker)
		return true;
#ifdef ASYNCSCAN_HAVE_LIBURING
	if (*newval == ASYNCSCAN_IO_URING)
	{
		int			err;

		if (!asyncscan_uring_probe(&err))
		{
			GUC_check_errcode(ERRCODE_FEATURE_NOT_SUPPORTED);
			GUC_check_errmsg("io_uring is not available in this backend: %s",
							 strerror(err));
			GUC_check_errhint("%s", asyncscan_uring_refusal_hint(err));
			return false;
		}
	}
#endif
	if (*newval == ASYNCSCAN_IO_WORKER && !asyncscan_worker_available())
	{
		GUC_check_errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE);
		GUC_check_errmsg("io_method \"worker\" needs the IO worker processes of pg_asyncscan");
		GUC_check_errhint("Add pg_asyncscan to shared_preload_libraries and restart the server.");
		return false;
	}
	return true;
}
