from django.urls import path

from loyalty import views

app_name = "loyalty"
urlpatterns = [
    path("loyalty/settings/", views.settings_page, name="settings"),
    path("loyalty/clients/<int:pk>/points/adjust/", views.points_adjust_dialog, name="points_adjust"),
    path("loyalty/clients/<int:pk>/coupons/new/", views.coupon_issue_dialog, name="coupon_issue"),
    path(
        "loyalty/clients/<int:pk>/stored-value/refund/",
        views.stored_value_refund_dialog,
        name="stored_value_refund",
    ),
]
