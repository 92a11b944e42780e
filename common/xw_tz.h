/*
 * xw_tz - civil time and IANA time zones without the process-global TZ.
 *
 * Why: DESIGN.md says deployment timing is "judged in the destination's
 * time zone at the deploy time recorded in the event". Services run many
 * threads, so setenv("TZ")/tzset()/localtime() are off limits. This module
 * reads the system's compiled tzdata files (TZif, RFC 8536) itself.
 *
 * What is read: /usr/share/zoneinfo/<name>. Version 2+ files are read from
 * their 64-bit section; instants past the last transition use the POSIX TZ
 * rule in the file's footer (e.g. "CET-1CEST,M3.5.0,M10.5.0/3"). Version 1
 * files (32-bit only, no footer) are read too. Files with leap-second
 * records ("right/..." zones) are refused (XW_TZ_ERR_FORMAT): deploy times
 * are POSIX times and counting leap seconds would shift them.
 *
 * Zone names: 1..XW_TZ_NAME_MAX bytes of [A-Za-z0-9_+-./], no empty, "." or
 * ".." component, no leading '/'. Anything else is XW_TZ_ERR_NAME; a well
 * formed name with no file is XW_TZ_ERR_UNKNOWN (never a guess, never UTC
 * by default).
 *
 * Two ways to hold a zone:
 *   - xw_tz_load(): a NEW object owned by the caller, freed with
 *     xw_tz_free(). No shared state at all.
 *   - xw_tz_get(): a BORROWED pointer from a process-wide cache protected by
 *     a mutex. Loaded zones are immutable and stay until process exit (or
 *     xw_tz_cache_clear()), so the pointer may be used from any thread
 *     without further locking. Failed loads are not cached. The first
 *     get of a zone reads its file while holding the mutex (once per zone
 *     per process); later gets are a short locked lookup.
 * A loaded `struct xw_tz` is never modified, so every query function below
 * is safe to call concurrently on the same zone.
 *
 * Civil time here is the proleptic Gregorian calendar, seconds resolution,
 * years 1..9999 (anything outside is XW_TZ_ERR_RANGE).
 */
#ifndef XW_TZ_H
#define XW_TZ_H

#include <stddef.h>
#include <stdint.h>

#define XW_TZ_NAME_MAX 64          /* bytes, excluding the NUL */
#define XW_TZ_DEFAULT_DIR "/usr/share/zoneinfo"
#define XW_TZ_FILE_MAX (256 * 1024) /* larger files are refused as corrupt */
#define XW_TZ_CACHE_MAX 1024       /* zones the shared cache will hold */

enum xw_tz_status {
    XW_TZ_OK = 0,
    XW_TZ_ERR_NAME = -1,    /* name is not a valid zone name */
    XW_TZ_ERR_UNKNOWN = -2, /* no such zone file */
    XW_TZ_ERR_FORMAT = -3,  /* file is not a usable TZif file */
    XW_TZ_ERR_NOMEM = -4,
    XW_TZ_ERR_RANGE = -5,   /* instant or civil time out of range */
    XW_TZ_ERR_IO = -6,      /* file exists but could not be read */
    XW_TZ_ERR_FULL = -7     /* shared cache holds XW_TZ_CACHE_MAX zones */
};

/* A civil (wall-clock) date and time, no zone attached. */
struct xw_tz_civil {
    int year;   /* 1..9999 */
    int month;  /* 1..12 */
    int day;    /* 1..days in month */
    int hour;   /* 0..23 */
    int minute; /* 0..59 */
    int second; /* 0..59 */
};

/* What xw_tz_from_local() found for a wall-clock time. */
enum xw_tz_fold {
    XW_TZ_UNIQUE = 0,  /* the wall-clock time happens exactly once */
    XW_TZ_GAP = 1,     /* skipped (spring forward): shifted forward by the
                        * length of the gap, e.g. Berlin 2026-03-29 02:30
                        * becomes 03:30 CEST */
    XW_TZ_OVERLAP = 2  /* happens twice (fall back): the FIRST occurrence,
                        * e.g. Berlin 2026-10-25 02:30 is 02:30 CEST
                        * (00:30 UTC), not 02:30 CET */
};

struct xw_tz;

/* ---- civil calendar helpers (pure, no zone) ---- */

int xw_tz_is_leap(int year);
/* 28..31; 0 when month is outside 1..12. */
int xw_tz_days_in_month(int year, int month);
/* Days since 1970-01-01 of a civil date (any int year; no validation). */
int64_t xw_tz_days_from_civil(int year, int month, int day);
/* Inverse of xw_tz_days_from_civil. */
void xw_tz_civil_from_days(int64_t days, int *year, int *month, int *day);
/* 0 = Sunday .. 6 = Saturday. */
int xw_tz_weekday(int64_t days);
/* 1 when every field is in range (see struct xw_tz_civil), else 0. */
int xw_tz_civil_valid(const struct xw_tz_civil *c);
/* Seconds since the epoch of a civil time read as UTC. */
int64_t xw_tz_civil_to_seconds(const struct xw_tz_civil *c);
/* The civil time (as UTC) of an epoch-seconds value. */
void xw_tz_seconds_to_civil(int64_t s, struct xw_tz_civil *out);

/* ---- zones ---- */

/* Load zone `name` from XW_TZ_DEFAULT_DIR (or from `dir`). On success *out
 * is a new object the caller frees with xw_tz_free(); on failure *out is
 * NULL and nothing is left allocated. */
int xw_tz_load(const char *name, struct xw_tz **out);
int xw_tz_load_dir(const char *dir, const char *name, struct xw_tz **out);
void xw_tz_free(struct xw_tz *tz);

/* Shared, thread-safe cache (see top). On success *out is borrowed and
 * valid until process exit or xw_tz_cache_clear(). */
int xw_tz_get(const char *name, const struct xw_tz **out);
/* Free every cached zone. Only call when no thread holds a pointer from
 * xw_tz_get() (tests, shutdown). */
void xw_tz_cache_clear(void);

/* The zone's name as given to load (borrowed, lives as long as tz). */
const char *xw_tz_name(const struct xw_tz *tz);

/* UTC offset (seconds east of UTC) and DST flag in force at instant
 * `utc_s` (seconds since the epoch). is_dst may be NULL. */
int xw_tz_offset_at(const struct xw_tz *tz, int64_t utc_s, int32_t *utoff,
                    int *is_dst);

/* Wall-clock time in `tz` at instant `utc_s`; utoff may be NULL. */
int xw_tz_to_local(const struct xw_tz *tz, int64_t utc_s,
                   struct xw_tz_civil *out, int32_t *utoff);

/* The instant of wall-clock time `local` in `tz`. Gaps shift forward,
 * overlaps take the first occurrence (see enum xw_tz_fold); fold may be
 * NULL. XW_TZ_ERR_RANGE when `local` is not a valid civil time. */
int xw_tz_from_local(const struct xw_tz *tz, const struct xw_tz_civil *local,
                     int64_t *utc_s, enum xw_tz_fold *fold);

/* Short English text for a status ("unknown time zone", ...). */
const char *xw_tz_strerror(int status);

#endif
