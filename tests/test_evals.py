"""The eval runner: promptfoo-shaped configs, assertions, providers, totals, the gate, compare.

Tests that embed use the real packaged model (the run's `embedder`, tests/conftest.py) and an index
of four real lessons; the openai-compatible provider talks to a tiny local HTTP server."""

from __future__ import annotations

import json
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import FIXTURES, REPO
from triops.evals import (
    EvalConfigError,
    EvalRun,
    EvalRunError,
    Gate,
    GateRule,
    Totals,
    compare,
    evaluate_gate,
    format_comparison,
    format_run,
    load_config,
    percentile,
    run_eval,
)
from triops.evals.config import NO_JUDGE
from triops.evals.providers import EvalError, make_provider, tokenizer_for
from triops.evals.text import claims
from triops.search.ask import ABSTAIN_MESSAGE

EVALS = FIXTURES / "evals"
LESSONS = (
    "devops-continuous-delivery",
    "devops-dora-metrics",
    "mlops-monitoring-and-retraining",
    "llmops-evaluation",
)


@pytest.fixture(scope="session")
def index(embedder, tmp_path_factory):
    """A search index of four real lessons (the whole course takes half a minute to embed)."""
    from triops.content.loader import load_course
    from triops.search.ask import lesson_of
    from triops.search.chunks import collect
    from triops.search.index import build_index

    chunks = [
        c for c in collect(load_course(REPO)) if c.kind == "lesson" and lesson_of(c) in LESSONS
    ]
    built, _ = build_index(chunks, embedder, tmp_path_factory.mktemp("derived"))
    return built


def write(folder: Path, text: str, name: str = "eval.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def echo_config(folder: Path, assertions: list, *, output="hello world", **extra) -> Path:
    """A config whose echo provider answers `output` (the prompt is just {{out}})."""
    test = {"vars": {"out": output, **extra.pop("vars", {})}, "assert": assertions}
    test.update(extra.pop("test", {}))
    doc = {"prompts": ["{{out}}"], "providers": ["echo"], "tests": [test], **extra}
    path = folder / "eval.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def one(folder: Path, assertion: dict, output: str, **kw):
    """The result of a single assertion on an echoed output."""
    run = run_eval(load_config(echo_config(folder, [assertion], output=output)), **kw)
    return run.results[0].assertions[0]


class Clock:
    """A clock under the test's control: each provider call lasts the next of `latencies_ms`."""

    def __init__(self, latencies_ms):
        self.latencies = list(latencies_ms)
        self.now = 0.0
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        if self.calls % 2 == 0:  # the end of a call
            self.now += self.latencies.pop(0) / 1000
        return self.now


# --------------------------------------------------------------------------- config


def test_a_config_loads_prompts_providers_default_test_and_expands_list_vars(tmp_path):
    write(tmp_path, "Answer: {{question}}\n", "v2.txt")
    path = write(
        tmp_path,
        """
        description: two versions
        prompts:
          - id: v1
            label: first
            raw: "{{ question }}"
            config: {max_sentences: 1}
          - file://v2.txt
        providers:
          - echo
          - id: triops:extractive
            label: ask
            config: {k: 3, citations: footnote}
        defaultTest:
          vars: {question: "default?"}
          assert:
            - type: contains
              value: "?"
        tests:
          - description: plain
            assert:
              - type: icontains
                value: DEFAULT
          - vars:
              question: ["one?", "two?"]
            options: {disableDefaultAsserts: true}
        """,
    )
    config = load_config(path)
    assert [(p.id, p.label) for p in config.prompts] == [
        ("v1", "first"),
        ("file://v2.txt", "file://v2.txt"),
    ]
    assert [(p.label, p.kind) for p in config.providers] == [
        ("echo", "echo"),
        ("ask", "extractive"),
    ]
    plain, one_, two = config.tests
    assert plain.vars == {"question": "default?"}
    assert [a.type for a in plain.assertions] == ["contains", "icontains"]
    assert [t.vars["question"] for t in (one_, two)] == ["one?", "two?"]
    assert one_.assertions == [] and one_.key != two.key
    assert config.case_count == 2 * 2 * 3
    # the prompt's config goes over the provider's, for the keys the provider reads
    ask = config.providers[1]
    assert ask.settings(config.prompts[0]) == {"k": 3, "citations": "footnote", "max_sentences": 1}
    assert config.providers[0].settings(config.prompts[0]) == {}
    assert config.needs_index and config.needs_embedder


def test_tests_and_vars_can_live_in_files_and_a_var_can_use_another(tmp_path):
    write(tmp_path, "- vars: {topic: bananas}\n- vars: {topic: apples}\n", "cases.yaml")
    write(tmp_path, "long text from a file\n", "doc.txt")
    path = write(
        tmp_path,
        """
        prompts: ["Write a {{ item }} and {{ doc | trim | upper }}"]
        providers: [echo]
        defaultTest:
          vars: {item: "tweet about {{topic}}", doc: file://doc.txt}
        tests: file://cases.yaml
        """,
    )
    run = run_eval(load_config(path))
    assert [r.output for r in run.results] == [
        "Write a tweet about bananas and LONG TEXT FROM A FILE",
        "Write a tweet about apples and LONG TEXT FROM A FILE",
    ]


def test_a_prompt_file_may_hold_several_prompts_and_a_provider_may_run_only_some(tmp_path):
    write(tmp_path, "A: {{q}}\n---\nB: {{q}}\n", "versions.txt")
    path = write(
        tmp_path,
        """
        prompts: [file://versions.txt, {id: short, raw: "{{q}}"}]
        providers:
          - {id: echo, prompts: [short]}
          - {id: echo, label: everything}
        tests: [{vars: {q: hi}}]
        """,
    )
    run = run_eval(load_config(path))
    assert [(t.column, r.output) for t, r in zip(run.totals, run.results, strict=True)] == [
        ("file://versions.txt#1 / everything", "A: hi"),
        ("file://versions.txt#2 / everything", "B: hi"),
        ("short / echo", "hi"),
        ("short / everything", "hi"),
    ]


def test_the_config_hash_follows_content_not_layout(tmp_path):
    a = load_config(write(tmp_path, "prompts: [hi]\nproviders: [echo]\ntests: [{}]\n", "a.yaml"))
    b = load_config(
        write(
            tmp_path, "# a comment\nprompts:\n  - hi\nproviders: [echo]\ntests:\n  - {}\n", "b.yaml"
        )
    )
    c = load_config(write(tmp_path, "prompts: [hey]\nproviders: [echo]\ntests: [{}]\n", "c.yaml"))
    assert a.config_hash == b.config_hash != c.config_hash


HEAD = "prompts: [hi]\nproviders: [echo]\n"


def lines(*rows: str) -> str:
    return "\n".join(rows) + "\n"


BAD_CONFIGS = {
    # name: (config text, line, key, words of the message)
    "bad yaml": ("prompts: [hi\nproviders: [echo]\n", 2, "", "YAML syntax error"),
    "unknown top key": (HEAD + lines("tests: [{}]", "provders: []"), 4, "provders", "unknown key"),
    "unknown test key": (
        HEAD + lines("tests:", "  - vars: {}", "    asert: []"),
        5,
        "tests[0].asert",
        "unknown key",
    ),
    "unknown assertion type": (
        HEAD + lines("tests:", "  - assert:", "      - type: equalz", "        value: x"),
        5,
        "tests[0].assert[0].type",
        "unknown assertion type 'equalz'",
    ),
    "wrong type of value": (
        HEAD + lines("tests:", "  - threshold: high"),
        4,
        "tests[0].threshold",
        "valid number",
    ),
    "wrong type of assertion value": (
        HEAD + lines("tests:", "  - assert:", "      - type: contains", "        value: [a]"),
        6,
        "tests[0].assert[0].value",
        "contains needs a string value",
    ),
    "missing var in a prompt": (
        lines(
            "prompts: ['{{ question }}']",
            "providers: [echo]",
            "tests:",
            "  - vars:",
            "      query: hi",
        ),
        4,
        "tests[0].vars",
        "uses {{question}}",
    ),
    "missing var in an assertion value": (
        HEAD
        + lines("tests:", "  - assert:", "      - type: equals", "        value: '{{ expected }}'"),
        6,
        "tests[0].assert[0].value",
        "uses {{expected}}",
    ),
    "unknown provider": (
        lines("prompts: [hi]", "providers:", "  - vertex:gemini", "tests: [{}]"),
        3,
        "providers[0]",
        "unknown provider",
    ),
    "unknown provider config key": (
        lines("prompts: [hi]", "providers:", "  - id: triops:extractive", "    config: {kk: 3}")
        + "tests: [{}]\n",
        4,
        "providers[0].config.kk",
        "unknown key",
    ),
    "wrong provider config value": (
        lines("prompts: [hi]", "providers:", "  - id: triops:extractive", "    config:")
        + lines("      citations: endnote", "tests: [{}]"),
        5,
        "providers[0].config.citations",
        "'none', 'inline' or 'footnote'",
    ),
    "prompt config no provider reads": (
        lines("prompts:", "  - raw: hi", "    config:", "      temperature: 0.2")
        + lines("providers: [echo]", "tests: [{}]"),
        4,
        "prompts[0].config.temperature",
        "no configured provider reads",
    ),
    "invalid regex": (
        HEAD + lines("tests:", "  - assert:", "      - type: regex", "        value: '(unclosed'"),
        6,
        "tests[0].assert[0].value",
        "invalid regular expression",
    ),
    "invalid json schema": (
        HEAD
        + lines("tests:", "  - assert:", "      - type: is-json", "        value: {type: thing}"),
        6,
        "tests[0].assert[0].value",
        "invalid JSON schema",
    ),
    "latency without threshold": (
        HEAD + lines("tests:", "  - assert:", "      - type: latency"),
        5,
        "tests[0].assert[0]",
        "latency needs a threshold",
    ),
    "cost without a price": (
        HEAD + lines("tests:", "  - assert:", "      - {type: cost, threshold: 1}"),
        5,
        "tests[0].assert[0]",
        "provider 'echo' has no price",
    ),
    "a missing section": ("prompts: [hi]\ntests: [{}]\n", 1, "providers", "missing required key"),
    "an empty section": (HEAD + "tests: []\n", 3, "tests", "give at least one of the tests"),
    "an unclosed template tag": (
        lines("prompts: ['{% if x %}hi']", "providers: [echo]", "tests: [{}]"),
        1,
        "prompts[0]",
        "template line 1: Unexpected end of template",
    ),
    "an unknown filter": (
        lines("prompts: ['{{ x | shout }}']", "providers: [echo]", "tests: [{vars: {x: a}}]"),
        1,
        "prompts[0]",
        "No filter named 'shout'",
    ),
    "gate metric": (
        HEAD + lines("tests: [{}]", "gate:", "  speed: {max: 1}"),
        5,
        "gate.speed",
        "unknown metric",
    ),
    "gate metric never measured": (
        HEAD + lines("tests: [{}]", "gate:", "  groundedness: {min: 1}"),
        5,
        "gate.groundedness",
        "no test asserts groundedness",
    ),
    "gate rule key": (
        HEAD + lines("tests: [{}]", "gate:", "  pass_rate: {minimum: 1}"),
        5,
        "gate.pass_rate.minimum",
        "unknown key",
    ),
    "gate baseline": (
        HEAD
        + lines("tests: [{}]", "gate:", "  baseline: v0", "  candidate: hi")
        + "  pass_rate: {min_delta: 0}\n",
        5,
        "gate.baseline",
        "no prompt has the id or label 'v0'",
    ),
}


@pytest.mark.parametrize("case", BAD_CONFIGS, ids=list(BAD_CONFIGS))
def test_a_config_error_names_the_file_the_line_and_the_key(tmp_path, case):
    text, line, key, words = BAD_CONFIGS[case]
    path = write(tmp_path, text)
    with pytest.raises(EvalConfigError) as caught:
        load_config(path)
    err = caught.value
    assert (err.path, err.line, err.key) == (str(path), line, key), err.user_message
    assert words in err.user_message
    assert f"{path}:{line}: error: " in err.user_message


def test_an_error_in_an_included_tests_file_names_that_file(tmp_path):
    cases = write(
        tmp_path, "- vars: {q: a}\n- vars: {q: b}\n  assert:\n    - type: nope\n", "cases.yaml"
    )
    path = write(tmp_path, "prompts: ['{{q}}']\nproviders: [echo]\ntests: file://cases.yaml\n")
    with pytest.raises(EvalConfigError) as caught:
        load_config(path)
    assert (caught.value.path, caught.value.line, caught.value.key) == (
        str(cases),
        4,
        "[1].assert[0].type",
    )


def test_every_error_is_reported_at_once(tmp_path):
    path = write(
        tmp_path,
        "prompts: [hi]\nproviders: [echo, foo]\ntests:\n  - threshold: x\n  - tresh: 1\n",
    )
    with pytest.raises(EvalConfigError) as caught:
        load_config(path)
    assert [p.line for p in caught.value.problems] == [2, 4, 5]


def test_promptfoo_features_triops_does_not_run_are_skipped_with_a_reason(tmp_path):
    path = write(
        tmp_path,
        """
        prompts: [hi]
        providers: [echo]
        evaluateOptions: {maxConcurrency: 4}
        tests:
          - options: {transform: output.trim()}
            assert:
              - type: javascript
                value: output.length > 1
              - type: llm-rubric
                value: is polite
              - type: contains
                value: hi
        """,
    )
    config = load_config(path)
    assert [(s.line, s.key, s.severity) for s in config.skipped] == [
        (3, "evaluateOptions", "skipped"),
        (5, "tests[0].options.transform", "skipped"),
    ]
    run = run_eval(config)
    js, rubric, contains = run.results[0].assertions
    assert (js.status, rubric.status, contains.status) == ("skipped", "skipped", "pass")
    assert "runs code" in js.reason and rubric.reason == NO_JUDGE
    assert run.results[0].status == "pass" and run.passed  # skipped ones do not count
    assert "skipped: evaluateOptions" in format_run(run)


# --------------------------------------------------------------------------- assertions

DETERMINISTIC = [
    # (assertion, output, passes)
    ({"type": "equals", "value": "hello world"}, "hello world", True),
    ({"type": "equals", "value": "hello"}, "hello world", False),
    ({"type": "equals", "value": {"a": 1}}, '{"a": 1}', True),
    ({"type": "equals", "value": {"a": 1}}, '{"a": 2}', False),
    ({"type": "contains", "value": "world"}, "hello world", True),
    ({"type": "contains", "value": "World"}, "hello world", False),
    ({"type": "contains", "value": 42}, "answer: 42", True),
    ({"type": "icontains", "value": "WORLD"}, "hello world", True),
    ({"type": "icontains", "value": "mars"}, "hello world", False),
    ({"type": "contains-any", "value": ["mars", "world"]}, "hello world", True),
    ({"type": "contains-any", "value": "mars, venus"}, "hello world", False),
    ({"type": "contains-all", "value": ["hello", "world"]}, "hello world", True),
    ({"type": "contains-all", "value": ["hello", "mars"]}, "hello world", False),
    ({"type": "icontains-all", "value": ["HELLO", "World"]}, "hello world", True),
    ({"type": "icontains-any", "value": ["MARS"]}, "hello world", False),
    ({"type": "regex", "value": r"\d{4}"}, "in 2026", True),
    ({"type": "regex", "value": r"^\d+$"}, "in 2026", False),
    ({"type": "starts-with", "value": "hello"}, "hello world", True),
    ({"type": "starts-with", "value": "world"}, "hello world", False),
    ({"type": "is-json"}, '{"ok": true}', True),
    ({"type": "is-json"}, 'here: {"ok": true}', False),
    ({"type": "is-json", "value": {"type": "object", "required": ["ok"]}}, '{"ok": 1}', True),
    ({"type": "is-json", "value": {"type": "object", "required": ["ok"]}}, '{"no": 1}', False),
    ({"type": "contains-json"}, 'here: {"ok": true} done', True),
    ({"type": "contains-json"}, "no json here", False),
    (
        {"type": "contains-json", "value": "{type: object, required: [lat]}"},
        'a {"lon": 1} b {"lat": 2}',
        True,
    ),
    ({"type": "contains-json", "value": {"required": ["lat"]}}, 'a {"lon": 1}', False),
]


@pytest.mark.parametrize(("assertion", "output", "passes"), DETERMINISTIC)
def test_deterministic_assertions_and_their_negation(tmp_path, assertion, output, passes):
    result = one(tmp_path, assertion, output)
    assert (result.status, result.score) == (("pass", 1.0) if passes else ("fail", 0.0)), result
    negated = one(tmp_path, {**assertion, "type": "not-" + assertion["type"]}, output)
    assert (negated.status, negated.score) == (("fail", 0.0) if passes else ("pass", 1.0))
    assert negated.type == "not-" + assertion["type"]


def test_an_assertion_value_is_rendered_with_the_vars(tmp_path):
    path = echo_config(
        tmp_path, [{"type": "contains", "value": "{{ expected }}"}], vars={"expected": "lo wo"}
    )
    result = run_eval(load_config(path)).results[0].assertions[0]
    assert result.status == "pass" and result.value == "lo wo"


@pytest.mark.parametrize(
    ("threshold", "negate", "passes"),
    [
        (300, False, True),
        (200, False, False),
        (250, False, True),
        (200, True, True),
        (300, True, False),
    ],
)
def test_latency_against_an_injected_clock(tmp_path, threshold, negate, passes):
    kind = "not-latency" if negate else "latency"
    result = one(tmp_path, {"type": kind, "threshold": threshold}, "hi", clock=Clock([250]))
    assert result.measure == pytest.approx(250)
    assert result.status == ("pass" if passes else "fail")


@pytest.mark.parametrize(("unit", "per"), [("1M", 1_000_000), ("1K", 1_000)])
def test_cost_comes_from_the_price_table_and_the_models_tokenizer(tmp_path, unit, per):
    output = "Continuous delivery keeps every change releasable."
    tokens = tokenizer_for(None).count(output)
    assert tokens == 9  # word pieces: ..., "re", "##lea", "##sable", "."; not 6 words
    prices = {"unit": unit, "providers": {"echo": {"prompt": 2.0, "completion": 6.0}}}
    expected = (tokens * 2.0 + tokens * 6.0) / per
    cheap = expected * 1.01
    path = echo_config(
        tmp_path,
        [{"type": "cost", "threshold": cheap}, {"type": "not-cost", "threshold": cheap}],
        output=output,
        prices=prices,
    )
    row = run_eval(load_config(path)).results[0]
    assert (row.tokens_prompt, row.tokens_completion) == (tokens, tokens)
    assert row.cost == pytest.approx(expected)
    assert [a.status for a in row.assertions] == ["pass", "fail"]


def test_the_score_is_the_weighted_average_and_a_test_threshold_decides(tmp_path):
    """promptfoo's own example: equals (weight 2) fails, contains (weight 1) passes."""
    asserts = [
        {"type": "equals", "value": "Hello world", "weight": 2},
        {"type": "contains", "value": "world", "weight": 1},
    ]

    def verdict(**test):
        path = echo_config(tmp_path, asserts, output="Goodbye world", test=test)
        row = run_eval(load_config(path)).results[0]
        return row.status, round(row.score, 4)

    assert verdict() == ("fail", 0.3333)
    assert verdict(threshold=0.5) == ("fail", 0.3333)
    assert verdict(threshold=0.2) == ("pass", 0.3333)
    assert verdict(threshold=0) == ("pass", 0.3333)


def test_an_assertion_of_weight_zero_is_reported_but_never_fails_the_test(tmp_path):
    path = echo_config(
        tmp_path,
        [
            {"type": "contains", "value": "x", "weight": 0, "metric": "has_x"},
            {"type": "contains", "value": "o"},
        ],
        output="foo",
    )
    run = run_eval(load_config(path))
    row = run.results[0]
    assert [a.status for a in row.assertions] == ["fail", "pass"]
    assert row.status == "pass" and row.score == 1.0
    assert run.totals[0].metrics == {"has_x": 0.0}


def test_a_run_whose_every_assertion_is_skipped_is_not_passed(tmp_path):
    path = echo_config(tmp_path, [{"type": "python", "value": "True"}])
    run = run_eval(load_config(path))
    assert run.results[0].status == "skipped"
    assert run.totals[0].pass_rate is None and not run.passed
    assert run.unchecked == (
        "no assertion was evaluated: every one was skipped "
        "(python: runs code from the config; Triops runs none)"
    )


# --------------------------------------------------------------------------- semantic


@pytest.mark.slow
@pytest.mark.parametrize(
    ("value", "passes"),
    [
        ("A canary release sends a small share of users to the new version first.", True),
        ("Bake the banana bread for an hour at 180 degrees.", False),
    ],
)
def test_similar_and_not_similar(tmp_path, embedder, value, passes):
    output = "In a canary release, a few percent of traffic goes to the new build."
    result = one(tmp_path, {"type": "similar", "value": value}, output, embedder=embedder)
    assert result.status == ("pass" if passes else "fail"), result.reason
    assert result.threshold is None or result.threshold > 0
    negated = one(tmp_path, {"type": "not-similar", "value": value}, output, embedder=embedder)
    assert negated.status == ("fail" if passes else "pass")
    assert negated.score == pytest.approx(1 - result.score)


CONTEXT = [
    "A canary release sends a small share of traffic to the new version. "
    "The share grows in steps while error rates and latency stay within their limits.",
    "Deployment frequency counts how often a team ships to production.",
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("output", "share"),
    [
        # verbatim, with citation markers and a footnote line that are not claims
        (CONTEXT[0].split(". ")[0] + ". [1]\n\n[1] Continuous delivery: /learn", 1.0),
        # a paraphrase the context supports
        ("In a canary, a small part of the traffic is routed to the new release.", 1.0),
        # one supported claim, one the context does not hold
        (
            "Deployment frequency counts how often a team ships to production. "
            "Kubernetes was first released by Google in 2014 as open source.",
            0.5,
        ),
    ],
)
def test_groundedness_is_the_share_of_supported_sentences(tmp_path, embedder, output, share):
    result = one_with_context(tmp_path, {"type": "groundedness"}, output, embedder)
    assert result.measure == pytest.approx(share)
    assert result.status == ("pass" if share == 1.0 else "fail"), result.reason
    partial = one_with_context(
        tmp_path, {"type": "groundedness", "threshold": 0.5}, output, embedder
    )
    assert partial.status == "pass"
    negated = one_with_context(tmp_path, {"type": "not-groundedness"}, output, embedder)
    assert negated.status == ("fail" if share == 1.0 else "pass")


def one_with_context(tmp_path, assertion, output, embedder):
    """A list var would expand into one test per item (as in promptfoo): the context is given
    as one string, its passages separated by a blank line."""
    context = "\n\n".join(CONTEXT)
    path = echo_config(tmp_path, [assertion], output=output, vars={"context": context})
    return run_eval(load_config(path), embedder=embedder).results[0].assertions[0]


@pytest.mark.slow
def test_groundedness_without_any_context_fails(tmp_path, embedder):
    result = one(tmp_path, {"type": "groundedness"}, "Canaries sing in mines.", embedder=embedder)
    assert result.status == "fail" and "no context" in result.reason


@pytest.mark.slow
@pytest.mark.parametrize(
    ("answer", "passes"),
    [
        ("A canary release routes a small share of users to the new version first.", True),
        ("Preheat the oven and mash three ripe bananas with sugar.", False),
    ],
)
def test_answer_relevance(tmp_path, embedder, answer, passes):
    question = "What is a canary release?"
    path = echo_config(
        tmp_path,
        [
            {"type": "answer-relevance", "value": question},
            {"type": "not-answer-relevance", "value": question},
        ],
        output=answer,
    )
    plain, negated = run_eval(load_config(path), embedder=embedder).results[0].assertions
    assert plain.status == ("pass" if passes else "fail"), plain.reason
    assert negated.status == ("fail" if passes else "pass")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("facts", "share"),
    [
        (["a small share of traffic", "how often a team ships"], 1.0),
        (["The share of traffic grows step by step."], 1.0),  # by meaning
        (["a small share of traffic", "Helm charts template Kubernetes manifests."], 0.5),
    ],
)
def test_context_recall(tmp_path, embedder, facts, share):
    result = one_with_context(tmp_path, {"type": "context-recall", "value": facts}, "x", embedder)
    assert result.measure == pytest.approx(share), result.reason
    assert result.status == ("pass" if share == 1.0 else "fail")
    negated = one_with_context(
        tmp_path, {"type": "not-context-recall", "value": facts}, "x", embedder
    )
    assert negated.status == ("fail" if share == 1.0 else "pass")


def test_semantic_assertions_need_an_embedder(tmp_path):
    path = echo_config(tmp_path, [{"type": "similar", "value": "hi"}])
    with pytest.raises(EvalError, match="embedder"):
        run_eval(load_config(path))


# --------------------------------------------------------------------------- triops:extractive

EXTRACTIVE = """
prompts:
  - id: v1
    raw: "{{ question }}"
    config: {citations: footnote}
  - id: v2
    raw: "{{ question }}"
    config: {max_sentences: 1, citations: inline}
providers: [triops:extractive]
prices:
  providers:
    triops:extractive: {prompt: 0.15, completion: 0.60}
defaultTest:
  assert:
    - type: groundedness
tests:
  - description: psi
    vars: {question: "How is the population stability index computed?"}
    assert:
      - {type: icontains, value: population stability}
      - type: answer-relevance
      - type: context-recall
        value: [the share of reference rows in bin i]
  - description: off topic
    vars: {question: "What is a good recipe for banana bread?"}
    assert:
      - {type: contains, value: "I don't know"}
gate:
  baseline: v1
  candidate: v2
  pass_rate: {min_delta: 0}
  tokens: {max_increase_pct: 0}
  groundedness: {min: 1}
  abstain_rate: {max: 0.5}
"""


@pytest.mark.slow
def test_the_extractive_provider_answers_from_the_course_or_abstains(tmp_path, embedder, index):
    config = load_config(write(tmp_path, EXTRACTIVE))
    seen = []
    run = run_eval(config, embedder=embedder, index=index, on_result=seen.append)
    assert len(seen) == config.case_count == 4
    assert [(r.prompt_id, r.test_key) for r in run.results] == [
        ("v1", "psi"),
        ("v1", "off topic"),
        ("v2", "psi"),
        ("v2", "off topic"),
    ]
    v1, off, v2, _ = run.results
    assert all(r.status == "pass" for r in run.results), format_run(run)
    # footnote style: markers after sentences, sources listed below
    assert v1.citations and "[1] Monitoring and retraining" in v1.output
    assert v1.output.split("\n\n")[0].rstrip().endswith("]")
    # inline style, one sentence
    assert (
        v2.output.endswith("]")
        and "\n" not in v2.output
        and " [Monitoring and retraining" in v2.output
    )
    # the cited passages are kept as the context of the answer
    by_id = {c.id: c for c in index.chunks}
    assert v1.context == [by_id[x["id"]].text for x in v1.citations]
    assert off.abstained and off.output == ABSTAIN_MESSAGE and off.context == []
    assert off.assertions[0].reason.startswith("the answer abstained")
    tokenizer = tokenizer_for(embedder)
    assert v1.tokens_prompt == tokenizer.count(v1.prompt)
    assert v1.tokens_completion == tokenizer.count(v1.output)
    assert v1.cost == pytest.approx((v1.tokens_prompt * 0.15 + v1.tokens_completion * 0.6) / 1e6)
    # totals and the gate within the config: v2 quotes one sentence, so fewer tokens
    first, second = run.totals
    assert (first.groundedness, first.abstain_rate) == (1.0, 0.5)
    assert second.tokens < first.tokens
    (gate,) = run.gates
    assert gate.baseline == "v1 / triops:extractive" and gate.passed, format_run(run)
    # deterministic: a second run says the same
    again = run_eval(config, embedder=embedder, index=index)
    assert [r.output for r in again.results] == [r.output for r in run.results]


class CountingEmbedder:
    """Hashed trigrams (no model), recording every batch it is asked to encode."""

    def __init__(self):
        from triops.search.embedder import HashingEmbedder

        self.inner = HashingEmbedder()
        self.model_id = self.inner.model_id
        self.batches: list[list[str]] = []

    def encode(self, texts):
        self.batches.append(list(texts))
        return self.inner.encode(texts)


def test_a_cases_semantic_assertions_are_encoded_in_one_batch(tmp_path):
    counting = CountingEmbedder()
    path = echo_config(
        tmp_path,
        [
            {"type": "similar", "value": "canary releases send traffic to a new version"},
            {"type": "answer-relevance", "value": "What is a canary release?"},
            {"type": "context-recall", "value": "a small part of the traffic"},
            {"type": "groundedness"},
        ],
        output="A canary release sends some traffic to the new version.",
        vars={"context": "Canaries get a small share of traffic first. Then everyone."},
    )
    run = run_eval(load_config(path), embedder=counting)
    assert all(a.status != "skipped" for a in run.results[0].assertions)
    (batch,) = counting.batches
    assert "What is a canary release?" in batch and "a small part of the traffic" in batch


def test_vectors_a_provider_hands_over_are_not_encoded_again(tmp_path):
    from triops.evals.providers import Completion

    counting = CountingEmbedder()
    question, answer = "What is drift?", "Drift is a change in the inputs."
    given = dict(zip([question, answer], counting.inner.encode([question, answer]), strict=True))

    class Handing:
        warm_up = False

        def complete(self, prompt, settings):
            return Completion(output=answer, prompt_tokens=1, completion_tokens=1, vectors=given)

    path = echo_config(tmp_path, [{"type": "answer-relevance"}], output=question)
    run = run_eval(load_config(path), embedder=counting, providers={"echo": Handing()})
    assert counting.batches == []
    assert run.results[0].assertions[0].measure == pytest.approx(
        float(given[question] @ given[answer])
    )


@pytest.mark.slow
def test_the_extractive_provider_hands_over_the_question_and_the_quoted_sentences(
    tmp_path, embedder, index
):
    config = load_config(write(tmp_path, EXTRACTIVE))
    provider = make_provider(config.providers[0], index=index, embedder=embedder)
    done = provider.complete("What is the population stability index?", {"max_sentences": 2})
    assert "What is the population stability index?" in done.vectors
    for sentence in claims(done.output):
        assert sentence in done.vectors
    fresh = embedder.encode(list(done.vectors))
    assert np.allclose(fresh, np.stack(list(done.vectors.values())), atol=1e-5)


@pytest.mark.slow
def test_the_extractive_provider_needs_the_index(tmp_path, embedder):
    config = load_config(write(tmp_path, EXTRACTIVE))
    with pytest.raises(EvalError, match="index"):
        run_eval(config, embedder=embedder)


@pytest.mark.slow
def test_the_config_from_promptfoos_documentation_runs(embedder, index):
    config = load_config(EVALS / "promptfoo_docs.yaml")
    run = run_eval(config, embedder=embedder, index=index)
    assert len(run.results) == 2 * 2 * 2
    assert {r.prompt_label for r in run.results} == {"file://prompt1.txt", "file://prompt2.txt"}
    first = run.results[0]
    assert first.output == "Convert this English to French: Hello world"
    rubric, contains_json, js = first.assertions
    assert (rubric.status, rubric.reason) == ("skipped", NO_JUDGE)
    assert js.status == "skipped" and contains_json.status == "fail"
    similar = run.results[1].assertions[1]
    assert similar.type == "similar" and similar.measure is not None
    assert not run.passed  # the echoed prompt holds no JSON, as promptfoo would also find
    assert "triops:extractive" in format_run(run)


# --------------------------------------------------------------------------- openai-compatible


class ChatServer:
    """A local server speaking the chat completions JSON shape: the outer boundary."""

    def __init__(self, reply):
        requests = self.requests = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                requests.append((self.path, dict(self.headers), body))
                status, payload = reply(body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        # shutdown() waits for serve_forever's next poll (every 0.5 s by default).
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def chat_server():
    servers = []

    def start(reply):
        servers.append(ChatServer(reply))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def completion(text, usage=None):
    body = {"choices": [{"message": {"role": "assistant", "content": text}}]}
    if usage:
        body["usage"] = usage
    return 200, body


def test_the_openai_compatible_provider_speaks_chat_completions(tmp_path, chat_server):
    server = chat_server(
        lambda body: completion("Bonjour le monde", {"prompt_tokens": 11, "completion_tokens": 4})
    )
    path = write(
        tmp_path,
        f"""
        prompts: ["Translate to French: {{{{text}}}}"]
        providers:
          - id: openai:gpt-test
            config: {{base_url: "{server.url}", system: Be brief., max_tokens: 20}}
        tests:
          - vars: {{text: Hello world}}
            assert: [{{type: icontains, value: bonjour}}]
        """,
    )
    run = run_eval(load_config(path), env={"OPENAI_API_KEY": "k-test"})
    row = run.results[0]
    assert (row.status, row.output) == ("pass", "Bonjour le monde")
    assert (row.tokens_prompt, row.tokens_completion) == (11, 4)
    ((where, headers, body),) = server.requests
    assert where == "/v1/chat/completions"
    assert headers["Authorization"] == "Bearer k-test"
    assert body == {
        "model": "gpt-test",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Translate to French: Hello world"},
        ],
        "temperature": 0.0,
        "max_tokens": 20,
    }


def test_a_chat_prompt_in_promptfoos_json_format_is_sent_as_messages(tmp_path, chat_server):
    server = chat_server(lambda body: completion("ok"))  # no usage: Triops counts the tokens
    write(
        tmp_path,
        '[{"role": "system", "content": "Answer in {{lang}}."},\n'
        ' {"role": "user", "content": "{{q}}"}]\n',
        "chat.json",
    )
    path = write(
        tmp_path,
        f"""
        prompts: [file://chat.json]
        providers: [{{id: openai-compatible, config: {{base_url: "{server.url}", model: m}}}}]
        tests: [{{vars: {{lang: French, q: Hello}}}}]
        """,
    )
    row = run_eval(load_config(path)).results[0]
    assert server.requests[0][2]["messages"] == [
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "Hello"},
    ]
    assert (row.tokens_completion, row.output) == (tokenizer_for(None).count("ok"), "ok")


def test_the_base_url_comes_from_the_environment_and_a_server_error_is_a_case_error(
    tmp_path, chat_server
):
    server = chat_server(lambda body: (500, {"error": "overloaded"}))
    path = write(tmp_path, "prompts: [hi]\nproviders: [openai-compatible:m]\ntests: [{}]\n")
    env = {"TRIOPS_EVAL_BASE_URL": server.url}
    run = run_eval(load_config(path, env=env), env=env)
    row = run.results[0]
    assert row.status == "error" and "HTTP 500" in row.reason and "overloaded" in row.reason
    assert run.totals[0].errors == 1 and not run.passed


def test_a_chat_provider_or_judge_without_a_server_url_is_one_config_error(tmp_path):
    path = write(
        tmp_path,
        """
        prompts: ["A: {{q}}", "B: {{q}}"]
        providers:
          - echo
          - id: openai-compatible:m
            config: {temperature: 0}
        defaultTest:
          options:
            provider: openai:gpt-4o-mini
          assert: [{type: llm-rubric, value: is polite}, {type: llm-rubric, value: is short}]
        tests: [{vars: {q: a}}, {vars: {q: b}}, {vars: {q: c}}]
        """,
    )
    with pytest.raises(EvalConfigError) as caught:
        load_config(path, env={"PATH": "/usr/bin"})
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:8: error: defaultTest.options.provider: no server URL for 'openai:gpt-4o-mini': "
        "set config.base_url (or apiBaseUrl), or TRIOPS_EVAL_BASE_URL or OPENAI_BASE_URL in "
        "the environment",
    ]
    fixed = path.read_text().replace(
        "provider: openai:gpt-4o-mini",
        "provider: {id: openai:j, config: {base_url: 'http://127.0.0.1:9/v1'}}",
    )
    path.write_text(fixed)
    with pytest.raises(EvalConfigError) as caught:
        load_config(path, env={})
    assert [(p.line, p.key) for p in caught.value.problems] == [(5, "providers[1].config.base_url")]
    assert load_config(path, env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}).providers


@pytest.mark.parametrize(
    ("verdict", "status"),
    [({"pass": True, "score": 0.9}, "pass"), ({"pass": False, "score": 0.1}, "fail")],
)
def test_llm_rubric_runs_through_a_configured_judge(tmp_path, chat_server, verdict, status):
    server = chat_server(
        lambda body: completion("Verdict: " + json.dumps({**verdict, "reason": "checked"}))
    )
    path = write(
        tmp_path,
        f"""
        prompts: ["I am a helpful person."]
        providers: [echo]
        defaultTest:
          options:
            provider: {{id: openai-compatible:judge, config: {{base_url: "{server.url}"}}}}
        tests:
          - assert: [{{type: llm-rubric, value: does not describe self as an AI}}]
        """,
    )
    result = run_eval(load_config(path)).results[0].assertions[0]
    assert (result.status, result.score) == (status, verdict["score"])
    assert result.reason == "judge: checked"
    sent = server.requests[0][2]["messages"]
    assert sent[0]["role"] == "system" and "rubric" in sent[0]["content"]
    assert "<answer>\nI am a helpful person.\n</answer>" in sent[1]["content"]


# --------------------------------------------------------------------------- totals and runs


def test_totals_are_recomputable_from_the_rows(tmp_path):
    path = write(
        tmp_path,
        """
        prompts: ["{{q}}"]
        providers: [echo]
        prices: {unit: 1K, providers: {echo: {prompt: 1, completion: 2}}}
        tests:
          - {vars: {q: alpha}, assert: [{type: contains, value: alpha, metric: m}]}
          - {vars: {q: beta}, assert: [{type: contains, value: alpha, metric: m}]}
          - {vars: {q: gamma}, assert: [{type: contains, value: gamma}]}
          - {vars: {q: delta}, assert: [{type: python, value: "True"}]}
        """,
    )
    latencies = [10, 40, 20, 30]
    run = run_eval(load_config(path), clock=Clock(latencies))
    (t,) = run.totals
    rows = run.results
    assert [r.latency_ms for r in rows] == pytest.approx(latencies)
    assert (t.tests, t.passed, t.failed, t.errors, t.skipped) == (4, 2, 1, 0, 1)
    assert t.pass_rate == pytest.approx(2 / 3)
    assert t.score == pytest.approx((1 + 0 + 1) / 3)
    assert t.tokens_prompt == sum(r.tokens_prompt for r in rows)
    assert t.tokens == t.tokens_prompt + t.tokens_completion
    assert t.cost == pytest.approx(sum(r.cost for r in rows))
    assert t.latency_p50_ms == pytest.approx(25) == percentile(latencies, 50)
    assert t.latency_p95_ms == pytest.approx(38.5)
    assert t.metrics == {"m": 0.5}
    assert t.value("m") == 0.5 and t.value("pass_rate") == t.pass_rate


def test_percentile_interpolates_between_ranks():
    assert percentile([], 95) is None
    assert percentile([7.0], 95) == 7.0
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile(list(range(1, 21)), 95) == pytest.approx(19.05)


def test_a_run_file_round_trips_and_an_unknown_version_is_refused(tmp_path):
    path = echo_config(tmp_path, [{"type": "contains", "value": "hello"}])
    run = run_eval(load_config(path))
    data = json.loads(json.dumps(run.to_dict()))
    assert data["schema_name"] == "triops.eval-run" and data["version"] == 1
    assert data["config_hash"].startswith("sha256:")
    again = EvalRun.from_dict(data)
    assert again == run
    with pytest.raises(EvalRunError, match="version 99"):
        EvalRun.from_dict({**data, "version": 99})
    with pytest.raises(EvalRunError, match="not a Triops eval run"):
        EvalRun.from_dict({"results": []})


# --------------------------------------------------------------------------- the gate


def totals(**values) -> Totals:
    return Totals(
        prompt_id="p", prompt_label="p", provider_id="echo", provider_label="echo", **values
    )


RULES = [
    # (metric, rule, baseline, candidate, verdict)
    ("pass_rate", {"min_delta": 0}, 0.8, 0.8, "pass"),
    ("pass_rate", {"min_delta": 0}, 0.8, 0.75, "fail"),
    ("pass_rate", {"min_delta": -0.05}, 0.8, 0.75, "pass"),
    ("latency_p95_ms", {"max_delta": 0}, 100.0, 101.0, "fail"),
    ("latency_p95_ms", {"max_delta": 5}, 100.0, 105.0, "pass"),
    ("cost", {"max_increase_pct": 10}, 1.0, 1.1, "pass"),
    ("cost", {"max_increase_pct": 10}, 1.0, 1.11, "fail"),
    ("cost", {"max_increase_pct": 10}, 0.0, 0.0, "pass"),
    ("cost", {"max_increase_pct": 10}, 0.0, 0.01, "fail"),
    ("score", {"max_decrease_pct": 5}, 0.8, 0.77, "pass"),
    ("score", {"max_decrease_pct": 5}, 0.8, 0.75, "fail"),
    ("latency_p95_ms", {"max": 250}, None, 250.0, "pass"),
    ("latency_p95_ms", {"max": 250}, None, 251.0, "fail"),
    ("groundedness", {"min": 0.8}, None, 0.8, "pass"),
    ("groundedness", {"min": 0.8}, None, 0.79, "fail"),
]


@pytest.mark.parametrize(("metric", "rule", "base", "cand", "verdict"), RULES)
def test_each_gate_rule_passes_and_fails(metric, rule, base, cand, verdict):
    gate = Gate(rules={metric: GateRule(**rule)})
    baseline = totals(**{metric: base}) if base is not None else totals()
    result = evaluate_gate(gate, baseline, totals(**{metric: cand}))
    (row,) = result.rows
    assert row.verdict == verdict, row.reason
    assert result.passed == (verdict == "pass")
    assert row.metric == metric and row.candidate == cand


def test_a_gate_metric_the_candidate_did_not_measure_fails_and_relative_rules_need_a_baseline():
    gate = Gate(rules={"groundedness": GateRule(min=0.5), "cost": GateRule(max_increase_pct=5)})
    result = evaluate_gate(gate, None, totals(cost=1.0))
    assert [(r.metric, r.verdict) for r in result.rows] == [
        ("groundedness", "fail"),
        ("cost", "skipped"),
    ]
    assert "not measured" in result.rows[0].reason and "no baseline" in result.rows[1].reason
    named = evaluate_gate(
        Gate(rules={"accuracy": GateRule(min=0.5)}), None, totals(metrics={"accuracy": 0.6})
    )
    assert named.passed


def test_a_rule_needs_a_limit():
    with pytest.raises(ValueError, match="at least one"):
        GateRule()


GATED = """
prompts:
  - {id: v1, raw: "{{q}}"}
  - {id: v2, raw: "{{q}} {{q}}"}
providers: [echo]
prices: {providers: {echo: {prompt: 1, completion: 1}}}
tests:
  - {description: a, vars: {q: alpha}, assert: [{type: contains, value: alpha}]}
  - {description: b, vars: {q: beta}, assert: [{type: regex, value: "^beta$"}]}
gate:
  baseline: v1
  candidate: v2
  pass_rate: {min_delta: 0}
  cost: {max_increase_pct: 10}
  latency_p95_ms: {max: 250}
"""


def test_the_gate_within_one_config_compares_candidate_with_baseline(tmp_path):
    run = run_eval(load_config(write(tmp_path, GATED)), clock=Clock([5] * 4))
    (gate,) = run.gates
    assert (gate.baseline, gate.candidate) == ("v1 / echo", "v2 / echo")
    verdicts = {(r.metric, r.rule): r.verdict for r in gate.rows}
    assert verdicts == {
        ("pass_rate", "min_delta 0"): "fail",  # b no longer matches ^beta$
        ("cost", "max_increase_pct 10"): "fail",  # twice the tokens
        ("latency_p95_ms", "max 250"): "pass",
    }
    assert not gate.passed and not run.passed
    text = format_run(run)
    assert "gate: v2 / echo against v1 / echo" in text and "gate FAILED" in text


def test_compare_prints_the_regression_table_and_the_tests_that_changed(tmp_path):
    first = write(tmp_path, GATED.replace("{{q}} {{q}}", "{{q}}"), "before.yaml")
    before = run_eval(load_config(first), clock=Clock([5] * 4))
    config = load_config(write(tmp_path, GATED.replace('"^beta$"', '"^alpha$"'), "after.yaml"))
    after = run_eval(config, clock=Clock([5] * 4))
    result = compare(before, after, config.gate)
    assert not result.same_config and result.unmatched == []
    v2 = result.columns[1]
    assert v2.column == "v2 / echo"
    assert [(c.key, c.baseline, c.current) for c in v2.newly_failing] == [("b", "pass", "fail")]
    rows = {(m.metric, m.rule): m for m in v2.metrics}
    assert rows[("pass_rate", "min_delta 0")].delta == pytest.approx(-0.5)
    assert rows[("pass_rate", "min_delta 0")].verdict == "fail"
    assert rows[("cost", "max_increase_pct 10")].verdict == "fail"
    assert rows[("latency_p95_ms", "max 250")].verdict == "pass"
    assert rows[("tokens", "")].verdict == ""  # no rule: shown, not judged
    assert not result.passed
    back = compare(after, before, config.gate)
    assert [c.key for c in back.columns[0].newly_passing] == ["b"]
    text = format_comparison(result)
    assert "compared: v2 / echo" in text and "newly failing:\n  b (pass -> fail)" in text
    assert "the baseline ran a different config" in text


# --------------------------------------------------------------------------- CSV, prompt maps
# and templates, as promptfoo reads them (issue 14 item 10)


def test_promptfoo_simple_csv_example_runs_its_csv_tests_and_load_filter():
    config = load_config(EVALS / "simple_csv" / "promptfooconfig.yaml")
    assert [p.label for p in config.prompts] == ["translator#1", "translator#2"]
    assert [t.description for t in config.tests] == ["Row #1", "Row #2", "Row #3", "Row #4"]
    assert [(a.type, a.value) for t in config.tests for a in t.assertions] == [
        ("icontains", "bonjour"),
        ("icontains", "faim"),
        ("icontains", "Ahoy"),
        ("icontains", "grub"),
    ]
    assert config.tests[1].vars == {
        "language": "French",
        "body": "I'm hungry",
        "style_config": '{"tone":"casual","length":"brief","formatting":{"bullets":true}}',
    }
    run = run_eval(config)
    first = run.results[0].output
    assert first.startswith(
        "You are a skilled translator and language expert. Follow these style requirements:\n"
        "- Tone: formal\n- Length: brief\n\nTask: Rephrase the following text in French:\n"
        '"Hello world"'
    )
    assert [r.status for r in run.results] == ["fail"] * 8  # echo repeats, never translates


def test_promptfoo_csv_metadata_example_reads_metadata_columns_and_rubrics():
    config = load_config(EVALS / "csv_metadata" / "promptfooconfig.yaml")
    assert [t.metadata for t in config.tests] == [
        {"category": "technology", "tags": ["ai", "data science", "algorithms"]},
        {"category": "science", "tags": ["physics", "advanced,theory", "quantum"]},
        {"category": "environment", "tags": ["science", "global,warming", "research"]},
    ]
    first = config.tests[0]
    assert [(a.type, a.value) for a in first.assertions] == [
        ("contains", "algorithm"),
        ("llm-rubric", "Does this describe {{topic}} accurately?"),
    ]
    assert first.assertions[1].judge.id == "openai-compatible:judge"


def test_every_special_csv_column_as_promptfoo_reads_it(tmp_path, embedder):
    (tmp_path / "cases.csv").write_text(
        "q,__expected,__expected1,__expected2,__description,__prefix,__suffix,__threshold,"
        "__metric,__config:__expected2:threshold,_expected\n"
        'alpha,"  contains: alpha ",not-icontains:BETA,"similar(0.4):alpha, beta",first,'
        "[,],0.5,accuracy,0.3,oops\n"
        ',,"contains-any: a, b ,c",,,,,,,0.3,\n'
        '"multi\nline",Exact text,javascript:output.length > 1,"llm-rubric:polite",,,,x,,0.3,\n',
        encoding="utf-8",
    )
    path = write(
        tmp_path,
        """
        prompts: ["Q: {{q}}"]
        providers: [echo]
        tests: file://cases.csv
        """,
    )
    config = load_config(path)
    one, two, three = config.tests
    assert one.description == "first" and (one.prefix, one.suffix) == ("[", "]")
    assert one.threshold == 0.5 and one.vars == {"q": "alpha", "_expected": "oops"}
    assert [(a.name, a.value, a.threshold, a.metric) for a in one.assertions] == [
        ("contains", "alpha", None, "accuracy"),
        # promptfoo's __config:__expected2 sets the second assertion found in the row (its
        # index 1), here the one from __expected1, not the __expected2 column's.
        ("not-icontains", "BETA", 0.3, "accuracy"),
        ("similar", "alpha, beta", 0.4, "accuracy"),
    ]
    assert one.metadata == {"threshold": 0.3}  # promptfoo copies __config values there too
    assert two.description == "Row #2" and two.vars == {"q": "", "_expected": ""}
    assert [(a.type, a.value) for a in two.assertions] == [("contains-any", ["a", "b", "c"])]
    assert [(a.type, a.value, a.skip is not None) for a in three.assertions] == [
        ("equals", "Exact text", False),
        ("javascript", "output.length > 1", True),
        ("llm-rubric", "polite", True),  # no judge: skipped with the reason
    ]
    assert three.vars["q"] == "multi\nline" and three.threshold is None
    notes = [str(p) for p in config.skipped]
    cases = tmp_path / "cases.csv"
    assert (
        f"{cases}:2: skipped: _expected: read as a variable, as promptfoo reads it; did you "
        "mean '__expected'?" in notes
    )
    assert f"{cases}:4: skipped: __threshold: 'x' is not a number; ignored, as promptfoo does" in (
        notes
    )
    run = run_eval(config, embedder=embedder)
    assert run.results[0].prompt == "[Q: alpha]"  # prefix and suffix around the prompt


@pytest.mark.parametrize(
    ("csv", "line", "key", "message"),
    [
        ("q,__expected\na,contains:a,extra\n", 2, "", "this row has 3 fields; the header has 2"),
        (
            "q,__expected,__config:__expected0:threshold\na,contains:a,0.5\n",
            2,
            "__config:__expected0:threshold",
            "'__expected0' is not __expected or __expected<N> (N from 1)",
        ),
        (
            "q,__expected,__config:__expected:weight\na,contains:a,2\n",
            2,
            "__config:__expected:weight",
            "'weight' cannot be set from a CSV column (only threshold)",
        ),
        ("q,__expected\na,contains:a\nb,regex:(\n", 3, "__expected", "invalid regular expression"),
        ("q,__expected\n\n\nb,latency:\n", 4, "__expected", "latency needs a threshold"),
    ],
)
def test_a_csv_error_names_the_file_the_row_line_and_the_column(tmp_path, csv, line, key, message):
    cases = tmp_path / "cases.csv"
    cases.write_text(csv, encoding="utf-8")
    path = write(tmp_path, "prompts: ['{{q}}']\nproviders: [echo]\ntests: file://cases.csv\n")
    with pytest.raises(EvalConfigError) as caught:
        load_config(path)
    problem = caught.value.problems[0]
    assert (problem.path, problem.line, problem.key) == (str(cases), line, key)
    assert message in problem.message


def test_prompts_as_a_map_of_file_or_text_to_label(tmp_path):
    write(tmp_path, "Short: {{q}}\n", "short.txt")
    path = write(
        tmp_path,
        """
        prompts:
          file://short.txt: short
          "Long: {{ q | upper }}": long
        providers: [echo]
        tests: [{vars: {q: hi}}]
        """,
    )
    config = load_config(path)
    assert [(p.label, p.raw) for p in config.prompts] == [
        ("short", "Short: {{q}}"),
        ("long", "Long: {{ q | upper }}"),
    ]
    assert [r.output for r in run_eval(config).results] == ["Short: hi", "Long: HI"]
    missing = write(tmp_path, "prompts: {file://nope.txt: v1}\nproviders: [echo]\ntests: [{}]\n")
    with pytest.raises(EvalConfigError) as caught:
        load_config(missing)
    assert (caught.value.line, caught.value.key) == (1, "prompts.file://nope.txt")
    assert "no file matches file://nope.txt" in caught.value.user_message


def test_the_nunjucks_filters_promptfoo_examples_use_render_through_jinja2(tmp_path):
    path = write(
        tmp_path,
        """
        prompts:
          - >-
            {{ name | upper }} {{ name | lower }} [{{ pad | trim }}]
            {{ item.tags | join(", ") }} {{ item.tags | length }} {{ item | dump }}
            {{ nickname | default("anon") }}
            {% if extra is defined %}{{ extra }}{% else %}no extra{% endif %}
            {% for t in item.tags %}<{{ t }}>{% endfor %}{{ item.size.cm }}
        providers: [echo]
        tests:
          - vars:
              name: Ada
              pad: "  x  "
              item: {kind: book, tags: [a, b]}
        """,
    )
    run = run_eval(load_config(path))
    assert run.results[0].output == (
        'ADA ada [x] a, b 2 {"kind":"book","tags":["a","b"]} anon no extra <a><b>'
    )


def test_an_undefined_variable_renders_empty_when_guarded_and_is_a_load_error_when_not(
    tmp_path,
):
    path = write(
        tmp_path,
        """
        prompts: ["{{ greeting | default('Hi') }} {{ name }}{% if title %}, {{ title }}{% endif %}"]
        providers: [echo]
        tests: [{vars: {name: Ada}}]
        """,
    )
    assert run_eval(load_config(path)).results[0].output == "Hi Ada"
    path.write_text(path.read_text().replace("{{ name }}", "{{ nme }}"), encoding="utf-8")
    with pytest.raises(EvalConfigError) as caught:
        load_config(path)
    assert "prompt '{{ greeting" in caught.value.user_message
    assert "uses {{nme}}, which this test does not define in vars" in caught.value.user_message


def test_the_template_sandbox_refuses_python_internals(tmp_path):
    path = write(
        tmp_path,
        """
        prompts: ["[{{ q.__class__.__mro__ }}][{{ q.upper() }}]"]
        providers: [echo]
        tests: [{vars: {q: hi}}]
        """,
    )
    assert run_eval(load_config(path)).results[0].output == "[][HI]"
    path.write_text(
        path.read_text().replace("q.upper()", "q.__class__.__subclasses__()"), encoding="utf-8"
    )
    row = run_eval(load_config(path)).results[0]
    assert row.status == "error" and "template:" in row.reason
    path.write_text(path.read_text().replace("q.__class__.__subclasses__()", "q * 10**9"))
    row = run_eval(load_config(path)).results[0]
    assert (row.status, row.reason) == (
        "error",
        "template: a repeated value longer than 1,000,000",
    )


# --------------------------------------------------------------------------- recorded runs

GOLDEN_RUNS = FIXTURES / "golden" / "eval_runs.json"


def verdicts(run) -> list[dict]:
    """A run's verdicts without its timing noise: each case's status, score and reason, and
    each assertion's result, numbers rounded to 6 places."""

    def rounded(x):
        return None if x is None else round(x, 6)

    return [
        {
            "test": r.test_index,
            "status": r.status,
            "score": rounded(r.score),
            "reason": r.reason,
            "assertions": [
                {
                    "type": a.type,
                    "status": a.status,
                    "score": rounded(a.score),
                    "measure": rounded(a.measure),
                    "threshold": a.threshold,
                    "weight": a.weight,
                    "metric": a.metric,
                    "value": a.value,
                    "reason": a.reason,
                }
                for a in r.assertions
            ],
        }
        for r in run.results
    ]


def judge_reply(body):
    """A judge that passes a rubric asking for politeness and fails any other."""
    prompt = body["messages"][-1]["content"]
    polite = "polite" in prompt
    verdict = {"reason": "polite" if polite else "not asked", "pass": polite}
    verdict["score"] = 0.8 if polite else 0.2
    return completion(json.dumps(verdict))


@pytest.mark.slow
def test_every_assertion_type_gives_the_recorded_results(embedder, chat_server):
    env = {"TRIOPS_EVAL_BASE_URL": chat_server(judge_reply).url}
    config = load_config(EVALS / "every_assertion.yaml", env=env)
    run = run_eval(config, embedder=embedder, env=env, clock=Clock([12.5, 7.0]))
    recorded = json.loads(GOLDEN_RUNS.read_text(encoding="utf-8"))
    assert verdicts(run) == recorded["every_assertion"]


@pytest.mark.parametrize("example", ["simple_csv", "csv_metadata"])
def test_promptfoos_csv_examples_give_the_recorded_results(example):
    run = run_eval(load_config(EVALS / example / "promptfooconfig.yaml"))
    recorded = json.loads(GOLDEN_RUNS.read_text(encoding="utf-8"))
    assert verdicts(run) == recorded[example]


# Each assertion type's value and threshold checks at load, with the key they name.
VALUE_ERRORS = [
    ("{type: contains, value: [a]}", "value", "contains needs a string value"),
    ("{type: not-contains, value: {a: 1}}", "value", "contains needs a string value"),
    ("{type: icontains}", "value", "icontains needs a string value"),
    ("{type: starts-with, value: true}", "value", "starts-with needs a string value"),
    ("{type: regex, value: '('}", "value", "invalid regular expression: missing ), "),
    ("{type: equals}", "value", "equals needs a value"),
    ("{type: contains-any, value: 5}", "value", "contains-any needs a list of strings"),
    ("{type: contains-all, value: []}", "value", "contains-all needs a list of strings"),
    ("{type: icontains-all, value: [1, 2]}", "value", "icontains-all needs a list of strings"),
    ("{type: is-json, value: '[1, 2'}", "value", "the JSON schema does not parse: "),
    ("{type: is-json, value: 5}", "value", "a JSON schema is a mapping"),
    ("{type: contains-json, value: {type: 12}}", "value", "invalid JSON schema: 12 is not"),
    ("{type: is-json, value: 'file://nope.json'}", "value", "no file matches file://nope.json"),
    ("{type: similar, value: 5}", "value", "similar needs a string or a list of strings"),
    ("{type: similar}", "value", "similar needs a string or a list of strings"),
    ("{type: similar:cosine, value: 7}", "value", "similar needs a string or a list of strings"),
    ("{type: context-recall, value: [1]}", "value", "context-recall needs a string or a list"),
    ("{type: answer-relevance, value: [a]}", "value", "answer-relevance takes an optional"),
    ("{type: llm-rubric, value: [a], provider: echo}", "value", "llm-rubric needs the rubric"),
    ("{type: latency}", "", "latency needs a threshold (the run's totals record latency)"),
    ("{type: cost}", "", "cost needs a threshold (the run's totals record cost)"),
    ("{type: similar, value: a, threshold: 2}", "threshold", "similar threshold must be within"),
    ("{type: groundedness, threshold: -3}", "threshold", "groundedness threshold must be within"),
    ("{type: context-recall, value: a, threshold: 1.5}", "threshold", "context-recall threshold"),
    ("{type: answer-relevance, threshold: 1.01}", "threshold", "answer-relevance threshold"),
]


@pytest.mark.parametrize(("assertion", "key", "message"), VALUE_ERRORS)
def test_an_assertion_value_that_does_not_fit_its_type_is_a_load_error(
    tmp_path, assertion, key, message
):
    path = write(tmp_path, HEAD + lines("tests:", "  - assert:", f"      - {assertion}"))
    with pytest.raises(EvalConfigError) as caught:
        load_config(path)
    where = "tests[0].assert[0]" + (f".{key}" if key else "")
    assert f"{path}:5: error: {where}: {message}" in str(caught.value)


@pytest.mark.parametrize(
    "assertion",
    [
        "{type: regex, value: 5}",
        "{type: regex, value: '{{x}}('}",
        "{type: latency, threshold: 5000, value: x}",
        "{type: is-json, value: 'type: object'}",
        "{type: answer-relevance}",
        "{type: equals, value: {a: [1]}}",
    ],
)
def test_an_assertion_value_that_fits_its_type_loads(tmp_path, assertion):
    path = write(
        tmp_path, HEAD + lines("tests:", "  - vars: {x: a}", "    assert:", f"      - {assertion}")
    )
    assert len(load_config(path).tests[0].assertions) == 1


def test_every_assertion_type_has_one_record_and_the_tables_are_read_from_it():
    from triops.evals.assertions import ALIASES, ASSERTION_DEFINITIONS, SEMANTIC
    from triops.evals.config import ASSERTION_TYPES, SKIPPED_ASSERTIONS

    assert list(ASSERTION_TYPES) == list(ASSERTION_DEFINITIONS)
    for name in ASSERTION_TYPES:
        record = ASSERTION_DEFINITIONS[name]
        assert record.name == name and callable(record.evaluate) and callable(record.check_value)
        assert (record.texts_to_encode is not None) == record.semantic, name
        assert name not in SKIPPED_ASSERTIONS
    assert set(SEMANTIC) == {n for n, r in ASSERTION_DEFINITIONS.items() if r.semantic}
    assert set(SEMANTIC) == {"similar", "groundedness", "answer-relevance", "context-recall"}
    assert ALIASES == {"similar:cosine": "similar"}
    assert [n for n, r in ASSERTION_DEFINITIONS.items() if r.needs_judge] == ["llm-rubric"]
