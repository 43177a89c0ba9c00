/*
 * Operating errors of synod, returned as int (0 = success, negative = error).
 *
 * The codes start at -1000 so they never collide with errno values or with
 * ZooKeeper error codes (which are replies, not errors: see zk_types.h).
 * One X-macro table gives the names and messages.
 */
#ifndef SYN_BASE_ERR_H
#define SYN_BASE_ERR_H

#define SYN_ERRORS(X)                                                                              \
        X(SYN_ENOMEM, -1000, "out of memory")                                                      \
        X(SYN_EINVAL, -1001, "invalid argument")                                                   \
        X(SYN_EIO, -1002, "I/O error")                                                             \
        X(SYN_ECORRUPT, -1003, "data is corrupt")                                                  \
        X(SYN_ETRUNC, -1004, "data is truncated")                                                  \
        X(SYN_ETOOBIG, -1005, "size exceeds a limit")                                              \
        X(SYN_ENOSPC, -1006, "no space left on device")                                            \
        X(SYN_EAGAIN, -1007, "try again")                                                          \
        X(SYN_ECLOSED, -1008, "closed")                                                            \
        X(SYN_EPROTO, -1009, "protocol error")                                                     \
        X(SYN_ENOTFOUND, -1010, "not found")                                                       \
        X(SYN_EEXIST, -1011, "already exists")                                                     \
        X(SYN_ECONFIG, -1012, "bad configuration")                                                 \
        X(SYN_EBUSY, -1013, "busy")                                                                \
        X(SYN_ENOTLEADER, -1014, "not the leader")                                                 \
        X(SYN_ESHUTDOWN, -1015, "shutting down")                                                   \
        X(SYN_ELIMIT, -1016, "a configured limit was reached")                                     \
        X(SYN_ESYS, -1017, "system call failed")                                                   \
        X(SYN_ENOTSUP, -1018, "not supported")

enum syn_err {
        SYN_OK = 0,
#define SYN_ERR_ENUM(name, value, msg) name = (value),
        SYN_ERRORS(SYN_ERR_ENUM)
#undef SYN_ERR_ENUM
};

/* Message for a SYN_E* code, or strerror() text for a negative errno. Static storage. */
const char *syn_strerror(int err);

/* Name of a SYN_E* code ("SYN_EIO"), or "SYN_OK"/"errno" otherwise. Static storage. */
const char *syn_errname(int err);

#endif
