#include "xw_metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>

static struct xw_metric *head;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void xw_metrics_register(struct xw_metric *m)
{
    pthread_mutex_lock(&lock);
    for (struct xw_metric *p = head; p; p = p->next)
        if (p == m)
            goto out;
    m->next = head;
    head = m;
out:
    pthread_mutex_unlock(&lock);
}

static long rss_kib(void)
{
    char line[256];
    long kib = -1;
    FILE *f = fopen("/proc/self/status", "r");

    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

int xw_metrics_render(xw_buf *out)
{
    struct rusage ru;
    int rc = 0;

    pthread_mutex_lock(&lock);
    for (struct xw_metric *m = head; m && rc == 0; m = m->next)
        rc = xw_buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n",
                         m->name, m->help, m->name,
                         m->is_gauge ? "gauge" : "counter", m->name,
                         (unsigned long long)xw_metrics_get(m));
    pthread_mutex_unlock(&lock);
    if (rc == 0 && getrusage(RUSAGE_SELF, &ru) == 0)
        rc = xw_buf_addf(out,
                         "# TYPE process_cpu_seconds_total counter\n"
                         "process_cpu_seconds_total %.3f\n"
                         "# TYPE process_resident_memory_bytes gauge\n"
                         "process_resident_memory_bytes %ld\n"
                         "# TYPE process_max_resident_memory_bytes gauge\n"
                         "process_max_resident_memory_bytes %ld\n",
                         (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec
                             + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
                         rss_kib() * 1024, ru.ru_maxrss * 1024);
    return rc;
}
