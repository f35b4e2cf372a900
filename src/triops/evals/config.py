"""Eval configs in promptfoo's shape, parsed with pydantic; every error names file, line and key.

A config is a YAML file::

    description: Ask the course, v1 against v2
    prompts:                       # strings, file:// paths (globs too), objects, or a map
                                   # of file (or text) to label: {file://v1.txt: v1}
      - id: v1
        label: v1
        raw: "{{ question }}"
        config: {k: 5, max_sentences: 3, citations: none}   # merged over the provider's config
      - file://prompts/v2.txt
    providers:                     # strings or objects with id, label, config (and prompts)
      - triops:extractive          # the Ask engine (deterministic)
      - echo                       # returns the rendered prompt
      - id: openai-compatible:llama3   # chat completions over HTTP (also openai:<model>)
        config: {base_url: "http://localhost:8080/v1", temperature: 0}
    defaultTest:                   # merged into every test (or a file:// path)
      assert: [{type: groundedness}]
    tests:                         # a list, or file:// paths (CSV, YAML or JSON)
      - description: canary
        vars: {question: "What is a canary release?"}
        threshold: 0.5             # pass when the weighted score reaches it
        assert:
          - {type: icontains, value: canary, weight: 2, metric: accuracy}
          - {type: not-contains, value: "I don't know"}
    prices:                        # Triops: what a token costs, per provider id or label
      unit: 1M                     # prices are per 1M tokens (1M, the default) or per 1K
      currency: USD
      providers:
        triops:extractive: {prompt: 0.15, completion: 0.60}
    gate: {...}                    # Triops: the regression gate, see triops.evals.gate

Provider config keys: `triops:extractive` takes `k`, `abstain_threshold`, `max_sentences`,
`citations` (none, inline, footnote) and `kinds`; chat providers take `model`, `base_url`
(alias `apiBaseUrl`; else TRIOPS_EVAL_BASE_URL or OPENAI_BASE_URL), `temperature`,
`max_tokens`, `system` and `timeout_s`, and send OPENAI_API_KEY when it is set (a key in the
config is refused: run files would carry it); `echo` takes none.
A prompt's `config` may hold any key some configured provider knows; each provider reads its own.

Providers that retrieve nothing (echo, chat models) give groundedness and context-recall the
test's `context` var as their context: one string, passages separated by blank lines (a list
would expand into one test per passage, as every list var does).

Keys that promptfoo knows and Triops does not run (for example `evaluateOptions`, a test's
`options.transform`, or an assertion type such as `javascript`) are reported as *skipped*, with
the reason; any other unknown key is an error. `vars` with list values expand into one test per
combination, as in promptfoo.

Templates are Jinja2 in a sandbox, set up like promptfoo's Nunjucks (triops.evals.text says where
the two differ). promptfoo renders an undefined variable as nothing, and so does Triops at run
time; but a prompt or an assertion value that needs a variable a test does not define is an
error when the config loads (a misspelt name, almost always), unless the template guards it
with `default`, `is defined` or `{% if name %}`.

A CSV tests file (`tests: file://cases.csv`) is read as promptfoo's csv.ts reads it: the header
names the columns, each row is a test described "Row #N" unless `__description` says otherwise,
`__expected`, `__expected1`... hold one assertion each in the one-line form (`contains:text`,
`not-icontains:text`, `similar(0.8):text`, `llm-rubric:rubric`, anything else an `equals`; see
assertion_from_string), `__prefix` and `__suffix` go around the prompt, `__threshold`,
`__metric`, `__metadata:key` and `__config:__expectedN:threshold` are read as promptfoo reads
them, and every other column is a var. Errors name the CSV file, the row's line and the column.

Each problem is reported once, where it is written: a defaultTest's assertions and judge are
checked once however many tests share them, and a test whose list vars expand into several
cases is checked once. A chat provider (or llm-rubric judge) with no server URL in its config or
the environment is an error here rather than a failure of every case.
"""

from __future__ import annotations

import csv
import glob
import io
import itertools
import json
import math
import os
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from triops.content.yamlsource import (
    LEARNER_YAML,
    YamlDoc,
    YamlSyntaxError,
    describe_loc,
    parse_yaml,
)
from triops.errors import TriopsError
from triops.evals.assertions import (
    ALIASES,
    ASSERTION_DEFINITIONS,
    ASSERTION_TYPES,
    SEMANTIC,
    AssertionType,
)
from triops.evals.models import (
    BASE_URL_ENV,
    CHAT,
    ECHO,
    EXTRACTIVE,
    GATE_METRICS,
    MEASURED_BY,
    SETTINGS,
    Assertion,
    EvalConfig,
    EvalProblem,
    Gate,
    GateRule,
    Prices,
    Prompt,
    ProviderKind,
    ProviderSpec,
    StrictModel,
    TestCase,
    setting_keys,
)
from triops.evals.text import TemplateError, as_text, check_template, render, template_vars

# --------------------------------------------------------------------------- problems


class EvalConfigError(TriopsError):
    """A config that cannot run; `problems` lists every error found, each with file:line:key."""

    def __init__(self, problems: list[EvalProblem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems

    @property
    def path(self) -> str:
        return self.problems[0].path

    @property
    def line(self) -> int:
        return self.problems[0].line

    @property
    def key(self) -> str:
        return self.problems[0].key


@dataclass(frozen=True)
class _Site:
    """Where a value sits: its YAML document, the file's shown path and the key path."""

    doc: YamlDoc
    path: str
    loc: tuple = ()

    def at(self, *more) -> _Site:
        return _Site(self.doc, self.path, self.loc + tuple(more))

    @property
    def line(self) -> int:
        return self.doc.line_of(self.loc)

    @property
    def key(self) -> str:
        describe = getattr(self.doc, "describe", None)
        if describe is not None:
            return describe(self.loc)
        return describe_loc(self.loc) if self.loc else ""

    def problem(self, message: str, severity: Literal["error", "skipped"] = "error"):
        return EvalProblem(self.path, self.line, self.key, message, severity)


class _Collector:
    def __init__(self) -> None:
        self.errors: list[EvalProblem] = []
        self.skipped: list[EvalProblem] = []

    def error(self, site: _Site, message: str) -> None:
        self.errors.append(site.problem(message))

    def skip(self, site: _Site, message: str) -> None:
        self.skipped.append(site.problem(message, "skipped"))

    def validation(self, exc: ValidationError, site: _Site) -> None:
        for err in exc.errors():
            loc = tuple(
                p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function"))
            )
            here = site.at(*loc)
            if err["type"] == "missing":
                self.error(here, "missing required key")
            elif err["type"] == "extra_forbidden":
                self.error(here, "unknown key")
            else:
                self.error(here, err["msg"])


# --------------------------------------------------------------------------- known keys

# promptfoo keys Triops reads as promptfoo does.
TOP_KEYS = ("description", "prompts", "providers", "tests", "defaultTest", "assertionTemplates")
TRIOPS_KEYS = ("gate", "prices")
# promptfoo keys Triops does not run, with the reason it gives.
SKIPPED_TOP = {
    "tags": "tags only label a run in promptfoo's web viewer",
    "outputPath": "write the run with --json FILE",
    "evaluateOptions": "Triops runs each case once, in order, with no cache",
    "commandLineOptions": "give options on the command line",
    "sharing": "Triops never uploads results",
    "env": "set environment variables in the shell",
    "nunjucksFilters": "custom filters are JavaScript; Triops runs no code from a config",
    "extensions": "extension hooks are code; Triops runs no code from a config",
    "derivedMetrics": "derived metrics are mathjs or JavaScript expressions",
    "scenarios": "scenarios are not supported: their tests do not run",
    "redteam": "red teaming is not part of Triops' runner",
    "metadata": "run metadata is not kept",
    "writeLatestResults": "Triops writes a run only with --json FILE",
    "tracing": "Triops does not collect traces",
}
SKIPPED_TEST = {
    "provider": "a test runs on every configured provider",
    "providerOutput": "outputs always come from a provider",
    "assertScoringFunction": "scoring functions are code; the score is the weighted average",
    "vars_file": "use vars: file://...",
}
SKIPPED_OPTIONS = {
    "transform": "output transforms are code; assertions see the raw output",
    "transformVars": "variable transforms are code",
    "storeOutputAs": "multi-turn chains are not supported",
    "runSerially": "Triops always runs cases one at a time",
    "rubricPrompt": "llm-rubric uses Triops' own grading prompt",
    "cache": "Triops has no cache",
}
SKIPPED_ASSERTION_KEYS = {
    "config": "assertion config only feeds script assertions",
    "rubricPrompt": "llm-rubric uses Triops' own grading prompt",
}
# Keys that change what an assertion checks: the assertion is skipped rather than run wrongly.
SKIPPING_ASSERTION_KEYS = {
    "transform": "output transforms are code, so this assertion is not run",
    "contextTransform": "context transforms are code, so this assertion is not run",
}

_CODE = "runs code from the config; Triops runs none"
_JUDGED = "needs a judge model and is not implemented; llm-rubric is"
SKIPPED_ASSERTIONS = {
    "javascript": _CODE,
    "python": _CODE,
    "ruby": _CODE,
    "webhook": "calls a web service; Triops runs offline",
    "levenshtein": "not implemented",
    "rouge-n": "not implemented",
    "bleu": "not implemented",
    "gleu": "not implemented",
    "meteor": "not implemented",
    "perplexity": "needs token log-probabilities",
    "perplexity-score": "needs token log-probabilities",
    "is-html": "not implemented",
    "contains-html": "not implemented",
    "is-sql": "needs an SQL parser",
    "contains-sql": "needs an SQL parser",
    "is-xml": "not implemented",
    "contains-xml": "not implemented",
    "is-refusal": "not implemented",
    "is-valid-function-call": "Triops' providers make no function calls",
    "is-valid-openai-function-call": "Triops' providers make no function calls",
    "is-valid-openai-tools-call": "Triops' providers make no tool calls",
    "tool-call-f1": "Triops' providers make no tool calls",
    "finish-reason": "not implemented",
    "word-count": "not implemented",
    "ends-with": "not implemented",
    "skill-used": "needs agent traces",
    "trace-span-count": "needs traces",
    "trace-span-duration": "needs traces",
    "trace-error-spans": "needs traces",
    "guardrails": "needs a guardrail service",
    "moderation": "needs a moderation service",
    "classifier": "needs a classifier model",
    "assert-set": "assertion sets are not implemented",
    "context-faithfulness": f"{_JUDGED} (Triops' groundedness measures the same)",
    "context-relevance": _JUDGED,
    "conversation-relevance": _JUDGED,
    "factuality": _JUDGED,
    "model-graded-closedqa": _JUDGED,
    "g-eval": _JUDGED,
    "pi": "needs the Pi Labs scorer",
    "select-best": _JUDGED,
    "max-score": "not implemented",
    "similar:dot": "Triops computes cosine similarity only",
    "similar:euclidean": "Triops computes cosine similarity only",
}
NO_JUDGE = (
    "no judge provider: give the assertion a `provider`, or the test `options.provider`, "
    "naming an openai-compatible chat model"
)


# --------------------------------------------------------------------------- raw shapes


class _PromptIn(StrictModel):
    id: str | None = None
    label: str | None = None
    raw: str | None = None
    config: dict[str, Any] = {}


class _ProviderIn(StrictModel):
    id: str
    label: str | None = None
    config: dict[str, Any] = {}
    prompts: list[str] | None = None


class _OptionsIn(StrictModel):
    provider: str | dict | None = None
    disableDefaultAsserts: bool = False
    prefix: str = ""
    suffix: str = ""


class _TestIn(StrictModel):
    description: str | None = None
    vars: dict[str, Any] | str | None = None
    assert_: list[Any] | None = Field(None, alias="assert")
    threshold: float | None = None
    metadata: dict[str, Any] | None = None


class _AssertionIn(StrictModel):
    type: str
    value: Any = None
    threshold: float | None = None
    weight: float = Field(1.0, ge=0)
    metric: str | None = None
    provider: str | dict | None = None


@dataclass
class _Parsed:
    """A test or defaultTest as written, validated, before merging and expansion."""

    test: _TestIn
    options: _OptionsIn
    vars: dict[str, Any]
    asserts: list[tuple[Any, _Site]]
    site: _Site


def _items(raw: Any, site: _Site) -> Iterable[tuple[Any, _Site]]:
    """A list's items with their sites; a single value stands for a list of one."""
    if isinstance(raw, list):
        return [(item, site.at(i)) for i, item in enumerate(raw)]
    return [] if raw is None else [(raw, site)]


# --------------------------------------------------------------------------- loading


def load_config(
    path: str | Path,
    *,
    root: str | Path | None = None,
    providers: Collection[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> EvalConfig:
    """Read and check a config; raise EvalConfigError listing every problem found, each once.

    `root` confines the config and every file:// reference to one folder: an absolute path, a
    `..` part or a link that leads out of it is an error. `providers`, when given, lists the
    provider ids a config may use (e.g. triops:extractive and echo for an offline lab run); any
    other provider, including an llm-rubric judge, is an error. `env` (default os.environ) is
    where a chat provider without `base_url` finds its server URL (TRIOPS_EVAL_BASE_URL, then
    OPENAI_BASE_URL) and where PROMPTFOO_CSV_DELIMITER is read; a chat provider or judge with no
    URL from either is an error."""
    return _Loader(Path(path), root=root, providers=providers, env=env).load()


class _Loader:
    def __init__(
        self,
        path: Path,
        *,
        root: str | Path | None = None,
        providers: Collection[str] | None = None,
        env: Mapping[str, str] | None = None,
    ):
        self.path = path
        self.base = path.parent
        self.env = os.environ if env is None else env
        self.out = _Collector()
        # Parsed once however many tests share them (a defaultTest's assertions and judge):
        # each problem is then reported once, where it is written.
        self.assertions: dict[tuple, Assertion | None] = {}
        self.judges: dict[tuple, ProviderSpec | None] = {}
        self.root = Path(root).resolve() if root is not None else None
        self.allowed = list(providers) if providers is not None else None
        kinds = (_provider_kind(p)[0] for p in self.allowed or [])
        self.allowed_kinds = {k for k in kinds if k is not None}

    def _inside(self, file: Path) -> bool:
        """Whether `file`, links followed, lies in the root (always, without a root)."""
        if self.root is None:
            return True
        try:
            file.resolve().relative_to(self.root)
        except (ValueError, OSError):
            return False
        return True

    # ------------------------------------------------------------ files

    def _read(self, file: Path, site: _Site | None) -> str | None:
        try:
            if not file.is_file():
                raise OSError(f"{file.name} is not a regular file")
            with file.open("rb") as handle:
                raw = handle.read(LEARNER_YAML.max_bytes + 1)
            if len(raw) > LEARNER_YAML.max_bytes:
                raise OSError(f"larger than {LEARNER_YAML.max_bytes:,} bytes")
            return raw.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            if site is None:
                self.out.errors.append(EvalProblem(str(file), 1, "", f"cannot read file: {exc}"))
            else:
                self.out.error(site, f"cannot read {file}: {exc}")
            return None

    def _yaml(self, file: Path, site: _Site | None) -> _Site | None:
        text = self._read(file, site)
        if text is None:
            return None
        try:
            doc = parse_yaml(text, limits=LEARNER_YAML)
        except YamlSyntaxError as exc:
            self.out.errors.append(EvalProblem(str(file), exc.line, "", exc.message))
            return None
        return _Site(doc, str(file))

    def _files(self, ref: str, site: _Site) -> list[Path]:
        """The files a file:// reference names (a glob expands, sorted)."""
        target = ref.removeprefix("file://")
        if self.root is not None:
            if Path(target).is_absolute():
                self.out.error(site, f"{ref}: an absolute path; name a file in the work folder")
                return []
            if ".." in Path(target).parts:
                self.out.error(site, f"{ref}: '..' is not allowed; keep files in the work folder")
                return []
        pattern = target if Path(target).is_absolute() else str(self.base / target)
        if any(ch in target for ch in "*?["):
            found = sorted(Path(p) for p in glob.glob(pattern, recursive=True))
            found = [p for p in found if p.is_file()]
        else:
            found = [Path(pattern)] if Path(pattern).is_file() else []
        outside = [p for p in found if not self._inside(p)]
        for file in outside:
            self.out.error(site, f"{ref}: {file.name} is a link that leads out of the work folder")
        if outside:
            return [p for p in found if p not in outside]
        if not found:
            self.out.error(site, f"no file matches {ref}")
        return found

    # ------------------------------------------------------------ top level

    def load(self) -> EvalConfig:
        if not self._inside(self.path):
            raise EvalConfigError(
                [EvalProblem(str(self.path), 1, "", "the config must be a file in the work folder")]
            )
        top = self._yaml(self.path, None)
        if top is None:
            raise EvalConfigError(self.out.errors)
        data = top.doc.data
        if not isinstance(data, dict):
            got = "nothing" if data is None else type(data).__name__
            raise EvalConfigError([top.problem(f"expected a mapping of keys, got {got}")])
        self.top = top
        for key in data:
            if key in SKIPPED_TOP:
                self.out.skip(top.at(key), SKIPPED_TOP[key])
            elif key not in TOP_KEYS + TRIOPS_KEYS:
                self.out.error(
                    top.at(key),
                    "unknown key (known: " + ", ".join(TOP_KEYS + TRIOPS_KEYS) + ")",
                )
        for key in ("prompts", "providers", "tests"):
            if key not in data:
                self.out.error(top.at(key), "missing required key")
        description = data.get("description") or ""
        if not isinstance(description, str):
            self.out.error(top.at("description"), "must be a string")
            description = ""
        self.prompt_sites: dict[str, _Site] = {}
        self.cost_site: _Site | None = None
        self.provider_sites: dict[str, _Site] = {}
        prompts = self._prompts(data.get("prompts"), top.at("prompts"))
        self.prompts = prompts
        providers = self._providers(data.get("providers"), top.at("providers"))
        prices = self._prices(data.get("prices"), top.at("prices"))
        default = self._default_test(data.get("defaultTest"), top.at("defaultTest"))
        default_failed = data.get("defaultTest") is not None and default is None
        tests = self._tests(data.get("tests"), top.at("tests"), default, default_failed)
        for key, found in (("prompts", prompts), ("providers", providers), ("tests", tests)):
            if key in data and not found and not self.out.errors:
                self.out.error(top.at(key), f"give at least one of the {key}")
        gate = self._gate(data.get("gate"), top.at("gate"))
        if self.out.errors:
            raise EvalConfigError(self.out.errors)
        config = EvalConfig(
            path=str(self.path),
            description=description,
            prompts=prompts,
            providers=providers,
            tests=tests,
            gate=gate,
            prices=prices,
            skipped=self.out.skipped,
            semantic_types=SEMANTIC,
        )
        self._cross_check(config, top)
        if self.out.errors:
            raise EvalConfigError(self.out.errors)
        return config

    # ------------------------------------------------------------ prompts

    def _prompts(self, raw: Any, site: _Site) -> list[Prompt]:
        out: list[Prompt] = []
        if isinstance(raw, dict):
            out = self._prompt_map(raw, site)
            raw = []
        for item, here in _items(raw, site):
            if isinstance(item, str) and item.startswith("file://"):
                out.extend(self._prompt_files(item, here, None, None, {}))
            elif isinstance(item, str):
                out.append(self._prompt(f"prompt-{len(out) + 1}", item, item, {}, here))
            elif isinstance(item, dict):
                out.extend(self._prompt_object(item, here, len(out)))
            else:
                self.out.error(here, "a prompt is a string, a file:// path or a mapping")
        seen: set[str] = set()
        for p in out:
            for name in dict.fromkeys((p.id, p.label)):
                if name in seen:
                    self.out.error(site, f"two prompts are named '{name}'; give each an id")
                seen.add(name)
        return out

    def _prompt_map(self, raw: dict, site: _Site) -> list[Prompt]:
        """promptfoo's map form, `{file or text: label}` (legacy in promptfoo, still read): a
        key that looks like a path (file://, a slash, a glob, an extension) names prompt files,
        any other key is the prompt's text."""
        out: list[Prompt] = []
        for key, label in raw.items():
            here = site.at(key)
            if not isinstance(key, str) or not key or isinstance(label, bool | dict | list):
                self.out.error(here, "in the map form each entry is `file or text: label`")
                continue
            name = as_text(label) or key
            if _looks_like_path(key):
                ref = key if key.startswith("file://") else f"file://{key}"
                found = self._prompt_files(ref, here, None, name, {})
            else:
                found = [self._prompt(name, name, key, {}, here)]
            for prompt in found:
                self.prompt_sites[prompt.id] = here
            out.extend(found)
        return out

    def _prompt_object(self, item: dict, site: _Site, count: int) -> list[Prompt]:
        try:
            spec = _PromptIn.model_validate(item)
        except ValidationError as exc:
            self.out.validation(exc, site)
            return []
        source = spec.raw if spec.raw is not None else spec.id
        if source is None:
            self.out.error(site, "give the prompt's text as raw, or a file:// path as id")
            return []
        if source.startswith("file://"):
            found = self._prompt_files(source, site, spec.id, spec.label, spec.config)
        elif spec.raw is None:
            self.out.error(site.at("id"), "an id that is not a file:// path needs raw text")
            return []
        else:
            pid = spec.id or spec.label or f"prompt-{count + 1}"
            found = [self._prompt(pid, spec.label or pid, spec.raw, spec.config, site.at("raw"))]
        for prompt in found:
            self.prompt_sites[prompt.id] = site
        return found

    def _prompt_files(
        self, ref: str, site: _Site, pid: str | None, label: str | None, config: dict
    ) -> list[Prompt]:
        out = []
        for file in self._files(ref, site):
            text = self._read(file, site)
            if text is None:
                continue
            name = f"file://{_relative(file, self.base)}"
            # A text file may hold several prompts separated by a line of dashes.
            parts = [text] if file.suffix == ".json" else re.split(r"\n-{3,}\n", text)
            parts = [p.strip("\n") for p in parts if p.strip()]
            for n, part in enumerate(parts, start=1):
                suffix = f"#{n}" if len(parts) > 1 else ""
                this_id = (pid or name) + suffix
                this_label = (label or pid or name) + suffix
                out.append(self._prompt(this_id, this_label, part, config, site))
        return out

    def _prompt(self, pid: str, label: str, raw: str, config: dict, site: _Site) -> Prompt:
        try:
            check_template(raw)
        except TemplateError as exc:
            self.out.error(site, str(exc))
        return Prompt(id=pid, label=label, raw=raw, config=dict(config))

    # ------------------------------------------------------------ providers

    def _providers(self, raw: Any, site: _Site) -> list[ProviderSpec]:
        if isinstance(raw, dict) and "id" not in raw:
            # promptfoo's Record<id, options> form
            pairs = [({"id": k, **(v or {})}, site.at(k)) for k, v in raw.items()]
        else:
            pairs = list(_items(raw, site))
        out = []
        for item, here in pairs:
            spec = self._provider(item, here)
            if spec is None:
                continue
            if spec.label in self.provider_sites:
                self.out.error(here, f"two providers are labelled '{spec.label}'; give labels")
            self.provider_sites[spec.label] = here
            out.append(spec)
        return out

    def _provider(self, item: Any, site: _Site) -> ProviderSpec | None:
        if isinstance(item, str):
            item = {"id": item}
        elif isinstance(item, dict):
            item = dict(item)
            for key in ("delay", "transform", "env"):
                if key in item:
                    item.pop(key)
                    self.out.skip(site.at(key), "not supported; ignored")
        else:
            self.out.error(site, "a provider is a string or a mapping with an id")
            return None
        try:
            spec = _ProviderIn.model_validate(item)
        except ValidationError as exc:
            self.out.validation(exc, site)
            return None
        kind, model = _provider_kind(spec.id)
        if kind is None:
            self.out.error(
                site.at("id") if len(item) > 1 else site,
                f"unknown provider '{spec.id}' (Triops runs: {EXTRACTIVE}, {ECHO}, "
                f"{CHAT}[:model], openai:<model>)",
            )
            return None
        if self.allowed is not None and kind not in self.allowed_kinds:
            self.out.error(
                site.at("id") if len(item) > 1 else site,
                f"provider '{spec.id}' is not allowed here (allowed: {', '.join(self.allowed)})",
            )
            return None
        if "apiKey" in spec.config:
            self.out.error(
                site.at("config", "apiKey"),
                "keep API keys out of configs (they end up in run files): set OPENAI_API_KEY",
            )
            return None
        try:
            SETTINGS[kind].model_validate(spec.config)
        except ValidationError as exc:
            self.out.validation(exc, site.at("config"))
        return ProviderSpec(
            id=spec.id,
            label=spec.label or spec.id,
            kind=kind,
            model=model,
            config=dict(spec.config),
            prompts=spec.prompts,
        )

    # ------------------------------------------------------------ prices

    def _prices(self, raw: Any, site: _Site) -> Prices | None:
        if raw is None:
            return None
        try:
            return Prices.model_validate(raw)
        except ValidationError as exc:
            self.out.validation(exc, site)
            return None

    # ------------------------------------------------------------ tests

    def _default_test(self, raw: Any, site: _Site) -> _Parsed | None:
        if raw is None:
            return None
        if isinstance(raw, str) and raw.startswith("file://"):
            files = self._files(raw, site)
            loaded = self._yaml(files[0], site) if files else None
            if loaded is None:
                return None
            raw, site = loaded.doc.data, loaded
        if not isinstance(raw, dict):
            self.out.error(site, "defaultTest is a mapping (or a file:// path to one)")
            return None
        return self._parse_test(raw, site)

    def _tests(
        self, raw: Any, site: _Site, default: _Parsed | None, default_failed: bool
    ) -> list[TestCase]:
        entries: list[tuple[Any, _Site]] = []
        for item, here in _items(raw, site):
            if isinstance(item, str) and item.startswith("file://"):
                for file in self._files(item, here):
                    entries.extend(self._test_file(file, here))
            elif isinstance(item, dict):
                entries.append((item, here))
            else:
                self.out.error(here, "a test is a mapping, or a file:// path to a list of them")
        out: list[TestCase] = []
        keys: dict[str, int] = {}
        for item, here in entries:
            parsed = self._parse_test(item, here)
            if parsed is None or default_failed:
                continue  # its errors are reported; cases would only add noise
            for case in self._cases(parsed, default):
                n = keys.get(case.key, 0) + 1
                keys[case.key] = n
                if n > 1:
                    case.key = f"{case.key} #{n}"
                out.append(case)
        return out

    def _test_file(self, file: Path, site: _Site) -> list[tuple[Any, _Site]]:
        if file.suffix.lower() == ".csv":
            return self._csv_tests(file, site)
        if file.suffix.lower() not in (".yaml", ".yml", ".json"):
            self.out.error(site, f"{file.name}: test files must be CSV, YAML or JSON")
            return []
        loaded = self._yaml(file, site)
        if loaded is None:
            return []
        data = loaded.doc.data
        if isinstance(data, dict):
            return [(data, loaded)]
        if not isinstance(data, list):
            self.out.errors.append(loaded.problem("expected a list of tests"))
            return []
        return [(item, loaded.at(i)) for i, item in enumerate(data)]

    def _csv_tests(self, file: Path, site: _Site) -> list[tuple[Any, _Site]]:
        """A CSV tests file as promptfoo reads it (csv.ts testCaseFromCsvRow): one test per row,
        each at its line; see csv_test for the columns."""
        text = self._read(file, site)
        if text is None:
            return []
        shown = str(file)
        delimiter = self.env.get("PROMPTFOO_CSV_DELIMITER") or ","
        reader = csv.reader(
            io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=delimiter
        )
        try:
            header = [h.strip() for h in next(reader, [])]
            if not any(header):
                self.out.errors.append(
                    EvalProblem(shown, 1, "", "the CSV file has no header line (column names)")
                )
                return []
            rows, lines = [], []
            start = reader.line_num + 1
            for record in reader:
                line, start = start, reader.line_num + 1
                if not record:
                    continue  # a blank line
                if len(record) != len(header):
                    self.out.errors.append(
                        EvalProblem(
                            shown,
                            line,
                            "",
                            f"this row has {len(record)} fields; the header has {len(header)}",
                        )
                    )
                    continue
                rows.append(dict(zip(header, record, strict=True)))
                lines.append(line)
        except csv.Error as exc:
            self.out.errors.append(
                EvalProblem(shown, reader.line_num, "", f"not a readable CSV file: {exc}")
            )
            return []
        entries: list[tuple[Any, _Site]] = []
        doc = _CsvDoc(lines)
        for n, row in enumerate(rows):
            columns: dict[tuple, str] = {(): ""}
            doc.columns.append(columns)
            here = _Site(doc, shown, (n,))
            entries.append((self._csv_test(row, n + 1, here, columns), here))
        return entries

    def _csv_test(
        self, row: dict[str, str], number: int, site: _Site, columns: dict[tuple, str]
    ) -> dict[str, Any]:
        """One row as a test; `columns` records which column each part of it came from.

        `__expected`, `__expected1`... hold assertions in promptfoo's one-line form (see
        assertion_from_string); `__description` (default "Row #N"), `__prefix`, `__suffix`,
        `__threshold`, `__metric` (the metric of every assertion of the row),
        `__metadata:key` (`key[]` splits on commas), `__config:__expectedN:threshold` and
        `__providerOutput` are read as promptfoo reads them; every other column is a var."""
        test: dict[str, Any] = {"vars": {}}
        asserts: list[dict[str, Any]] = []
        options: dict[str, str] = {}
        metadata: dict[str, Any] = {}
        configs: dict[int, tuple[str, float]] = {}
        metric = None
        for key, value in row.items():
            here = site.at("vars", key)
            columns[("vars", key)] = key
            if not key.startswith("__") and key.startswith(_CSV_SPECIAL):
                self.out.skip(
                    here,
                    f"read as a variable, as promptfoo reads it; did you mean '_{key}'?",
                )
            if key.startswith("__expected"):
                if value.strip():
                    columns[("assert", len(asserts))] = key
                    asserts.append(assertion_from_string(value.strip()))
            elif key in ("__prefix", "__suffix"):
                options[key[2:]] = value
                columns[("options", key[2:])] = key
            elif key == "__description":
                if value:
                    test["description"] = value
                columns[("description",)] = key
            elif key == "__providerOutput":
                if value:
                    test["providerOutput"] = value
                columns[("providerOutput",)] = key
            elif key == "__metric":
                metric = value
            elif key == "__threshold":
                columns[("threshold",)] = key
                try:
                    threshold = float(value)
                except ValueError:
                    threshold = math.nan
                if math.isfinite(threshold) and threshold:
                    test["threshold"] = threshold
                elif value.strip():
                    self.out.skip(here, f"'{value}' is not a number; ignored, as promptfoo does")
            elif key == "__metadata":
                self.out.skip(here, "needs a key, e.g. __metadata:category; ignored")
            elif key.startswith("__metadata:"):
                name = key.removeprefix("__metadata:")
                columns[("metadata",)] = key
                if name.endswith("[]") and value.strip():
                    items = re.split(r"(?<!\\),", value)
                    metadata[name[:-2]] = [i.strip().replace("\\,", ",") for i in items]
                elif value.strip():
                    metadata[name] = value
            elif key.startswith("__config:"):
                parsed = _csv_config(key, value)
                if isinstance(parsed, str):
                    self.out.error(here, parsed)
                elif parsed is not None:
                    configs[parsed[0]] = parsed[1:]
            else:
                test["vars"][key] = value
        for index, assertion in enumerate(asserts):
            if metric:
                assertion["metric"] = metric
            if index in configs:
                name, number_ = configs[index]
                assertion[name] = number_
                metadata[name] = number_
        test["assert"] = asserts
        test.setdefault("description", f"Row #{number}")
        if options:
            test["options"] = options
        if metadata:
            test["metadata"] = metadata
        return test

    def _parse_test(self, raw: dict, site: _Site) -> _Parsed | None:
        """Validate one test (or defaultTest): skipped keys noted, vars read, asserts built."""
        raw = dict(raw)
        for key, reason in SKIPPED_TEST.items():
            if key in raw:
                raw.pop(key)
                self.out.skip(site.at(key), reason)
        options = raw.pop("options", None)
        try:
            test = _TestIn.model_validate(raw)
        except ValidationError as exc:
            self.out.validation(exc, site)
            return None
        if options is not None and not isinstance(options, dict):
            self.out.error(site.at("options"), "options is a mapping")
            return None
        options = dict(options or {})
        for key, reason in SKIPPED_OPTIONS.items():
            if key in options:
                options.pop(key)
                self.out.skip(site.at("options", key), reason)
        try:
            opts = _OptionsIn.model_validate(options)
        except ValidationError as exc:
            self.out.validation(exc, site.at("options"))
            return None
        variables = self._vars(test.vars, site.at("vars"))
        asserts = [(a, site.at("assert", i)) for i, a in enumerate(test.assert_ or [])]
        return _Parsed(test, opts, variables, asserts, site)

    def _cases(self, parsed: _Parsed, default: _Parsed | None) -> list[TestCase]:
        test, opts, site = parsed.test, parsed.options, parsed.site
        variables = {**(default.vars if default else {}), **parsed.vars}
        raw_asserts = list(parsed.asserts)
        if default is not None and not opts.disableDefaultAsserts:
            raw_asserts = list(default.asserts) + raw_asserts
        judge, judge_site = opts.provider, site.at("options", "provider")
        if judge is None and default is not None and default.options.provider is not None:
            judge, judge_site = default.options.provider, default.site.at("options", "provider")
        built = [(self._assertion_once(r, s, judge, judge_site), s) for r, s in raw_asserts]
        asserted = [(a, s) for a, s in built if a is not None]
        inherited = len(raw_asserts) - len(parsed.asserts)  # the first ones, from defaultTest
        threshold = test.threshold
        if threshold is None and default is not None:
            threshold = default.test.threshold
        metadata = {**((default.test.metadata or {}) if default else {}), **(test.metadata or {})}
        prefix = opts.prefix or (default.options.prefix if default else "")
        suffix = opts.suffix or (default.options.suffix if default else "")
        description = test.description or ""
        listed = [k for k, v in variables.items() if isinstance(v, list)]
        out = []
        for n, combo in enumerate(_expand(variables)):
            # Every combination has the same names, so only the first one is checked: each
            # problem is reported once.
            final = self._compose_vars(combo, site.at("vars"), report=n == 0)
            shown = ", ".join(f"{k}={as_text(combo[k])}" for k in listed)
            label = f"{description} [{shown}]" if description and shown else description
            key = label or "vars " + json.dumps(final, sort_keys=True, default=str)
            case = TestCase(
                key=key,
                description=label,
                vars=final,
                assertions=[a for a, _ in asserted],
                threshold=threshold,
                metadata=metadata,
                prefix=prefix,
                suffix=suffix,
            )
            if n == 0:
                self._check_vars(case, site, built, inherited)
            out.append(case)
        return out

    def _vars(self, raw: Any, site: _Site) -> dict[str, Any]:
        if raw is None:
            return {}
        if isinstance(raw, str):
            if not raw.startswith("file://"):
                self.out.error(site, "vars is a mapping or a file:// path to one")
                return {}
            files = self._files(raw, site)
            loaded = self._yaml(files[0], site) if files else None
            if loaded is None:
                return {}
            if not isinstance(loaded.doc.data, dict):
                self.out.errors.append(loaded.problem("expected a mapping of vars"))
                return {}
            raw, site = loaded.doc.data, loaded
        out = {}
        for name, value in raw.items():
            if isinstance(value, str) and value.startswith("file://"):
                texts = [self._read(f, site.at(name)) for f in self._files(value, site.at(name))]
                texts = [t for t in texts if t is not None]
                value = texts[0] if len(texts) == 1 else texts
            out[str(name)] = value
        return out

    def _compose_vars(
        self, variables: dict[str, Any], site: _Site, *, report: bool = True
    ) -> dict[str, Any]:
        """A var may use other vars (`item: 'tweet about {{topic}}'`): it is rendered once."""
        out = dict(variables)
        for name, value in variables.items():
            if isinstance(value, str) and ("{{" in value or "{%" in value):
                try:
                    out[name] = render(value, {k: v for k, v in variables.items() if k != name})
                except TemplateError as exc:
                    if report:
                        self.out.error(site.at(name), str(exc))
        return out

    # ------------------------------------------------------------ assertions

    def _assertion_once(
        self, raw: Any, site: _Site, judge_raw: Any, judge_site: _Site
    ) -> Assertion | None:
        """The assertion written at `site`, with the judge at `judge_site` when it needs one,
        parsed (and its problems reported) the first time only: a defaultTest's assertions are
        shared by every test."""
        key = (site.path, site.loc, judge_site.path, judge_site.loc if judge_raw else None)
        if key not in self.assertions:
            self.assertions[key] = self._assertion(raw, site, judge_raw, judge_site)
        return self.assertions[key]

    def _judge(self, source: Any, where: _Site) -> ProviderSpec | None:
        """The judge provider written at `where`, parsed and checked once however many
        assertions it grades."""
        key = (where.path, where.loc)
        if key not in self.judges:
            judge = self._provider(source, where)
            if judge is not None and judge.kind == "extractive":
                self.out.error(where, f"{EXTRACTIVE} cannot grade; use a chat model")
                judge = None
            if judge is not None and judge.kind == "chat" and not self._base_url(judge.config):
                self.out.error(where, _no_url(judge.label))
                judge = None
            self.judges[key] = judge
        return self.judges[key]

    def _base_url(self, settings: Mapping[str, Any]) -> str:
        """The chat server URL these settings or the environment give, else ''."""
        given = settings.get("base_url") or settings.get("apiBaseUrl")
        if isinstance(given, str) and given:
            return given
        return next((self.env[k] for k in BASE_URL_ENV if self.env.get(k)), "")

    def _assertion(
        self, raw: Any, site: _Site, judge_raw: Any, judge_site: _Site
    ) -> Assertion | None:
        if isinstance(raw, dict) and "$ref" in raw:
            raw, site = self._ref(raw["$ref"], site.at("$ref"))
            if raw is None:
                return None
        if not isinstance(raw, dict):
            self.out.error(site, "an assertion is a mapping with a type")
            return None
        raw = dict(raw)
        skip = None
        for key, reason in SKIPPED_ASSERTION_KEYS.items():
            if key in raw:
                raw.pop(key)
                self.out.skip(site.at(key), reason)
        for key, reason in SKIPPING_ASSERTION_KEYS.items():
            if key in raw:
                raw.pop(key)
                skip = reason
        try:
            spec = _AssertionIn.model_validate(raw)
        except ValidationError as exc:
            self.out.validation(exc, site)
            return None
        negate = spec.type.startswith("not-")
        base = spec.type.removeprefix("not-")
        if base == "cost" and self.cost_site is None:
            self.cost_site = site
        base = ALIASES.get(base, base)
        if base.startswith("trajectory:") or base in SKIPPED_ASSERTIONS:
            skip = skip or SKIPPED_ASSERTIONS.get(base, "needs agent traces")
        elif base not in ASSERTION_TYPES:
            self.out.error(
                site.at("type"),
                f"unknown assertion type '{spec.type}' (Triops runs: "
                + ", ".join(ASSERTION_TYPES)
                + "; each may take the not- prefix)",
            )
            return None
        definition = ASSERTION_DEFINITIONS.get(base)
        judge = None
        if definition is not None and definition.needs_judge and skip is None:
            source, where = spec.provider, site.at("provider")
            if source is None:
                source, where = judge_raw, judge_site
            if source is None:
                skip = NO_JUDGE
            else:
                judge = self._judge(source, where)
                if judge is None:
                    return None
        elif spec.provider is not None:
            self.out.skip(site.at("provider"), f"{base} uses Triops' own models")
        value = spec.value
        if definition is not None and skip is None:
            value = self._check_value(definition, spec, site)
        return Assertion(
            type=base,
            negate=negate,
            value=value,
            threshold=spec.threshold,
            weight=spec.weight,
            metric=spec.metric,
            judge=judge,
            skip=skip,
        )

    def _ref(self, ref: Any, site: _Site) -> tuple[Any, _Site]:
        if not isinstance(ref, str) or not ref.startswith("#/"):
            self.out.error(site, "only references inside this file (#/...) are supported")
            return None, site
        node: Any = self.top.doc.data
        loc: list[Any] = []
        for part in ref[2:].split("/"):
            if isinstance(node, dict) and part in node:
                node = node[part]
                loc.append(part)
            else:
                self.out.error(site, f"{ref} does not resolve")
                return None, site
        return node, self.top.at(*loc)

    def _check_value(self, definition: AssertionType, spec: _AssertionIn, site: _Site) -> Any:
        """Check an assertion's value and threshold as its type says; return the value to keep.
        A schema given as `file://...` is read first (from this config's folder)."""
        value = spec.value
        if definition.value == "schema" and isinstance(value, str) and value.startswith("file://"):
            files = self._files(value, site.at("value"))
            value = self._read(files[0], site.at("value")) if files else None
        checked = definition.check(value, spec.threshold)
        for key, message in checked.problems:
            self.out.error(site.at(key) if key else site, message)
        return checked.value

    # ------------------------------------------------------------ gate

    def _gate(self, raw: Any, site: _Site) -> Gate | None:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            self.out.error(site, "gate is a mapping of metric rules")
            return None
        gate = Gate()
        for key, value in raw.items():
            here = site.at(key)
            if key in ("baseline", "candidate"):
                if not isinstance(value, str | int) or isinstance(value, bool):
                    self.out.error(here, "name a prompt by its id or label")
                else:
                    setattr(gate, key, str(value))
                continue
            if not isinstance(value, dict):
                self.out.error(here, "a rule is a mapping such as {min: 0.8} or {min_delta: 0}")
                continue
            try:
                gate.rules[str(key)] = GateRule.model_validate(value)
            except ValidationError as exc:
                self.out.validation(exc, here)
        if (gate.baseline is None) != (gate.candidate is None):
            self.out.error(site, "give both gate.baseline and gate.candidate, or neither")
        return gate

    # ------------------------------------------------------------ cross checks

    def _check_vars(
        self,
        case: TestCase,
        site: _Site,
        built: list[tuple[Assertion | None, _Site]],
        inherited: int,
    ) -> None:
        """Every variable a prompt or an assertion value needs is defined by the test.

        promptfoo renders an undefined variable as nothing; Triops stops at load instead,
        because an empty variable is almost always a misspelt name. A variable the template
        guards (`default`, `is defined`, `{% if name %}`) may be left undefined. A defaultTest
        assertion's gap is reported at the test that lacks the variable, once per test."""
        have = set(case.vars)
        vars_site = site.at("vars")
        for prompt in self.prompts:
            for name in template_vars(case.prefix + prompt.raw + case.suffix):
                if name not in have:
                    self.out.error(
                        vars_site,
                        f"prompt '{prompt.label}' uses {{{{{name}}}}}, which this test does "
                        "not define in vars",
                    )
        for n, (assertion, where) in enumerate(built):
            if assertion is None:
                continue
            for text in _strings(assertion.value):
                for name in template_vars(text):
                    if name in have:
                        continue
                    if n < inherited:
                        self.out.error(
                            vars_site,
                            f"{where.key}.value (line {where.line}) uses {{{{{name}}}}}, which "
                            "this test does not define in vars",
                        )
                    else:
                        self.out.error(
                            where.at("value"),
                            f"uses {{{{{name}}}}}, which the test does not define in vars",
                        )

    def _cross_check(self, config: EvalConfig, top: _Site) -> None:
        # A prompt's config keys mean something to some provider, with valid values.
        kinds = {p.kind for p in config.providers}
        known = set().union(*(setting_keys(k) for k in kinds)) if kinds else set()
        for prompt in config.prompts:
            psite = self.prompt_sites.get(prompt.id, top.at("prompts"))
            for key in prompt.config:
                if key not in known:
                    self.out.error(
                        psite.at("config", key),
                        "no configured provider reads this key (known: "
                        + ", ".join(sorted(known))
                        + ")",
                    )
            for provider in config.providers:
                if not provider.runs(prompt):
                    continue
                try:
                    SETTINGS[provider.kind].model_validate(provider.settings(prompt))
                except ValidationError as exc:
                    vsite = self.provider_sites.get(provider.label, top.at("providers"))
                    for err in exc.errors():
                        key = err["loc"][0] if err["loc"] else ""
                        here = (
                            psite.at("config", key)
                            if key in prompt.config
                            else vsite.at("config", key)
                        )
                        self.out.error(here, f"{err['msg']} (for provider '{provider.label}')")
        # A chat provider needs a server URL for every prompt it runs: from its config, the
        # prompt's config or the environment. Without one each case would fail the same way.
        for provider in config.providers:
            if provider.kind != "chat":
                continue
            lacking = [
                p.label
                for p in config.prompts
                if provider.runs(p) and not self._base_url(provider.settings(p))
            ]
            if lacking:
                vsite = self.provider_sites.get(provider.label, top.at("providers"))
                some = len(lacking) < sum(provider.runs(p) for p in config.prompts)
                where = f" (for prompts {', '.join(lacking)})" if some else ""
                self.out.error(vsite.at("config", "base_url"), _no_url(provider.label) + where)
        # Prices name configured providers; a cost check has a price for every provider.
        names = {p.label for p in config.providers} | {p.id for p in config.providers}
        if config.prices is not None:
            for name in config.prices.providers:
                if name not in names:
                    self.out.error(
                        top.at("prices", "providers", name), "no provider has this id or label"
                    )
        wants_cost = "cost" in config.assertion_types() or (
            config.gate is not None and "cost" in config.gate.rules
        )
        if wants_cost:
            # Point at the price table if there is one, else at what checks cost.
            if config.prices is not None:
                where = top.at("prices", "providers")
            else:
                where = self.cost_site or top.at("gate", "cost")
            for provider in config.providers:
                if config.prices is None or config.prices.for_provider(provider) is None:
                    self.out.error(
                        where,
                        f"cost is checked but provider '{provider.label}' has no price "
                        "in prices.providers",
                    )
        if config.gate is not None:
            self._check_gate(config, top.at("gate"))

    def _check_gate(self, config: EvalConfig, site: _Site) -> None:
        gate = config.gate
        named = {a.metric for t in config.tests for a in t.assertions if a.metric}
        types = config.assertion_types()
        for metric in gate.rules:
            here = site.at(metric)
            if metric in MEASURED_BY and MEASURED_BY[metric] not in types:
                self.out.error(
                    here, f"no test asserts {MEASURED_BY[metric]}, so it is never measured"
                )
            elif metric == "abstain_rate" and not config.needs_index:
                self.out.error(here, f"only {EXTRACTIVE} abstains")
            elif metric not in GATE_METRICS and metric not in named:
                self.out.error(
                    here,
                    "unknown metric (known: "
                    + ", ".join(GATE_METRICS)
                    + ", or a `metric` name an assertion gives)",
                )
        for key in ("baseline", "candidate"):
            name = getattr(gate, key)
            if name is not None and config.prompt(name) is None:
                self.out.error(
                    site.at(key),
                    f"no prompt has the id or label '{name}' (prompts: "
                    + ", ".join(p.label for p in config.prompts)
                    + ")",
                )
        if gate.baseline is not None and gate.baseline == gate.candidate:
            self.out.error(site.at("candidate"), "the candidate must differ from the baseline")


# --------------------------------------------------------------------------- CSV tests

_CSV_SPECIAL = tuple(
    f"_{k}"
    for k in (
        "expected",
        "prefix",
        "suffix",
        "description",
        "providerOutput",
        "metric",
        "threshold",
        "metadata",
        "config",
    )
)
# promptfoo's csv.ts: which one-line assertions take a threshold in parentheses, split their value
# on commas, or keep it untrimmed.
_CSV_THRESHOLD = {
    "answer-relevance",
    "classifier",
    "context-faithfulness",
    "context-recall",
    "context-relevance",
    "cost",
    "latency",
    "levenshtein",
    "perplexity-score",
    "perplexity",
    "rouge-n",
    "similar",
    "starts-with",
}
_CSV_LISTS = {"contains-all", "contains-any", "icontains-all", "icontains-any"}
_CSV_RAW = {"contains-json", "is-json"}
_CSV_TYPES = sorted({*ASSERTION_TYPES, *SKIPPED_ASSERTIONS}, key=len, reverse=True)
_CSV_ASSERTION = re.compile(
    r"^(not-)?("
    + "|".join(map(re.escape, _CSV_TYPES))
    + r")(?:\((\d+(?:\.\d+)?)\))?(?::([\s\S]*))?$"
)
_CODE_FILE = re.compile(r"\.(?:js|cjs|mjs|ts|cts|mts)(?::|$)")


def assertion_from_string(expected: str) -> dict[str, Any]:
    """An `__expected` cell as promptfoo's assertionFromString reads it: `type:value`,
    `not-type:value`, `type(0.8):value`, `grade:`/`llm-rubric:` rubrics, `javascript:`, `fn:`,
    `eval:`, `python:` or a `file://` script (which Triops skips: it runs no code), and anything
    else an `equals` of the whole text.

    One difference: without a threshold in parentheses promptfoo writes 0.75 (0.8 for similar)
    into the assertions that take one; Triops leaves it out, so that the semantic assertions use
    thresholds calibrated for its own model (CALIBRATION.md) and latency and cost, whose 0.75
    would mean 0.75 ms and 0.75 of a currency, ask for one."""
    for prefix in ("javascript:", "fn:", "eval:"):
        if expected.startswith(prefix):
            return {"type": "javascript", "value": expected[len(prefix) :].strip()}
    if expected.startswith("file://") and _CODE_FILE.search(expected):
        return {"type": "javascript", "value": expected.removeprefix("file://").strip()}
    for prefix in ("grade:", "llm-rubric:"):
        if expected.startswith(prefix):
            return {"type": "llm-rubric", "value": expected[len(prefix) :]}
    if expected.startswith("python:") or (
        expected.startswith("file://") and (expected.endswith(".py") or ".py:" in expected)
    ):
        cut = len("python:") if expected.startswith("python:") else len("file://")
        return {"type": "python", "value": expected[cut:].strip()}
    match = _CSV_ASSERTION.match(expected)
    if match is None:
        return {"type": "equals", "value": expected}
    negate, kind, threshold, value = match.groups()
    out: dict[str, Any] = {"type": f"{negate or ''}{kind}"}
    if kind in _CSV_LISTS:
        out["value"] = [v.strip() for v in value.split(",")] if value else value
    elif kind in _CSV_RAW:
        out["value"] = value
    else:
        out["value"] = value.strip() if value is not None else None
        if kind in _CSV_THRESHOLD and threshold is not None:
            out["threshold"] = float(threshold)
    if out["value"] is None:
        del out["value"]
    return out


def _csv_config(key: str, value: str) -> tuple[int, str, float] | str | None:
    """A `__config:__expectedN:threshold` column: (assertion index, key, number), or the error
    promptfoo stops on, or None for a column promptfoo only warns about (it is then ignored)."""
    parts = key.removeprefix("__config:").split(":")
    if len(parts) != 2:
        return None
    target, name = parts
    found = re.fullmatch(r"__expected(\d*)", target)
    if found is None or found.group(1) == "0":
        return f"'{target}' is not __expected or __expected<N> (N from 1)"
    if name != "threshold":
        return f"'{name}' cannot be set from a CSV column (only threshold)"
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        return f"'{value}' is not a number"
    index = int(found.group(1)) - 1 if found.group(1) else 0
    return index, name, number


@dataclass
class _CsvDoc:
    """A CSV tests file standing in for a YAML document: row n starts at lines[n], and a key
    is the column that wrote that part of the test."""

    lines: list[int]
    columns: list[dict[tuple, str]] = field(default_factory=list)

    def line_of(self, loc: tuple) -> int:
        if loc and isinstance(loc[0], int) and loc[0] < len(self.lines):
            return self.lines[loc[0]]
        return 1

    def describe(self, loc: tuple) -> str:
        if not loc or not isinstance(loc[0], int) or loc[0] >= len(self.columns):
            return ""
        names, rest = self.columns[loc[0]], tuple(loc[1:])
        while rest and rest not in names:
            rest = rest[:-1]
        return names.get(rest, "")


def _no_url(label: str) -> str:
    return (
        f"no server URL for '{label}': set config.base_url (or apiBaseUrl), or "
        + " or ".join(BASE_URL_ENV)
        + " in the environment"
    )


def _looks_like_path(text: str) -> bool:
    """Whether a prompt map's key names files, as promptfoo's maybeFilePath guesses it."""
    if "\n" in text or "{{" in text:
        return False
    return (
        text.startswith("file://")
        or any(ch in text for ch in "*/\\")
        or re.search(r"\.[A-Za-z0-9]{1,5}$", text) is not None
    )


def _provider_kind(pid: str) -> tuple[ProviderKind | None, str | None]:
    if pid == EXTRACTIVE:
        return "extractive", None
    if pid == ECHO:
        return "echo", None
    if pid == CHAT:
        return "chat", None
    for prefix in (f"{CHAT}:", "openai:chat:", "openai:"):
        if pid.startswith(prefix) and pid != prefix:
            return "chat", pid.removeprefix(prefix)
    return None, None


def _expand(variables: dict[str, Any]) -> list[dict[str, Any]]:
    """One vars mapping per combination of list-valued vars (promptfoo's expansion)."""
    lists = {k: v for k, v in variables.items() if isinstance(v, list)}
    if not lists:
        return [variables]
    out = []
    for combo in itertools.product(*lists.values()):
        out.append({**variables, **dict(zip(lists, combo, strict=True))})
    return out


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _relative(file: Path, base: Path) -> str:
    try:
        return str(file.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(file)
