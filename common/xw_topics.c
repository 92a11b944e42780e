#include "xw_topics.h"

#include <stdio.h>

static const char *const suffixes[XW_TOPIC_COUNT] = {
    [XW_TOPIC_COMMANDS] = "commands", [XW_TOPIC_PACKAGES] = "packages",
    [XW_TOPIC_DEPLOY] = "deploy",     [XW_TOPIC_MAPPED] = "mapped",
    [XW_TOPIC_RESULTS] = "results",   [XW_TOPIC_OUTCOMES] = "outcomes",
    [XW_TOPIC_AUDIT] = "audit",       [XW_TOPIC_DLQ] = "dlq",
};

const char *xw_topic_suffix(enum xw_topic t)
{
    return (unsigned)t < XW_TOPIC_COUNT ? suffixes[t] : "?";
}

int xw_topic_name(const char *prefix, enum xw_topic t, char *out,
                  size_t outlen)
{
    int n = snprintf(out, outlen, "%s%s", prefix, xw_topic_suffix(t));

    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
