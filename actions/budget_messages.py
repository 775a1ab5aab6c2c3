"""Citizen-facing Korean texts (해요체) and cards of the participatory-budget conversation.

Each function returns a text or a bot.replies.Reply (text, choices, cards) built from the budget
data. Choices whose payload is `/intent{...}` are menu taps (they skip NLU); the others are
answers inside a form. Projects are shown as a carousel of cards with a picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from actions.complaint_messages import korean_date
from bot.budget import BallotReceipt, BudgetData, Phase, PhaseKind, PhaseStatus, Project, ProposalReceipt
from bot.budget.amounts import format_krw
from bot.budget.definitions import Survey, SurveyQuestion
from bot.city.models import District
from bot.replies import MAX_CHOICES, Button, Card, Reply, answers, link, payload

CANCEL = "취소"
SKIP = "건너뛰기"
AGREE = "동의해요"
ANONYMOUS = "익명으로 할게요"
SUBMIT = "제출할게요"
RESTART = "처음부터 다시"
CANCEL_HINT = "그만두시려면 언제든 '취소'라고 말씀해 주세요."

# Intents and entities of menu taps (see the domain fragment).
INTENT_INFO, INTENT_PROPOSE, INTENT_FEEDBACK, INTENT_VOTE = (
    "budget_info",
    "budget_propose",
    "budget_feedback",
    "budget_vote",
)
PROJECT, SURVEY = "budget_project", "budget_survey"
VOTE_PROJECT, VOTE_STEP, VOTE_PAGE = "budget_vote_project", "budget_vote_step", "budget_vote_page"
STEP_CHOOSE, STEP_REVIEW, STEP_SUBMIT, STEP_CANCEL = "choose", "review", "submit", "cancel"


def tap(title: str, intent: str, **entities: Any) -> Button:
    """A menu tap: `/intent{"entity": "value"}` goes to Rasa without NLU."""
    return Button(title, payload=payload(intent, entities))


def day(value: date, today: date) -> str:
    """4월 30일(목), with the year when it is not this year's."""
    text = korean_date(value)
    return text if value.year == today.year else f"{value.year}년 {text}"


def city_wide(data: BudgetData) -> str:
    return f"{data.city_name} 전체"


def place(data: BudgetData, project: Project) -> str:
    return project.place or city_wide(data)


def period(phase: Phase, today: date) -> str:
    if phase.ends is None:
        return f"{day(phase.starts, today)}부터"
    return f"{day(phase.starts, today)} ~ {day(phase.ends, today)}"


# --- budget_info ---------------------------------------------------------------------------------


def schedule(data: BudgetData, today: date) -> str:
    lines = [f"📅 {data.cycle.name} 일정"]
    lines += [f"· {phase.label}: {period(phase, today)}" for phase in data.cycle.phases]
    return "\n".join(lines)


def phase_line(status: PhaseStatus) -> str:
    """What is open now and until when, or what comes next."""
    today = status.today
    if status.current is not None:
        phase = status.current
        line = f"지금은 '{phase.label}' 기간이에요. {phase.description}".strip()
        if status.days_left == 0:
            return line + " 오늘이 마지막 날이에요!"
        if status.days_left is not None:
            return line + f" {day(phase.ends, today)}까지예요. (마감까지 {status.days_left}일)"
        return line
    if status.upcoming is not None:
        return f"지금은 진행 중인 단계가 없어요. 다음 단계인 '{status.upcoming.label}' 기간은 {day(status.upcoming.starts, today)}에 시작해요."
    return "이번 주민참여예산 일정은 모두 끝났어요. 다음 일정이 정해지면 알려 드릴게요."


def info_text(data: BudgetData, status: PhaseStatus) -> str:
    return f"{data.cycle.about}\n\n{schedule(data, status.today)}\n\n{phase_line(status)}"


def projects_heading(status: PhaseStatus, projects: Sequence[Project]) -> str:
    if not projects:
        return "아직 소개할 사업이 없어요."
    if status.kind == PhaseKind.VOTING:
        return f"투표할 수 있는 후보 사업 {len(projects)}개예요. 카드를 옆으로 넘겨 보세요."
    if all(project.status.value == "selected" for project in projects):
        return f"선정된 사업 {len(projects)}개예요. 의견을 남겨 주시면 사업 추진에 참고해요."
    return f"후보 사업 {len(projects)}개예요. 카드를 옆으로 넘겨 보세요."


def project_card(data: BudgetData, project: Project, can_vote: bool) -> Card:
    category = data.cycle.categories[project.category_id]
    buttons = []
    if can_vote:
        buttons.append(tap("투표하기", INTENT_VOTE))
    if project.feedback_open:
        buttons.append(tap("의견 남기기", INTENT_FEEDBACK, **{PROJECT: project.id}))
    return Card(
        project.title,
        f"{place(data, project)} · {category.label}\n사업비 {format_krw(project.cost_won)}\n{project.description}",
        buttons,
        image_url=project.image_url,
        image_alt=project.title,
    )


def projects_reply(
    data: BudgetData, status: PhaseStatus, projects: Sequence[Project], buttons: Sequence[Button]
) -> Reply:
    """The heading, the projects as a carousel of cards, and the menu's choices."""
    can_vote = status.kind == PhaseKind.VOTING
    cards = [project_card(data, project, can_vote and project.status.value == "candidate") for project in projects]
    return Reply(projects_heading(status, projects), buttons, cards, carousel=True)


def info_buttons(data: BudgetData, status: PhaseStatus, open_surveys: Sequence[Survey]) -> list[Button]:
    buttons = []
    if status.kind == PhaseKind.PROPOSALS:
        buttons.append(tap("사업 제안하기", INTENT_PROPOSE))
    if status.kind == PhaseKind.VOTING:
        buttons.append(tap("투표하기", INTENT_VOTE))
    if data.feedback_projects:
        buttons.append(tap("의견 남기기", INTENT_FEEDBACK))
    buttons += [tap(f"설문: {survey.title}", INTENT_FEEDBACK, **{SURVEY: survey.id}) for survey in open_surveys[:2]]
    if data.cycle.info_url:
        buttons.append(link("자세히 보기", data.cycle.info_url))
    return buttons


# --- phase closed --------------------------------------------------------------------------------


def not_open(needed: Phase, status: PhaseStatus) -> str:
    """Why the step is not possible today, and when it is (or was)."""
    today = status.today
    if today < needed.starts:
        ends = f" {day(needed.ends, today)}까지 열려요." if needed.ends else ""
        return (
            f"'{needed.label}' 기간은 아직 시작하지 않았어요. {day(needed.starts, today)}에 시작해서"
            f"{ends or ' 계속돼요.'} 그때 다시 찾아 주세요!"
        )
    ended = f"'{needed.label}' 기간은 {day(needed.ends, today)}에 끝났어요." if needed.ends else ""
    return f"{ended} {phase_line(status)}".strip()


def proposals_closed(data: BudgetData, status: PhaseStatus) -> Reply:
    text = not_open(data.cycle.phase(PhaseKind.PROPOSALS), status)
    return Reply(
        text + "\n진행 중인 사업에는 언제든 의견을 남기실 수 있어요.",
        [tap("주민참여예산 안내", INTENT_INFO), tap("의견 남기기", INTENT_FEEDBACK)],
    )


def voting_closed(data: BudgetData, status: PhaseStatus) -> Reply:
    return Reply(not_open(data.cycle.phase(PhaseKind.VOTING), status), [tap("주민참여예산 안내", INTENT_INFO)])


# --- the proposal form ---------------------------------------------------------------------------


def proposal_intro(data: BudgetData, status: PhaseStatus) -> str:
    ends = day(status.current.ends, status.today) if status.current and status.current.ends else ""
    until = f" ({ends}까지 접수해요)" if ends else ""
    return f"좋아요! {data.cycle.name} 사업 제안을 도와드릴게요{until}. 몇 가지만 여쭤볼게요. {CANCEL_HINT}"


ASK_TITLE = Reply(
    "어떤 사업을 제안하고 싶으세요? 사업 이름을 짧게 알려 주세요. (예: 주엽동 어린이공원 그늘막 설치)", answers(CANCEL)
)
ASK_DESCRIPTION = Reply(
    "사업 내용을 자세히 설명해 주세요. 무엇을, 어디에, 어떻게 하면 좋을지 적어 주시면 심사에 도움이 돼요.",
    answers(CANCEL),
)
ASK_BENEFIT = Reply(
    "이 사업으로 무엇이 좋아질까요? 기대 효과를 알려 주세요. (예: 아이들이 한여름에도 그늘에서 놀 수 있어요)",
    answers(CANCEL),
)
ASK_PHONE = Reply(
    f"연락받을 휴대전화 번호를 알려 주세요. (예: 010-1234-5678)\n연락을 원하지 않으시면 '{ANONYMOUS}'를 눌러 주세요.",
    answers(ANONYMOUS, CANCEL),
)
ASK_COMMENT = Reply(f"한 줄 의견이 있으면 남겨 주세요. 없으면 '{SKIP}'를 눌러 주세요.", answers(SKIP, CANCEL))


def ask_location(data: BudgetData, districts: Sequence[District]) -> Reply:
    example = _place_example(districts)
    return Reply(
        f"사업이 필요한 곳은 어디인가요? 구나 동 이름으로 알려 주세요. (예: {example})\n"
        f"시 전체에 필요한 사업이면 '{city_wide(data)}'를 눌러 주세요.",
        answers(*(district.name for district in districts), city_wide(data), CANCEL),
    )


def location_not_understood(data: BudgetData, districts: Sequence[District]) -> str:
    return (
        f"어느 구나 동인지 알아듣지 못했어요. '{_place_example(districts)}'처럼 {data.city_name}의 구나 동 "
        f"이름으로 알려 주세요. 시 전체 사업이면 '{city_wide(data)}'라고 해 주세요."
    )


def _place_example(districts: Sequence[District]) -> str:
    district = districts[-1] if districts else None
    return f"{district.name} {district.dongs[0]}" if district and district.dongs else "OO구 OO동"


def ask_category(data: BudgetData) -> Reply:
    labels = [category.label for category in data.cycle.categories.values()]
    return Reply("어떤 분야의 사업인가요? 아래에서 골라 주세요.", answers(*labels[: MAX_CHOICES - 1], CANCEL))


def category_not_understood(data: BudgetData) -> Reply:
    reply = ask_category(data)
    return Reply("죄송해요, 어떤 분야인지 알아듣지 못했어요. " + reply.text, reply.buttons)


def ask_cost(data: BudgetData) -> Reply:
    rules = data.cycle.proposals
    return Reply(
        "예상 사업비는 얼마쯤일까요? 정확하지 않아도 괜찮아요. '3천만원', '1억 2천만 원'처럼 적어 주세요.\n"
        f"(한 사업에 {format_krw(rules.min_cost_won)}부터 {format_krw(rules.max_cost_won)}까지 제안할 수 있어요)",
        answers(CANCEL),
    )


COST_NOT_UNDERSTOOD = (
    "금액을 알아듣지 못했어요. '3천만원', '1억 2천만 원', '5000만원'처럼 숫자와 단위를 함께 적어 주세요."
)


def cost_too_small(data: BudgetData, amount: int) -> str:
    minimum = format_krw(data.cycle.proposals.min_cost_won)
    return (
        f"적어 주신 금액은 {format_krw(amount)}이에요. 주민참여예산 사업비는 {minimum} 이상이어야 해요. "
        "만 원 단위라면 '5천만원'처럼 단위까지 적어 주세요."
    )


def cost_too_large(data: BudgetData, amount: int) -> str:
    maximum = format_krw(data.cycle.proposals.max_cost_won)
    return (
        f"적어 주신 금액은 {format_krw(amount)}이에요. 한 사업의 사업비는 {maximum}까지예요. "
        "사업 범위를 줄여서 금액을 다시 적어 주세요."
    )


def ask_consent(data: BudgetData) -> Reply:
    consent = data.cycle.consent
    return Reply(
        "심사 결과를 연락받으시겠어요? 연락을 원하시면 아래 개인정보 수집·이용에 동의해 주세요.\n"
        f"· 수집 목적: {consent.purpose}\n· 수집 항목: {consent.items}\n· 보유 기간: {consent.retention}\n"
        "동의하지 않으셔도 익명으로 제안할 수 있어요.",
        answers(AGREE, ANONYMOUS, CANCEL),
    )


CONSENT_NOT_UNDERSTOOD = f"'{AGREE}' 또는 '{ANONYMOUS}' 가운데 골라 주세요."
PHONE_INVALID = (
    f"휴대전화 번호를 알아듣지 못했어요. 010-1234-5678처럼 적어 주세요. "
    f"연락을 원하지 않으시면 '{ANONYMOUS}'를 눌러 주세요."
)
RESTARTING = "처음부터 다시 적어 볼게요."
CONFIRM_NOT_UNDERSTOOD = f"'{SUBMIT}', '{RESTART}', '{CANCEL}' 가운데 골라 주세요."
RRN_MASKED = "주민등록번호로 보이는 숫자는 가려서 저장할게요. 주민등록번호는 적지 않으셔도 돼요."


def text_length(minimum: int, maximum: int) -> str:
    return f"{minimum}자 이상 {maximum}자 이하로 적어 주세요."


def proposal_summary(data: BudgetData, slots: dict[str, Any], phone_masked: str | None) -> Reply:
    category = data.cycle.categories.get(slots.get("budget_category") or "")
    cost = slots.get("budget_cost")
    lines = [
        "이렇게 제안할까요?",
        f"· 사업명: {slots.get('budget_title')}",
        f"· 위치: {slots.get('budget_location')}",
        f"· 분야: {category.label if category else '-'}",
        f"· 내용: {slots.get('budget_description')}",
        f"· 기대 효과: {slots.get('budget_benefit')}",
        f"· 예상 사업비: {format_krw(int(cost)) if cost is not None else '-'}",
        f"· 연락처: {phone_masked or '익명'}",
    ]
    return Reply("\n".join(lines), answers(SUBMIT, RESTART, CANCEL))


def proposal_received(receipt: ProposalReceipt, anonymous: bool, today: date) -> str:
    contact = (
        "익명으로 접수해서 따로 연락드리지는 않아요. 심사 결과는 '주민참여예산 안내'에서 확인해 주세요."
        if anonymous
        else "심사 결과는 남겨 주신 번호로 알려 드릴게요."
    )
    return (
        f"제안이 접수됐어요! 🙌\n접수번호: {receipt.number}\n"
        f"'{receipt.title}' 사업은 '{receipt.review.label}' 기간({period(receipt.review, today)})에 검토해요. "
        f"{contact}\n문의: {receipt.office_name} ☎ {receipt.office_phone}"
    )


PROPOSAL_CANCELLED = "사업 제안을 취소했어요. 좋은 생각이 떠오르면 언제든 다시 제안해 주세요."


def proposal_failed(data: BudgetData) -> str:
    office = data.cycle.office
    return (
        f"죄송해요, 제안을 저장하지 못했어요. 잠시 후 다시 시도해 주세요. "
        f"급하시면 {office.name}(☎ {office.phone})로 연락해 주세요."
    )


# --- feedback and surveys ------------------------------------------------------------------------


def feedback_menu(projects: Sequence[Project], surveys: Sequence[Survey]) -> Reply:
    survey_buttons = [tap(f"설문: {survey.title}", INTENT_FEEDBACK, **{SURVEY: survey.id}) for survey in surveys]
    room = MAX_CHOICES - len(survey_buttons)
    project_buttons = [tap(project.title, INTENT_FEEDBACK, **{PROJECT: project.id}) for project in projects[:room]]
    if not project_buttons and not survey_buttons:
        return Reply(
            "지금은 의견을 받는 사업이나 설문이 없어요. 다음에 다시 찾아 주세요.",
            [tap("주민참여예산 안내", INTENT_INFO)],
        )
    return Reply(
        "어떤 사업에 의견을 남기시겠어요? 사업을 고르시면 만족도(1~5점)와 의견을 남길 수 있어요."
        + (" 설문에도 참여하실 수 있어요." if survey_buttons else ""),
        project_buttons + survey_buttons,
    )


def ask_rating(project: Project) -> Reply:
    return Reply(
        f"'{project.title}' 사업은 어떠세요? 1점(아쉬워요)부터 5점(아주 좋아요)까지 골라 주세요.",
        answers("5점", "4점", "3점", "2점", "1점", CANCEL),
    )


RATING_NOT_UNDERSTOOD = "1점부터 5점까지 골라 주세요."
PROJECT_NOT_AVAILABLE = "그 사업에는 지금 의견을 받지 않아요."
FEEDBACK_CANCELLED = "의견 남기기를 그만뒀어요. 언제든 다시 찾아 주세요."


def feedback_saved(project: Project, rating: int, comment: str | None, replaced: bool) -> str:
    lines = [f"의견 고마워요! '{project.title}' 사업에 {rating}점을 남기셨어요."]
    if comment:
        lines.append(f"남기신 의견: {comment}")
    if replaced:
        lines.append("전에 남기신 평가는 이번 평가로 바뀌었어요.")
    lines.append("보내 주신 의견은 사업 추진에 참고할게요.")
    return "\n".join(lines)


SAVE_FAILED = "죄송해요, 저장하지 못했어요. 잠시 후 다시 시도해 주세요."


def survey_intro(survey: Survey) -> str:
    return f"📝 {survey.title}\n{survey.intro} {CANCEL_HINT}"


def ask_survey_question(survey: Survey, question: SurveyQuestion, number: int) -> Reply:
    prefix = f"({number}/{len(survey.questions)}) "
    if question.kind.value == "scale":
        return Reply(prefix + question.text + "\n1부터 5까지 골라 주세요.", answers("1", "2", "3", "4", "5", CANCEL))
    return Reply(prefix + question.text, answers(*question.choices, CANCEL))


def survey_answer_not_understood(question: SurveyQuestion) -> str:
    if question.kind.value == "scale":
        return "1부터 5까지 숫자로 골라 주세요."
    return "아래 보기 가운데 하나를 골라 주세요."


SURVEY_NOT_OPEN = "지금은 그 설문을 받고 있지 않아요."
SURVEY_DONE = "설문에 참여해 주셔서 고마워요! 🙏 보내 주신 의견은 주민참여예산 운영에 반영할게요."
SURVEY_CANCELLED = "설문을 그만뒀어요. 언제든 다시 참여하실 수 있어요."


# --- voting --------------------------------------------------------------------------------------


def rules_line(data: BudgetData) -> str:
    rules = data.cycle.voting
    ceiling = (
        f" 고른 사업의 사업비 합계는 {format_krw(rules.budget_ceiling_won)}을 넘을 수 없어요."
        if rules.budget_ceiling_won
        else ""
    )
    return f"마음에 드는 사업을 최대 {rules.max_selections}개까지 골라 주세요.{ceiling}"


def ballot_screen(
    data: BudgetData,
    candidates: Sequence[Project],
    selection: Sequence[str],
    page: int,
    page_count: int,
    page_projects: Sequence[Project],
    total_cost: int,
    notice: str | None = None,
) -> Reply:
    lines = [notice] if notice else []
    lines += [f"🗳 {data.cycle.name} 주민 투표", rules_line(data), ""]
    for number, project in enumerate(candidates, start=1):
        mark = "✅ " if project.id in selection else ""
        lines.append(f"{mark}{number}. {project.title} — {place(data, project)}, {format_krw(project.cost_won)}")
    lines += [
        "",
        f"지금 고른 사업: {len(selection)}개, 합계 {format_krw(total_cost)}",
        "사업을 누르면 고르거나 뺄 수 있어요. 다 고르셨으면 '선택 완료'를 눌러 주세요.",
    ]
    buttons = []
    for project in page_projects:
        number = candidates.index(project) + 1
        mark = "✅" if project.id in selection else f"{number}."
        buttons.append(tap(f"{mark} {project.title}", INTENT_VOTE, **{VOTE_PROJECT: project.id}))
    if page > 1:
        buttons.append(tap("◀ 이전 사업", INTENT_VOTE, **{VOTE_PAGE: page - 1}))
    if page < page_count:
        buttons.append(tap("다음 사업 ▶", INTENT_VOTE, **{VOTE_PAGE: page + 1}))
    buttons += [
        tap("선택 완료", INTENT_VOTE, **{VOTE_STEP: STEP_REVIEW}),
        tap(CANCEL, INTENT_VOTE, **{VOTE_STEP: STEP_CANCEL}),
    ]
    return Reply("\n".join(lines), buttons)


def already_voted(ends: date | None, today: date) -> str:
    until = f"투표 마감({day(ends, today)}) 전까지는" if ends else "투표 기간에는"
    return f"이미 투표하셨어요. 지금 고른 사업이 표시돼 있어요. {until} 바꿀 수 있어요."


def too_many(data: BudgetData) -> str:
    return f"최대 {data.cycle.voting.max_selections}개까지 고를 수 있어요. 다른 사업을 빼고 골라 주세요."


def over_budget(data: BudgetData, project: Project) -> str:
    ceiling = format_krw(data.cycle.voting.budget_ceiling_won or 0)
    return f"'{project.title}'을(를) 더하면 사업비 합계가 {ceiling}을 넘어요. 다른 사업을 빼고 골라 주세요."


def over_budget_total(data: BudgetData) -> str:
    ceiling = format_krw(data.cycle.voting.budget_ceiling_won or 0)
    return f"고른 사업의 사업비 합계가 {ceiling}을 넘어요. 사업을 빼고 다시 골라 주세요."


NOTHING_SELECTED = "아직 고른 사업이 없어요. 마음에 드는 사업을 눌러 골라 주세요."
NOT_A_CANDIDATE = "투표 후보가 아닌 사업이 있어요. 아래 후보 가운데에서 골라 주세요."


def ballot_review(data: BudgetData, projects: Sequence[Project], total_cost: int) -> Reply:
    lines = ["이렇게 투표할까요?"]
    lines += [
        f"{number}. {project.title} ({format_krw(project.cost_won)})" for number, project in enumerate(projects, 1)
    ]
    lines.append(f"합계 {format_krw(total_cost)}")
    return Reply(
        "\n".join(lines),
        [
            tap("투표할게요", INTENT_VOTE, **{VOTE_STEP: STEP_SUBMIT}),
            tap("다시 고를게요", INTENT_VOTE, **{VOTE_STEP: STEP_CHOOSE}),
            tap(CANCEL, INTENT_VOTE, **{VOTE_STEP: STEP_CANCEL}),
        ],
    )


def ballot_cast(data: BudgetData, receipt: BallotReceipt, today: date) -> Reply:
    titles = ", ".join(data.projects[project_id].title for project_id in receipt.project_ids)
    first = (
        "투표를 바꿨어요! 새로 고르신 사업으로 한 번만 집계돼요."
        if receipt.changed
        else "투표가 완료됐어요! 🗳 참여해 주셔서 고마워요."
    )
    return Reply(
        f"{first}\n고르신 사업: {titles} (합계 {format_krw(receipt.total_cost_won)})\n"
        f"투표 마감({day(receipt.voting_ends, today)}) 전까지는 '투표하기'에서 언제든 바꿀 수 있어요.",
        [tap("주민참여예산 안내", INTENT_INFO)],
    )


VOTE_CANCELLED = "투표를 그만뒀어요. 전에 하신 투표가 있으면 그대로 유지돼요."
VOTE_FAILED = "죄송해요, 투표를 저장하지 못했어요. 잠시 후 다시 시도해 주세요."
