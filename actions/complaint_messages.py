"""Citizen-facing Korean texts (해요체) of the complaint and status conversations (emergencies:
actions/emergency_messages.py).

Each function returns a text or a bot.replies.Reply (text and the choices under it) built from
city data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.city.models import CityConfig, ComplaintCategory, ConsentText
from bot.replies import MAX_CHOICES, Reply, answers
from bot.tickets import TicketReceipt, TicketView

WEEKDAYS_KO = "월화수목금토일"
NO_PHOTO_LABEL = "사진 없음"
ANONYMOUS_LABEL = "익명으로 접수"
CANCEL_LABEL = "접수 취소"
CATCH_ALL_CATEGORY = "other"  # 기타 생활민원: any complaint no other category fits (DESIGN.md)


def korean_date(day: date) -> str:
    return f"{day.month}월 {day.day}일({WEEKDAYS_KO[day.weekday()]})"


# --- the complaint form ----------------------------------------------------------------------------


def category_labels(config: CityConfig) -> list[str]:
    """Category labels for quick replies: the catch-all (기타 생활민원) always among them."""
    catch_all = config.complaint_categories.get(CATCH_ALL_CATEGORY)
    labels = [category.label for category in config.complaint_categories.values() if category is not catch_all]
    if catch_all is None:
        return labels[:MAX_CHOICES]
    return labels[: MAX_CHOICES - 1] + [catch_all.label]


def ask_category(config: CityConfig) -> Reply:
    labels = [category.label for category in config.complaint_categories.values()]
    return Reply(
        f"어떤 문제를 신고하시겠어요? 아래에서 고르시거나 짧게 적어 주세요.\n({', '.join(labels)})",
        answers(*category_labels(config)),
    )


def unknown_category(config: CityConfig) -> Reply:
    """No category fits the answer: the catch-all is offered first, so the form never loops."""
    catch_all = config.complaint_categories.get(CATCH_ALL_CATEGORY)
    if catch_all is None:
        reply = ask_category(config)
        return Reply("죄송해요, 어떤 유형인지 알아듣지 못했어요. " + reply.text, reply.buttons)
    labels = category_labels(config)
    return Reply(
        "죄송해요, 어떤 유형인지 알아듣지 못했어요. 알맞은 유형이 없으면 "
        f"'{catch_all.label}'을 눌러 주세요. 담당 부서로 나눠 전달해 드려요.",
        answers(catch_all.label, *labels[:-1]),
    )


ASK_LOCATION = (
    "문제가 있는 위치를 알려 주세요. 동 이름과 도로명, 건물이나 가까운 장소를 함께 적어 주시면 "
    "빨리 찾을 수 있어요. (예: 일산서구 주엽동 강선마을 14단지 앞)"
)
ASK_DESCRIPTION = "어떤 상황인지 자세히 알려 주세요. (예: 차도에 지름 50cm 정도 구멍이 생겼어요)"
ASK_PHOTO = "현장 사진이 있으면 보내 주세요. 없으면 '사진 없음'을 눌러 주세요."
ASK_PHONE = "처리 결과를 안내받으실 휴대전화 번호를 알려 주세요. (예: 010-1234-5678)\n연락 없이 접수하시려면 '익명으로 접수'를 눌러 주세요."

LOCATION_TOO_VAGUE = "조금 더 정확한 위치가 필요해요. 동 이름, 도로명이나 가까운 건물·장소를 함께 알려 주세요."
TEXT_EMPTY = "내용이 비어 있어요. 다시 한 번 적어 주세요."
PHOTO_NOT_UNDERSTOOD = "사진을 찾지 못했어요. 사진을 보내 주시거나 '사진 없음'을 눌러 주세요."
PHONE_INVALID = "휴대전화 번호 형식이 아니에요. 010-1234-5678처럼 적어 주시거나 '익명으로 접수'를 눌러 주세요."
CONSENT_NOT_UNDERSTOOD = "동의 여부를 '동의해요' 또는 '동의하지 않아요'로 알려 주세요."
RRN_MASKED = (
    "주민등록번호로 보이는 숫자가 있어서 가려서 저장했어요. "
    "민원 접수에는 주민등록번호가 필요하지 않으니 적지 않으셔도 돼요."
)


def text_too_long(max_chars: int) -> str:
    return f"내용이 너무 길어요. {max_chars}자 이내로 줄여서 다시 적어 주세요."


def photo_question() -> Reply:
    return Reply(ASK_PHOTO, answers(NO_PHOTO_LABEL))


def phone_question() -> Reply:
    return Reply(ASK_PHONE, answers(ANONYMOUS_LABEL))


def ask_consent(consent: ConsentText) -> Reply:
    return Reply(
        "[개인정보 수집·이용 동의]\n"
        f"· 목적: {consent.purpose}\n· 항목: {consent.items}\n· 보유 기간: {consent.retention}\n"
        "동의하지 않으셔도 익명으로 접수할 수 있어요. 다만 처리 결과를 연락드릴 수 없어요.\n"
        "개인정보 수집·이용에 동의하시나요?",
        answers("동의해요", "동의하지 않아요"),
    )


def ask_duplicate(view: TicketView, timezone: str) -> Reply:
    if view.is_owner:
        return Reply(
            f"같은 곳의 같은 민원을 이미 접수하셨어요. (접수번호 {view.number}, {view.status_label})\n"
            "그래도 새로 접수하시겠어요?",
            answers("새로 접수", CANCEL_LABEL),
        )
    return Reply(
        f"같은 곳에 같은 민원이 이미 접수되어 처리 중이에요. (접수번호 {view.number}, "
        f"{received_at(view.created_at, timezone)} 접수, {view.status_label})\n"
        "이 민원에 함께하시면 처리 소식을 같이 받으실 수 있어요. 어떻게 할까요?",
        answers("함께 알림 받기", "새로 접수", CANCEL_LABEL),
    )


def summary(
    config: CityConfig, slots: dict[str, str | None], consent: bool | None, no_photo: str, anonymous: str
) -> Reply:
    category = config.complaint_categories.get(slots.get("complaint_category") or "")
    photo = slots.get("photo_url")
    phone = slots.get("phone")
    lines = [
        "접수 전에 내용을 확인해 주세요.",
        f"· 유형: {category.label if category else '-'}",
        f"· 위치: {slots.get('location') or '-'}",
        f"· 내용: {slots.get('description') or '-'}",
    ]
    if photo is not None:
        lines.append(f"· 사진: {'없음' if photo == no_photo else '있음'}")
    contact = "익명" if not consent or phone in (None, anonymous) else mask_middle(phone)
    lines += [f"· 연락처: {contact}", "", "이대로 접수할까요? 고칠 내용이 있으면 항목 이름을 말씀해 주세요."]
    return Reply("\n".join(lines), answers("네, 접수해요", "고칠래요", CANCEL_LABEL))


def correction_menu() -> Reply:
    return Reply("어떤 항목을 고칠까요?", answers("유형", "위치", "내용", "사진", "연락처", CANCEL_LABEL))


def mask_middle(phone: str) -> str:
    parts = phone.split("-")
    return f"{parts[0]}-{'*' * len(parts[1])}-{parts[2]}" if len(parts) == 3 else phone


# --- after the form --------------------------------------------------------------------------------

CANCELLED = "민원 접수를 취소했어요. 필요하실 때 언제든 다시 말씀해 주세요."


def filed(receipt: TicketReceipt, category: ComplaintCategory, anonymous: bool) -> Reply:
    lines = [
        "민원이 접수됐어요. ✅",
        f"· 접수번호: {receipt.number}",
        f"· 담당 부서: {receipt.department_name} (☎ {receipt.department_phone})",
        f"· 처리 기한: {korean_date(receipt.due_date)}까지 (주말·공휴일 빼고 {category.processing_days}일)",
        "",
        "접수번호로 처리 상황을 언제든 확인하실 수 있어요."
        + (" 익명 접수라 처리 결과는 따로 연락드리지 않아요." if anonymous else ""),
    ]
    return Reply("\n".join(lines), answers("처리 현황 조회"))


def joined(number: str) -> str:
    return f"접수번호 {number} 민원에 함께하셨어요. 이 민원의 처리 상황을 같이 확인하실 수 있어요."


def already_joined(number: str) -> str:
    return f"이미 접수번호 {number} 민원에 함께하고 계세요."


def own_ticket(number: str) -> str:
    return f"접수번호 {number}는 직접 접수하신 민원이에요. 처리 상황은 접수번호로 확인하실 수 있어요."


def join_closed(number: str) -> str:
    return f"접수번호 {number} 민원은 이미 처리가 끝났어요. 문제가 남아 있으면 새로 신고해 주세요."


def submit_failed(call_centre_phone: str) -> str:
    return (
        "죄송해요, 일시적인 문제로 민원을 접수하지 못했어요. 잠시 후 다시 시도해 주세요. "
        f"급하시면 콜센터(☎ {call_centre_phone})로 전화해 주세요."
    )


# --- status ----------------------------------------------------------------------------------------


def ticket_status(view: TicketView, timezone: str) -> str:
    lines = [
        f"📋 {view.number} · {view.label}{' (긴급)' if view.urgent else ''}",
        f"· 상태: {view.status_label}",
        f"· 담당: {view.department_name} (☎ {view.department_phone})",
        f"· 접수일: {received_at(view.created_at, timezone)}",
    ]
    if view.due_date:
        lines.append(f"· 처리 기한: {korean_date(view.due_date)}")
    if view.is_owner and view.location_text:
        lines.append(f"· 위치: {view.location_text}")
    if not view.is_owner:
        lines.append("· 함께 알림 받는 민원이에요.")
    return "\n".join(lines)


def ticket_list(views: Sequence[TicketView], timezone: str) -> Reply:
    header = f"최근 민원 {len(views)}건이에요."
    body = "\n\n".join(ticket_status(view, timezone) for view in views)
    return Reply(f"{header}\n\n{body}")


def ticket_not_found(number: str) -> str:
    return (
        f"접수번호 {number}인 민원을 찾지 못했어요. 번호를 다시 확인해 주세요. 본인이 접수한 민원만 조회할 수 있어요."
    )


NO_TICKETS = "아직 접수하신 민원이 없어요. 불편한 점이 있으면 '민원 신고'라고 말씀해 주세요."
STATUS_UNAVAILABLE = "죄송해요, 지금은 민원 조회가 어려워요. 잠시 후 다시 시도해 주세요."


def received_at(moment: datetime, timezone: str) -> str:
    return korean_date(moment.astimezone(ZoneInfo(timezone)).date())
