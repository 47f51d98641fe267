/*
 * report/report_svg.c: the HTML report's two pictures, as inline SVG (no script).
 *
 * The heat strip shows one table's partitions left to right in key order, coloured by
 * the differences each one found, so a cluster (a range a replicator skipped, a batch it
 * lost) stands out at a glance. Past HEAT_MAX_BINS partitions, neighbours share a block.
 * The drift chart stacks each run's open differences by kind, oldest run on the left.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_internal.h"
#include "util/str.h"

#define HEAT_MAX_BINS 600

struct bin {
	int64_t diffs;
	int parts, errors, not_done;
	int first, last;
	char *lo, *hi; /* owned: bound of the first partition, bound of the last */
};

struct heat_ctx {
	struct bin *bins;
	int nbins;
	int64_t nparts; /* partitions the table says it has */
	int64_t seen;
};

static bool
heat_partition(void *ctx, const struct partition_result *p)
{
	struct heat_ctx *h = ctx;
	int64_t idx = h->nparts > 0 ? (int64_t) p->part_no * h->nbins / h->nparts : 0;
	if (idx >= h->nbins)
		idx = h->nbins - 1;
	if (idx < 0)
		idx = 0;
	struct bin *b = &h->bins[idx];
	if (b->parts == 0) {
		b->first = p->part_no;
		b->lo = xstrdup(p->lo ? p->lo : "null");
	}
	b->parts++;
	b->last = p->part_no;
	free(b->hi);
	b->hi = xstrdup(p->hi ? p->hi : "null");
	b->diffs += p->missing_target + p->missing_source + p->record_diff;
	if (p->status && strcmp(p->status, "error") == 0)
		b->errors++;
	else if (p->status == NULL || strcmp(p->status, "done") != 0)
		b->not_done++;
	h->seen++;
	return true;
}

/* red_shade gives a red from light (few) to dark (most), on a log scale. */
static void
red_shade(int64_t d, int64_t max, char out[8])
{
	double t = max > 1 ? log1p((double) d) / log1p((double) max) : 1.0;
	/* #ff9c94 -> #82071e */
	int rr = (int) lround(255 + t * (130 - 255));
	int gg = (int) lround(156 + t * (7 - 156));
	int bb = (int) lround(148 + t * (30 - 148));
	snprintf(out, 8, "#%02x%02x%02x", rr & 0xff, gg & 0xff, bb & 0xff);
}

bool
report_html_heat_strip(struct report *r, const struct report_table *t)
{
	struct buf *b = &r->b;
	buf_append_str(b, "<div class=\"strip\"><div class=\"head\"><span class=\"mono\"><b>");
	report_escape_markup_str(b, t->name);
	buf_append_str(b, "</b></span>");
	if (t->partitions <= 0) {
		buf_append_str(b, "<span class=\"muted\">no partitions recorded");
		if (t->error) {
			buf_append_str(b, ": ");
			report_escape_markup_str(b, t->error);
		}
		buf_append_str(b, "</span></div></div>");
		return true;
	}
	struct heat_ctx h = {0};
	h.nparts = t->partitions;
	h.nbins = t->partitions < HEAT_MAX_BINS ? (int) t->partitions : HEAT_MAX_BINS;
	h.bins = xcalloc((size_t) h.nbins, sizeof(struct bin));
	bool ok = store_list_partitions(r->st, r->run.id, t->name, heat_partition, &h);
	int64_t maxd = 0, diff_parts = 0, err_parts = 0, total = 0;
	for (int i = 0; i < h.nbins; i++) {
		if (h.bins[i].diffs > maxd)
			maxd = h.bins[i].diffs;
		total += h.bins[i].diffs;
		err_parts += h.bins[i].errors;
	}
	diff_parts = 0;
	for (int i = 0; i < h.nbins; i++)
		diff_parts += h.bins[i].diffs > 0;
	buf_append_str(b, "<span class=\"muted\">");
	report_html_count(b, h.seen);
	buf_printf(b, " partition%s", h.seen == 1 ? "" : "s");
	if (h.nbins < h.seen)
		buf_printf(b, " in %d blocks", h.nbins);
	buf_append_str(b, " &middot; ");
	report_html_count(b, total);
	buf_printf(b, " difference%s", total == 1 ? "" : "s");
	if (total > 0) {
		buf_append_str(b, " in ");
		report_html_count(b, diff_parts);
		buf_append_str(b, h.nbins < h.seen ? " block" : " partition");
		if (diff_parts != 1)
			buf_append_char(b, 's');
	}
	if (err_parts > 0) {
		buf_append_str(b, " &middot; ");
		report_html_count(b, err_parts);
		buf_append_str(b, " failed");
	}
	buf_printf(b, "</span></div><svg viewBox=\"0 0 %d 1\" preserveAspectRatio=\"none\" role=\"img\""
		      " aria-label=\"partitions of the table, coloured by differences\">",
		   h.nbins);
	for (int i = 0; i < h.nbins; i++) {
		struct bin *x = &h.bins[i];
		char fill[8];
		if (x->parts == 0)
			snprintf(fill, sizeof(fill), "#ffffff");
		else if (x->errors > 0)
			snprintf(fill, sizeof(fill), "#57606a");
		else if (x->diffs > 0)
			red_shade(x->diffs, maxd, fill);
		else if (x->not_done > 0)
			snprintf(fill, sizeof(fill), "#d8dee4");
		else
			snprintf(fill, sizeof(fill), "#dafbe1");
		buf_printf(b, "<rect x=\"%d\" y=\"0\" width=\"1\" height=\"1\" fill=\"%s\"%s><title>", i,
			   fill, h.nbins <= 120 ? " stroke=\"#ffffff\" stroke-width=\"1\" vector-effect=\"non-scaling-stroke\"" : "");
		if (x->parts == 0) {
			buf_append_str(b, "no partition");
		} else {
			if (x->first == x->last)
				buf_printf(b, "partition %d", x->first);
			else
				buf_printf(b, "partitions %d-%d", x->first, x->last);
			buf_append_str(b, ": ");
			report_html_count(b, x->diffs);
			buf_printf(b, " difference%s", x->diffs == 1 ? "" : "s");
			if (x->errors)
				buf_printf(b, ", %d failed", x->errors);
			if (x->not_done)
				buf_printf(b, ", %d not audited", x->not_done);
			buf_append_str(b, "; keys from ");
			report_html_key(b, x->lo, true);
			buf_append_str(b, " to ");
			report_html_key(b, x->hi, true);
		}
		buf_append_str(b, "</title></rect>");
	}
	buf_append_str(b, "</svg></div>\n");
	for (int i = 0; i < h.nbins; i++) {
		free(h.bins[i].lo);
		free(h.bins[i].hi);
	}
	free(h.bins);
	return ok && report_flush(r, false);
}

/* --- drift ------------------------------------------------------------------------------- */

#define CW 760.0
#define CH 230.0
#define ML 58.0
#define MR 12.0
#define MT 26.0
#define MB 44.0

void
report_html_drift_svg(struct report *r)
{
	struct buf *b = &r->b;
	static const char *colors[NKINDS] = {"#cf222e", "#8250df", "#bc4c00"};
	int n = r->nhistory;
	int64_t max = 1;
	for (int i = 0; i < n; i++) {
		const struct report_run *h = &r->history[i];
		int64_t s = h->missing_target + h->missing_source + h->record_diff;
		if (s > max)
			max = s;
	}
	double pw = CW - ML - MR, ph = CH - MT - MB;
	double band = pw / n;
	double bw = band * 0.62 > 48 ? 48 : band * 0.62;
	buf_printf(b, "<div class=\"chart\"><svg viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
		      "aria-label=\"open differences per run\" font-family=\"system-ui, sans-serif\" "
		      "font-size=\"11\">",
		   CW, CH);
	/* legend */
	for (int k = 0; k < NKINDS; k++) {
		double x = ML + k * 150.0;
		buf_printf(b, "<rect x=\"%.1f\" y=\"6\" width=\"11\" height=\"11\" fill=\"%s\"/>"
			      "<text x=\"%.1f\" y=\"16\" fill=\"#1d2329\">%s</text>",
			   x, colors[k], x + 15, report_kind_labels[k]);
	}
	/* axes and grid: 0, half, max */
	for (int g = 0; g <= 2; g++) {
		double y = MT + ph - ph * g / 2.0;
		buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>", ML, y,
			   CW - MR, y, g == 0 ? "#8c959f" : "#e4e8ec");
		buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#5b6670\">", ML - 6,
			   y + 4);
		report_html_count(b, max * g / 2);
		buf_append_str(b, "</text>");
	}
	int label_every = n > 24 ? (n + 23) / 24 : 1;
	for (int i = 0; i < n; i++) {
		const struct report_run *h = &r->history[i];
		double cx = ML + band * (i + 0.5), x = cx - bw / 2, y = MT + ph;
		int64_t parts[NKINDS] = {h->missing_target, h->missing_source, h->record_diff};
		for (int k = 0; k < NKINDS; k++) {
			if (parts[k] <= 0)
				continue;
			double hgt = ph * (double) parts[k] / (double) max;
			y -= hgt;
			buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
				      "<title>run %lld: ",
				   x, y, bw, hgt < 0.5 ? 0.5 : hgt, colors[k], (long long) h->id);
			report_html_count(b, parts[k]);
			buf_printf(b, " %s</title></rect>", report_kind_labels[k]);
		}
		/* the verdict as a dot under the axis: green, red, amber, grey */
		const char *v = h->verdict ? h->verdict : "";
		const char *dot = strcmp(v, "consistent") == 0	 ? "#1a7f37"
				  : strcmp(v, "differences") == 0 ? "#cf222e"
				  : strcmp(v, "pending") == 0	 ? "#9a6700"
								 : "#6e7781";
		buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"><title>run %lld: ", cx,
			   MT + ph + 9, dot, (long long) h->id);
		report_escape_markup_str(b, h->verdict ? h->verdict : "no verdict");
		buf_append_str(b, ", ");
		report_escape_markup_str(b, h->started_at);
		buf_append_str(b, "</title></circle>");
		if (i % label_every == 0 || i == n - 1) {
			buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#1d2329\">#%lld</text>",
				   cx, MT + ph + 25, (long long) h->id);
			/* month-day of the start, from the stored ISO time */
			if (h->started_at && strlen(h->started_at) >= 16) {
				buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#5b6670\" "
					      "font-size=\"9.5\">",
					   cx, MT + ph + 37);
				report_escape_markup(b, h->started_at + 5, 5);
				buf_append_char(b, ' ');
				report_escape_markup(b, h->started_at + 11, 5);
				buf_append_str(b, "</text>");
			}
		}
	}
	buf_append_str(b, "</svg></div><p class=\"capped\">Open differences (pending or confirmed) of "
			  "the runs shown, oldest on the left; the dot under each bar is the run's "
			  "verdict.</p>");
}
