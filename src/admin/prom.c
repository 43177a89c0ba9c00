/*
 * /metrics in the Prometheus text exposition format (version 0.0.4).
 *
 * Every numeric mntr row becomes a gauge under ZooKeeper's name (mntr's key
 * without "zk_": znode_count, watch_count, ...), which is also what ZooKeeper's
 * Prometheus provider calls them, so dashboards written for ZooKeeper find them.
 * synod's own rows already carry the synod_ prefix; the per-peer rows
 * (synod_peer_<id>_<name>) become one family with a peer label. The text rows
 * (version, server_state, peer_state) become labels of synod_info. Histograms are
 * written as such; ZooKeeper's latency summaries (readlatency, updatelatency) get
 * quantiles estimated from the same buckets.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "base/assert.h"
#include "base/err.h"

__attribute__((format(printf, 2, 3))) static void putf(struct syn_writer *w, const char *fmt, ...)
{
        char line[512];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        SYN_ASSERT(n >= 0);
        syn_write_bytes(w, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* A label value with \, " and newline escaped, as the format wants. */
static void put_label_value(struct syn_writer *w, const char *v)
{
        for (const char *p = v != NULL ? v : ""; *p != '\0'; p++) {
                if (*p == '\\' || *p == '"')
                        syn_write_bytes(w, "\\", 1);
                if (*p == '\n') {
                        syn_write_bytes(w, "\\n", 2);
                        continue;
                }
                syn_write_bytes(w, p, 1);
        }
}

enum { ROWS_MAX = 160, KEY_BYTES = 64, TEXT_BYTES = 256 };

/* The mntr rows, copied (fourlw_mntr_each's rows are borrowed per call). */
struct row_copy {
        char key[KEY_BYTES];
        enum fourlw_metric_kind kind;
        double value;
        char text[TEXT_BYTES];
};

struct rows {
        struct row_copy items[ROWS_MAX];
        size_t count;
};

static void copy_row(void *arg, const struct fourlw_metric *m)
{
        struct rows *r = arg;
        SYN_ASSERT(r->count < ROWS_MAX);
        struct row_copy *c = &r->items[r->count++];
        snprintf(c->key, sizeof c->key, "%s", m->key);
        c->kind = m->kind;
        c->value = m->kind == FOURLW_METRIC_INT ? (double)m->int_value : m->float_value;
        snprintf(c->text, sizeof c->text, "%s", m->text_value != NULL ? m->text_value : "");
}

/* "synod_peer_<id>_<name>": *id and the family name "synod_peer_<name>". */
static bool peer_row(const char *key, char *id, size_t id_cap, char *family, size_t fam_cap)
{
        static const char prefix[] = "synod_peer_";
        size_t pl = sizeof prefix - 1;
        if (strncmp(key, prefix, pl) != 0)
                return false;
        const char *p = key + pl;
        size_t digits = strspn(p, "0123456789");
        if (digits == 0 || p[digits] != '_')
                return false;
        snprintf(id, id_cap, "%.*s", (int)digits, p);
        snprintf(family, fam_cap, "%s%s", prefix, p + digits + 1);
        return true;
}

static void write_gauges(struct syn_writer *w, const struct rows *r)
{
        char id[16], family[KEY_BYTES];
        for (size_t i = 0; i < r->count; i++) {
                const struct row_copy *c = &r->items[i];
                if (c->kind == FOURLW_METRIC_TEXT ||
                    peer_row(c->key, id, sizeof id, family, sizeof family))
                        continue;
                putf(w, "# HELP %s mntr's zk_%s\n# TYPE %s gauge\n%s %.15g\n", c->key, c->key,
                     c->key, c->key, c->value);
        }
}

/* Each per-peer family once, with every peer's sample under it. */
static void write_peer_families(struct syn_writer *w, const struct rows *r)
{
        char id[16], family[KEY_BYTES], other_id[16], other[KEY_BYTES];
        for (size_t i = 0; i < r->count; i++) {
                if (!peer_row(r->items[i].key, id, sizeof id, family, sizeof family))
                        continue;
                bool seen = false;
                for (size_t j = 0; j < i && !seen; j++)
                        seen = peer_row(r->items[j].key, other_id, sizeof other_id, other,
                                        sizeof other) &&
                               strcmp(other, family) == 0;
                if (seen)
                        continue;
                putf(w, "# HELP %s per peer: mntr's zk_synod_peer_<id>_*\n# TYPE %s gauge\n",
                     family, family);
                for (size_t j = i; j < r->count; j++)
                        if (peer_row(r->items[j].key, other_id, sizeof other_id, other,
                                     sizeof other) &&
                            strcmp(other, family) == 0)
                                putf(w, "%s{peer=\"%s\"} %.15g\n", family, other_id,
                                     r->items[j].value);
        }
}

static void write_info(struct syn_writer *w, const struct rows *r)
{
        putf(w, "# HELP synod_info mntr's text rows as labels\n# TYPE synod_info gauge\n");
        syn_write_bytes(w, "synod_info{", 11);
        bool first = true;
        for (size_t i = 0; i < r->count; i++) {
                const struct row_copy *c = &r->items[i];
                if (c->kind != FOURLW_METRIC_TEXT)
                        continue;
                putf(w, "%s%s=\"", first ? "" : ",", c->key);
                put_label_value(w, c->text);
                syn_write_bytes(w, "\"", 1);
                first = false;
        }
        syn_write_bytes(w, "} 1\n", 4);
}

static void labels(struct syn_writer *w, const char *label, const char *extra)
{
        if (label == NULL && extra == NULL)
                return;
        putf(w, "{%s%s%s}", label != NULL ? label : "", label != NULL && extra != NULL ? "," : "",
             extra != NULL ? extra : "");
}

static void write_histogram(struct syn_writer *w, const struct admin_hist *h, bool header)
{
        if (header)
                putf(w, "# HELP %s %s\n# TYPE %s histogram\n", h->name, h->help, h->name);
        uint64_t cumulative = 0;
        char le[64];
        for (uint32_t i = 0; i <= h->hist->bound_count; i++) {
                cumulative += h->hist->counts[i];
                if (i < h->hist->bound_count)
                        snprintf(le, sizeof le, "le=\"%.15g\"",
                                 (double)h->hist->bounds[i] * h->scale);
                else
                        snprintf(le, sizeof le, "le=\"+Inf\"");
                putf(w, "%s_bucket", h->name);
                labels(w, h->label, le);
                putf(w, " %" PRIu64 "\n", cumulative);
        }
        putf(w, "%s_sum", h->name);
        labels(w, h->label, NULL);
        putf(w, " %.15g\n%s_count", (double)h->hist->sum * h->scale, h->name);
        labels(w, h->label, NULL);
        putf(w, " %" PRIu64 "\n", h->hist->count);
}

static void write_summary(struct syn_writer *w, const struct admin_hist *h)
{
        static const double quantiles[] = {0.5, 0.9, 0.99};
        putf(w, "# HELP %s %s\n# TYPE %s summary\n", h->name, h->help, h->name);
        for (size_t i = 0; i < sizeof quantiles / sizeof quantiles[0]; i++)
                putf(w, "%s{quantile=\"%g\"} %.15g\n", h->name, quantiles[i],
                     (double)syn_hist_quantile(h->hist, quantiles[i]) * h->scale);
        putf(w, "%s_sum %.15g\n%s_count %" PRIu64 "\n", h->name, (double)h->hist->sum * h->scale,
             h->name, h->hist->count);
}

int admin_write_metrics(struct syn_writer *w, const struct admin_metrics *m)
{
        struct rows *r = calloc(1, sizeof *r);
        if (r == NULL)
                return SYN_ENOMEM;
        fourlw_mntr_each(m->server, copy_row, r);
        write_info(w, r);
        write_gauges(w, r);
        write_peer_families(w, r);
        free(r);
        for (size_t i = 0; i < m->summary_count; i++)
                write_summary(w, &m->summaries[i]);
        for (size_t i = 0; i < m->histogram_count; i++)
                write_histogram(w, &m->histograms[i],
                                i == 0 ||
                                    strcmp(m->histograms[i - 1].name, m->histograms[i].name) != 0);
        return w->failed ? SYN_ETOOBIG : SYN_OK;
}
