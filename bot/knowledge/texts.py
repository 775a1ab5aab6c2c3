"""What the civic-information and fallback actions say to citizens (polite 해요체).

A city may reword them here; answers themselves are data (data/knowledge/).
"""

LINK_BUTTON = "자세히 보기"
PHONE_BUTTON = "전화 문의"
OVERVIEW_QUICK_REPLY = "전체 안내"
INFO_MENU_QUICK_REPLY = "다른 생활 정보"

# The first failed try: the likeliest topics as quick replies.
DID_YOU_MEAN = "말씀을 정확히 이해하지 못했어요. 혹시 이것을 찾으셨나요?"
# Two failed tries in a row: a person can help.
HUMAN_OFFER_TITLE = "상담원과 이야기해 보세요"
HUMAN_OFFER = (
    "여러 번 이해하지 못해서 죄송해요. {call_centre_name} ☎ {call_centre_phone}"
    "({call_centre_hours})로 전화하시면 상담원이 도와드려요. "
    "아래에서 원하시는 것을 고르셔도 돼요."
)
CALL_BUTTON = "전화 걸기"
HUMAN_HANDOFF_QUICK_REPLY = "상담원 연결"

# Labels of intents offered by "did you mean" (other intents are never offered).
INTENT_LABELS = {
    "report_complaint": "민원 신고",
    "report_emergency": "긴급 신고",
    "check_complaint_status": "처리 현황 조회",
    "budget_propose": "예산 사업 제안",
    "budget_info": "주민참여예산",
    "budget_feedback": "예산 사업 의견",
    "human_handoff": "상담원 연결",
    "subscribe": "소식 받기",
    "unsubscribe": "소식 그만 받기",
    "list_subscriptions": "내 구독 목록",
}
CIVIC_INFO_MENU_LABEL = "생활 정보"

# A message that may be a complaint or a question on the same subject: ask which one is meant.
CLARIFY_COMPLAINT_OR_INFO = "신고(민원 접수)를 원하시는지, 관련 안내가 필요하신지 골라 주세요."
CLARIFY_COMPLAINT = "신고할래요"
CLARIFY_INFO = "안내가 필요해요"
