/* test_cache.c: the program-binary cache never poisons a run, and repairs itself.
 *
 * For each kind of damage to the cache files (cut short, bytes flipped, files swapped between
 * programs (f32 and u8 targets, loss and count/finalize), a header forged for another device or
 * driver, kernels that do not match, a file too long, empty, a directory or FIFO in a file's place)
 * a fresh context must give results bitwise equal to a run without cache, and leave a valid file
 * that the next run loads. An unusable cache folder must change nothing and print nothing;
 * processes racing on an empty or damaged folder must all be right and leave one whole file per
 * program.
 *
 * How a hit is seen without a hook in the library: a miss always rewrites the file through a new
 * temporary and rename, so the path gets a new inode; a hit leaves inode and bytes as they were.
 * The file layout and hash come from src/program_cache.h, so forged headers carry a correct
 * checksum and reach the identity and kernel checks behind it. Scenario folders live under
 * $APLCL_CACHE_DIR (CTest gives this test a private one). Not tested here: an unreadable file
 * when running as root (permissions do not stop root; CI runs as root).
 */
#define _POSIX_C_SOURCE 200809L /* mkfifo, posix_spawn, mkdtemp, truncate */
#include "program_cache.h"
#include "test_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

enum {
    ROWS = 29,
    COLS = 67,
    N = ROWS * COLS,
    NPROG = 4,
    NCHILD = 4
}; /* F32, U8: loss + count/finalize */
/* Path buffers: the base folder, a scenario folder in it, a file in that. */
enum { BASE_LEN = 2048, DIR_LEN = BASE_LEN + 64, PATH_LEN = DIR_LEN + 320 };

static float g_logits[N], g_tf32[N];
static uint8_t g_tu8[N];
static char g_base[BASE_LEN];

/* ---- one run: a fresh context, the f32- and u8-target programs ---- */

typedef struct outputs {
    aplcl_status create, st[2];
    double loss[2];
    float grad[2][N], elem[2][N];
} outputs;

static void make_data(void) {
    cli_rng r = cli_rng_seed(7);
    for (size_t i = 0; i < N; ++i) {
        g_logits[i] = (float)cli_rng_normal(&r, 0.0, 4.0);
        g_tf32[i] = cli_rng_uniform(&r) < 0.3 ? 1.0f : 0.0f;
        /* some ignored labels, so the two programs' results differ */
        g_tu8[i] = i % 11 == 3 ? APLCL_TARGET_U8_IGNORE : (uint8_t)g_tf32[i];
    }
}

static void run_once(outputs *o) {
    memset(o, 0, sizeof *o);
    aplcl_ctx *ctx = NULL;
    o->create = aplcl_ctx_create(&ctx, NULL);
    if (o->create != APLCL_SUCCESS)
        return;
    aplcl_params p = aplcl_params_default();
    o->st[0] = aplcl_host_compute(ctx, &p, ROWS, COLS, g_logits, g_tf32, o->grad[0], o->elem[0],
                                  &o->loss[0]);
    o->st[1] =
        tu_host_u8(ctx, &p, ROWS, COLS, g_logits, g_tu8, o->grad[1], o->elem[1], &o->loss[1]);
    aplcl_ctx_destroy(ctx);
}

static bool same_outputs(const outputs *a, const outputs *b) {
    return a->create == b->create && a->st[0] == b->st[0] && a->st[1] == b->st[1] &&
           memcmp(a->loss, b->loss, sizeof a->loss) == 0 &&
           memcmp(a->grad, b->grad, sizeof a->grad) == 0 &&
           memcmp(a->elem, b->elem, sizeof a->elem) == 0;
}

static outputs g_cold; /* the reference: a run with the cache off */

static void run_and_check(const char *when) {
    static outputs o;
    run_once(&o);
    if (!same_outputs(&o, &g_cold))
        TU_FAIL_AT_(__FILE__, __LINE__, "%s: results differ from the no-cache run (create %s)",
                    when, tu_status_name(o.create));
}

/* ---- files ---- */

/* The whole file (at most APL_CACHE_MAX_BYTES), with one byte of room after it. */
static unsigned char *slurp(const char *path, size_t *len) {
    struct stat sb;
    FILE *f = fopen(path, "rb");
    if (!f || fstat(fileno(f), &sb) != 0 || sb.st_size > (off_t)APL_CACHE_MAX_BYTES) {
        if (f)
            fclose(f);
        return NULL;
    }
    unsigned char *buf = (unsigned char *)tu_xmalloc((size_t)sb.st_size + 1);
    *len = fread(buf, 1, (size_t)sb.st_size, f);
    fclose(f);
    return buf;
}

static void spit(const char *path, const unsigned char *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        CHECK_EQ(fwrite(buf, 1, len, f), len);
        CHECK_EQ(fclose(f), 0);
    }
}

/* The .clbin names in dir, sorted (at most NPROG + 2); *others counts every other entry. */
typedef char name_t[64];
static int list_bins(const char *dir, name_t *names, int *others) {
    int n = 0;
    *others = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (len > 6 && len < sizeof(name_t) && strcmp(e->d_name + len - 6, ".clbin") == 0 &&
            n < NPROG + 2)
            memcpy(names[n++], e->d_name, len + 1);
        else
            ++*others;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof(name_t), (int (*)(const void *, const void *))strcmp);
    return n;
}

static void clear_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[PATH_LEN];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) != 0)
            rmdir(path);
    }
    closedir(d);
}

/* A file the library would accept: whole, and its checksum right (identity is checked by the
 * hit that follows). */
static bool file_valid(const char *path) {
    size_t len = 0;
    unsigned char *b = slurp(path, &len);
    apl_cache_view v;
    bool ok = b && apl_cache_parse(b, len, &v) &&
              apl_le64(b + v.checksum_off) == apl_cache_checksum(b, &v);
    free(b);
    return ok;
}

static ino_t inode_of(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_ino : 0;
}

/* ---- damage ---- */

typedef enum damage {
    CUT_TO_0,
    CUT_TO_100,
    CUT_TO_HALF,
    /* a byte flipped, the checksum left as it was */
    FLIP_MAGIC,
    FLIP_OPTIONS,
    FLIP_PAYLOAD,
    FLIP_LAST,
    ONE_BYTE_LONGER,
    /* a header forged with a correct checksum: only the identity or kernel check can tell */
    OTHER_VERSION,
    OTHER_DEVICE,
    OTHER_DRIVER,
    OTHER_COMPILER,
    OTHER_KERNELS,
    /* the file itself */
    SWAPPED, /* the f32-target program's file holds the u8 one's, and back */
    EMPTY,
    TOO_BIG,
    DIRECTORY,
    FIFO,
    UNREADABLE,
    NUM_DAMAGES
} damage;

static const char *const damage_name[NUM_DAMAGES] = {
    "cut-to-0",          "cut-to-100",      "cut-to-half",
    "flipped-magic",     "flipped-options", "flipped-payload",
    "flipped-last-byte", "one-byte-longer", "other-format-version",
    "other-device",      "other-driver",    "other-compiler",
    "other-kernels",     "swapped-f32-u8",  "empty",
    "too-big",           "directory",       "fifo",
    "unreadable"};

static void cut_to(const char *path, size_t len) { CHECK_EQ(truncate(path, (off_t)len), 0); }

static void cut_half(const char *path) {
    struct stat sb;
    CHECK_EQ(stat(path, &sb), 0);
    cut_to(path, (size_t)sb.st_size / 2);
}

/* One byte of a parsed file changed (or one appended), the checksum fixed for OTHER_*. */
static void edit(const char *path, damage d) {
    size_t len = 0;
    unsigned char *b = slurp(path, &len);
    apl_cache_view v;
    bool parsed = b && apl_cache_parse(b, len, &v);
    CHECK(parsed);
    if (!parsed) {
        free(b);
        return;
    }
    size_t at = len - 1;
    switch (d) {
    case FLIP_MAGIC:
        at = 0;
        break;
    case FLIP_OPTIONS:
        at = v.field_off[7] + v.field_len[7] / 2;
        break;
    case FLIP_PAYLOAD:
        at = v.payload_off + v.payload_len / 2;
        break;
    case ONE_BYTE_LONGER: /* slurp left room for it */
        at = len++;
        break;
    case OTHER_VERSION:
        at = APL_CACHE_MAGIC_LEN;
        break;
    case OTHER_DEVICE:
        at = v.field_off[2];
        break;
    case OTHER_DRIVER:
        at = v.field_off[5] + v.field_len[5] - 1;
        break;
    case OTHER_COMPILER:
        at = v.field_off[6] + v.field_len[6] - 1;
        break;
    case OTHER_KERNELS:
        at = v.names_off;
        break;
    default: /* FLIP_LAST */
        break;
    }
    b[at] ^= 0x01;
    if (d >= OTHER_VERSION) /* same offsets as parsed: only a byte changed */
        apl_put_le64(b + v.checksum_off, apl_cache_checksum(b, &v));
    spit(path, b, len);
    free(b);
}

static void apply(damage d, const char *path) {
    switch (d) {
    case CUT_TO_0:
        cut_to(path, 0);
        break;
    case CUT_TO_100:
        cut_to(path, 100);
        break;
    case CUT_TO_HALF:
        cut_half(path);
        break;
    case EMPTY:
        CHECK_EQ(unlink(path), 0);
        spit(path, (const unsigned char *)"", 0);
        break;
    case TOO_BIG: /* sparse: costs no disk */
        cut_to(path, APL_CACHE_MAX_BYTES + 1);
        break;
    case DIRECTORY:
        CHECK_EQ(unlink(path), 0);
        CHECK_EQ(mkdir(path, 0755), 0);
        break;
    case FIFO:
        CHECK_EQ(unlink(path), 0);
        CHECK_EQ(mkfifo(path, 0644), 0);
        break;
    case UNREADABLE:
        CHECK_EQ(chmod(path, 0), 0);
        break;
    default:
        edit(path, d);
    }
}

static void swap_files(const char *a, const char *b) {
    char tmp[PATH_LEN + 8];
    if (snprintf(tmp, sizeof tmp, "%s.swap", a) >= (int)sizeof tmp) {
        TU_FAIL_AT_(__FILE__, __LINE__, "path too long: %s", a);
        return;
    }
    CHECK_EQ(rename(a, tmp), 0);
    CHECK_EQ(rename(b, a), 0);
    CHECK_EQ(rename(tmp, b), 0);
}

/* ---- scenarios ---- */

static void set_cache(const char *dir) { CHECK_EQ(setenv("APLCL_CACHE_DIR", dir, 1), 0); }

/* A folder under the base, emptied, as the cache. */
static void fresh_folder(const char *name, char *dir, size_t size) {
    snprintf(dir, size, "%s/%s", g_base, name);
    mkdir(dir, 0755);
    clear_dir(dir);
    set_cache(dir);
}

/* The folder holds exactly the NPROG program files `want` (if given), each valid, nothing else;
 * the next run loads them all: correct results, every file untouched (same inode and bytes). */
static void check_repaired_and_hit(const char *dir, name_t *want, const char *what) {
    name_t names[NPROG + 2];
    int others = 0, n = list_bins(dir, names, &others);
    CHECK_EQ(n, NPROG);
    CHECK_EQ(others, 0); /* no temporary left behind */
    if (n != NPROG)
        return;
    ino_t ino[NPROG + 2];
    unsigned char *bytes[NPROG + 2];
    size_t len[NPROG + 2];
    char path[PATH_LEN];
    for (int i = 0; i < n; ++i) {
        if (want && strcmp(names[i], want[i]) != 0)
            TU_FAIL_AT_(__FILE__, __LINE__, "%s: file %s is not %s", what, names[i], want[i]);
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (!file_valid(path))
            TU_FAIL_AT_(__FILE__, __LINE__, "%s: %s is not a valid cache file", what, names[i]);
        ino[i] = inode_of(path);
        bytes[i] = slurp(path, &len[i]);
    }
    run_and_check(what);
    for (int i = 0; i < n; ++i) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t now_len = 0;
        unsigned char *now = slurp(path, &now_len);
        if (inode_of(path) != ino[i] || !now || now_len != len[i] ||
            memcmp(now, bytes[i], now_len) != 0)
            TU_FAIL_AT_(__FILE__, __LINE__, "%s: %s was rewritten, not loaded", what, names[i]);
        free(now);
        free(bytes[i]);
    }
}

static void scenario(damage d) {
    int mark = tu_case_begin();
    char dir[DIR_LEN], path[NPROG][PATH_LEN];
    fresh_folder(damage_name[d], dir, sizeof dir);
    run_and_check("populating");
    name_t names[NPROG + 2];
    int others = 0, n = list_bins(dir, names, &others);
    CHECK_EQ(n, NPROG);
    if (n != NPROG) {
        tu_case_end(mark, "%s", damage_name[d]);
        return;
    }
    for (int i = 0; i < NPROG; ++i)
        CHECK(snprintf(path[i], sizeof path[i], "%s/%s", dir, names[i]) < (int)sizeof path[i]);
    if (d == SWAPPED) /* each file in another program's place (NPROG is even) */
        for (int i = 0; i + 1 < NPROG; i += 2)
            swap_files(path[i], path[i + 1]);
    else
        for (int i = 0; i < NPROG; ++i)
            apply(d, path[i]);
    ino_t damaged[NPROG];
    for (int i = 0; i < NPROG; ++i)
        damaged[i] = inode_of(path[i]);
    run_and_check("with the damaged cache");
    for (int i = 0; i < NPROG; ++i)
        if (inode_of(path[i]) == damaged[i])
            TU_FAIL_AT_(__FILE__, __LINE__, "the damaged %s was not replaced", names[i]);
    check_repaired_and_hit(dir, names, damage_name[d]);
    tu_case_end(mark, "%s", damage_name[d]);
}

/* Runs with the cache at path: same results, nothing printed on stdout or stderr. */
static void silent_run(const char *what, const char *cache) {
    char log[PATH_LEN];
    snprintf(log, sizeof log, "%s/output.log", g_base);
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && saved_out >= 0 && saved_err >= 0);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    set_cache(cache);
    static outputs o;
    run_once(&o);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    if (!same_outputs(&o, &g_cold))
        TU_FAIL_AT_(__FILE__, __LINE__, "%s: results differ from the no-cache run", what);
    struct stat sb;
    CHECK_EQ(stat(log, &sb), 0);
    if (sb.st_size != 0)
        TU_FAIL_AT_(__FILE__, __LINE__, "%s: %lld bytes printed (see %s)", what,
                    (long long)sb.st_size, log);
}

/* A cache folder that cannot be made or written. Root ignores permissions, so the folder lies
 * under a regular file (ENOTDIR for everyone). */
static void unwritable(void) {
    int mark = tu_case_begin();
    char file[PATH_LEN], below[PATH_LEN + 8];
    snprintf(file, sizeof file, "%s/plain-file", g_base);
    spit(file, (const unsigned char *)"x", 1);
    snprintf(below, sizeof below, "%s/cache", file);
    silent_run("cache folder under a regular file", below);
    silent_run("cache folder is a regular file", file);
    struct stat sb;
    CHECK(stat(file, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 1);
    tu_case_end(mark, "unwritable folder");
}

/* A non-empty directory where a file belongs cannot be replaced: still right, twice. */
static void blocked(void) {
    int mark = tu_case_begin();
    char dir[DIR_LEN], path[PATH_LEN], inner[PATH_LEN + 8];
    fresh_folder("blocked", dir, sizeof dir);
    run_and_check("populating");
    name_t names[NPROG + 2];
    int others = 0, n = list_bins(dir, names, &others);
    CHECK_EQ(n, NPROG);
    if (n < 1) {
        tu_case_end(mark, "non-empty directory in a file's place");
        return;
    }
    snprintf(path, sizeof path, "%s/%s", dir, names[0]);
    snprintf(inner, sizeof inner, "%s/keep", path);
    CHECK_EQ(unlink(path), 0);
    CHECK_EQ(mkdir(path, 0755), 0);
    spit(inner, (const unsigned char *)"x", 1);
    silent_run("non-empty directory in a file's place", dir);
    silent_run("non-empty directory in a file's place, again", dir);
    CHECK(inode_of(inner) != 0);
    CHECK_EQ(list_bins(dir, names, &others), NPROG);
    CHECK_EQ(others, 0);
    CHECK_EQ(unlink(inner), 0);
    tu_case_end(mark, "non-empty directory in a file's place");
}

/* ---- processes racing on one folder ---- */

/* Child: wait for the parent's go (its end of the pipe closing), run, write the outputs. */
static int child_main(int go_fd, const char *out_path) {
    char c;
    while (read(go_fd, &c, 1) < 0 && errno == EINTR) {
    }
    static outputs o;
    run_once(&o);
    FILE *f = fopen(out_path, "wb");
    if (!f || fwrite(&o, sizeof o, 1, f) != 1 || fclose(f) != 0)
        return 1;
    return 0;
}

static void race(const char *self, const char *dir, const char *what) {
    int go[2];
    CHECK_EQ(pipe(go), 0);
    /* only the parent may hold the write end, or no child ever sees it close */
    CHECK_EQ(fcntl(go[1], F_SETFD, FD_CLOEXEC), 0);
    pid_t pids[NCHILD];
    char fdarg[16], outs[NCHILD][PATH_LEN];
    snprintf(fdarg, sizeof fdarg, "%d", go[0]);
    for (int i = 0; i < NCHILD; ++i) {
        snprintf(outs[i], sizeof outs[i], "%s/race-%d.out", g_base, i);
        remove(outs[i]);
        char *args[] = {(char *)self, "--child", fdarg, outs[i], NULL};
        CHECK_EQ(posix_spawn(&pids[i], self, NULL, NULL, args, environ), 0);
    }
    close(go[0]);
    close(go[1]); /* go: every child's read returns now */
    for (int i = 0; i < NCHILD; ++i) {
        int status = 0;
        CHECK_EQ(waitpid(pids[i], &status, 0), pids[i]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            TU_FAIL_AT_(__FILE__, __LINE__, "%s: child %d ended with status %d", what, i, status);
        size_t len = 0;
        unsigned char *b = slurp(outs[i], &len);
        if (!b || len != sizeof(outputs) || !same_outputs((const outputs *)b, &g_cold))
            TU_FAIL_AT_(__FILE__, __LINE__, "%s: child %d's results differ", what, i);
        free(b);
        remove(outs[i]);
    }
    check_repaired_and_hit(dir, NULL, what);
}

static void concurrent(const char *self) {
    int mark = tu_case_begin();
    char dir[DIR_LEN], path[PATH_LEN];
    fresh_folder("concurrent", dir, sizeof dir);
    for (int round = 0; round < 3; ++round) {
        clear_dir(dir);
        race(self, dir, "processes on an empty folder");
    }
    name_t names[NPROG + 2];
    int others = 0;
    int n = list_bins(dir, names, &others);
    for (int i = 0; i < n; ++i) {
        if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= (int)sizeof path)
            continue; /* cannot happen: dir and names are short */
        cut_half(path);
    }
    race(self, dir, "processes on a damaged folder");
    race(self, dir, "processes on a valid folder");
    tu_case_end(mark, "%d processes at once", NCHILD);
}

int main(int argc, char **argv) {
    make_data();
    if (argc == 4 && strcmp(argv[1], "--child") == 0)
        return child_main(atoi(argv[2]), argv[3]);

    const char *env = getenv("APLCL_CACHE_DIR");
    if (env && *env && strcmp(env, "off") != 0)
        snprintf(g_base, sizeof g_base, "%s", env);
    else if (!mkdtemp(strcpy(g_base, "/tmp/aplcl-test-cache-XXXXXX")))
        return 1;
    mkdir(g_base, 0755);
    printf("cache folders under %s\n", g_base);

    set_cache("off");
    aplcl_ctx *probe = NULL;
    int rc = tu_ctx_create(&probe);
    if (rc)
        return rc;
    aplcl_ctx_destroy(probe);
    run_once(&g_cold);
    CHECK_STATUS(g_cold.create, APLCL_SUCCESS);
    CHECK_STATUS(g_cold.st[0], APLCL_SUCCESS);
    CHECK_STATUS(g_cold.st[1], APLCL_SUCCESS);
    CHECK(isfinite(g_cold.loss[0]) && isfinite(g_cold.loss[1]));
    CHECK(g_cold.loss[0] != g_cold.loss[1]); /* a program swap would show */

    for (int d = 0; d < NUM_DAMAGES; ++d)
        if (d != UNREADABLE || geteuid() != 0)
            scenario((damage)d);
        else
            printf("skip %s: running as root, permissions do not apply\n", damage_name[d]);
    unwritable();
    blocked();
    concurrent(argv[0]);
    return tu_exit_code();
}
