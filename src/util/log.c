/*
 * util/log.c: leveled logging to stderr.
 *
 * One mutex serializes lines from worker threads so that a line is never interleaved with
 * another. A progress line (TTY only) is erased before any log line and redrawn by the
 * next progress tick, so logs and progress share the terminal without garbling it.
 */
#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static enum log_level current_level = LOG_LEVEL_NOTICE;
static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;
static bool progress_shown = false;

static const char *level_names[] = {
	[LOG_LEVEL_DEBUG] = "debug",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_NOTICE] = "",
	[LOG_LEVEL_WARN] = "warning",
	[LOG_LEVEL_ERROR] = "error",
};

void
log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level
log_get_level(void)
{
	return current_level;
}

static void
clear_progress_locked(void)
{
	if (progress_shown) {
		fputs("\r\033[K", stderr);
		progress_shown = false;
	}
}

/*
 * log_message prints "crosscheck: <level>: <text>". A message starting with "hint: " is
 * printed as is after the prefix, so hints read as the continuation of their error.
 */
void
log_message(enum log_level level, const char *fmt, ...)
{
	if (level < current_level)
		return;

	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&log_mutex);
	clear_progress_locked();
	if (strncmp(fmt, "hint: ", 6) == 0 || level == LOG_LEVEL_NOTICE)
		fputs("crosscheck: ", stderr);
	else
		fprintf(stderr, "crosscheck: %s: ", level_names[level]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stderr);
	pthread_mutex_unlock(&log_mutex);
	va_end(ap);
}

void
log_progress_line(const char *line)
{
	pthread_mutex_lock(&log_mutex);
	fprintf(stderr, "\r\033[K%s", line);
	fflush(stderr);
	progress_shown = true;
	pthread_mutex_unlock(&log_mutex);
}

void
log_progress_end(void)
{
	pthread_mutex_lock(&log_mutex);
	clear_progress_locked();
	fflush(stderr);
	pthread_mutex_unlock(&log_mutex);
}
