"""Booking: Cal.com, Calendly and generic signed booking webhooks.

`signatures` verifies a delivery the way its provider signs it, `events` reads the provider's
payload into one `BookingEvent`, `decide` says what an event does to the bookings already known
(pure), and `store` applies it: the booking row, the lead it matches, the conversion.
"""
