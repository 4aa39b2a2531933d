#ifndef IMAP_IMAP_DATE_H
#define IMAP_IMAP_DATE_H
/* Dates of IMAP (INTERNALDATE, SEARCH dates) and of RFC 5322 Date:. */
#include <stdint.h>
#include "lib/util.h"

/* Days since 1970-01-01 for a proleptic Gregorian date. */
int64_t imap_date_days(int year, int month, int day);
/* "1-Feb-1994" (SEARCH date-text) -> days since the epoch; -1 invalid. */
int imap_date_parse_day(const char *s, int64_t *day_r);
/* "dd-Mon-yyyy hh:mm:ss +zzzz" (APPEND date-time); -1 invalid. */
int imap_date_parse_datetime(const char *s, int64_t *t_r, int *tz_min_r);
/* RFC 5322 date-time incl. obsolete zones; -1 if unusable. */
int imap_date_parse_rfc5322(const char *s, int64_t *t_r, int *tz_min_r);
/* Appends the quoted INTERNALDATE form of t in zone tz_min. */
void imap_date_append_internaldate(struct buf *b, int64_t t, int tz_min);

#endif
