from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.admin import LocationScopedAdmin
from messaging import kinds, services
from messaging.models import MessageTemplate, OutboundMessage
from messaging.views import sample_context


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["kind", "channel", "language", "is_active", "updated_at"]
    list_filter = ["kind", "channel", "language", "is_active"]
    readonly_fields = ["kind", "channel", "language", "preview", "updated_at", "updated_by"]
    fields = ["kind", "channel", "language", "subject", "body", "wechat_template_id", "is_active", "preview"]

    @admin.display(description=_("preview"))
    def preview(self, obj):
        kind = kinds.get_kind(obj.kind)
        return format_html("<pre>{}</pre>", services.render(obj.body, sample_context(kind, obj.language)))

    def has_add_permission(self, request):  # every kind × channel × language is installed
        return False

    def save_model(self, request, obj, form, change):
        services.template_save(template=obj, by=request.user)


@admin.register(OutboundMessage)
class OutboundMessageAdmin(LocationScopedAdmin):
    """Managers see the messages of their own locations (owners every one)."""

    list_display = ["scheduled_for", "kind", "channel", "customer", "status", "reason", "attempts"]
    list_filter = ["status", "kind", "channel"]
    search_fields = ["idempotency_key", "to", "provider_message_id", "customer__name"]
    list_select_related = ["customer"]
    date_hierarchy = "scheduled_for"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in OutboundMessage._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
