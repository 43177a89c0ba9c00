/*
 * A one-line progress display for long commands (backup, restore, rm -r, ls -R) on
 * stderr: "backup  12.5 MiB of 40.0 MiB  31%  8.1 MiB/s". It draws only when stderr
 * is a terminal, at most every CLI_PROGRESS_REFRESH_MS, and erases itself at the end,
 * so piped or redirected output never holds any of it.
 *
 * Ownership: the struct is the caller's (on its stack); `what` and `unit` are borrowed
 * static strings; `err` is borrowed until cli_progress_end.
 */
#ifndef SYN_CLI_PROGRESS_H
#define SYN_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct cli_progress {
        FILE *err;
        bool on;           /* stderr is a terminal (and not --json) */
        const char *what;  /* "backup" */
        bool bytes;        /* amounts are bytes (KiB/MiB...), else counted items */
        const char *unit;  /* items' name ("nodes"), when !bytes */
        uint64_t min_done; /* nothing is drawn before this much is done */
        int64_t start_ms;  /* monotonic */
        int64_t last_ms;   /* last redraw, 0 = none yet */
        bool drawn;        /* a line is on the screen */
};

/* Starts a display on err (on only if isatty(fileno(err)) and !json). */
void cli_progress_begin(struct cli_progress *p, FILE *err, bool json, const char *what, bool bytes,
                        const char *unit);
/* Reports done of total (total 0 = unknown); redraws if the interval has passed. */
void cli_progress_update(struct cli_progress *p, uint64_t done, uint64_t total);
/* cli_progress_update(arg, done, 0): a synod_progress_fn for counted items. */
void cli_progress_count(void *arg, uint64_t done);
/* Erases the line, if one was drawn. */
void cli_progress_end(struct cli_progress *p);

#endif
