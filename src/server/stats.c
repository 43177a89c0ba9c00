/*
 * Four-letter words: the server's state is collected by report.c and formatted by
 * proto/fourlw.c. The answer goes out in one write, then the connection closes.
 * Words not in 4lw.commands.whitelist get ZooKeeper's refusal text; unknown words
 * close the connection without output.
 *
 * Listings (stat, cons, wchc, wchp, dump) grow with the server's state, and a
 * client that sends them without reading could make the loop build them again and
 * again: one is not built while earlier answers of NET_FOURLW_OUTPUT_BYTES_MAX or
 * more, or any earlier answer to the same address, are still unsent (a one-line
 * refusal instead), and one is cut at the last whole line under that limit, with a
 * marker line. The unsent answers count against the clients' memory budget (net.h).
 */
#include "base/err.h"
#include "base/log.h"
#include "proto/fourlw.h"
#include "server/server.h"

/* Whether a listing must wait: earlier answers are still being sent (see the top). */
static bool listing_busy(struct srv *srv, struct net_conn *nc)
{
        bool same_ip = false;
        size_t unsent = net_fourlw_unsent(&srv->net, nc->ip, &same_ip);
        return same_ip || unsent >= NET_FOURLW_OUTPUT_BYTES_MAX;
}

/* An answer over the limit: cut after its last whole line, then the marker line. */
static int truncate_answer(struct syn_writer *w)
{
        size_t keep = w->len;
        while (keep > 0 && w->data[keep - 1] != '\n')
                keep--;
        w->len = keep;
        w->failed = false;
        w->cap_max = NET_FOURLW_OUTPUT_BYTES_MAX; /* the room kept for the marker */
        return fourlw_write_truncated(w, NET_FOURLW_OUTPUT_BYTES_MAX - NET_FOURLW_MARKER_BYTES);
}

void stats_fourlw(struct srv *srv, struct net_conn *nc, const char *word)
{
        enum fourlw_cmd cmd = fourlw_lookup((const uint8_t *)word);
        if (cmd == FOURLW_UNKNOWN) {
                net_conn_close(nc, false);
                return;
        }
        struct syn_writer w;
        syn_writer_init(&w, NET_FOURLW_OUTPUT_BYTES_MAX - NET_FOURLW_MARKER_BYTES);
        struct fourlw_whitelist wl;
        fourlw_whitelist_parse(&wl, srv->config.fourlw_whitelist);
        int rc;
        if (!fourlw_allowed(&wl, cmd)) {
                rc = fourlw_write_not_allowed(&w, cmd);
        } else if (fourlw_is_listing(cmd) && listing_busy(srv, nc)) {
                srv->stats.fourlw_refused++;
                rc = fourlw_write_busy(&w, cmd);
        } else {
                struct srv_report r;
                /* A server that is not serving prints only the refusal: collect nothing more. */
                bool serving = srv->serving && !srv->fatal;
                rc = srv_report_collect(
                    srv, serving || cmd == FOURLW_ENVI ? srv_report_parts(cmd) : 0, &r);
                if (rc == 0)
                        rc = fourlw_write(&w, cmd, &r.in);
                srv_report_free(&r);
                if (rc == SYN_ETOOBIG && w.failed && w.data != NULL) {
                        srv->stats.fourlw_truncated++;
                        rc = truncate_answer(&w);
                }
                if (rc == 0)
                        srv_report_reset(srv, cmd == FOURLW_SRST, cmd == FOURLW_CRST);
                /* A listing's scratch and answer came from the heap: give it back soon. */
                srv->trim_due = srv->trim_due || w.cap >= NET_FOURLW_OUTPUT_BYTES_MAX / 4;
        }
        if (rc == 0 && w.len > 0)
                net_conn_send(nc, w.data, w.len);
        else if (rc != 0)
                SYN_WARN("four-letter word %s: %s", word, syn_strerror(rc));
        syn_writer_close(&w);
        net_conn_close(nc, true);
}
