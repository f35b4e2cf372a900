"""Providers answer a rendered prompt: the Ask engine, an echo, or a chat completions server.

Tokens are counted with the embedding model's own tokenizer (its tokenizer.json, no special
tokens): the prompt's tokens are the rendered prompt's, the completion's are the answer text's.
A chat server's reported usage is used when it sends one.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from triops.errors import TriopsError
from triops.evals.models import BASE_URL_ENV, ChatSettings, ExtractiveSettings, ProviderSpec
from triops.search.ask import Answer, plain_markdown, sentence_cache
from triops.search.ask import ask as ask_course

API_KEY_ENV = "OPENAI_API_KEY"


class ProviderError(TriopsError):
    """A provider could not answer (the case is then reported as an error)."""


class EvalError(TriopsError):
    """The run cannot start, e.g. the search index a provider needs was not given."""


@dataclass
class Completion:
    """What a provider returned for one prompt."""

    output: str
    prompt_tokens: int
    completion_tokens: int
    context: list[str] | None = None
    """The passages the answer drew on (for groundedness and context-recall), if known."""
    citations: list[dict[str, str]] = field(default_factory=list)
    abstained: bool | None = None
    """True when the provider said it does not know (triops:extractive only)."""
    confidence: float | None = None
    tokens_reported: bool = False
    """True when the token counts came from the server rather than Triops' tokenizer."""
    vectors: dict[str, Any] = field(default_factory=dict)
    """Unit vectors the provider computed with the run's embedder, by text (the question, the
    sentences it quoted), for the assertions to reuse instead of encoding them again."""


class Provider(Protocol):
    """Answers one rendered prompt."""

    spec: ProviderSpec
    warm_up: bool
    """Whether the runner answers a prompt once, untimed, before timing it (for a provider
    whose first answer to a prompt fills caches, so that every column is timed warm)."""

    def complete(self, prompt: str, settings: Mapping[str, Any]) -> Completion:
        """The provider's answer; `settings` is the provider's config merged with the prompt's."""
        ...


# --------------------------------------------------------------------------- tokens


class TokenCounter(Protocol):
    """Counts the tokens of a text."""

    name: str

    def count(self, text: str) -> int:
        """Number of tokens, special tokens left out."""
        ...


class ModelTokenizer:
    """The tokenizer of a sentence-transformers model folder (tokenizer.json), loaded on first
    use; it shares nothing with the embedder, so counting never waits on an encode."""

    def __init__(self, folder: Path, name: str):
        self.folder = folder
        self.name = name
        self._tokenizer = None

    def count(self, text: str) -> int:
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
            tokenizer.no_truncation()
            tokenizer.no_padding()
            self._tokenizer = tokenizer
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)


class WordCounter:
    """A stand-in when no model tokenizer is at hand: words and punctuation marks."""

    name = "words"

    def count(self, text: str) -> int:
        return len(re.findall(r"\w+|[^\w\s]", text))


def tokenizer_for(embedder=None) -> TokenCounter:
    """The tokenizer of the embedder's model: the packaged model when `embedder` is None or
    the packaged one, a model folder named by TRIOPS_EMBED_MODEL, else words."""
    from triops.search.embedder import PACKAGED_ID, packaged_model_path

    model = getattr(embedder, "model", None) if embedder is not None else None
    model_id = getattr(embedder, "model_id", PACKAGED_ID) if embedder is not None else PACKAGED_ID
    if embedder is not None and not hasattr(embedder, "model"):
        return WordCounter()  # not a sentence-transformers embedder (e.g. a test double)
    folder = packaged_model_path() if model is None else Path(model)
    if (folder / "tokenizer.json").is_file():
        return ModelTokenizer(folder, model_id)
    return WordCounter()


# --------------------------------------------------------------------------- providers


class EchoProvider:
    """Returns the rendered prompt, for testing assertions."""

    warm_up = False

    def __init__(self, spec: ProviderSpec, tokenizer: TokenCounter):
        self.spec = spec
        self.tokenizer = tokenizer

    def complete(self, prompt: str, settings: Mapping[str, Any]) -> Completion:
        n = self.tokenizer.count(prompt)
        return Completion(output=prompt, prompt_tokens=n, completion_tokens=n)


class ExtractiveProvider:
    """The Ask engine: quotes sentences from the course or abstains; deterministic. Its first
    answer to a question encodes the passages' sentences (then cached by Ask), so the runner
    warms it up before timing."""

    warm_up = True

    def __init__(self, spec: ProviderSpec, index, embedder, tokenizer: TokenCounter):
        if index is None or embedder is None:
            raise EvalError(
                "triops:extractive needs the search index and the embedder; pass index= and "
                "embedder= (the CLI builds the index as `triops ask` does)"
            )
        self.spec = spec
        self.index = index
        self.embedder = embedder
        self.tokenizer = tokenizer

    def complete(self, prompt: str, settings: Mapping[str, Any]) -> Completion:
        knobs = ExtractiveSettings.model_validate(dict(settings))
        recorder = _Recorder(self.embedder)
        answer = ask_course(
            prompt,
            self.index,
            recorder,
            k=knobs.k,
            threshold=knobs.abstain_threshold,
            max_sentences=knobs.max_sentences,
            kinds=tuple(knobs.kinds),
        )
        output = format_answer(answer, knobs.citations)
        return Completion(
            output=output,
            prompt_tokens=self.tokenizer.count(prompt),
            completion_tokens=self.tokenizer.count(output),
            context=[c.text for c in answer.citations],
            citations=[
                {"id": c.id, "title": c.title, "section": c.section, "url": c.url}
                for c in answer.citations
            ],
            abstained=answer.abstained,
            confidence=answer.confidence,
            vectors=recorder.vectors(answer),
        )


class _Recorder:
    """The embedder, keeping the vectors of the texts Ask encodes (the question among them)."""

    def __init__(self, embedder):
        self._embedder = embedder
        self.encoded: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._embedder, name)

    def encode(self, texts: list[str]):
        vectors = self._embedder.encode(texts)
        self.encoded.update(zip(texts, vectors, strict=True))
        return vectors

    def vectors(self, answer: Answer) -> dict[str, Any]:
        """What Ask encoded for this answer, and the quoted sentences' vectors from its sentence
        cache (as Ask encoded them: markdown links reduced to their text)."""
        out = dict(self.encoded)
        model = getattr(self._embedder, "model_id", "")
        for s in answer.sentences:
            text = plain_markdown(s.text)
            if text not in out:
                vector = sentence_cache.get((model, text))
                if vector is not None:
                    out[text] = vector
        return out


def _source(chunk) -> str:
    return chunk.title + (f" › {chunk.section}" if chunk.section else "")


def format_answer(answer: Answer, citations: str = "none") -> str:
    """An Ask answer as text: `none` joins the sentences; `inline` puts `[Lesson › Section]`
    after each; `footnote` puts `[n]` after each and lists the sources below."""
    if answer.abstained:
        return answer.reason
    texts = [plain_markdown(s.text) for s in answer.sentences]
    if citations == "none":
        return " ".join(texts)
    pairs = list(zip(texts, answer.sentences, strict=True))
    if citations == "inline":
        return " ".join(f"{t} [{_source(s.chunk)}]" for t, s in pairs)
    number = {c.id: n for n, c in enumerate(answer.citations, start=1)}
    body = " ".join(f"{t} [{number[s.chunk.id]}]" for t, s in pairs)
    notes = [f"[{number[c.id]}] {_source(c)}: {c.url}" for c in answer.citations]
    return body + "\n\n" + "\n".join(notes)


class ChatProvider:
    """An openai-compatible chat completions endpoint, over HTTP with urllib. A prompt that is
    a JSON list of {role, content} messages is sent as those messages."""

    warm_up = False

    def __init__(self, spec: ProviderSpec, tokenizer: TokenCounter, env: Mapping[str, str]):
        self.spec = spec
        self.tokenizer = tokenizer
        self.env = env

    def _url(self, knobs: ChatSettings) -> str:
        base = knobs.base_url or next((self.env[k] for k in BASE_URL_ENV if self.env.get(k)), "")
        if not base:
            raise ProviderError(
                f"{self.spec.label}: no server URL; set config.base_url, or "
                + " or ".join(BASE_URL_ENV)
            )
        return base.rstrip("/") + "/chat/completions"

    def messages(self, prompt: str, system: str | None) -> list[dict[str, str]]:
        try:
            parsed = json.loads(prompt)
        except ValueError:
            parsed = None
        if (
            isinstance(parsed, list)
            and parsed
            and all(isinstance(m, dict) and "role" in m and "content" in m for m in parsed)
        ):
            messages = [{"role": str(m["role"]), "content": str(m["content"])} for m in parsed]
        else:
            messages = [{"role": "user", "content": prompt}]
        if system:
            messages.insert(0, {"role": "system", "content": system})
        return messages

    def complete(self, prompt: str, settings: Mapping[str, Any]) -> Completion:
        knobs = ChatSettings.model_validate(dict(settings))
        body: dict[str, Any] = {
            "model": knobs.model or self.spec.model or "default",
            "messages": self.messages(prompt, knobs.system),
        }
        if knobs.temperature is not None:
            body["temperature"] = knobs.temperature
        if knobs.max_tokens is not None:
            body["max_tokens"] = knobs.max_tokens
        headers = {"Content-Type": "application/json"}
        if self.env.get(API_KEY_ENV):
            headers["Authorization"] = f"Bearer {self.env[API_KEY_ENV]}"
        url = self._url(knobs)
        request = urllib.request.Request(
            url, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=knobs.timeout_s) as response:
                reply = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            raise ProviderError(f"{url}: HTTP {exc.code}: {detail}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise ProviderError(f"{url}: cannot reach the server: {exc}") from exc
        except ValueError as exc:
            raise ProviderError(f"{url}: the reply is not JSON") from exc
        try:
            output = reply["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError) as exc:
            raise ProviderError(f"{url}: the reply has no choices[0].message.content") from exc
        usage = reply.get("usage") if isinstance(reply, dict) else None
        if isinstance(usage, dict) and "prompt_tokens" in usage:
            return Completion(
                output=output,
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
                tokens_reported=True,
            )
        return Completion(
            output=output,
            prompt_tokens=self.tokenizer.count(prompt),
            completion_tokens=self.tokenizer.count(output),
        )


def make_provider(
    spec: ProviderSpec,
    *,
    index=None,
    embedder=None,
    tokenizer: TokenCounter | None = None,
    env: Mapping[str, str] | None = None,
) -> Provider:
    """The provider a spec names; `env` (default os.environ) supplies a chat server's URL and
    key."""
    tokenizer = tokenizer or tokenizer_for(embedder)
    if spec.kind == "extractive":
        return ExtractiveProvider(spec, index, embedder, tokenizer)
    if spec.kind == "chat":
        return ChatProvider(spec, tokenizer, os.environ if env is None else env)
    return EchoProvider(spec, tokenizer)
