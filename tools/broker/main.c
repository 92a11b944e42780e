/*
 * xw-broker - the local Kafka broker for development and tests.
 *
 * Runs librdkafka's mock cluster (rdkafka_mock.h) as its own long-lived
 * process: real Kafka protocol on loopback ports, in memory. It creates the
 * project's topics with several partitions, writes its bootstrap address to
 * a file for the services, and listens on a loopback control port for
 * fault injection by tests:
 *
 *   ping                                  -> OK
 *   push_errors <ApiKey> <err> [<n>]      next n requests of that API fail
 *   clear_errors <ApiKey>                 drop queued errors
 *   broker_down <id> | broker_up <id>     take a broker off / on the network
 *   rtt <id> <ms>                         add latency to a broker
 *   topic_error <topic> <err>             topic-level error (0 clears)
 *   create_topic <topic> <partitions>
 *
 * ApiKey and err are numbers or names (Produce, Fetch, OffsetCommit,
 * JoinGroup, ...; NOT_LEADER_FOR_PARTITION, REQUEST_TIMED_OUT, ...).
 *
 * Limits (the mock cluster's): in memory only, no TLS/SASL, only part of
 * the protocol, no transaction markers, and a small per-partition log
 * (older messages are dropped). Never use it for real data.
 */
#include <errno.h>
#include <dirent.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "xw_kafka.h"
#include "xw_log.h"
#include "xw_topics.h"

/* Turns Nagle's algorithm off on the mock brokers' listening sockets, so
 * that the connections they accept have it off too (Linux copies
 * TCP_NODELAY to an accepted socket). The mock cluster leaves it on, and
 * librdkafka keeps up to five requests in flight per connection: the
 * answer to the second one then waits for the client's delayed ACK of the
 * first, ~40 ms. Measured: a flush of 300 keyed messages over 4
 * partitions took 44 ms, 0.2 ms with one partition. Real brokers set
 * TCP_NODELAY. The listeners are found as this process's listening
 * sockets bound to a port of the bootstrap list. Returns how many. */
static int nodelay_listeners(const char *bootstraps)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0, one = 1;

    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        struct sockaddr_in sa;
        socklen_t salen = sizeof sa;
        struct stat st;
        int fd = atoi(e->d_name), acc = 0;
        socklen_t acclen = sizeof acc;
        char port[16];
        const char *hit;

        if (fd <= 2 || fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)
            || getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &acclen) < 0
            || !acc || getsockname(fd, (struct sockaddr *)&sa, &salen) < 0
            || sa.sin_family != AF_INET)
            continue;
        snprintf(port, sizeof port, ":%d", ntohs(sa.sin_port));
        hit = strstr(bootstraps, port);
        if (hit && (hit[strlen(port)] == '\0' || hit[strlen(port)] == ',')
            && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0)
            n++;
    }
    closedir(d);
    return n;
}

static const struct { const char *name; int16_t key; } api_keys[] = {
    { "Produce", 0 },       { "Fetch", 1 },        { "ListOffsets", 2 },
    { "Metadata", 3 },      { "OffsetCommit", 8 }, { "OffsetFetch", 9 },
    { "FindCoordinator", 10 }, { "JoinGroup", 11 }, { "Heartbeat", 12 },
    { "LeaveGroup", 13 },   { "SyncGroup", 14 },   { "InitProducerId", 22 },
};

static int parse_api_key(const char *s, int16_t *out)
{
    char *end;
    long v;

    for (size_t i = 0; i < sizeof api_keys / sizeof api_keys[0]; i++)
        if (strcasecmp(s, api_keys[i].name) == 0) {
            *out = api_keys[i].key;
            return 0;
        }
    v = strtol(s, &end, 10);
    if (end == s || *end || v < 0 || v > 100)
        return -1;
    *out = (int16_t)v;
    return 0;
}

static int parse_err(const char *s, rd_kafka_resp_err_t *out)
{
    const struct rd_kafka_err_desc *descs;
    size_t n;
    char *end;
    long v;

    v = strtol(s, &end, 10);
    if (end != s && !*end) {
        *out = (rd_kafka_resp_err_t)v;
        return 0;
    }
    rd_kafka_get_err_descs(&descs, &n);
    for (size_t i = 0; i < n; i++)
        if (descs[i].name && strcasecmp(descs[i].name, s) == 0) {
            *out = descs[i].code;
            return 0;
        }
    return -1;
}

/* Executes one control line; writes the reply into out. */
static void control(rd_kafka_mock_cluster_t *mc, char *line, char *out,
                    size_t outlen)
{
    char *argv[4] = { 0 };
    int argc = 0;
    int16_t api;
    rd_kafka_resp_err_t e;

    for (char *tok = strtok(line, " \t\r\n"); tok && argc < 4;
         tok = strtok(NULL, " \t\r\n"))
        argv[argc++] = tok;
    if (argc == 0 || strcmp(argv[0], "ping") == 0) {
        snprintf(out, outlen, "OK\n");
    } else if (strcmp(argv[0], "push_errors") == 0 && argc >= 3) {
        size_t n = argc == 4 ? (size_t)strtoul(argv[3], NULL, 10) : 1;
        rd_kafka_resp_err_t errs[64];

        if (parse_api_key(argv[1], &api) < 0 || parse_err(argv[2], &e) < 0
            || n == 0 || n > 64) {
            snprintf(out, outlen, "ERR bad api key, error or count\n");
            return;
        }
        for (size_t i = 0; i < n; i++)
            errs[i] = e;
        rd_kafka_mock_push_request_errors_array(mc, api, n, errs);
        xw_info("CTRL", "next %zu %s request(s) fail with %s", n, argv[1],
                rd_kafka_err2name(e));
        snprintf(out, outlen, "OK\n");
    } else if (strcmp(argv[0], "clear_errors") == 0 && argc == 2) {
        if (parse_api_key(argv[1], &api) < 0) {
            snprintf(out, outlen, "ERR bad api key\n");
            return;
        }
        rd_kafka_mock_clear_request_errors(mc, api);
        snprintf(out, outlen, "OK\n");
    } else if ((strcmp(argv[0], "broker_down") == 0
                || strcmp(argv[0], "broker_up") == 0) && argc == 2) {
        int32_t id = (int32_t)strtol(argv[1], NULL, 10);

        e = argv[0][7] == 'd' ? rd_kafka_mock_broker_set_down(mc, id)
                              : rd_kafka_mock_broker_set_up(mc, id);
        xw_info("CTRL", "%s %d: %s", argv[0], (int)id, rd_kafka_err2str(e));
        snprintf(out, outlen, e ? "ERR %s\n" : "OK\n", rd_kafka_err2str(e));
    } else if (strcmp(argv[0], "rtt") == 0 && argc == 3) {
        e = rd_kafka_mock_broker_set_rtt(mc, (int32_t)atoi(argv[1]),
                                         atoi(argv[2]));
        snprintf(out, outlen, e ? "ERR %s\n" : "OK\n", rd_kafka_err2str(e));
    } else if (strcmp(argv[0], "topic_error") == 0 && argc == 3) {
        if (parse_err(argv[2], &e) < 0) {
            snprintf(out, outlen, "ERR bad error\n");
            return;
        }
        rd_kafka_mock_topic_set_error(mc, argv[1], e);
        snprintf(out, outlen, "OK\n");
    } else if (strcmp(argv[0], "create_topic") == 0 && argc == 3) {
        e = rd_kafka_mock_topic_create(mc, argv[1], atoi(argv[2]), 1);
        snprintf(out, outlen, e ? "ERR %s\n" : "OK\n", rd_kafka_err2str(e));
    } else {
        snprintf(out, outlen, "ERR unknown command\n");
    }
}

static int listen_loopback(int *port)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)*port);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 8) < 0
        || getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* Serves one client connection: reads lines, answers each. */
static void serve_client(rd_kafka_mock_cluster_t *mc, int fd)
{
    char buf[1024], reply[256];
    size_t have = 0;

    for (;;) {
        struct pollfd p = { fd, POLLIN, 0 };
        ssize_t got;
        char *nl;

        if (poll(&p, 1, 5000) <= 0 || xw_kafka_stop)
            return;
        got = read(fd, buf + have, sizeof buf - 1 - have);
        if (got <= 0)
            return;
        have += (size_t)got;
        buf[have] = '\0';
        while ((nl = strchr(buf, '\n'))) {
            *nl = '\0';
            control(mc, buf, reply, sizeof reply);
            if (write(fd, reply, strlen(reply)) < 0)
                return;
            have -= (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, have + 1);
        }
        if (have == sizeof buf - 1)
            return; /* line too long */
    }
}

static int write_file(const char *path, const char *text)
{
    char tmp[4096];
    FILE *f;

    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%s\n", text);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path); /* readers never see half a file */
}

static void usage(void)
{
    fprintf(stderr,
            "usage: xw-broker [--brokers N] [--partitions N] "
            "[--bootstrap-file PATH] [--control-file PATH] "
            "[--control-port N] [--topic-prefix P]\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "brokers", required_argument, 0, 'b' },
        { "partitions", required_argument, 0, 'p' },
        { "bootstrap-file", required_argument, 0, 'f' },
        { "control-file", required_argument, 0, 'c' },
        { "control-port", required_argument, 0, 'P' },
        { "topic-prefix", required_argument, 0, 't' },
        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    int brokers = 1, partitions = 4, control_port = 0, lfd = -1, rc = 1, o;
    const char *bootstrap_file = NULL, *control_file = NULL;
    const char *prefix = getenv("XW_TOPIC_PREFIX");
    char err[512], name[128], portbuf[32];
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk = NULL;
    rd_kafka_mock_cluster_t *mc = NULL;

    if (!prefix)
        prefix = "xw.";
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'b': brokers = atoi(optarg); break;
        case 'p': partitions = atoi(optarg); break;
        case 'f': bootstrap_file = optarg; break;
        case 'c': control_file = optarg; break;
        case 'P': control_port = atoi(optarg); break;
        case 't': prefix = optarg; break;
        default: usage(); return o == 'h' ? 0 : 2;
        }
    }
    if (brokers < 1 || brokers > 9 || partitions < 1 || partitions > 64) {
        usage();
        return 2;
    }
    xw_log_init("xw-broker", XW_INFO);
    xw_kafka_install_signals();

    /* The mock cluster needs a client handle for its bookkeeping. */
    conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        xw_error("BRKR", "rd_kafka_new: %s", err);
        return 1;
    }
    mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        xw_error("BRKR", "could not start the mock cluster");
        goto out;
    }
    for (int t = 0; t < XW_TOPIC_COUNT; t++) {
        rd_kafka_resp_err_t e;

        if (xw_topic_name(prefix, (enum xw_topic)t, name, sizeof name) < 0)
            goto out;
        e = rd_kafka_mock_topic_create(mc, name, partitions, 1);
        if (e) {
            xw_error("BRKR", "create topic %s: %s", name, rd_kafka_err2str(e));
            goto out;
        }
    }
    if (nodelay_listeners(rd_kafka_mock_cluster_bootstraps(mc)) != brokers)
        xw_warn("BRKR", "TCP_NODELAY not set on every mock broker's "
                "listener: pipelined requests may wait ~40 ms");
    lfd = listen_loopback(&control_port);
    if (lfd < 0) {
        xw_error("BRKR", "control port: %s", strerror(errno));
        goto out;
    }
    snprintf(portbuf, sizeof portbuf, "%d", control_port);
    if ((control_file && write_file(control_file, portbuf) < 0)
        || (bootstrap_file
            && write_file(bootstrap_file, rd_kafka_mock_cluster_bootstraps(mc))
                   < 0)) {
        xw_error("BRKR", "writing address files: %s", strerror(errno));
        goto out;
    }
    xw_info("BRKR", "mock cluster of %d broker(s) at %s, %d topic(s) x %d "
            "partitions, control on 127.0.0.1:%d", brokers,
            rd_kafka_mock_cluster_bootstraps(mc), XW_TOPIC_COUNT, partitions,
            control_port);
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    while (!xw_kafka_stop) {
        struct pollfd p = { lfd, POLLIN, 0 };

        if (poll(&p, 1, 200) > 0) {
            int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

            if (cfd >= 0) {
                serve_client(mc, cfd);
                close(cfd);
            }
        }
    }
    xw_info("BRKR", "stopping");
    rc = 0;
out:
    if (lfd >= 0)
        close(lfd);
    if (mc)
        rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    if (bootstrap_file)
        unlink(bootstrap_file);
    if (control_file)
        unlink(control_file);
    return rc;
}
