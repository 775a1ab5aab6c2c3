"""Conversation basics that need city data: the human handoff."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.city import get_city_config


class ActionHumanHandoff(Action):
    """Gives the city's call-centre number and hours (from data/city/city.yml)."""

    def name(self) -> str:
        return "action_human_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        profile = get_city_config().profile
        dispatcher.utter_message(
            text=(
                f"상담원과 직접 이야기하고 싶으시군요. {profile.call_centre_name} "
                f"☎ {profile.call_centre_phone}({profile.call_centre_hours})로 전화 주시면 "
                "상담원이 도와드려요. 채팅으로 계속 도와드릴 일이 있으면 말씀해 주세요."
            ),
            buttons=[
                {"title": "민원 신고", "payload": "/report_complaint"},
                {"title": "생활 정보", "payload": "/info_menu"},
            ],
        )
        return []
