/*-------------------------------------------------------------------------
 *
 * visibility.h
 *	  Which tuples of a heap page a snapshot sees (visibility.c).
 *
 * IDENTIFICATION
 *	  src/visibility.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ASYNCSCAN_VISIBILITY_H
#define ASYNCSCAN_VISIBILITY_H

#include "storage/block.h"
#include "storage/buf.h"
#include "storage/bufpage.h"
#include "utils/relcache.h"
#include "utils/snapshot.h"

/*
 * Each fills offsets[] (MaxHeapTuplesPerPage entries) with the offsets of
 * the visible tuples and returns how many there are.
 */
extern int	asyncscan_visible_all(Page page, OffsetNumber *offsets);
extern int	asyncscan_visible_checked(Page page, Snapshot snapshot,
									  OffsetNumber *offsets);	/* -1: undecided */
extern int	asyncscan_visible_buffered(Relation rel, Buffer buffer,
									   BlockNumber blkno, Snapshot snapshot,
									   OffsetNumber *offsets);

#endif							/* ASYNCSCAN_VISIBILITY_H */
