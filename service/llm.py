"""Optional generation: an OpenAI-compatible chat server words the answer from the quoted
passages, with [n] markers that map to the same citations. Extractive answers need none."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import httpx

from index.display import display
from service.cite import Citation

_MARKER = re.compile(r"\[(\d{1,3})\]")
NOT_FOUND_REPLY = "NOT FOUND"
_LANGUAGES = {"zh-Hant": "Traditional Chinese (繁體中文)",
              "zh-Hans": "Simplified Chinese (简体中文)", "en": "English"}
_SYSTEM = (
    "You answer questions about company filings using only the numbered sources given. "
    "Keep figures, dates and names exactly as the sources write them. After every sentence, "
    "cite the source(s) it rests on as [n]. If the sources do not answer the question, reply "
    f"exactly {NOT_FOUND_REPLY}. Answer briefly, in {{language}}."
)


class GenerationError(RuntimeError):
    """The language model could not be used for this answer (unreachable, slow, malformed
    reply, or a reply that cites no given source); the extractive answer stands."""


@dataclass(frozen=True)
class LlmClient:
    """A client for POST {base_url}/chat/completions on an OpenAI-compatible server."""

    base_url: str
    model: str
    timeout: float = 30.0
    api_key: str | None = None

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"llm base URL must start with http:// or https://, "
                             f"got {self.base_url!r}")
        if self.timeout <= 0:
            raise ValueError(f"llm timeout must be positive seconds, got {self.timeout!r}")

    def complete(self, messages: list[dict[str, str]]) -> str:
        """The assistant's reply text; raises GenerationError saying what went wrong."""
        url = self.base_url.rstrip("/") + "/chat/completions"
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = {"model": self.model, "messages": messages, "temperature": 0}
        try:
            response = httpx.post(url, json=body, headers=headers, timeout=self.timeout)
            response.raise_for_status()
            content = response.json()["choices"][0]["message"]["content"]
        except httpx.TimeoutException as exc:
            raise GenerationError(f"{url}: no reply within {self.timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise GenerationError(f"{url}: {exc}") from exc
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise GenerationError(f"{url}: not an OpenAI chat completion ({exc!r})") from exc
        if not isinstance(content, str) or not content.strip():
            raise GenerationError(f"{url}: the reply has no text")
        return content.strip()


def make_client(base_url: str | None, model: str, timeout: float = 30.0,
                api_key: str | None = None) -> LlmClient | None:
    """A client when a base URL is configured (WENDA_LLM_BASE_URL), else None."""
    if not base_url:
        return None
    if not model:
        raise ValueError("an llm base URL is set but no model: set WENDA_LLM_MODEL too")
    return LlmClient(base_url, model, timeout, api_key)


def generate(client: LlmClient, question: str, sources: list[list[Citation]],
             language: str) -> tuple[str, list[Citation]]:
    """The model's answer from `sources` (each the citations of one quoted piece: a sentence,
    or a table header and row), with its [n] markers renumbered to the returned citations."""
    if not sources:
        raise GenerationError("no passages to answer from")
    listing = "\n".join(f"[{i}] " + "\n".join(display(c.quote) for c in group)
                        for i, group in enumerate(sources, start=1))
    reply = client.complete([
        {"role": "system", "content": _SYSTEM.format(language=_LANGUAGES.get(language,
                                                                            "English"))},
        {"role": "user", "content": f"Sources:\n{listing}\n\nQuestion: {question}"},
    ])
    if reply.strip().rstrip(".").upper() == NOT_FOUND_REPLY:
        raise GenerationError("the model found no answer in the passages")
    return renumber(reply, sources)


def renumber(reply: str, sources: list[list[Citation]]) -> tuple[str, list[Citation]]:
    """Keep the sources the reply cites, number their citations from 1 in order of first
    mention, and rewrite each [k] as the markers of source k's citations."""
    used = [int(k) for k in _MARKER.findall(reply)]
    if not used:
        raise GenerationError("the model's reply cites no source")
    if any(not 1 <= k <= len(sources) for k in used):
        raise GenerationError(f"the model cited sources outside 1-{len(sources)}: {used}")
    citations: list[Citation] = []
    numbers: dict[tuple[str, int, int], int] = {}
    markers: dict[int, str] = {}
    for k in dict.fromkeys(used):
        for citation in sources[k - 1]:
            key = (citation.doc_id, citation.char_start, citation.char_end)
            if key not in numbers:
                numbers[key] = len(citations) + 1
                citations.append(replace(citation, n=numbers[key]))
        markers[k] = "".join(f"[{numbers[(c.doc_id, c.char_start, c.char_end)]}]"
                             for c in sources[k - 1])
    return _MARKER.sub(lambda m: markers[int(m.group(1))], reply), citations
