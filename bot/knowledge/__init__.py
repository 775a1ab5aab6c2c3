"""Civic information knowledge base: data/knowledge/<topic>.yml, one file per civic_info topic.

`get_knowledge_base()` loads and validates it once per process; `select_answer` picks the answer
of a topic for a question (morpheme keyword overlap, overview when nothing specific matches);
`render_answer` turns it into a reply (bot.replies): a card and choices.
"""

from bot.knowledge.loader import KnowledgeError, get_knowledge_base, load_knowledge_base
from bot.knowledge.models import Answer, KnowledgeBase, Topic
from bot.knowledge.rendering import civic_info_payload, render_answer
from bot.knowledge.selection import Selection, select_answer

__all__ = [
    "Answer",
    "KnowledgeBase",
    "KnowledgeError",
    "Selection",
    "Topic",
    "civic_info_payload",
    "get_knowledge_base",
    "load_knowledge_base",
    "render_answer",
    "select_answer",
]
