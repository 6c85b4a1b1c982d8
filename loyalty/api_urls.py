from django.urls import path

from loyalty import api

urlpatterns = [
    path("customers/<int:pk>/loyalty/", api.CustomerLoyaltyApi.as_view(), name="api-customer-loyalty"),
    path(
        "customers/<int:pk>/loyalty/points-adjustments/",
        api.PointsAdjustApi.as_view(),
        name="api-customer-points-adjust",
    ),
    path("customers/<int:pk>/loyalty/coupons/", api.CouponIssueApi.as_view(), name="api-customer-coupons"),
    path("gift-cards/<str:code>/", api.GiftCardApi.as_view(), name="api-gift-card"),
    path(
        "customers/<int:pk>/loyalty/stored-value-refunds/",
        api.StoredValueRefundApi.as_view(),
        name="api-customer-stored-value-refund",
    ),
]
