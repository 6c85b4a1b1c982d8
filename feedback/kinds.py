"""feedback's message kinds: the client's survey, and the staff notices (a new case for its
owner, an overdue case, overdue follow-up calls) sent by email to the person."""

from django.utils.translation import gettext_lazy as _

from messaging.kinds import COMMON, EN, ZH, Kind, _same, register_kind

SURVEY = "survey"
COMPLAINT_NEW = "complaint_new"
COMPLAINT_OVERDUE = "complaint_overdue"
FOLLOW_UPS_OVERDUE = "follow_ups_overdue"
CASE = ("case", "client", "category", "due", "link")


def _email(subject_en: str, body_en: str, subject_zh: str, body_zh: str) -> dict:
    return {("email", EN): (subject_en, body_en), ("email", ZH): (subject_zh, body_zh)}


def register() -> None:
    register_kind(
        Kind(
            SURVEY,
            _("Satisfaction survey"),
            context=(*COMMON, "services", "link"),
            defaults=_same(
                "{{ salon }}: {{ client_name }}, thank you for your visit. How did we do? "
                "Two questions, one minute: {{ link }}",
                "【{{ salon }}】{{ client_name }}，感谢光临！您对本次{{ services }}满意吗？"
                "一分钟评价：{{ link }}",
                "How was your visit to {{ salon }}?",
                "{{ salon }} 服务满意度调查",
            ),
        )
    )
    register_kind(
        Kind(
            COMPLAINT_NEW,
            _("Complaint case assigned (staff)"),
            context=(*COMMON, *CASE),
            defaults=_email(
                "Complaint {{ case }}: {{ client }} ({{ category }})",
                "A complaint case is yours: {{ case }}, {{ client }}, {{ category }}. "
                "Answer it by {{ due }}: {{ link }}",
                "投诉 {{ case }}：{{ client }}（{{ category }}）",
                "您负责的投诉：{{ case }}，{{ client }}，{{ category }}。请在 {{ due }} 前处理：{{ link }}",
            ),
        )
    )
    register_kind(
        Kind(
            COMPLAINT_OVERDUE,
            _("Complaint overdue (staff)"),
            context=(*COMMON, *CASE),
            defaults=_email(
                "Overdue: complaint {{ case }} ({{ client }})",
                "Complaint {{ case }} ({{ client }}, {{ category }}) was due {{ due }} and is not "
                "resolved: {{ link }}",
                "投诉超时：{{ case }}（{{ client }}）",
                "投诉 {{ case }}（{{ client }}，{{ category }}）应于 {{ due }} 前处理，至今未解决：{{ link }}",
            ),
        )
    )
    register_kind(
        Kind(
            FOLLOW_UPS_OVERDUE,
            _("Follow-up calls overdue (staff)"),
            context=(*COMMON, "count", "link"),
            defaults=_email(
                "{{ count }} follow-up calls are overdue",
                "{{ count }} follow-up calls of yours are past their day: {{ link }}",
                "{{ count }} 个回访已逾期",
                "您有 {{ count }} 个回访已过期未完成：{{ link }}",
            ),
        )
    )
