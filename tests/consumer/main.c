/* tests/consumer/main.c: links against an installed aplcl and calls a few host-only entry points,
 * and OpenCL itself, as a real consumer does (aplcl's API takes cl_mem and queues).
 *
 * A packaging smoke test (headers, library, CMake config, pkg-config: OpenCL must come with
 * aplcl's flags, it is a public dependency), not a test of the loss: the reference is checked in
 * depth by the other tests. Needs no OpenCL device or platform. */
#include <aplcl.h>

#include <math.h>
#include <stdio.h>

static int failures = 0;

static void check(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "consumer: FAILED: %s\n", what);
        failures++;
    }
}

int main(void) {
    check(aplcl_version_number() == APLCL_VERSION_NUMBER,
          "aplcl_version_number() matches the header's APLCL_VERSION_NUMBER");

    aplcl_params p = aplcl_params_default();
    aplcl_status st = aplcl_params_validate(&p);
    check(st == APLCL_SUCCESS, "aplcl_params_validate(default) is APLCL_SUCCESS");
    check(aplcl_params_validate(NULL) == APLCL_ERR_NULL_ARGUMENT,
          "aplcl_params_validate(NULL) is APLCL_ERR_NULL_ARGUMENT");

    /* OpenCL directly: this must link with nothing but aplcl's flags. No platform installed
     * (-1001, CL_PLATFORM_NOT_FOUND_KHR) is fine: the call is what is tested. */
    cl_uint n_platforms = 0;
    cl_int cl_err = clGetPlatformIDs(0, NULL, &n_platforms);
    check(cl_err == CL_SUCCESS || cl_err == -1001, "clGetPlatformIDs answers");

    const char *s = aplcl_status_string(APLCL_SUCCESS);
    check(s != NULL && s[0] != '\0', "aplcl_status_string(APLCL_SUCCESS) is a non-empty string");

    /* One row, two labels: a positive at x = 0 and a negative at x = 2 (spec section 6). */
    const float logits[2] = {0.0f, 2.0f};
    const float targets[2] = {1.0f, 0.0f};
    double grad[2] = {0.0, 0.0};
    double elem[2] = {0.0, 0.0};
    double loss = 0.0;
    st = aplcl_ref_compute(&p, 1, 2, logits, targets, grad, elem, &loss);
    check(st == APLCL_SUCCESS, "aplcl_ref_compute on a 1x2 input is APLCL_SUCCESS");
    if (st != APLCL_SUCCESS)
        fprintf(stderr, "consumer: aplcl_ref_compute: %s\n", aplcl_status_string(st));

    const double want_loss = 0.505647180560 + 0.846414950692;
    check(isfinite(loss) && fabs(loss - want_loss) < 1e-6, "reference loss matches spec section 6");
    check(fabs(grad[0] - -0.5625) < 1e-6 && fabs(grad[1] - 0.295620637658) < 1e-6,
          "reference gradient matches spec section 6");

    if (failures) {
        fprintf(stderr, "consumer: %d check(s) failed (loss %.12g, grad %.12g %.12g)\n", failures,
                loss, grad[0], grad[1]);
        return 1;
    }
    printf("consumer: aplcl %u OK (loss %.12f, %u OpenCL platform(s))\n", aplcl_version_number(),
           loss, (unsigned)n_platforms);
    return 0;
}
