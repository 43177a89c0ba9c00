/* The error table of err.h, turned into messages and names. */
#include "base/err.h"

#include <string.h>

const char *syn_strerror(int err)
{
        switch (err) {
        case SYN_OK:
                return "success";
#define SYN_ERR_MSG(name, value, msg)                                                              \
        case name:                                                                                 \
                return msg;
                SYN_ERRORS(SYN_ERR_MSG)
#undef SYN_ERR_MSG
        default:
                break;
        }
        if (err < 0 && err > -1000)
                return strerror(-err);
        return "unknown error";
}

const char *syn_errname(int err)
{
        switch (err) {
        case SYN_OK:
                return "SYN_OK";
#define SYN_ERR_NAME(name, value, msg)                                                             \
        case name:                                                                                 \
                return #name;
                SYN_ERRORS(SYN_ERR_NAME)
#undef SYN_ERR_NAME
        default:
                return "errno";
        }
}
