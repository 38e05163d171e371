/* An open-addressing hash map from byte strings to int64 values. Keys are not
 * copied: they must outlive the map (they point into the model file or into
 * arrays the owner keeps). Used for metadata keys, tensor names (duplicate
 * detection in O(n)) and token texts. */
#ifndef BN_STRMAP_H
#define BN_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct bn_strmap_slot {
    const char *key; /* NULL: empty */
    size_t len;
    int64_t value;
} bn_strmap_slot;

typedef struct bn_strmap {
    bn_strmap_slot *slots;
    size_t capacity; /* power of two */
    size_t count;
    uint64_t seed; /* hash seed, random per map */
} bn_strmap;

/* Reserves room for `expected` keys. Returns 0 on success, -1 on NOMEM. */
int bn_strmap_init(bn_strmap *map, size_t expected);
void bn_strmap_free(bn_strmap *map);

/* Inserts key -> value. Returns 1 if inserted, 0 if the key was already there
 * (the stored value is left unchanged and written to *existing if non-NULL),
 * -1 if the map is full (cannot happen when init reserved enough). */
int bn_strmap_put(bn_strmap *map, const char *key, size_t len, int64_t value, int64_t *existing);

/* Returns 1 and sets *value when found, 0 otherwise. */
int bn_strmap_get(const bn_strmap *map, const char *key, size_t len, int64_t *value);

uint64_t bn_hash_bytes(const void *data, size_t len, uint64_t seed);

#endif
