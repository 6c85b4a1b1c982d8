from django.urls import path

from loyalty import payments_online, report_views, views

app_name = "loyalty"
urlpatterns = [
    path("loyalty/settings/", views.settings_page, name="settings"),
    path("loyalty/reports/", report_views.reports_page, name="reports"),
    path("loyalty/reports/<slug:name>.csv", report_views.report_csv, name="report_csv"),
    path("loyalty/clients/<int:pk>/points/adjust/", views.points_adjust_dialog, name="points_adjust"),
    path("loyalty/clients/<int:pk>/coupons/new/", views.coupon_issue_dialog, name="coupon_issue"),
    path("loyalty/appointments/<int:pk>/deposit/", views.deposit_take, name="deposit_take"),
    path("loyalty/deposits/<int:pk>/waive/", views.deposit_waive_dialog, name="deposit_waive"),
    path("loyalty/fees/<int:pk>/waive/", views.fee_waive_dialog, name="fee_waive"),
    path(
        "loyalty/clients/<int:pk>/stored-value/refund/",
        views.stored_value_refund_dialog,
        name="stored_value_refund",
    ),
    # the client's online prepayment (no login: the booking's signed manage link) and the
    # payment provider's signed webhook (docs/loyalty.md, "No-show protection")
    path("loyalty/pay/<str:token>/", payments_online.deposit_pay_online, name="deposit_pay_online"),
    path("loyalty/payments/<slug:name>/webhook/", payments_online.payment_webhook, name="payment_webhook"),
]
