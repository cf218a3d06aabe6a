/* libFuzzer target for control/config: the TOML subset parser, --set
 * overrides and validation. The input is a config file, or (first byte
 * 0xff) "section.key=value" lines applied as --set. Nothing may read or
 * write out of bounds (ASan); a refusal must name where (file:line or
 * --set) with a terminated message and leave the config unchanged; an
 * accepted config must keep its arrays in their pools, and a validated one
 * must satisfy the rules validation promises. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static struct aeg_config cfg, before;

static void check_accepted(const struct aeg_config *c)
{
	if (c->peer_count > AEG_CONFIG_PEERS_MAX || c->eal_argc > AEG_CONFIG_EAL_ARGS_MAX ||
	    c->split_point_count > AEG_CONFIG_SPLITS_MAX)
		abort();
	for (uint32_t i = 0; i < c->eal_argc; i++)
		if (memchr(aeg_config_eal_arg(c, i), '\0',
			   sizeof(c->eal_pool) - c->eal_arg_off[i]) == NULL)
			abort();
	for (uint32_t i = 0; i < c->split_point_count; i++)
		if (memchr(aeg_config_split_point(c, i), '\0',
			   sizeof(c->split_point_pool) - c->split_point_off[i]) == NULL)
			abort();
	if (memchr(c->data_dir, '\0', sizeof(c->data_dir)) == NULL ||
	    memchr(c->admin_socket, '\0', sizeof(c->admin_socket)) == NULL)
		abort();
}

static void check_valid(const struct aeg_config *c)
{
	char path[AEG_CONFIG_SOCKET_PATH_BYTES];
	if (c->election_timeout_ms_min >= c->election_timeout_ms_max ||
	    c->heartbeat_interval_ms >= c->election_timeout_ms_min ||
	    c->election_timeout_ms_min % c->tick_ms != 0 || c->workers < 1 ||
	    c->workers > AEG_CONFIG_WORKERS_MAX || c->value_bytes_max > (4u << 20) ||
	    (c->log_entries_max & (c->log_entries_max - 1)) != 0 ||
	    (c->node_id != 0 && c->replication_factor > 1 + c->peer_count) ||
	    (c->strategy == AEG_CONFIG_STRATEGY_RANGE &&
	     c->split_point_count + 1 != c->shard_count) ||
	    aeg_config_admin_socket_path(c, path, sizeof(path)) != 0)
		abort();
	for (uint32_t i = 0; i < c->peer_count; i++)
		if (c->peers[i].node == c->node_id)
			abort();
}

static void check_refused(const char *err, const char *where)
{
	if (memchr(err, '\0', 512) == NULL || strncmp(err, where, strlen(where)) != 0)
		abort();
	if (memcmp(&cfg, &before, sizeof(cfg)) != 0)
		abort();
}

/* Lines "key=value" (at most 64) as overrides. */
static void run_sets(const uint8_t *data, size_t size)
{
	char line[256], err[512];
	size_t at = 1;
	for (int n = 0; n < 64 && at < size; n++) {
		size_t len = 0;
		while (at < size && data[at] != '\n' && len < sizeof(line) - 1)
			line[len++] = (char)data[at++];
		at++;
		line[len] = '\0';
		char *eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		before = cfg;
		err[0] = 'x';
		if (aeg_config_set(&cfg, line, eq + 1, err, sizeof(err)) != 0)
			check_refused(err, "--set ");
		else
			check_accepted(&cfg);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	aeg_config_defaults(&cfg);
	if (size > 0 && data[0] == 0xff) {
		run_sets(data, size);
	} else {
		before = cfg;
		err[0] = 'x';
		if (aeg_config_parse(&cfg, (const char *)data, size, "f.toml", err, sizeof(err)) != 0) {
			check_refused(err, "f.toml:");
			return 0;
		}
		check_accepted(&cfg);
	}
	err[0] = 'x';
	if (aeg_config_validate(&cfg, err, sizeof(err)) == 0)
		check_valid(&cfg);
	else if (memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	return 0;
}
