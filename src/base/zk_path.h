/*
 * Znode path and name rules, as ZooKeeper's PathUtils.validatePath checks them:
 * absolute, no empty component, no "." or ".." component, no trailing '/'
 * (except the root), and no forbidden character. Java checks UTF-16 units, so
 * the bytes are decoded as strict UTF-8 and these are refused: U+0000..U+001F,
 * U+007F..U+009F, U+D800..U+F8FF, U+FFF0..U+FFFF, every supplementary
 * character (a surrogate pair in Java) and ill-formed input (U+FFFD in Java).
 * One implementation for the wire, the client, the CLI and the tree.
 */
#ifndef SYN_BASE_ZK_PATH_H
#define SYN_BASE_ZK_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ZOK or ZBADARGUMENTS for the len bytes at path (borrowed; NULL only with len 0).
 * A sequential create's path is checked as if a digit followed, as ZooKeeper does:
 * its last name may be empty ("/dir/"), "." or "..". Longer than ZK_PATH_BYTES_MAX
 * is refused (callers holding a wire length of -1 pass it cast: refused too). */
int zk_path_validate(const uint8_t *path, size_t len, bool sequential);

/* ZOK or ZBADARGUMENTS for one node name (a path component, no '/'). */
int zk_name_validate(const uint8_t *name, size_t len);

#endif
