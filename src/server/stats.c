/*
 * Four-letter words: the server's state is collected by report.c and formatted by
 * proto/fourlw.c. The answer goes out in one write, then the connection closes.
 * Words not in 4lw.commands.whitelist get ZooKeeper's refusal text; unknown words
 * close the connection without output.
 */
#include "base/err.h"
#include "base/log.h"
#include "proto/fourlw.h"
#include "server/server.h"

void stats_fourlw(struct srv *srv, struct net_conn *nc, const char *word)
{
        enum fourlw_cmd cmd = fourlw_lookup((const uint8_t *)word);
        if (cmd == FOURLW_UNKNOWN) {
                net_conn_close(nc, false);
                return;
        }
        struct syn_writer w;
        syn_writer_init(&w, NET_FOURLW_OUTPUT_BYTES_MAX);
        struct fourlw_whitelist wl;
        fourlw_whitelist_parse(&wl, srv->config.fourlw_whitelist);
        int rc;
        if (!fourlw_allowed(&wl, cmd)) {
                rc = fourlw_write_not_allowed(&w, cmd);
        } else {
                struct srv_report r;
                /* A server that is not serving prints only the refusal: collect nothing more. */
                bool serving = srv->serving && !srv->fatal;
                rc = srv_report_collect(
                    srv, serving || cmd == FOURLW_ENVI ? srv_report_parts(cmd) : 0, &r);
                if (rc == 0)
                        rc = fourlw_write(&w, cmd, &r.in);
                srv_report_free(&r);
                if (rc == 0)
                        srv_report_reset(srv, cmd == FOURLW_SRST, cmd == FOURLW_CRST);
        }
        if (rc == 0 && w.len > 0)
                net_conn_send(nc, w.data, w.len);
        else if (rc != 0)
                SYN_WARN("four-letter word %s: %s", word, syn_strerror(rc));
        syn_writer_close(&w);
        net_conn_close(nc, true);
}
