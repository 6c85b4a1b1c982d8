from django.urls import path

from customers import api

urlpatterns: list = []

# customers-core: client files, formulas, patch tests, consent.
urlpatterns += [
    path("customers/", api.CustomerListApi.as_view(), name="api-customers"),
    path("customers/<int:pk>/", api.CustomerDetailApi.as_view(), name="api-customer"),
    path("customers/<int:pk>/formulas/", api.CustomerFormulaListApi.as_view(), name="api-customer-formulas"),
    path(
        "customers/<int:pk>/patch-tests/",
        api.CustomerPatchTestListApi.as_view(),
        name="api-customer-patch-tests",
    ),
    path("customers/<int:pk>/consent/", api.CustomerConsentApi.as_view(), name="api-customer-consent"),
    path("formulas/", api.FormulaSearchApi.as_view(), name="api-formulas"),
    path("formulas/<int:pk>/", api.FormulaCorrectApi.as_view(), name="api-formula"),
    path("patch-tests/<int:pk>/", api.PatchTestResultApi.as_view(), name="api-patch-test"),
]
