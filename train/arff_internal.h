/* arff_internal.h: what arff.c and arff_file.c share (error filling). Not for other users. */
#ifndef APLCL_ARFF_INTERNAL_H
#define APLCL_ARFF_INTERNAL_H

#include "arff.h"

#include <stdarg.h>

#if defined(__GNUC__)
#define ARFF_PRINTF_(f, a) __attribute__((format(printf, f, a)))
#else
#define ARFF_PRINTF_(f, a)
#endif

/* Zeroes *err and sets its file (NULL name: "<memory>"). */
void arff_err_reset_(arff_error *err, const char *name);
/* Fills err's position and message; return -1. */
ARFF_PRINTF_(4, 0)
int arff_vfail_(arff_error *err, size_t line, size_t column, const char *fmt, va_list ap);
ARFF_PRINTF_(4, 5)
int arff_fail_pos_(arff_error *err, size_t line, size_t column, const char *fmt, ...);

/* Reads a whole file into *buf (malloc'd, *len bytes, not NUL-terminated): at most max bytes,
 * counted as they arrive (a pipe or a device has no size to check first); a NUL byte fails at
 * once with its line and column. Returns 0, or -1 with *err filled and *buf NULL. */
int arff_read_file_(const char *path, size_t max, char **buf, size_t *len, arff_error *err);

#endif /* APLCL_ARFF_INTERNAL_H */
