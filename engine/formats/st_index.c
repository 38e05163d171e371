#include "st_index.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "error.h"
#include "file_map.h"
#include "json_util.h"

bitnet_status bn_read_small_file(const char *path, size_t max_bytes, char **data, size_t *size) {
    *data = NULL;
    *size = 0;
    bn_file_map fm;
    bitnet_status st = bn_file_map_open(path, true, 0, "", &fm);
    if (st) return st;
    if (fm.size > max_bytes) {
        bn_file_map_close(&fm);
        return bn_fail(BITNET_ERR_FORMAT, "%s: %llu bytes, above the limit of %zu for this file",
                       path, (unsigned long long)fm.size, max_bytes);
    }
    char *buf = bn_malloc((size_t)fm.size + 1);
    if (buf) {
        if (fm.size) memcpy(buf, fm.base, (size_t)fm.size);
        buf[fm.size] = '\0';
        *data = buf;
        *size = (size_t)fm.size;
    }
    bn_file_map_close(&fm);
    return buf ? BITNET_OK : BITNET_ERR_NOMEM;
}

void bn_st_index_free(bn_st_index *ix) {
    if (!ix) return;
    for (size_t i = 0; i < ix->n_shards; i++) bn_free(ix->shards[i]);
    for (size_t i = 0; i < ix->n_entries; i++) bn_free(ix->tensor[i]);
    bn_free(ix->shards);
    bn_free(ix->tensor);
    bn_free(ix->shard);
    memset(ix, 0, sizeof *ix);
}

/* A file name that stays in the checkpoint's directory. */
static bool safe_shard_name(const char *s) {
    size_t n = strlen(s);
    return n > 0 && n <= BN_ST_INDEX_MAX_SHARD_NAME && strcmp(s, ".") && strcmp(s, "..") &&
           !strchr(s, '/') && !strchr(s, '\\');
}

static bitnet_status parse_map(const char *name, const cJSON *map, bn_st_index *ix) {
    size_t n = 0;
    for (const cJSON *e = map->child; e; e = e->next) n++;
    ix->tensor = bn_calloc(n ? n : 1, sizeof *ix->tensor);
    ix->shard = bn_calloc(n ? n : 1, sizeof *ix->shard);
    bn_strmap shard_ids = {0};
    if (!ix->tensor || !ix->shard ||
        bn_strmap_init(&shard_ids, n < BN_ST_INDEX_MAX_SHARDS ? n : BN_ST_INDEX_MAX_SHARDS) != 0) {
        bn_strmap_free(&shard_ids);
        return BITNET_ERR_NOMEM;
    }
    bitnet_status st = BITNET_OK;
    for (const cJSON *e = map->child; e && !st; e = e->next) {
        if (!cJSON_IsString(e)) {
            st = bn_fail(BITNET_ERR_FORMAT,
                         "%s: weight_map['%.200s'] is not a string (a file name)", name, e->string);
            break;
        }
        const char *file = e->valuestring;
        if (!safe_shard_name(file)) {
            st = bn_fail(BITNET_ERR_FORMAT,
                         "%s: weight_map['%.200s'] = '%.300s' is not a plain file name in the "
                         "checkpoint's directory (empty, '.', '..', '/' or '\\', or over %d bytes)",
                         name, e->string, file, BN_ST_INDEX_MAX_SHARD_NAME);
            break;
        }
        if (!e->string[0] || strlen(e->string) > BN_ST_MAX_NAME) {
            st = bn_fail(BITNET_ERR_FORMAT, "%s: weight_map has a tensor name of %zu bytes (1..%d)",
                         name, strlen(e->string), BN_ST_MAX_NAME);
            break;
        }
        int64_t id = 0;
        if (!bn_strmap_get(&shard_ids, file, strlen(file), &id)) {
            if (ix->n_shards == BN_ST_INDEX_MAX_SHARDS) {
                st = bn_fail(BITNET_ERR_FORMAT, "%s: weight_map names more than %d shard files",
                             name, BN_ST_INDEX_MAX_SHARDS);
                break;
            }
            char **sh = bn_realloc(ix->shards, (ix->n_shards + 1) * sizeof *sh);
            char *copy = sh ? bn_strdup(file) : NULL;
            if (sh) ix->shards = sh;
            /* the map's keys point at the copies; it has room for the limit */
            if (!copy ||
                bn_strmap_put(&shard_ids, copy, strlen(copy), (int64_t)ix->n_shards, NULL) < 0) {
                bn_free(copy);
                st = BITNET_ERR_NOMEM;
                break;
            }
            id = (int64_t)ix->n_shards;
            ix->shards[ix->n_shards++] = copy;
        }
        if (!(ix->tensor[ix->n_entries] = bn_strdup(e->string))) {
            st = BITNET_ERR_NOMEM;
            break;
        }
        ix->shard[ix->n_entries++] = (uint32_t)id;
    }
    bn_strmap_free(&shard_ids);
    return st;
}

bitnet_status bn_st_index_parse(const char *name, const char *json, size_t len, bn_st_index *out) {
    memset(out, 0, sizeof *out);
    char err[256];
    const bn_json_limits lim = {.max_bytes = BN_ST_INDEX_MAX_BYTES, .max_depth = 8};
    cJSON *root = NULL;
    const bitnet_status jst = bn_json_parse_status(json, len, &lim, &root, err, sizeof err);
    if (!root) return bn_fail(jst, "%s: %s", name, err);
    bitnet_status st = BITNET_OK;
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    if (!cJSON_IsObject(root))
        st = bn_fail(BITNET_ERR_FORMAT, "%s: the index is not a JSON object", name);
    else if (!map)
        st = bn_fail(BITNET_ERR_FORMAT, "%s: key 'weight_map' is missing", name);
    else if (!cJSON_IsObject(map))
        st = bn_fail(BITNET_ERR_FORMAT, "%s: key 'weight_map' is not an object", name);
    else if (meta && !cJSON_IsObject(meta) && !cJSON_IsNull(meta))
        st = bn_fail(BITNET_ERR_FORMAT, "%s: key 'metadata' is not an object", name);
    else if (!map->child)
        st = bn_fail(BITNET_ERR_FORMAT, "%s: key 'weight_map' is empty", name);
    else
        st = parse_map(name, map, out);
    cJSON_Delete(root);
    if (st) bn_st_index_free(out);
    return st;
}

void bn_st_set_close(bn_st_set *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n_files; i++) bn_st_close(s->files[i]);
    bn_free(s->files);
    bn_strmap_free(&s->map);
    bn_free(s);
}

const bn_st_tensor *bn_st_set_find(const bn_st_set *s, const char *name, const char **file) {
    int64_t i = 0;
    if (!bn_strmap_get(&s->map, name, strlen(name), &i)) return NULL;
    if (file) *file = s->files[i]->path;
    return bn_st_find(s->files[i], name);
}

static char *join(const char *dir, const char *file) {
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = bn_malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, file);
    return p;
}

static bitnet_status open_file(bn_st_set *s, const char *dir, const char *file, bool use_mmap) {
    char *path = join(dir, file);
    if (!path) return BITNET_ERR_NOMEM;
    bitnet_status st = bn_st_open(path, use_mmap, &s->files[s->n_files]);
    bn_free(path);
    if (!st) s->n_files++;
    return st;
}

/* Every tensor of every shard into the map: each once, each where the index
 * says (ix NULL: a single file). */
static bitnet_status build_map(bn_st_set *s, const bn_st_index *ix, const char *ix_path) {
    size_t total = 0;
    for (size_t f = 0; f < s->n_files; f++) total += s->files[f]->n_tensors;
    if (bn_strmap_init(&s->map, total) != 0) return BITNET_ERR_NOMEM;
    for (size_t f = 0; f < s->n_files; f++) {
        const bn_safetensors *sf = s->files[f];
        for (size_t i = 0; i < sf->n_tensors; i++) {
            const char *t = sf->tensors[i].name;
            int64_t prev = 0;
            int rc = bn_strmap_put(&s->map, t, strlen(t), (int64_t)f, &prev);
            if (rc < 0) return BITNET_ERR_NOMEM;
            if (rc == 0)
                return bn_fail(BITNET_ERR_FORMAT, "%s: tensor '%s' is in two shards: %s and %s",
                               ix_path, t, s->files[prev]->path, sf->path);
        }
    }
    s->n_tensors = total;
    if (!ix) return BITNET_OK;
    /* both directions: each entry is in its shard, each tensor is listed */
    for (size_t e = 0; e < ix->n_entries; e++) {
        const bn_safetensors *sf = s->files[ix->shard[e]];
        if (!bn_st_find(sf, ix->tensor[e]))
            return bn_fail(BITNET_ERR_FORMAT,
                           "%s: weight_map['%s'] = '%s', but that shard has no such tensor",
                           ix_path, ix->tensor[e], ix->shards[ix->shard[e]]);
    }
    if (total != ix->n_entries) {
        /* an entry per tensor, each found above, and no tensor twice: the
         * counts differ only if some tensor is missing from weight_map */
        bn_strmap listed;
        if (bn_strmap_init(&listed, ix->n_entries) != 0) return BITNET_ERR_NOMEM;
        for (size_t e = 0; e < ix->n_entries; e++)
            bn_strmap_put(&listed, ix->tensor[e], strlen(ix->tensor[e]), 0, NULL);
        bitnet_status st = BITNET_OK;
        for (size_t f = 0; f < s->n_files && !st; f++)
            for (size_t i = 0; i < s->files[f]->n_tensors && !st; i++) {
                const char *t = s->files[f]->tensors[i].name;
                if (!bn_strmap_get(&listed, t, strlen(t), NULL))
                    st = bn_fail(BITNET_ERR_FORMAT,
                                 "%s: tensor '%s' of shard %s is not listed in weight_map", ix_path,
                                 t, s->files[f]->path);
            }
        bn_strmap_free(&listed);
        return st;
    }
    return BITNET_OK;
}

bitnet_status bn_st_set_open(const char *dir, bool use_mmap, bn_st_set **out) {
    *out = NULL;
    bn_st_set *s = bn_calloc(1, sizeof *s);
    char *ix_path = join(dir, BN_ST_INDEX_NAME);
    if (!s || !ix_path) {
        bn_free(s);
        bn_free(ix_path);
        return BITNET_ERR_NOMEM;
    }
    bn_st_index ix = {0};
    bool sharded = access(ix_path, F_OK) == 0;
    bitnet_status st = BITNET_OK;
    if (sharded) {
        char *json = NULL;
        size_t len = 0;
        st = bn_read_small_file(ix_path, BN_ST_INDEX_MAX_BYTES, &json, &len);
        if (!st) st = bn_st_index_parse(ix_path, json, len, &ix);
        bn_free(json);
    }
    size_t n_files = sharded ? ix.n_shards : 1;
    if (!st && !(s->files = bn_calloc(n_files, sizeof *s->files))) st = BITNET_ERR_NOMEM;
    for (size_t i = 0; !st && i < n_files; i++)
        st = open_file(s, dir, sharded ? ix.shards[i] : BN_ST_SINGLE_NAME, use_mmap);
    if (!st) st = build_map(s, sharded ? &ix : NULL, sharded ? ix_path : dir);
    bn_st_index_free(&ix);
    bn_free(ix_path);
    if (st) {
        bn_st_set_close(s);
        return st;
    }
    *out = s;
    return BITNET_OK;
}
