"""Problem-category tagging with the paper's ten tags.

With tagging models configured, each is asked (prompt in ``llm.prompts``) and a category is kept
when at least half of the models that answered name it (a majority vote). Without models, or when
every model fails, a cheap keyword tagger reads the description, signature and code: no LLM call.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence

from .errors import LLMError
from .llm import parsing, prompts
from .models import Category, Task
from .ports import LLMPort

log = logging.getLogger("perforch.tagging")

KEYWORDS: dict[Category, tuple[str, ...]] = {
    Category.ARRAY: (
        r"\blist\b",
        r"\barray\b",
        r"\bvector\b",
        r"\belements?\b",
        r"\[\s*\]",
        r"\bList\[",
        r"\bsubarray\b",
        r"\bmatrix\b",
    ),
    Category.MATH: (
        r"\bsum\b",
        r"\bproduct\b",
        r"\bsquare\b",
        r"\bfactorial\b",
        r"\bpower\b",
        r"\bdigits?\b",
        r"\bmean\b",
        r"\baverage\b",
        r"\bfloat\b",
        r"\bmath\b",
        r"\bfibonacci\b",
        r"\bpolynomial\b",
        r"\barea\b",
    ),
    Category.STRING: (
        r"\bstring\b",
        r"\bstr\b",
        r"\bcharacters?\b",
        r"\bwords?\b",
        r"\bsubstring\b",
        r"\bpalindrome\b",
        r"\bvowels?\b",
        r"\bletters?\b",
    ),
    Category.COUNTING: (r"\bcount\w*\b", r"\bhow many\b", r"\bnumber of\b", r"\bfrequenc\w*"),
    Category.NUMBER_THEORY: (
        r"\bprimes?\b",
        r"\bdivisors?\b",
        r"\bgcd\b",
        r"\blcm\b",
        r"\bmodul\w*\b",
        r"\bdivisible\b",
        r"\bfactors?\b",
    ),
    Category.SIMULATION: (
        r"\bsimulat\w*",
        r"\bsteps?\b",
        r"\bgame\b",
        r"\bmove\w*\b",
        r"\bcollatz\b",
        r"\bprocess\b",
    ),
    Category.SORTING: (
        r"\bsort\w*",
        r"\border(ed)?\b",
        r"\bascending\b",
        r"\bdescending\b",
        r"\bmedian\b",
    ),
    Category.ENUMERATION: (
        r"\ball (pairs|possible|combinations|subsets)\b",
        r"\bcombinations?\b",
        r"\bpermutations?\b",
        r"\bprefix(es)?\b",
        r"\bfor each\b",
    ),
    Category.GREEDY: (
        r"\bgreedy\b",
        r"\bminimum number\b",
        r"\bmaximum number\b",
        r"\bsmallest\b",
        r"\blargest\b",
        r"\bmin\w*\b",
        r"\bmax\w*\b",
    ),
    Category.HASH_TABLE: (
        r"\bdict\w*\b",
        r"\bhash\w*\b",
        r"\bmap\b",
        r"\bunique\b",
        r"\bduplicates?\b",
        r"\bset\(",
        r"\bdistinct\b",
    ),
}


def keyword_categories(text: str, limit: int = 3) -> tuple[Category, ...]:
    """The categories whose keywords occur most often in ``text`` (at most ``limit``)."""
    hits: Counter[Category] = Counter()
    for category, patterns in KEYWORDS.items():
        for pattern in patterns:
            hits[category] += len(re.findall(pattern, text, flags=re.IGNORECASE))
    ranked = [c for c, n in hits.most_common() if n > 0]
    return tuple(ranked[:limit])


class Tagger:
    def __init__(self, llm: LLMPort | None = None, models: Sequence[str] = ()) -> None:
        self.llm = llm
        self.models = list(models)

    @property
    def key(self) -> str:
        """What produced the categories, for caching them: the keywords, or the voting models."""
        return "llm:" + ",".join(self.models) if self.llm and self.models else "keywords"

    async def tag(self, task: Task) -> tuple[Category, ...]:
        text = f"{task.description}\n{task.signature}\n{task.current_code or ''}"
        if self.llm is None or not self.models:
            return keyword_categories(text)
        votes: Counter[Category] = Counter()
        answered = 0
        for model in self.models:
            try:
                reply = await self.llm.complete(model, prompts.tag(task.description or text))
            except LLMError as exc:
                log.warning("tagging with %s failed: %s", model, exc)
                continue
            answered += 1
            votes.update(set(parsing.parse_categories(reply.text)))
        if not answered:
            return keyword_categories(text)
        chosen = tuple(c for c in Category if votes[c] * 2 >= answered and votes[c] > 0)
        return chosen or keyword_categories(text)
