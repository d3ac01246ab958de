/* svg_chart.h: a small self-contained SVG line chart (panels of curves over epochs), written
 * directly, so a chart needs no gnuplot. `aplcl train --out` and `aplcl tune --out` draw their
 * training curves with it.
 *
 * Not a plotting library: x is 1..n (epochs), linear axes, up to a few panels in a grid. Text is
 * XML-escaped; NaN points are gaps in a line.
 */
#ifndef APLCL_SVG_CHART_H
#define APLCL_SVG_CHART_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    const char *name; /* legend text */
    const double *y;  /* y[0..n): the value at x = 1..n */
    size_t n;
} svg_series;

typedef struct {
    const char *title;
    const svg_series *series; /* at most SVG_MAX_SERIES; colours by position */
    size_t n_series;
} svg_panel;

#define SVG_MAX_SERIES 6

/* Writes one SVG document: `title` on top, panels in rows of two, each with its own y range,
 * axis labels xlabel / ylabel. Returns 0, or -1 when a write failed (the caller reports it). */
int svg_line_chart(FILE *f, const char *title, const char *xlabel, const char *ylabel,
                   const svg_panel *panels, size_t n_panels);

#endif /* APLCL_SVG_CHART_H */
