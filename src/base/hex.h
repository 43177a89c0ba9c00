/* Hexadecimal digits: Stat fields and versions in config files, node data shown as hex. */
#ifndef SYN_BASE_HEX_H
#define SYN_BASE_HEX_H

#include <stddef.h>
#include <stdint.h>

/* The value of hex digit c (either case), or -1 if it is none. */
int syn_hex_digit(char c);

/* Writes len bytes of in as 2 * len lowercase hex digits to out (no NUL; both borrowed). */
void syn_hex_encode(const uint8_t *in, size_t len, char *out);

#endif
