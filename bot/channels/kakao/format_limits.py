"""Kakao i Open Builder's limits on a SkillResponse 2.0 (what an answer may hold).

The one place for them: bot/channels/kakao/response.py fits every answer to these numbers
(splitting, paging, cutting with "…", moving what does not fit to quick replies or text).
Limits on what the channels *accept* (request bytes, nesting, characters) are in
bot/channels/limits.py.
"""

MAX_OUTPUTS = 3  # outputs of one template (more become "더 보기" pages)
MAX_QUICK_REPLIES = 10
MAX_LABEL_CHARS = 14  # quick reply and button labels
MAX_SIMPLE_TEXT_CHARS = 1000
MAX_CARD_BUTTONS = 3  # basicCard, textCard, commerceCard, itemCard
MAX_LIST_ITEMS = 5
MAX_LIST_BUTTONS = 2
MAX_CAROUSEL_ITEMS = 10
MAX_BASIC_CARD_DESCRIPTION_CHARS = 230  # a basicCard (with its picture) holds less text than a textCard
MAX_TEXT_CARD_TITLE_CHARS = 50
MAX_TEXT_CARD_DESCRIPTION_CHARS = 400
MAX_ALT_TEXT_CHARS = 1000
