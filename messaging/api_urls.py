"""messaging has no API of its own yet: other apps call messaging.services.message_enqueue."""

urlpatterns: list = []
