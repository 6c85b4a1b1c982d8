"""The project's date and time formats (settings.FORMAT_MODULE_PATH), one clock and one calendar
style per language: ISO dates (2026-12-04), 24-hour times (14:00), weeks from Monday. Django
looks up `<path>.<locale>.formats` for the active language ("en", "zh_Hans") before its own;
anything not set here (number separators) is still Django's. Day labels with a weekday
("Fri 2026-12-04", "12月4日 周五") are salon_crm.dates.day_label."""
