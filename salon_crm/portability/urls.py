from django.urls import path

from salon_crm.portability import views

app_name = "portability"
urlpatterns = [
    path("", views.export_page, name="export"),
]
