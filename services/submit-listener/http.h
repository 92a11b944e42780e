/* The HTTP front of the submit-listener (libmicrohttpd). */
#ifndef SL_HTTP_H
#define SL_HTTP_H

#include "api.h"

/* Starts serving on addr:port on svc->threads threads (see http.c for
 * how long-polls hold none of them). Returns the
 * daemon (stop with MHD_stop_daemon) or NULL with err set. */
struct MHD_Daemon *sl_http_start(struct sl_service *svc, const char *addr,
                                 int port, char *err, size_t errlen);

/* Stops serving: wakes the parked long-polls (they answer with what
 * they read; MHD must have no suspended connection when it stops), then
 * stops the daemon. NULL is ignored. */
void sl_http_stop(struct MHD_Daemon *d);

/* Returns the memory freed by large requests to the kernel, if one
 * finished since the last call (malloc_trim). Called by the main thread
 * every few hundred ms; cheap when there is nothing to do. */
void sl_http_trim(void);

#endif
