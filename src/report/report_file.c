/*
 * report/report_file.c: writing a report to a file that is replaced whole or not at all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report/report.h"
#include "util/buf.h"
#include "util/log.h"

/*
 * report_write_file writes the report to a temporary file in the output's folder, syncs
 * it and renames it over the output. On any error the temporary file is removed and the
 * output is left as it was.
 */
bool
report_write_file(struct store *st, const struct report_options *o, const char *output)
{
	struct buf tmp;
	buf_init(&tmp);
	const char *slash = strrchr(output, '/');
	if (slash)
		buf_append(&tmp, output, (size_t) (slash - output + 1));
	buf_printf(&tmp, ".%s.tmp.", slash ? slash + 1 : output);
	for (int i = 0; i < 6; i++) /* mkstemp's template: six X it replaces */
		buf_append_char(&tmp, 'X');
	char *path = buf_steal(&tmp);
	FILE *f = NULL;
	bool ok = false, created = false;
	int fd = mkstemp(path);
	if (fd < 0) {
		log_error("report: cannot write %s: %s", output, strerror(errno));
		log_hint("choose an --output in a folder you can write to");
		goto cleanup;
	}
	created = true;
	/* mkstemp makes 0600; a report is as readable as any file the user creates */
	mode_t mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) != 0)
		log_warn("report: cannot set the mode of %s: %s", path, strerror(errno));
	if ((f = fdopen(fd, "w")) == NULL) {
		log_error("report: cannot write %s: %s", path, strerror(errno));
		close(fd);
		goto cleanup;
	}
	if (!report_write(st, o, f))
		goto cleanup;
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		log_error("report: cannot write %s: %s", output, strerror(errno));
		goto cleanup;
	}
	int rc = fclose(f);
	f = NULL;
	if (rc != 0) {
		log_error("report: cannot write %s: %s", output, strerror(errno));
		goto cleanup;
	}
	if (rename(path, output) != 0) {
		log_error("report: cannot write %s: %s", output, strerror(errno));
		log_hint("--output must name a file, not a folder");
		goto cleanup;
	}
	created = false;
	ok = true;
cleanup:
	if (f)
		fclose(f);
	if (created)
		unlink(path);
	free(path);
	return ok;
}

