/* cubin_gen.c: the build-time (and CI-stage) NVRTC compile of every CUDA variant.
 *
 *   cubin_gen [--nvrtc LIB] [--sm 80,90] [--cache DIR] [--blob OUT.c] [--table OUT.md]
 *             [--require] [--jobs N]
 *
 * Compiles the CUDA loss program (cuda_source.h) for each variant and sm with NVRTC loaded by
 * dlopen (LIB, else $APLCL_NVRTC_LIBRARY, else as cuda_nvrtc.h searches: a build tool, it may
 * read the environment, which the library does not), with ptxas's resource report; checks each
 * variant's PTX parameter lists against the launch code's packing (cuda_args.h); writes the
 * cubins as a C file (--blob) and the registers/stack/spills table (--table). Fails (exit 1) on a
 * compile error, an argument drift or a spill. Without NVRTC: writes an empty blob and exits 0,
 * or 1 with --require. --cache DIR keeps each compile's cubin, PTX and log under a hash of
 * (source, options, sm, NVRTC version), so rebuilds and the other build trees recompile nothing.
 * A tool, not part of the library: it prints.
 */
#include "cuda_args.h"
#include "cuda_nvrtc.h"
#include "cuda_source.h"
#include "program_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_SM 8
#define MAX_JOBS (MAX_SM * APL_CUDA_VARIANTS)

typedef struct {
    int sm, variant;
    apl_nvrtc_out out;
    int rc, cached;
} job;

static apl_nvrtc g_nvrtc;
static const char *g_src, *g_cache;
static job g_jobs[MAX_JOBS];
static int g_njobs, g_next;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = (char *)malloc((size_t)n + 1))) {
            if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
                free(buf);
                buf = NULL;
            } else {
                buf[n] = '\0';
                if (len)
                    *len = (size_t)n;
            }
        }
    }
    fclose(f);
    return buf;
}

static int spill(const char *path, const void *data, size_t len) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)pthread_self() % 100000);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return -1;
    int ok = fwrite(data, 1, len, f) == len;
    ok &= fclose(f) == 0;
    return ok && rename(tmp, path) == 0 ? 0 : -1;
}

static void cache_path(char *out, size_t size, const job *j, const char *ext) {
    char defs[256], id[512];
    apl_cuda_variant_defines(j->variant, defs, sizeof defs);
    snprintf(id, sizeof id, "%s|sm_%d|nvrtc %d.%d", defs, j->sm, g_nvrtc.major, g_nvrtc.minor);
    uint64_t h = apl_xxh64(g_src, strlen(g_src), apl_xxh64(id, strlen(id), 0));
    snprintf(out, size, "%s/%016llx.%s", g_cache, (unsigned long long)h, ext);
}

static void run_job(job *j) {
    char p_cubin[4096], p_ptx[4096], p_log[4096];
    if (g_cache) {
        cache_path(p_cubin, sizeof p_cubin, j, "cubin");
        cache_path(p_ptx, sizeof p_ptx, j, "ptx");
        cache_path(p_log, sizeof p_log, j, "log");
        size_t n = 0;
        j->out.cubin = (unsigned char *)slurp(p_cubin, &n);
        j->out.cubin_size = n;
        j->out.ptx = slurp(p_ptx, NULL);
        j->out.log = slurp(p_log, NULL);
        if (j->out.cubin && j->out.ptx && j->out.log && n > 0) {
            j->cached = 1;
            return;
        }
        apl_nvrtc_out_free(&j->out);
    }
    char defs[256];
    apl_cuda_variant_defines(j->variant, defs, sizeof defs);
    j->rc = apl_nvrtc_compile(&g_nvrtc, g_src, defs, j->sm, 1, 1, &j->out);
    if (j->rc == 0 && g_cache && j->out.log) {
        spill(p_cubin, j->out.cubin, j->out.cubin_size);
        spill(p_ptx, j->out.ptx, strlen(j->out.ptx));
        spill(p_log, j->out.log, strlen(j->out.log));
    }
}

static void *worker(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&g_lock);
        int i = g_next < g_njobs ? g_next++ : -1;
        pthread_mutex_unlock(&g_lock);
        if (i < 0)
            return NULL;
        run_job(&g_jobs[i]);
    }
}

/* ptxas -v: per entry "Compiling entry function 'NAME'", then "N bytes stack frame, S bytes spill
 * stores, L bytes spill loads" and "Used R registers". */
typedef struct {
    int regs, stack, spill_st, spill_ld, found;
} usage;

static usage entry_usage(const char *log, const char *entry) {
    usage u = {0, 0, 0, 0, 0};
    char head[128];
    snprintf(head, sizeof head, "Compiling entry function '%s'", entry);
    const char *p = log ? strstr(log, head) : NULL;
    if (!p)
        return u;
    const char *next = strstr(p + strlen(head), "Compiling entry function");
    const char *s = strstr(p, "bytes stack frame");
    const char *r = strstr(p, "Used ");
    if (s && (!next || s < next)) {
        const char *b = s;
        while (b > p && b[-1] != '.' && b[-1] != '\n')
            --b;
        sscanf(b, " %d bytes stack frame, %d bytes spill stores, %d bytes spill loads", &u.stack,
               &u.spill_st, &u.spill_ld);
    }
    if (r && (!next || r < next) && sscanf(r, "Used %d registers", &u.regs) == 1)
        u.found = 1;
    return u;
}

static int check_args(const job *j, char *err, size_t err_size) {
    apl_cu_args a;
    apl_cu_loss_args l;
    memset(&l, 0, sizeof l);
    l.weighted = j->variant % 2;
    apl_cu_pack_loss(&a, &l);
    if (apl_cu_check_params(j->out.ptx, "apl_loss", &a, err, err_size) != 0)
        return -1;
    apl_cu_count_args c;
    memset(&c, 0, sizeof c);
    apl_cu_pack_count(&a, &c);
    if (apl_cu_check_params(j->out.ptx, "apl_count", &a, err, err_size) != 0)
        return -1;
    apl_cu_finalize_args f;
    memset(&f, 0, sizeof f);
    apl_cu_pack_finalize(&a, &f);
    return apl_cu_check_params(j->out.ptx, "apl_finalize", &a, err, err_size);
}

static const char *DT[] = {"f32", "f16", "bf16"};
static const char *TF[] = {"f32", "u8", "bits", "csr"};

/* The cubins, one after another (16-byte aligned), into BLOB.bin, and BLOB (a C file) with the
 * table of where each starts: .incbin pulls the bytes in (a C array of 4 MB took the compiler
 * far longer). The C file names the cubins' hash, so it changes (and recompiles) when they do;
 * unchanged cubins leave BLOB.bin alone. */
static int write_blob(const char *path, int ok_nvrtc, uint64_t src_hash) {
    char bin_path[4096];
    snprintf(bin_path, sizeof bin_path, "%s.bin", path);
    size_t total = 0;
    for (int i = 0; ok_nvrtc && i < g_njobs; ++i)
        total += (g_jobs[i].out.cubin_size + 15) / 16 * 16;
    unsigned char *bin = (unsigned char *)calloc(total ? total : 1, 1);
    size_t cap = 64 * 1024 + 128 * (size_t)g_njobs, len = 0;
    char *s = (char *)malloc(cap);
    if (!bin || !s) {
        free(bin);
        free(s);
        return -1;
    }
    size_t off = 0;
    for (int i = 0; ok_nvrtc && i < g_njobs; ++i) {
        memcpy(bin + off, g_jobs[i].out.cubin, g_jobs[i].out.cubin_size);
        off += (g_jobs[i].out.cubin_size + 15) / 16 * 16;
    }
    uint64_t bin_hash = apl_xxh64(bin, total, 0);
#define EMIT(...) len += (size_t)snprintf(s + len, cap - len, __VA_ARGS__)
    EMIT("/* Generated by src/cuda/cubin_gen.c. Do not edit. */\n#include \"cuda_cubins.h\"\n\n");
    if (ok_nvrtc && total) {
        EMIT("__asm__(\".section .rodata\\n.balign 16\\n.hidden aplcl_cuda_cubin_blob\\n"
             "aplcl_cuda_cubin_blob:\\n.incbin \\\"%s\\\"\\n.previous\");\n",
             bin_path);
        EMIT("extern const unsigned char aplcl_cuda_cubin_blob[];\n");
    }
    EMIT("const apl_cuda_cubin aplcl_cuda_cubins[] = {\n");
    off = 0;
    for (int i = 0; ok_nvrtc && total && i < g_njobs; ++i) {
        EMIT("    {%d, %d, aplcl_cuda_cubin_blob + %zu, %zu},\n", g_jobs[i].sm, g_jobs[i].variant,
             off, g_jobs[i].out.cubin_size);
        off += (g_jobs[i].out.cubin_size + 15) / 16 * 16;
    }
    EMIT("    {0, 0, 0, 0}};\n");
    EMIT("const size_t aplcl_cuda_cubin_count = %d;\n", ok_nvrtc && total ? g_njobs : 0);
    if (ok_nvrtc)
        EMIT("const char aplcl_cuda_cubin_nvrtc[] = \"%d.%d\";\n", g_nvrtc.major, g_nvrtc.minor);
    else
        EMIT("const char aplcl_cuda_cubin_nvrtc[] = \"\";\n");
    EMIT("const unsigned long long aplcl_cuda_cubin_source_hash = 0x%016llxull;\n",
         (unsigned long long)src_hash);
    EMIT("/* cubins' hash: 0x%016llx */\n", (unsigned long long)bin_hash);
#undef EMIT
    int rc = 0;
    size_t old_len = 0;
    char *old = slurp(bin_path, &old_len);
    if (!(old && old_len == total && memcmp(old, bin, total) == 0))
        rc |= spill(bin_path, bin, total);
    free(old);
    rc |= spill(path, s, len); /* always: make compares its time with the generator's inputs */
    free(bin);
    free(s);
    return rc;
}

int main(int argc, char **argv) {
    const char *lib = NULL, *blob = NULL, *table = NULL, *sms = "80,90";
    int require = 0, threads = 2;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--require"))
            require = 1;
        else if (v && !strcmp(a, "--nvrtc"))
            lib = v, ++i;
        else if (v && !strcmp(a, "--sm"))
            sms = v, ++i;
        else if (v && !strcmp(a, "--cache"))
            g_cache = v, ++i;
        else if (v && !strcmp(a, "--blob"))
            blob = v, ++i;
        else if (v && !strcmp(a, "--table"))
            table = v, ++i;
        else if (v && !strcmp(a, "--jobs"))
            threads = atoi(v), ++i;
        else {
            fprintf(stderr, "cubin_gen: unknown argument %s\n", a);
            return 2;
        }
    }
    if (!lib || !*lib) /* a build tool: the environment may name the NVRTC (scripts/test.sh) */
        lib = getenv("APLCL_NVRTC_LIBRARY");
    size_t src_len = 0;
    char *src = apl_cuda_source(&src_len);
    if (!src)
        return 1;
    g_src = src;
    uint64_t src_hash = apl_xxh64(src, src_len, 0);
    if (apl_nvrtc_open(&g_nvrtc, lib) != 0) {
        printf("cubin_gen: no NVRTC (%s): no cubins embedded; the CUDA path needs NVRTC at run "
               "time\n",
               lib && *lib ? lib : "libnvrtc.so.12/.13 not found");
        if (blob && write_blob(blob, 0, src_hash) != 0)
            return 1;
        return require ? 1 : 0;
    }
    if (g_cache)
        mkdir(g_cache, 0777); /* exists already: fine */
    for (const char *p = sms; *p && g_njobs < MAX_JOBS;) {
        int sm = atoi(p);
        for (int v = 0; v < APL_CUDA_VARIANTS; ++v)
            g_jobs[g_njobs].sm = sm, g_jobs[g_njobs++].variant = v;
        p = strchr(p, ',');
        if (!p)
            break;
        ++p;
    }
    if (threads < 1)
        threads = 1;
    if (threads > 16)
        threads = 16;
    pthread_t th[16];
    int started = 0;
    for (int t = 1; t < threads; ++t)
        started += pthread_create(&th[started], NULL, worker, NULL) == 0;
    worker(NULL);
    for (int t = 0; t < started; ++t)
        pthread_join(th[t], NULL);

    int bad = 0, cached = 0;
    FILE *tf = table ? fopen(table, "w") : NULL;
    if (tf)
        fprintf(tf,
                "NVRTC %d.%d (%s), -default-device -Xptxas=-v, APL_LOCAL %d, fp64 accumulation\n\n"
                "| sm | dtype | targets | weighted | kernel | registers | stack B | spill st B "
                "| spill ld B |\n|---|---|---|---|---|---|---|---|---|\n",
                g_nvrtc.major, g_nvrtc.minor, g_nvrtc.path, APL_CUDA_LOCAL);
    for (int i = 0; i < g_njobs; ++i) {
        job *j = &g_jobs[i];
        int v = j->variant;
        cached += j->cached;
        if (j->rc != 0) {
            fprintf(stderr, "cubin_gen: NVRTC %d.%d failed on sm_%d variant %d (%s %s%s):\n%s\n",
                    g_nvrtc.major, g_nvrtc.minor, j->sm, v, DT[v / 8], TF[(v / 2) % 4],
                    v % 2 ? " weighted" : "", j->out.log ? j->out.log : "(no log)");
            bad = 1;
            continue;
        }
        char err[256];
        if (check_args(j, err, sizeof err) != 0) {
            fprintf(stderr, "cubin_gen: argument drift (sm_%d, variant %d): %s\n", j->sm, v, err);
            bad = 1;
        }
        const char *entries[3] = {"apl_loss", "apl_count", "apl_finalize"};
        for (int e = 0; e < 3; ++e) {
            usage u = entry_usage(j->out.log, entries[e]);
            if (!u.found) {
                fprintf(stderr, "cubin_gen: no ptxas report for %s (sm_%d, variant %d)\n",
                        entries[e], j->sm, v);
                bad = 1;
            }
            if (u.spill_st || u.spill_ld) {
                fprintf(stderr, "cubin_gen: %s spills (sm_%d, variant %d): %d/%d bytes\n",
                        entries[e], j->sm, v, u.spill_st, u.spill_ld);
                bad = 1;
            }
            if (tf)
                fprintf(tf, "| %d | %s | %s | %s | %s | %d | %d | %d | %d |\n", j->sm, DT[v / 8],
                        TF[(v / 2) % 4], v % 2 ? "yes" : "no", entries[e], u.regs, u.stack,
                        u.spill_st, u.spill_ld);
        }
    }
    if (tf)
        fclose(tf);
    if (!bad && blob && write_blob(blob, 1, src_hash) != 0) {
        fprintf(stderr, "cubin_gen: cannot write %s: %s\n", blob, strerror(errno));
        bad = 1;
    }
    printf("cubin_gen: NVRTC %d.%d (%s): %d compiles (%d from the cache), %s\n", g_nvrtc.major,
           g_nvrtc.minor, g_nvrtc.path, g_njobs, cached, bad ? "FAILED" : "all passed, no spills");
    for (int i = 0; i < g_njobs; ++i)
        apl_nvrtc_out_free(&g_jobs[i].out);
    apl_nvrtc_close(&g_nvrtc);
    free(src);
    return bad;
}
