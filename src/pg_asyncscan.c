/*-------------------------------------------------------------------------
 *
 * pg_asyncscan.c
 *	  Entry point of pg_asyncscan: module magic, _PG_init, the registry of
 *	  IO methods and the pg_asyncscan.io_method GUC.
 *
 * Each subsystem defines its own GUCs in its init function (planner,
 * stream); this file wires them together and reserves the
 * "pg_asyncscan." prefix.
 *
 * IDENTIFICATION
 *	  src/pg_asyncscan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "asyncscan.h"
#include "compat.h"
#include "io.h"
#include "shmem.h"
#include "storage_hooks.h"
#include "stream.h"

PG_MODULE_MAGIC;

#define ASYNCSCAN_VERSION "0.1"

/*
 * The registry: one entry per IO method, indexed by AsyncScanIoMethod.
 * Adding a method adds one line here and one to asyncscan_io_method_options.
 */
StaticAssertDecl(ASYNCSCAN_IO_WORKER < ASYNCSCAN_MAX_IO_METHODS,
				 "shared statistics need a row for every IO method");

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

/*
 * io_uring where this build has it: measured on par with sync when the data
 * is cached and ahead of it on slow storage; where the kernel refuses a
 * ring, the backend falls back to sync with one WARNING.
 */
#ifdef ASYNCSCAN_HAVE_LIBURING
#define ASYNCSCAN_DEFAULT_IO_METHOD ASYNCSCAN_IO_URING
#else
#define ASYNCSCAN_DEFAULT_IO_METHOD ASYNCSCAN_IO_SYNC
#endif

/* GUC variables */
int			asyncscan_io_method = ASYNCSCAN_DEFAULT_IO_METHOD;

/* the one-time fallback WARNING of this backend was given */
static bool fallback_warned = false;

static bool check_io_method(int *newval, void **extra, GucSource source);

PG_FUNCTION_INFO_V1(pg_asyncscan_version);

/* Number of registry slots (some may be empty in this build). */
int
asyncscan_io_method_count(void)
{
	return (int) lengthof(io_methods);
}

/* The ops table of a registry slot, or NULL if this build lacks it. */
const IoMethodOps *
asyncscan_io_method_ops_or_null(int method)
{
	if (method < 0 || method >= (int) lengthof(io_methods))
		return NULL;
	return io_methods[method];
}

/*
 * The ops table of an IO method.
 */
const IoMethodOps *
asyncscan_io_method_ops(int method)
{
	if (method < 0 || method >= (int) lengthof(io_methods) ||
		io_methods[method] == NULL)
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

void
_PG_init(void)
{
	DefineCustomEnumVariable("pg_asyncscan.io_method",
							 "IO method of AsyncSeqScan reads.",
							 "sync reads with preadv() in the backend; io_uring "
							 "submits batches of reads to one io_uring per backend; "
							 "worker hands them to IO worker processes "
							 "(needs shared_preload_libraries).",
							 &asyncscan_io_method,
							 ASYNCSCAN_DEFAULT_IO_METHOD,
							 asyncscan_io_method_options,
							 PGC_USERSET,
							 0,
							 check_io_method, NULL, NULL);

	asyncscan_stream_init();
	asyncscan_planner_init();
	asyncscan_exec_init();
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
