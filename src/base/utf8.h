/*
 * Strict UTF-8 (RFC 3629): the one decoder every module uses (path rules, the
 * CLI's JSON output and input).
 */
#ifndef SYN_BASE_UTF8_H
#define SYN_BASE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The length (1..4) of the well-formed sequence at s (n > 0 bytes readable,
 * borrowed), its code point in *cp; 0 if ill-formed: a stray continuation byte,
 * an overlong form, a surrogate, a code point past U+10FFFF or a sequence cut
 * short by n. */
size_t syn_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);

#endif
