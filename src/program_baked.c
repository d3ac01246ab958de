/* program_baked.c: loss programs with one parameter set's constants built in, in a small table.
 *
 * The generic loss kernel takes the loss constants (apl_consts) as an argument and tests them
 * per step: which gamma, whether a clip, how many Taylor terms, whether the focusing term is
 * differentiated. With the constants known when the program is compiled, those tests and the
 * coefficient loops fold away (measured: aplcl bench, bench/README.md). A training run calls
 * the loss thousands of times with one parameter set, so such a program pays for its build.
 *
 * Bounded: a parameter set's program is started on its (APL_BAKE_AFTER + 1)-th call, so one-off
 * calls (checks, a coefficient search's short probes) build nothing; at most APL_BAKED_SLOTS
 * programs are kept per context, the least recently used one goes; they are never written to
 * the binary cache (a search over dozens of sets would fill it). Not blocking: the build (about
 * a second on PoCL) runs on a thread of its own, and calls keep the generic kernel until it is
 * ready. That switch is invisible: results are the generic kernel's, bit for bit (the same
 * operations, with constant operands; tests/test_baked.c). $APLCL_BAKE=0 turns it off; 2
 * (tests, `aplcl bench`) builds in the call and makes a failed build fail it. Not here: the
 * generic variants (program.c).
 */
#include "internal.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A bounded string being appended to; ok turns false (and stays) once something did not fit. */
typedef struct {
    char *p;
    size_t cap, n;
    bool ok;
} apl_str;

static void str_add(apl_str *s, const char *fmt, ...) {
    if (!s->ok)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(s->p + s->n, s->cap - s->n, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= s->cap - s->n)
        s->ok = false;
    else
        s->n += (size_t)w;
}

/* One float as an OpenCL C literal that reads back as the same float: C99 hex (%a), or
 * INFINITY (apl_derive's "no threshold"). The parameters were validated: no NaN. */
static void str_add_float(apl_str *s, float f, const char *sep) {
    if (isinf(f))
        str_add(s, "%sINFINITY%s", f < 0 ? "-" : "", sep);
    else
        str_add(s, "%af%s", (double)f, sep);
}

/* The variant's options plus -DAPL_BAKED_K={...}, apl_consts's initializer in member order
 * (kernels/apl_abi.h). No spaces inside: the option string is split at them. False if it does
 * not fit. */
static bool baked_options(const apl_variant *v, const apl_consts *k, char *out, size_t cap) {
    apl_str s = {out, cap, 0, true};
    str_add(&s, "%s -DAPL_BAKED_K={{", v->opts);
    for (int j = 0; j < APL_MAX_TERMS; ++j)
        str_add_float(&s, k->cpos[j], j + 1 < APL_MAX_TERMS ? "," : "},{");
    for (int j = 0; j < APL_MAX_TERMS; ++j)
        str_add_float(&s, k->cneg[j], j + 1 < APL_MAX_TERMS ? "," : "},");
    const float rest[] = {k->lead_pos, k->lead_neg,     k->gamma_pos,  k->gamma_neg,
                          k->clip,     k->pos_floor_x,  k->neg_clip_x, k->neg_floor_x,
                          k->ln_eps,   k->one_minus_eps};
    for (size_t j = 0; j < sizeof rest / sizeof rest[0]; ++j)
        str_add_float(&s, rest[j], ",");
    str_add(&s, "%d,%d,%d}", k->npos, k->nneg, k->focus);
    return s.ok;
}

/* Empties a slot; a builder that ran for it is joined first (it has finished: a slot being
 * built is never chosen for reuse). */
static void slot_release(apl_baked *b) {
    if (b->joinable)
        pthread_join(b->builder, NULL);
    if (b->loss)
        clReleaseKernel(b->loss);
    if (b->program)
        clReleaseProgram(b->program);
    b->v = NULL;
    b->uses = 0;
    b->stamp = 0;
    b->joinable = false;
    b->ctx = NULL;
    b->program = NULL;
    b->loss = NULL;
    atomic_store(&b->state, APL_BAKE_IDLE);
}

/* Builds b's program and kernel; whether it worked. Reads only what a context never changes
 * after creation (context, device, local size), so it may run on another thread. */
static bool slot_build(apl_baked *b) {
    char opts[1024];
    if (!baked_options(b->v, &b->k, opts, sizeof opts))
        return false;
    if (apl_build_program_uncached(b->ctx, APL_PROGRAM_LOSS, opts, &b->program) != APLCL_SUCCESS)
        return false;
    if (apl_make_kernel(b->ctx, b->program, "apl_loss", &b->loss) != APLCL_SUCCESS) {
        clReleaseProgram(b->program);
        b->program = NULL, b->loss = NULL;
        return false;
    }
    return true;
}

static void *builder_main(void *arg) {
    apl_baked *b = arg;
    bool ok = slot_build(b);
    atomic_store_explicit(&b->state, ok ? APL_BAKE_READY : APL_BAKE_FAILED, memory_order_release);
    return NULL;
}

/* Starts b's build: on its own thread (the default), or now with $APLCL_BAKE=2. */
static void slot_start(aplcl_ctx *ctx, apl_baked *b) {
    b->ctx = ctx;
    atomic_store(&b->state, APL_BAKE_BUILDING);
    if (ctx->bake == 1 && pthread_create(&b->builder, NULL, builder_main, b) == 0) {
        b->joinable = true;
        return;
    }
    builder_main(b); /* $APLCL_BAKE=2, or no thread to be had: build in this call */
}

cl_kernel apl_baked_loss(aplcl_ctx *ctx, const apl_variant *v, const apl_consts *k) {
    if (!ctx->bake)
        return v->loss;
    apl_baked *hit = NULL, *victim = NULL;
    for (int i = 0; i < APL_BAKED_SLOTS; ++i) {
        apl_baked *b = &ctx->baked[i];
        if (b->v == v && memcmp(&b->k, k, sizeof *k) == 0) {
            hit = b;
            break;
        }
        /* the least recently used slot not being built (empty ones have stamp 0) */
        if (atomic_load(&b->state) != APL_BAKE_BUILDING && (!victim || b->stamp < victim->stamp))
            victim = b;
    }
    if (!hit) {
        if (!victim) /* every slot is being built: this call goes without */
            return v->loss;
        slot_release(victim);
        hit = victim;
        hit->v = v;
        hit->k = *k;
    }
    hit->stamp = ++ctx->baked_clock;
    if (hit->uses <= APL_BAKE_AFTER)
        ++hit->uses;
    if (hit->uses > APL_BAKE_AFTER && atomic_load(&hit->state) == APL_BAKE_IDLE)
        slot_start(ctx, hit);
    int state = atomic_load_explicit(&hit->state, memory_order_acquire);
    if (state == APL_BAKE_READY)
        return hit->loss;
    if (state == APL_BAKE_FAILED && ctx->bake == 2)
        return NULL; /* $APLCL_BAKE=2 (tests): a failed build is an error, not a fallback */
    return v->loss;
}

void apl_baked_release_all(aplcl_ctx *ctx) {
    for (int i = 0; i < APL_BAKED_SLOTS; ++i)
        slot_release(&ctx->baked[i]);
}
