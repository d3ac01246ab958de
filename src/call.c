/* call.c: what the calls on one context share, and the lock that lets threads share it.
 *
 * A context's calls use the same scratch buffers, kernel objects (whose arguments are set before
 * each launch), lazily built programs and derived-constants cache, so each call holds the
 * context's mutex from its first shared access to its last enqueue; and each call's work waits
 * for the previous call's, through the event chain ctx->last, which only this file writes. Not
 * here: what a call enqueues (enqueue.c, head.c) or checks (check_io.c).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* The one writer of ctx->last: the context keeps one reference to `ev` (NULL: none). */
static void chain_set(aplcl_ctx *ctx, cl_event ev) {
    if (ctx->last)
        clReleaseEvent(ctx->last);
    ctx->last = ev;
}

aplcl_status apl_calls_init(aplcl_ctx *ctx) {
    return pthread_mutex_init(&ctx->lock, NULL) == 0 ? APLCL_SUCCESS : APLCL_ERR_OUT_OF_HOST_MEMORY;
}

void apl_calls_destroy(aplcl_ctx *ctx) {
    chain_set(ctx, NULL);
    pthread_mutex_destroy(&ctx->lock);
}

/* Only fails on misuse (a destroyed or uninitialised mutex), which a live context never has. */
void apl_lock(aplcl_ctx *ctx) { (void)pthread_mutex_lock(&ctx->lock); }
void apl_unlock(aplcl_ctx *ctx) { (void)pthread_mutex_unlock(&ctx->lock); }

void apl_chain(aplcl_ctx *ctx, cl_event done) {
    if (done) /* NULL: nothing was enqueued, the chain stays as it was */
        chain_set(ctx, done);
}

aplcl_status apl_waits_init(apl_waits *w, const aplcl_ctx *ctx, cl_uint num_events,
                            const cl_event *events) {
    w->n = num_events + (ctx->last ? 1 : 0);
    w->list = w->small;
    if (w->n > sizeof w->small / sizeof w->small[0] &&
        !(w->list = (cl_event *)malloc(w->n * sizeof(cl_event))))
        return APLCL_ERR_OUT_OF_HOST_MEMORY;
    if (num_events)
        memcpy(w->list, events, num_events * sizeof(cl_event));
    if (ctx->last)
        w->list[num_events] = ctx->last;
    return APLCL_SUCCESS;
}

void apl_waits_free(apl_waits *w) {
    if (w->list != w->small)
        free(w->list);
    w->list = w->small;
}
