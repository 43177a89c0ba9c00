/*
 * The line buffer of both programs. Lines are handed out in place (no copy per line);
 * the buffer holds two maximal lines so that a complete line is never refused just
 * because the previous one has not been compacted away yet.
 */
#include "chat.h"

#include <string.h>

void chat_linebuf_init(struct chat_linebuf *lb)
{
        lb->start = 0;
        lb->len = 0;
}

char *chat_linebuf_space(struct chat_linebuf *lb, size_t *room)
{
        if (lb->start > 0) {
                memmove(lb->data, lb->data + lb->start, lb->len - lb->start);
                lb->len -= lb->start;
                lb->start = 0;
        }
        *room = sizeof(lb->data) - 1 - lb->len;
        return lb->data + lb->len;
}

void chat_linebuf_commit(struct chat_linebuf *lb, size_t n)
{
        lb->len += n;
}

char *chat_linebuf_next(struct chat_linebuf *lb, bool *too_long)
{
        char *line = lb->data + lb->start;
        size_t held = lb->len - lb->start;
        char *nl = memchr(line, '\n', held);
        *too_long = false;
        if (nl == NULL) {
                *too_long = held > CHAT_LINE_BYTES_MAX;
                return NULL;
        }
        size_t n = (size_t)(nl - line);
        if (n > CHAT_LINE_BYTES_MAX) {
                *too_long = true;
                return NULL;
        }
        lb->start += n + 1;
        if (n > 0 && line[n - 1] == '\r')
                n--;
        line[n] = '\0';
        return line;
}
