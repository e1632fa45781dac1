/*-------------------------------------------------------------------------
 *
 * stream.c
 *	  The read stream of an AsyncSeqScan: look-ahead window, read
 *	  combining, and the choice between the direct and the buffered path.
 *
 * The consumer (exec.c) asks for pages one at a time, in block order.  The
 * stream keeps a window of blocks ahead of it.  Each block entering the
 * window is classified once:
 *
 *	- direct: a block that is not in shared buffers is read straight into
 *	  scan-private memory, all-visible or not (visibility.c judges the tuples
 *	  of a page that is not).  Adjacent direct blocks of one segment file
 *	  are combined into one read of up to pg_asyncscan.io_combine_limit
 *	  blocks, and reads are handed to the IO method in batches.
 *	- buffered: every other block is read through shared buffers when the
 *	  consumer reaches it, exactly as a Seq Scan does; if it is not in
 *	  shared buffers when it enters the window, the OS is asked to start
 *	  reading it now (posix_fadvise), so that the later read finds it in the
 *	  page cache; on a server with the storage hook patch it is read
 *	  asynchronously into staging memory instead, which the later read
 *	  copies (storage_hooks.c).
 *
 * The window grows (doubles) while reads are being issued and shrinks on
 * shared-buffer hits, as PostgreSQL 17's read_stream.c does, so a scan that
 * stops early (LIMIT) has read little beyond what it used.  When every
 * block it meets is in shared buffers, the stream stops looking ahead
 * ("cached mode") until a block must come from storage again.
 *
 * Correctness of the direct path rests on the rules of README.md,
 * "Correctness: what the direct path trusts", implemented here:
 * asyncscan_stream_direct_allowed() (rules 1 and 2, per scan),
 * classify_block() (rule 3, per block, after the snapshot was taken) and
 * check_direct_page() (rules 4 and 5, after the read); rule 6 is
 * visibility.c's.  A direct copy that fails a post-read check is dropped
 * and the block is read through shared buffers; only that read may raise a
 * checksum error.
 *
 * Memory a read targets is never freed while the IO method may still write
 * into it: asyncscan_stream_end() drains first, and a callback on the
 * stream's memory context drains when an ERROR unwinds the executor.
 *
 * IDENTIFICATION
 *	  src/stream.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "access/visibilitymap.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_class.h"
#include "executor/instrument.h"
#include "miscadmin.h"
#include "storage/bufpage.h"
#include "storage/fd.h"
#include "storage/lwlock.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "checksum.h"
#include "compat.h"
#include "io_method.h"
#include "pgstats.h"
#include "stats.h"
#include "storage_hooks.h"
#include "stream.h"


/* Alignment of read targets: enough for O_DIRECT on any common device */
#define ASYNCSCAN_IO_ALIGN			4096

StaticAssertDecl(ASYNCSCAN_MAX_IO_DEPTH <= PG_INT16_MAX,
				 "StreamEntry.read_index holds every read slot");

/* How a block in the window will be handed out */
typedef enum StreamEntryKind
{
	ENTRY_BUFFERED = 0,			/* ReadBufferExtended when the consumer gets
								 * there */
	ENTRY_DIRECT				/* from the read at read_index */
} StreamEntryKind;

typedef struct StreamEntry
{
	BlockNumber blkno;
	uint8		kind;			/* StreamEntryKind */
	bool		all_visible;	/* ENTRY_DIRECT: the visibility map said so */
	int16		read_index;		/* reads[] slot, for ENTRY_DIRECT */
	Buffer		recent;			/* buffer that held it when classified, for
								 * ReadRecentBuffer; or InvalidBuffer */
} StreamEntry;

/* What the checks after a direct read found */
typedef enum DirectCheck
{
	DIRECT_ALL_VISIBLE = 0,		/* usable, every tuple visible */
	DIRECT_CHECK_TUPLES,		/* usable, each tuple's visibility decides */
	DIRECT_BAD_PAGE,			/* header, line pointers or checksum */
	DIRECT_NOT_ALL_VISIBLE,		/* page lacks PD_ALL_VISIBLE, and its tuples
								 * may not be checked privately */
	DIRECT_IN_BUFFERS,			/* block entered shared buffers meanwhile */
	DIRECT_WRITTEN				/* block was written during the read
								 * (storage hooks' write generations) */
} DirectCheck;

/* reads in flight a stream starts with, and never goes below */
#define MIN_READ_CAP				4

/*
 * A wait for a read longer than this is the storage's latency showing, and
 * makes the stream allow more reads in flight; a shorter one (a copy out
 * of the OS page cache finishing in an io_uring worker thread) does not:
 * a deeper window there only moves the copies further ahead of the
 * executor, out of the CPU's caches.
 */
#define LONG_WAIT_USEC				250

/* what wait_for_read() found */
typedef enum ReadWait
{
	READ_WAIT_NONE,				/* the read was done already */
	READ_WAIT_SHORT,			/* waited, less than LONG_WAIT_USEC */
	READ_WAIT_LONG				/* waited at least LONG_WAIT_USEC */
} ReadWait;

/*
 * After this many blocks in a row found in shared buffers, the stream stops
 * looking ahead and reads block after block through shared buffers, as a
 * Seq Scan does: one buffer lookup per page and nothing else.  The first
 * block it has to read from storage starts the look-ahead again.
 */
#define CACHED_RUN_BLOCKS			32

/*
 * After this many pages in a row whose tuples could not be judged from a
 * private copy (e.g. rows this transaction changed), pages that are not
 * all-visible go through shared buffers for the rest of the scan.
 */
#define UNDECIDED_RUN_PAGES			16

struct AsyncScanStream
{
	Relation	rel;
	Snapshot	snapshot;
	MemoryContext cxt;			/* everything below lives here */
	MemoryContextCallback drain_callback;	/* drains IO if cxt is deleted
											 * on an error path */
	AsyncScanStats *stats;		/* owned by the scan node */
	AsyncScanStats stats_at_begin;	/* to report only this stream's part */
	bool		ended;			/* asyncscan_stream_end() ran */

	BufferAccessStrategy strategy;	/* bulk-read ring for big tables */
	Buffer		vmbuffer;		/* pinned visibility map page */

	BlockNumber nblocks;		/* blocks of the relation, fixed at begin */

	/* where the blocks come from, in increasing order */
	AsyncScanBlockSource source;
	void	   *source_arg;
	BlockNumber next_serial;	/* the serial source's next block */
	BlockNumber pending_block;	/* taken from the source, not yet planned
								 * (no read slot was free); or Invalid */
	bool		source_done;	/* the source has no more blocks */
	bool		have_yielded;
	BlockNumber last_yielded;	/* block handed out last */

	bool		direct_allowed; /* rules 1 and 2 hold for this scan */
	bool		checked_allowed;	/* pages that are not all-visible may be
									 * read directly too, their tuples judged
									 * one by one */
	int			undecided_run;	/* private pages in a row that could not be
								 * judged */
	bool		checked_out;	/* the page handed out last is a private
								 * copy whose tuples the consumer judges */
	uint64		inline_noted;	/* io.inline_reads already in stats */
	bool		cached_mode;	/* reading page by page through shared
								 * buffers, no look-ahead */
	int			hit_run;		/* blocks in a row classified as in shared
								 * buffers */
	int			distance;		/* current look-ahead, in blocks */
	int			max_distance;	/* io_depth * io_combine_limit */
	StreamEntry *entries;		/* window: a ring of planned blocks */
	int			window_head;	/* next entry to hand out */
	int			window_count;	/* entries planned, not yet handed out */

	/*
	 * Direct reads: a FIFO ring of io_depth slots.  At most read_cap of them
	 * are used at a time: it doubles when the scan had to wait for a read
	 * while the cap was reached, and halves after many reads were complete
	 * before the scan needed them, so the window is as deep as the storage
	 * needs and no deeper.  Each read in use has a target area of
	 * combine_limit blocks, taken from a free list, so that memory follows
	 * the reads actually in use.
	 */
	int			io_depth;
	int			read_cap;
	int			reads_early;	/* reads in a row complete (or nearly) when
								 * first used */
	char	  **read_buffers;	/* per read slot: its target area, or NULL */
	char	  **free_buffers;	/* target areas not in use */
	int			nfree_buffers;
	int			combine_limit;
	AsyncScanRead *reads;
	int			read_head;		/* oldest slot still held */
	int			nreads;			/* slots held (forming, staged, in flight,
								 * or done and not yet consumed) */
	int			forming;		/* slot being extended, not yet staged; -1 */
	AsyncScanIo io;

	/* buffered blocks being advised to the OS, as one range */
	BlockNumber advise_start;
	int			advise_nblocks;
	BlockNumber advise_prev_end;	/* block after the previous range */

	/* segment files, opened lazily, counted with AcquireExternalFD */
	char	   *path;			/* path of segment 0 */
	int			nsegments;
	int		   *segment_fds;	/* -1 when not open */
	int		   *segment_direct_fds; /* the same with O_DIRECT, for direct_io */
	char	  **segment_maps;	/* read-only mappings for mincore(), with
								 * direct_io; NULL when not mapped */
	bool		fds_exhausted;	/* AcquireExternalFD refused: no direct path */
	bool		direct_io;		/* open with O_DIRECT */

	/* the page handed out last */
	Buffer		held_buffer;

	/*
	 * A patched server's storage hooks (storage_hooks.c): buffered blocks
	 * are prefetched through them, and each direct read's blocks have their
	 * write generations recorded here (combine_limit per read slot).
	 */
	bool		hooks;
	AsyncScanGeneration *generations;
};

/* GUC variables */
static int	asyncscan_io_depth = 64;
static bool asyncscan_direct_reads = true;
static bool asyncscan_direct_io = false;

static void stream_drain_callback(void *arg);
static void size_stream(AsyncScanStream *stream);
static void prepare_segments(AsyncScanStream *stream);
static void look_ahead(AsyncScanStream *stream);
static bool take_next_block(AsyncScanStream *stream, BlockNumber *blkno);
static bool plan_block(AsyncScanStream *stream, BlockNumber blkno);
static bool next_cached(AsyncScanStream *stream, AsyncScanPage *page);
static void hand_out_direct(AsyncScanStream *stream, StreamEntry *entry,
							AsyncScanPage *page);
static void complete_direct_read(AsyncScanStream *stream, StreamEntry *entry,
								 AsyncScanRead *read);
static ReadWait wait_for_read(AsyncScanStream *stream, AsyncScanRead *read);
static void note_inline_reads(AsyncScanStream *stream);
static bool plan_direct_block(AsyncScanStream *stream, BlockNumber blkno);
static char *take_read_buffer(AsyncScanStream *stream);
static void adapt_read_cap(AsyncScanStream *stream, ReadWait wait);
static bool classify_block(AsyncScanStream *stream, BlockNumber blkno,
						   Buffer *recent, bool *all_visible);
static Buffer block_in_shared_buffers(Relation rel, BlockNumber blkno);
static DirectCheck check_direct_block(AsyncScanStream *stream,
									  StreamEntry *entry,
									  AsyncScanRead *read, Page copy);
static DirectCheck check_direct_page(AsyncScanStream *stream, Page page,
									 BlockNumber blkno, bool all_visible,
									 bool checksum_verified);
static bool tuples_are_sane(Page page);
static bool tuples_do_not_overlap(Page page);
static void stage_forming_read(AsyncScanStream *stream);
static void submit_staged(AsyncScanStream *stream);
static void release_consumed_reads(AsyncScanStream *stream);
static bool read_buffered(AsyncScanStream *stream, BlockNumber blkno,
						  Buffer recent, AsyncScanPage *page);
static void advise_block(AsyncScanStream *stream, BlockNumber blkno);
static void flush_advice(AsyncScanStream *stream);
static int	open_segment(AsyncScanStream *stream, int segno, int extra_flags);
static int	segment_fd(AsyncScanStream *stream, BlockNumber blkno);
static int	segment_direct_fd(AsyncScanStream *stream, BlockNumber blkno);
static void close_segment(AsyncScanStream *stream, int segno);
static void close_segments_before(AsyncScanStream *stream, BlockNumber blkno);
static void close_all_segments(AsyncScanStream *stream);
static void report_failed_read(AsyncScanStream *stream, AsyncScanRead *read);

/*
 * Define the GUCs of the read stream.
 */
void
asyncscan_stream_init(void)
{
	DefineCustomIntVariable("pg_asyncscan.io_depth",
							"Maximum number of direct reads in flight per scan.",
							"A scan starts with a few and doubles them whenever it "
							"had to wait for a read, up to this; with "
							"pg_asyncscan.io_combine_limit it bounds the look-ahead "
							"window and the scan's private read memory "
							"(io_depth * io_combine_limit blocks).",
							&asyncscan_io_depth,
							64, 1, ASYNCSCAN_MAX_IO_DEPTH,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("pg_asyncscan.direct_reads",
							 "Read all-visible blocks directly into scan memory, "
							 "bypassing shared buffers.",
							 "When off, every block is read through shared buffers, "
							 "as a Seq Scan reads it.",
							 &asyncscan_direct_reads,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("pg_asyncscan.direct_io",
							 "Open segment files with O_DIRECT for direct reads.",
							 "Direct reads then neither fill nor depend on the OS page "
							 "cache.  Where the file system refuses O_DIRECT the "
							 "scan reads through the page cache.",
							 &asyncscan_direct_io,
							 false,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
}

/*
 * Rules 1 and 2 of the direct path, for the whole scan: an MVCC snapshot not
 * taken during recovery, no SERIALIZABLE transaction, a relation in shared
 * buffers (not a temporary one), and no old_snapshot_threshold (whose
 * "snapshot too old" check needs every page's LSN under a buffer lock).
 */
bool
asyncscan_stream_direct_allowed(Relation rel, Snapshot snapshot)
{
	if (!asyncscan_direct_reads)
		return false;
	if (snapshot == NULL || !IsMVCCSnapshot(snapshot) ||
		snapshot->takenDuringRecovery)
		return false;
	if (IsolationIsSerializable())
		return false;
	if (RelationUsesLocalBuffers(rel))
		return false;
	if (rel->rd_rel->relkind != RELKIND_RELATION)
		return false;
	if (asyncscan_old_snapshot_enabled())
		return false;
	return true;
}

/* The blocks of a serial scan: 0 .. nblocks - 1. */
static BlockNumber
serial_source(void *arg)
{
	AsyncScanStream *stream = (AsyncScanStream *) arg;

	if (stream->next_serial >= stream->nblocks)
		return InvalidBlockNumber;
	return stream->next_serial++;
}

/*
 * Start a stream.  Called when the scan first asks for a page, so after the
 * scan's snapshot was taken.  Without a source, the stream scans all blocks
 * the relation has now (nblocks = InvalidBlockNumber) in order; a parallel
 * scan passes the shared block count and a source handing out the blocks
 * of this participant's chunks, in increasing order.
 */
AsyncScanStream *
asyncscan_stream_begin(Relation rel, Snapshot snapshot, int io_method,
					   AsyncScanStats *stats, BlockNumber nblocks,
					   AsyncScanBlockSource source, void *source_arg)
{
	MemoryContext cxt;
	MemoryContext oldcxt;
	AsyncScanStream *stream;

	cxt = AllocSetContextCreate(CurrentMemoryContext,
								"AsyncSeqScan stream",
								ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);

	stream = palloc0(sizeof(AsyncScanStream));
	stream->rel = rel;
	stream->snapshot = snapshot;
	stream->cxt = cxt;
	stream->stats = stats;
	stream->vmbuffer = InvalidBuffer;
	stream->held_buffer = InvalidBuffer;
	stream->forming = -1;

	/* a parallel scan's participants share the leader's count */
	stream->nblocks = BlockNumberIsValid(nblocks) ? nblocks :
		RelationGetNumberOfBlocks(rel);
	stream->source = source != NULL ? source : serial_source;
	stream->source_arg = source != NULL ? source_arg : stream;
	stream->pending_block = InvalidBlockNumber;

	/* like a Seq Scan: use a bulk-read ring only for big tables */
	if (stream->nblocks > (BlockNumber) (NBuffers / 4))
		stream->strategy = GetAccessStrategy(BAS_BULKREAD);

	stream->direct_allowed = asyncscan_stream_direct_allowed(rel, snapshot);
	stream->checked_allowed = stream->direct_allowed;
	stream->io.ops = asyncscan_io_method_ops(io_method);
	size_stream(stream);
	prepare_segments(stream);

	stats->io_method = io_method;
	stream->stats_at_begin = *stats;
	stream->direct_io = asyncscan_direct_io && stream->direct_allowed;
	stream->io.spc_oid = asyncscan_rel_spc_oid(rel);
	stream->io.db_oid = asyncscan_rel_db_oid(rel);
	stream->io.rel_number = asyncscan_rel_number(rel);
	stream->io.direct_io = stream->direct_io;
	/* the read memory is allocated by the first direct read (look_ahead) */

	/* from here on, an ERROR must drain before this memory goes away */
	stream->drain_callback.func = stream_drain_callback;
	stream->drain_callback.arg = stream;
	MemoryContextRegisterResetCallback(cxt, &stream->drain_callback);

	stream->io.ops->init_owner(&stream->io);

	stream->hooks = asyncscan_storage_hooks_in_use();
	stats->storage_hooks |= stream->hooks;
	if (stream->hooks && stream->direct_allowed)
		stream->generations = palloc(sizeof(AsyncScanGeneration) *
									 stream->io_depth * stream->combine_limit);

	/*
	 * Pages that are not all-visible are read directly only where a torn
	 * read of one is caught: by its checksum, or by the storage hooks'
	 * write generations (README, "The torn-page window").  Those are the
	 * pages other backends are changing, so without either they take the
	 * buffered path, and only all-visible pages keep the window that README
	 * describes.
	 */
	if (!DataChecksumsEnabled() && stream->generations == NULL)
		stream->checked_allowed = false;

	MemoryContextSwitchTo(oldcxt);
	return stream;
}

/*
 * Size a new stream: the largest read (io_combine_limit, the method's own
 * limit, the relation), reads in flight (io_depth, the relation), and the
 * look-ahead window they allow; and allocate the window and read slots.
 */
static void
size_stream(AsyncScanStream *stream)
{
	stream->io_depth = asyncscan_io_depth;
	stream->combine_limit = asyncscan_io_combine_limit();
	if (stream->io.ops->max_read_blocks > 0)
		stream->combine_limit = Min(stream->combine_limit,
									stream->io.ops->max_read_blocks);
	/* a small relation needs no more read memory than it has blocks */
	stream->combine_limit = Max(Min((BlockNumber) stream->combine_limit,
									stream->nblocks), 1);
	stream->io_depth = Max(Min((BlockNumber) stream->io_depth,
							   (stream->nblocks + stream->combine_limit - 1) /
							   stream->combine_limit), 1);
	stream->max_distance = stream->io_depth * stream->combine_limit;
	stream->distance = 1;
	stream->read_cap = Min(MIN_READ_CAP, stream->io_depth);
	stream->entries = palloc0(sizeof(StreamEntry) * stream->max_distance);
	stream->reads = palloc0(sizeof(AsyncScanRead) * stream->io_depth);
	stream->read_buffers = palloc0(sizeof(char *) * stream->io_depth);
	stream->free_buffers = palloc0(sizeof(char *) * stream->io_depth);
}

/*
 * The segment files of a new stream: their path and, per segment, slots
 * for the descriptors and mappings opened lazily.
 */
static void
prepare_segments(AsyncScanStream *stream)
{
	Relation	rel = stream->rel;

	stream->path = asyncscan_smgr_path(RelationGetSmgr(rel));
	stream->nsegments = (stream->nblocks + RELSEG_SIZE - 1) / RELSEG_SIZE;
	stream->segment_fds = palloc(sizeof(int) * Max(stream->nsegments, 1));
	stream->segment_direct_fds = palloc(sizeof(int) * Max(stream->nsegments, 1));
	stream->segment_maps = palloc0(sizeof(char *) * Max(stream->nsegments, 1));
	for (int i = 0; i < stream->nsegments; i++)
	{
		stream->segment_fds[i] = -1;
		stream->segment_direct_fds[i] = -1;
	}
}

/*
 * Hand out the next page in block order; false at the end.  The page handed
 * out before is released first, so the consumer must be done with it (and
 * have cleared any slot pointing into it).
 */
bool
asyncscan_stream_next(AsyncScanStream *stream, AsyncScanPage *page)
{
	StreamEntry *entry;

	Assert(!stream->ended);

	if (BufferIsValid(stream->held_buffer))
	{
		ReleaseBuffer(stream->held_buffer);
		stream->held_buffer = InvalidBuffer;
	}
	release_consumed_reads(stream);

	/* the consumer judged the last private copy without falling back */
	if (stream->checked_out)
	{
		stream->checked_out = false;
		stream->undecided_run = 0;
	}

	CHECK_FOR_INTERRUPTS();

	if (stream->cached_mode && stream->window_count == 0)
		return next_cached(stream, page);

	look_ahead(stream);
	if (stream->window_count == 0)
	{
		Assert(stream->source_done && stream->nreads == 0);
		return false;
	}

	entry = &stream->entries[stream->window_head];
	Assert(!stream->have_yielded || entry->blkno > stream->last_yielded);
	page->blkno = entry->blkno;
	if (entry->kind == ENTRY_DIRECT)
		hand_out_direct(stream, entry, page);
	else
		(void) read_buffered(stream, entry->blkno, entry->recent, page);

	stream->window_head = (stream->window_head + 1) % stream->max_distance;
	stream->window_count--;
	stream->have_yielded = true;
	stream->last_yielded = page->blkno;
	note_inline_reads(stream);
	return true;
}

/*
 * Cached mode: the next block straight through shared buffers, as a Seq
 * Scan reads it.  A block that had to be read from storage ends the mode.
 */
static bool
next_cached(AsyncScanStream *stream, AsyncScanPage *page)
{
	BlockNumber blkno;

	Assert(stream->nreads == 0);
	if (BlockNumberIsValid(stream->pending_block))
	{
		blkno = stream->pending_block;
		stream->pending_block = InvalidBlockNumber;
	}
	else if (stream->source_done ||
			 !BlockNumberIsValid(blkno = stream->source(stream->source_arg)))
	{
		stream->source_done = true;
		return false;
	}

	page->blkno = blkno;
	if (!read_buffered(stream, blkno, InvalidBuffer, page))
	{
		/* a miss: look ahead again, from a short window */
		stream->cached_mode = false;
		stream->hit_run = 0;
		stream->distance = 1;
	}
	stream->have_yielded = true;
	stream->last_yielded = blkno;
	return true;
}

/*
 * Hand out a block of a direct read: wait for the read if needed, check
 * the page (rules 4 and 5), and fall back to shared buffers if it fails.
 */
static void
hand_out_direct(AsyncScanStream *stream, StreamEntry *entry,
				AsyncScanPage *page)
{
	BlockNumber blkno = entry->blkno;
	AsyncScanRead *read = &stream->reads[entry->read_index];
	Page		copy;

	Assert(blkno >= read->first_block &&
		   blkno < read->first_block + read->nblocks);

	complete_direct_read(stream, entry, read);
	copy = (Page) (read->target + (Size) (blkno - read->first_block) * BLCKSZ);
	switch (check_direct_block(stream, entry, read, copy))
	{
		case DIRECT_ALL_VISIBLE:
			stream->stats->pages_direct++;
			/* PostgreSQL's statistics: a block read from storage */
			asyncscan_pgstat_direct_page(stream->rel);
			page->page = copy;
			page->buffer = InvalidBuffer;
			page->all_visible = true;
			return;
		case DIRECT_CHECK_TUPLES:
			stream->stats->pages_direct++;
			stream->stats->pages_direct_checked++;
			/* PostgreSQL's statistics: a block read from storage */
			asyncscan_pgstat_direct_page(stream->rel);
			page->page = copy;
			page->buffer = InvalidBuffer;
			page->all_visible = false;
			stream->checked_out = true;
			return;
		case DIRECT_BAD_PAGE:
			stream->stats->rejected_bad_page++;
			break;
		case DIRECT_NOT_ALL_VISIBLE:
			stream->stats->rejected_not_all_visible++;
			break;
		case DIRECT_IN_BUFFERS:
			stream->stats->rejected_in_buffers++;
			break;
		case DIRECT_WRITTEN:
			stream->stats->rejected_written++;
			break;
	}
	(void) read_buffered(stream, blkno, InvalidBuffer, page);
}

/*
 * The consumer needs entry's block now: stage and submit what is pending,
 * wait for its read (adapting read_cap at a read's first block), and raise
 * the error of a failed read.
 */
static void
complete_direct_read(AsyncScanStream *stream, StreamEntry *entry,
					 AsyncScanRead *read)
{
	bool		first = entry->blkno == read->first_block;

	if (entry->read_index == stream->forming)
		stage_forming_read(stream);
	if (stream->io.nstaged > 0)
		submit_staged(stream);
	if (first)
		adapt_read_cap(stream, wait_for_read(stream, read));
	else
		(void) wait_for_read(stream, read);
	if (read->state == ASYNCSCAN_READ_FAILED)
		report_failed_read(stream, read);
	Assert(read->state == ASYNCSCAN_READ_DONE);
	/* PostgreSQL's statistics: a read the scan uses is an IO */
	if (first)
		asyncscan_pgstat_direct_read(stream->strategy != NULL, read->nblocks);
}

/*
 * The checks after the read of a direct block (copy, in read's target):
 * the page itself (check_direct_page), and with the storage hooks, whether
 * the block was written while it was read.
 */
static DirectCheck
check_direct_block(AsyncScanStream *stream, StreamEntry *entry,
				   AsyncScanRead *read, Page copy)
{
	int			i = entry->blkno - read->first_block;
	DirectCheck check;

	check = check_direct_page(stream, copy, entry->blkno, entry->all_visible,
							  (read->checksums_verified >> i) & 1);
	if ((check == DIRECT_ALL_VISIBLE || check == DIRECT_CHECK_TUPLES) &&
		stream->generations != NULL &&
		!asyncscan_generation_unchanged(stream->rel, entry->blkno,
										&stream->generations[entry->read_index * stream->combine_limit + i]))
		check = DIRECT_WRITTEN;
	return check;
}

/*
 * Bring the node's count of reads the IO method performed in the backend
 * up to date (they happen when reads are staged or waited for), so that
 * EXPLAIN shows them also for a scan it prints before the stream ends (a
 * LIMIT).
 */
static void
note_inline_reads(AsyncScanStream *stream)
{
	stream->stats->inline_reads += stream->io.inline_reads - stream->inline_noted;
	stream->inline_noted = stream->io.inline_reads;
}

/*
 * Wait until read is done or failed, counting it (and adding its time to
 * the node's wait time when it is timed); say whether and how long the
 * scan waited.  A wait is always timed for adapt_read_cap(): two clock
 * readings per wait, at most one wait per read.
 */
static ReadWait
wait_for_read(AsyncScanStream *stream, AsyncScanRead *read)
{
	instr_time	start,
				end;

	if (read->state == ASYNCSCAN_READ_DONE ||
		read->state == ASYNCSCAN_READ_FAILED)
		return READ_WAIT_NONE;
	stream->stats->waits++;
	INSTR_TIME_SET_CURRENT(start);
	stream->io.ops->wait_read(&stream->io, read);
	INSTR_TIME_SET_CURRENT(end);
	INSTR_TIME_SUBTRACT(end, start);
	if (stream->stats->time_waits)
	{
		INSTR_TIME_ADD(stream->stats->wait_time, end);
		/* PostgreSQL's statistics: read time, with track_io_timing */
		asyncscan_pgstat_io_end(stream->strategy != NULL, start);
	}
	return INSTR_TIME_GET_MICROSEC(end) >= LONG_WAIT_USEC ?
		READ_WAIT_LONG : READ_WAIT_SHORT;
}

/*
 * The consumer could not judge the tuples of a private copy that is not
 * all-visible (visibility.c found it "undecided"): hand out the
 * same block again, through shared buffers.  After several such pages in a
 * row, pages that are not all-visible are no longer read privately.
 */
void
asyncscan_stream_reread_buffered(AsyncScanStream *stream, AsyncScanPage *page)
{
	Assert(!BufferIsValid(page->buffer) && !page->all_visible);
	Assert(stream->have_yielded && stream->last_yielded == page->blkno);

	stream->checked_out = false;
	stream->stats->pages_direct--;
	stream->stats->pages_direct_checked--;
	stream->stats->rejected_undecided++;
	/* PostgreSQL's statistics: the buffered read below counts the page */
	asyncscan_pgstat_direct_page_reread(stream->rel);
	if (++stream->undecided_run >= UNDECIDED_RUN_PAGES)
		stream->checked_allowed = false;
	(void) read_buffered(stream, page->blkno, InvalidBuffer, page);
}

/*
 * Finish the stream: release the held page, drain the IO method, close
 * files, and free all memory.  Safe to call at any point of the scan.
 */
void
asyncscan_stream_end(AsyncScanStream *stream)
{
	if (BufferIsValid(stream->held_buffer))
		ReleaseBuffer(stream->held_buffer);
	stream->held_buffer = InvalidBuffer;

	stream->io.ops->drain(&stream->io);
	stream->io.ops->end_owner(&stream->io);
	close_all_segments(stream);
	if (stream->hooks)
		asyncscan_staging_release(stream->rel);
	note_inline_reads(stream);
	asyncscan_stats_report_scan(stream->stats->io_method,
								&stream->stats_at_begin, stream->stats);

	if (BufferIsValid(stream->vmbuffer))
		ReleaseBuffer(stream->vmbuffer);
	if (stream->strategy != NULL)
		FreeAccessStrategy(stream->strategy);

	stream->ended = true;
	MemoryContextDelete(stream->cxt);
}

/*
 * The stream's memory context is being deleted without asyncscan_stream_end
 * (an ERROR or cancel unwound the executor).  Nothing may still write into
 * the arena once this returns.  Buffer pins belong to the resource owner,
 * which releases them itself; only IO and file descriptors are ours.
 */
static void
stream_drain_callback(void *arg)
{
	AsyncScanStream *stream = (AsyncScanStream *) arg;

	if (stream->ended)
		return;
	stream->io.ops->drain(&stream->io);
	stream->io.ops->end_owner(&stream->io);
	close_all_segments(stream);
	note_inline_reads(stream);
	asyncscan_stats_report_scan(stream->stats->io_method,
								&stream->stats_at_begin, stream->stats);
	stream->ended = true;
}

/*
 * Classify blocks entering the window, form and stage reads, advise the OS
 * of buffered blocks, and submit the batch.
 */
static void
look_ahead(AsyncScanStream *stream)
{
	BlockNumber blkno;

	while (stream->window_count < stream->distance &&
		   take_next_block(stream, &blkno))
	{
		if (!plan_block(stream, blkno))
		{
			/* no read slot free: plan this block next time */
			stream->pending_block = blkno;
			break;
		}

		/* everything is in shared buffers: stop looking ahead */
		if (stream->hit_run >= CACHED_RUN_BLOCKS && stream->forming < 0 &&
			stream->advise_nblocks == 0)
		{
			stream->cached_mode = true;
			break;
		}
	}

	/*
	 * Stage the forming read if it cannot grow any more, or if the consumer
	 * is about to need it; otherwise give it the chance to grow to full
	 * size once the consumer has moved on.
	 */
	if (stream->forming >= 0)
	{
		AsyncScanRead *read = &stream->reads[stream->forming];

		if (read->nblocks == stream->combine_limit ||
			read->first_block == stream->entries[stream->window_head].blkno ||
			(stream->source_done && !BlockNumberIsValid(stream->pending_block)))
			stage_forming_read(stream);
	}
	flush_advice(stream);

	if (stream->io.nstaged > 0)
		submit_staged(stream);
}

/*
 * The next block to enter the window: the one left pending for want of a
 * read slot, else the source's next; false once the source has no more.
 */
static bool
take_next_block(AsyncScanStream *stream, BlockNumber *blkno)
{
	if (BlockNumberIsValid(stream->pending_block))
	{
		*blkno = stream->pending_block;
		stream->pending_block = InvalidBlockNumber;
		return true;
	}
	if (stream->source_done)
		return false;

	*blkno = stream->source(stream->source_arg);
	if (!BlockNumberIsValid(*blkno))
	{
		stream->source_done = true;
		return false;
	}
	Assert(*blkno < stream->nblocks);
	return true;
}

/*
 * Add a block to the end of the window: classify it, and add it to a read
 * (direct) or to the advice to the OS (buffered, not in shared buffers).
 * False, with the window unchanged, if it needs a read slot and none is
 * free.
 */
static bool
plan_block(AsyncScanStream *stream, BlockNumber blkno)
{
	StreamEntry *entry;
	Buffer		recent;

	entry = &stream->entries[(stream->window_head + stream->window_count) %
							 stream->max_distance];
	entry->recent = InvalidBuffer;
	if (classify_block(stream, blkno, &recent, &entry->all_visible))
	{
		stream->hit_run = 0;
		flush_advice(stream);
		if (!plan_direct_block(stream, blkno))
			return false;
		entry->kind = ENTRY_DIRECT;
		entry->read_index = stream->forming;
	}
	else
	{
		if (stream->forming >= 0)
			stage_forming_read(stream);
		entry->kind = ENTRY_BUFFERED;
		entry->read_index = -1;
		entry->recent = recent;
		if (BufferIsValid(recent))
		{
			/* a hit: shrink the window */
			stream->distance = Max(stream->distance - 1, 1);
			stream->hit_run++;
		}
		else
		{
			stream->hit_run = 0;
			advise_block(stream, blkno);
		}
	}
	entry->blkno = blkno;
	stream->window_count++;
	return true;
}

/*
 * Add a direct block to the forming read, or start a new read for it.
 * False if that needs a read slot and read_cap are in use.
 */
static bool
plan_direct_block(AsyncScanStream *stream, BlockNumber blkno)
{
	AsyncScanRead *read;
	int			slot;

	read = stream->forming >= 0 ? &stream->reads[stream->forming] : NULL;
	if (read != NULL &&
		read->first_block + read->nblocks == blkno &&
		read->nblocks < stream->combine_limit &&
		blkno % RELSEG_SIZE != 0)
	{
		/* extend the forming read by one block */
		read->nblocks++;
		read->length += BLCKSZ;
		return true;
	}

	if (read != NULL)
		stage_forming_read(stream);
	if (stream->nreads >= stream->read_cap)
		return false;

	slot = (stream->read_head + stream->nreads) % stream->io_depth;
	read = &stream->reads[slot];
	Assert(read->state == ASYNCSCAN_READ_IDLE);
	memset(read, 0, sizeof(AsyncScanRead));
	read->fd = segment_fd(stream, blkno);
	read->direct_fd = segment_direct_fd(stream, blkno);
	read->residency = stream->segment_maps[blkno / RELSEG_SIZE];
	read->first_block = blkno;
	read->nblocks = 1;
	read->offset = (off_t) (blkno % RELSEG_SIZE) * BLCKSZ;
	read->length = BLCKSZ;
	Assert(stream->read_buffers[slot] == NULL);
	stream->read_buffers[slot] = take_read_buffer(stream);
	read->target = stream->read_buffers[slot];
	read->io = &stream->io;
	stream->forming = slot;
	stream->nreads++;
	return true;
}

/*
 * A target area for a new read: one given back by an earlier read, or a
 * new one (a scan of cached pages never allocates any).
 */
static char *
take_read_buffer(AsyncScanStream *stream)
{
	if (stream->nfree_buffers > 0)
		return stream->free_buffers[--stream->nfree_buffers];
	return (char *)
		TYPEALIGN(ASYNCSCAN_IO_ALIGN,
				  MemoryContextAlloc(stream->cxt,
									 (Size) stream->combine_limit * BLCKSZ +
									 ASYNCSCAN_IO_ALIGN));
}

/*
 * The scan needed the first page of a read: adapt read_cap.  A long wait
 * while every allowed read was in use means the storage needs more in
 * flight; a long run of reads complete (or nearly: a short wait) before
 * they were needed means fewer will do.
 */
static void
adapt_read_cap(AsyncScanStream *stream, ReadWait wait)
{
	if (wait == READ_WAIT_LONG)
	{
		stream->reads_early = 0;
		if (stream->nreads >= stream->read_cap &&
			stream->read_cap < stream->io_depth)
			stream->read_cap = Min(stream->read_cap * 2, stream->io_depth);
	}
	else if (++stream->reads_early >= 4 * stream->read_cap &&
			 stream->read_cap > MIN_READ_CAP)
	{
		stream->read_cap = Max(stream->read_cap / 2, MIN_READ_CAP);
		stream->reads_early = 0;
	}
}

/*
 * Decide the path of one block entering the window.  Returns true for the
 * direct path.  *in_buffers tells whether the block is in shared buffers
 * now (rule 3), which the buffered path uses to skip advice.
 */
static bool
classify_block(AsyncScanStream *stream, BlockNumber blkno, Buffer *recent,
			   bool *all_visible)
{
	*recent = block_in_shared_buffers(stream->rel, blkno);
	if (BufferIsValid(*recent) || !stream->direct_allowed ||
		stream->fds_exhausted)
		return false;

	/*
	 * Rule 6, decided now: the visibility map says all-visible, or the
	 * tuples of the copy will be judged one by one.
	 */
	*all_visible = (visibilitymap_get_status(stream->rel, blkno,
											 &stream->vmbuffer) &
					VISIBILITYMAP_ALL_VISIBLE) != 0;
	if (!*all_visible && !stream->checked_allowed)
		return false;

	/* a descriptor for the segment; without one the block goes buffered */
	return segment_fd(stream, blkno) >= 0;
}

/*
 * Rule 3: is the block in shared buffers?  A lookup in the buffer mapping
 * table under its partition lock, as BufferAlloc does; a buffer that is
 * still being read in counts as present.  Returns the buffer that holds it
 * (a hint for ReadRecentBuffer: it may hold another block by the time it
 * is read), or InvalidBuffer.
 */
static Buffer
block_in_shared_buffers(Relation rel, BlockNumber blkno)
{
	BufferTag	tag;
	uint32		hash;
	LWLock	   *partition_lock;
	int			buf_id;

	asyncscan_init_buffer_tag(&tag, rel, blkno);
	hash = BufTableHashCode(&tag);
	partition_lock = BufMappingPartitionLock(hash);

	LWLockAcquire(partition_lock, LW_SHARED);
	buf_id = BufTableLookup(&tag, hash);
	LWLockRelease(partition_lock);

	return buf_id >= 0 ? buf_id + 1 : InvalidBuffer;
}

/*
 * Every normal line pointer of a page points at a tuple that lies between
 * pd_upper and pd_special, starts MAXALIGNed, is at least a tuple header
 * long, and overlaps no other tuple.  A page filled by inserts holds its
 * tuples in descending order of line pointer (each below the one before),
 * which rules out overlaps by itself; any other page is checked with
 * tuples_do_not_overlap.
 */
static bool
tuples_are_sane(Page page)
{
	PageHeader	header = (PageHeader) page;
	OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
	unsigned	below = header->pd_special; /* start of the tuple before */
	bool		descending = true;

	for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
	{
		ItemId		lp = PageGetItemId(page, off);
		unsigned	start;
		unsigned	end;

		if (!ItemIdIsNormal(lp))
			continue;
		start = ItemIdGetOffset(lp);
		end = start + ItemIdGetLength(lp);	/* exclusive */
		if (start < header->pd_upper || end > header->pd_special ||
			ItemIdGetLength(lp) < SizeofHeapTupleHeader ||
			start % MAXIMUM_ALIGNOF != 0)
			return false;
		if (end > below)
			descending = false;
		below = start;
	}
	return descending || tuples_do_not_overlap(page);
}

/*
 * No two normal line pointers' tuples (each inside the page, as
 * tuples_are_sane checked) overlap.  One bit per MAXALIGN unit of the
 * page, set tuple by tuple, a word at a time.
 */
static bool
tuples_do_not_overlap(Page page)
{
#define UNIT		MAXIMUM_ALIGNOF
#define NUNITS		(BLCKSZ / UNIT)
	OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
	uint64		used[NUNITS / 64];

	StaticAssertStmt(NUNITS % 64 == 0, "the bitmap is whole words");
	memset(used, 0, sizeof(used));

	for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
	{
		ItemId		lp = PageGetItemId(page, off);
		unsigned	start;
		unsigned	end;

		if (!ItemIdIsNormal(lp))
			continue;
		start = ItemIdGetOffset(lp);
		end = start + ItemIdGetLength(lp);	/* exclusive */

		/* units start / UNIT .. (end - 1) / UNIT, word by word */
		for (unsigned first = start / UNIT, last = (end - 1) / UNIT;
			 first <= last;)
		{
			unsigned	word = first / 64;
			unsigned	upto = Min(last, word * 64 + 63);
			unsigned	nbits = upto - first + 1;
			uint64		mask;

			mask = (nbits == 64 ? ~UINT64CONST(0) :
					((UINT64CONST(1) << nbits) - 1)) << (first % 64);
			if ((used[word] & mask) != 0)
				return false;
			used[word] |= mask;
			first = upto + 1;
		}
	}
	return true;
#undef UNIT
#undef NUNITS
}

/*
 * Rules 4 and 5, after a direct read and before any tuple is used: a sane
 * heap page whose line pointers and tuples stay inside it without
 * overlapping, no more line pointers than a heap page holds (the consumer
 * collects their offsets into an array of that size), a verified checksum
 * when the cluster has them (unless the IO method verified it already),
 * and the block still not in shared buffers.
 * Then whether all its tuples are visible (the visibility map said so and
 * the page carries PD_ALL_VISIBLE) or each must be judged.
 */
static DirectCheck
check_direct_page(AsyncScanStream *stream, Page page, BlockNumber blkno,
				  bool all_visible, bool checksum_verified)
{
	PageHeader	header = (PageHeader) page;
	OffsetNumber maxoff;

	/* an empty page (extended, never written): shared buffers decide */
	if (PageIsNew(page))
		return DIRECT_NOT_ALL_VISIBLE;

	if ((header->pd_flags & ~PD_VALID_FLAG_BITS) != 0 ||
		header->pd_lower < SizeOfPageHeaderData ||
		header->pd_lower > header->pd_upper ||
		header->pd_upper > header->pd_special ||
		header->pd_special != BLCKSZ ||
		PageGetPageSize(page) != BLCKSZ ||
		PageGetPageLayoutVersion(page) != PG_PAGE_LAYOUT_VERSION)
		return DIRECT_BAD_PAGE;

	if (DataChecksumsEnabled() && !checksum_verified &&
		asyncscan_checksum_page((char *) page, blkno) != header->pd_checksum)
		return DIRECT_BAD_PAGE;

	/* no more line pointers than a heap page holds (the consumer's array) */
	maxoff = PageGetMaxOffsetNumber(page);
	if (maxoff > MaxHeapTuplesPerPage)
		return DIRECT_BAD_PAGE;
	if (!tuples_are_sane(page))
		return DIRECT_BAD_PAGE;

	if (BufferIsValid(block_in_shared_buffers(stream->rel, blkno)))
		return DIRECT_IN_BUFFERS;

	if (all_visible && PageIsAllVisible(page))
		return DIRECT_ALL_VISIBLE;
	if (!stream->checked_allowed)
		return DIRECT_NOT_ALL_VISIBLE;
	return DIRECT_CHECK_TUPLES;
}

/* Hand the forming read to the IO method; the window may grow. */
static void
stage_forming_read(AsyncScanStream *stream)
{
	AsyncScanRead *read = &stream->reads[stream->forming];
	instr_time	io_start;

	Assert(read->state == ASYNCSCAN_READ_IDLE);
	Assert(read->length == (size_t) read->nblocks * BLCKSZ);
	Assert(read->nblocks <= stream->combine_limit);
	Assert(read->first_block / RELSEG_SIZE ==
		   (read->first_block + read->nblocks - 1) / RELSEG_SIZE);

	stream->forming = -1;
	/* before the read can start: see check_direct_page's caller */
	if (stream->generations != NULL)
		asyncscan_generations_record(stream->rel, read->first_block,
									 read->nblocks,
									 &stream->generations[(read - stream->reads) *
														  stream->combine_limit]);
	/* PostgreSQL's statistics: starting a read is read time */
	io_start = asyncscan_pgstat_io_start();
	stream->io.ops->start_read(&stream->io, read);
	asyncscan_pgstat_io_end(stream->strategy != NULL, io_start);
	Assert(read->state != ASYNCSCAN_READ_IDLE);

	stream->stats->reads++;
	stream->stats->read_bytes += read->length;

	/* a read is a cache miss: look further ahead */
	stream->distance = Min(stream->distance * 2,
						   stream->read_cap * stream->combine_limit);
	stream->stats->distance_max = Max(stream->stats->distance_max,
									  stream->distance);
}

static void
submit_staged(AsyncScanStream *stream)
{
	/* PostgreSQL's statistics: submitting may read (track_io_timing) */
	instr_time	io_start = asyncscan_pgstat_io_start();

	stream->io.ops->submit(&stream->io);
	asyncscan_pgstat_io_end(stream->strategy != NULL, io_start);
	Assert(stream->io.nstaged == 0);

	stream->stats->submits++;
	stream->stats->inflight_sum += stream->io.ninflight;
	stream->stats->inflight_max = Max(stream->stats->inflight_max,
									  stream->io.ninflight);
}

/*
 * Free the read slots whose blocks have all been handed out, and the
 * segment files no read or future block needs.
 */
static void
release_consumed_reads(AsyncScanStream *stream)
{
	BlockNumber lowest;

	while (stream->nreads > 0 && stream->have_yielded)
	{
		AsyncScanRead *read = &stream->reads[stream->read_head];

		if (read->first_block + read->nblocks - 1 > stream->last_yielded)
			break;
		/* the consumer waited for it before using its first block */
		Assert(read->state == ASYNCSCAN_READ_DONE);
		stream->stats->cached_bytes += read->cached;
		if (stream->io.ops->release_read != NULL)
			stream->io.ops->release_read(&stream->io, read);
		Assert(stream->read_head != stream->forming);
		stream->free_buffers[stream->nfree_buffers++] =
			stream->read_buffers[stream->read_head];
		stream->read_buffers[stream->read_head] = NULL;
		read->state = ASYNCSCAN_READ_IDLE;
		stream->read_head = (stream->read_head + 1) % stream->io_depth;
		stream->nreads--;
	}

	/*
	 * Blocks only increase, so a segment below the lowest block our own
	 * descriptors still serve (the oldest read, else the next block to
	 * plan) is done with.
	 */
	if (stream->nreads > 0)
		lowest = stream->reads[stream->read_head].first_block;
	else if (stream->window_count > 0)
		lowest = stream->entries[stream->window_head].blkno;
	else if (BlockNumberIsValid(stream->pending_block))
		lowest = stream->pending_block;
	else if (stream->have_yielded)
		lowest = stream->last_yielded + 1;
	else
		return;
	close_segments_before(stream, lowest);
}

/*
 * The buffered path: what heapgetpage() does to get the page.  Counts a
 * shared-buffer hit or a read by watching the buffer usage counters, and
 * returns true for a hit.
 */
static bool
read_buffered(AsyncScanStream *stream, BlockNumber blkno, Buffer recent,
			  AsyncScanPage *page)
{
	bool		hit;
	int64		hits_before = pgBufferUsage.shared_blks_hit +
		pgBufferUsage.local_blks_hit;
	uint64		staged_used_before = stream->hooks ? asyncscan_staging_used() : 0;
	Buffer		buffer;

	/*
	 * A block that was in shared buffers when it entered the window is most
	 * likely still in the same buffer: pin it there without a second
	 * mapping lookup.  Only without a bulk-read strategy, because
	 * ReadRecentBuffer raises the usage count as an unstrategied read does.
	 */
	if (BufferIsValid(recent) && stream->strategy == NULL &&
		!RelationUsesLocalBuffers(stream->rel) &&
		asyncscan_read_recent_buffer(stream->rel, blkno, recent))
		buffer = recent;
	else
		buffer = ReadBufferExtended(stream->rel, MAIN_FORKNUM, blkno,
									RBM_NORMAL, stream->strategy);
	hit = pgBufferUsage.shared_blks_hit + pgBufferUsage.local_blks_hit > hits_before;
	if (hit)
		stream->stats->pages_hit++;
	else
		stream->stats->pages_read++;
	if (stream->hooks)
		stream->stats->staged_used += asyncscan_staging_used() - staged_used_before;

	stream->held_buffer = buffer;
	page->buffer = buffer;
	page->page = BufferGetPage(buffer);
	page->all_visible = false;	/* the buffer's own flag decides */
	return hit;
}

/*
 * Ask the OS to start reading a buffered block that is not in shared
 * buffers.  Adjacent blocks are advised as one range.
 */
static void
advise_block(AsyncScanStream *stream, BlockNumber blkno)
{
	if (stream->advise_nblocks > 0 &&
		stream->advise_start + stream->advise_nblocks == blkno &&
		stream->advise_nblocks < stream->combine_limit &&
		blkno % RELSEG_SIZE != 0)
	{
		stream->advise_nblocks++;
		return;
	}
	flush_advice(stream);
	stream->advise_start = blkno;
	stream->advise_nblocks = 1;
	/* a block that must be read is a miss: look further ahead */
	stream->distance = Min(stream->distance * 2,
						   stream->read_cap * stream->combine_limit);
	stream->stats->distance_max = Max(stream->stats->distance_max,
									  stream->distance);
}

static void
flush_advice(AsyncScanStream *stream)
{
	if (stream->advise_nblocks == 0)
		return;
	if (stream->hooks)
	{
		/* asynchronous reads into staging, through PrefetchBuffer */
		asyncscan_staging_prefetch(stream->rel, stream->advise_start,
								   stream->advise_nblocks,
								   stream->have_yielded ? stream->last_yielded + 1 : 0,
								   stream->stats);
		stream->stats->advised_blocks += stream->advise_nblocks;
		stream->advise_nblocks = 0;
		return;
	}
#if defined(USE_POSIX_FADVISE) && defined(POSIX_FADV_WILLNEED)
	{
		/*
		 * A range that continues the previous one is left to the kernel's
		 * own readahead, as for a Seq Scan (and as PostgreSQL 17's read
		 * streams do): advice for every range of a sequential run makes
		 * the kernel read exactly that range, in reads of io_combine_limit,
		 * instead of its growing readahead window (measured: a cold scan
		 * with direct reads off took 2.3x a Seq Scan's time).
		 */
		bool		sequential = stream->advise_start == stream->advise_prev_end;
		int			fd;

		stream->advise_prev_end = stream->advise_start + stream->advise_nblocks;
		fd = sequential ? -1 : segment_fd(stream, stream->advise_start);
		if (fd >= 0)
		{
			(void) posix_fadvise(fd,
								 (off_t) (stream->advise_start % RELSEG_SIZE) * BLCKSZ,
								 (off_t) stream->advise_nblocks * BLCKSZ,
								 POSIX_FADV_WILLNEED);
			stream->stats->advised_blocks += stream->advise_nblocks;
		}
	}
#endif
	stream->advise_nblocks = 0;
}

/*
 * Open one segment file, counted against PostgreSQL's descriptor budget.
 * Returns -1 when the budget is used up, or (with O_DIRECT) when the file
 * system refuses O_DIRECT; other failures are an ERROR.
 */
static int
open_segment(AsyncScanStream *stream, int segno, int extra_flags)
{
	char	   *path;
	int			fd;

	if (!AcquireExternalFD())
	{
		stream->fds_exhausted = true;
		return -1;
	}

	if (segno == 0)
		path = stream->path;
	else
		path = psprintf("%s.%d", stream->path, segno);

	fd = BasicOpenFile(path, O_RDONLY | PG_BINARY | extra_flags);
	if (fd < 0)
	{
		int			save_errno = errno;

		ReleaseExternalFD();
		if (extra_flags != 0 && save_errno == EINVAL)
			return -1;
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", path)));
	}
	if (path != stream->path)
		pfree(path);
	return fd;
}

/*
 * The (page-cache) descriptor of the segment file holding blkno, opened on
 * first use.  Returns -1 when PostgreSQL's descriptor budget is used up;
 * the block then takes the buffered path, which uses smgr's descriptors.
 */
static int
segment_fd(AsyncScanStream *stream, BlockNumber blkno)
{
	int			segno = blkno / RELSEG_SIZE;

	Assert(segno < stream->nsegments);
	if (stream->segment_fds[segno] < 0 && !stream->fds_exhausted)
		stream->segment_fds[segno] = open_segment(stream, segno, 0);
	return stream->segment_fds[segno];
}

/*
 * The O_DIRECT descriptor of the segment holding blkno, when direct_io is
 * on; -1 otherwise (and from then on, if the file system refuses it).
 */
static int
segment_direct_fd(AsyncScanStream *stream, BlockNumber blkno)
{
#ifdef O_DIRECT
	int			segno = blkno / RELSEG_SIZE;

	if (!stream->direct_io)
		return -1;
	if (stream->segment_direct_fds[segno] < 0 && !stream->fds_exhausted)
	{
		int			fd = open_segment(stream, segno, O_DIRECT);

		if (fd < 0 && !stream->fds_exhausted)
			stream->direct_io = false;	/* file system refuses O_DIRECT */
		stream->segment_direct_fds[segno] = fd;
		if (fd >= 0)
		{
			void	   *map;

			stream->stats->direct_io = true;
			/* only for mincore(): never read through, so never faulted in */
			map = mmap(NULL, (size_t) RELSEG_SIZE * BLCKSZ, PROT_READ,
					   MAP_SHARED, stream->segment_fds[segno], 0);
			stream->segment_maps[segno] = map == MAP_FAILED ? NULL : map;
		}
	}
	return stream->segment_direct_fds[segno];
#else
	return -1;
#endif
}

static void
close_segment(AsyncScanStream *stream, int segno)
{
	if (stream->segment_fds[segno] >= 0)
	{
		close(stream->segment_fds[segno]);
		ReleaseExternalFD();
		stream->segment_fds[segno] = -1;
	}
	if (stream->segment_maps[segno] != NULL)
	{
		munmap(stream->segment_maps[segno], (size_t) RELSEG_SIZE * BLCKSZ);
		stream->segment_maps[segno] = NULL;
	}
	if (stream->segment_direct_fds[segno] >= 0)
	{
		close(stream->segment_direct_fds[segno]);
		ReleaseExternalFD();
		stream->segment_direct_fds[segno] = -1;
	}
}

/* Close the segment files wholly before blkno. */
static void
close_segments_before(AsyncScanStream *stream, BlockNumber blkno)
{
	int			limit = Min((int) (blkno / RELSEG_SIZE), stream->nsegments);

	for (int segno = 0; segno < limit; segno++)
		close_segment(stream, segno);
}

static void
close_all_segments(AsyncScanStream *stream)
{
	for (int segno = 0; segno < stream->nsegments; segno++)
		close_segment(stream, segno);
}

/* A direct read failed: ERROR naming relation, blocks and method. */
static void
report_failed_read(AsyncScanStream *stream, AsyncScanRead *read)
{
	BlockNumber last = read->first_block + read->nblocks - 1;

	asyncscan_stats_count(stream->stats->io_method, ASYNCSCAN_STAT_ERRORS, 1);
	if (read->error != 0)
	{
		errno = read->error;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read blocks %u..%u of relation \"%s\": %m",
						read->first_block, last,
						RelationGetRelationName(stream->rel)),
				 errdetail("The read was issued by pg_asyncscan.io_method \"%s\".",
						   stream->io.ops->name)));
	}
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("could not read blocks %u..%u of relation \"%s\": read only %zu of %zu bytes",
					read->first_block, last,
					RelationGetRelationName(stream->rel),
					read->transferred, read->length),
			 errdetail("The read was issued by pg_asyncscan.io_method \"%s\".",
					   stream->io.ops->name)));
}
