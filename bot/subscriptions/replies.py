"""The subscription actions' answers: texts with choices whose taps skip NLU (bot.replies)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.replies import MAX_CHOICES, Button, Reply, payload, tap
from bot.subscriptions import texts
from bot.subscriptions.catalogue import Catalogue, SubscriptionTarget
from bot.subscriptions.models import Subscription

SUBSCRIBE_INTENT = "subscribe"
UNSUBSCRIBE_INTENT = "unsubscribe"
LIST_INTENT = "list_subscriptions"
TARGET_ENTITY = "subscription_topic"
CONSENT_ENTITY = "subscription_consent"
CONSENT_GIVEN = "yes"
ALL_TARGETS = "all"


def subscribe_payload(keys: Sequence[str], consent: bool = False) -> str:
    entities: dict[str, Any] = {TARGET_ENTITY: keys[0] if len(keys) == 1 else list(keys)}
    if consent:
        entities[CONSENT_ENTITY] = CONSENT_GIVEN
    return payload(SUBSCRIBE_INTENT, entities)


def unsubscribe_payload(key: str) -> str:
    return payload(UNSUBSCRIBE_INTENT, {TARGET_ENTITY: key})


def subscribe_card_button(target: SubscriptionTarget) -> Button:
    """The "교통 소식 받기" button of a civic answer card."""
    return tap(texts.SUBSCRIBE_BUTTON.format(title=target.title), subscribe_payload([target.key]))


def _text(text: str, choices: Sequence[Button] = ()) -> Reply:
    """A text with at most MAX_CHOICES choices (the first ones, as always offered)."""
    return Reply(text, choices[:MAX_CHOICES])


def _list_choice() -> Button:
    return tap(texts.MY_SUBSCRIPTIONS_BUTTON, f"/{LIST_INTENT}")


def choose_target(catalogue: Catalogue, exclude: Iterable[str] = ()) -> Reply:
    exclude = set(exclude)
    return _text(
        texts.CHOOSE_TARGET,
        [
            tap(target.title, subscribe_payload([target.key]))
            for target in catalogue.targets
            if target.key not in exclude
        ],
    )


def consent_request(catalogue: Catalogue, keys: Sequence[str]) -> Reply:
    consent = catalogue.consent
    text = texts.CONSENT_REQUEST.format(
        titles=catalogue.titles(keys), purpose=consent.purpose, items=consent.items, retention=consent.retention
    )
    return _text(
        text, [tap(texts.CONSENT_BUTTON, subscribe_payload(keys, consent=True)), tap(texts.DECLINE_BUTTON, "/deny")]
    )


def subscribed(catalogue: Catalogue, keys: Sequence[str], already: Sequence[str], channel_added: bool | None) -> Reply:
    lines = [texts.SUBSCRIBED.format(titles=catalogue.titles(keys))]
    if already:
        lines.append(texts.ALREADY_SUBSCRIBED.format(titles=catalogue.titles(already)))
    if channel_added is False:
        lines.append(texts.ADD_CHANNEL_NOTE)
    return _text("\n\n".join(lines), [_list_choice()])


def already_subscribed(catalogue: Catalogue, keys: Sequence[str]) -> Reply:
    return _text(texts.ALREADY_SUBSCRIBED.format(titles=catalogue.titles(keys)), [_list_choice()])


def declined() -> Reply:
    return _text(texts.DECLINED)


def choose_to_unsubscribe(catalogue: Catalogue, active_keys: Sequence[str], prefix: str = "") -> Reply:
    replies = [
        tap(texts.UNSUBSCRIBE_BUTTON.format(title=catalogue.titles([key])), unsubscribe_payload(key))
        for key in active_keys
    ]
    replies.append(tap(texts.UNSUBSCRIBE_ALL_BUTTON, unsubscribe_payload(ALL_TARGETS)))
    return _text(f"{prefix}\n\n{texts.CHOOSE_TO_UNSUBSCRIBE}" if prefix else texts.CHOOSE_TO_UNSUBSCRIBE, replies)


def not_subscribed_to(catalogue: Catalogue, keys: Sequence[str], active_keys: Sequence[str]) -> Reply:
    return choose_to_unsubscribe(
        catalogue, active_keys, prefix=texts.NOT_SUBSCRIBED_TO.format(titles=catalogue.titles(keys))
    )


def unsubscribed(catalogue: Catalogue, keys: Sequence[str]) -> Reply:
    return _text(texts.UNSUBSCRIBED.format(titles=catalogue.titles(keys)), [_list_choice()])


def nothing_subscribed() -> Reply:
    return _text(texts.NOTHING_SUBSCRIBED, [tap(texts.SUBSCRIBE_MORE_BUTTON, f"/{SUBSCRIBE_INTENT}")])


def local_date(moment: datetime, timezone: str) -> str:
    day = moment.astimezone(ZoneInfo(timezone))
    return texts.DATE_FORMAT.format(year=day.year, month=day.month, day=day.day)


def subscription_list(catalogue: Catalogue, active: Sequence[Subscription], timezone: str) -> Reply:
    if not active:
        return nothing_subscribed()
    lines = [texts.SUBSCRIPTION_LIST_HEADER] + [
        texts.SUBSCRIPTION_LIST_LINE.format(
            title=catalogue.titles([s.target]), since=local_date(s.consented_at, timezone)
        )
        for s in active
    ]
    keys = [s.target for s in active]
    replies = [
        tap(texts.UNSUBSCRIBE_BUTTON.format(title=catalogue.titles([key])), unsubscribe_payload(key)) for key in keys
    ]
    replies.append(tap(texts.SUBSCRIBE_MORE_BUTTON, f"/{SUBSCRIBE_INTENT}"))
    return _text("\n".join(lines), replies)
