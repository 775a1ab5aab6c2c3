"""What the subscription actions say to citizens (polite 해요체). A city may reword them here."""

CHOOSE_TARGET = "어떤 소식을 받아 보시겠어요? 아래에서 골라 주세요."
CONSENT_REQUEST = (
    "다음 소식을 카카오톡 메시지로 보내 드릴게요: {titles}\n\n"
    "받으시려면 개인정보 수집·이용에 동의해 주세요.\n"
    "• 목적: {purpose}\n• 항목: {items}\n• 보관 기간: {retention}\n\n"
    "동의하지 않으셔도 챗봇의 다른 서비스는 그대로 이용하실 수 있어요. "
    "구독은 언제든 '구독 해지'라고 말씀하시면 바로 멈춰요."
)
CONSENT_BUTTON = "동의하고 받기"
DECLINE_BUTTON = "다음에 할게요"
SUBSCRIBED = (
    "구독을 시작했어요: {titles}\n새 소식이 있으면 카카오톡으로 알려 드릴게요. "
    "그만 받으시려면 언제든 '구독 해지'라고 말씀해 주세요."
)
ADD_CHANNEL_NOTE = "소식을 받으시려면 고양시 카카오톡 채널을 친구로 추가해 주세요."
ALREADY_SUBSCRIBED = "이미 받고 계신 소식이에요: {titles}"
DECLINED = "알겠어요, 구독하지 않았어요. 필요하실 때 언제든 '소식 받기'라고 말씀해 주세요."
CHOOSE_TO_UNSUBSCRIBE = "어떤 소식을 그만 받으시겠어요?"
NOT_SUBSCRIBED_TO = "받고 계신 소식이 아니에요: {titles}"
UNSUBSCRIBED = "구독을 해지했어요: {titles}\n앞으로 이 소식은 보내 드리지 않아요."
NOTHING_SUBSCRIBED = "지금 받고 계신 소식이 없어요. 소식을 받으시려면 '소식 받기'라고 말씀해 주세요."
SUBSCRIPTION_LIST_HEADER = "지금 받고 계신 소식이에요."
SUBSCRIPTION_LIST_LINE = "• {title} ({since}부터)"
DATE_FORMAT = "{year}년 {month}월 {day}일"

UNSUBSCRIBE_ALL_BUTTON = "모두 그만 받기"
UNSUBSCRIBE_BUTTON = "{title} 해지"
SUBSCRIBE_BUTTON = "{title} 받기"
SUBSCRIBE_MORE_BUTTON = "소식 더 받기"
MY_SUBSCRIPTIONS_BUTTON = "내 구독 목록"
# Words of an unsubscribe message that mean every subscription.
ALL_KEYWORDS = ("모두", "전부", "전체", "다")
