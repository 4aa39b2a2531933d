/* Date handling without the C library's time zone state (timegm and the
 * TZ variable are process-global; these are pure functions). */
#include "imap/imap-date.h"
#include "imap/imap-message.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* Howard Hinnant's days_from_civil. */
int64_t imap_date_days(int year, int month, int day)
{
	int64_t y = year - (month <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y_r, int *m_r, int *d_r)
{
	int64_t era, doe, yoe, doy, mp, y;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d_r = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m_r = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y_r = (int)(y + (*m_r <= 2));
}

static int month_index(const char *s)
{
	for (int i = 0; i < 12; i++) {
		if (strncasecmp(s, months[i], 3) == 0)
			return i + 1;
	}
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return d[m - 1];
}

/* Reads 1..maxd digits. */
static int read_num(const char **sp, int mind, int maxd, int *v_r)
{
	const char *s = *sp;
	int v = 0, n = 0;

	while (isdigit((unsigned char)*s) && n < maxd) {
		v = v * 10 + (*s - '0');
		s++;
		n++;
	}
	if (n < mind || isdigit((unsigned char)*s))
		return -1;
	*sp = s;
	*v_r = v;
	return 0;
}

static int parse_dmy(const char **sp, int *y_r, int *m_r, int *d_r)
{
	const char *s = *sp;
	int d, m, y;

	if (read_num(&s, 1, 2, &d) < 0 || *s++ != '-')
		return -1;
	m = month_index(s);
	if (m == 0)
		return -1;
	s += 3;
	if (*s++ != '-' || read_num(&s, 4, 4, &y) < 0)
		return -1;
	if (d < 1 || d > days_in_month(y, m))
		return -1;
	*sp = s;
	*y_r = y;
	*m_r = m;
	*d_r = d;
	return 0;
}

int imap_date_parse_day(const char *s, int64_t *day_r)
{
	int y, m, d;

	if (parse_dmy(&s, &y, &m, &d) < 0 || *s != '\0')
		return -1;
	*day_r = imap_date_days(y, m, d);
	return 0;
}

static int parse_zone_num(const char **sp, int *tz_r)
{
	const char *s = *sp;
	int sign, v;

	if (*s != '+' && *s != '-')
		return -1;
	sign = *s == '-' ? -1 : 1;
	s++;
	if (read_num(&s, 4, 4, &v) < 0 || v % 100 >= 60)
		return -1;
	*tz_r = sign * ((v / 100) * 60 + v % 100);
	*sp = s;
	return 0;
}

int imap_date_parse_datetime(const char *s, int64_t *t_r, int *tz_min_r)
{
	int y, mo, d, h, mi, se, tz;

	if (*s == ' ')
		s++;	/* date-day-fixed: " 1-Feb-1994" */
	if (parse_dmy(&s, &y, &mo, &d) < 0 || *s++ != ' ' ||
	    read_num(&s, 2, 2, &h) < 0 || *s++ != ':' ||
	    read_num(&s, 2, 2, &mi) < 0 || *s++ != ':' ||
	    read_num(&s, 2, 2, &se) < 0 || *s++ != ' ' ||
	    parse_zone_num(&s, &tz) < 0 || *s != '\0')
		return -1;
	if (h > 23 || mi > 59 || se > 60)
		return -1;
	*t_r = imap_date_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + se -
	       (int64_t)tz * 60;
	*tz_min_r = tz;
	return 0;
}

int imap_date_parse_rfc5322(const char *s, int64_t *t_r, int *tz_min_r)
{
	int d, m, y, h, mi, se = 0, tz = 0;

	s = imap_skip_cfws(s);
	if (isalpha((unsigned char)*s)) {
		/* day-of-week */
		while (isalpha((unsigned char)*s))
			s++;
		s = imap_skip_cfws(s);
		if (*s == ',')
			s = imap_skip_cfws(s + 1);
	}
	if (read_num(&s, 1, 2, &d) < 0)
		return -1;
	s = imap_skip_cfws(s);
	if (*s == '-')
		s++;
	m = month_index(s);
	if (m == 0)
		return -1;
	while (isalpha((unsigned char)*s))
		s++;
	s = imap_skip_cfws(s);
	if (*s == '-')
		s++;
	if (read_num(&s, 2, 4, &y) < 0)
		return -1;
	if (y < 50)
		y += 2000;	/* obs-year, RFC 5322 4.3 */
	else if (y < 1000)
		y += 1900;
	s = imap_skip_cfws(s);
	if (read_num(&s, 1, 2, &h) < 0 || *s++ != ':' ||
	    read_num(&s, 2, 2, &mi) < 0)
		return -1;
	if (*s == ':') {
		s++;
		if (read_num(&s, 2, 2, &se) < 0)
			return -1;
	}
	s = imap_skip_cfws(s);
	if (*s == '+' || *s == '-') {
		if (parse_zone_num(&s, &tz) < 0)
			tz = 0;
	} else if (strncasecmp(s, "EDT", 3) == 0) {
		tz = -4 * 60;
	} else if (strncasecmp(s, "EST", 3) == 0 || strncasecmp(s, "CDT", 3) == 0) {
		tz = -5 * 60;
	} else if (strncasecmp(s, "CST", 3) == 0 || strncasecmp(s, "MDT", 3) == 0) {
		tz = -6 * 60;
	} else if (strncasecmp(s, "MST", 3) == 0 || strncasecmp(s, "PDT", 3) == 0) {
		tz = -7 * 60;
	} else if (strncasecmp(s, "PST", 3) == 0) {
		tz = -8 * 60;
	}
	if (d < 1 || d > days_in_month(y, m) || h > 23 || mi > 59 || se > 60)
		return -1;
	*t_r = imap_date_days(y, m, d) * 86400 + h * 3600 + mi * 60 + se -
	       (int64_t)tz * 60;
	*tz_min_r = tz;
	return 0;
}

void imap_date_append_internaldate(struct buf *b, int64_t t, int tz_min)
{
	int64_t local = t + (int64_t)tz_min * 60, days, secs;
	int y, m, d, tz = tz_min < 0 ? -tz_min : tz_min;

	days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
	secs = local - days * 86400;
	civil_from_days(days, &y, &m, &d);
	buf_printf(b, "\"%02d-%s-%04d %02d:%02d:%02d %c%02d%02d\"", d,
		   months[m - 1], y, (int)(secs / 3600), (int)(secs / 60 % 60),
		   (int)(secs % 60), tz_min < 0 ? '-' : '+', tz / 60, tz % 60);
}
