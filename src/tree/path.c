/* Path arithmetic of the tree (the path rules themselves are base/zk_path.h). */
#include "tree/tree_int.h"

size_t tree_parent_len(const char *p, size_t len)
{
        size_t i = len;
        while (i > 0 && p[i - 1] != '/')
                i--;
        /* i is just past the last '/'; the parent is everything before it, or "/" */
        return i <= 1 ? 1 : i - 1;
}
