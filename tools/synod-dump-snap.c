/*
 * synod-dump-snap: prints what a snapshot holds (like mdb_stat for LMDB).
 *
 *   synod-dump-snap [-n] [-s] [-a] PATH
 *
 * PATH is a snapshot directory (the newest valid snapshot is used), a snapshot file
 * written by storage's snapfile writer (in snap/, or a backup), or, with -r, a raw tree snapshot
 * stream (tree_snap_write output, e.g. a fuzz corpus file). The summary gives the last zxid,
 * counts, data size and the digest; -n lists every node in tree order with its Stat, -s lists
 * sessions, -a lists ACL lists. Exit status: 0 ok, 1 usage or I/O error, 2 corrupt snapshot.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/err.h"
#include "replica/snapstream.h"
#include "storage/fs.h"
#include "storage/storage.h"
#include "tree/tree.h"

#define DUMP_PATH_BYTES_MAX (64 * 1024 + 16)

struct dump_opts {
        bool nodes, sessions, acls, raw;
        const char *path;
};

static int read_raw(const char *path, uint8_t **out, size_t *len)
{
        FILE *f = fopen(path, "rb");
        if (f == NULL) {
                fprintf(stderr, "synod-dump-snap: %s: %s\n", path, strerror(errno));
                return 1;
        }
        size_t cap = 1 << 16, n = 0;
        uint8_t *buf = malloc(cap);
        size_t got;
        while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
                n += got;
                if (n == cap) {
                        uint8_t *b = realloc(buf, cap * 2);
                        if (b == NULL) {
                                free(buf);
                                buf = NULL;
                                break;
                        }
                        buf = b;
                        cap *= 2;
                }
        }
        fclose(f);
        if (buf == NULL) {
                fprintf(stderr, "synod-dump-snap: out of memory\n");
                return 1;
        }
        *out = buf;
        *len = n;
        return 0;
}

/* Opens PATH as a snapshot directory or as one snapshot file (in snap/ or a backup). */
static int open_snapfile(const char *path, struct snapfile_reader *r)
{
        const struct storage_fs *fs = storage_fs_posix();
        struct stat st;
        if (stat(path, &st) != 0) {
                fprintf(stderr, "synod-dump-snap: %s: %s\n", path, strerror(errno));
                return SYN_EIO;
        }
        if (S_ISDIR(st.st_mode))
                return snapfile_open_latest(r, fs, path);
        return snapfile_reader_open_file(r, fs, path);
}

/* The Raft configuration the snapshot carries (NULL: a stream from before it did). */
static void print_members(const struct raft_config *c)
{
        if (c == NULL) {
                printf("members: (not recorded)\n");
                return;
        }
        printf("voters:");
        for (uint32_t i = 0; i < c->n_voters; i++)
                printf(" %" PRIu64, c->voters[i]);
        printf("\nlearners:");
        for (uint32_t i = 0; i < c->n_learners; i++)
                printf(" %" PRIu64, c->learners[i]);
        printf("\n");
}

static int read_stream(const char *path, uint8_t **out, size_t *len)
{
        struct snapfile_reader r;
        int rc = open_snapfile(path, &r);
        if (rc != SYN_OK) {
                fprintf(stderr, "synod-dump-snap: %s: %s\n", path, syn_strerror(rc));
                return rc == SYN_ECORRUPT || rc == SYN_ETRUNC ? 2 : 1;
        }
        printf("file: %s (index %" PRIu64 ", term %" PRIu64 ", %" PRIu64 " bytes)\n", r.info.name,
               r.info.index, r.info.term, r.total_bytes);
        uint8_t *buf = malloc(r.total_bytes ? r.total_bytes : 1);
        size_t n = 0, got = 0;
        while (buf != NULL &&
               (rc = snapfile_read(&r, buf + n, r.total_bytes - n, &got)) == SYN_OK && got > 0)
                n += got;
        snapfile_reader_close(&r);
        if (buf == NULL || rc != SYN_OK) {
                fprintf(stderr, "synod-dump-snap: %s: %s\n", path,
                        buf ? syn_strerror(rc) : "out of memory");
                free(buf);
                return 1;
        }
        *out = buf;
        *len = n;
        return 0;
}

/* Pre-order walk (children in tree order) with an explicit stack: depth is unbounded. */
static int walk_nodes(const struct tree *t, void (*fn)(const struct tree_node *, void *), void *arg)
{
        size_t cap = 1024, depth = 0;
        const struct tree_node **stack = malloc(cap * sizeof(*stack));
        if (stack == NULL)
                return 1;
        const struct tree_node *root = tree_lookup(t, "/", 1);
        stack[depth++] = root;
        while (depth > 0) {
                const struct tree_node *n = stack[--depth];
                fn(n, arg);
                const struct tree_node *next = n == root ? NULL : tree_node_next_sibling(n);
                const struct tree_node *child = tree_node_first_child(n);
                if (depth + 2 > cap) {
                        const struct tree_node **more = realloc(stack, 2 * cap * sizeof(*stack));
                        if (more == NULL) {
                                free(stack);
                                return 1;
                        }
                        stack = more;
                        cap *= 2;
                }
                if (next != NULL)
                        stack[depth++] = next;
                if (child != NULL)
                        stack[depth++] = child;
        }
        free(stack);
        return 0;
}

static void print_node(const struct tree_node *n, void *arg)
{
        char *path = arg;
        int len = tree_node_path(n, path, DUMP_PATH_BYTES_MAX);
        struct zk_stat st;
        tree_node_stat(n, &st);
        printf("%s czxid=0x%" PRIx64 " mzxid=0x%" PRIx64 " pzxid=0x%" PRIx64 " ctime=%" PRId64
               " mtime=%" PRId64 " version=%d cversion=%d aversion=%d owner=0x%" PRIx64
               " dataLength=%d numChildren=%d\n",
               len >= 0 ? path : "?", (uint64_t)st.czxid, (uint64_t)st.mzxid, (uint64_t)st.pzxid,
               st.ctime, st.mtime, st.version, st.cversion, st.aversion, tree_node_owner(n),
               st.data_length, st.num_children);
}

static int print_nodes(const struct tree *t)
{
        char *path = malloc(DUMP_PATH_BYTES_MAX);
        if (path == NULL)
                return 1;
        int rc = walk_nodes(t, print_node, path);
        free(path);
        return rc;
}

static void print_sessions(const struct tree *t)
{
        struct session **v;
        uint32_t count;
        if (session_table_sorted(tree_sessions(t), &v, &count) != SYN_OK)
                return;
        for (uint32_t i = 0; i < count; i++)
                printf("session 0x%" PRIx64 " timeout=%d ephemerals=%u\n", v[i]->id,
                       v[i]->timeout_ms, v[i]->ephemeral_count);
        free(v);
}

struct acl_seen {
        const struct zk_acl **lists;
        size_t count, cap;
};

/* Prints each distinct ACL list the first time a node references it. */
static void print_acl_of(const struct tree_node *n, void *arg)
{
        struct acl_seen *seen = arg;
        const struct zk_acl *acl;
        int32_t count;
        tree_node_acl(n, &acl, &count);
        for (size_t i = 0; i < seen->count; i++) {
                if (seen->lists[i] == acl)
                        return;
        }
        if (seen->count == seen->cap) {
                size_t cap = seen->cap ? seen->cap * 2 : 16;
                const struct zk_acl **v = realloc(seen->lists, cap * sizeof(*v));
                if (v == NULL)
                        return;
                seen->lists = v;
                seen->cap = cap;
        }
        seen->lists[seen->count++] = acl;
        printf("acl list %zu:", seen->count);
        for (int32_t i = 0; i < count; i++)
                printf(" %d:%.*s:%.*s", acl[i].perms, acl[i].id.scheme.len,
                       (const char *)acl[i].id.scheme.data, acl[i].id.id.len,
                       (const char *)acl[i].id.id.data);
        printf("\n");
}

static int print_acls(const struct tree *t)
{
        struct acl_seen seen = {0};
        int rc = walk_nodes(t, print_acl_of, &seen);
        free(seen.lists);
        return rc;
}

static int parse_args(int argc, char **argv, struct dump_opts *o)
{
        memset(o, 0, sizeof(*o));
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (a[0] == '-' && a[1] != '\0' && o->path == NULL) {
                        for (const char *c = a + 1; *c; c++) {
                                if (*c == 'n')
                                        o->nodes = true;
                                else if (*c == 's')
                                        o->sessions = true;
                                else if (*c == 'a')
                                        o->acls = true;
                                else if (*c == 'r')
                                        o->raw = true;
                                else
                                        return -1;
                        }
                } else if (o->path == NULL) {
                        o->path = a;
                } else {
                        return -1;
                }
        }
        return o->path ? 0 : -1;
}

static void usage(FILE *out)
{
        fprintf(out, "usage: synod-dump-snap [-n] [-s] [-a] [-r] PATH\n"
                     "  PATH: snapshot dir, .snap file, or (-r) raw tree stream\n"
                     "  -n nodes  -s sessions  -a ACL lists\n");
}

int main(int argc, char **argv)
{
        struct dump_opts o;
        if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
                usage(stdout);
                return 0;
        }
        if (parse_args(argc, argv, &o) != 0) {
                usage(stderr);
                return 1;
        }
        uint8_t *bytes;
        size_t len;
        int rc = o.raw ? read_raw(o.path, &bytes, &len) : read_stream(o.path, &bytes, &len);
        if (rc != 0)
                return rc;
        struct raft_config members;
        bool has_members = false;
        const uint8_t *tree_bytes;
        size_t tree_len;
        struct tree t;
        int err = snapstream_split(bytes, len, &members, &has_members, &tree_bytes, &tree_len);
        if (err == SYN_OK)
                err = tree_snap_read(tree_bytes, tree_len,
                                     &(struct tree_options){.extended_types_enabled = true}, &t);
        free(bytes);
        if (err == SYN_OK)
                print_members(has_members ? &members : NULL);
        if (err != SYN_OK) {
                fprintf(stderr, "synod-dump-snap: %s: tree snapshot: %s\n", o.path,
                        syn_strerror(err));
                return err == SYN_ENOMEM ? 1 : 2;
        }
        printf("last_zxid: 0x%" PRIx64 "\nnodes: %" PRIu64 "\nephemerals: %" PRIu64
               "\nsessions: %u\nacl_lists: %" PRIu64 "\ndata_bytes: %" PRIu64
               "\ndigest: 0x%016" PRIx64 "\n",
               tree_last_zxid(&t), tree_node_count(&t), tree_ephemeral_count(&t),
               session_table_count(tree_sessions(&t)), t.acl_count, tree_data_bytes(&t),
               tree_digest(&t));
        if (o.sessions)
                print_sessions(&t);
        if (o.acls)
                rc |= print_acls(&t);
        if (o.nodes)
                rc |= print_nodes(&t);
        tree_close(&t);
        return rc ? 1 : 0;
}
