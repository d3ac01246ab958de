/* study_calib.c: the calibration's timed runs and its records in the cache folder
 * (study_calib.h).
 *
 * Why runs this long: on emotions a run starts in about 80 ms that vary by +-20 ms on a shared
 * machine, and an epoch costs about 1 ms; the first calibration timed runs of 2 and 6 epochs and
 * took the difference, so its per-epoch cost came out anywhere from 0 to 18 ms, and a plan of
 * long rungs overran its budget by up to 2x (or stopped far short of it). Here the per-epoch cost
 * is the difference between a run of at least 0.3 s and the median of three short ones.
 */
#define _POSIX_C_SOURCE 200809L /* sysconf, mkstemp, fchmod */
#include "study_calib.h"

#include "study_boot.h"
#include "tool_util.h"
#include "trainer.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LONG_RUN_S 0.3   /* the shortest run that measures the per-epoch cost */
#define MAX_EPOCHS 65536 /* the doubling stops here (a data set of sub-microsecond epochs) */
#define BOOT_B 16        /* bootstrap resamples timed: 32 mAPs */

typedef struct {
    aplcl_ctx *ctx;
    trainer_config tc;
    const arff_data *test;
} calib_env;

/* Seconds of one run of `epochs` epochs (with the test set measured and the logits kept, as in
 * a last rung, when with_test); the result is kept in *keep when keep is not NULL. */
static int timed(const calib_env *e, int epochs, int with_test, trainer_result *keep, double *s) {
    trainer_config tc = e->tc;
    tc.epochs = epochs;
    tc.test = with_test ? e->test : NULL;
    aplcl_params p = aplcl_params_bce();
    trainer_result r;
    double t0 = cli_now_s();
    if (trainer_run_keep(e->ctx, &tc, "bce", &p, 1, 1, with_test, &r) != 0)
        return -1;
    *s = cli_now_s() - t0;
    if (keep)
        *keep = r;
    else
        trainer_result_free(&r);
    return 0;
}

static double median3(double a, double b, double c) {
    return a > b ? (b > c ? b : a > c ? c : a) : (a > c ? a : b > c ? c : b);
}

static double pos(double v) { return v > 0 ? v : 0; }

int study_calibrate(aplcl_ctx *ctx, const arff_data *train, const arff_data *val,
                    const arff_data *test, int hidden, size_t batch, float lr, const char *who,
                    study_cost *c) {
    calib_env e = {
        ctx,
        {train, val, NULL, 1, hidden, batch, lr, TRAINER_SELECT_BEST_VAL, 0, 0, NULL, 0, who, NULL},
        test};
    /* the warm-up (first uses build and cache programs) keeps its test logits for the bootstrap */
    trainer_result warm;
    double t, s2[3], ts2[3], lt[3], ln[3];
    if (timed(&e, 2, 1, &warm, &t) != 0)
        return -1;
    const float *a[1] = {warm.test_logits};
    double lo, hi, t0 = cli_now_s();
    study_bootstrap(a, a, 1, test->y, test->rows, test->labels, BOOT_B, 1, &lo, &hi);
    c->map_s = (cli_now_s() - t0) / (4.0 * BOOT_B / 2);
    trainer_result_free(&warm);
    double start = cli_now_s(); /* calib_s counts from here: a cold cache's kernel build is not
                                   the calibration's cost, and would inflate every later plan */
    /* the start-up: short runs, alternating with and without the test set */
    for (int i = 0; i < 3; ++i)
        if (timed(&e, 2, 0, NULL, &s2[i]) != 0 || timed(&e, 2, 1, NULL, &ts2[i]) != 0)
            return -1;
    double S = median3(s2[0], s2[1], s2[2]), TS = median3(ts2[0], ts2[1], ts2[2]);
    /* the per epoch: double the epochs until a run is long enough to dwarf the start-up's noise */
    int L = 8;
    for (;;) {
        if (timed(&e, L, 0, NULL, &ln[0]) != 0)
            return -1;
        if (ln[0] >= LONG_RUN_S || L >= MAX_EPOCHS)
            break;
        L *= 2;
    }
    for (int i = 0; i < 3; ++i) /* the median of three of each: a shared machine's load moves */
        if (timed(&e, L, 1, NULL, &lt[i]) != 0 || (i < 2 && timed(&e, L, 0, NULL, &ln[i + 1]) != 0))
            return -1;
    double span = L - 2;
    c->epoch_s = pos((median3(ln[0], ln[1], ln[2]) - S) / span);
    c->test_s = pos((median3(lt[0], lt[1], lt[2]) - TS) / span - c->epoch_s);
    c->run_s = pos(S - 2 * c->epoch_s);
    c->test_run_s = pos(TS - 2 * (c->epoch_s + c->test_s) - c->run_s);
    /* and the warm-up and bootstrap as the model prices them */
    c->calib_s = cli_now_s() - start + c->run_s + c->test_run_s + 2 * (c->epoch_s + c->test_s) +
                 2.0 * BOOT_B * c->map_s;
    return 0;
}

/* ---- the key: what the cost depends on ---- */

static void cpu_model(char *out, size_t size) {
    snprintf(out, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            const char *v = strchr(line, ':');
            if (v) {
                v += strspn(v + 1, " \t") + 1;
                snprintf(out, size, "%.*s", (int)strcspn(v, "\r\n"), v);
            }
            break;
        }
    fclose(f);
}

/* The build: an unoptimised or instrumented binary runs at another speed. */
#if defined(__SANITIZE_ADDRESS__)
#define STUDY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STUDY_ASAN 1
#endif
#endif
static const char *build_kind(void) {
#if defined(STUDY_ASAN)
    return "asan";
#elif defined(__OPTIMIZE__)
    return "optimised";
#else
    return "unoptimised";
#endif
}

void study_calib_key(aplcl_ctx *ctx, const char *name, const arff_data *train, const arff_data *val,
                     const arff_data *test, int hidden, size_t batch, char *key, size_t size) {
    char cpu[256], driver[128] = "?";
    cl_uint units = 0;
    cpu_model(cpu, sizeof cpu);
    cl_device_id dev = aplcl_ctx_device(ctx);
    if (clGetDeviceInfo(dev, CL_DRIVER_VERSION, sizeof driver, driver, NULL) != CL_SUCCESS)
        snprintf(driver, sizeof driver, "?");
    if (clGetDeviceInfo(dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL) != CL_SUCCESS)
        units = 0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(key, size,
             "aplcl %u %s; device %s; driver %s; units %u; cpu %s; cores %ld; set %s; rows "
             "%zu/%zu/%zu; features %zu; labels %zu; hidden %d; batch %zu",
             aplcl_version_number(), build_kind(), aplcl_ctx_device_name(ctx), driver,
             (unsigned)units, cpu, cores, name, train->rows, val->rows, test->rows, train->features,
             train->labels, hidden, batch);
    for (char *p = key; *p; ++p) /* one line, whatever a name holds */
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

/* ---- the records ---- */

int study_calib_dir(const char *option, char *out, size_t size) {
    const char *dir = option, *base = NULL, *tail = "";
    if (!dir)
        dir = getenv("APLCL_CACHE_DIR"); /* the library's rule (src/ctx.c, resolve_cache_dir) */
    if (dir)
        base = *dir && strcmp(dir, "off") != 0 ? dir : NULL;
    else if ((base = getenv("XDG_CACHE_HOME")) != NULL && *base)
        tail = "/aplcl";
    else if ((base = getenv("HOME")) != NULL && *base)
        tail = "/.cache/aplcl";
    else
        base = NULL;
    out[0] = '\0';
    if (!base)
        return 0;
    int n = snprintf(out, size, "%s%s/study-calibration", base, tail);
    if (n < 0 || (size_t)n >= size) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; ++s)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void study_calib_path(const char *dir, const char *key, char *out, size_t size) {
    snprintf(out, size, "%s/%016llx.txt", dir, (unsigned long long)fnv1a(key));
}

#define RECORD_HEAD "aplcl study calibration 1\n"
static const char *const FIELDS[7] = {"load_s",     "calib_s", "run_s", "epoch_s",
                                      "test_run_s", "test_s",  "map_s"};
static double *field(study_cost *c, int i) {
    double *f[7] = {&c->load_s,     &c->calib_s, &c->run_s, &c->epoch_s,
                    &c->test_run_s, &c->test_s,  &c->map_s};
    return f[i];
}

int study_calib_load(const char *dir, const char *key, study_cost *c) {
    char path[4096], line[2048];
    study_calib_path(dir, key, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    study_cost got;
    int ok = fgets(line, sizeof line, f) && strcmp(line, RECORD_HEAD) == 0 &&
             fgets(line, sizeof line, f) && strncmp(line, "key ", 4) == 0 &&
             strcspn(line + 4, "\n") == strlen(key) && strncmp(line + 4, key, strlen(key)) == 0;
    for (int i = 0; ok && i < 7; ++i) {
        size_t n = strlen(FIELDS[i]);
        char *end = NULL;
        ok = fgets(line, sizeof line, f) && strncmp(line, FIELDS[i], n) == 0 && line[n] == ' ';
        if (ok) {
            errno = 0;
            *field(&got, i) = strtod(line + n + 1, &end);
            ok = errno == 0 && end != line + n + 1 && *end == '\n' && isfinite(*field(&got, i)) &&
                 *field(&got, i) >= 0;
        }
    }
    fclose(f);
    if (ok)
        *c = got;
    return ok ? 0 : -1;
}

static int mkdir_p(const char *dir) {
    char p[4096];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p)
        return errno = ENAMETOOLONG, -1;
    for (char *s = p + 1; *s; ++s)
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                return -1;
            *s = '/';
        }
    return mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

int study_calib_save(const char *dir, const char *key, const study_cost *c) {
    char path[4096], tmp[4112];
    study_calib_path(dir, key, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path);
    if (mkdir_p(dir) != 0)
        return -1;
    int fd = mkstemp(tmp);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd), unlink(tmp);
        return -1;
    }
    fchmod(fd, 0644);
    study_cost v = *c;
    fprintf(f, RECORD_HEAD "key %s\n", key);
    for (int i = 0; i < 7; ++i) /* %.17g: strtod reads back the same double */
        fprintf(f, "%s %.17g\n", FIELDS[i], *field(&v, i));
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
        int err = errno ? errno : EIO;
        unlink(tmp);
        errno = err;
        return -1;
    }
    return 0;
}
