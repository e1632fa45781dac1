/*-------------------------------------------------------------------------
 *
 * io_sync.c
 *	  The "sync" IO method: reads are performed with preadv() in the
 *	  backend, at submission time.
 *
 * This is the baseline every other method is measured against.  It keeps
 * the stream's look-ahead and combining (one large read instead of many 8kB
 * ones), but nothing it does runs beside the executor: each read is
 * performed in the backend, with preadv(), when the scan needs its first
 * page.  What it can do is tell the kernel early: a read through the page
 * cache is announced (posix_fadvise WILLNEED) when the stream submits it,
 * so the device works on the whole look-ahead window at once and the
 * preadv() later mostly copies from the page cache.  O_DIRECT reads, which
 * cannot be announced, are performed when submitted, as in PostgreSQL 18's
 * method_sync.c; so are all reads of an owner that asks for it
 * (complete_at_submit: the storage hooks' staging).  Drain has nothing to wait for: no memory of the scan is
 * written into except by the backend itself.
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

/*
 * A read through the page cache is only announced to the kernel here
 * (posix_fadvise): the device starts on it, and on every other read of the
 * window, while the executor works; the copy into the scan's memory waits
 * until the scan needs the page (wait_read).  An O_DIRECT read cannot be
 * announced, and is performed now.
 */
static void
sync_submit(AsyncScanIo *io)
{
	SyncOwner  *owner = (SyncOwner *) io->method_private;

	for (int i = 0; i < owner->nstaged; i++)
	{
		AsyncScanRead *read = owner->staged[i];

		Assert(read->state == ASYNCSCAN_READ_STAGED);
		read->state = ASYNCSCAN_READ_SUBMITTED;
		if (read->direct_fd >= 0 || io->complete_at_submit)
			asyncscan_read_sync(read);
		else
		{
			asyncscan_read_advise(read);
			io->ninflight++;
		}
	}
	owner->nstaged = 0;
	io->nstaged = 0;
}

static void
sync_wait_read(AsyncScanIo *io, AsyncScanRead *read)
{
	if (read->state == ASYNCSCAN_READ_STAGED)
		sync_submit(io);
	if (read->state == ASYNCSCAN_READ_SUBMITTED)
	{
		/* announced at submit: read it now, from the page cache mostly */
		asyncscan_read_sync(read);
		Assert(io->ninflight > 0);
		io->ninflight--;
	}
	Assert(read->state == ASYNCSCAN_READ_DONE ||
		   read->state == ASYNCSCAN_READ_FAILED);
}

/*
 * Nothing is ever written into a read's target except by wait_read itself:
 * staged and announced reads are simply forgotten.
 */
static void
sync_drain(AsyncScanIo *io)
{
	SyncOwner  *owner = (SyncOwner *) io->method_private;

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
