app_name = "analytics"
urlpatterns: list = []  # the dashboards' pages come here (issue 13)
