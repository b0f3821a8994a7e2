"""Sample businesses for the demo, `nudge chat` and the simulator (en, es and pt)."""

from __future__ import annotations

import hashlib
from typing import Any

# Approved WhatsApp templates (Twilio Content API) per touch: the variables carry the touch's asset.
_TEMPLATE_VARIABLES = {
    "instant_reply": ["first_name", "business"],
    "qualification": ["first_name", "business"],
    "soft_reminder": ["first_name", "resource_title", "resource_url"],
    "social_proof": ["first_name", "case_title", "case_url"],
    "value_offer": ["first_name", "offer", "booking_url"],
    "breakup": ["first_name", "business"],
    "reengagement": ["first_name", "content_title", "content_url"],
}
_TEMPLATE_BODIES = {
    "en": {
        "instant_reply": "Hi {{1}}, thanks for contacting {{2}}! Reply here and we'll help you right away.",
        "qualification": "Hi {{1}}, {{2}} here. What would you most like to improve? Reply here anytime.",
        "soft_reminder": "Hi {{1}}, this may help while you decide: {{2}} {{3}}",
        "social_proof": "Hi {{1}}, a business like yours shared its results: {{2}} {{3}}",
        "value_offer": "Hi {{1}}, we'd like to offer you {{2}}, no commitment: {{3}}",
        "breakup": "Hi {{1}}, {{2}} here. Shall I close your file? Reply 1 to keep it open, 2 to close it.",
        "reengagement": "Hi {{1}}, no pitch, just something useful: {{2}} {{3}}",
    },
    "es": {
        "instant_reply": "Hola {{1}}, ¡gracias por contactar a {{2}}! Responde aquí y te ayudamos enseguida.",
        "qualification": "Hola {{1}}, te escribe {{2}}. ¿Qué te gustaría mejorar primero? Responde cuando quieras.",
        "soft_reminder": "Hola {{1}}, esto puede ayudarte a decidir: {{2}} {{3}}",
        "social_proof": "Hola {{1}}, un negocio como el tuyo compartió sus resultados: {{2}} {{3}}",
        "value_offer": "Hola {{1}}, queremos ofrecerte {{2}}, sin compromiso: {{3}}",
        "breakup": "Hola {{1}}, te escribe {{2}}. ¿Cierro tu solicitud? Responde 1 para mantenerla abierta "
        "o 2 para cerrarla.",
        "reengagement": "Hola {{1}}, sin vender nada, algo útil: {{2}} {{3}}",
    },
    "pt": {
        "instant_reply": "Oi {{1}}, obrigado por falar com a {{2}}! Responda aqui e ajudamos na hora.",
        "qualification": "Oi {{1}}, aqui é da {{2}}. O que você mais gostaria de melhorar? Responda quando quiser.",
        "soft_reminder": "Oi {{1}}, isto pode ajudar na sua decisão: {{2}} {{3}}",
        "social_proof": "Oi {{1}}, um negócio como o seu compartilhou resultados: {{2}} {{3}}",
        "value_offer": "Oi {{1}}, queremos te oferecer {{2}}, sem compromisso: {{3}}",
        "breakup": "Oi {{1}}, aqui é da {{2}}. Posso encerrar seu pedido? Responda 1 para manter aberto "
        "ou 2 para encerrar.",
        "reengagement": "Oi {{1}}, sem vender nada, algo útil: {{2}} {{3}}",
    },
}


def whatsapp_templates(business_key: str) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        purpose: {
            language: {
                "content_sid": "HX" + hashlib.md5(f"{business_key}:{purpose}:{language}".encode()).hexdigest(),
                "variables": variables,
                "body": _TEMPLATE_BODIES[language][purpose],
            }
            for language in _TEMPLATE_BODIES
        }
        for purpose, variables in _TEMPLATE_VARIABLES.items()
    }


def _resource(title: str, url: str, language: str | None = None, industry: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"title": title, "url": url}
    if language:
        item["language"] = language
    if industry:
        item["industry"] = industry
    return item


SAMPLE_BUSINESSES: list[dict[str, Any]] = [
    {
        "name": "BrightSmile Growth",
        "timezone": "America/New_York",
        "default_locale": "en",
        "languages": ["en", "es", "pt"],
        "whatsapp_from": "+14155550100",
        "sms_from": "+14155550101",
        "email_from": "BrightSmile Growth <hello@brightsmile.example>",
        # Sandbox records audience changes without sending; live mode posts hashes to this hook.
        "audiences": [
            {
                "kind": "webhook",
                "name": "retargeting",
                "url": "https://crm.brightsmile.example/audiences",
                "secret": "x",
            }
        ],
        "whatsapp_templates": whatsapp_templates("brightsmile"),
        "profile": {
            "description": "Patient and client acquisition campaigns for clinics, gyms and local services",
            "offer": {
                "en": "a free 15-minute growth audit of your online presence",
                "es": "una auditoría gratuita de 15 minutos de tu presencia online",
                "pt": "uma auditoria gratuita de 15 minutos da sua presença online",
            },
            "booking_url": "https://brightsmile.example/book",
            "resources": [
                _resource("The 2026 client acquisition playbook", "https://brightsmile.example/playbook", "en"),
                _resource("Guía 2026 para atraer clientes", "https://brightsmile.example/es/guia", "es"),
                _resource("Guia 2026 para atrair clientes", "https://brightsmile.example/pt/guia", "pt"),
                _resource("Checklist: 12 fixes for your booking page", "https://brightsmile.example/checklist"),
            ],
            "content": [
                _resource("What 300 businesses taught us about no-shows", "https://brightsmile.example/no-shows", "en"),
                _resource(
                    "Lo que 300 negocios nos enseñaron sobre ausencias",
                    "https://brightsmile.example/es/ausencias",
                    "es",
                ),
                _resource(
                    "O que 300 negócios nos ensinaram sobre faltas", "https://brightsmile.example/pt/faltas", "pt"
                ),
            ],
            "facts": [
                {
                    "keywords": ["price", "cost", "much", "precio", "cuesta", "cuánto", "preço", "custa", "quanto"],
                    "text": {
                        "en": "plans start at 490 USD a month, with no long-term contract",
                        "es": "los planes empiezan en 490 USD al mes, sin contrato de permanencia",
                        "pt": "os planos começam em 490 USD por mês, sem fidelidade",
                    },
                },
                {
                    "keywords": ["trial", "free", "prueba", "gratis", "teste", "grátis"],
                    "text": {
                        "en": "the first audit is free, and you can cancel any month",
                        "es": "la primera auditoría es gratis y puedes cancelar cualquier mes",
                        "pt": "a primeira auditoria é grátis e você pode cancelar em qualquer mês",
                    },
                },
            ],
        },
    },
]
