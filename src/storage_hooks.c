/*-------------------------------------------------------------------------
 *
 * storage_hooks.c
 *	  pg_asyncscan on a server carrying the storage manager patch of
 *	  patches/15: asynchronous reads into shared buffers, and write
 *	  generations that close the torn-page window of the direct path.
 *
 * The patch lets a library in shared_preload_libraries wrap smgr.c's table
 * of storage manager functions (smgr_register_wrapper()).  This file looks
 * that function up at load time (dlsym: a stock server lacks it, and the
 * same build of the library must load there, so nothing here may be an
 * unresolved symbol) and, when preloaded on a patched server, registers a
 * wrapper around md.c that adds two things:
 *
 * Write generations.  Shared memory holds two tables of 64-bit counters,
 * one slot per hash of (relation, block) and one per hash of the relation.
 * Every write or extend of a main-fork block, and every truncate or unlink
 * of a main fork, adds GENERATION_WRITER to its slot before md.c touches
 * the file and GENERATION_DONE - GENERATION_WRITER after, in every process
 * (backends, checkpointer, bgwriter, startup).  The low bits of a slot
 * therefore count the writes in progress and the rest counts finished
 * ones.  A reader records both slots of a block before its read starts and
 * accepts the data only if no write was in progress then and neither slot
 * has moved when the read has completed: any write that overlapped the
 * read in time either was in progress at the start or finished before the
 * end.  A torn page (half before, half after a concurrent write) can
 * therefore never be accepted, with or without data checksums.  Slots are
 * shared by hash collisions, which can only cause needless rejections.
 *
 * Staged reads.  When PrefetchBuffer() asks for a block that is not in
 * shared buffers, the prefetch wrapper starts a real read of it through
 * the session's IO method (pg_asyncscan.io_method) into per-backend
 * staging memory instead of posix_fadvise; when ReadBuffer() later misses
 * on that block, the read wrapper waits for the staged read if need be and
 * copies the block into the buffer -- no second IO -- provided the block's
 * write generations are unchanged since the read was staged (else the
 * block was written, extended, truncated or unlinked meanwhile: the copy
 * is dropped and md.c reads it).  The read stream (stream.c) prefetches
 * its buffered blocks this way, in batches whose adjacent blocks combine
 * into one read; stock nodes calling PrefetchBuffer (Bitmap Heap Scan with
 * effective_io_concurrency, pg_prewarm's prefetch mode) get the same.
 *
 * Staging memory is in-flight memory.  It lives for one transaction: at
 * commit, abort or prepare the IO method's drain waits for (or, worker:
 * abandons) every staged read, and only then are the memory freed and the
 * files closed.  An ERROR inside the wrapper leaves it "busy"; a
 * subtransaction abort then drains too.  Backend exit drains through a
 * before_shmem_exit callback.  Anything that could run this code
 * re-entrantly (an interrupt while waiting for a read absorbs an smgr
 * release barrier) only marks a reset as pending.
 *
 * IDENTIFICATION
 *	  src/storage_hooks.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include "access/parallel.h"
#include "access/xact.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/bufmgr.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "compat.h"
#include "io_method.h"
#include "stats.h"
#include "storage_hooks.h"

/* GUC variables */
static bool asyncscan_storage_hooks = true;

#ifdef ASYNCSCAN_HAVE_SMGR_WRAPPER

/* Write generation slots; see the file header */
#define GENERATION_BLOCK_SLOTS		(64 * 1024)
#define GENERATION_RELATION_SLOTS	1024
#define GENERATION_WRITER			UINT64CONST(1)
#define GENERATION_DONE				(UINT64CONST(1) << 16)
#define GENERATION_WRITERS_MASK		(GENERATION_DONE - 1)

typedef struct WriteGenerations
{
	pg_atomic_uint64 relation[GENERATION_RELATION_SLOTS];
	pg_atomic_uint64 block[GENERATION_BLOCK_SLOTS];
} WriteGenerations;

/* Staging, per backend and transaction */
#define STAGING_ARENA_BLOCKS	512 /* 4MB of staged blocks at most: twice the
									 * read stream's default window */
#define STAGING_MAX_READS		64
#define STAGING_MAX_COMBINE		16
#define STAGING_MAX_FILES		8
#define STAGING_IO_ALIGN		4096

StaticAssertDecl(STAGING_MAX_COMBINE <= ASYNCSCAN_MAX_COMBINE,
				 "a staged read is a read an IO method takes");
StaticAssertDecl(STAGING_MAX_COMBINE <= STAGING_ARENA_BLOCKS,
				 "the arena holds a read of full size");

typedef struct StagedBlockKey
{
	RelFileNode rnode;
	BlockNumber blkno;
} StagedBlockKey;

/* an entry of the hash table of staged blocks */
typedef struct StagedBlock
{
	StagedBlockKey key;
	int			read;			/* staging.reads[] index */
} StagedBlock;

typedef enum StagedReadStatus
{
	STAGED_FREE = 0,
	STAGED_FORMING,				/* growing, not yet given to the IO method */
	STAGED_ISSUED				/* given to the IO method */
} StagedReadStatus;

typedef struct StagedRead
{
	AsyncScanRead read;			/* what the IO method works on */
	StagedReadStatus status;
	RelFileNode rnode;
	int			file;			/* staging.files[] index */
	int			arena_first;	/* first arena block it owns */
	int			arena_nblocks;	/* arena blocks it owns */
	int			pending;		/* blocks in the hash table: staged, neither
								 * used nor dropped yet */
	uint64		seq;			/* order of staging, to reclaim the oldest */
	AsyncScanGeneration generations[STAGING_MAX_COMBINE];
} StagedRead;

/* A segment file opened for staged reads (md.c's descriptors are private) */
typedef struct StagingFile
{
	RelFileNode rnode;
	int			segno;
	bool		open;			/* fd is open (a zeroed entry is free) */
	int			fd;
	int			nreads;			/* unretired staged reads using it */
	uint64		last_used;
} StagingFile;

typedef struct Staging
{
	MemoryContext cxt;			/* arena, hash table, method state */
	bool		active;			/* set up for the current transaction */
	bool		busy;			/* inside the code below; an ERROR leaves it
								 * set */
	bool		reset_pending;	/* drain and reset once no longer busy */
	int			batch_depth;	/* inside asyncscan_staging_prefetch */
	int			io_method;
	AsyncScanIo io;
	int			combine_limit;
	HTAB	   *blocks;			/* StagedBlockKey -> StagedBlock */
	int			nblocks;		/* entries of blocks */
	int			nreads;			/* reads[] not FREE */
	int			forming;		/* reads[] index, or -1 */
	uint64		next_seq;
	StagedRead	reads[STAGING_MAX_READS];
	StagingFile files[STAGING_MAX_FILES];
	char	   *arena;
	bool		arena_used[STAGING_ARENA_BLOCKS];
	/* backend totals, for the scans' own counters */
	uint64		staged_total;
	uint64		used_total;
} Staging;

typedef const AsyncScanSmgr *(*smgr_register_wrapper_type) (const AsyncScanSmgr *wrapper,
															Size size);

static WriteGenerations *generations = NULL;
static bool wrapper_registered = false;
static AsyncScanSmgr wrapped;	/* the table we wrap: md.c's */
static Staging staging = {.forming = -1};
static bool callbacks_registered = false;
static bool exit_callback_registered = false;

static void staging_reset(void);
static bool reserve_read(int *first, int *reserve);
static StagedRead *new_staged_read(const RelFileNode *rnode, int file,
								   BlockNumber blkno, int first, int reserve);

/* ---------------------------------------------------------------------
 * Write generations
 * ---------------------------------------------------------------------
 */

static inline uint32
relation_hash(const RelFileNode *rnode)
{
	return hash_bytes((const unsigned char *) rnode, sizeof(RelFileNode));
}

static inline pg_atomic_uint64 *
relation_slot(uint32 hash)
{
	return &generations->relation[hash % GENERATION_RELATION_SLOTS];
}

/* a relation's blocks take consecutive slots: no collisions among them */
static inline pg_atomic_uint64 *
block_slot(uint32 hash, BlockNumber blkno)
{
	return &generations->block[(hash + blkno) % GENERATION_BLOCK_SLOTS];
}

/* Does the wrapper track this fork (permanent or unlogged main forks)? */
static inline bool
tracked(RelFileNodeBackend rnode, ForkNumber forknum)
{
	return forknum == MAIN_FORKNUM && !RelFileNodeBackendIsTemp(rnode) &&
		generations != NULL;
}

/* Record the generations of blocks first .. first + n - 1 before a read */
static void
record_generations(const RelFileNode *rnode, BlockNumber first, int n,
				   AsyncScanGeneration *out)
{
	uint32		hash = relation_hash(rnode);
	uint64		relation = pg_atomic_read_u64(relation_slot(hash));

	for (int i = 0; i < n; i++)
	{
		out[i].relation = relation;
		out[i].block = pg_atomic_read_u64(block_slot(hash, first + i));
	}
	/* the read is issued after these loads */
	pg_memory_barrier();
}

/* After the read: no write was in progress at its start, none since. */
static bool
generation_unchanged(const RelFileNode *rnode, BlockNumber blkno,
					 const AsyncScanGeneration *before)
{
	uint32		hash;

	if (((before->relation | before->block) & GENERATION_WRITERS_MASK) != 0)
		return false;
	/* the data of the read is in place before these loads */
	pg_memory_barrier();
	hash = relation_hash(rnode);
	return pg_atomic_read_u64(relation_slot(hash)) == before->relation &&
		pg_atomic_read_u64(block_slot(hash, blkno)) == before->block;
}

void
asyncscan_generations_record(Relation rel, BlockNumber first, int nblocks,
							 AsyncScanGeneration *out)
{
	Assert(generations != NULL);
	record_generations(&rel->rd_node, first, nblocks, out);
}

bool
asyncscan_generation_unchanged(Relation rel, BlockNumber blkno,
							   const AsyncScanGeneration *before)
{
	Assert(generations != NULL);
	return generation_unchanged(&rel->rd_node, blkno, before);
}

Size
asyncscan_storage_hooks_shmem_size(void)
{
	return wrapper_registered ? MAXALIGN(sizeof(WriteGenerations)) : 0;
}

/* Called with AddinShmemInitLock held (shmem.c). */
void
asyncscan_storage_hooks_shmem_startup(void)
{
	bool		found;
	WriteGenerations *gens;

	if (!wrapper_registered)
		return;
	gens = ShmemInitStruct("pg_asyncscan write generations",
						   sizeof(WriteGenerations), &found);
	if (!found)
	{
		for (int i = 0; i < GENERATION_RELATION_SLOTS; i++)
			pg_atomic_init_u64(&gens->relation[i], 0);
		for (int i = 0; i < GENERATION_BLOCK_SLOTS; i++)
			pg_atomic_init_u64(&gens->block[i], 0);
	}
	generations = gens;
}

bool
asyncscan_storage_hooks_in_use(void)
{
	return generations != NULL && asyncscan_storage_hooks;
}

/* ---------------------------------------------------------------------
 * Staging: files and arena
 * ---------------------------------------------------------------------
 */

/*
 * A descriptor of the segment file, opened on first use and counted against
 * PostgreSQL's descriptor budget; -1 when none can be had (no free entry,
 * budget used up, no such segment): the caller falls back to md.c.
 */
static int
staging_file(const RelFileNode *rnode, int segno)
{
	int			victim = -1;
	char	   *path;
	int			fd;

	for (int i = 0; i < STAGING_MAX_FILES; i++)
	{
		StagingFile *f = &staging.files[i];

		if (f->open && f->segno == segno && RelFileNodeEquals(f->rnode, *rnode))
		{
			f->last_used = staging.next_seq;
			return i;
		}
		/* a free entry, else the least recently used one no read needs */
		if (!f->open)
		{
			if (victim < 0 || staging.files[victim].open)
				victim = i;
		}
		else if (f->nreads == 0 &&
				 (victim < 0 || (staging.files[victim].open &&
								 f->last_used < staging.files[victim].last_used)))
			victim = i;
	}
	if (victim < 0)
		return -1;
	if (staging.files[victim].open)
	{
		close(staging.files[victim].fd);
		ReleaseExternalFD();
		staging.files[victim].open = false;
	}

	if (!AcquireExternalFD())
		return -1;
	path = relpathperm(*rnode, MAIN_FORKNUM);
	if (segno > 0)
	{
		char	   *segpath = psprintf("%s.%d", path, segno);

		pfree(path);
		path = segpath;
	}
	fd = BasicOpenFile(path, O_RDONLY | PG_BINARY);
	pfree(path);
	if (fd < 0)
	{
		ReleaseExternalFD();
		return -1;
	}
	staging.files[victim].rnode = *rnode;
	staging.files[victim].segno = segno;
	staging.files[victim].fd = fd;
	staging.files[victim].open = true;
	staging.files[victim].nreads = 0;
	staging.files[victim].last_used = staging.next_seq;
	return victim;
}

static void
close_staging_files(void)
{
	for (int i = 0; i < STAGING_MAX_FILES; i++)
	{
		if (staging.files[i].open)
		{
			close(staging.files[i].fd);
			ReleaseExternalFD();
		}
		staging.files[i].open = false;
		staging.files[i].nreads = 0;
	}
}

/* n contiguous free arena blocks: the first one's index, or -1 */
static int
arena_take(int n)
{
	int			run = 0;

	for (int i = 0; i < STAGING_ARENA_BLOCKS; i++)
	{
		run = staging.arena_used[i] ? 0 : run + 1;
		if (run == n)
		{
			int			first = i - n + 1;

			for (int j = first; j <= i; j++)
				staging.arena_used[j] = true;
			return first;
		}
	}
	return -1;
}

static void
arena_release(int first, int n)
{
	for (int i = first; i < first + n; i++)
	{
		Assert(staging.arena_used[i]);
		staging.arena_used[i] = false;
	}
}

/* ---------------------------------------------------------------------
 * Staging: reads
 * ---------------------------------------------------------------------
 */

static void
staging_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			staging_reset();
			break;
		default:
			break;
	}
}

/* An ERROR escaped from inside the wrapper into a subtransaction abort. */
static void
staging_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB &&
		(staging.busy || staging.batch_depth > 0))
		staging_reset();
}

static void
staging_exit_callback(int code, Datum arg)
{
	staging_reset();
}

/*
 * Set up staging for this transaction: the session's IO method, the hash
 * table, the arena.  May ereport(ERROR); what it leaves behind is freed by
 * the reset at transaction end.
 */
static void
staging_begin(void)
{
	MemoryContext oldcxt;
	const char *fallback_reason;

	if (staging.active)
		return;

	if (!callbacks_registered)
	{
		RegisterXactCallback(staging_xact_callback, NULL);
		RegisterSubXactCallback(staging_subxact_callback, NULL);
		callbacks_registered = true;
	}
	if (staging.cxt == NULL)
		staging.cxt = AllocSetContextCreate(TopMemoryContext,
											"pg_asyncscan staging",
											ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(staging.cxt);

	staging.io_method = asyncscan_resolve_io_method(asyncscan_io_method_setting(),
													&fallback_reason);
	memset(&staging.io, 0, sizeof(AsyncScanIo));
	staging.io.ops = asyncscan_io_method_ops(staging.io_method);
	staging.combine_limit = Min(asyncscan_io_combine_limit(), STAGING_MAX_COMBINE);
	if (staging.io.ops->max_read_blocks > 0)
		staging.combine_limit = Min(staging.combine_limit,
									staging.io.ops->max_read_blocks);
	staging.combine_limit = Max(staging.combine_limit, 1);

	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(StagedBlockKey);
		ctl.entrysize = sizeof(StagedBlock);
		ctl.hcxt = staging.cxt;
		staging.blocks = hash_create("pg_asyncscan staged blocks",
									 STAGING_ARENA_BLOCKS, &ctl,
									 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	staging.arena = (char *)
		TYPEALIGN(STAGING_IO_ALIGN,
				  palloc((Size) STAGING_ARENA_BLOCKS * BLCKSZ + STAGING_IO_ALIGN));

	/* staged reads must be complete to be reclaimed (reclaim_oldest) */
	staging.io.complete_at_submit = true;
	staging.io.ops->init_owner(&staging.io);
	staging.active = true;
	MemoryContextSwitchTo(oldcxt);

	/*
	 * After init_owner: before_shmem_exit callbacks run last-registered
	 * first, so this drain runs before the worker method's own exit cleanup
	 * of the slots it knows.
	 */
	if (!exit_callback_registered)
	{
		before_shmem_exit(staging_exit_callback, (Datum) 0);
		exit_callback_registered = true;
	}
}

/*
 * Drain every staged read (the IO method waits for or abandons them), then
 * free the staging memory and close the files.  Safe at any point, on
 * error paths too; never throws in the methods' drain.
 */
static void
staging_reset(void)
{
	if (staging.active)
	{
		staging.io.ops->drain(&staging.io);
		staging.io.ops->end_owner(&staging.io);
		if (staging.nblocks > 0)
			asyncscan_stats_count(staging.io_method, ASYNCSCAN_STAT_STAGED_DROPPED,
								  staging.nblocks);
	}
	close_staging_files();
	if (staging.cxt != NULL)
		MemoryContextReset(staging.cxt);
	for (int i = 0; i < STAGING_MAX_READS; i++)
		staging.reads[i].status = STAGED_FREE;
	memset(staging.arena_used, 0, sizeof(staging.arena_used));
	staging.active = false;
	staging.busy = false;
	staging.reset_pending = false;
	staging.batch_depth = 0;
	staging.blocks = NULL;
	staging.arena = NULL;
	staging.nblocks = 0;
	staging.nreads = 0;
	staging.forming = -1;
}

/* Leave a busy section; a reset asked for meanwhile happens now. */
static void
staging_unbusy(void)
{
	staging.busy = false;
	if (staging.reset_pending && staging.batch_depth == 0)
		staging_reset();
}

/* May this process stage reads now? */
static bool
staging_allowed(void)
{
	return asyncscan_storage_hooks_in_use() && !staging.busy &&
		IsTransactionState() &&
		(MyBackendType == B_BACKEND || IsParallelWorker());
}

static void
forget_block(StagedRead *sr, BlockNumber blkno)
{
	StagedBlockKey key;

	key.rnode = sr->rnode;
	key.blkno = blkno;
	if (hash_search(staging.blocks, &key, HASH_REMOVE, NULL) != NULL)
	{
		Assert(sr->pending > 0);
		sr->pending--;
		staging.nblocks--;
	}
}

/* A read whose blocks are all used or dropped, and which is complete. */
static void
retire_read(StagedRead *sr)
{
	Assert(sr->pending == 0);
	Assert(sr->status == STAGED_ISSUED);
	Assert(sr->read.state == ASYNCSCAN_READ_DONE ||
		   sr->read.state == ASYNCSCAN_READ_FAILED);

	if (staging.io.ops->release_read != NULL)
		staging.io.ops->release_read(&staging.io, &sr->read);
	arena_release(sr->arena_first, sr->arena_nblocks);
	staging.files[sr->file].nreads--;
	sr->status = STAGED_FREE;
	staging.nreads--;
}

/* Drop the staged blocks of a complete read that are still pending. */
static void
drop_read(StagedRead *sr)
{
	if (sr->pending > 0)
		asyncscan_stats_count(staging.io_method, ASYNCSCAN_STAT_STAGED_DROPPED,
							  sr->pending);
	for (int i = 0; i < sr->read.nblocks; i++)
		forget_block(sr, sr->read.first_block + i);
	retire_read(sr);
}

/*
 * Make room for a prefetch that is not part of the stream's batches (Bitmap
 * Heap Scan, pg_prewarm): drop the blocks of the oldest staged read that is
 * complete, normally one whose blocks were read into shared buffers by
 * someone else meanwhile, or were never asked for.  False if none is
 * complete.  (Within a batch the oldest reads are the ones the stream is
 * about to consume: it never reclaims, see asyncscan_staging_prefetch.)
 */
static bool
reclaim_oldest(void)
{
	StagedRead *oldest = NULL;

	for (int i = 0; i < STAGING_MAX_READS; i++)
	{
		StagedRead *sr = &staging.reads[i];

		if (sr->status == STAGED_ISSUED &&
			(sr->read.state == ASYNCSCAN_READ_DONE ||
			 sr->read.state == ASYNCSCAN_READ_FAILED) &&
			(oldest == NULL || sr->seq < oldest->seq))
			oldest = sr;
	}
	if (oldest == NULL)
		return false;
	drop_read(oldest);
	return true;
}

/* Hand the forming read to the IO method. */
static void
issue_forming(void)
{
	StagedRead *sr = &staging.reads[staging.forming];

	Assert(sr->status == STAGED_FORMING);
	staging.forming = -1;

	/* give back the arena blocks it did not grow into */
	if (sr->arena_nblocks > sr->read.nblocks)
	{
		arena_release(sr->arena_first + sr->read.nblocks,
					  sr->arena_nblocks - sr->read.nblocks);
		sr->arena_nblocks = sr->read.nblocks;
	}

	/* the worker method opens the file itself, by these */
	staging.io.spc_oid = sr->rnode.spcNode;
	staging.io.db_oid = sr->rnode.dbNode;
	staging.io.rel_number = sr->rnode.relNode;
	staging.io.direct_io = false;

	sr->status = STAGED_ISSUED;
	staging.io.ops->start_read(&staging.io, &sr->read);
}

static void
submit_staged(void)
{
	if (staging.io.nstaged > 0)
		staging.io.ops->submit(&staging.io);
}

/* Add blkno to the forming read sr (its next block). */
static void
add_block(StagedRead *sr, BlockNumber blkno)
{
	StagedBlockKey key;
	StagedBlock *entry;
	bool		found;
	int			i = sr->read.nblocks;

	Assert(sr->status == STAGED_FORMING);
	Assert(sr->read.first_block + i == blkno && i < sr->arena_nblocks);

	key.rnode = sr->rnode;
	key.blkno = blkno;
	entry = hash_search(staging.blocks, &key, HASH_ENTER, &found);
	Assert(!found);
	entry->read = sr - staging.reads;

	record_generations(&sr->rnode, blkno, 1, &sr->generations[i]);
	sr->read.nblocks++;
	sr->read.length += BLCKSZ;
	sr->pending++;
	staging.nblocks++;
	staging.staged_total++;
	asyncscan_stats_count(staging.io_method, ASYNCSCAN_STAT_STAGED_BLOCKS, 1);
}

/*
 * Start a staged read of one block (the prefetch wrapper).  Returns false
 * when it cannot (no read slot, arena space or descriptor): the caller
 * then prefetches through md.c.
 */
static bool
staging_start(SMgrRelation reln, BlockNumber blkno)
{
	const RelFileNode *rnode = &reln->smgr_rnode.node;
	StagedBlockKey key;
	int			file;
	int			reserve;
	int			first;

	staging_begin();

	key.rnode = *rnode;
	key.blkno = blkno;
	if (hash_search(staging.blocks, &key, HASH_FIND, NULL) != NULL)
		return true;			/* already staged */

	/* the next block of the forming read: grow it */
	if (staging.forming >= 0)
	{
		StagedRead *forming = &staging.reads[staging.forming];

		if (RelFileNodeEquals(forming->rnode, *rnode) &&
			forming->read.first_block + forming->read.nblocks == blkno &&
			blkno % RELSEG_SIZE != 0 &&
			forming->read.nblocks < forming->arena_nblocks)
		{
			add_block(forming, blkno);
			return true;
		}
		issue_forming();
	}

	/* a new read: descriptor, slot and arena blocks, reclaiming if full */
	file = staging_file(rnode, blkno / RELSEG_SIZE);
	if (file < 0)
		return false;
	if (!reserve_read(&first, &reserve))
		return false;
	add_block(new_staged_read(rnode, file, blkno, first, reserve), blkno);

	/* outside a batch, the read starts now */
	if (staging.batch_depth == 0)
	{
		issue_forming();
		submit_staged();
	}
	return true;
}

/*
 * Room for a new staged read: a free read slot and, from the arena, as
 * many blocks as one read combines inside a batch of the stream's
 * prefetches (else, or if that much is not free, one).  Outside a batch
 * the oldest read is reclaimed to make room.  False if there is none.
 */
static bool
reserve_read(int *first, int *reserve)
{
	*reserve = staging.batch_depth > 0 ? staging.combine_limit : 1;
	for (;;)
	{
		if (staging.nreads < STAGING_MAX_READS)
		{
			*first = arena_take(*reserve);
			if (*first < 0 && *reserve > 1)
			{
				*reserve = 1;
				*first = arena_take(*reserve);
			}
			if (*first >= 0)
				return true;
		}
		if (staging.batch_depth > 0 || !reclaim_oldest())
			return false;
	}
}

/*
 * A new forming read of blkno, into the arena blocks reserve_read gave
 * (first, reserve), through staging file slot file.
 */
static StagedRead *
new_staged_read(const RelFileNode *rnode, int file, BlockNumber blkno,
				int first, int reserve)
{
	StagedRead *sr = NULL;

	for (int i = 0; i < STAGING_MAX_READS; i++)
	{
		if (staging.reads[i].status == STAGED_FREE)
		{
			sr = &staging.reads[i];
			break;
		}
	}
	Assert(sr != NULL);

	memset(&sr->read, 0, sizeof(AsyncScanRead));
	sr->read.fd = staging.files[file].fd;
	sr->read.direct_fd = -1;
	sr->read.residency = NULL;
	sr->read.offset = (off_t) (blkno % RELSEG_SIZE) * BLCKSZ;
	sr->read.length = 0;
	sr->read.target = staging.arena + (Size) first * BLCKSZ;
	sr->read.first_block = blkno;
	sr->read.nblocks = 0;
	sr->read.io = &staging.io;
	sr->status = STAGED_FORMING;
	sr->rnode = *rnode;
	sr->file = file;
	sr->arena_first = first;
	sr->arena_nblocks = reserve;
	sr->pending = 0;
	sr->seq = staging.next_seq++;
	staging.files[file].nreads++;
	staging.nreads++;
	staging.forming = sr - staging.reads;
	return sr;
}

/*
 * The read wrapper: if blkno is staged, wait for its read, and copy it into
 * buffer if its write generations are unchanged.  Returns false when the
 * caller must read the block through md.c (not staged, read failed, or
 * written meanwhile).
 */
static bool
staging_consume(const RelFileNode *rnode, BlockNumber blkno, char *buffer)
{
	StagedBlockKey key;
	StagedBlock *entry;
	StagedRead *sr;
	int			i;
	bool		ok;

	key.rnode = *rnode;
	key.blkno = blkno;
	entry = hash_search(staging.blocks, &key, HASH_FIND, NULL);
	if (entry == NULL)
		return false;
	sr = &staging.reads[entry->read];

	/* never wait while reads are unsubmitted */
	if (sr->status == STAGED_FORMING)
		issue_forming();
	submit_staged();
	if (sr->read.state != ASYNCSCAN_READ_DONE &&
		sr->read.state != ASYNCSCAN_READ_FAILED)
		staging.io.ops->wait_read(&staging.io, &sr->read);

	i = blkno - sr->read.first_block;
	ok = sr->read.state == ASYNCSCAN_READ_DONE &&
		generation_unchanged(rnode, blkno, &sr->generations[i]);
	if (ok)
	{
		memcpy(buffer, sr->read.target + (Size) i * BLCKSZ, BLCKSZ);
		staging.used_total++;
		asyncscan_stats_count(staging.io_method, ASYNCSCAN_STAT_STAGED_USED, 1);
	}
	else
		asyncscan_stats_count(staging.io_method, ASYNCSCAN_STAT_STAGED_DROPPED, 1);

	forget_block(sr, blkno);
	if (sr->pending == 0)
		retire_read(sr);
	return ok;
}

/*
 * A relation's smgr handle is being closed (invalidation, unlink, an smgr
 * release barrier): our descriptors of it must go too, and with them
 * everything staged, since a read may still use them.
 */
static void
staging_forget_relation(const RelFileNode *rnode)
{
	bool		uses = false;

	for (int i = 0; i < STAGING_MAX_FILES && !uses; i++)
		uses = staging.files[i].open &&
			RelFileNodeEquals(staging.files[i].rnode, *rnode);
	if (!uses)
		return;
	if (staging.busy || staging.batch_depth > 0)
		staging.reset_pending = true;
	else
		staging_reset();
}

/*
 * The stream's prefetch of a run of buffered blocks: PrefetchBuffer for
 * each (which skips blocks in shared buffers), with submission deferred to
 * the end so that adjacent blocks combine into reads submitted as one
 * batch.  The stream has handed out every block of rel below passed: staged
 * reads wholly below it will not be asked for any more (their blocks were
 * found in shared buffers after all), and make room first.
 */
void
asyncscan_staging_prefetch(Relation rel, BlockNumber first, int nblocks,
						   BlockNumber passed, AsyncScanStats *stats)
{
	uint64		staged_before = staging.staged_total;

	if (staging.active && !staging.busy && staging.batch_depth == 0)
	{
		for (int i = 0; i < STAGING_MAX_READS; i++)
		{
			StagedRead *sr = &staging.reads[i];

			if (sr->status == STAGED_ISSUED &&
				sr->read.first_block + sr->read.nblocks <= passed &&
				(sr->read.state == ASYNCSCAN_READ_DONE ||
				 sr->read.state == ASYNCSCAN_READ_FAILED) &&
				RelFileNodeEquals(sr->rnode, rel->rd_node))
				drop_read(sr);
		}
	}

	staging.batch_depth++;
	for (int i = 0; i < nblocks; i++)
		(void) PrefetchBuffer(rel, MAIN_FORKNUM, first + i);
	staging.batch_depth--;

	/*
	 * The stream tops its window up a block or two at a time, at its far
	 * end: let the last read grow to full size over several batches, unless
	 * the consumer is getting close to it.  (A consumer that reaches a
	 * block of it anyway issues it and waits: staging_consume.)
	 */
	if (staging.batch_depth == 0 && staging.active && !staging.busy)
	{
		staging.busy = true;
		if (staging.forming >= 0)
		{
			StagedRead *sr = &staging.reads[staging.forming];

			if (sr->read.nblocks >= sr->arena_nblocks ||
				sr->read.first_block < passed + 2 * staging.combine_limit)
				issue_forming();
		}
		submit_staged();
		staging_unbusy();
	}
	stats->staged_blocks += staging.staged_total - staged_before;
}

/*
 * A stream of rel has ended (end of scan, LIMIT, rescan): what it staged and
 * did not use is not going to be asked for, so give the room back now
 * rather than at the end of the transaction -- a transaction running many
 * such scans would otherwise fill staging and fall back to posix_fadvise.
 * Reads still in flight stay until they complete.
 */
void
asyncscan_staging_release(Relation rel)
{
	if (!staging.active || staging.busy || staging.batch_depth > 0)
		return;
	for (int i = 0; i < STAGING_MAX_READS; i++)
	{
		StagedRead *sr = &staging.reads[i];

		if (sr->status == STAGED_FREE || !RelFileNodeEquals(sr->rnode, rel->rd_node))
			continue;
		if (sr->status == STAGED_FORMING)
		{
			/* never given to the IO method: just forget it */
			Assert(staging.forming == i);
			if (sr->pending > 0)
				asyncscan_stats_count(staging.io_method,
									  ASYNCSCAN_STAT_STAGED_DROPPED, sr->pending);
			for (int b = 0; b < sr->read.nblocks; b++)
				forget_block(sr, sr->read.first_block + b);
			arena_release(sr->arena_first, sr->arena_nblocks);
			staging.files[sr->file].nreads--;
			sr->status = STAGED_FREE;
			staging.nreads--;
			staging.forming = -1;
		}
		else if (sr->read.state == ASYNCSCAN_READ_DONE ||
				 sr->read.state == ASYNCSCAN_READ_FAILED)
			drop_read(sr);
	}
}

/* Buffered reads served from staging by this backend so far. */
uint64
asyncscan_staging_used(void)
{
	return staging.used_total;
}

/* ---------------------------------------------------------------------
 * The storage manager wrapper
 * ---------------------------------------------------------------------
 */

static void
hooked_open(SMgrRelation reln)
{
	wrapped.smgr_open(reln);
}

static void
hooked_close(SMgrRelation reln, ForkNumber forknum)
{
	if (forknum == MAIN_FORKNUM)
		staging_forget_relation(&reln->smgr_rnode.node);
	wrapped.smgr_close(reln, forknum);
}

static void
hooked_create(SMgrRelation reln, ForkNumber forknum, bool isRedo)
{
	wrapped.smgr_create(reln, forknum, isRedo);
}

static bool
hooked_exists(SMgrRelation reln, ForkNumber forknum)
{
	return wrapped.smgr_exists(reln, forknum);
}

static void
hooked_unlink(RelFileNodeBackend rnode, ForkNumber forknum, bool isRedo)
{
	pg_atomic_uint64 *slot;

	if (!tracked(rnode, forknum))
	{
		wrapped.smgr_unlink(rnode, forknum, isRedo);
		return;
	}
	slot = relation_slot(relation_hash(&rnode.node));
	pg_atomic_fetch_add_u64(slot, GENERATION_WRITER);
	PG_TRY();
	{
		wrapped.smgr_unlink(rnode, forknum, isRedo);
	}
	PG_FINALLY();
	{
		pg_atomic_fetch_add_u64(slot, GENERATION_DONE - GENERATION_WRITER);
	}
	PG_END_TRY();
}

static void
hooked_extend(SMgrRelation reln, ForkNumber forknum, BlockNumber blocknum,
			  char *buffer, bool skipFsync)
{
	pg_atomic_uint64 *slot;

	if (!tracked(reln->smgr_rnode, forknum))
	{
		wrapped.smgr_extend(reln, forknum, blocknum, buffer, skipFsync);
		return;
	}
	slot = block_slot(relation_hash(&reln->smgr_rnode.node), blocknum);
	pg_atomic_fetch_add_u64(slot, GENERATION_WRITER);
	PG_TRY();
	{
		wrapped.smgr_extend(reln, forknum, blocknum, buffer, skipFsync);
	}
	PG_FINALLY();
	{
		pg_atomic_fetch_add_u64(slot, GENERATION_DONE - GENERATION_WRITER);
	}
	PG_END_TRY();
}

static bool
hooked_prefetch(SMgrRelation reln, ForkNumber forknum, BlockNumber blocknum)
{
	if (tracked(reln->smgr_rnode, forknum) && staging_allowed())
	{
		bool		staged;

		staging.busy = true;
		staged = staging_start(reln, blocknum);
		staging_unbusy();
		if (staged)
			return true;
	}
	return wrapped.smgr_prefetch(reln, forknum, blocknum);
}

static void
hooked_read(SMgrRelation reln, ForkNumber forknum, BlockNumber blocknum,
			char *buffer)
{
	if (staging.nblocks > 0 && !staging.busy &&
		tracked(reln->smgr_rnode, forknum))
	{
		bool		used;

		staging.busy = true;
		used = staging_consume(&reln->smgr_rnode.node, blocknum, buffer);
		staging_unbusy();
		if (used)
			return;
	}
	wrapped.smgr_read(reln, forknum, blocknum, buffer);
}

static void
hooked_write(SMgrRelation reln, ForkNumber forknum, BlockNumber blocknum,
			 char *buffer, bool skipFsync)
{
	pg_atomic_uint64 *slot;

	if (!tracked(reln->smgr_rnode, forknum))
	{
		wrapped.smgr_write(reln, forknum, blocknum, buffer, skipFsync);
		return;
	}
	slot = block_slot(relation_hash(&reln->smgr_rnode.node), blocknum);
	pg_atomic_fetch_add_u64(slot, GENERATION_WRITER);
	PG_TRY();
	{
		wrapped.smgr_write(reln, forknum, blocknum, buffer, skipFsync);
	}
	PG_FINALLY();
	{
		pg_atomic_fetch_add_u64(slot, GENERATION_DONE - GENERATION_WRITER);
	}
	PG_END_TRY();
}

static void
hooked_writeback(SMgrRelation reln, ForkNumber forknum, BlockNumber blocknum,
				 BlockNumber nblocks)
{
	wrapped.smgr_writeback(reln, forknum, blocknum, nblocks);
}

static BlockNumber
hooked_nblocks(SMgrRelation reln, ForkNumber forknum)
{
	return wrapped.smgr_nblocks(reln, forknum);
}

static void
hooked_truncate(SMgrRelation reln, ForkNumber forknum,
				ASYNCSCAN_SMGR_TRUNCATE_PARAMS)
{
	pg_atomic_uint64 *slot;

	if (!tracked(reln->smgr_rnode, forknum))
	{
		wrapped.smgr_truncate(reln, forknum, ASYNCSCAN_SMGR_TRUNCATE_ARGS);
		return;
	}
	slot = relation_slot(relation_hash(&reln->smgr_rnode.node));
	pg_atomic_fetch_add_u64(slot, GENERATION_WRITER);
	PG_TRY();
	{
		wrapped.smgr_truncate(reln, forknum, ASYNCSCAN_SMGR_TRUNCATE_ARGS);
	}
	PG_FINALLY();
	{
		pg_atomic_fetch_add_u64(slot, GENERATION_DONE - GENERATION_WRITER);
	}
	PG_END_TRY();
}

static void
hooked_immedsync(SMgrRelation reln, ForkNumber forknum)
{
	wrapped.smgr_immedsync(reln, forknum);
}

/* smgr_init and smgr_shutdown: md.c's own are called by smgr.c anyway */
static const AsyncScanSmgr hooked_smgr = {
	.smgr_init = NULL,
	.smgr_shutdown = NULL,
	.smgr_open = hooked_open,
	.smgr_close = hooked_close,
	.smgr_create = hooked_create,
	.smgr_exists = hooked_exists,
	.smgr_unlink = hooked_unlink,
	.smgr_extend = hooked_extend,
	.smgr_prefetch = hooked_prefetch,
	.smgr_read = hooked_read,
	.smgr_write = hooked_write,
	.smgr_writeback = hooked_writeback,
	.smgr_nblocks = hooked_nblocks,
	.smgr_truncate = hooked_truncate,
	.smgr_immedsync = hooked_immedsync,
};

/*
 * Register the wrapper when preloaded on a server that has the patch.
 */
static void
register_wrapper(void)
{
	smgr_register_wrapper_type register_fn;
	const AsyncScanSmgr *previous;

	if (!process_shared_preload_libraries_in_progress)
		return;
	/* a stock server has no such symbol: nothing to do */
	register_fn = (smgr_register_wrapper_type)
		dlsym(RTLD_DEFAULT, "smgr_register_wrapper");
	if (register_fn == NULL)
		return;

	previous = register_fn(&hooked_smgr, sizeof(AsyncScanSmgr));
	wrapped = *previous;
	wrapper_registered = true;
	ereport(LOG,
			(errmsg("pg_asyncscan: storage manager hooks installed")));
}

#else							/* !ASYNCSCAN_HAVE_SMGR_WRAPPER */

/*
 * No layout of the patched storage manager table for this major version:
 * the hooks are never in use and none of the functions below is called.
 */
static void
register_wrapper(void)
{
}

Size
asyncscan_storage_hooks_shmem_size(void)
{
	return 0;
}

void
asyncscan_storage_hooks_shmem_startup(void)
{
}

bool
asyncscan_storage_hooks_in_use(void)
{
	return false;
}

void
asyncscan_generations_record(Relation rel, BlockNumber first, int nblocks,
							 AsyncScanGeneration *out)
{
	elog(ERROR, "storage hooks are not available");
}

bool
asyncscan_generation_unchanged(Relation rel, BlockNumber blkno,
							   const AsyncScanGeneration *before)
{
	elog(ERROR, "storage hooks are not available");
	return false;
}

void
asyncscan_staging_prefetch(Relation rel, BlockNumber first, int nblocks,
						   BlockNumber passed, AsyncScanStats *stats)
{
	elog(ERROR, "storage hooks are not available");
}

void
asyncscan_staging_release(Relation rel)
{
}

uint64
asyncscan_staging_used(void)
{
	return 0;
}

#endif							/* ASYNCSCAN_HAVE_SMGR_WRAPPER */

/*
 * Define pg_asyncscan.storage_hooks and, when preloaded on a patched
 * server, wrap the storage manager.
 */
void
asyncscan_storage_hooks_init(void)
{
	DefineCustomBoolVariable("pg_asyncscan.storage_hooks",
							 "Use the storage manager hooks of a patched server.",
							 "With pg_asyncscan in shared_preload_libraries on a "
							 "server built with its storage manager patch, prefetches "
							 "become asynchronous reads through pg_asyncscan.io_method "
							 "and direct reads are checked against concurrent writes.  "
							 "Without the patch this has no effect.",
							 &asyncscan_storage_hooks,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	register_wrapper();
}

/* Plain EXPLAIN VERBOSE: say that the hooks are in use. */
void
asyncscan_storage_hooks_explain_plain(ExplainState *es)
{
	if (es->verbose && asyncscan_storage_hooks_in_use())
		ExplainPropertyText("Storage Hooks", "on", es);
}

/* EXPLAIN ANALYZE: what went through the hooks, when they were in use. */
void
asyncscan_storage_hooks_explain_counters(const AsyncScanStats *stats,
										 ExplainState *es)
{
	if (!stats->storage_hooks)
		return;
	if (es->format == EXPLAIN_FORMAT_TEXT)
	{
		appendStringInfoSpaces(es->str, es->indent * 2);
		appendStringInfo(es->str,
						 "Storage Hooks: staged=" UINT64_FORMAT " used=" UINT64_FORMAT "\n",
						 stats->staged_blocks, stats->staged_used);
		return;
	}
	ExplainPropertyText("Storage Hooks", "on", es);
	ExplainPropertyUInteger("Staged Blocks", NULL, stats->staged_blocks, es);
	ExplainPropertyUInteger("Staged Blocks Used", NULL, stats->staged_used, es);
	ExplainPropertyUInteger("Direct Rejected Written", NULL,
							stats->rejected_written, es);
}
