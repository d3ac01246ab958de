/* status.c: status strings, version, and the thread-local error details.
 *
 * The strings come from the same X-macro list as the enum (aplcl.h), so they cannot drift.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

unsigned aplcl_version_number(void) { return APLCL_VERSION_NUMBER; }

const char *aplcl_status_string(aplcl_status status) {
    switch (status) {
#define APLCL_STATUS_CASE_(name, value, text)                                                      \
    case name:                                                                                     \
        return text;
        APLCL_STATUS_MAP(APLCL_STATUS_CASE_)
#undef APLCL_STATUS_CASE_
    }
    return "unknown aplcl status";
}

static _Thread_local cl_int tls_cl_error = CL_SUCCESS;
/* Build logs can be long; keep a bounded copy (the start is where the errors are). */
#define APL_BUILD_LOG_MAX 65536
static _Thread_local char tls_build_log[APL_BUILD_LOG_MAX];

void apl_set_cl_error(cl_int err) { tls_cl_error = err; }

cl_int aplcl_last_cl_error(void) { return tls_cl_error; }

void apl_set_build_log(const char *log, size_t len) {
    if (!log) {
        tls_build_log[0] = '\0';
        return;
    }
    if (len >= APL_BUILD_LOG_MAX)
        len = APL_BUILD_LOG_MAX - 1;
    memcpy(tls_build_log, log, len);
    tls_build_log[len] = '\0';
}

const char *aplcl_last_build_log(void) { return tls_build_log; }
