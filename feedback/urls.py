from django.urls import path

from feedback import views

app_name = "feedback"
urlpatterns = [
    # the client's survey link (no login; signed)
    path("s/<str:token>/", views.survey_page, name="survey"),
    path("feedback/", views.home, name="home"),
    path("feedback/inbox/", views.inbox, name="inbox"),
    path("feedback/results/", views.results, name="results"),
    path("feedback/complaints/", views.board, name="board"),
    path("feedback/complaints/<int:pk>/", views.complaint_page, name="complaint"),
    path("feedback/clients/<int:pk>/complaints/new/", views.complaint_new_for, name="complaint_new_for"),
    path("feedback/follow-ups/", views.follow_ups, name="follow_ups"),
    path("feedback/follow-ups/<int:pk>/record/", views.follow_up_record, name="follow_up_record"),
    path("feedback/clients/<int:pk>/follow-ups/new/", views.follow_up_new, name="follow_up_new"),
]
