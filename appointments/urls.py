from django.urls import path, re_path

from appointments.views import actions, calendar, catalogue, checkout, held, online, stylist, waitlist

app_name = "appointments"
urlpatterns = [
    # Front desk: the day, booking dialogs, walk-ins, waitlist, week view
    path("calendar/", calendar.day_calendar, name="day"),
    path("calendar/week/", calendar.week_view, name="week"),
    path("calendar/book/", calendar.book_dialog, name="book"),
    path("calendar/walk-in/", calendar.walk_in_dialog, name="walk_in"),
    path("calendar/client-lookup/", calendar.client_lookup, name="client_lookup"),
    path("calendar/safety/", calendar.safety_check, name="safety_check"),
    path("calendar/waitlist/", waitlist.waitlist_panel, name="waitlist_panel"),
    path("calendar/waitlist/add/", waitlist.waitlist_dialog, name="waitlist_add"),
    path("calendar/waitlist/<int:pk>/book/", waitlist.waitlist_book, name="waitlist_book"),
    # One appointment: details dialog and its actions
    path("appointments/<int:pk>/", actions.appointment_detail, name="detail"),
    path("appointments/<int:pk>/move/", actions.appointment_move_dialog, name="move"),
    path("appointments/<int:pk>/cancel/", actions.appointment_cancel_dialog, name="cancel"),
    re_path(
        r"^appointments/(?P<pk>[0-9]+)/(?P<action>confirm|check_in|start|no_show)/$",
        actions.appointment_action,
        name="action",
    ),
    # Checkout, receipt, void
    path("checkout/", checkout.checkout_page, name="checkout_sale"),
    path("appointments/<int:pk>/checkout/", checkout.checkout_page, name="checkout"),
    path("visits/<int:pk>/receipt/", checkout.receipt, name="receipt"),
    path("visits/<int:pk>/void/", checkout.void, name="void"),
    # Stylist's day
    path("my-day/", stylist.my_day, name="my_day"),
    path("my-day/items/<int:pk>/start/", stylist.my_day_start, name="my_day_start"),
    path("my-day/items/<int:pk>/record/", stylist.service_record, name="service_record"),
    # Online booking (no login)
    path("book/manage/<str:token>/", online.manage, name="online_manage"),
    path("book/manage/<str:token>/cancel/", online.manage_cancel, name="online_cancel"),
    path("book/manage/<str:token>/move/", online.manage_move, name="online_move"),
    path("book/<slug:code>/", online.book_start, name="online_book"),
    path("book/<slug:code>/confirm/", online.book_submit, name="online_submit"),
    path("book/<slug:code>/phone-code/", online.phone_code, name="online_phone_code"),
    path("book/<slug:code>/waitlist/", online.waitlist_submit, name="online_waitlist"),
    # Online bookings held for the desk (phone on file under another name): the Today panel's answers
    path("online-checks/<int:pk>/attach/", held.check_attach, name="online_check_attach"),
    path("online-checks/<int:pk>/separate/", held.check_separate, name="online_check_separate"),
]
# Manager catalogue pages: services, categories, products, resources, hours, time off
urlpatterns += catalogue.urlpatterns
