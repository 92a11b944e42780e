/*
 * xw_topics - the topics of the pipeline, in flow order. Names are
 * XW_TOPIC_PREFIX (default "xw.") followed by the suffix below.
 *
 *   commands  submit-listener -> packager         keyed by source workspace
 *   packages  packager -> result-reporter          keyed by package
 *   deploy    packager -> mapper                   keyed by package
 *   mapped    mapper -> deployer                   keyed by package
 *   results   mapper, deployer -> result-reporter  keyed by package
 *   outcomes  result-reporter -> subscribers       keyed by package
 *   audit     submit-listener -> result-reporter   keyed by workspace
 *   dlq       any service: events it could not handle, with the reason
 */
#ifndef XW_TOPICS_H
#define XW_TOPICS_H

#include <stddef.h>

enum xw_topic {
    XW_TOPIC_COMMANDS,
    XW_TOPIC_PACKAGES,
    XW_TOPIC_DEPLOY,
    XW_TOPIC_MAPPED,
    XW_TOPIC_RESULTS,
    XW_TOPIC_OUTCOMES,
    XW_TOPIC_AUDIT,
    XW_TOPIC_DLQ,
    XW_TOPIC_COUNT
};

/* The suffix of a topic ("commands"); static storage. */
const char *xw_topic_suffix(enum xw_topic t);

/* Writes prefix + suffix into out (size outlen); 0, or -1 if too long. */
int xw_topic_name(const char *prefix, enum xw_topic t, char *out,
                  size_t outlen);

#endif
