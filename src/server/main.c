/*
 * The `synod` binary: `synod serve [-c zoo.cfg] [--id N]` runs a server.
 * With no config it serves 127.0.0.1:2181 with data under ./synod-data. With
 * server.N lines in the config it is member N of that cluster: N comes from --id,
 * else from the file myid in dataDir (ZooKeeper's way), read once the config is.
 * Exit status of serve: 0 after a clean shutdown (SIGINT/SIGTERM), 1 on a
 * start-up or fatal error, 2 on a usage error. Every other subcommand is the
 * client command line (src/cli), with its own exit codes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "cli/cli.h"
#include "server/config.h"
#include "server/server.h"

static void usage(FILE *out)
{
        fprintf(out,
                "usage: synod serve [-c zoo.cfg] [--id N] [--join] [--admin-port P] [--log-level "
                "debug|info|warn|error]\n"
                "       synod --version\n"
                "--id N: this server is server.N of the config (default: dataDir/myid)\n"
                "--admin-port P: the admin server's port, over admin.serverPort (servers sharing\n"
                "        one zoo.cfg on one machine each need their own)\n"
                "--join: a new server joining a running cluster: it waits for the leader to add\n"
                "        it (reconfig) instead of starting a cluster of the config's servers\n");
}

/* A server id from the command line: decimal digits only, in range. */
static bool parse_id(const char *text, uint64_t *id)
{
        char *end = NULL;
        if (text[0] < '0' || text[0] > '9')
                return false;
        errno = 0;
        unsigned long long v = strtoull(text, &end, 10);
        if (*end != '\0' || errno == ERANGE || v < SRV_SERVER_ID_MIN || v > SRV_SERVER_ID_MAX)
                return false;
        *id = (uint64_t)v;
        return true;
}

/* A TCP port from the command line: decimal digits only, 0..65535. */
static bool parse_port(const char *text, int64_t *port)
{
        char *end = NULL;
        if (text[0] < '0' || text[0] > '9')
                return false;
        errno = 0;
        unsigned long v = strtoul(text, &end, 10);
        if (*end != '\0' || errno == ERANGE || v > 65535)
                return false;
        *port = (int64_t)v;
        return true;
}

static int serve(int argc, char **argv)
{
        int64_t admin_port = -1; /* -1: not given */
        const char *config_path = NULL;
        const char *log_level = NULL;
        uint64_t id = 0; /* 0: not given */
        bool join = false;
        for (int i = 0; i < argc; i++) {
                if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
                    i + 1 < argc) {
                        config_path = argv[++i];
                } else if (strcmp(argv[i], "--id") == 0 && i + 1 < argc) {
                        if (!parse_id(argv[++i], &id)) {
                                fprintf(stderr, "synod serve: --id wants a number in [%d, %d]\n",
                                        SRV_SERVER_ID_MIN, SRV_SERVER_ID_MAX);
                                return 2;
                        }
                } else if (strcmp(argv[i], "--admin-port") == 0 && i + 1 < argc) {
                        if (!parse_port(argv[++i], &admin_port)) {
                                fprintf(stderr, "synod serve: --admin-port wants 0..65535\n");
                                return 2;
                        }
                } else if (strcmp(argv[i], "--join") == 0) {
                        join = true;
                } else if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc) {
                        log_level = argv[++i];
                } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
                        usage(stdout);
                        return 0;
                } else {
                        usage(stderr);
                        return 2;
                }
        }
        static struct srv_config config; /* large: keep it off the stack */
        srv_config_defaults(&config);
        char err[SRV_CONFIG_ERROR_BYTES];
        if (config_path != NULL && srv_config_load(&config, config_path, err, sizeof err) != 0) {
                SYN_ERROR("%s", err);
                return 1;
        }
        if (srv_config_resolve_id(&config, id, err, sizeof err) != 0) {
                SYN_ERROR("%s", err);
                return 1;
        }
        config.join = join;
        if (admin_port >= 0)
                config.admin_port = admin_port;
        /* The file's logLevel was checked with its line; only --log-level is left. */
        int level = syn_log_level_parse(log_level ? log_level : config.log_level);
        if (level < 0) {
                fprintf(stderr,
                        "synod serve: --log-level wants debug, info, warn or error, not "
                        "'%s'\n",
                        log_level);
                return 2;
        }
        syn_log_configure((enum syn_log_level)level, NULL, NULL);
        if (config.member_count > 0)
                SYN_INFO("server.%" PRId64 " of %" PRIu32 " servers (cluster id 0x%016" PRIx64 ")",
                         config.server_id, config.member_count, config.cluster_id);
        struct srv *srv = calloc(1, sizeof *srv);
        if (srv == NULL)
                return 1;
        int rc = srv_init(srv, &config);
        if (rc != 0) {
                /* A failed system call was logged where it failed, with what and errno:
                 * "system call failed" would only repeat it, vaguer. */
                SYN_ERROR("not started%s%s", rc != SYN_ESYS ? ": " : "",
                          rc != SYN_ESYS ? syn_strerror(rc) : "");
                free(srv);
                return 1;
        }
        rc = srv_run(srv);
        srv_close(srv);
        free(srv);
        SYN_INFO("stopped%s", rc ? " after a fatal error" : "");
        return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
        if (argc >= 2 && strcmp(argv[1], "serve") == 0)
                return serve(argc - 2, argv + 2);
        if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
                printf("synod %s\n", SYNOD_VERSION);
                return 0;
        }
        return cli_main(argc, argv);
}
