"""English: 2026-12-04, 14:00 (never a.m./p.m.), weeks from Monday. See salon_crm.formats."""

DATE_FORMAT = "Y-m-d"  # 2026-12-04
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i"  # 14:00
DATETIME_FORMAT = "Y-m-d H:i"  # 2026-12-04 14:00
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
YEAR_MONTH_FORMAT = "Y-m"  # 2026-12
MONTH_DAY_FORMAT = "m-d"  # 12-04
FIRST_DAY_OF_WEEK = 1  # Monday

DATE_INPUT_FORMATS = ["%Y-%m-%d", "%Y/%m/%d"]
TIME_INPUT_FORMATS = ["%H:%M", "%H:%M:%S", "%H:%M:%S.%f"]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M",
]
