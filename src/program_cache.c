/* program_cache.c: the optional on-disk cache of built program binaries.
 *
 * One file per (device, driver, compiler, options, source), named by a hash of all of them, in
 * the folder the context resolved at creation (env.c: the cache_dir option, $APLCL_CACHE_DIR, ...).
 * Each file says what it was built for and carries a checksum (layout: program_cache.h). A file is
 * handed to the driver only after every check passes, since drivers crash on damaged binaries (PoCL
 * segfaults on a truncated one); a loaded program must then build and hold the kernels it held when
 * stored. Anything else is a miss: the caller builds from source and the new file replaces the old
 * one atomically (unique temporary in the same folder, fsync, rename), so concurrent processes read
 * a whole old file or a whole new one. Every failure here is silent; nothing is printed.
 * It does not build from source (program.c does).
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp, fchmod, fsync, O_CLOEXEC */
#include "program_cache.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Longest identity string taken from the driver (real ones are under 200 bytes). */
#define APL_CACHE_MAX_FIELD 4096

/* ---- a growing byte buffer ---- */

typedef struct apl_bytes {
    unsigned char *p;
    size_t len, cap;
    bool failed;
} apl_bytes;

/* Room for n more bytes (sets failed when there is none). */
static bool reserve(apl_bytes *b, size_t n) {
    if (!b->failed && n > b->cap - b->len) {
        unsigned char *grown = (unsigned char *)realloc(b->p, b->len + n + 256);
        b->failed = !grown;
        b->p = grown ? grown : b->p;
        b->cap = grown ? b->len + n + 256 : b->cap;
    }
    return !b->failed;
}

static void put(apl_bytes *b, const void *data, size_t n) {
    if (reserve(b, n)) {
        memcpy(b->p + b->len, data, n);
        b->len += n;
    }
}

static void put_le(apl_bytes *b, uint64_t v, int bytes) {
    unsigned char tmp[8];
    apl_put_le64(tmp, v);
    put(b, tmp, (size_t)bytes);
}

static void put_str(apl_bytes *b, const char *s, size_t n) {
    put_le(b, n, 4);
    put(b, s, n);
}

/* A string property of the platform (plat non-NULL) or device, appended as a string field. */
static void put_cl_string(apl_bytes *b, cl_platform_id plat, cl_device_id dev, cl_uint param) {
    char s[APL_CACHE_MAX_FIELD];
    size_t n = 0;
    cl_int err = plat ? clGetPlatformInfo(plat, param, sizeof s, s, &n)
                      : clGetDeviceInfo(dev, param, sizeof s, s, &n);
    if (err != CL_SUCCESS || n == 0 || n > sizeof s)
        b->failed = true;
    else
        put_str(b, s, strnlen(s, n));
}

/* The program's kernel names (the driver's ';'-separated list); NULL when unavailable. */
static char *kernel_names(cl_program prog, size_t *len) {
    size_t n = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_KERNEL_NAMES, 0, NULL, &n) != CL_SUCCESS || n == 0 ||
        n > APL_CACHE_MAX_FIELD)
        return NULL;
    char *s = (char *)malloc(n);
    if (s && clGetProgramInfo(prog, CL_PROGRAM_KERNEL_NAMES, n, s, NULL) != CL_SUCCESS) {
        free(s);
        return NULL;
    }
    if (s)
        *len = strnlen(s, n);
    return s;
}

/* ---- where ---- */

/* Cache folder, or false when caching is off (or the path does not fit). */
static bool cache_dir(const aplcl_ctx *ctx, char *out, size_t size) {
    /* resolved once, at context creation (the option, else the environment: ctx.c) */
    if (!ctx->cache_dir[0] || strlen(ctx->cache_dir) >= size)
        return false;
    strcpy(out, ctx->cache_dir);
    return true;
}

static void mkdir_p(char *path) {
    for (char *p = path + 1; *p; ++p)
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    mkdir(path, 0755);
}

bool apl_cache_key_init(apl_cache_key *key, aplcl_ctx *ctx, const char *src, const char *opts) {
    memset(key, 0, sizeof *key);
    if (!cache_dir(ctx, key->dir, sizeof key->dir))
        return false;
    static const struct {
        bool platform;
        cl_uint param;
    } fields[APL_CACHE_NFIELDS - 1] = {
        {true, CL_PLATFORM_NAME},           {true, CL_PLATFORM_VERSION}, {false, CL_DEVICE_NAME},
        {false, CL_DEVICE_VERSION},         {false, CL_DEVICE_VENDOR},   {false, CL_DRIVER_VERSION},
        {false, CL_DEVICE_OPENCL_C_VERSION}};
    cl_platform_id plat = NULL;
    if (clGetDeviceInfo(ctx->device, CL_DEVICE_PLATFORM, sizeof plat, &plat, NULL) != CL_SUCCESS ||
        !plat)
        return false;
    apl_bytes b = {0};
    put(&b, APL_CACHE_MAGIC, APL_CACHE_MAGIC_LEN);
    put_le(&b, APL_CACHE_VERSION, 4);
    for (int i = 0; i < APL_CACHE_NFIELDS - 1; ++i)
        put_cl_string(&b, fields[i].platform ? plat : NULL, ctx->device, fields[i].param);
    put_str(&b, opts, strlen(opts));
    put_le(&b, apl_xxh64(src, strlen(src), 0), 8);
    int n = b.failed ? -1
                     : snprintf(key->path, sizeof key->path, "%s/%016llx.clbin", key->dir,
                                (unsigned long long)apl_xxh64(b.p, b.len, 0));
    if (n < 0 || (size_t)n >= sizeof key->path) {
        free(b.p);
        return false;
    }
    key->ident = b.p;
    key->ident_len = b.len;
    return true;
}

void apl_cache_key_free(apl_cache_key *key) {
    free(key->ident);
    key->ident = NULL;
}

/* ---- load ---- */

/* The whole regular file at path, at most APL_CACHE_MAX_BYTES; NULL otherwise. O_NONBLOCK: a
 * FIFO put in the file's place must not hang the caller. */
static unsigned char *read_bounded(const char *path, size_t *len) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat sb;
    unsigned char *buf = NULL;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
        (uintmax_t)sb.st_size <= APL_CACHE_MAX_BYTES) {
        size_t size = (size_t)sb.st_size, got = 0;
        buf = (unsigned char *)malloc(size);
        while (buf && got < size) {
            ssize_t r = read(fd, buf + got, size - got);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                free(buf);
                buf = NULL;
            } else {
                got += (size_t)r;
            }
        }
        *len = size;
    }
    close(fd);
    return buf;
}

/* The program in a file that passed every check of the file itself; NULL when the driver
 * refuses it, it does not build, or its kernels differ from the stored list. */
static cl_program program_from(aplcl_ctx *ctx, const unsigned char *file, const apl_cache_view *v,
                               const char *opts) {
    cl_int err, bin_status;
    const unsigned char *bins[1] = {file + v->payload_off};
    size_t len = v->payload_len;
    cl_program prog =
        clCreateProgramWithBinary(ctx->context, 1, &ctx->device, &len, bins, &bin_status, &err);
    if (err != CL_SUCCESS || bin_status != CL_SUCCESS) {
        if (prog)
            clReleaseProgram(prog);
        return NULL;
    }
    size_t names_len = 0;
    char *names = NULL;
    if (clBuildProgram(prog, 1, &ctx->device, opts, NULL, NULL) == CL_SUCCESS)
        names = kernel_names(prog, &names_len);
    bool ok =
        names && names_len == v->names_len && memcmp(names, file + v->names_off, names_len) == 0;
    free(names);
    if (!ok) {
        clReleaseProgram(prog);
        return NULL;
    }
    return prog;
}

cl_program apl_cache_load(aplcl_ctx *ctx, const apl_cache_key *key, const char *opts) {
    size_t len = 0;
    unsigned char *file = read_bounded(key->path, &len);
    if (!file)
        return NULL;
    apl_cache_view v;
    cl_program prog = NULL;
    if (apl_cache_parse(file, len, &v) && v.ident_len == key->ident_len &&
        memcmp(file, key->ident, key->ident_len) == 0 &&
        apl_le64(file + v.checksum_off) == apl_cache_checksum(file, &v))
        prog = program_from(ctx, file, &v, opts);
    free(file);
    return prog;
}

/* ---- store ---- */

static bool write_all(int fd, const unsigned char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Writes the n bytes to a fresh temporary file beside key->path and renames it over the path;
 * a directory left in the file's place is removed first if empty. */
static void replace_file(const apl_cache_key *key, const unsigned char *data, size_t n) {
    char dir[sizeof key->dir], tmp[sizeof key->path + 16];
    memcpy(dir, key->dir, sizeof dir);
    mkdir_p(dir);
    snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", key->path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return;
    bool ok = fchmod(fd, 0644) == 0 && write_all(fd, data, n) && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (ok && rename(tmp, key->path) != 0)
        ok = rmdir(key->path) == 0 && rename(tmp, key->path) == 0;
    if (!ok)
        unlink(tmp);
}

void apl_cache_store(const apl_cache_key *key, cl_program prog) {
    size_t size = 0, names_len = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS ||
        size == 0 || size > APL_CACHE_MAX_BYTES)
        return;
    char *names = kernel_names(prog, &names_len);
    if (!names)
        return;
    apl_bytes b = {0};
    put(&b, key->ident, key->ident_len);
    put_str(&b, names, names_len);
    free(names);
    put_le(&b, size, 8);
    put_le(&b, 0, 8); /* the checksum, filled in below */
    size_t total = b.len + size;
    apl_cache_view v;
    /* what is written must be what a load accepts: bounded, and parsing back */
    if (total <= APL_CACHE_MAX_BYTES && reserve(&b, size)) {
        unsigned char *bins[1] = {b.p + b.len};
        if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) == CL_SUCCESS &&
            apl_cache_parse(b.p, total, &v)) {
            apl_put_le64(b.p + v.checksum_off, apl_cache_checksum(b.p, &v));
            replace_file(key, b.p, total);
        }
    }
    free(b.p);
}
