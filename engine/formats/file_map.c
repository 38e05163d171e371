#include "file_map.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "error.h"

static bitnet_status read_all(int fd, const char *path, uint8_t *buf, uint64_t size) {
    uint64_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, (size_t)(size - got));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            return bn_fail(BITNET_ERR_IO, "%s: read failed at byte %" PRIu64 ": %s", path, got,
                           n == 0 ? "unexpected end of file" : strerror(errno));
        got += (uint64_t)n;
    }
    return BITNET_OK;
}

bitnet_status bn_file_map_open(const char *path, bool use_mmap, uint64_t min_size, const char *what,
                               bn_file_map *out) {
    memset(out, 0, sizeof *out);
    if (!path) return bn_fail(BITNET_ERR_INVALID_ARGUMENT, "file path is NULL");
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
     * writer forever; it has no effect on the regular files we accept */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return bn_fail(BITNET_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    bitnet_status st = BITNET_OK;
    if (fstat(fd, &sb) != 0) {
        st = bn_fail(BITNET_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    } else if (S_ISDIR(sb.st_mode)) {
        st = bn_fail(BITNET_ERR_IO, "%s: is a directory, not a regular file", path);
    } else if (!S_ISREG(sb.st_mode)) {
        st = bn_fail(BITNET_ERR_IO, "%s: not a regular file", path);
    } else if ((uint64_t)sb.st_size < min_size) {
        st = bn_fail(BITNET_ERR_TRUNCATED,
                     "%s: file is %lld bytes, shorter than %s (%" PRIu64 " bytes)", path,
                     (long long)sb.st_size, what, min_size);
    } else if ((uint64_t)sb.st_size > SIZE_MAX) {
        st = bn_fail(BITNET_ERR_NOMEM, "%s: file is too large for this machine", path);
    }
    if (st) {
        close(fd);
        return st;
    }
    const uint64_t size = (uint64_t)sb.st_size;
    if (use_mmap && size > 0) {
        void *m = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED)
            st = bn_fail(BITNET_ERR_IO, "%s: mmap failed: %s", path, strerror(errno));
        else
            *out = (bn_file_map){.base = m, .size = size, .storage = BN_FILE_MMAP};
    } else {
        uint8_t *buf = bn_malloc(size ? (size_t)size : 1);
        if (!buf)
            st = BITNET_ERR_NOMEM;
        else if ((st = read_all(fd, path, buf, size)))
            bn_free(buf);
        else
            *out = (bn_file_map){.base = buf, .size = size, .storage = BN_FILE_MALLOC};
    }
    close(fd);
    return st;
}

void bn_file_map_close(bn_file_map *m) {
    if (!m) return;
    if (m->storage == BN_FILE_MMAP) munmap((void *)m->base, (size_t)m->size);
    if (m->storage == BN_FILE_MALLOC) bn_free((void *)m->base);
    memset(m, 0, sizeof *m);
}
