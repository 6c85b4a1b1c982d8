from django.urls import path

from accounts import offline, views

app_name = "accounts"
urlpatterns = [
    path("", views.home_page, name="home"),
    path("today/", views.today_page, name="today"),  # "/" may be another page for a role
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/code/", views.otp_verify, name="otp"),
    path("login/code/setup/", views.otp_enrol, name="otp_enrol"),
    # Django's logout, whose answer also clears the browser's offline copy (Clear-Site-Data)
    path("logout/", offline.LogoutView.as_view(), name="logout"),
    path("location/switch/", views.switch_location, name="switch_location"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/locations/<int:pk>/hours/", views.opening_hours_edit, name="opening_hours"),
]
