/* fuzz_arff.c: libFuzzer target for the ARFF reader (train/arff.c).
 *
 * Input: byte 0 gives n_labels (its value mod 16, so a leading ASCII digit '0'..'9' means 0..9
 * labels and the corpus files stay readable text) and the label place (its high nibble mod 3:
 * AUTO for the digits, FIRST for '"' .. '/', LAST for bytes 0x10..0x1f); the rest is the ARFF
 * text. Besides what
 * ASan/UBSan catch, it traps when a result breaks the reader's contract (arff.h). Built only with
 * -DAPLCL_FUZZ=ON and clang; tests/test_arff.c replays corpus/ and regressions/ in every build.
 */
#include "arff.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(int ok) {
    if (!ok)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0)
        return 0;
    size_t n_labels = data[0] % 16;
    /* A private copy, exactly the text's size, so ASan sees any read past its end. */
    size_t len = size - 1;
    char *text = malloc(len ? len : 1);
    if (!text)
        return 0;
    memcpy(text, data + 1, len);

    arff_data d;
    arff_error err;
    arff_layout layout = {n_labels, (arff_label_place)((data[0] >> 4) % 3), NULL, NULL, 0};
    int rc = arff_parse_layout(text, len, "fuzz", &layout, &d, &err);
    check(rc == 0 || rc == -1);
    if (rc == 0) {
        /* n_labels 0: MEKA's "-C N" in the relation may set the count */
        check(d.rows >= 1 && (d.labels == n_labels || n_labels == 0) && d.x && d.y && d.names);
        check(d.features + d.labels >= 1 && d.features + d.labels <= ARFF_MAX_ATTRIBUTES);
        for (size_t i = 0; i < d.rows * d.features; i++)
            check(isfinite(d.x[i]));
        for (size_t i = 0; i < d.rows * d.labels; i++)
            check(d.y[i] <= 1);
        for (size_t i = 0; i < d.features + d.labels; i++)
            check(d.names[i] != NULL && strlen(d.names[i]) <= len);
        /* the labels by name, the first feature attribute ignored: the same rows and labels
         * (test_arff.c's replay checks the same) */
        const char **names = d.labels ? malloc(d.labels * sizeof *names) : NULL;
        if (names) {
            const char *ignore[1] = {NULL};
            size_t k = 0, gone = 0;
            for (size_t i = 0; i < d.n_attrs; i++)
                if (d.attrs[i].role == ARFF_ROLE_LABEL)
                    names[k++] = d.attrs[i].name;
                else if (!ignore[0] && d.attrs[i].role == ARFF_ROLE_FEATURE)
                    ignore[0] = d.attrs[i].name, gone = d.attrs[i].width;
            arff_layout l2 = {d.labels, ARFF_LABELS_AUTO, names, ignore, ignore[0] ? 1 : 0};
            arff_data e;
            check(arff_parse_layout(text, len, "fuzz", &l2, &e, &err) == 0);
            check(e.rows == d.rows && e.labels == d.labels && e.features == d.features - gone);
            check(memcmp(e.y, d.y, d.rows * d.labels) == 0);
            arff_free(&e);
            free(names);
        }
        if (d.features > 0) {
            float *mean = malloc(d.features * sizeof *mean), *sd = malloc(d.features * sizeof *sd);
            if (mean && sd) {
                arff_fit_standardizer(d.x, d.rows, d.features, mean, sd);
                arff_standardize(d.x, d.rows, d.features, mean, sd);
                for (size_t f = 0; f < d.features; f++)
                    check(isfinite(mean[f]) && sd[f] > 0.0f);
            }
            free(mean);
            free(sd);
        }
    } else {
        check(d.rows == 0 && d.x == NULL && d.y == NULL && d.names == NULL);
        check(err.message[0] != '\0' && memchr(err.message, '\0', sizeof err.message));
        check(err.line >= 1 && err.column >= 1); /* every parse error has a position */
        check(strcmp(err.file, "fuzz") == 0);
    }
    arff_free(&d);
    free(text);
    return 0;
}
