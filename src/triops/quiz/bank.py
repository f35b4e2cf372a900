"""Load question banks from quizzes/<track>/*.yaml; a bad question is reported and left out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from triops.content.loader import ParseCache, ParsedFile, shared_cache
from triops.content.problems import Problem, display_path, error, warning
from triops.content.yamlsource import YamlDoc, YamlSyntaxError, describe_loc, parse_yaml
from triops.quiz.models import QUESTION_TYPES, Question
from triops.quiz.vocabulary import Vocabulary, load_vocabulary

_ADAPTER: TypeAdapter = TypeAdapter(Question)
# Folders under quizzes/ that hold no question bank: exam blueprints and exam guides.
NOT_TRACKS = frozenset({"exams", "guides", "tasks"})  # tasks: quizzes/tasks/README.md


@dataclass(frozen=True)
class BankQuestion:
    """A valid question with where it came from."""

    question: Question
    track: str
    path: str
    line: int
    # The line of each entry of `covers`, for messages about one task id.
    covers_lines: tuple[int, ...] = ()

    @property
    def id(self) -> str:
        return self.question.id


@dataclass
class Bank:
    questions: list[BankQuestion] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    _pools: tuple[tuple[int, int], dict[str, list[BankQuestion]]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def by_id(self) -> dict[str, BankQuestion]:
        return {q.id: q for q in self.questions}

    def practice(self) -> list[BankQuestion]:
        """Questions that may be shown outside exams."""
        return [q for q in self.questions if not q.question.exam_only]

    def exam_pools(self) -> dict[str, list[BankQuestion]]:
        """The questions an exam may draw, by "track/domain", worked out once per bank (and
        again if its question list changes): sorting 10,000 questions took 34 ms of every exam
        start, most of it pydantic looking up a field that most question types lack."""
        key = (id(self.questions), len(self.questions))
        if self._pools is None or self._pools[0] != key:
            pools: dict[str, list[BankQuestion]] = {}
            for q in self.questions:
                if q.question.practice_only:
                    continue
                if getattr(q.question, "semantic", None) is not None:
                    # Graded by meaning with the language model: practice only, because the
                    # server also grades exams at expiry, where loading the model is not an
                    # option.
                    continue
                pools.setdefault(f"{q.track}/{q.question.domain}", []).append(q)
            self._pools = (key, pools)
        return self._pools[1]


def _item_problems(exc: ValidationError, doc: YamlDoc, index: int, path: str) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        if loc and loc[0] in QUESTION_TYPES:
            loc = loc[1:]  # the discriminator's tag
        loc = tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function")))
        line = doc.line_of(("questions", index, *loc))
        field_name = describe_loc(loc)
        if err["type"] == "missing":
            msg = f"missing required field '{field_name}'"
        elif err["type"] == "extra_forbidden":
            msg = f"unknown field '{field_name}'"
        elif err["type"] == "union_tag_invalid":
            msg = f"unknown type (use one of: {', '.join(QUESTION_TYPES)})"
        elif err["type"] == "union_tag_not_found":
            msg = "missing required field 'type'"
        elif loc:
            msg = f"field '{field_name}': {err['msg'].removeprefix('Value error, ')}"
        else:
            msg = err["msg"].removeprefix("Value error, ")
        out.append(error(path, line, msg))
    return out


def parse_bank_file(path: Path, root: Path, track: str) -> ParsedFile:
    """Every valid question of one file, and a problem for each invalid one."""
    shown = display_path(path, root)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return ParsedFile([], [error(shown, 1, f"cannot read file: {exc}")])
    try:
        doc = parse_yaml(text)
    except YamlSyntaxError as exc:
        return ParsedFile([], [error(shown, exc.line, exc.message)])
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        return ParsedFile([], [error(shown, 1, "a bank file is a mapping with a 'questions' list")])
    extra = [k for k in data if k != "questions"]
    problems = [error(shown, doc.line_of((k,)), f"unknown field '{k}'") for k in extra]
    found = []
    for i, item in enumerate(data["questions"]):
        line = doc.line_of(("questions", i))
        try:
            question = _ADAPTER.validate_python(item)
        except ValidationError as exc:
            problems += _item_problems(exc, doc, i, shown)
            continue
        covers = tuple(
            doc.line_of(("questions", i, "covers", j)) for j in range(len(question.covers))
        )
        found.append(BankQuestion(question, track, shown, line, covers))
    return ParsedFile(found, problems)


def check_question(
    q: BankQuestion, vocab: Vocabulary, lesson_ids: set[str] | None
) -> list[Problem]:
    """Vocabulary and lesson references; gaps an import may leave are warnings."""
    out: list[Problem] = []
    question = q.question
    if question.domain is None:
        out.append(warning(q.path, q.line, f"question '{q.id}' has no domain"))
    elif question.domain not in vocab.track_domains(q.track):
        out.append(
            error(
                q.path,
                q.line,
                f"question '{q.id}': domain '{question.domain}' is not "
                f"a {q.track} domain ({', '.join(vocab.track_domains(q.track))})",
            )
        )
    if question.difficulty is None:
        out.append(warning(q.path, q.line, f"question '{q.id}' has no difficulty"))
    elif question.difficulty not in vocab.difficulties:
        out.append(
            error(
                q.path,
                q.line,
                f"question '{q.id}': difficulty '{question.difficulty}' "
                f"is not one of {', '.join(vocab.difficulties)}",
            )
        )
    if question.lesson is None:
        out.append(warning(q.path, q.line, f"question '{q.id}' links no lesson"))
    elif lesson_ids is not None and question.lesson not in lesson_ids:
        out.append(
            error(
                q.path, q.line, f"question '{q.id}': lesson '{question.lesson}' is not a lesson id"
            )
        )
    if not (question.explanation or "").strip():
        out.append(warning(q.path, q.line, f"question '{q.id}' has no explanation"))
    return out


def load_bank(
    root: Path, lesson_ids: set[str] | None = None, cache: ParseCache | None = None
) -> Bank:
    """All banks under root/quizzes; duplicate ids keep the first and report the rest."""
    cache = cache if cache is not None else shared_cache(root)
    quizzes = root / "quizzes"
    if not quizzes.is_dir():
        return Bank()
    vocab = load_vocabulary(root, cache)
    bank = Bank(vocabulary=vocab, problems=list(vocab.problems))
    seen: dict[str, BankQuestion] = {}
    for track_dir in sorted(
        p for p in quizzes.iterdir() if p.is_dir() and p.name not in NOT_TRACKS
    ):
        if track_dir.name not in vocab.domains:
            bank.problems.append(
                error(
                    display_path(track_dir, root),
                    1,
                    f"unknown track '{track_dir.name}' "
                    f"(vocabulary.yaml lists: {', '.join(vocab.domains)})",
                )
            )
            continue
        for path in sorted(track_dir.glob("*.y*ml")):
            parsed = cache.get(path, lambda p, t=track_dir.name: parse_bank_file(p, root, t))
            bank.problems += parsed.problems
            for q in parsed.value or []:
                first = seen.get(q.id)
                if first is not None:
                    bank.problems.append(
                        error(
                            q.path,
                            q.line,
                            f"duplicate question id '{q.id}' "
                            f"(first used at {first.path}:{first.line})",
                        )
                    )
                    continue
                problems = check_question(q, vocab, lesson_ids)
                bank.problems += problems
                if any(p.severity == "error" for p in problems):
                    continue
                seen[q.id] = q
                bank.questions.append(q)
    return bank
