#include "merge_queue.h"

#include "alloc.h"

static bool before(const bn_merge *x, const bn_merge *y) {
    if (x->priority != y->priority) return x->priority > y->priority;
    return x->left < y->left;
}

bool bn_merge_push(bn_merge_queue *q, bn_merge m) {
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        bn_merge *a = bn_realloc(q->a, cap * sizeof *a);
        if (!a) return false;
        q->a = a;
        q->cap = cap;
    }
    size_t i = q->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&m, &q->a[parent])) break;
        q->a[i] = q->a[parent];
        i = parent;
    }
    q->a[i] = m;
    return true;
}

bn_merge bn_merge_pop(bn_merge_queue *q) {
    bn_merge top = q->a[0], last = q->a[--q->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= q->n) break;
        if (c + 1 < q->n && before(&q->a[c + 1], &q->a[c])) c++;
        if (!before(&q->a[c], &last)) break;
        q->a[i] = q->a[c];
        i = c;
    }
    if (q->n) q->a[i] = last;
    return top;
}

void bn_merge_queue_free(bn_merge_queue *q) {
    bn_free(q->a);
    q->a = NULL;
    q->n = q->cap = 0;
}
