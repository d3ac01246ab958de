/* env.h: the one place the library reads the environment (aplcl.h, aplcl_ctx_create_ex): the device
 * when the options name none, and the program-cache folder when they give none. Called at context
 * creation only (aplcl_ctx_create_ex, aplcl_cuda_ctx_create), on the caller's thread; nothing
 * later reads it. Not here: the tools' own variables (common/tool_util.c maps those to options).
 */
#ifndef APLCL_ENV_H
#define APLCL_ENV_H

#include <stddef.h>

/* The device spec: `option` when given (not NULL, not empty), else $APLCL_DEVICE when set and
 * not empty, else NULL (the library's default device). */
const char *apl_env_device(const char *option);

/* The cache folder into out[size]: `option` when not NULL, else $APLCL_CACHE_DIR when set, else
 * $XDG_CACHE_HOME/aplcl, else $HOME/.cache/aplcl. The chosen value "" or "off" means no cache.
 * out is "" when there is no cache, or when the path does not fit (a cut path would name some
 * other folder). */
void apl_env_cache_dir(const char *option, char *out, size_t size);

#endif /* APLCL_ENV_H */
