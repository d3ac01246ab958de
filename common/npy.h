/* npy.h: a strict reader (and a small writer) of NumPy .npy files, for `aplcl verify` and its
 * tests.
 *
 * Reads format versions 1.0, 2.0 and 3.0 with a little-endian (or single-byte) dtype among
 * float16/32/64, int8/16/32/64, uint8/16/32/64 and bool, in C or Fortran order (returned in C
 * order), into doubles. The byte-order mark may be '<', '=' or '|', and for single-byte types
 * also '>' ('<u1' is uint8). The header is the dict NumPy writes (keys descr, fortran_order,
 * shape, each once, in any order), with any whitespace, newlines included, between tokens.
 * Everything else is refused with a message that says what and why: a bad magic or version, a
 * truncated preamble, another header, big-endian multi-byte or other dtypes (structured,
 * complex, object, strings), a shape whose size overflows, data shorter or longer than the shape
 * says, files over the size limit. Takes hostile input: never reads outside the buffer, bounds
 * every allocation. Not part of the library.
 */
#ifndef APLCL_NPY_H
#define APLCL_NPY_H

#include <stddef.h>
#include <stdint.h>

#define NPY_MAX_DIMS 8
#define NPY_MAX_HEADER 65536 /* bytes of the header dict (NumPy writes far less) */

typedef enum {
    NPY_F16,
    NPY_F32,
    NPY_F64,
    NPY_I8,
    NPY_I16,
    NPY_I32,
    NPY_I64,
    NPY_U8,
    NPY_U16,
    NPY_U32,
    NPY_U64,
    NPY_BOOL
} npy_type;

typedef struct {
    npy_type type;
    int ndim;
    size_t shape[NPY_MAX_DIMS];
    size_t count; /* product of shape (1 for a 0-d array) */
    double *data; /* count values, converted exactly (int64 beyond 2^53 rounds) */
} npy_array;

/* The dtype's NumPy name ("float32", ...), its size in bytes, and whether it is a float type. */
const char *npy_type_name(npy_type t);
size_t npy_type_size(npy_type t);
int npy_type_is_float(npy_type t);

/* Parses buf[0..len). Returns 0 and fills *out, or -1 with *out zeroed and err (may be NULL)
 * holding the reason. */
int npy_parse(const unsigned char *buf, size_t len, npy_array *out, char *err, size_t err_size);

/* Reads at most max_bytes from path (larger files are refused) and parses them. The magic and
 * the header are checked before the data is read, and only the bytes the header announces (and
 * one more) are read: /dev/zero is refused after 10 bytes. The message names the file. */
int npy_load(const char *path, size_t max_bytes, npy_array *out, char *err, size_t err_size);

void npy_free(npy_array *a);

/* Writes values[0..product of shape) as a version 1.0 C-order file of type t (F16, F32, F64, U8,
 * I32 or I64; values are rounded/converted to it). Returns 0 or -1 (errno set). */
int npy_write(const char *path, npy_type t, const size_t *shape, int ndim, const double *values);

#endif /* APLCL_NPY_H */
