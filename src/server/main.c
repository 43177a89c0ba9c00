/*
 * The `synod` binary: `synod serve [-c zoo.cfg]` runs a single-node server.
 * With no config it serves 127.0.0.1:2181 with data under ./synod-data.
 * Exit status of serve: 0 after a clean shutdown (SIGINT/SIGTERM), 1 on a
 * start-up or fatal error, 2 on a usage error. Every other subcommand is the
 * client command line (src/cli), with its own exit codes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "cli/cli.h"
#include "server/server.h"

static void usage(FILE *out)
{
        fprintf(out, "usage: synod serve [-c zoo.cfg] [--log-level debug|info|warn|error]\n"
                     "       synod --version\n");
}

static int serve(int argc, char **argv)
{
        const char *config_path = NULL;
        const char *log_level = NULL;
        for (int i = 0; i < argc; i++) {
                if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
                    i + 1 < argc) {
                        config_path = argv[++i];
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
        if (config_path != NULL) {
                char err[SRV_CONFIG_ERROR_BYTES];
                if (srv_config_load(&config, config_path, err, sizeof err) != 0) {
                        SYN_ERROR("%s", err);
                        return 1;
                }
        }
        int level = syn_log_level_parse(log_level ? log_level : config.log_level);
        if (level < 0) {
                SYN_ERROR("unknown log level '%s'", log_level ? log_level : config.log_level);
                return 2;
        }
        syn_log_configure((enum syn_log_level)level, NULL, NULL);
        struct srv *srv = calloc(1, sizeof *srv);
        if (srv == NULL)
                return 1;
        int rc = srv_init(srv, &config);
        if (rc != 0) {
                SYN_ERROR("start-up failed: %s", syn_strerror(rc));
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
