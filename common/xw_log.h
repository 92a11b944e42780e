/*
 * xw_log - levelled logging to stderr, one line per event.
 *
 * Lines look like
 *   2026-11-26T10:00:00.123Z packager[1234] INFO  PKG  package p-1 frozen
 * The level check happens in the macro, before any argument is formatted,
 * so a filtered debug line costs one comparison (Redis' serverLog habit).
 *
 * Never pass a secret (token, webhook secret, SASL password) to a log call:
 * the configuration module marks secret settings and prints them redacted.
 */
#ifndef XW_LOG_H
#define XW_LOG_H

enum xw_log_level { XW_DEBUG = 0, XW_INFO, XW_WARN, XW_ERROR };

extern int xw_log_min_level;

/* Sets the process name shown on every line (borrowed, must outlive use). */
void xw_log_init(const char *name, enum xw_log_level min);
/* Parses "debug" | "info" | "warn" | "error"; -1 if unknown. */
int xw_log_level_parse(const char *s);

void xw_log_write(enum xw_log_level lvl, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define xw_log(lvl, tag, ...)                                             \
    do {                                                                  \
        if ((int)(lvl) >= xw_log_min_level)                               \
            xw_log_write((lvl), (tag), __VA_ARGS__);                      \
    } while (0)

#define xw_debug(tag, ...) xw_log(XW_DEBUG, tag, __VA_ARGS__)
#define xw_info(tag, ...)  xw_log(XW_INFO, tag, __VA_ARGS__)
#define xw_warn(tag, ...)  xw_log(XW_WARN, tag, __VA_ARGS__)
#define xw_error(tag, ...) xw_log(XW_ERROR, tag, __VA_ARGS__)

#endif
