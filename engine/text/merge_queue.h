/* The priority queue of candidate merges shared by the SentencePiece and BPE
 * tokenizers: highest priority first, then the leftmost pair (llama.cpp's
 * tie-break for both). SPM's priority is the merged token's score; BPE's is
 * minus the merge rank (ranks < 2^53 are exact in a double). */
#ifndef BN_MERGE_QUEUE_H
#define BN_MERGE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bn_merge {
    int32_t left, right; /* symbol indices */
    double priority;
    size_t size; /* bytes of the merged text when queued: stale entries differ */
} bn_merge;

typedef struct bn_merge_queue {
    bn_merge *a;
    size_t n, cap;
} bn_merge_queue;

/* false on allocation failure */
bool bn_merge_push(bn_merge_queue *q, bn_merge m);
/* the best entry; the queue must not be empty */
bn_merge bn_merge_pop(bn_merge_queue *q);
void bn_merge_queue_free(bn_merge_queue *q);

#endif
