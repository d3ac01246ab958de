/* cuda_args.c: packing of the CUDA launch arguments and their check against PTX (cuda_args.h). */
#include "cuda_args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(apl_cu_args *a, char kind, const void *v, size_t size) {
    if (a->n >= APL_CU_MAX_ARGS) {
        a->overflow = 1;
        return;
    }
    int i = a->n++;
    a->kind[i] = kind;
    a->size[i] = size;
    if (kind == 'b') {
        memcpy(&a->consts, v, sizeof a->consts);
        a->ptr[i] = &a->consts;
    } else {
        a->word[i] = 0;
        memcpy(&a->word[i], v, size);
        a->ptr[i] = &a->word[i];
    }
}
static void u64(apl_cu_args *a, uint64_t v) { put(a, 'u', &v, 8); }
static void i32(apl_cu_args *a, int v) { put(a, 'i', &v, 4); }

void apl_cu_pack_loss(apl_cu_args *a, const apl_cu_loss_args *v) {
    memset(a, 0, sizeof *a);
    u64(a, v->n);
    u64(a, v->rows);
    u64(a, v->cols);
    u64(a, v->per_item);
    u64(a, v->xs);
    u64(a, v->x_off);
    u64(a, v->t0);
    u64(a, v->t0_off);
    u64(a, v->t1);
    u64(a, v->t1_off);
    u64(a, v->nnz);
    u64(a, v->grad);
    u64(a, v->g_off);
    i32(a, v->accumulate);
    u64(a, v->elem);
    u64(a, v->e_off);
    put(a, 'b', &v->k, sizeof v->k);
    put(a, 'f', &v->grad_scale, 4);
    i32(a, v->mul_from_count);
    u64(a, v->res_cnt);
    u64(a, v->partial_acc);
    u64(a, v->partial_cnt);
    u64(a, v->tcols);
    u64(a, v->tcol0);
    if (v->weighted) {
        u64(a, v->pw);
        u64(a, v->pw_off);
        u64(a, v->wt);
        u64(a, v->wt_off);
        i32(a, v->wkind);
    }
}

void apl_cu_pack_count(apl_cu_args *a, const apl_cu_count_args *v) {
    memset(a, 0, sizeof *a);
    u64(a, v->n);
    u64(a, v->rows);
    u64(a, v->cols);
    u64(a, v->per_item);
    u64(a, v->t0);
    u64(a, v->t0_off);
    u64(a, v->t1);
    u64(a, v->t1_off);
    u64(a, v->partial_cnt);
    u64(a, v->tcols);
    u64(a, v->tcol0);
}

void apl_cu_pack_finalize(apl_cu_args *a, const apl_cu_finalize_args *v) {
    memset(a, 0, sizeof *a);
    put(a, 'i', &v->groups, 4);
    u64(a, v->partial_acc);
    u64(a, v->partial_cnt);
    i32(a, v->counts_only);
    i32(a, v->mean);
    put(a, 'd', &v->normalizer, 8);
    u64(a, v->res_loss);
    u64(a, v->res_cnt);
    u64(a, v->loss_out);
    u64(a, v->loss_off);
    u64(a, v->cnt_out);
    u64(a, v->cnt_off);
}

/* One PTX parameter: its size in bytes and class ('i' integer/bits, 'f' float, 'b' byte array). */
static int parse_param(const char *p, const char *end, size_t *size, char *cls) {
    const char *t = p;
    while (t < end) {
        while (t < end && (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r'))
            ++t;
        const char *w = t;
        while (t < end && !(*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r'))
            ++t;
        size_t wl = (size_t)(t - w);
        if (wl < 3 || w[0] != '.')
            continue;
        char c = w[1];
        if ((c == 'u' || c == 's' || c == 'b' || c == 'f') && w[2] >= '0' && w[2] <= '9') {
            int bits = atoi(w + 2);
            *cls = c == 'f' ? 'f' : 'i';
            *size = (size_t)bits / 8;
            /* a byte array: ".b8 name[116]" */
            const char *br = memchr(t, '[', (size_t)(end - t));
            if (c == 'b' && bits == 8 && br) {
                *cls = 'b';
                *size = (size_t)strtoul(br + 1, NULL, 10);
            }
            return 0;
        }
    }
    return -1;
}

int apl_cu_check_params(const char *ptx, const char *entry, const apl_cu_args *a, char *err,
                        size_t err_size) {
    char head[128];
    snprintf(head, sizeof head, ".entry %s(", entry);
    const char *p = strstr(ptx, head);
    if (!p) {
        snprintf(err, err_size, "%s: no such entry in the PTX", entry);
        return -1;
    }
    p += strlen(head);
    const char *close = strchr(p, ')');
    if (!close || a->overflow) {
        snprintf(err, err_size, "%s: unreadable parameter list", entry);
        return -1;
    }
    int i = 0;
    for (const char *q = strstr(p, ".param"); q && q < close; q = strstr(q + 6, ".param"), ++i) {
        const char *next = strstr(q + 6, ".param");
        const char *end = next && next < close ? next : close;
        size_t size = 0;
        char cls = 0;
        if (parse_param(q + 6, end, &size, &cls) != 0) {
            snprintf(err, err_size, "%s: parameter %d unreadable", entry, i);
            return -1;
        }
        if (i >= a->n) {
            snprintf(err, err_size, "%s: the kernel has more than the %d arguments packed", entry,
                     a->n);
            return -1;
        }
        char want = a->kind[i] == 'u' || a->kind[i] == 'i' ? 'i' : a->kind[i] == 'b' ? 'b' : 'f';
        if (size != a->size[i] || cls != want) {
            snprintf(err, err_size,
                     "%s: argument %d packed as %zu bytes (%c), the kernel takes %zu bytes (%c)",
                     entry, i, a->size[i], want, size, cls);
            return -1;
        }
    }
    if (i != a->n) {
        snprintf(err, err_size, "%s: %d arguments packed, the kernel takes %d", entry, a->n, i);
        return -1;
    }
    return 0;
}
