#include "xw_admin.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xw_buf.h"
#include "xw_metrics.h"

struct xw_admin {
    struct MHD_Daemon *d;
    const char *service;
    xw_admin_health_fn health;
    void *ctx;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status,
                             const char *type, xw_buf *body)
{
    size_t len;
    char *data = xw_buf_detach(body, &len);
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, data, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ret;

    if (!r) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    xw_admin *a = cls;
    xw_buf body = XW_BUF_INIT;
    char reason[200] = "";

    (void)version; (void)upload; (void)con_cls;
    if (*upload_size)
        return MHD_NO;
    if (strcmp(method, "GET") != 0) {
        xw_buf_adds(&body, "{\"error\":{\"status\":405,\"message\":\"GET only\"}}");
        return reply(conn, 405, "application/json", &body);
    }
    if (strcmp(url, "/health") == 0) {
        int ok = !a->health || a->health(a->ctx, reason, sizeof reason) == 0;

        xw_buf_addf(&body, "{\"service\":\"%s\",\"status\":\"%s\"%s%s%s}",
                    a->service, ok ? "ok" : "unhealthy",
                    ok ? "" : ",\"reason\":\"", ok ? "" : reason,
                    ok ? "" : "\"");
        return reply(conn, ok ? 200 : 503, "application/json", &body);
    }
    if (strcmp(url, "/metrics") == 0) {
        xw_metrics_render(&body);
        return reply(conn, 200, "text/plain; version=0.0.4", &body);
    }
    xw_buf_adds(&body, "{\"error\":{\"status\":404,\"message\":\"not found\"}}");
    return reply(conn, 404, "application/json", &body);
}

xw_admin *xw_admin_start(const char *service, int port, xw_admin_health_fn fn,
                         void *ctx, char *err, size_t errlen)
{
    xw_admin *a = calloc(1, sizeof *a);
    struct sockaddr_in addr;

    if (!a) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->service = service;
    a->health = fn;
    a->ctx = ctx;
    if (port == 0)
        return a;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
                            (uint16_t)port, NULL, NULL, on_request, a,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                            MHD_OPTION_CONNECTION_TIMEOUT, 5u,
                            MHD_OPTION_END);
    if (!a->d) {
        snprintf(err, errlen, "cannot serve health on 127.0.0.1:%d", port);
        free(a);
        return NULL;
    }
    return a;
}

void xw_admin_stop(xw_admin *a)
{
    if (!a)
        return;
    if (a->d)
        MHD_stop_daemon(a->d);
    free(a);
}
