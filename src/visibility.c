/*-------------------------------------------------------------------------
 *
 * visibility.c
 *	  Which tuples of a heap page an AsyncSeqScan's snapshot sees: the part
 *	  of heapgetpage() that a Seq Scan leaves to the table AM.
 *
 * A page reaches the executor in one of three states, and each has its own
 * rule:
 *
 *	- a private copy of a page the visibility map called all-visible, and
 *	  that carries PD_ALL_VISIBLE itself: every normal line pointer is a
 *	  visible tuple (heapgetpage()'s all_visible case);
 *	- a private copy of any other page: each tuple is judged from its header,
 *	  the commit log and the snapshot alone, exactly as
 *	  HeapTupleSatisfiesMVCC() judges it, except that no hint bit is set (the
 *	  copy is not in shared buffers, and nothing may be written to it).  The
 *	  rare tuples that rule needs more for -- inserted or deleted by this very
 *	  transaction (command ids), a MultiXact xmax, the HEAP_MOVED bits of
 *	  pre-9.0 VACUUM FULL -- make the whole page "undecided": the caller reads
 *	  it through shared buffers instead;
 *	- a pinned shared buffer: what heapgetpage() does in page-at-a-time
 *	  mode -- opportunistic pruning, a share lock, HeapTupleSatisfiesVisibility
 *	  (which sets hint bits) and the serializable conflict check per tuple.
 *
 * Why a private copy of a page that is not all-visible may be judged this
 * way is in README.md, "Correctness: what the direct path trusts".
 *
 * asyncscan_visible_tuples() is the one entry point: the executor node
 * (exec.c) calls it for every page the read stream hands out, and it asks
 * the stream for the shared buffer of an undecided page.
 *
 * IDENTIFICATION
 *	  src/visibility.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/transam.h"
#include "access/xact.h"
#include "storage/bufmgr.h"
#include "storage/predicate.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "compat.h"
#include "stream.h"
#include "visibility.h"

/* What the header of one tuple says to a snapshot */
typedef enum TupleVerdict
{
	TUPLE_VISIBLE,
	TUPLE_INVISIBLE,
	TUPLE_UNDECIDED				/* needs what only a shared buffer gives */
} TupleVerdict;

/*
 * HeapTupleSatisfiesMVCC() without SetHintBits(): the same tests in the
 * same order, where every hint bit it would set only caches an answer that
 * the commit log gives again.  The branches that need the current
 * transaction's command ids, a MultiXact's members or pre-9.0 VACUUM FULL
 * bits answer TUPLE_UNDECIDED instead.
 */
static TupleVerdict
tuple_verdict(HeapTupleHeader tuple, Snapshot snapshot)
{
	if (!HeapTupleHeaderXminCommitted(tuple))
	{
		TransactionId xmin = HeapTupleHeaderGetRawXmin(tuple);

		if (HeapTupleHeaderXminInvalid(tuple))
			return TUPLE_INVISIBLE;
		if (tuple->t_infomask & (HEAP_MOVED_OFF | HEAP_MOVED_IN))
			return TUPLE_UNDECIDED;
		if (TransactionIdIsCurrentTransactionId(xmin))
			return TUPLE_UNDECIDED;
		if (XidInMVCCSnapshot(xmin, snapshot))
			return TUPLE_INVISIBLE;
		if (!TransactionIdDidCommit(xmin))
			return TUPLE_INVISIBLE; /* aborted or crashed */
	}
	else if (!HeapTupleHeaderXminFrozen(tuple) &&
			 XidInMVCCSnapshot(HeapTupleHeaderGetRawXmin(tuple), snapshot))
		return TUPLE_INVISIBLE; /* committed, but not for our snapshot */

	/* by here, the inserting transaction has committed */
	if (tuple->t_infomask & HEAP_XMAX_INVALID)
		return TUPLE_VISIBLE;
	if (HEAP_XMAX_IS_LOCKED_ONLY(tuple->t_infomask))
		return TUPLE_VISIBLE;
	if (tuple->t_infomask & HEAP_XMAX_IS_MULTI)
		return TUPLE_UNDECIDED;

	if (!(tuple->t_infomask & HEAP_XMAX_COMMITTED))
	{
		TransactionId xmax = HeapTupleHeaderGetRawXmax(tuple);

		if (TransactionIdIsCurrentTransactionId(xmax))
			return TUPLE_UNDECIDED;
		if (XidInMVCCSnapshot(xmax, snapshot))
			return TUPLE_VISIBLE;
		if (!TransactionIdDidCommit(xmax))
			return TUPLE_VISIBLE;	/* aborted or crashed */
	}
	else if (XidInMVCCSnapshot(HeapTupleHeaderGetRawXmax(tuple), snapshot))
		return TUPLE_VISIBLE;	/* committed, but not for our snapshot */

	/* deleted by a transaction our snapshot sees as committed */
	return TUPLE_INVISIBLE;
}

/*
 * A private copy of an all-visible page: every normal line pointer.
 */
static int
visible_all(Page page, OffsetNumber *offsets)
{
	OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
	int			ntup = 0;

	Assert(maxoff <= MaxHeapTuplesPerPage);
	for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
	{
		if (ItemIdIsNormal(PageGetItemId(page, off)))
			offsets[ntup++] = off;
	}
	return ntup;
}

/*
 * A private copy of a page that is not all-visible: the tuples the
 * snapshot sees, judged from their headers; -1 if one of them cannot be
 * judged without the shared buffer.
 */
static int
visible_checked(Page page, Snapshot snapshot, OffsetNumber *offsets)
{
	OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
	int			ntup = 0;

	Assert(IsMVCCSnapshot(snapshot) && !snapshot->takenDuringRecovery);
	Assert(maxoff <= MaxHeapTuplesPerPage);
	for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
	{
		ItemId		lp = PageGetItemId(page, off);

		if (!ItemIdIsNormal(lp))
			continue;
		switch (tuple_verdict((HeapTupleHeader) PageGetItem(page, lp), snapshot))
		{
			case TUPLE_VISIBLE:
				offsets[ntup++] = off;
				break;
			case TUPLE_INVISIBLE:
				break;
			case TUPLE_UNDECIDED:
				return -1;
		}
	}
	return ntup;
}

/*
 * A pinned shared buffer: as heapgetpage() in page-at-a-time mode.
 */
static int
visible_buffered(Relation rel, Buffer buffer, BlockNumber blkno,
						   Snapshot snapshot, OffsetNumber *offsets)
{
	Page		page = BufferGetPage(buffer);
	OffsetNumber maxoff;
	bool		all_visible;
	int			ntup = 0;

	heap_page_prune_opt(rel, buffer);
	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	asyncscan_test_for_old_snapshot(snapshot, rel, page);

	/*
	 * A heap page never has more line pointers than this; one that does is
	 * corrupt, and walking it would overrun offsets[].
	 */
	maxoff = PageGetMaxOffsetNumber(page);
	if (maxoff > MaxHeapTuplesPerPage)
	{
		LockBuffer(buffer, BUFFER_LOCK_UNLOCK);
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid page in block %u of relation \"%s\": %u line pointers, more than a heap page holds (%u)",
						blkno, RelationGetRelationName(rel),
						(unsigned) maxoff, (unsigned) MaxHeapTuplesPerPage)));
	}

	all_visible = PageIsAllVisible(page) && !snapshot->takenDuringRecovery;
	for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
	{
		ItemId		lp = PageGetItemId(page, off);
		HeapTupleData loctup;
		bool		valid;

		if (!ItemIdIsNormal(lp))
			continue;

		loctup.t_tableOid = RelationGetRelid(rel);
		loctup.t_data = (HeapTupleHeader) PageGetItem(page, lp);
		loctup.t_len = ItemIdGetLength(lp);
		ItemPointerSet(&loctup.t_self, blkno, off);

		if (all_visible)
			valid = true;
		else
			valid = HeapTupleSatisfiesVisibility(&loctup, snapshot, buffer);

		HeapCheckForSerializableConflictOut(valid, rel, &loctup, buffer,
											snapshot);
		if (valid)
			offsets[ntup++] = off;
	}

	LockBuffer(buffer, BUFFER_LOCK_UNLOCK);
	return ntup;
}

/*
 * Fill offsets[] (MaxHeapTuplesPerPage entries) with the tuples of a page
 * the stream handed out that the snapshot sees, and return how many there
 * are.  A private copy whose tuples cannot all be judged from their
 * headers is read again through shared buffers (the stream swaps page to
 * the pinned buffer).
 */
int
asyncscan_visible_tuples(Relation rel, Snapshot snapshot,
						 AsyncScanStream *stream, AsyncScanPage *page,
						 OffsetNumber *offsets)
{
	if (!BufferIsValid(page->buffer))
	{
		int			ntuples;

		if (page->all_visible)
			return visible_all(page->page, offsets);
		ntuples = visible_checked(page->page, snapshot, offsets);
		if (ntuples >= 0)
			return ntuples;
		asyncscan_stream_reread_buffered(stream, page);
	}
	return visible_buffered(rel, page->buffer, page->blkno, snapshot, offsets);
}
