/*
 * cli/checkpoint.c: `crosscheck checkpoint` records the source's replication position;
 * `crosscheck checkpoints` lists the recorded ones and whether an audit verified them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "cli/exit_codes.h"
#include "endpoint/endpoint.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"
#include "util/uri.h"

enum { OPT_SOURCE = 1, OPT_SLOT, OPT_LABEL, OPT_DMS };

static const struct option checkpoint_opts[] = {
	{"source", required_argument, NULL, OPT_SOURCE},
	{"slot", required_argument, NULL, OPT_SLOT},
	{"label", required_argument, NULL, OPT_LABEL},
	{"dms-checkpoint", required_argument, NULL, OPT_DMS},
	{NULL, 0, NULL, 0},
};

struct checkpoint_args {
	const char *source, *slot, *label, *dms;
};

static bool
checkpoint_option(void *vctx, int opt, const char *arg)
{
	struct checkpoint_args *a = vctx;
	switch (opt) {
	case OPT_SOURCE: a->source = arg; return true;
	case OPT_SLOT: a->slot = arg; return true;
	case OPT_LABEL: a->label = arg; return true;
	case OPT_DMS: a->dms = arg; return true;
	}
	return false;
}

/*
 * dms_checkpoint_ok checks the shape of a DMS RecoveryCheckpoint ("checkpoint:V1#...")
 * so that a typo is refused now rather than by DMS during an incident.
 */
static bool
dms_checkpoint_ok(const char *s)
{
	if (strncmp(s, "checkpoint:V1#", 14) != 0)
		return false;
	int hashes = 0;
	for (const char *p = s; *p; p++) {
		if (*p == '#')
			hashes++;
		if ((unsigned char) *p < 0x21 || (unsigned char) *p > 0x7e)
			return false;
	}
	return hashes >= 6;
}

/* What the command prints of the checkpoint it recorded (copied out of the store). */
struct checkpoint_view {
	char engine[32];
	char position[512];
	char gtid[2048];
};

static bool
keep_checkpoint(void *ctx, const struct checkpoint_record *r)
{
	struct checkpoint_view *v = ctx;
	snprintf(v->engine, sizeof(v->engine), "%s", r->engine);
	snprintf(v->position, sizeof(v->position), "%s", r->position);
	snprintf(v->gtid, sizeof(v->gtid), "%s", r->gtid ? r->gtid : "");
	return false;
}

static int
run_checkpoint(struct cli_context *ctx, int argc, char **argv)
{
	struct checkpoint_args a = {0};
	struct store *st = NULL;
	struct endpoint *ep = NULL;
	char *shown = NULL;
	int rc = EXIT_TOOL_ERROR;
	if (!cli_parse(ctx, &cmd_checkpoint, argc, argv, checkpoint_opts, checkpoint_option, &a))
		goto cleanup;
	if (ctx->help) {
		cli_print_help(&cmd_checkpoint);
		rc = EXIT_CONSISTENT;
		goto cleanup;
	}
	if (a.source == NULL) {
		log_error("checkpoint: --source is required");
		log_hint("see 'crosscheck checkpoint --help'");
		goto cleanup;
	}
	if (!endpoint_check_uri(a.source, "source"))
		goto cleanup;
	if (a.dms) {
		if (!dms_checkpoint_ok(a.dms)) {
			log_error("checkpoint: \"%s\" is not a DMS RecoveryCheckpoint", a.dms);
			log_hint("it looks like checkpoint:V1#27#mysql-bin-changelog.157832:1975:...#0#93");
			goto cleanup;
		}
	}
	if ((st = cli_open_store(ctx)) == NULL)
		goto cleanup;
	shown = uri_redact(a.source);
	int64_t id;
	if (a.dms) {
		struct checkpoint_record dc = {.source = shown, .engine = "dms",
					       .position = a.dms, .label = a.label};
		if (!store_checkpoint_add(st, &dc, &id))
			goto cleanup;
	} else {
		struct endpoint_options eo = {"source", 30000, 10, false, NULL};
		if (!endpoint_open(a.source, &eo, &ep) ||
		    !audit_take_checkpoint(ep, a.slot, st, shown, a.label, 0, &id))
			goto cleanup;
	}
	bool found = false;
	struct checkpoint_view c = {0};
	if (!store_get_checkpoint(st, id, keep_checkpoint, &c, &found) || !found)
		goto cleanup;
	if (ctx->json) {
		struct buf b;
		buf_init(&b);
		buf_printf(&b, "{\"checkpoint\":%lld,\"engine\":\"%s\",\"position\":", (long long) id,
			   c.engine);
		buf_append_json_string(&b, c.position, strlen(c.position));
		buf_append_str(&b, ",\"gtid\":");
		if (c.gtid[0])
			buf_append_json_string(&b, c.gtid, strlen(c.gtid));
		else
			buf_append_str(&b, "null");
		buf_append_str(&b, "}\n");
		fputs(buf_cstr(&b), stdout);
		buf_free(&b);
	} else {
		printf("checkpoint %lld: %s position %s%s%s\n", (long long) id, c.engine, c.position,
		       c.gtid[0] ? ", gtid " : "", c.gtid);
	}
	rc = EXIT_CONSISTENT;
cleanup:
	endpoint_close(ep);
	free(shown);
	store_close(st);
	return rc;
}

const struct command cmd_checkpoint = {
	.name = "checkpoint",
	.summary = "record the source's replication position (a checkpoint to recover from)",
	.usage = "--source URI [--slot NAME] [--label TEXT] [--json]\n"
		 "       crosscheck checkpoint --source URI --dms-checkpoint STRING\n"
		 "\n"
		 "  --source URI          the replication source (PostgreSQL: WAL LSN)\n"
		 "  --slot NAME           PostgreSQL: the confirmed LSN of this logical slot\n"
		 "  --label TEXT          a note shown in listings and runbooks\n"
		 "  --dms-checkpoint STR  store a DMS RecoveryCheckpoint as is (from\n"
		 "                        describe-replication-tasks), for the given source\n"
		 "\n"
		 "Every audit also records one when it starts. A checkpoint is verified when an\n"
		 "audit that started after it found no confirmed difference; `recover` starts\n"
		 "replacement tasks from the newest verified one.\n",
	.run = run_checkpoint,
};

/* --- checkpoints ---------------------------------------------------------------------- */

enum { OPT_LIST_SOURCE = 1 };

static const struct option checkpoints_opts[] = {
	{"source", required_argument, NULL, OPT_LIST_SOURCE},
	{NULL, 0, NULL, 0},
};

struct list_args {
	const char *source;
	bool json;
	int n;
	struct buf out;
};

static bool
checkpoints_option(void *vctx, int opt, const char *arg)
{
	struct list_args *a = vctx;
	if (opt != OPT_LIST_SOURCE)
		return false;
	a->source = arg;
	return true;
}

static void
json_text(struct buf *b, const char *name, const char *v)
{
	buf_printf(b, ",\"%s\":", name);
	if (v)
		buf_append_json_string(b, v, strlen(v));
	else
		buf_append_str(b, "null");
}

static bool
print_checkpoint(void *ctx, const struct checkpoint_record *c)
{
	struct list_args *a = ctx;
	if (a->json) {
		struct buf *b = &a->out;
		if (a->n++)
			buf_append_char(b, ',');
		buf_printf(b, "{\"checkpoint\":%lld", (long long) c->id);
		json_text(b, "taken_at", c->taken_at);
		json_text(b, "source", c->source);
		json_text(b, "engine", c->engine);
		json_text(b, "position", c->position);
		json_text(b, "gtid", c->gtid);
		json_text(b, "label", c->label);
		buf_printf(b, ",\"run\":%lld,\"verified_by\":%lld}", (long long) c->run,
			   (long long) c->verified_by);
		return true;
	}
	if (a->n++ == 0)
		printf("%5s  %-24s %-10s %-28s %-9s %s\n", "id", "taken", "engine", "position",
		       "verified", "label / gtid");
	char verified[32] = "-";
	if (c->verified_by)
		snprintf(verified, sizeof(verified), "run %lld", (long long) c->verified_by);
	printf("%5lld  %-24s %-10s %-28s %-9s %s%s%s\n", (long long) c->id, c->taken_at, c->engine,
	       c->position, verified, c->label ? c->label : "", c->gtid ? " gtid " : "",
	       c->gtid ? c->gtid : "");
	return true;
}

static int
run_checkpoints(struct cli_context *ctx, int argc, char **argv)
{
	struct list_args a = {0};
	buf_init(&a.out);
	struct store *st = NULL;
	char *shown = NULL;
	int rc = EXIT_TOOL_ERROR;
	if (!cli_parse(ctx, &cmd_checkpoints, argc, argv, checkpoints_opts, checkpoints_option, &a))
		goto cleanup;
	if (ctx->help) {
		cli_print_help(&cmd_checkpoints);
		rc = EXIT_CONSISTENT;
		goto cleanup;
	}
	if ((st = cli_open_store(ctx)) == NULL)
		goto cleanup;
	shown = a.source ? uri_redact(a.source) : NULL;
	a.json = ctx->json;
	if (a.json)
		buf_append_char(&a.out, '[');
	if (!store_list_checkpoint_records(st, shown, print_checkpoint, &a))
		goto cleanup;
	if (a.json) {
		buf_append_str(&a.out, "]\n");
		fputs(buf_cstr(&a.out), stdout);
	} else if (a.n == 0) {
		printf("no checkpoints in %s\n", ctx->store_path);
	}
	rc = EXIT_CONSISTENT;
cleanup:
	free(shown);
	buf_free(&a.out);
	store_close(st);
	return rc;
}

const struct command cmd_checkpoints = {
	.name = "checkpoints",
	.summary = "list recorded checkpoints, newest first, and which audits verified them",
	.usage = "[--source URI] [--json]\n",
	.run = run_checkpoints,
};
