"""Everything the Kakao channel itself says to citizens (polite 해요체).

Bot answers come from the Rasa domain; these are only the channel's own messages (waiting,
errors, paging). A city may reword them here.
"""

# Shown by Open Builder at once when a turn goes over the time limit and a callback is used.
CALLBACK_WAIT = "답변을 준비하고 있어요. 잠시만 기다려 주세요."

# Turn over the time limit and no callback: the answer is kept and fetched with a quick reply.
PENDING_ANSWER = "답변을 준비하는 데 시간이 조금 걸리고 있어요. 잠시 후 아래 '답변 보기'를 눌러 주세요."
SHOW_ANSWER_LABEL = "답변 보기"
STILL_PENDING = "아직 답변을 준비하고 있어요. 잠시 후 다시 눌러 주세요."

# Paging of answers longer than one Kakao response can hold.
MORE_LABEL = "더 보기"
CONTINUATION_EXPIRED = "이전 답변은 더 이상 불러올 수 없어요. 궁금하신 내용을 다시 말씀해 주세요."

TURN_FAILED = "죄송해요, 요청을 처리하는 중에 문제가 생겼어요. 잠시 후 다시 말씀해 주세요."
EMPTY_TURN = "말씀하신 내용을 확인했어요."
UTTERANCE_TOO_LONG = "메시지가 너무 길어요. {limit}자 이내로 나누어 보내 주세요."

# Parts of a bot answer that did not fit Kakao's limits and were turned into text.
MORE_CHOICES_HEADER = "다른 선택지도 있어요. 원하시는 것을 입력해 주세요."
IMAGE_ALT_TEXT = "이미지"
CARD_FALLBACK_DESCRIPTION = "아래에서 선택해 주세요."
