/* test_cuda_fake.c: the CUDA host path (contexts, cubin choice, NVRTC fallback and its disk cache,
 * the launches of one call) against tests/fake_libcuda.c, so it runs without a GPU (host label).
 *
 * sm_90: the embedded sm_90 cubin; sm_86: the embedded sm_80 one (same major); sm_75 without
 * NVRTC allowed: DEVICE_UNSUPPORTED; sm_75 with NVRTC ($APLCL_NVRTC_LIBRARY, set by CTest when
 * the build found one, mapped to the options by cli_cuda_options_from_env: the library reads no
 * such variable): compiled, then taken from the disk cache by the next context, and compiled
 * again with cache_dir "off" (no cache, as aplcl_ctx_options has it). A context naming another
 * driver library than the one loaded: INVALID_OPTION. One MEAN
 * call with a gradient: count, finalize, loss, finalize, in that order, 256 threads, the loss
 * pass over rows*cols elements. Nothing here runs a kernel (that is test_cuda's, label cuda).
 */
#define _POSIX_C_SOURCE 200809L
#include "aplcl_cuda.h"
#include "test_util.h"

#include <dirent.h>
#include <dlfcn.h>
#include <unistd.h>

typedef struct {
    char name[32];
    unsigned grid, block;
    uint64_t arg0;
} fake_launch;

static char cache_dir[512]; /* a folder of this run's own: the first NVRTC call must miss */
static const char *fake_path;

static aplcl_status create_in(aplcl_cuda_ctx **ctx, const char *sm, int allow_nvrtc,
                              const char *dir) {
    setenv("FAKE_CUDA_SM", sm, 1);
    aplcl_cuda_options o;
    cli_cuda_options_from_env(&o); /* APLCL_NVRTC_LIBRARY, as the tools map it */
    o.cuda_library = fake_path;
    o.allow_nvrtc = allow_nvrtc;
    o.cache_dir = dir;
    return aplcl_cuda_ctx_create(ctx, 0, &o);
}
static aplcl_status create(aplcl_cuda_ctx **ctx, const char *sm, int allow_nvrtc) {
    return create_in(ctx, sm, allow_nvrtc, cache_dir);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        printf("usage: test_cuda_fake <path of libfake_libcuda.so>\n");
        return 2;
    }
    fake_path = argv[1];
    const char *base = getenv("APLCL_CACHE_DIR");
    snprintf(cache_dir, sizeof cache_dir, "%s/run-%ld", base ? base : "/tmp", (long)getpid());
    void *fake = dlopen(argv[1], RTLD_NOW); /* the same handle the library gets */
    int (*launches)(const fake_launch **) = NULL;
    int (*modules)(void) = NULL;
    void (*reset)(void) = NULL;
    if (fake) {
        *(void **)&launches = dlsym(fake, "fake_cuda_launches");
        *(void **)&modules = dlsym(fake, "fake_cuda_modules");
        *(void **)&reset = dlsym(fake, "fake_cuda_reset");
    }
    CHECK(fake && launches && modules && reset);
    if (!fake || !launches)
        return tu_exit_code();
    const char *embedded = getenv("EXPECT_EMBEDDED"); /* "1": the build embedded cubins */
    int has_cubins = embedded && strcmp(embedded, "1") == 0;

    aplcl_cuda_ctx *ctx = NULL;
    CHECK_STATUS(create(&ctx, "90", 0), has_cubins ? APLCL_SUCCESS : APLCL_ERR_DEVICE_UNSUPPORTED);
    if (ctx) {
        printf("sm_90: %s\n", aplcl_cuda_ctx_describe(ctx));
        CHECK(strstr(aplcl_cuda_ctx_describe(ctx), "sm_90 embedded") != NULL);
        /* one MEAN call with a gradient on F32 targets (ignorable): the count pass first */
        size_t rows = 300, cols = 1000;
        float *x = calloc(rows * cols, 4), *y = calloc(rows * cols, 4), *g = calloc(rows * cols, 4);
        aplcl_cuda_io io = aplcl_cuda_io_default();
        io.logits = x, io.targets.data = y, io.grad = g;
        aplcl_params p = aplcl_params_default();
        p.reduction = APLCL_REDUCE_MEAN;
        reset();
        CHECK_STATUS(aplcl_cuda_compute_io(ctx, &p, rows, cols, &io, NULL, 0, NULL), APLCL_SUCCESS);
        const fake_launch *l;
        int n = launches(&l);
        CHECK_EQ(n, 4);
        if (n == 4) {
            CHECK(strcmp(l[0].name, "apl_count") == 0 && strcmp(l[1].name, "apl_finalize") == 0 &&
                  strcmp(l[2].name, "apl_loss") == 0 && strcmp(l[3].name, "apl_finalize") == 0);
            for (int i = 0; i < 4; ++i)
                CHECK_EQ(l[i].block, 256);
            CHECK_EQ(l[2].arg0, rows * cols); /* apl_loss's n */
            CHECK_EQ(l[0].arg0, rows * cols); /* apl_count's units: elements */
            CHECK(l[2].grid >= 1 && l[2].grid <= 132 * 4);
            CHECK_EQ(l[3].arg0, l[2].grid); /* finalize sums the loss pass's groups */
            CHECK_EQ(l[1].grid, 1);
        }
        /* SUM needs no count pass; a weighted call loads its own program once */
        p.reduction = APLCL_REDUCE_SUM;
        float *pw = calloc(cols, 4);
        io.weights.pos_weight = pw;
        int before = modules();
        reset();
        CHECK_STATUS(aplcl_cuda_compute_io(ctx, &p, rows, cols, &io, NULL, 0, NULL), APLCL_SUCCESS);
        CHECK_EQ(launches(&l), 2);
        CHECK_EQ(modules(), before + 1);
        CHECK_STATUS(aplcl_cuda_compute_io(ctx, &p, rows, cols, &io, NULL, 0, NULL), APLCL_SUCCESS);
        CHECK_EQ(modules(), before + 1);
        aplcl_cuda_ctx_destroy(ctx);
        free(x), free(y), free(g), free(pw);
    }
    if (has_cubins) {
        CHECK_STATUS(create(&ctx, "86", 0), APLCL_SUCCESS);
        CHECK(ctx && strstr(aplcl_cuda_ctx_describe(ctx), "sm_80 embedded") != NULL);
        aplcl_cuda_ctx_destroy(ctx);
    }
    CHECK_STATUS(create(&ctx, "75", 0), APLCL_ERR_DEVICE_UNSUPPORTED);
    CHECK(ctx == NULL);
    /* the driver is the process's: another library is refused, the same one is not */
    aplcl_cuda_options other = aplcl_cuda_options_default();
    other.cuda_library = "/nonexistent/libcuda.so.1";
    CHECK_STATUS(aplcl_cuda_ctx_create(&ctx, 0, &other), APLCL_ERR_INVALID_OPTION);
    CHECK(ctx == NULL);
    aplcl_cuda_options nv;
    cli_cuda_options_from_env(&nv);
    if (nv.nvrtc_library) { /* set empty in the ASan build: not tested there */
        /* run-time NVRTC, then the disk cache */
        CHECK_STATUS(create(&ctx, "75", 1), APLCL_SUCCESS);
        printf("sm_75: %s\n", aplcl_cuda_ctx_describe(ctx));
        CHECK(ctx && strstr(aplcl_cuda_ctx_describe(ctx), "sm_75 NVRTC") != NULL &&
              !strstr(aplcl_cuda_ctx_describe(ctx), "cached"));
        aplcl_cuda_ctx_destroy(ctx);
        CHECK_STATUS(create(&ctx, "75", 1), APLCL_SUCCESS);
        printf("sm_75 again: %s\n", aplcl_cuda_ctx_describe(ctx));
        CHECK(ctx && strstr(aplcl_cuda_ctx_describe(ctx), "(cached)") != NULL);
        aplcl_cuda_ctx_destroy(ctx);
        /* "off": no cache, so compiled again (once a folder named "off" was made instead) */
        CHECK_STATUS(create_in(&ctx, "75", 1, "off"), APLCL_SUCCESS);
        printf("sm_75, cache off: %s\n", aplcl_cuda_ctx_describe(ctx));
        CHECK(ctx && !strstr(aplcl_cuda_ctx_describe(ctx), "cached"));
        CHECK(access("off", F_OK) != 0);
        aplcl_cuda_ctx_destroy(ctx);
    } else {
        printf("no APLCL_NVRTC_LIBRARY: the run-time NVRTC path is not tested here\n");
    }
    DIR *d = opendir(cache_dir); /* this run's cache files, then the folder */
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", cache_dir, e->d_name);
        if (e->d_name[0] != '.')
            remove(path);
    }
    if (d)
        closedir(d);
    rmdir(cache_dir);
    return tu_exit_code();
}
