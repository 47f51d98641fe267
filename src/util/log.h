/*
 * util/log.h: leveled logging to stderr, safe from several threads.
 *
 * Errors are logged once, where they happen, with context; callers only pass `false` up.
 * Text is lowercase with no final period; a "hint:" line follows when the user can act.
 */
#ifndef CROSSCHECK_UTIL_LOG_H
#define CROSSCHECK_UTIL_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_DEBUG = 0,
	LOG_LEVEL_INFO,
	LOG_LEVEL_NOTICE,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);

void log_message(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* log_progress_line writes a transient status line (TTY only); the next log clears it. */
void log_progress_line(const char *line);
void log_progress_end(void);

#define log_debug(...) log_message(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_message(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_notice(...) log_message(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_warn(...) log_message(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_message(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_hint(...) log_message(LOG_LEVEL_ERROR, "hint: " __VA_ARGS__)

#endif
