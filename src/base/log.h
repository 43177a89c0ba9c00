/*
 * Leveled logging. Lines go to a sink, stderr with a UTC timestamp by default;
 * tests and the simulator install their own sink to capture or silence output.
 *
 * The sink and level are the one piece of process-wide state besides the signal
 * flag: they are set once at start-up, before any thread starts, and only read
 * afterwards.
 */
#ifndef SYN_BASE_LOG_H
#define SYN_BASE_LOG_H

enum syn_log_level { SYN_LOG_DEBUG, SYN_LOG_INFO, SYN_LOG_WARN, SYN_LOG_ERROR, SYN_LOG_FATAL };

/* Receives one formatted line without trailing newline; `line` is borrowed for the call. */
typedef void (*syn_log_sink_fn)(void *arg, enum syn_log_level level, const char *line);

/* Installs a sink (NULL = default stderr sink) and the minimum level printed. */
void syn_log_configure(enum syn_log_level min_level, syn_log_sink_fn sink, void *arg);
enum syn_log_level syn_log_level(void);
/* Parses "debug", "info", "warn", "error"; returns -1 if unknown. */
int syn_log_level_parse(const char *name);

void syn_log(enum syn_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define SYN_DEBUG(...) syn_log(SYN_LOG_DEBUG, __VA_ARGS__)
#define SYN_INFO(...)  syn_log(SYN_LOG_INFO, __VA_ARGS__)
#define SYN_WARN(...)  syn_log(SYN_LOG_WARN, __VA_ARGS__)
#define SYN_ERROR(...) syn_log(SYN_LOG_ERROR, __VA_ARGS__)

#endif
