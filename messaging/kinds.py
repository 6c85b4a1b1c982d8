"""Kinds of message: which are marketing (consent and caps apply), which are urgent (a one-time
code goes out at night too), and the default text of each in English and 简体中文 for each
channel. Other apps register their kinds (loyalty: birthday; analytics: recall; feedback:
survey) from their AppConfig.ready(); `templates_install` (run after every migrate) creates the
default templates that are missing and never overwrites one a manager edited.

Templates use Django's template syntax over a context of plain values (never model instances,
never health text). Every kind gets `client_name`, `salon`, `salon_phone`; marketing kinds also
`unsubscribe_url`."""

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

EN, ZH = "en", "zh-hans"


@dataclass(frozen=True)
class Kind:
    key: str
    label: str  # lazy translation
    marketing: bool = False
    urgent: bool = False  # sent at any hour and despite do-not-contact (the client asked for it)
    context: tuple[str, ...] = ()  # the variables its templates may use (the template page lists them)
    # {(channel, language): (subject, body)}
    defaults: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)


_KINDS: dict[str, Kind] = {}


def register_kind(kind: Kind) -> None:
    _KINDS[kind.key] = kind


def unregister_kind(key: str) -> None:
    _KINDS.pop(key, None)


def get_kind(key: str) -> Kind | None:
    return _KINDS.get(key)


def kinds() -> list[Kind]:
    return list(_KINDS.values())


COMMON = ("client_name", "salon", "salon_phone")
APPOINTMENT = (*COMMON, "when", "time_zone", "services", "stylists", "link")


def _same(sms_en: str, sms_zh: str, subject_en: str, subject_zh: str) -> dict:
    """SMS and WeChat share the short text; email adds a subject."""
    return {
        ("sms", EN): ("", sms_en),
        ("sms", ZH): ("", sms_zh),
        ("wechat", EN): ("", sms_en),
        ("wechat", ZH): ("", sms_zh),
        ("email", EN): (subject_en, sms_en),
        ("email", ZH): (subject_zh, sms_zh),
    }


CONFIRMATION = "appointment_confirmation"
CHANGED = "appointment_changed"
REMINDER = "appointment_reminder"
CANCELLED = "appointment_cancelled"
THANK_YOU = "visit_thank_you"
PHONE_CODE = "phone_code"

register_kind(
    Kind(
        CONFIRMATION,
        _("Booking confirmation"),
        context=APPOINTMENT,
        defaults=_same(
            "{{ salon }}: {{ client_name }}, you are booked for {{ services }} on {{ when }} "
            "({{ time_zone }}). Confirm or cancel: {{ link }}",
            "【{{ salon }}】{{ client_name }}，您已预约{{ services }}，时间 {{ when }}（{{ time_zone }}）。"
            "确认或取消：{{ link }}",
            "Your booking at {{ salon }}",
            "您在{{ salon }}的预约",
        ),
    )
)
register_kind(
    Kind(
        CHANGED,
        _("Booking changed"),
        context=APPOINTMENT,
        defaults=_same(
            "{{ salon }}: {{ client_name }}, your booking for {{ services }} is now on {{ when }} "
            "({{ time_zone }}). Confirm or cancel: {{ link }}",
            "【{{ salon }}】{{ client_name }}，您的{{ services }}预约已改到 {{ when }}（{{ time_zone }}）。"
            "确认或取消：{{ link }}",
            "Your booking at {{ salon }} has changed",
            "您在{{ salon }}的预约已变更",
        ),
    )
)
register_kind(
    Kind(
        REMINDER,
        _("Appointment reminder"),
        context=APPOINTMENT,
        defaults=_same(
            "{{ salon }}: reminder, {{ client_name }}: {{ services }} on {{ when }} ({{ time_zone }}). "
            "Confirm or cancel: {{ link }}",
            "【{{ salon }}】提醒：{{ client_name }}，您预约的{{ services }}在 {{ when }}（{{ time_zone }}）。"
            "确认或取消：{{ link }}",
            "Reminder: your appointment at {{ salon }}",
            "提醒：您在{{ salon }}的预约",
        ),
    )
)
register_kind(
    Kind(
        CANCELLED,
        _("Booking cancelled"),
        context=APPOINTMENT,
        defaults=_same(
            "{{ salon }}: {{ client_name }}, your booking for {{ services }} on {{ when }} "
            "({{ time_zone }}) is cancelled. To book again call {{ salon_phone }}.",
            "【{{ salon }}】{{ client_name }}，您 {{ when }}（{{ time_zone }}）的{{ services }}预约已取消。"
            "如需重新预约请致电 {{ salon_phone }}。",
            "Your booking at {{ salon }} is cancelled",
            "您在{{ salon }}的预约已取消",
        ),
    )
)
register_kind(
    Kind(
        THANK_YOU,
        _("Thank you after a visit"),
        context=(*COMMON, "services"),
        defaults=_same(
            "{{ salon }}: thank you for your visit today, {{ client_name }}. We hope to see you again soon.",
            "【{{ salon }}】{{ client_name }}，感谢您今天的光临，期待再次为您服务。",
            "Thank you for visiting {{ salon }}",
            "感谢您光临{{ salon }}",
        ),
    )
)
register_kind(
    Kind(
        PHONE_CODE,
        _("One-time code"),
        urgent=True,
        context=("code", "minutes", "salon"),
        defaults={
            ("sms", EN): ("", "{{ salon }}: your code is {{ code }}. It expires in {{ minutes }} minutes."),
            ("sms", ZH): ("", "【{{ salon }}】您的验证码是 {{ code }}，{{ minutes }} 分钟内有效。"),
        },
    )
)
