"""The JSON proposal document sent to the PB office through the outbox (schema
"sotong.budget_proposal.v1")."""

from __future__ import annotations

from typing import Any

from bot.budget.amounts import format_krw
from bot.budget.definitions import BudgetData
from bot.budget.tables import BudgetProposal

SCHEMA = "sotong.budget_proposal.v1"
PROPOSAL_CREATED = "budget_proposal.created"
RECIPIENT_KIND = "budget_office"  # outbox target_kind of the PB office


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def proposal_document(data: BudgetData, proposal: BudgetProposal, event: str = PROPOSAL_CREATED) -> dict[str, Any]:
    """Everything the PB office needs to review the proposal, including the contact the citizen
    consented to give (the consent covers the PB office only)."""
    office = data.cycle.office
    category = data.cycle.categories[proposal.category]
    return {
        "schema": SCHEMA,
        "event": event,
        "city": {"id": data.city_id, "name": data.city_name},
        "recipient": {"kind": RECIPIENT_KIND, "id": office.id, "name": office.name},
        "cycle": {"id": data.cycle.id, "name": data.cycle.name},
        "proposal": {
            "number": proposal.number,
            "title": proposal.title,
            "category": category.id,
            "category_label": category.label,
            "location": {"text": proposal.location_text, "district": proposal.district, "dong": proposal.dong},
            "description": proposal.description,
            "expected_benefit": proposal.expected_benefit,
            "estimated_cost_won": proposal.estimated_cost_won,
            "estimated_cost_text": format_krw(proposal.estimated_cost_won),
            "created_at": _iso(proposal.created_at),
            "contact": {
                "anonymous": proposal.contact_phone is None,
                # Stored sealed; the outbox keeps it sealed and the dispatcher opens it for the send.
                "phone": proposal.contact_phone,
                "consent": {
                    "given": proposal.consent_given,
                    "text_version": proposal.consent_text_version,
                    "at": _iso(proposal.consent_at),
                },
            },
        },
    }


def idempotency_key(data: BudgetData, proposal: BudgetProposal, event: str = PROPOSAL_CREATED) -> str:
    """Stable per proposal, event and recipient: the office can drop repeated deliveries."""
    return f"{proposal.number}/{event}/{RECIPIENT_KIND}/{data.cycle.office.id}"
