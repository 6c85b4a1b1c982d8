from django.urls import path

from messaging import views

app_name = "messaging"
urlpatterns = [
    path("messages/", views.delivery_log, name="log"),
    path("messages/<int:pk>/resolve/", views.message_resolve, name="resolve"),
    path("messages/templates/", views.template_list, name="templates"),
    path("messages/templates/<int:pk>/", views.template_edit, name="template_edit"),
    # The client's links (no login; signed)
    path("m/a/<str:token>/", views.appointment_link, name="appointment"),
    path("m/u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    # Providers' delivery receipts (signed by the provider; no login, no CSRF)
    path("messaging/receipts/<slug:provider>/", views.receipts, name="receipts"),
]
