#include "xw_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int xw_log_min_level = XW_INFO;
static const char *log_name = "xw";

void xw_log_init(const char *name, enum xw_log_level min)
{
    log_name = name;
    xw_log_min_level = (int)min;
}

int xw_log_level_parse(const char *s)
{
    static const char *names[] = { "debug", "info", "warn", "error" };

    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, names[i]) == 0)
            return i;
    return -1;
}

void xw_log_write(enum xw_log_level lvl, const char *tag, const char *fmt, ...)
{
    static const char *lvls[] = { "DEBUG", "INFO ", "WARN ", "ERROR" };
    char line[2048];
    struct timeval tv;
    struct tm tm;
    va_list ap;
    int n, m;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = snprintf(line, sizeof line,
                 "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s[%d] %s %-4s ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000), log_name,
                 (int)getpid(), lvls[lvl & 3], tag);
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += m;
    if ((size_t)n > sizeof line - 2)
        n = sizeof line - 2;
    /* Keep one event on one line whatever the message holds. */
    for (char *p = line; p < line + n; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    line[n++] = '\n';
    fwrite(line, 1, (size_t)n, stderr);
}
