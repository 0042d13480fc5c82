/* meridian wan: a TCP relay that adds a delay each way. Main thread. */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "cmd/cmd.h"
#include "net/loop.h"
#include "net/signal.h"
#include "wan/control.h"
#include "wan/relay.h"

void cmd_wan_help(FILE *out)
{
	fputs("usage: meridian wan --listen ADDR --to ADDR --delay-ms N [--jitter-ms J]\n"
	      "                    [--control ADDR] [--queue-max BYTES]\n"
	      "\n"
	      "Relays TCP connections from ADDR to the upstream, holding each chunk N ms\n"
	      "(plus a uniform 0..J ms) in each direction, so a round trip through it costs\n"
	      "about 2N ms more. Bytes are never reordered; a half-close is passed on after\n"
	      "the bytes before it; a reset closes both sides.\n"
	      "\n"
	      "  --listen ADDR      ip:port or [ipv6]:port to accept on (port 0 picks one)\n"
	      "  --to ADDR          upstream ip:port or [ipv6]:port (numeric)\n"
	      "  --delay-ms N       delay each way, 0 to 600000\n"
	      "  --jitter-ms J      extra random delay per chunk, 0 to 600000 (default 0)\n"
	      "  --control ADDR     serve GET /delay and PUT /delay?ms=N&jitter=J here\n"
	      "                     (HTTP, no authentication: use a loopback address)\n"
	      "  --queue-max BYTES  bytes held per direction before reading pauses\n"
	      "                     (default 4194304, at least 65536)\n"
	      "\n"
	      "Prints \"listening on PORT\" (and \"control on PORT\") on stdout.\n"
	      "SIGTERM or SIGINT: close every connection and exit 0.\n",
	      out);
}

static int parse_num(const char *opt, const char *text, unsigned long long min,
                     unsigned long long max, unsigned long long *out)
{
	char *end;
	if (text[0] < '0' || text[0] > '9')
		goto bad;
	unsigned long long v = strtoull(text, &end, 10);
	if (*end || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	fprintf(stderr, "wan: --%s wants %llu to %llu\n", opt, min, max);
	return ERR_USAGE;
}

struct wan_main {
	struct net_loop *loop;
	struct wan_relay *relay;
	struct wan_control *control;
};

static void on_stop_signal(void *arg, int signum)
{
	struct wan_main *m = arg;
	(void)signum;
	wan_control_stop(m->control);
	m->control = NULL;
	wan_relay_stop(m->relay);
	net_loop_stop(m->loop);
}

int cmd_wan(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "to", required_argument, NULL, 't' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "jitter-ms", required_argument, NULL, 'j' },
		{ "control", required_argument, NULL, 'c' },
		{ "queue-max", required_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct wan_relay_config cfg = { 0 };
	const char *control = NULL;
	bool have_delay = false;
	unsigned long long v;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			cfg.listen = optarg;
			break;
		case 't':
			cfg.to = optarg;
			break;
		case 'd':
			if (parse_num("delay-ms", optarg, 0, WAN_DELAY_MAX_MS, &v))
				return CMD_USAGE;
			cfg.delay_ms = (uint32_t)v;
			have_delay = true;
			break;
		case 'j':
			if (parse_num("jitter-ms", optarg, 0, WAN_DELAY_MAX_MS, &v))
				return CMD_USAGE;
			cfg.jitter_ms = (uint32_t)v;
			break;
		case 'c':
			control = optarg;
			break;
		case 'q':
			if (parse_num("queue-max", optarg, WAN_QUEUE_MIN_BYTES, 1ull << 30, &v))
				return CMD_USAGE;
			cfg.queue_max = (size_t)v;
			break;
		case 'h':
			cmd_wan_help(stdout);
			return CMD_OK;
		default:
			cmd_wan_help(stderr);
			return CMD_USAGE;
		}
	}
	if (optind < argc || !cfg.listen || !cfg.to || !have_delay) {
		fputs("wan: --listen, --to and --delay-ms are required\n", stderr);
		cmd_wan_help(stderr);
		return CMD_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);

	struct wan_main m = { 0 };
	if (net_loop_new(&m.loop)) {
		fputs("wan: out of memory\n", stderr);
		return CMD_FAIL;
	}
	int rc = wan_relay_start(m.loop, &cfg, &m.relay);
	if (rc) {
		fprintf(stderr, "wan: cannot relay %s to %s: %s\n", cfg.listen, cfg.to,
		        err_text(rc));
		net_loop_free(m.loop);
		return CMD_FAIL;
	}
	if (control && (rc = wan_control_start(m.relay, control, &m.control)) != 0) {
		fprintf(stderr, "wan: control endpoint %s: %s\n", control, err_text(rc));
		wan_relay_stop(m.relay);
		net_loop_free(m.loop);
		wan_relay_free(m.relay);
		return CMD_FAIL;
	}
	struct net_signal *s_term = NULL, *s_int = NULL;
	net_signal_watch(m.loop, SIGTERM, on_stop_signal, &m, &s_term);
	net_signal_watch(m.loop, SIGINT, on_stop_signal, &m, &s_int);
	printf("listening on %d\n", wan_relay_port(m.relay));
	if (m.control)
		printf("control on %d\n", wan_control_port(m.control));
	fflush(stdout);
	fprintf(stderr, "wan: %s -> %s, delay %u ms, jitter %u ms each way\n", cfg.listen, cfg.to,
	        cfg.delay_ms, cfg.jitter_ms);
	net_loop_run(m.loop);
	wan_control_stop(m.control);
	net_signal_close(s_term);
	net_signal_close(s_int);
	net_loop_free(m.loop);
	wan_relay_free(m.relay);
	fputs("wan: stopped\n", stderr);
	return CMD_OK;
}
