/*-------------------------------------------------------------------------
 *
 * io_sync.c
 *	  The "sync" IO method: reads are performed with preadv() in the
 *	  backend, at submission time.
 *
 * This is the baseline every other method is measured against.  It keeps
 * the stream's look-ahead and combining (one large read instead of many 8kB
 * ones) but nothing is in flight while the executor works: by the time
 * submit returns, every staged read is done or failed, as in PostgreSQL
 * 18's method_sync.c.  Consequently wait_read and drain have nothing to
 * wait for.
 *
 * IDENTIFICATION
 *	  src/io_sync.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "io.h"

/* Reads staged since the last submit, in staging order. */
typedef struct SyncOwner
{
	int			nstaged;
	int			capacity;
	AsyncScanRead **staged;
} SyncOwner;

static void
sync_init_owner(AsyncScanIo *io)
{
	SyncOwner  *owner = palloc0(sizeof(SyncOwner));

	owner->capacity = 8;
	owner->staged = palloc(sizeof(AsyncScanRead *) * owner->capacity);
	io->method_private = owner;
}

static void
sync_start_read(AsyncScanIo *io, AsyncScanRead *read)
{
	SyncOwner  *owner = (SyncOwner *) io->method_private;

	if (owner->nstaged == owner->capacity)
	{
		owner->capacity *= 2;
		owner->staged = repalloc(owner->staged,
								 sizeof(AsyncScanRead *) * owner->capacity);
	}
	owner->staged[owner->nstaged++] = read;
	read->state = ASYNCSCAN_READ_STAGED;
	io->nstaged++;
}

static void
sync_submit(AsyncScanIo *io)
{
	SyncOwner  *owner = (SyncOwner *) io->method_private;

	for (int i = 0; i < owner->nstaged; i++)
	{
		AsyncScanRead *read = owner->staged[i];

		Assert(read->state == ASYNCSCAN_READ_STAGED);
		read->state = ASYNCSCAN_READ_SUBMITTED;
		asyncscan_read_sync(read);
	}
	owner->nstaged = 0;
	io->nstaged = 0;
	/* nothing stays in flight */
	io->ninflight = 0;
}

static void
sync_wait_read(AsyncScanIo *io, AsyncScanRead *read)
{
	/* staged reads are performed by submit; nothing else can be pending */
	if (read->state == ASYNCSCAN_READ_STAGED)
		sync_submit(io);
	Assert(read->state == ASYNCSCAN_READ_DONE ||
		   read->state == ASYNCSCAN_READ_FAILED);
}

static void
sync_drain(AsyncScanIo *io)
{
	SyncOwner  *owner = (SyncOwner *) io->method_private;

	/* staged reads were never started: forget them */
	if (owner != NULL)
		owner->nstaged = 0;
	io->nstaged = 0;
	io->ninflight = 0;
}

static void
sync_end_owner(AsyncScanIo *io)
{
	/* memory belongs to the stream's context */
	io->method_private = NULL;
}

const IoMethodOps asyncscan_io_sync_ops = {
	.name = "sync",
	.init_owner = sync_init_owner,
	.start_read = sync_start_read,
	.submit = sync_submit,
	.wait_read = sync_wait_read,
	.drain = sync_drain,
	.end_owner = sync_end_owner,
};
