"""Citizen-facing Korean texts (해요체) of the emergency conversation (actions/emergency.py)."""

from __future__ import annotations

from bot.city.models import CityConfig, EmergencyType
from bot.replies import MAX_CHOICES, Reply, answers, tap
from bot.tickets.incidents import IncidentReceipt

UNKNOWN_PLACE_LABEL = "위치를 몰라요"
NO_MORE_LABEL = "더 없어요"
FOLLOW_UP_MINUTES = 10  # follow-ups within this time join the incident (actions/emergency.py)

GENERAL_GUIDANCE = (
    "🚨 위험한 상황이면 지금 바로 전화하세요! 화재·구조·응급환자는 119, 사고·범죄는 112예요.\n"
    "몸을 피할 수 있으면 먼저 안전한 곳으로 피해 주세요."
)


def guidance(emergency: EmergencyType | None) -> str:
    """The first thing the citizen reads: whom to call now and the immediate safety step."""
    if emergency is None:
        return GENERAL_GUIDANCE
    numbers = "·".join(emergency.call_numbers)
    return f"🚨 {emergency.label} 상황이면 지금 바로 {numbers}에 전화하세요!\n{emergency.guidance}"


def ask_kind(config: CityConfig) -> Reply:
    return Reply(
        "어떤 상황인지 알려 주시면 관련 기관에 바로 알릴게요. 아래에서 골라 주세요.",
        [
            tap(emergency.label, f'/report_emergency{{"emergency_type": "{emergency.id}"}}')
            for emergency in list(config.emergency_types.values())[:MAX_CHOICES]
        ],
    )


KIND_NOT_UNDERSTOOD = "어떤 상황인지 알아듣지 못했어요. 아래에서 가장 가까운 것을 골라 주세요."

ASK_PLACE = (
    "어디에서 일어난 일인가요? 구·동 이름과 도로명, 건물이나 가까운 장소를 알려 주세요. "
    "(예: 일산동구 백석동 백석지하차도)\n모르시면 '위치를 몰라요'를 눌러 주세요. 그래도 바로 알릴게요."
)


def ask_place() -> Reply:
    return Reply(ASK_PLACE, answers(UNKNOWN_PLACE_LABEL))


def place_line(receipt: IncidentReceipt) -> str:
    if not receipt.location_known:
        return "위치 미상 (장소를 알게 되면 이어서 보내 주세요)"
    area = " ".join(part for part in (receipt.district, receipt.dong) if part)
    return f"{receipt.location_text}" + (f" ({area})" if area and area not in receipt.location_text else "")


def alerted(receipt: IncidentReceipt, city_name: str) -> Reply:
    """The confirmation: what was sent, where, to whom, under which number."""
    agencies = ", ".join(name if i else f"{city_name} {name}" for i, name in enumerate(receipt.alerted))
    if receipt.joined:
        head = (
            f"같은 곳의 {receipt.label} 신고가 이미 접수되어 관련 기관이 대응하고 있어요. "
            f"알려 주신 내용도 함께 전달했어요. (신고 {receipt.report_count}건째)"
        )
    else:
        head = "관련 기관에 상황을 알렸어요."
    lines = [
        head,
        f"· 긴급 접수번호: {receipt.number}",
        f"· 상황: {receipt.label}",
        f"· 위치: {place_line(receipt)}",
        f"· 알린 곳: {agencies}",
        "",
        f"더 알려 주실 내용이나 사진이 있으면 {FOLLOW_UP_MINUTES}분 안에 이어서 보내 주세요. 같은 신고로 전달할게요.",
        "챗봇 알림은 119·112 신고를 대신하지 못해요. 아직 전화하지 않으셨다면 꼭 전화해 주세요.",
    ]
    return Reply("\n".join(lines), answers(NO_MORE_LABEL))


def follow_up_sent(receipt: IncidentReceipt) -> Reply:
    return Reply(
        f"추가로 알려 주신 내용을 같은 기관에 전달했어요. (긴급 접수번호 {receipt.number})\n"
        "더 있으면 이어서 보내 주세요.",
        answers(NO_MORE_LABEL),
    )


def alert_failed() -> str:
    return "관련 기관에 알리는 중에 문제가 생겼어요. 반드시 119 또는 112에 직접 전화해 주세요."


DONE = "알려 주셔서 고마워요. 안전한 곳에 계세요. 상황이 바뀌면 언제든 다시 말씀해 주세요."
FOLLOW_UP_EXPIRED = (
    "신고하신 지 시간이 지나서 이 내용은 따로 전달하지 않았어요. 새로운 위험 상황이면 처음부터 다시 "
    "말씀해 주세요. 급하면 119·112에 전화해 주세요."
)
