"""Contact normalisation: national WhatsApp quirks fold to one key; letters and control
characters are refused rather than stored as something else."""

from __future__ import annotations

import pytest

from agent.contacts import ContactError, normalise_email, normalise_phone, phone_key, provider_phone
from agent.policies import timezone_from_phone


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("whatsapp:+5215512345678", "+52 55 1234 5678"),  # MX: the old mobile 1
        ("+54 9 11 2345-6789", "+54 11 2345 6789"),  # AR: the mobile 9
        ("+55 11 98765-4321", "whatsapp:+551187654321"),  # BR: with and without the ninth digit
    ],
)
def test_a_person_written_two_ways_has_one_key(one: str, other: str) -> None:
    assert phone_key(normalise_phone(one)) == phone_key(normalise_phone(other))


@pytest.mark.parametrize(
    "phone",
    [
        "+551137654321",  # a São Paulo landline: eight digits, no ninth digit to add
        "+5511987654321",
        "+525512345678",
        "+14155550100",
        "+447911123456",
    ],
)
def test_other_numbers_are_their_own_key(phone: str) -> None:
    assert phone_key(phone) == phone


@pytest.mark.parametrize(
    ("phone", "zone"),
    [("+5215512345678", "America/Mexico_City"), ("+551187654321", "America/Sao_Paulo")],
)
def test_a_quirk_form_still_gives_the_lead_its_timezone(phone: str, zone: str) -> None:
    assert timezone_from_phone(phone) == zone


def test_the_digits_are_kept_as_given() -> None:
    assert normalise_phone("+52 1 55 1234 5678") == "+5215512345678"
    assert provider_phone("whatsapp:+5215512345678") == "+5215512345678"


def test_a_provider_number_phonenumbers_cannot_read_is_kept_as_given() -> None:
    assert provider_phone("whatsapp:+999 1234") == "+999 1234"
    for unusable in ("whatsapp:nobody", "1" * 40):
        with pytest.raises(ContactError):
            provider_phone(unusable)


@pytest.mark.parametrize("phone", ["+1415555ABCD", "+1 800 FLOWERS", "+52 1 12"])
def test_bad_phones_are_refused(phone: str) -> None:
    with pytest.raises(ContactError):
        normalise_phone(phone)


@pytest.mark.parametrize(
    "email", ["dana\x00@example.com", "da\nna@example.com", "dana@exa\u200bmple.com", "d" * 65 + "@example.com"]
)
def test_bad_emails_are_refused(email: str) -> None:
    with pytest.raises(ContactError):
        normalise_email(email)


def test_a_64_character_local_part_is_an_email() -> None:
    assert normalise_email("d" * 64 + "@Example.COM") == "d" * 64 + "@example.com"
