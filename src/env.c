/* env.c: the library's reads of the environment (env.h), shared by the OpenCL and CUDA contexts
 * so that both follow one rule. */
#include "env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *apl_env_device(const char *option) {
    if (option && *option)
        return option;
    const char *env = getenv("APLCL_DEVICE");
    return env && *env ? env : NULL;
}

void apl_env_cache_dir(const char *option, char *out, size_t size) {
    const char *dir = option;
    const char *xdg = NULL, *home = NULL;
    if (!dir) {
        /* set and not empty, as the header says (an empty variable is "not given", as for
         * APLCL_DEVICE); the option itself, "" or "off", turns the cache off */
        const char *env = getenv("APLCL_CACHE_DIR");
        dir = env && *env ? env : NULL;
    }
    if (!dir) {
        xdg = getenv("XDG_CACHE_HOME");
        home = getenv("HOME");
    }
    int n = 0;
    if (dir)
        n = *dir && strcmp(dir, "off") != 0 ? snprintf(out, size, "%s", dir) : 0;
    else if (xdg && *xdg)
        n = snprintf(out, size, "%s/aplcl", xdg);
    else if (home && *home)
        n = snprintf(out, size, "%s/.cache/aplcl", home);
    if (n <= 0 || (size_t)n >= size)
        out[0] = '\0';
}
