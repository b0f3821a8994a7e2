"""Pages a lead sees (unsubscribe, a link that no longer works): the console's stylesheet, the
business's name, one card laid out for a phone. Autoescaped like every console page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import HTMLResponse

from api.console.pages import render


@dataclass(frozen=True)
class PageForm:
    action: str
    fields: Sequence[tuple[str, str]]
    button: str


def public_page(
    request: Request,
    title: str,
    lines: Sequence[str],
    *,
    business: str | None = None,
    form: PageForm | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(request, "public.html", status, title=title, lines=lines, business=business, form=form)
