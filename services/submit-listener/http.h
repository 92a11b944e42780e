/* The HTTP front of the submit-listener (libmicrohttpd). */
#ifndef SL_HTTP_H
#define SL_HTTP_H

#include "api.h"

/* Starts serving on addr:port, one thread per connection (see http.c
 * for why not a pool). Returns the
 * daemon (stop with MHD_stop_daemon) or NULL with err set. */
struct MHD_Daemon *sl_http_start(struct sl_service *svc, const char *addr,
                                 int port, char *err, size_t errlen);

/* Returns the memory freed by large requests to the kernel, if one
 * finished since the last call (malloc_trim). Called by the main thread
 * every few hundred ms; cheap when there is nothing to do. */
void sl_http_trim(void);

#endif
