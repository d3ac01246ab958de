/* svg_chart.c: the SVG line chart of svg_chart.h.
 *
 * Fixed geometry (a 420 x 280 cell per panel), "nice" y ticks (1, 2 or 5 times a power of ten),
 * integer x ticks. Only fprintf: nothing here allocates.
 */
#include "svg_chart.h"

#include <math.h>
#include <string.h>

static const char *const colors[SVG_MAX_SERIES] = {"#1f77b4", "#ff7f0e", "#2ca02c",
                                                   "#d62728", "#9467bd", "#8c564b"};

/* the XML special characters and, at the same index, their entities */
static const char special[] = "<>&\"";
static const char *const entity[] = {"&lt;", "&gt;", "&amp;", "&quot;"};

static void text_escaped(FILE *f, const char *s) {
    for (; s && *s; ++s) {
        const char *hit = strchr(special, *s); /* *s is never '\0' here */
        if (hit)
            fputs(entity[hit - special], f);
        else
            fputc(*s, f);
    }
}

static double nice_step(double range, int ticks) {
    double raw = range / ticks, p = pow(10.0, floor(log10(raw))), m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

enum { CELL_W = 420, CELL_H = 280, ML = 56, MR = 12, MT = 28, MB = 40, TOP = 36 };

static void panel(FILE *f, const svg_panel *p, double ox, double oy, const char *xlabel,
                  const char *ylabel) {
    double lo = INFINITY, hi = -INFINITY;
    size_t n = 1;
    for (size_t s = 0; s < p->n_series; ++s) {
        if (p->series[s].n > n)
            n = p->series[s].n;
        for (size_t i = 0; i < p->series[s].n; ++i) {
            double v = p->series[s].y[i];
            if (isfinite(v))
                lo = v < lo ? v : lo, hi = v > hi ? v : hi;
        }
    }
    if (!(lo <= hi))
        lo = 0, hi = 1;
    if (hi - lo < 1e-9)
        lo -= 0.5, hi += 0.5;
    double step = nice_step(hi - lo, 5);
    lo = floor(lo / step) * step, hi = ceil(hi / step) * step;
    double pw = CELL_W - ML - MR, ph = CELL_H - MT - MB, x0 = ox + ML, y0 = oy + MT;
#define PX(x) (x0 + (n > 1 ? ((x)-1.0) / (double)(n - 1) : 0.5) * pw)
#define PY(v) (y0 + ph - ((v)-lo) / (hi - lo) * ph)
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" text-anchor=\"middle\">", x0 + pw / 2,
            oy + 18);
    text_escaped(f, p->title);
    fputs("</text>\n", f);
    fprintf(f,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
            "stroke=\"#444\"/>\n",
            x0, y0, pw, ph);
    for (double v = lo; v <= hi + step / 2; v += step) {
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%g</text>\n",
                x0, PY(v), x0 + pw, PY(v), x0 - 4, PY(v) + 3, fabs(v) < step / 1e6 ? 0.0 : v);
    }
    size_t xstep = (size_t)ceil(nice_step((double)(n > 1 ? n - 1 : 1), 6));
    for (size_t x = 1; x <= n; x += xstep)
        fprintf(f,
                "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%zu</text>\n",
                PX((double)x), y0 + ph + 14, x);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">", x0 + pw / 2,
            y0 + ph + 30);
    text_escaped(f, xlabel);
    fprintf(f,
            "</text>\n<text font-size=\"11\" text-anchor=\"middle\" "
            "transform=\"translate(%.1f,%.1f) rotate(-90)\">",
            ox + 14, y0 + ph / 2);
    text_escaped(f, ylabel);
    fputs("</text>\n", f);
    for (size_t s = 0; s < p->n_series && s < SVG_MAX_SERIES; ++s) {
        const svg_series *se = &p->series[s];
        int open = 0;
        for (size_t i = 0; i < se->n; ++i) {
            double v = se->y[i];
            if (!isfinite(v)) {
                if (open)
                    fputs("\"/>\n", f);
                open = 0;
                continue;
            }
            if (!open)
                fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\" points=\"",
                        colors[s]);
            fprintf(f, "%s%.1f,%.1f", open ? " " : "", PX((double)(i + 1)), PY(v));
            open = 1;
        }
        if (open)
            fputs("\"/>\n", f);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"2\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">",
                x0 + 8, y0 + 12 + 13.0 * (double)s, x0 + 24, y0 + 12 + 13.0 * (double)s, colors[s],
                x0 + 28, y0 + 15 + 13.0 * (double)s);
        text_escaped(f, se->name);
        fputs("</text>\n", f);
    }
#undef PX
#undef PY
}

int svg_line_chart(FILE *f, const char *title, const char *xlabel, const char *ylabel,
                   const svg_panel *panels, size_t n_panels) {
    size_t cols = n_panels > 1 ? 2 : 1, rows = (n_panels + cols - 1) / cols;
    if (rows == 0)
        rows = 1;
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
            "width=\"%zu\" height=\"%zu\" font-family=\"sans-serif\">\n<rect width=\"100%%\" "
            "height=\"100%%\" fill=\"white\"/>\n<text x=\"%zu\" y=\"22\" font-size=\"15\" "
            "text-anchor=\"middle\">",
            cols * CELL_W, rows * CELL_H + TOP, cols * CELL_W / 2);
    text_escaped(f, title);
    fputs("</text>\n", f);
    for (size_t i = 0; i < n_panels; ++i)
        panel(f, &panels[i], (double)(i % cols) * CELL_W, TOP + (double)(i / cols) * CELL_H, xlabel,
              ylabel);
    fputs("</svg>\n", f);
    return ferror(f) ? -1 : 0;
}
