/*
 * Every limit of synod, with its unit, default and reason (SQLite's sqliteLimit.h).
 *
 * A limit that is tunable at run time is a row in the server's config table
 * (min, max, default) and shows in mntr; the constant here is its default.
 * Relations between limits are checked with _Static_assert at the end.
 *
 * Each module adds its limits in its own section; keep names prefixed with the
 * module and suffixed with the unit.
 */
#ifndef SYN_BASE_LIMITS_H
#define SYN_BASE_LIMITS_H

/* ---- proto: the ZooKeeper wire ---- */

/* Largest client packet, bytes: ZooKeeper's jute.maxbuffer default (0xfffff). */
#define ZK_FRAME_BYTES_MAX (1024 * 1024 - 1)
/* Longest path accepted, bytes. ZooKeeper has no explicit cap; the frame bounds it. */
#define ZK_PATH_BYTES_MAX (64 * 1024)
/* Most ACL entries in one ACL list: more is hostile, not useful. */
#define ZK_ACL_COUNT_MAX 1024
/*
 * Smallest wire size of one multi / multiRead sub-op, bytes: its MultiHeader
 * {int type; boolean done; int err} (9) plus the smallest record a multi may hold,
 * getData / getChildren {ustring path, null = 4; boolean watch, 1} (5). (Write
 * sub-ops are larger: check / delete with a null path are 9 + 8.)
 */
#define ZK_MULTI_OP_BYTES_MIN 14
/*
 * Most operations in one multi / multiRead: as many as the largest frame can carry.
 * ZooKeeper limits a multi only by jute.maxbuffer, so any multi that fits in a frame
 * must be decoded and run; a count cap below this would close connections ZooKeeper
 * serves. 74,898 with the 1 MiB frame.
 */
#define ZK_MULTI_OPS_MAX (ZK_FRAME_BYTES_MAX / ZK_MULTI_OP_BYTES_MIN)
/*
 * Most bytes one multi sub-op's result adds to the reply beyond the path bytes of its
 * request: MultiHeader (9) + Create2Response {path length (4), Stat (68)} + the
 * sequence suffix of a sequential create ("%010d" of an int: up to 11 chars). Every
 * other result is smaller (an error result is 9 + 4).
 */
#define ZK_MULTI_RESULT_EXTRA_BYTES_MAX (9 + 4 + 68 + 11)
/* Most paths in one SetWatches packet (the Java client chunks at 128 KiB). */
#define ZK_SETWATCHES_PATHS_MAX 65536
/* Auth bytes in one AuthPacket. */
#define ZK_AUTH_BYTES_MAX 4096
/* Session password length: the C client parses exactly this many bytes. */
#define ZK_PASSWD_BYTES 16
/* Scheme or id of one ACL entry, bytes (digest ids are ~40, x509 DNs a few hundred). */
#define ZK_ACL_ID_BYTES_MAX 4096
/*
 * Largest reply frame synod builds, bytes. Clients with the default jute.maxbuffer
 * drop replies over ZK_FRAME_BYTES_MAX (as they would from ZooKeeper); this cap only
 * stops a runaway listing from growing one output buffer without bound.
 */
#define ZK_REPLY_BYTES_MAX (16 * 1024 * 1024)
/* Smallest 4-byte value made of ASCII letters ("AAAA"): a length never gets here. */
#define ZK_FOURLW_VALUE_MIN 0x41414141

/* ---- raft ---- */

/* Most members (voters + learners) of a configuration: arrays, not maps (design). */
#define RAFT_NODES_MAX 9
/* Default election timeout, ticks; randomized in [e, 2e). 20 x 10 ms ticks = 200-400 ms. */
#define RAFT_ELECTION_TICKS_DEFAULT 20
/* Default heartbeat interval, ticks: well under the election timeout (3 x 10 ms). */
#define RAFT_HEARTBEAT_TICKS_DEFAULT 3
/* Default appends in flight per follower, messages: pipelining without unbounded queues. */
#define RAFT_INFLIGHT_MSGS_DEFAULT 256
/* Hard cap on max_inflight_msgs, messages: the in-flight ring is sized from it. */
#define RAFT_INFLIGHT_MSGS_MAX 4096
/* Default entry bytes in flight per follower, bytes. */
#define RAFT_INFLIGHT_BYTES_DEFAULT (16 * 1024 * 1024)
/* Default entry bytes per append message, bytes (one larger entry is still sent alone). */
#define RAFT_MSG_BYTES_DEFAULT (1024 * 1024)
/* Most entries in one append message, entries. */
#define RAFT_MSG_ENTRIES_MAX 1024
/* Default bytes of proposed but uncommitted entries the leader accepts, bytes. */
#define RAFT_UNCOMMITTED_BYTES_DEFAULT (64 * 1024 * 1024)
/* Largest entry payload, bytes: a ZooKeeper frame plus the host's txn header (see
 * TXN_BYTES_MAX below: the txn of any request that fits in a frame fits). */
#define RAFT_ENTRY_BYTES_MAX (2 * 1024 * 1024)
/* The Raft log keeps entry payloads in chunks of this many bytes (a larger entry gets a
 * chunk of its own): a compaction frees whole chunks instead of an allocation per
 * entry, and at most one partly compacted chunk stays resident, bytes. */
#define RAFT_LOG_CHUNK_BYTES (64 * 1024)
/* Entries kept in the log after a snapshot compaction, entries (slow followers
 * catch up from the log rather than by a snapshot transfer). */
#define RAFT_SNAPSHOT_TRAILING_DEFAULT 1024
/* Largest InstallSnapshot chunk the host may put in one message, bytes. */
#define RAFT_SNAPSHOT_CHUNK_BYTES (1024 * 1024)
/* Most ReadIndex requests pending on one node, requests. */
#define RAFT_READ_PENDING_MAX 4096
/* Heartbeat rounds whose send tick the leader remembers for the read lease, rounds. */
#define RAFT_LEASE_ROUNDS 64
/* Most messages one raft_step may emit, messages: bounds the update's arrays.
 * A leader emits at most a window of appends per follower per step. */
#define RAFT_UPDATE_MSGS_MAX (RAFT_NODES_MAX * 64 + RAFT_READ_PENDING_MAX)
/* Encoded size of a configuration: version, two counts, ids. */
#define RAFT_CONFIG_ENCODED_BYTES_MAX (1 + 4 + 4 + 8 * 2 * RAFT_NODES_MAX)

/* ---- storage ---- */

/* Largest payload of one WAL record, bytes: one Raft entry holds at most one client
 * request (a frame) plus the leader's small header, so 4 MiB leaves room. */
#define WAL_ENTRY_BYTES_MAX (4 * 1024 * 1024)
/* Largest log index and term: a zxid is the log index and ZooKeeper's zxid is a signed
 * 64-bit long, so indexes stay <= INT64_MAX (and index + 1 never wraps). */
#define WAL_INDEX_MAX 0x7fffffffffffffffull
/* Default segment size at which the WAL rotates, bytes (also the preallocation size).
 * Large enough that rotation (one extra fsync) is rare, small enough to delete quickly. */
#define WAL_SEGMENT_BYTES_DEFAULT (64 * 1024 * 1024)
/* Bounds of the configurable segment size, bytes. */
#define WAL_SEGMENT_BYTES_MIN 4096
#define WAL_SEGMENT_BYTES_MAX (1024 * 1024 * 1024)
/* Most segment files in wal/: more means compaction is not running (or a hostile dir). */
#define WAL_SEGMENT_COUNT_MAX 65536
/* Bytes appended but not yet durable before wal_append pushes back with SYN_EAGAIN:
 * bounds the I/O thread's queue when the disk is slower than the clients. */
#define WAL_QUEUE_BYTES_MAX (256 * 1024 * 1024)
/* An fdatasync slower than this, us, counts as slow: ZooKeeper's fsync.warningthresholdms
 * default (its fsync_threshold_exceed_count), and the last bucket of the fsync histogram. */
#define WAL_FSYNC_SLOW_US 1000000
/* How often the WAL's I/O thread tries again a write that found the disk full, ms:
 * often enough that writes resume within a fraction of a second once space returns,
 * rarely enough that a full disk costs nothing. */
#define WAL_NOSPACE_RETRY_MS 250
/* Longest path of any storage file, bytes (with the terminating NUL). */
#define STORAGE_PATH_BYTES_MAX 4096
/* Most names read from one storage directory listing. */
#define STORAGE_DIR_ENTRIES_MAX 200000
/* Chunk size of the snapshot writer, bytes; the reader accepts chunks up to the max. */
#define SNAP_CHUNK_BYTES     65536
#define SNAP_CHUNK_BYTES_MAX (1024 * 1024)
/* Largest snapshot stream, bytes: a sanity bound for a hostile trailer (64 GiB). */
#define SNAP_STREAM_BYTES_MAX (64ull * 1024 * 1024 * 1024)
/* Default number of snapshots kept by retention (the newest and one fallback). */
#define SNAP_RETAIN_DEFAULT 2
/* Most snapshot files considered in one listing of snap/. */
#define SNAP_FILES_MAX 1024

/* ---- tree / session ---- */

/* Identities (scheme, id) carried in one txn for ACL checks: a connection rarely has more than 2.
 */
#define TXN_AUTH_IDS_MAX 64
/* Bytes of one identity's scheme or id in a txn: an auth payload plus room for the digest form. */
#define TXN_AUTH_ID_BYTES_MAX (ZK_AUTH_BYTES_MAX + 64)
/* Largest txn header (tree/txn.c): version, type, session id, cxid, time, super flag and
 * the identity count (27), then TXN_AUTH_IDS_MAX identities of two length-prefixed strings. */
#define TXN_HEADER_BYTES_MAX (27 + TXN_AUTH_IDS_MAX * 2 * (4 + TXN_AUTH_ID_BYTES_MAX))
/* Most bytes a txn's encoding of one write op exceeds the op's wire encoding inside a
 * multi (tree/txn.c): a create's u32 opcode and u64 ttl_ms (12) replace its 9-byte
 * MultiHeader; every other op is smaller in the txn than on the wire. */
#define TXN_OP_EXTRA_BYTES_MAX 3
/* Largest txn the server builds from one client request, bytes: the header, a multi's
 * count (4), every byte of the frame, and the per-op growth for the most ops a frame holds. */
#define TXN_BYTES_MAX                                                                              \
        (TXN_HEADER_BYTES_MAX + 4 + ZK_FRAME_BYTES_MAX + ZK_MULTI_OPS_MAX * TXN_OP_EXTRA_BYTES_MAX)
/* Largest znode data, bytes: a node's data must fit in one client frame (jute.maxbuffer). */
#define TREE_DATA_BYTES_MAX ZK_FRAME_BYTES_MAX
/* Most znodes a snapshot may claim: far above any real tree, bounds a hostile count. */
#define TREE_NODE_COUNT_MAX (64 * 1024 * 1024)
/* Most distinct ACL lists a snapshot may claim (most nodes share a handful). */
#define TREE_ACL_LISTS_MAX (16 * 1024 * 1024)
/* Most live sessions in the replicated table: a bound on a client-driven table. */
#define SESSION_COUNT_MAX (1024 * 1024)
/* Longest session timeout accepted in a CREATE_SESSION txn, ms (the server clamps far lower). */
#define SESSION_TIMEOUT_MS_MAX (24 * 3600 * 1000)

/* ---- watch ---- */

/*
 * Watches one client connection may hold, counting each kind (data, exist,
 * child, persistent, recursive) on each path once. ZooKeeper has no cap; a
 * TreeCache-style client watches every node it caches, so the default is
 * generous, but a cap keeps one connection from exhausting the server's memory
 * (a watch costs ~100 bytes plus its path). Refusals are counted.
 */
#define WATCH_PER_CONN_MAX (1024 * 1024)
/*
 * Bytes of watch bookkeeping one connection may hold: each (connection, path)
 * entry is charged WATCH_ENTRY_OVERHEAD_BYTES plus its path length (the path
 * record shared by other watchers is charged to each). The count cap alone lets
 * one connection pin 1 Mi watches x 64 KiB paths = 64 GiB. ZooKeeper has no such
 * limit; a registration past it is refused (counted in rejected_bytes_count).
 */
#define WATCH_PER_CONN_BYTES_MAX   (64ull * 1024 * 1024)
#define WATCH_ENTRY_OVERHEAD_BYTES 128
/* Buckets of the watch manager's hash tables when empty: a power of two. */
#define WATCH_TABLE_BUCKETS_MIN 64

/* ---- net / server ---- */

/* Bytes of unsent output per connection above which the server stops reading from
 * it (backpressure): a client that does not read must not make us buffer without end. */
#define NET_CONN_OUTPUT_BYTES_SOFT_MAX (4 * 1024 * 1024)
/* Bytes of unsent output at which the connection is closed (watch events keep coming
 * even while reading is stopped, so the soft limit alone does not bound memory). */
#define NET_CONN_OUTPUT_BYTES_HARD_MAX (64 * 1024 * 1024)
/* Bytes read from the socket in one read callback (libuv's suggested size is 64 KiB). */
#define NET_READ_CHUNK_BYTES (64 * 1024)
/* Capacity a connection's idle input or output buffer may keep between uses: one
 * large reply or request must not pin its buffer for the connection's lifetime. */
#define NET_CONN_BUFFER_KEEP_BYTES (64 * 1024)
/* Pending connections queued by the kernel on the listening socket. */
#define NET_LISTEN_BACKLOG 511
/* How often the test clock hook (SYNOD_TEST_CLOCK_FILE, net/clock.c) re-reads its file,
 * ms of real time: a jump or drift the harness writes takes effect within this. */
#define NET_TEST_CLOCK_POLL_MS 100
/* Longest accepted host name / address string in the config, bytes. */
#define NET_ADDRESS_BYTES_MAX 256
/* Most bytes a four-letter-word answer may take (cons/wchc/dump grow with clients): a
 * longer listing is cut at a line end and ends with FOURLW_TRUNCATED_MARKER. */
#define NET_FOURLW_OUTPUT_BYTES_MAX (4 * 1024 * 1024)
/* Room kept under NET_FOURLW_OUTPUT_BYTES_MAX for the truncation marker line, bytes. */
#define NET_FOURLW_MARKER_BYTES 128
/*
 * Server-wide budget for what clients make the server hold, bytes: unsent output,
 * input buffers and queued request copies of every client connection (Redis's
 * maxmemory-clients). Per-connection caps alone let 100 clients that pipeline large
 * reads and never read the replies pin 100 x ~7.5 MB. Above 3/4 of it the connections
 * using more than NET_CONN_SMALL_BYTES are not read from; above it the largest are
 * closed, those whose output stopped draining first, until the total is under it
 * again. Tunable as clientMemoryLimitInMb.
 */
#define NET_CLIENT_MEMORY_MB_DEFAULT 256
#define NET_CLIENT_MEMORY_MB_MIN     16
#define NET_CLIENT_MEMORY_MB_MAX     (1024 * 1024)
/* A connection holding no more than this is never paused or closed by the budget above:
 * a well-behaved client's drained output and one read chunk of input stay under it. */
#define NET_CONN_SMALL_BYTES (256 * 1024)
/* Output pending this long without a byte written marks a client that does not read its
 * replies: the budget closes such connections before any that still drain, ms. */
#define NET_CONN_OUTPUT_STUCK_MS 500
/* How much the clients' memory must have shrunk since the last malloc_trim before the
 * server gives freed heap pages back to the system again, bytes (and at most once per
 * SRV_MALLOC_TRIM_INTERVAL_MS): buffers of a few MB come from the heap, and glibc keeps
 * freed heap memory resident otherwise. */
#define SRV_MALLOC_TRIM_BYTES       (16 * 1024 * 1024)
#define SRV_MALLOC_TRIM_INTERVAL_MS 1000
/* Likewise once the tree has this many nodes fewer than at its largest since the last
 * trim (an expired session's ephemerals, a deleted subtree), nodes. */
#define SRV_MALLOC_TRIM_NODES 65536

/* ---- admin server (src/admin; docs/operations.md "Admin server") ---- */

/* HTTP connections open at once, so requests in flight: each holds at most one while the
 * loop answers it. Monitoring polls with a few; more is a client stuck in a loop. Further
 * connections wait in the kernel's backlog until one closes (admin.idleTimeout). */
#define ADMIN_CONNECTIONS_MAX 16
/* Largest answer, bytes: /commands/connections, dump and watches grow with clients, like
 * the four-letter words; above it the answer is an error, not a truncated document. */
#define ADMIN_RESPONSE_BYTES_MAX (16 * 1024 * 1024)
/* admin.serverPort: ZooKeeper's default. */
#define ADMIN_PORT_DEFAULT 8080
/* admin.idleTimeout, ms: ZooKeeper's default, and the bounds accepted. */
#define ADMIN_IDLE_TIMEOUT_MS_DEFAULT 30000
#define ADMIN_IDLE_TIMEOUT_MS_MIN     1000
#define ADMIN_IDLE_TIMEOUT_MS_MAX     3600000
/* Longest admin.commandURL, bytes with the NUL. */
#define ADMIN_URL_BYTES_MAX 128
/* Largest request body, bytes: a console edit is JSON carrying a node's data, hex-encoded
 * (so twice jute.maxbuffer's 1 MiB) with room for the rest; a larger body is answered 413. */
#define ADMIN_BODY_BYTES_MAX (4 * 1024 * 1024)
/* Threads answering the console's tree and event requests with blocking client calls, so
 * one slow call (a write waiting for a quorum) does not hold up the next. */
#define ADMIN_CONSOLE_WORKERS 2
/* The console's client sessions (one per tree request, one for the event feed): requested
 * timeout and how long a request waits for its session, ms. Also what bounds a call the
 * server cannot answer (the read timeout is 2/3 of the session timeout). */
#define ADMIN_CONSOLE_SESSION_TIMEOUT_MS 6000
#define ADMIN_CONSOLE_CONNECT_TIMEOUT_MS 5000
/* Children a node's page lists; the rest are counted, not named (a node may have millions). */
#define ADMIN_CONSOLE_CHILDREN_MAX 1000
/* Events the live event view keeps for its pollers; older ones are dropped and counted. */
#define ADMIN_CONSOLE_EVENTS_MAX 1000
/* Backups (the admin command `snapshot`) waiting for the same snapshot at once; more are
 * refused with 503. Each waits for one forked snapshot, then streams an open file. */
#define SRV_BACKUPS_MAX 4

/* ---- peer links (proto/peer.c, net/peer.c; docs/peer-protocol.md) ---- */

/* Peers one server dials, links: every other member of the largest configuration. */
#define PEER_LINKS_MAX RAFT_NODES_MAX
/* Accepted peer connections open at once, connections: one per member, and as many again
 * for a dialer whose new connection arrives before its old one is seen to be dead. More
 * is not a cluster; a connection without a valid HELLO is closed after the timeout below. */
#define PEER_INBOUND_MAX (2 * RAFT_NODES_MAX)
/* Largest frame body on a peer link, bytes: an append of the default size with one maximal
 * entry, a snapshot chunk, or a forwarded batch of writes, each with room to spare. */
#define PEER_FRAME_BYTES_MAX (8 * 1024 * 1024)
/* Bytes a host may put around one encoded Raft message in a frame (the server's channel
 * byte); the rest of a frame bounds the encoded Raft message. */
#define PEER_FRAME_HOST_BYTES_MAX 4096
/* Largest encoded Raft message, bytes: the encoder refuses larger, the decoder rejects them. */
#define PEER_RAFT_MSG_BYTES_MAX (PEER_FRAME_BYTES_MAX - PEER_FRAME_HOST_BYTES_MAX)
/* Largest handshake body accepted, bytes: ours are at most 33 (magic, version, kind, three
 * ids); the rest is room for a later version's HELLO, which then gets a clear version
 * refusal. Until its handshake is done a connection buffers no more than one such frame. */
#define PEER_HANDSHAKE_BYTES_MAX 256
/* Bytes queued or being written to one peer: beyond it messages are dropped (Raft retries),
 * so a dead or slow peer can never grow the sender's memory. */
#define PEER_OUTPUT_BYTES_MAX (64 * 1024 * 1024)
/* Reconnect backoff, ms: the first retry after a link drops comes within 20 ms (a restarted
 * peer is reachable again at once, and failover must stay well under 500 ms); each failed
 * attempt doubles it up to 1 s; half of every delay is random so dialers do not align. */
#define PEER_RECONNECT_MS_MIN 20
#define PEER_RECONNECT_MS_MAX 1000
/* A dial whose TCP connect and handshake are not done in this long is abandoned and
 * retried, ms: on a LAN both take under a millisecond; an unreachable host swallows SYNs. */
#define PEER_CONNECT_TIMEOUT_MS 500
/* A peer link whose data stays unacknowledged this long is aborted by the kernel
 * (TCP_USER_TIMEOUT), ms, and redialled: a peer whose host died or was cut off sends no
 * reset, and TCP alone retransmits with a growing backoff, so a healed link could stay
 * silent for tens of seconds. Links that carry nothing for PEER_KEEPALIVE_IDLE_S (followers'
 * links to each other between elections) are probed every PEER_KEEPALIVE_INTERVAL_S, so a
 * dead one is found before the next election needs it. */
#define PEER_TCP_USER_TIMEOUT_MS  5000
#define PEER_KEEPALIVE_IDLE_S     1
#define PEER_KEEPALIVE_INTERVAL_S 1
/* An accepted connection that sent no valid HELLO in this long is closed, ms. */
#define PEER_HANDSHAKE_TIMEOUT_MS 2000
/* Refusals and protocol errors on accepted connections are logged at WARN at most once per
 * this many ms (a misconfigured peer retries every second); the others at DEBUG. Every
 * one is counted. */
#define PEER_LOG_INTERVAL_MS 10000

/* tickTime, ms: the unit of session timeouts and of the server's tick timer. */
#define SRV_TICK_TIME_MS_DEFAULT 2000
#define SRV_TICK_TIME_MS_MIN     10
#define SRV_TICK_TIME_MS_MAX     60000
/* How often the server's slow work runs (session expiry, reaping, session touches to the
 * leader, autopurge), ms; the loop itself ticks every raftTickMs for the Raft core. */
#define SRV_LOOP_TICK_MS 50
/* Session timeouts, ms: ZooKeeper's defaults are 2*tickTime and 20*tickTime. */
#define SRV_SESSION_TIMEOUT_MS_MIN 1
#define SRV_SESSION_TIMEOUT_MS_MAX (24 * 3600 * 1000)
/* maxClientCnxns: connections from one IP address (ZooKeeper default 60; 0 = no limit). */
#define SRV_CLIENT_CNXNS_PER_IP_DEFAULT 60
#define SRV_CLIENT_CNXNS_PER_IP_MAX     100000
/* All client connections of one server, whatever their address. */
#define SRV_CONNS_MAX 10000
/* Requests of one connection queued in the pipeline and not yet answered; above it
 * the server stops reading from that connection until replies go out. */
#define SRV_CONN_REQUESTS_INFLIGHT_MAX 1024
/* Bytes of request copies (frame without trailing padding, plus bookkeeping) one
 * connection may have queued in the pipeline before the server stops reading from
 * it, like the count above: 1024 requests of up to ~1 MiB each would otherwise be
 * 1 GiB per connection. One request over it is still queued (reading then pauses). */
#define SRV_CONN_QUEUED_BYTES_MAX (16 * 1024 * 1024)
/* Entries written between two snapshots (ZooKeeper's snapCount default). */
#define SRV_SNAP_COUNT_DEFAULT 100000
#define SRV_SNAP_COUNT_MIN     10
#define SRV_SNAP_COUNT_MAX     100000000
/* snapSizeLimitInKb (ZooKeeper's zookeeper.snapSizeLimitInKb, there 4 GiB): a snapshot
 * is also taken once this many KiB of entries were logged since the last one. The
 * Raft core keeps every entry since its last snapshot in memory, so this bounds that
 * memory: loading 100,000 nodes of 256 B (~33 MB of creates) snapshots about every
 * 25,000 creates instead of once, and the log never holds more than ~8 MiB. */
#define SRV_SNAP_SIZE_LIMIT_KB_DEFAULT 8192
#define SRV_SNAP_SIZE_LIMIT_KB_MIN     64
#define SRV_SNAP_SIZE_LIMIT_KB_MAX     (64ll * 1024 * 1024)
/* ...but never before the log holds 1/this of the tree's data (path + data bytes):
 * a snapshot writes the whole tree, so this caps the bytes snapshots write per byte
 * logged at about this many, however big the tree grows. */
#define SRV_SNAP_TREE_SHARE_DIVISOR 4
/* After a background snapshot failed (a full disk, most likely), ms before the next try:
 * without a pause the next loop iteration would fork the next doomed child at once. */
#define SRV_SNAPSHOT_RETRY_MS 1000
/* autopurge.snapRetainCount: snapshots (and the WAL needed by them) kept; ZooKeeper min 3. */
#define SRV_SNAP_RETAIN_COUNT_DEFAULT 3
#define SRV_SNAP_RETAIN_COUNT_MIN     3
#define SRV_SNAP_RETAIN_COUNT_MAX     1000
/* autopurge.purgeInterval, hours (0 = purge only after each snapshot). */
#define SRV_PURGE_INTERVAL_HOURS_MAX (24 * 365)
/* How often containers and TTL nodes are checked for reaping, ms (ZooKeeper's
 * znode.container.checkIntervalMs default). */
#define SRV_REAP_INTERVAL_MS_DEFAULT 60000
#define SRV_REAP_INTERVAL_MS_MIN     10
#define SRV_REAP_INTERVAL_MS_MAX     (24 * 3600 * 1000)
/* Most nodes reaped in one REAP entry, so one entry stays small. */
#define SRV_REAP_NODES_PER_ENTRY_MAX 1000
/* Longest line of a config file, bytes. */
#define SRV_CONFIG_LINE_BYTES_MAX 4096
/* Longest file system path from the config (dataDir, dataLogDir), bytes. */
#define SRV_PATH_BYTES_MAX 1024
/* How long a TLS client has to finish its handshake, ms (ZooKeeper's
 * ssl.handshakeDetectionTimeoutMillis and its default). */
#define NET_TLS_HANDSHAKE_TIMEOUT_MS_DEFAULT 5000
#define NET_TLS_HANDSHAKE_TIMEOUT_MS_MIN     100
#define NET_TLS_HANDSHAKE_TIMEOUT_MS_MAX     60000
/* Longest TLS setting that names a protocol, a key store type or ssl.clientAuth, bytes. */
#define SRV_TLS_WORD_BYTES_MAX 64
/* Longest 4lw.commands.whitelist / superDigest value, bytes. */
#define SRV_CONFIG_STRING_BYTES_MAX 1024
/* How often connections that never sent a ConnectRequest are looked for, ms (they are
 * closed after minSessionTimeout). */
#define SRV_HANDSHAKE_SCAN_MS 1000
/* Sessions expired in one tick at most, so a tick stays short; the rest wait a tick. */
#define SRV_EXPIRE_PER_TICK_MAX 256
/* Directory entries (and depth) `dirs`/`conf` sum at most: a huge dataDir must not stall the loop.
 */
#define SRV_DIR_SCAN_ENTRIES_MAX 100000
#define SRV_DIR_SCAN_DEPTH_MAX   4
/* Most identities (ip + digest auths) one connection carries. */
#define SRV_CONN_AUTH_IDS_MAX 16
/* A server that has known no leader for this many election timeouts stops serving and
 * closes its clients, so they move to a server that can serve them (well under any
 * session timeout: a cut-off server never answers from a stale state for long). */
#define SRV_LEADERLESS_GRACE_ELECTIONS 4
/* A ReadIndex round (sync, an unknown session's handshake) not answered within this many
 * election timeouts was lost with a leader: its connection closes and the client retries. */
#define SRV_READ_INDEX_TIMEOUT_ELECTIONS 10
/* Followers tell the leader which sessions were active this often, ms (far below the
 * smallest session timeout: the leader alone expires sessions). */
#define SRV_TOUCH_INTERVAL_MS 100
/* Largest batch of forwarded txns in one peer message, bytes (one more txn always fits). */
#define SRV_FORWARD_BATCH_BYTES_MAX (4 * 1024 * 1024)
/* Leader: forwarded txns waiting for room in Raft's uncommitted bytes, bytes. Beyond it
 * they are refused (their clients' connections close and they retry): a burst from the
 * followers cannot grow the leader's memory without bound. */
#define SRV_FORWARD_BACKLOG_BYTES_MAX (64 * 1024 * 1024)

/* ---- server: the cluster in the config file ---- */

/*
 * A server id (serverId, server.N, myid). It is the top byte of every session id the
 * server hands out, so it must fit in a byte; 0xff is also excluded because an
 * ephemeralOwner whose top byte is 0xff marks a TTL node (ZooKeeper's EphemeralType),
 * which is why ZooKeeper itself refuses ids above 254 when extendedTypesEnabled is on.
 */
#define SRV_SERVER_ID_MIN 1
#define SRV_SERVER_ID_MAX 254
/* Bytes read from dataDir/myid: one decimal number and a newline; more is not a myid. */
#define SRV_MYID_BYTES_MAX 64
/*
 * electionTimeoutMs: a follower that hears no leader for a random time in [e, 2e) starts
 * an election. 200 ms (20 ticks of 10 ms) fails over quickly on a LAN yet stays well above
 * a loaded machine's scheduling hiccups; the floor keeps it several ticks long, the
 * ceiling is a minute (longer is an outage, not a timeout).
 */
#define SRV_ELECTION_TIMEOUT_MS_DEFAULT 200
#define SRV_ELECTION_TIMEOUT_MS_MIN     20
#define SRV_ELECTION_TIMEOUT_MS_MAX     60000
/* heartbeatIntervalMs: how often an idle leader sends heartbeats. Must be below half the
 * election timeout (checked when the file is read) so that one lost heartbeat does not
 * start an election. */
#define SRV_HEARTBEAT_INTERVAL_MS_DEFAULT 30
#define SRV_HEARTBEAT_INTERVAL_MS_MIN     1
#define SRV_HEARTBEAT_INTERVAL_MS_MAX     (SRV_ELECTION_TIMEOUT_MS_MAX / 2 - 1)
/* raftTickMs: the Raft core's clock. The two timeouts above are counted in whole ticks
 * (rounded down), so the tick must not be longer than the heartbeat interval. */
#define SRV_RAFT_TICK_MS_DEFAULT 10
#define SRV_RAFT_TICK_MS_MIN     1
#define SRV_RAFT_TICK_MS_MAX     1000
/* initLimit / syncLimit, ticks: ZooKeeper's follower sync limits. synod's Raft does not
 * use them (the election timeout governs); they are accepted and shown by `conf` so that
 * a ZooKeeper ensemble config reads the same. Defaults of ZooKeeper's sample zoo.cfg. */
#define SRV_INIT_LIMIT_TICKS_DEFAULT 10
#define SRV_SYNC_LIMIT_TICKS_DEFAULT 5
#define SRV_ZK_LIMIT_TICKS_MAX       1000000

/* ---- client ---- */

/* Most servers in one connect string: a cluster, not a directory of them. */
#define CLIENT_SERVERS_MAX 64
/* Longest host name in a connect string, bytes (DNS names are at most 253). */
#define CLIENT_HOST_BYTES_MAX 255
/* Session timeout requested when the caller gives 0, ms (the server clamps it). */
#define CLIENT_SESSION_TIMEOUT_MS_DEFAULT 10000
/* Shortest TCP connect + handshake timeout per server, ms (else timeout / #servers). */
#define CLIENT_CONNECT_TIMEOUT_MS_MIN 500
/* Smallest read timeout (2/3 of the negotiated session timeout), ms: a server that
 * negotiates less would have us drop every connection at once. */
#define CLIENT_READ_TIMEOUT_MS_MIN 100
/* Backoff after a whole round of servers failed: first and largest pause, ms. */
#define CLIENT_BACKOFF_MS_MIN 50
#define CLIENT_BACKOFF_MS_MAX 2000
/* Largest reply the client accepts, bytes: 4x jute.maxbuffer for big listings. */
#define CLIENT_REPLY_BYTES_MAX (4 * 1024 * 1024)
/* Requests sent and not yet answered on one connection; more wait in the queue. */
#define CLIENT_INFLIGHT_MAX 4096
/* Requests queued on one handle (sent or not); more are refused with ZSYSTEMERROR. */
#define CLIENT_QUEUE_MAX 65536
/* Watch registrations on one handle (one-shot and persistent). */
#define CLIENT_WATCHES_MAX 65536
/* Bytes of paths per SetWatches packet: the Java client chunks at 128 KiB. */
#define CLIENT_SETWATCHES_BYTES_MAX (128 * 1024)
/* Identities added with synod_add_auth, re-sent on every reconnect. */
#define CLIENT_AUTH_MAX 16
/* How long synod_close waits for the closeSession reply, ms. */
#define CLIENT_CLOSE_WAIT_MS 2000
/* How often a waiting recipe re-checks the session state, ms. */
#define CLIENT_RECIPE_POLL_MS 100
/* Pause before a recipe retries after a connection loss, ms. */
#define CLIENT_RETRY_PAUSE_MS 100
/* Rounds a recipe retries an optimistic update (counter, config apply) on a lost race. */
#define CLIENT_CAS_ROUNDS_MAX 1000
/* The `synod` command line (src/cli). */
/* Operations in one `synod txn` file. */
#define CLI_TXN_OPS_MAX 1000
/* Longest line of a txn file, bytes (data up to a frame). */
#define CLI_TXN_LINE_BYTES_MAX (1024 * 1024)
/* Deepest level `synod ls -R` descends to. */
#define CLI_LS_DEPTH_MAX 64
/* ACL entries `synod acl set` accepts. */
#define CLI_ACL_MAX 64
/* Longest lock / election directory built from a NAME, bytes. */
#define CLI_NAME_BYTES_MAX 512
/* Work items `synod group run` partitions. */
#define CLI_ITEMS_MAX 10000
/* Longest KEY=VALUE line of `synod config apply`, bytes. */
#define CLI_CONFIG_LINE_BYTES_MAX (64 * 1024)
/* Keys in one `synod config apply`. */
#define CLI_CONFIG_KEYS_MAX 10000
/* Words in one `synod shell` line. */
#define CLI_SHELL_ARGS_MAX 64
/* Longest `synod shell` line without readline, bytes. */
#define CLI_SHELL_LINE_BYTES_MAX 65536
/* How long `synod create PATH` (no DATA) waits for a pipe on stdin to show data or its
 * end before taking it for an idle pipe (ssh, supervisors), ms: `echo x | synod create
 * /x` has written long before. */
#define CLI_STDIN_PIPE_WAIT_MS 200
/* Largest four-letter-word answer `synod status` reads, bytes. */
#define CLI_4LW_BYTES_MAX (256 * 1024)
/* How long `synod status` / `members list` wait on each step of a four-letter word, ms. */
#define CLI_4LW_TIMEOUT_MS 3000
/* Deepest nesting of JSON the command line checks (service --metadata), levels. */
#define CLI_JSON_DEPTH_MAX 64
/* Bytes of a create / set / txn request around its data and path, at most (header,
 * lengths, the default ACL, flags, TTL): what jute.maxbuffer leaves for data. */
#define CLI_REQUEST_OVERHEAD_BYTES 64
/* Lines `synod shell` keeps in ~/.synod_history. */
#define CLI_SHELL_HISTORY_LINES_MAX 1000
/* How often `synod` checks, while connecting, whether every server refused, ms. */
#define CLI_CONNECT_POLL_MS 20
/* Servers `synod members` reads from /zookeeper/config or takes in one add / remove. */
#define CLI_MEMBERS_MAX 256
/* Longest server line of /zookeeper/config `synod members` reads, bytes. */
#define CLI_MEMBER_LINE_BYTES_MAX 512
/* The progress line of long commands is redrawn at most this often, ms (a few times a
 * second: readable, and cheap next to the work). */
#define CLI_PROGRESS_REFRESH_MS 250
/* A listing or recursive delete shows progress only after this many nodes (a small one
 * finishes before a line would help). */
#define CLI_PROGRESS_NODES_MIN 100
/* Backups: give up when the admin server sends nothing for this long, ms. */
#define CLI_BACKUP_STALL_MS 60000
/* Default admin port when the server's `conf` does not say (ZooKeeper's 8080). */
#define CLI_ADMIN_PORT_DEFAULT 8080
_Static_assert(CLIENT_BACKOFF_MS_MIN < CLIENT_BACKOFF_MS_MAX, "backoff grows");
_Static_assert(CLIENT_INFLIGHT_MAX <= CLIENT_QUEUE_MAX, "requests in flight are queued ones");
_Static_assert(ZK_FRAME_BYTES_MAX <= CLIENT_REPLY_BYTES_MAX, "accept any reply ZooKeeper sends");
_Static_assert(CLIENT_WATCHES_MAX <= ZK_SETWATCHES_PATHS_MAX, "all watches fit one SetWatches");

/* ---- relations ---- */
_Static_assert(RAFT_HEARTBEAT_TICKS_DEFAULT < RAFT_ELECTION_TICKS_DEFAULT,
               "heartbeats must come well within an election timeout");
_Static_assert(RAFT_INFLIGHT_MSGS_DEFAULT <= RAFT_INFLIGHT_MSGS_MAX, "default within cap");
_Static_assert(RAFT_SNAPSHOT_CHUNK_BYTES <= RAFT_MSG_BYTES_DEFAULT * 4, "chunks are messages");
_Static_assert(ZK_PATH_BYTES_MAX < ZK_FRAME_BYTES_MAX, "a path must fit in a frame");
_Static_assert(TXN_AUTH_ID_BYTES_MAX > ZK_AUTH_BYTES_MAX, "a digest identity must fit in a txn");
_Static_assert(ZK_FRAME_BYTES_MAX + 65536 <= WAL_ENTRY_BYTES_MAX,
               "a WAL record must hold a whole client request plus the entry header");
_Static_assert(WAL_SEGMENT_BYTES_MIN <= WAL_SEGMENT_BYTES_DEFAULT &&
                   WAL_SEGMENT_BYTES_DEFAULT <= WAL_SEGMENT_BYTES_MAX,
               "default segment size within its bounds");
_Static_assert(WAL_ENTRY_BYTES_MAX <= WAL_QUEUE_BYTES_MAX, "one entry must fit in the queue");
_Static_assert(SNAP_CHUNK_BYTES <= SNAP_CHUNK_BYTES_MAX, "writer chunks are readable");
_Static_assert(ZK_FRAME_BYTES_MAX < ZK_FOURLW_VALUE_MIN, "a frame length never spells a 4lw");
_Static_assert(ZK_FRAME_BYTES_MAX <= ZK_REPLY_BYTES_MAX, "a reply may be as large as a request");
_Static_assert(16 + 9 + ZK_MULTI_OPS_MAX * ZK_MULTI_RESULT_EXTRA_BYTES_MAX + ZK_FRAME_BYTES_MAX <=
                   ZK_REPLY_BYTES_MAX,
               "the reply of any multi that fits in a frame can be built");
_Static_assert(TXN_BYTES_MAX <= RAFT_ENTRY_BYTES_MAX,
               "the txn of any request that fits in a frame (the largest multi) fits in an entry");
_Static_assert(RAFT_ENTRY_BYTES_MAX <= WAL_ENTRY_BYTES_MAX,
               "every Raft entry fits in a WAL record");
_Static_assert(NET_CONN_OUTPUT_BYTES_SOFT_MAX < NET_CONN_OUTPUT_BYTES_HARD_MAX,
               "backpressure must start before the connection is dropped");
_Static_assert(NET_CONN_OUTPUT_BYTES_HARD_MAX < NET_CLIENT_MEMORY_MB_DEFAULT * 1024ll * 1024,
               "one connection at its own cap fits in the default budget");
_Static_assert(NET_CONN_SMALL_BYTES < NET_CONN_OUTPUT_BYTES_SOFT_MAX,
               "a connection the budget spares is below the per-connection backpressure");
_Static_assert(NET_FOURLW_MARKER_BYTES < NET_FOURLW_OUTPUT_BYTES_MAX, "room for the marker");
_Static_assert(ZK_FRAME_BYTES_MAX < NET_CONN_OUTPUT_BYTES_SOFT_MAX,
               "one maximal reply must fit under the backpressure threshold");
_Static_assert(SRV_CONN_AUTH_IDS_MAX <= TXN_AUTH_IDS_MAX,
               "a txn carries every identity of a connection");
_Static_assert(SRV_LOOP_TICK_MS <= SRV_TICK_TIME_MS_DEFAULT,
               "the loop ticks at least once per tickTime");
_Static_assert(SRV_HEARTBEAT_INTERVAL_MS_DEFAULT * 2 < SRV_ELECTION_TIMEOUT_MS_DEFAULT,
               "a lost heartbeat must not start an election");
_Static_assert(SRV_RAFT_TICK_MS_DEFAULT <= SRV_HEARTBEAT_INTERVAL_MS_DEFAULT,
               "a heartbeat is at least one tick");
_Static_assert(SRV_ELECTION_TIMEOUT_MS_DEFAULT ==
                   RAFT_ELECTION_TICKS_DEFAULT * SRV_RAFT_TICK_MS_DEFAULT,
               "the server's default election timeout is the Raft core's default");
_Static_assert(SRV_HEARTBEAT_INTERVAL_MS_DEFAULT ==
                   RAFT_HEARTBEAT_TICKS_DEFAULT * SRV_RAFT_TICK_MS_DEFAULT,
               "the server's default heartbeat is the Raft core's default");
_Static_assert(SRV_RAFT_TICK_MS_MAX <= SRV_HEARTBEAT_INTERVAL_MS_MAX, "a long tick stays usable");
_Static_assert(SRV_SERVER_ID_MAX < 0xff, "0xff in a session id's top byte marks TTL owners");
_Static_assert(PEER_RECONNECT_MS_MIN < PEER_RECONNECT_MS_MAX, "peer backoff grows");
_Static_assert(PEER_RECONNECT_MS_MIN * 4 <= SRV_ELECTION_TIMEOUT_MS_DEFAULT,
               "a dropped peer link is back well within an election timeout");
_Static_assert(PEER_CONNECT_TIMEOUT_MS < PEER_HANDSHAKE_TIMEOUT_MS,
               "a dialer gives up before the acceptor closes on it");
_Static_assert(PEER_INBOUND_MAX >= PEER_LINKS_MAX, "every member can connect");
_Static_assert(PEER_FRAME_BYTES_MAX * 4 <= PEER_OUTPUT_BYTES_MAX,
               "a peer's queue holds several maximal frames");
_Static_assert(SRV_FORWARD_BATCH_BYTES_MAX + RAFT_ENTRY_BYTES_MAX + PEER_FRAME_HOST_BYTES_MAX <=
                   PEER_FRAME_BYTES_MAX,
               "a forwarded batch, with the txn that overflows it, fits in a peer frame");
_Static_assert(PEER_FRAME_BYTES_MAX <= 0x7fffffff, "a frame length fits the u32 on the wire");

#endif
