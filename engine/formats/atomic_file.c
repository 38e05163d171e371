#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "error.h"

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = bn_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

bitnet_status bn_atomic_open(bn_atomic_file *af, const char *path) {
    memset(af, 0, sizeof *af);
    struct stat st;
    const bool exists = stat(path, &st) == 0;
    if (exists && S_ISDIR(st.st_mode))
        return bn_fail(BITNET_ERR_IO, "%s: cannot write: it is a directory", path);
    af->path = dup_str(path);
    if (!af->path) return BITNET_ERR_NOMEM;
    if (exists && !S_ISREG(st.st_mode)) {
        af->f = fopen(path, "wb");
        if (af->f) return BITNET_OK;
        bitnet_status s = bn_fail(BITNET_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        bn_free(af->path);
        af->path = NULL;
        return s;
    }
    /* DIR/.NAME.tmp-XXXXXX beside the target, so that rename stays on one file system */
    const char *slash = strrchr(path, '/');
    const size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    const size_t n = strlen(path) + 16;
    af->tmp_path = bn_malloc(n);
    if (!af->tmp_path) {
        bn_free(af->path);
        af->path = NULL;
        return BITNET_ERR_NOMEM;
    }
    snprintf(af->tmp_path, n, "%.*s.%s.tmp-XXXXXX", (int)dir_len, path, path + dir_len);
    int fd = mkstemp(af->tmp_path);
    if (fd < 0) {
        bitnet_status s = bn_fail(BITNET_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
        bn_free(af->tmp_path);
        bn_free(af->path);
        memset(af, 0, sizeof *af);
        return s;
    }
    /* mkstemp makes 0600; an output file gets the mode it had, or 0644 */
    (void)fchmod(fd, exists ? (st.st_mode & 07777) : 0644);
    af->f = fdopen(fd, "wb");
    if (!af->f) {
        bitnet_status s = bn_fail(BITNET_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
        close(fd);
        unlink(af->tmp_path);
        bn_free(af->tmp_path);
        bn_free(af->path);
        memset(af, 0, sizeof *af);
        return s;
    }
    return BITNET_OK;
}

bitnet_status bn_atomic_close(bn_atomic_file *af, bool ok) {
    bitnet_status s = BITNET_OK;
    int err = 0;
    if (af->f) {
        if (ferror(af->f)) ok = false;
        if (fclose(af->f) != 0 && ok) {
            ok = false;
            err = errno;
        }
    }
    if (!ok) {
        s = bn_fail(BITNET_ERR_IO, "%s: write failed%s%s", af->path ? af->path : "?",
                    err ? ": " : "", err ? strerror(err) : "");
        if (af->tmp_path) unlink(af->tmp_path);
    } else if (af->tmp_path && rename(af->tmp_path, af->path) != 0) {
        s = bn_fail(BITNET_ERR_IO, "%s: cannot rename the finished file into place: %s", af->path,
                    strerror(errno));
        unlink(af->tmp_path);
    }
    bn_free(af->tmp_path);
    bn_free(af->path);
    memset(af, 0, sizeof *af);
    return s;
}
