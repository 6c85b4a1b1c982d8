from django.urls import path

from customers import views

app_name = "customers"
urlpatterns: list = []

# customers-core: the client file pages.
urlpatterns += [
    path("customers/new/", views.customer_create, name="create"),
    path("customers/quick-add/", views.customer_quick_add, name="quick_add"),
    path("customers/<int:pk>/", views.customer_detail, name="detail"),
    path("customers/<int:pk>/edit/", views.customer_edit, name="edit"),
    path("customers/<int:pk>/health/", views.customer_edit_health, name="edit_health"),
    path("customers/<int:pk>/formulas/new/", views.formula_create, name="formula_create"),
    path(
        "customers/<int:pk>/formulas/<int:formula_pk>/correct/", views.formula_correct, name="formula_correct"
    ),
    path("customers/<int:pk>/patch-tests/new/", views.patch_test_create, name="patch_test_create"),
    path(
        "customers/<int:pk>/patch-tests/<int:test_pk>/result/",
        views.patch_test_result,
        name="patch_test_result",
    ),
    path("customers/<int:pk>/consent/", views.consent_change, name="consent"),
    path("customers/<int:pk>/export.json", views.customer_export_json, name="export_json"),
    path("customers/<int:pk>/erase/", views.customer_erase, name="erase"),
]

from customers import io_views, merge_views, search_views  # noqa: E402

# customers-search: list, header search, duplicates merge, import/export.
urlpatterns += [
    path("customers/", search_views.customer_list_view, name="list"),
    path("customers/search/", search_views.customer_search_view, name="search"),
    path("customers/merge/", merge_views.customer_merge_view, name="merge"),
    path("customers/import/", io_views.customer_import_view, name="import"),
    path("customers/export/", io_views.customer_export_view, name="export"),
]

from customers import privacy_views  # noqa: E402

# customers-privacy: what is stored and why (everyone), retention and the access log (owners),
# the confirmation before one client's export.
urlpatterns += [
    path("privacy/", privacy_views.privacy_page, name="privacy"),
    path("privacy/access-log/", privacy_views.access_log, name="access_log"),
    path("privacy/access-log/export.csv", privacy_views.access_log_csv, name="access_log_csv"),
    path("settings/privacy/", privacy_views.privacy_settings, name="privacy_settings"),
    path("settings/privacy/retention/", privacy_views.retention_list, name="retention_list"),
    path("customers/<int:pk>/export/", privacy_views.export_confirm, name="export_confirm"),
]
