app_name = "appointments"
urlpatterns: list = []
