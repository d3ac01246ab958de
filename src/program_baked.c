/* program_baked.c: loss programs with one parameter set's constants built in, in a small table.
 *
 * The generic loss kernel takes the loss constants (apl_consts) as an argument and tests them
 * per step: which gamma, whether a clip, how many Taylor terms, whether the focusing term is
 * differentiated. With the constants known when the program is compiled, those tests and the
 * coefficient loops fold away (measured: aplcl bench, bench/README.md). A training run calls
 * the loss thousands of times with one parameter set, so such a program pays for its build.
 *
 * Bounded: a parameter set gets its program on its (APL_BAKE_AFTER + 1)-th call, so one-off
 * calls (checks, a coefficient search's short probes) build nothing; at most APL_BAKED_SLOTS
 * programs are kept per context, the least recently used one goes; they are never written to
 * the binary cache (a search over dozens of sets would fill it). Results are the generic
 * kernel's, bit for bit (the same operations, with constant operands; tests/test_baked.c).
 * $APLCL_BAKE=0 turns it off; 2 (for tests) makes a failed build fail the call. Not here: the
 * generic variants (program.c).
 */
#include "internal.h"

#include <math.h>
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

static void slot_release(apl_baked *b) {
    if (b->loss)
        clReleaseKernel(b->loss);
    if (b->program)
        clReleaseProgram(b->program);
    memset(b, 0, sizeof *b);
}

/* Builds b's program; on failure the slot remembers it and the generic kernel serves. */
static void slot_build(aplcl_ctx *ctx, apl_baked *b) {
    char opts[1024];
    b->failed = 1;
    if (!baked_options(b->v, &b->k, opts, sizeof opts))
        return;
    if (apl_build_program_uncached(ctx, "apl_", opts, &b->program) != APLCL_SUCCESS)
        return;
    if (apl_make_kernel(ctx, b->program, "apl_loss", &b->loss) != APLCL_SUCCESS) {
        clReleaseProgram(b->program);
        b->program = NULL, b->loss = NULL;
        return;
    }
    b->failed = 0;
}

cl_kernel apl_baked_loss(aplcl_ctx *ctx, const apl_variant *v, const apl_consts *k) {
    if (!ctx->bake)
        return v->loss;
    apl_baked *hit = NULL, *oldest = &ctx->baked[0];
    for (int i = 0; i < APL_BAKED_SLOTS; ++i) {
        apl_baked *b = &ctx->baked[i];
        if (b->v == v && memcmp(&b->k, k, sizeof *k) == 0) {
            hit = b;
            break;
        }
        if (b->stamp < oldest->stamp)
            oldest = b;
    }
    if (!hit) { /* a new set takes the least recently used slot (empty ones have stamp 0) */
        slot_release(oldest);
        hit = oldest;
        hit->v = v;
        hit->k = *k;
    }
    hit->stamp = ++ctx->baked_clock;
    if (hit->uses <= APL_BAKE_AFTER)
        ++hit->uses;
    if (!hit->loss && !hit->failed && hit->uses > APL_BAKE_AFTER)
        slot_build(ctx, hit);
    if (!hit->loss && hit->failed && ctx->bake == 2)
        return NULL; /* $APLCL_BAKE=2 (tests): a failed build is an error, not a fallback */
    return hit->loss ? hit->loss : v->loss;
}

void apl_baked_release_all(aplcl_ctx *ctx) {
    for (int i = 0; i < APL_BAKED_SLOTS; ++i)
        slot_release(&ctx->baked[i]);
}
