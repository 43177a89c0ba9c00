/* Names and messages of the ZooKeeper error table of zk_types.h. */
#include "base/zk_types.h"

const char *zk_strerror(int zk_err)
{
        switch (zk_err) {
#define ZK_ERR_MSG(name, value, msg)                                                               \
        case name:                                                                                 \
                return msg;
                ZK_ERRORS(ZK_ERR_MSG)
#undef ZK_ERR_MSG
        default:
                return "unknown zookeeper error";
        }
}

const char *zk_errname(int zk_err)
{
        switch (zk_err) {
#define ZK_ERR_NAME(name, value, msg)                                                              \
        case name:                                                                                 \
                return #name;
                ZK_ERRORS(ZK_ERR_NAME)
#undef ZK_ERR_NAME
        default:
                return "ZUNKNOWN";
        }
}
