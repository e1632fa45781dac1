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

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "asyncscan.h"
#include "compat.h"
#include "io.h"
#include "stream.h"

PG_MODULE_MAGIC;

#define ASYNCSCAN_VERSION "0.1"

/*
 * The registry: one entry per IO method, indexed by AsyncScanIoMethod.
 * Adding a method adds one line here and one to io_method_options.
 */
static const IoMethodOps *const io_methods[] = {
	[ASYNCSCAN_IO_SYNC] = &asyncscan_io_sync_ops,
};

static const struct config_enum_entry io_method_options[] = {
	{"sync", ASYNCSCAN_IO_SYNC, false},
	{NULL, 0, false}
};

/* GUC variables */
int			asyncscan_io_method = ASYNCSCAN_IO_SYNC;

PG_FUNCTION_INFO_V1(pg_asyncscan_version);

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

void
_PG_init(void)
{
	DefineCustomEnumVariable("pg_asyncscan.io_method",
							 "IO method of AsyncSeqScan reads.",
							 "sync reads with preadv() in the backend.",
							 &asyncscan_io_method,
							 ASYNCSCAN_IO_SYNC,
							 io_method_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	asyncscan_stream_init();
	asyncscan_planner_init();
	asyncscan_exec_init();

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
