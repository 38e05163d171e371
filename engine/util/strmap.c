#include "strmap.h"

#include <string.h>
#include <time.h>

#include "alloc.h"

uint64_t bn_hash_bytes(const void *data, size_t len, uint64_t seed) {
    /* FNV-1a from a per-map seed, then a 64-bit finalizer: keys come from
     * untrusted files, and an unseeded hash would let a crafted file make
     * every lookup collide (quadratic loading). */
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

/* Differs between maps and runs; lookups never depend on it. */
static uint64_t make_seed(const void *map) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)(uintptr_t)map * 0x9E3779B97F4A7C15ULL ^ (uint64_t)ts.tv_nsec ^
           ((uint64_t)ts.tv_sec << 32);
}

int bn_strmap_init(bn_strmap *map, size_t expected) {
    size_t cap = 16;
    /* keep the load factor at or below 1/2 */
    while (cap < expected * 2) {
        if (cap > SIZE_MAX / 4) return -1;
        cap *= 2;
    }
    map->slots = bn_calloc(cap, sizeof *map->slots);
    if (!map->slots) return -1;
    map->capacity = cap;
    map->count = 0;
    map->seed = make_seed(map);
    return 0;
}

void bn_strmap_free(bn_strmap *map) {
    if (!map) return;
    bn_free(map->slots);
    map->slots = NULL;
    map->capacity = map->count = 0;
}

static int grow(bn_strmap *map) {
    bn_strmap bigger;
    if (bn_strmap_init(&bigger, map->capacity) != 0) return -1;
    for (size_t i = 0; i < map->capacity; i++) {
        const bn_strmap_slot *s = &map->slots[i];
        if (s->key) bn_strmap_put(&bigger, s->key, s->len, s->value, NULL);
    }
    bn_free(map->slots);
    *map = bigger;
    return 0;
}

int bn_strmap_put(bn_strmap *map, const char *key, size_t len, int64_t value, int64_t *existing) {
    if ((map->count + 1) * 2 > map->capacity && grow(map) != 0) return -1;
    size_t mask = map->capacity - 1;
    size_t i = (size_t)bn_hash_bytes(key, len, map->seed) & mask;
    for (;;) {
        bn_strmap_slot *s = &map->slots[i];
        if (!s->key) {
            s->key = key ? key : "";
            s->len = len;
            s->value = value;
            map->count++;
            return 1;
        }
        if (s->len == len && memcmp(s->key, key, len) == 0) {
            if (existing) *existing = s->value;
            return 0;
        }
        i = (i + 1) & mask;
    }
}

int bn_strmap_get(const bn_strmap *map, const char *key, size_t len, int64_t *value) {
    if (!map->slots) return 0;
    size_t mask = map->capacity - 1;
    size_t i = (size_t)bn_hash_bytes(key, len, map->seed) & mask;
    for (;;) {
        const bn_strmap_slot *s = &map->slots[i];
        if (!s->key) return 0;
        if (s->len == len && memcmp(s->key, key, len) == 0) {
            if (value) *value = s->value;
            return 1;
        }
        i = (i + 1) & mask;
    }
}
