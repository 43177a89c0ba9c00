/*
 * `synod restore FILE DIR`: makes a new data directory from a backup (a snapshot
 * file, cmd_backup.c), from which a new single server or every server of a new
 * cluster starts with the backup's tree.
 *
 * What a restored directory holds, and why:
 *   snap/snap-<index>-<term>.snap  the backup's tree, written by the snapshot
 *       writer; Stat fields (czxid, mzxid, pzxid, versions, times, owners), data,
 *       ACLs and sessions as backed up, so zxids continue after the backup's.
 *       The Raft configuration the backup carries is dropped: the new server takes
 *       its membership from its own configuration file (server lines, myid), as a
 *       new cluster does. For the same reason /zookeeper/config is emptied (one
 *       setData at index + 1, the snapshot's index then), and the new cluster's
 *       first leader writes its own membership there.
 *   meta.1  term = the snapshot's term, no vote: Raft's metadata must cover the
 *       log's newest term, and a server that has voted in no term can vote once.
 * The WAL starts empty after the snapshot's index on first start.
 *
 * Everything is checked before DIR is touched: the file's header, chunk CRCs and
 * trailer (the snapshot reader), then the tree inside it (the tree's own checks).
 */
#include "cli/cli.h"
#include "cli/progress.h"

#include "base/err.h"
#include "base/limits.h"
#include "proto/zk_records.h"
#include "replica/snapstream.h"
#include "storage/storage.h"
#include "tree/tree.h"
#include "tree/txn.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char config_node[] = "/zookeeper/config";

/* CLI_EXIT_OK if DIR is missing (*create) or an empty directory. */
static int check_dir(struct cli_ctx *ctx, const char *dir, bool *create)
{
        DIR *d = opendir(dir);
        *create = false;
        if (d == NULL && errno == ENOENT) {
                *create = true;
                return CLI_EXIT_OK;
        }
        if (d == NULL)
                return cli_error(ctx, CLI_EXIT_USAGE, "restore: %s: %s", dir, strerror(errno));
        struct dirent *e;
        bool empty = true;
        while (empty && (e = readdir(d)) != NULL)
                empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
        closedir(d);
        if (!empty)
                return cli_error(ctx, CLI_EXIT_USAGE,
                                 "restore: %s is not empty: restore makes a new data directory "
                                 "(give a new or an empty one)",
                                 dir);
        return CLI_EXIT_OK;
}

/* Opens and verifies FILE; errors name what is wrong with it. */
static int open_backup(struct cli_ctx *ctx, const char *file, struct snapfile_reader *r)
{
        struct stat st;
        if (stat(file, &st) != 0)
                return cli_error(ctx, CLI_EXIT_USAGE, "restore: %s: %s", file, strerror(errno));
        int rc = snapfile_reader_open_file(r, NULL, file);
        if (rc == SYN_ETRUNC)
                return cli_error(ctx, CLI_EXIT_DAMAGED,
                                 "restore: %s is truncated: it ends before its trailer (an "
                                 "interrupted copy?)",
                                 file);
        if (rc == SYN_ECORRUPT)
                return cli_error(ctx, CLI_EXIT_DAMAGED,
                                 "restore: %s is damaged: its header, a chunk checksum or its "
                                 "trailer does not match, or it is not a synod backup",
                                 file);
        if (rc != SYN_OK)
                return cli_error(ctx, CLI_EXIT_INTERNAL, "restore: %s: %s", file, syn_strerror(rc));
        return CLI_EXIT_OK;
}

/* The stream of a verified file, in memory (malloc'd). */
static int read_all(struct cli_ctx *ctx, struct snapfile_reader *r, uint8_t **out)
{
        if (r->total_bytes > SNAP_STREAM_BYTES_MAX || r->total_bytes > SIZE_MAX)
                return cli_error(ctx, CLI_EXIT_DAMAGED, "restore: the snapshot is too large");
        size_t total = (size_t)r->total_bytes, have = 0;
        uint8_t *buf = malloc(total > 0 ? total : 1);
        if (buf == NULL)
                return cli_error(ctx, CLI_EXIT_INTERNAL, "restore: out of memory");
        struct cli_progress p;
        cli_progress_begin(&p, ctx->err, ctx->json, "restore: reading", true, NULL);
        /* Bounded: each pass reads at least one byte of a stream of known length. */
        while (have < total) {
                size_t got = 0;
                size_t want = total - have < SNAP_CHUNK_BYTES ? total - have : SNAP_CHUNK_BYTES;
                int rc = snapfile_read(r, buf + have, want, &got);
                if (rc != SYN_OK || got == 0) {
                        cli_progress_end(&p);
                        free(buf);
                        return cli_error(ctx, CLI_EXIT_DAMAGED,
                                         "restore: the file changed while it was read (%s)",
                                         syn_strerror(rc != SYN_OK ? rc : SYN_ETRUNC));
                }
                have += got;
                cli_progress_update(&p, have, total);
        }
        cli_progress_end(&p);
        *out = buf;
        return CLI_EXIT_OK;
}

/* Empties /zookeeper/config at zxid *index + 1 (then *index is that), if it holds data. */
static int forget_membership(struct tree *t, uint64_t *index)
{
        const struct tree_node *n = tree_lookup(t, config_node, sizeof config_node - 1);
        if (n == NULL || tree_node_data(n).len <= 0)
                return SYN_OK;
        struct txn txn = {.type = TXN_OP};
        txn.auth.super = true; /* the node is read-only to clients */
        txn.op.zk_op = ZK_OP_SET_DATA;
        txn.op.path = zk_bytes_of(config_node);
        txn.op.data = (struct zk_bytes){(const uint8_t *)"", 0};
        txn.op.version = -1;
        txn.time_ms = (int64_t)time(NULL) * 1000;
        struct tree_result res;
        struct tree_events ev;
        tree_result_init(&res);
        tree_events_init(&ev);
        int rc = tree_apply(t, &txn, *index + 1, &res, &ev);
        if (rc == SYN_OK && res.err != 0)
                rc = SYN_ECORRUPT;
        tree_result_close(&res);
        tree_events_close(&ev);
        if (rc == SYN_OK)
                (*index)++;
        return rc;
}

struct write_arg {
        struct snapfile_writer *w;
        uint64_t done;
        struct cli_progress *p;
};

static int write_cb(void *arg, const void *p, size_t n)
{
        struct write_arg *a = arg;
        a->done += n;
        cli_progress_update(a->p, a->done, 0);
        return snapfile_writer_write(a->w, p, n);
}

/* Writes DIR/snap/<snapshot of t> and DIR/meta.1. */
static int write_dir(struct cli_ctx *ctx, const char *dir, bool create, const struct tree *t,
                     uint64_t index, uint64_t term)
{
        char snap[STORAGE_PATH_BYTES_MAX];
        if ((size_t)snprintf(snap, sizeof snap, "%s/snap", dir) >= sizeof snap)
                return cli_error(ctx, CLI_EXIT_USAGE, "restore: %s: path too long", dir);
        if ((create && mkdir(dir, 0750) != 0) || mkdir(snap, 0750) != 0)
                return cli_error(ctx, CLI_EXIT_INTERNAL, "restore: creating %s: %s", snap,
                                 strerror(errno));
        const struct storage_fs *fs = storage_fs_posix();
        struct snapfile_writer w;
        int rc = snapfile_writer_open(&w, fs, snap, index, term);
        if (rc == SYN_OK) {
                struct cli_progress p;
                cli_progress_begin(&p, ctx->err, ctx->json, "restore: writing", true, NULL);
                struct write_arg a = {.w = &w, .p = &p};
                rc = tree_snap_write_cb(t, write_cb, &a);
                cli_progress_end(&p);
                if (rc == SYN_OK)
                        rc = snapfile_writer_finish(&w);
                else
                        snapfile_writer_abort(&w);
        }
        struct wal_meta meta = {.term = term, .vote = 0};
        if (rc == SYN_OK)
                rc = wal_meta_store(fs, dir, 1, &meta);
        if (rc != SYN_OK)
                return cli_error(ctx, CLI_EXIT_INTERNAL,
                                 "restore: writing %s: %s (remove it before trying again)", dir,
                                 syn_strerror(rc));
        cli_sync_parent_dir(dir);
        return CLI_EXIT_OK;
}

/* Loads the tree of the stream; CLI_EXIT_DAMAGED if it does not decode. */
static int load_tree(struct cli_ctx *ctx, const char *file, const uint8_t *bytes, size_t len,
                     uint64_t index, struct tree *t)
{
        struct raft_config config;
        bool has_config = false;
        const uint8_t *tree_bytes;
        size_t tree_len;
        int rc = snapstream_split(bytes, len, &config, &has_config, &tree_bytes, &tree_len);
        struct tree_options opt = {.extended_types_enabled = true};
        if (rc == SYN_OK)
                rc = tree_snap_read(tree_bytes, tree_len, &opt, t);
        if (rc == SYN_OK && tree_last_zxid(t) > index) {
                tree_close(t);
                rc = SYN_ECORRUPT;
        }
        if (rc == SYN_ENOMEM)
                return cli_error(ctx, CLI_EXIT_INTERNAL, "restore: out of memory");
        if (rc != SYN_OK)
                return cli_error(ctx, CLI_EXIT_DAMAGED,
                                 "restore: %s passes its checksums but its tree does not load "
                                 "(%s)",
                                 file, syn_strerror(rc));
        return CLI_EXIT_OK;
}

int cmd_restore(struct cli_ctx *ctx, int argc, char **argv)
{
        int c = getopt(argc, argv, ":");
        if (c != -1)
                return cli_bad_option(ctx, c, argv);
        if (argc - optind != 2) {
                cli_error(ctx, CLI_EXIT_USAGE, "restore: %s",
                          argc - optind < 2 ? "missing FILE DIR" : "too many arguments");
                return cli_usage(ctx, cli_command_usage("restore"), CLI_EXIT_USAGE);
        }
        const char *file = argv[optind], *dir = argv[optind + 1];
        struct snapfile_reader r;
        int code = open_backup(ctx, file, &r);
        if (code != CLI_EXIT_OK)
                return code;
        bool create;
        code = check_dir(ctx, dir, &create);
        if (code != CLI_EXIT_OK) {
                snapfile_reader_close(&r);
                return code;
        }
        uint64_t index = r.info.index, term = r.info.term;
        uint8_t *bytes = NULL;
        size_t len = (size_t)r.total_bytes;
        code = read_all(ctx, &r, &bytes);
        snapfile_reader_close(&r);
        if (code != CLI_EXIT_OK)
                return code;
        struct tree t;
        code = load_tree(ctx, file, bytes, len, index, &t);
        free(bytes);
        if (code != CLI_EXIT_OK)
                return code;
        uint64_t backup_index = index;
        int rc = forget_membership(&t, &index);
        if (rc != SYN_OK)
                code = cli_error(ctx, CLI_EXIT_INTERNAL, "restore: emptying %s: %s", config_node,
                                 syn_strerror(rc));
        uint64_t nodes = t.node_count;
        if (code == CLI_EXIT_OK)
                code = write_dir(ctx, dir, create, &t, index, term);
        tree_close(&t);
        if (code != CLI_EXIT_OK)
                return code;
        if (ctx->json) {
                fputs("{\"dir\":", ctx->out);
                cli_json_string(ctx->out, dir);
                fprintf(ctx->out, ",\"zxid\":%llu,\"nodes\":%llu}\n",
                        (unsigned long long)backup_index, (unsigned long long)nodes);
        } else {
                fprintf(ctx->out,
                        "restored %s: zxid 0x%llx, %llu nodes; start a server with dataDir=%s\n",
                        dir, (unsigned long long)backup_index, (unsigned long long)nodes, dir);
        }
        return CLI_EXIT_OK;
}
