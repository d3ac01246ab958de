/* program_cache.h: the layout of one program-binary cache file, and its hash.
 *
 * Pure byte handling (no OpenCL, no I/O), header-only so that tests/test_cache.c can read and
 * forge cache files exactly as the library writes them. The policy (what is checked against the
 * running device, where files live, how they are replaced) is src/program_cache.c.
 *
 * Layout, integers little-endian:
 *   magic "APLCLPB\n" (8 bytes) | format version (u32) |
 *   APL_CACHE_NFIELDS strings, each a u32 length then the bytes (no NUL): platform name,
 *     platform version, device name, device version, device vendor, driver version, OpenCL C
 *     version, build options |
 *   XXH64 of the full kernel source (u64)              <- bytes so far: the identity, which must
 *                                                         equal the running one byte for byte
 *   kernel names (u32 length + bytes, as CL_PROGRAM_KERNEL_NAMES reports them) |
 *   payload length (u64) | checksum (u64) | payload (the clGetProgramInfo binary)
 * checksum = XXH64(payload, seed = XXH64(every byte before the checksum, seed 0)), so a flipped
 * byte anywhere, or a header glued to another file's payload, fails it.
 * XXH64 is xxHash's 64-bit hash (Yann Collet, BSD-2): full avalanche, not cryptographic; it
 * guards against damage and mix-ups, not against someone forging files in the cache folder.
 */
#ifndef APLCL_PROGRAM_CACHE_H
#define APLCL_PROGRAM_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define APL_CACHE_MAGIC "APLCLPB\n"
#define APL_CACHE_MAGIC_LEN 8
#define APL_CACHE_VERSION 2u
#define APL_CACHE_NFIELDS 8
/* A file larger than this is not read (program binaries here are well under 1 MiB). */
#define APL_CACHE_MAX_BYTES ((size_t)64 << 20)

static inline uint32_t apl_le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t apl_le64(const unsigned char *p) {
    return (uint64_t)apl_le32(p) | (uint64_t)apl_le32(p + 4) << 32;
}
static inline void apl_put_le64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; ++i)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* ---- XXH64 (the reference algorithm, byte-order independent) ---- */

#define APL_XXH_P1 0x9E3779B185EBCA87ull
#define APL_XXH_P2 0xC2B2AE3D27D4EB4Full
#define APL_XXH_P3 0x165667B19E3779F9ull
#define APL_XXH_P4 0x85EBCA77C2B2AE63ull
#define APL_XXH_P5 0x27D4EB2F165667C5ull

static inline uint64_t apl_rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static inline uint64_t apl_xxh_round(uint64_t acc, uint64_t in) {
    return apl_rotl64(acc + in * APL_XXH_P2, 31) * APL_XXH_P1;
}
static inline uint64_t apl_xxh_merge(uint64_t h, uint64_t v) {
    return (h ^ apl_xxh_round(0, v)) * APL_XXH_P1 + APL_XXH_P4;
}

static inline uint64_t apl_xxh64(const void *data, size_t len, uint64_t seed) {
    const unsigned char *p = (const unsigned char *)data, *end = p + len;
    uint64_t h;
    if (len >= 32) {
        uint64_t v[4] = {seed + APL_XXH_P1 + APL_XXH_P2, seed + APL_XXH_P2, seed,
                         seed - APL_XXH_P1};
        for (; end - p >= 32; p += 32)
            for (int i = 0; i < 4; ++i)
                v[i] = apl_xxh_round(v[i], apl_le64(p + 8 * i));
        h = apl_rotl64(v[0], 1) + apl_rotl64(v[1], 7) + apl_rotl64(v[2], 12) + apl_rotl64(v[3], 18);
        for (int i = 0; i < 4; ++i)
            h = apl_xxh_merge(h, v[i]);
    } else {
        h = seed + APL_XXH_P5;
    }
    h += (uint64_t)len;
    for (; end - p >= 8; p += 8)
        h = apl_rotl64(h ^ apl_xxh_round(0, apl_le64(p)), 27) * APL_XXH_P1 + APL_XXH_P4;
    if (end - p >= 4) {
        h = apl_rotl64(h ^ (uint64_t)apl_le32(p) * APL_XXH_P1, 23) * APL_XXH_P2 + APL_XXH_P3;
        p += 4;
    }
    for (; p < end; ++p)
        h = apl_rotl64(h ^ *p * APL_XXH_P5, 11) * APL_XXH_P1;
    h ^= h >> 33;
    h *= APL_XXH_P2;
    h ^= h >> 29;
    h *= APL_XXH_P3;
    return h ^ (h >> 32);
}

/* ---- one file, parsed ---- */

/* Where each part of a cache file lies (byte offsets into it). */
typedef struct apl_cache_view {
    size_t field_off[APL_CACHE_NFIELDS], field_len[APL_CACHE_NFIELDS];
    size_t ident_len; /* [0, ident_len): magic .. source hash */
    size_t names_off, names_len;
    size_t checksum_off; /* the payload length is the 8 bytes before it */
    size_t payload_off, payload_len;
} apl_cache_view;

/* Reads a u32-length-prefixed string at *off, within n bytes. */
static inline bool apl_cache_take_str(const unsigned char *b, size_t n, size_t *off, size_t *at,
                                      size_t *len) {
    if (n - *off < 4)
        return false;
    *len = apl_le32(b + *off);
    *at = *off + 4;
    if (n - *at < *len)
        return false;
    *off = *at + *len;
    return true;
}

/* Checks the structure of the n bytes at b: magic, version, every length within the file, and
 * the payload ending exactly at the file's end. Says nothing of identity or checksum. */
static inline bool apl_cache_parse(const unsigned char *b, size_t n, apl_cache_view *v) {
    if (n < APL_CACHE_MAGIC_LEN + 4 || memcmp(b, APL_CACHE_MAGIC, APL_CACHE_MAGIC_LEN) != 0 ||
        apl_le32(b + APL_CACHE_MAGIC_LEN) != APL_CACHE_VERSION)
        return false;
    size_t off = APL_CACHE_MAGIC_LEN + 4;
    for (int i = 0; i < APL_CACHE_NFIELDS; ++i)
        if (!apl_cache_take_str(b, n, &off, &v->field_off[i], &v->field_len[i]))
            return false;
    if (n - off < 8)
        return false;
    v->ident_len = off + 8;
    off = v->ident_len;
    if (!apl_cache_take_str(b, n, &off, &v->names_off, &v->names_len) || n - off < 16)
        return false;
    v->checksum_off = off + 8;
    v->payload_off = off + 16;
    v->payload_len = n - v->payload_off;
    return v->payload_len > 0 && apl_le64(b + off) == (uint64_t)v->payload_len;
}

/* The checksum a parsed file must carry at checksum_off. */
static inline uint64_t apl_cache_checksum(const unsigned char *b, const apl_cache_view *v) {
    return apl_xxh64(b + v->payload_off, v->payload_len, apl_xxh64(b, v->checksum_off, 0));
}

#endif /* APLCL_PROGRAM_CACHE_H */
