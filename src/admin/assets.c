/* The console's files, as built into the binary (admin.h "web console"). */
#include <string.h>

#include "admin/admin.h"

/* Defined by the sources cmake/embed.cmake generates from console/ (CMakeLists.txt). */
extern const unsigned char admin_console_index_html[], admin_console_console_css[],
    admin_console_console_js[];
extern const size_t admin_console_index_html_len, admin_console_console_css_len,
    admin_console_console_js_len;

static const struct admin_asset assets[] = {
    {"/", "text/html; charset=utf-8", admin_console_index_html, &admin_console_index_html_len},
    {"/console", "text/html; charset=utf-8", admin_console_index_html,
     &admin_console_index_html_len},
    {"/console/", "text/html; charset=utf-8", admin_console_index_html,
     &admin_console_index_html_len},
    {"/console/console.css", "text/css; charset=utf-8", admin_console_console_css,
     &admin_console_console_css_len},
    {"/console/console.js", "text/javascript; charset=utf-8", admin_console_console_js,
     &admin_console_console_js_len},
};

const struct admin_asset *admin_asset_find(const char *path)
{
        for (size_t i = 0; i < sizeof assets / sizeof assets[0]; i++)
                if (strcmp(assets[i].path, path) == 0)
                        return &assets[i];
        return NULL;
}
