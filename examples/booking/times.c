/*
 * Wall-clock times as the API takes them, "YYYY-MM-DDTHH:MM", turned into minutes on
 * a calendar without zones (days_from_civil: the proleptic Gregorian calendar), so that
 * overlap is integer comparison and the days a booking touches are integer division.
 */
#include "booking.h"

#include <stdio.h>
#include <string.h>

static bool digits(const char *s, size_t n, int *out)
{
        int v = 0;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (s[i] - '0');
        }
        *out = v;
        return true;
}

static bool leap(int y)
{
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
        static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of y-m-d (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int y, int m, int d)
{
        y -= m <= 2;
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        int64_t yoe = y - era * 400;
        int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

static bool parse_ymd(const char *s, int64_t *day)
{
        int y, m, d;
        if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &m) || s[7] != '-' ||
            !digits(s + 8, 2, &d))
                return false;
        if (y < 1 || m < 1 || m > 12 || d < 1 || d > month_days(y, m))
                return false;
        *day = days_from_civil(y, m, d);
        return true;
}

bool bk_parse_date(const char *s, int64_t *day)
{
        return strlen(s) == BK_DATE_BYTES && parse_ymd(s, day);
}

bool bk_parse_time(const char *s, int64_t *minutes)
{
        int64_t day;
        int hh, mm;
        if (strlen(s) != BK_TIME_BYTES || !parse_ymd(s, &day) || s[10] != 'T' ||
            !digits(s + 11, 2, &hh) || s[13] != ':' || !digits(s + 14, 2, &mm) || hh > 23 ||
            mm > 59)
                return false;
        *minutes = day * BK_MINUTES_PER_DAY + hh * 60 + mm;
        return true;
}

void bk_format_date(int64_t day, char *buf)
{
        /* civil_from_days, the inverse of days_from_civil */
        int64_t z = day + 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        int d = (int)(doy - (153 * mp + 2) / 5 + 1);
        int m = (int)(mp < 10 ? mp + 3 : mp - 9);
        int y = (int)(yoe + era * 400 + (m <= 2));
        snprintf(buf, BK_DATE_BYTES + 1, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u,
                 (unsigned)d % 100u);
}
