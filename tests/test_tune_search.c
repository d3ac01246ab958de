/* test_tune_search.c: tune's search pieces (train/tune_search.c) and the --loss spec printer
 * (train/loss_spec.c).
 *
 * The successive-halving schedule for worked budgets; the promotion order (score descending, NaN
 * last, ties by index); --range parsing and its errors; sampling stays in range, is reproducible
 * from the seed and gives valid parameters; every sampled candidate prints as a spec that parses
 * back to the same parameters. Host only.
 */
#include "loss_spec.h"
#include "test_util.h"
#include "tune_search.h"

#include <math.h>
#include <string.h>

/* The fields a spec carries (memcmp would also compare padding and unused coefficients). */
static int same_params(const aplcl_params *a, const aplcl_params *b) {
    int eq = a->gamma_pos == b->gamma_pos && a->gamma_neg == b->gamma_neg && a->clip == b->clip &&
             a->eps == b->eps && a->n_alpha == b->n_alpha && a->n_beta == b->n_beta &&
             a->focus_grad == b->focus_grad && a->reduction == b->reduction;
    for (int i = 0; eq && i < a->n_alpha; ++i)
        eq = a->alpha[i] == b->alpha[i];
    for (int i = 0; eq && i < a->n_beta; ++i)
        eq = a->beta[i] == b->beta[i];
    return eq;
}

static void test_schedule(void) {
    int m = tu_case_begin();
    tune_schedule s;
    /* 27 candidates, eta 3, 30 epochs, at least 3: log3(27) = 3 halvings allowed by the
     * candidates, 30/3/3 = 3 >= 3 but 30/27 < 3, so K = 2: 27x3 (30/9 = 3.3), 9x10, 3x30 */
    CHECK_EQ(tune_schedule_make(27, 3, 30, 3, &s), 0);
    CHECK(s.rungs == 3 && s.n[0] == 27 && s.n[1] == 9 && s.n[2] == 3);
    CHECK(s.epochs[0] == 3 && s.epochs[1] == 10 && s.epochs[2] == 30);
    CHECK_EQ(tune_schedule_epochs(&s), 27 * 3 + 9 * 10 + 3 * 30);
    /* min 1: K = 3, down to one candidate: 27x1 (30/27 -> 1), 9x3, 3x10, 1x30 */
    CHECK_EQ(tune_schedule_make(27, 3, 30, 1, &s), 0);
    CHECK(s.rungs == 4 && s.n[3] == 1 && s.epochs[0] == 1 && s.epochs[1] == 3 && s.epochs[3] == 30);
    /* 4 candidates, eta 2, 4 epochs: 4x1, 2x2, 1x4 */
    CHECK_EQ(tune_schedule_make(4, 2, 4, 1, &s), 0);
    CHECK(s.rungs == 3 && s.n[2] == 1 && s.epochs[0] == 1 && s.epochs[1] == 2);
    /* one candidate: one rung at full budget */
    CHECK_EQ(tune_schedule_make(1, 3, 30, 1, &s), 0);
    CHECK(s.rungs == 1 && s.n[0] == 1 && s.epochs[0] == 30);
    CHECK_EQ(tune_schedule_make(0, 3, 30, 1, &s), -1);
    CHECK_EQ(tune_schedule_make(9, 1, 30, 1, &s), -1);
    CHECK_EQ(tune_schedule_make(9, 3, 2, 3, &s), -1);
    tu_case_end(m, "successive-halving schedules for worked budgets");

    m = tu_case_begin();
    const double score[5] = {0.3, NAN, 0.5, 0.3, 0.1};
    int idx[5] = {0, 1, 2, 3, 4};
    tune_rank(score, idx, 5);
    CHECK(idx[0] == 2 && idx[1] == 0 && idx[2] == 3 && idx[3] == 4 && idx[4] == 1);
    tu_case_end(m, "promotion order: best first, ties by index, NaN (diverged) last");
}

static void test_space(void) {
    int m = tu_case_begin();
    tune_space s;
    tune_space_default(&s);
    CHECK_EQ(tune_space_parse("t", "gamma_neg=1:2,clip=0.1,focus=0", &s), 0);
    CHECK(s.lo[TS_GAMMA_NEG] == 1 && s.hi[TS_GAMMA_NEG] == 2 && s.lo[TS_CLIP] == 0.1 &&
          s.hi[TS_CLIP] == 0.1 && s.hi[TS_FOCUS] == 0);
    CHECK_EQ(tune_space_parse("t", "gamma_neg=2:1", &s), -1);
    CHECK_EQ(tune_space_parse("t", "clip=0:1", &s), -1);
    CHECK_EQ(tune_space_parse("t", "gamma_pos=-1:1", &s), -1);
    CHECK_EQ(tune_space_parse("t", "focus=0.5", &s), -1);
    CHECK_EQ(tune_space_parse("t", "gama_neg=1:2", &s), -1);
    CHECK_EQ(tune_space_parse("t", "gamma_neg", &s), -1);
    CHECK_EQ(tune_space_parse("t", "gamma_neg=x:2", &s), -1);
    tu_case_end(m, "--range: values, fixed keys and seven kinds of errors");

    m = tu_case_begin();
    tune_space_default(&s);
    cli_rng r1 = cli_rng_seed(5), r2 = cli_rng_seed(5);
    int focus_seen[2] = {0, 0}, roundtrip = 1;
    for (int i = 0; i < 500; ++i) {
        aplcl_params a, b;
        CHECK_EQ(tune_sample(&s, &r1, &a), 0);
        CHECK_EQ(tune_sample(&s, &r2, &b), 0);
        CHECK(same_params(&a, &b));
        CHECK(a.gamma_neg >= 0 && a.gamma_neg <= 6 && a.clip >= 0 && a.clip <= 0.2f &&
              a.alpha[0] >= 0 && a.alpha[0] <= 3 && a.beta[1] == 0.5f && a.n_alpha == 2);
        CHECK_EQ(aplcl_params_validate(&a), APLCL_SUCCESS);
        focus_seen[a.focus_grad] = 1;
        char spec[LOSS_SPEC_MAX];
        loss_spec back;
        CHECK_EQ(loss_spec_format(&a, spec, sizeof spec), 0);
        CHECK_EQ(loss_spec_parse("t", spec, &back), 0);
        roundtrip &= same_params(&a, &back.p);
    }
    CHECK(roundtrip);
    CHECK(focus_seen[0] && focus_seen[1]);
    tu_case_end(m, "500 samples: in range, valid, reproducible, both focusing modes, and each "
                   "prints as a spec that parses back to the same parameters");

    m = tu_case_begin();
    char spec[LOSS_SPEC_MAX];
    aplcl_params p = aplcl_params_default();
    CHECK_EQ(loss_spec_format(&p, spec, sizeof spec), 0);
    CHECK(strcmp(spec, "apl") == 0);
    p.gamma_neg = 0, p.clip = 0, p.alpha[0] = 1.5f, p.alpha[1] = 0, p.focus_grad = 1;
    CHECK_EQ(loss_spec_format(&p, spec, sizeof spec), 0);
    CHECK(strcmp(spec, "apl:gamma_neg=0,clip=0,alpha=1.5/0,focus=1") == 0);
    CHECK_EQ(loss_spec_format(&p, spec, 10), -1);
    p = aplcl_params_bce(); /* every key differs: a spec from "apl" still reaches BCE */
    loss_spec back;
    CHECK_EQ(loss_spec_format(&p, spec, sizeof spec), 0);
    CHECK_EQ(loss_spec_parse("t", spec, &back), 0);
    CHECK(same_params(&p, &back.p));
    tu_case_end(m, "spec printing: apl, a worked spec, too small a buffer, BCE round trip");
}

/* The anchors: BCE and ASL as points of the space, refused where a narrowed range excludes them.
 * (Before them, a search could end below BCE on validation: issue 19.) */
static void test_anchors(void) {
    int m = tu_case_begin();
    tune_space s;
    tune_space_default(&s);
    aplcl_params b, a;
    CHECK_EQ(tune_anchor(&s, 0, &b), 0);
    CHECK_EQ(tune_anchor(&s, 1, &a), 0);
    CHECK(b.n_alpha == 2 && b.alpha[0] == 1 && b.alpha[1] == 0.5f && b.n_beta == 2 &&
          b.beta[0] == 1 && b.beta[1] == 0.5f && b.gamma_pos == 0 && b.gamma_neg == 0 &&
          b.clip == 0 && b.eps == 0 && b.focus_grad == 0);
    CHECK(a.gamma_neg == 4 && a.gamma_pos == 0 && a.clip == 0.05f && a.alpha[0] == 1 &&
          a.beta[1] == 0.5f && a.focus_grad == 0);
    aplcl_params asl = aplcl_params_asl(4.0f, 0.0f, 0.05f);
    CHECK(a.eps == asl.eps);
    CHECK_EQ(tune_space_parse("t", "gamma_neg=1:2", &s), 0);
    CHECK_EQ(tune_anchor(&s, 0, &b), -1);
    CHECK_EQ(tune_anchor(&s, 1, &a), -1);
    tune_space_default(&s);
    CHECK_EQ(tune_space_parse("t", "clip=0", &s), 0);
    CHECK_EQ(tune_anchor(&s, 0, &b), 0);
    CHECK_EQ(tune_anchor(&s, 1, &a), -1);
    tu_case_end(m, "anchors: BCE and ASL as points of the space; outside a narrowed range: -1");
}

int main(void) {
    test_schedule();
    test_space();
    test_anchors();
    return tu_exit_code();
}
