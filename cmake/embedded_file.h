/* embedded_file.h: the entry type of the tables cmake/embed_kernels.cmake generates.
 *
 * One entry per embedded .cl file: its name and its exact bytes (not NUL-terminated). Included by
 * the generated C files and by the code that reads the tables (src/internal.h for the loss
 * kernels, train/train_net.c for the trainer's). Not a public header.
 */
#ifndef APLCL_EMBEDDED_FILE_H
#define APLCL_EMBEDDED_FILE_H

#include <stddef.h>

typedef struct aplcl_embedded_file {
    const char *name;
    const unsigned char *data;
    size_t size;
} aplcl_embedded_file;

#endif /* APLCL_EMBEDDED_FILE_H */
