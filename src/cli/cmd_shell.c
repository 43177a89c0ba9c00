/*
 * `synod shell`: an interactive loop over the same subcommands, keeping one
 * session open between commands. With GNU readline (when the build found
 * it) it has history and completion of command names and znode paths (the
 * children of the typed path's parent, fetched when TAB is pressed); without
 * it, plain line input. At a terminal the history persists in ~/.synod_history
 * ($HOME), like zkCli's and bash's; lines piped in are a script, not history.
 */
#include "cli/cli.h"

#include "base/limits.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef SYNOD_HAVE_READLINE
/* The history file, in HOME. */
#define CLI_HISTORY_NAME ".synod_history"
/* Longest history file path, bytes. */
#define CLI_HISTORY_PATH_BYTES_MAX 4096
#endif

#ifdef SYNOD_HAVE_READLINE
#include <readline/history.h>
#include <readline/readline.h>
#endif

/* Splits line in place into words; "double" and 'single' quotes group. */
static int cli_shell_split(char *line, char **argv, int max)
{
        int n = 0;
        char *p = line, *o = line;
        while (*p && n < max) {
                while (*p == ' ' || *p == '\t' || *p == '\n')
                        p++;
                if (*p == '\0')
                        break;
                argv[n++] = o;
                char quote = 0;
                for (; *p && (quote || (*p != ' ' && *p != '\t' && *p != '\n')); p++) {
                        if (!quote && (*p == '"' || *p == '\''))
                                quote = *p;
                        else if (quote && *p == quote)
                                quote = 0;
                        else
                                *o++ = *p;
                }
                if (*p)
                        p++;
                *o++ = '\0';
        }
        return n;
}

#ifdef SYNOD_HAVE_READLINE
/* readline's completion hooks take no user argument, so the shell's context is
 * kept here for the duration of cmd_shell (the one place this file needs it). */
static struct cli_ctx *cli_shell_ctx;

static char *cli_complete_command(const char *text, int state)
{
        static int i; /* readline's generator protocol: state 0 restarts */
        if (state == 0)
                i = 0;
        size_t n = strlen(text);
        while (i < cli_command_count) {
                const char *name = cli_commands[i++].name;
                if (strncmp(name, text, n) == 0)
                        return strdup(name);
        }
        return NULL;
}

static char *cli_complete_path(const char *text, int state)
{
        static char **kids;
        static int32_t count, i;
        static char *dir;
        if (state == 0) {
                synod_strings_free(kids, count);
                kids = NULL;
                count = i = 0;
                free(dir);
                dir = strdup(text);
                char *slash = dir ? strrchr(dir, '/') : NULL;
                if (slash == NULL)
                        return NULL;
                slash[slash == dir ? 1 : 0] = '\0';
                if (cli_shell_ctx->h == NULL ||
                    synod_children(cli_shell_ctx->h, dir, &kids, &count, NULL, NULL) != SYNOD_OK)
                        count = 0;
        }
        const char *base = strrchr(text, '/') + 1;
        while (i < count) {
                const char *k = kids[i++];
                if (strncmp(k, base, strlen(base)) != 0)
                        continue;
                size_t len = strlen(dir) + strlen(k) + 2;
                char *full = malloc(len);
                if (full)
                        snprintf(full, len, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", k);
                return full;
        }
        return NULL;
}

static char **cli_complete(const char *text, int start, int end)
{
        (void)end;
        rl_attempted_completion_over = 1;
        if (start == 0)
                return rl_completion_matches(text, cli_complete_command);
        if (text[0] == '/')
                return rl_completion_matches(text, cli_complete_path);
        return NULL;
}

/* The history file, "" when there is none (no HOME, or not at a terminal). */
static char cli_history_file[CLI_HISTORY_PATH_BYTES_MAX];

static void cli_history_open(void)
{
        const char *home = getenv("HOME");
        cli_history_file[0] = '\0';
        if (home == NULL || home[0] == '\0' || !isatty(STDIN_FILENO))
                return;
        int n =
            snprintf(cli_history_file, sizeof(cli_history_file), "%s/%s", home, CLI_HISTORY_NAME);
        if (n < 0 || (size_t)n >= sizeof(cli_history_file)) {
                cli_history_file[0] = '\0';
                return;
        }
        stifle_history(CLI_SHELL_HISTORY_LINES_MAX);
        read_history(cli_history_file); /* none yet is fine */
}

/* Appends the line at once, so that a shell killed or run in parallel loses nothing. */
static void cli_history_add(const char *line)
{
        add_history(line);
        if (cli_history_file[0] == '\0')
                return;
        if (append_history(1, cli_history_file) != 0) {
                /* the first line: append_history wants an existing file */
                FILE *f = fopen(cli_history_file, "a");
                if (f != NULL)
                        fclose(f);
                append_history(1, cli_history_file);
        }
        history_truncate_file(cli_history_file, CLI_SHELL_HISTORY_LINES_MAX);
}

static char *cli_read_line(void)
{
        char *line = readline("synod> ");
        if (line && *line)
                cli_history_add(line);
        return line;
}
#else
static char *cli_read_line(void)
{
        fputs("synod> ", stdout);
        fflush(stdout);
        char *buf = malloc(CLI_SHELL_LINE_BYTES_MAX);
        if (buf && fgets(buf, CLI_SHELL_LINE_BYTES_MAX, stdin) == NULL) {
                free(buf);
                return NULL;
        }
        return buf;
}
#endif

int cmd_shell(struct cli_ctx *ctx, int argc, char **argv)
{
        if (ctx->in_shell)
                return cli_error(ctx, CLI_EXIT_USAGE, "shell: already in the shell");
        if (argc != 1)
                return cli_error(ctx, CLI_EXIT_USAGE, "shell takes no argument, not '%.80s'",
                                 argv[1]);
        int code = cli_connect(ctx);
        if (code != CLI_EXIT_OK)
                return code;
        ctx->in_shell = true;
#ifdef SYNOD_HAVE_READLINE
        cli_shell_ctx = ctx;
        rl_attempted_completion_function = cli_complete;
        cli_history_open();
#endif
        for (char *line; (line = cli_read_line()) != NULL; free(line)) {
                char *words[CLI_SHELL_ARGS_MAX];
                int n = cli_shell_split(line, words, CLI_SHELL_ARGS_MAX);
                if (n == 0)
                        continue;
                if (strcmp(words[0], "quit") == 0 || strcmp(words[0], "exit") == 0) {
                        free(line);
                        break;
                }
                code = cli_dispatch(ctx, n, words);
                if (code != CLI_EXIT_OK)
                        fprintf(ctx->err, "(exit %d)\n", code);
                fflush(ctx->out);
        }
        ctx->in_shell = false;
        return CLI_EXIT_OK;
}
