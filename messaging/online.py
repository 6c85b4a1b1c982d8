"""The online booking page's one-time codes: messaging proves a phone for appointments
(appointments.services.online.PhoneProver; appointments never imports messaging). Offered on the
page only when settings.ONLINE_BOOKING_PHONE_CODE is on."""

from appointments.services.online import PhoneProver, register_phone_prover
from messaging.services import phone_code_check, phone_code_send

PURPOSE = "online_booking"


def send(*, phone: str, location) -> None:
    phone_code_send(phone=phone, purpose=PURPOSE, location=location)


def check(*, phone: str, code: str) -> bool:
    return phone_code_check(phone=phone, purpose=PURPOSE, code=code)


def register() -> None:
    register_phone_prover(PhoneProver(send=send, check=check))
