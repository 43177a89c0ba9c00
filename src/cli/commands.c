/*
 * The subcommand table: name, handler, one-line summary and usage text (the
 * usage texts are what --help prints and what the man page is made of).
 */
#include "cli/cli.h"

#include <string.h>

const struct cli_command cli_commands[] = {
    {"get", cmd_get, "print a node's data",
     "usage: synod get [--stat] PATH\n"
     "  Prints the node's data (and its stat with --stat).\n"},
    {"set", cmd_set, "set a node's data",
     "usage: synod set [-v VERSION] PATH DATA|-|@FILE\n"
     "  Sets the data; with -v only if the version matches.\n"
     "  DATA '-' reads the data from stdin, '@FILE' from FILE.\n"},
    {"create", cmd_create, "create a node (any mode)",
     "usage: synod create [-e] [-s] [-c] [-t TTL_MS] [-p] PATH [DATA|-|@FILE]\n"
     "  -e ephemeral (lives as long as this command's session: useful in the shell)\n"
     "  -s sequential   -c container   -t TTL_MS persistent with TTL\n"
     "  -p create missing parents\n"
     "  DATA '-' reads the data from stdin, '@FILE' from FILE; without DATA the node\n"
     "  is empty, and data waiting on stdin is refused rather than ignored (give '-').\n"
     "  Prints the created path.\n"},
    {"rm", cmd_rm, "delete a node (-r: with its subtree)",
     "usage: synod rm [-r] [-v VERSION] PATH\n"
     "  -r deletes the whole subtree (children first), counting on a terminal.\n"},
    {"delete", cmd_delete, "ZooKeeper's name for rm",
     "usage: synod delete [-v VERSION] PATH\n"
     "  Deletes a node without children (synod rm).\n"},
    {"deleteall", cmd_deleteall, "ZooKeeper's name for rm -r",
     "usage: synod deleteall PATH\n"
     "  Deletes the node and its whole subtree (synod rm -r).\n"},
    {"ls", cmd_ls, "list children (-R: the subtree)",
     "usage: synod ls [-R] PATH\n"
     "  Lists children (names); -R lists the subtree (paths), counting on the\n"
     "  terminal (stderr) while the listing goes to a file or a pipe.\n"},
    {"stat", cmd_stat, "print a node's stat", "usage: synod stat PATH\n"},
    {"watch", cmd_watch, "print events on a path until interrupted",
     "usage: synod watch [-r] [-n COUNT] PATH\n"
     "  Prints events on PATH (-r: and below) until interrupted, or exits after\n"
     "  exactly COUNT events.\n"
     "  Lines: CREATED|DELETED|DATA_CHANGED|CHILDREN_CHANGED PATH, SESSION STATE.\n"},
    {"txn", cmd_txn, "run a file of operations as one atomic multi",
     "usage: synod txn [FILE]\n"
     "  Runs the operations of FILE (or stdin), one per line, as one atomic multi:\n"
     "    create PATH [DATA]     create -e|-s|-es PATH [DATA]\n"
     "    set PATH DATA [VERSION]   delete PATH [VERSION]   check PATH VERSION\n"
     "  DATA is one word; '@FILE' reads it from FILE, and '-' from stdin when the\n"
     "  operations come from FILE (once per txn). Blank lines and lines starting\n"
     "  with # are skipped. Prints one result per op.\n"},
    {"acl", cmd_acl, "get or set a node's ACL",
     "usage: synod acl get PATH\n"
     "       synod acl set [-v VERSION] PATH SCHEME:ID:PERMS[,SCHEME:ID:PERMS...]\n"
     "  PERMS are letters of rwcda (read write create delete admin), e.g.\n"
     "  world:anyone:r,digest:bob:hash=:rwcda. The id may contain ':'.\n"},
    {"lock", cmd_lock, "run a command while holding a lock",
     "usage: synod lock [-t TIMEOUT_MS] [--read|--write] [--tolerate-suspend] NAME -- CMD...\n"
     "  Runs CMD while holding lock NAME (a bare name lives under /synod/locks).\n"
     "  CMD gets SYNOD_FENCING_TOKEN (grows with each holder) and SYNOD_LOCK_NODE.\n"
     "  CMD is stopped (TERM, then KILL after 2 s; exit 4) as soon as the lock may be\n"
     "  lost. By default that is when the connection to the servers is lost\n"
     "  (SUSPENDED): from then on we cannot know whether the session, and with it the\n"
     "  lock, still exists; the servers may expire it and give the lock to another\n"
     "  client before we notice, so keeping CMD running could let two holders overlap.\n"
     "  --tolerate-suspend keeps CMD running through a connection loss and stops it\n"
     "  only when the session expired (or a whole session timeout passed without a\n"
     "  server): more available, but CMD may overlap the next holder for up to a\n"
     "  session timeout, so use it only if the protected resource checks\n"
     "  SYNOD_FENCING_TOKEN.\n"
     "  Exit 5 if not acquired within TIMEOUT_MS.\n"
     "  Otherwise exits with CMD's status.\n"},
    {"elect", cmd_elect, "run a command while leader; observe the leader",
     "usage: synod elect [-t TIMEOUT_MS] [--id ID] [--tolerate-suspend] NAME -- CMD...\n"
     "       synod elect --observe NAME\n"
     "  Campaigns for leadership of NAME (under /synod/elections) and runs CMD while\n"
     "  leader (env SYNOD_FENCING_TOKEN, SYNOD_LEADER_ID). CMD is killed if leadership\n"
     "  is lost (exit 4). --observe prints the current leader's id.\n"},
    {"service", cmd_service, "register, list, watch and pick service instances",
     "usage: synod service register SERVICE --address ADDR --port PORT [--id ID]\n"
     "                              [--metadata JSON]\n"
     "       synod service list SERVICE\n"
     "       synod service watch [-n COUNT] SERVICE\n"
     "       synod service pick SERVICE\n"
     "  register keeps the instance registered (ephemeral) until interrupted;\n"
     "  exit 4 if the session expires. watch prints '+ ID ADDR:PORT' / '- ID' lines.\n"},
    {"config", cmd_config, "read, apply atomically and watch a configuration subtree",
     "usage: synod config get ROOT\n"
     "       synod config apply [-g GENERATION] ROOT [FILE]\n"
     "       synod config watch [-n COUNT] ROOT\n"
     "  ROOT holds one child per key. apply reads KEY=VALUE lines (and -KEY to delete)\n"
     "  from FILE or stdin and applies them atomically (with -g only if the generation\n"
     "  is still GENERATION). get and watch print a consistent snapshot:\n"
     "  '# generation N' then KEY=VALUE lines (watch: one snapshot per change).\n"},
    {"barrier", cmd_barrier, "barriers and double barriers",
     "usage: synod barrier set|remove|wait [-t TIMEOUT_MS] PATH\n"
     "       synod barrier enter|leave [-t TIMEOUT_MS] DIR MEMBER COUNT\n"
     "  wait blocks until PATH is removed; enter blocks until COUNT members entered;\n"
     "  leave blocks until all members left. Exit 5 on timeout.\n"},
    {"counter", cmd_counter, "a shared counter",
     "usage: synod counter get PATH\n"
     "       synod counter add PATH [DELTA]\n"
     "  Prints the value (after the add).\n"},
    {"group", cmd_group, "group membership with a work partitioner",
     "usage: synod group members DIR\n"
     "       synod group run [-n COUNT] DIR MEMBER ITEM[,ITEM...]\n"
     "  run joins DIR as MEMBER and prints 'owned: ITEMS' (this member's share of\n"
     "  the items among the live members) on every membership change.\n"},
    {"status", cmd_status, "table of the servers (role, zxid, connections, latency)",
     "usage: synod status\n"},
    {"members", cmd_members, "list, add and remove the servers of the cluster (reconfig)",
     "usage: synod members list\n"
     "       synod members add [-c VERSION] 'ID=HOST:PEERPORT[:ELECTIONPORT]\n"
     "                         [:participant|observer][;[CLIENTHOST:]CLIENTPORT]'...\n"
     "       synod members remove [-c VERSION] ID...\n"
     "  list prints the servers of /zookeeper/config (id, role, peer and client\n"
     "  address) with each one's live mode and zxid from srvr on its client address\n"
     "  ('-' when it does not answer), and the configuration's version.\n"
     "  add (a 'server.ID=' prefix is accepted too) and remove change the membership\n"
     "  with one reconfig and print the new one. Quote the server: ';' ends a shell\n"
     "  command. ZooKeeper needs ELECTIONPORT; synod ignores it. Start a joining\n"
     "  server first, configured with every server and itself (synod: and clusterId=\n"
     "  the running cluster's id, which `conf` shows).\n"
     "  -c VERSION changes only if the configuration is still at VERSION (hex, as\n"
     "  list prints it). The servers need reconfigEnabled=true, and the session the\n"
     "  super user: --auth digest:super:PASSWORD (or SYNOD_AUTH). Exit 1 when the\n"
     "  servers refuse (not authenticated, reconfig disabled, stale VERSION, no\n"
     "  quorum), with the reason.\n"},
    {"backup", cmd_backup, "save a consistent snapshot of a running server to a file",
     "usage: synod backup [--admin HOST:PORT] FILE\n"
     "  Saves the state of one server (its tree, ACLs and sessions at one zxid) to\n"
     "  FILE while it keeps serving: ZooKeeper 3.9's admin command `snapshot`, over\n"
     "  the server's admin port (admin.enableServer=true). FILE is written as\n"
     "  FILE.part, checked (every checksum) and renamed, so FILE is always whole.\n"
     "  --admin HOST:PORT   the admin server (default $SYNOD_ADMIN, else the first\n"
     "                      --server host at the admin.serverPort its `conf` reports,\n"
     "                      else port 8080)\n"
     "  With admin.authEnabled give --auth digest:USER:PASSWORD of an identity that\n"
     "  may read /. Progress is shown on a terminal. Exit 3 if the admin server\n"
     "  cannot be reached, 1 if it refuses, 7 if what arrived fails its checks.\n"},
    {"restore", cmd_restore, "make a new data directory from a backup file",
     "usage: synod restore FILE DIR\n"
     "  Checks FILE (a synod backup) and makes the data directory DIR from it (DIR\n"
     "  must be new or empty). Start a single server, or every server of a new\n"
     "  cluster (each restored from the same FILE, with its own myid), with\n"
     "  dataDir=DIR: the tree, its zxids and Stat fields are the backup's; the\n"
     "  membership is the new configuration's (/zookeeper/config is emptied, and the\n"
     "  new cluster's first leader writes it). Exit 2 if FILE is missing or DIR not\n"
     "  empty, 7 if FILE is damaged or truncated.\n"},
    {"shell", cmd_shell, "interactive shell with history and path completion",
     "usage: synod shell\n"
     "  Runs commands (without 'synod') on one session until quit, exit or EOF.\n"
     "  History is kept in ~/.synod_history (HOME).\n"},
};

const int cli_command_count = (int)(sizeof(cli_commands) / sizeof(cli_commands[0]));

const char *cli_command_usage(const char *name)
{
        for (int i = 0; i < cli_command_count; i++)
                if (strcmp(cli_commands[i].name, name) == 0)
                        return cli_commands[i].usage;
        return "usage: synod --help\n";
}
