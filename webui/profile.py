"""What the page says about this corpus: its title, introduction and example questions.

These belong to the corpus, not the code: they move to the corpus profile (corpus/profile.yaml, read as
`settings.profile`) once it exists, and are kept here, in one place, until then.
"""

from __future__ import annotations

TITLE = "Diplomatic Overdrive: cited answers"
INTRO = "Ask about Japan's partnerships in Southeast Asia and the Pacific; every answer cites the passages it rests on."
EXAMPLES = [
    "What is happening at Ream Naval Base?",
    "What did Japan pledge to the Philippines?",
    "How is Cambodia hedging between Japan and China?",
    "What did the United States and Vietnam agree on semiconductors?",
]
QUESTION_PLACEHOLDER = "e.g. What did Japan pledge to the Philippines?"
