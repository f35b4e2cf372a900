"""`triops validate`: every check over content, knowledge and data, without the app's database."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from triops.content.knowledge import load_knowledge
from triops.content.loader import load_course, shared_cache
from triops.content.problems import Problem
from triops.labs.spec import load_labs
from triops.market.data import load_market_data
from triops.quiz.bank import load_bank
from triops.quiz.blueprint import load_exams
from triops.quiz.guides import covers_problems, load_guides
from triops.quiz.itemcache import cached_item_writing_problems
from triops.search.intelligence import semantic_warnings, too_few_questions
from triops.tasks import register as register_tasks
from triops.tasks.spec import TRACKS, load_tasks

if TYPE_CHECKING:
    from triops.quiz.itemwriting import ExamStrategies


@dataclass
class Report:
    lessons: int = 0
    questions: int = 0
    exams: int = 0
    labs: int = 0
    tasks: int = 0
    problems: list[Problem] = field(default_factory=list)
    # Blind-strategy scores per exam profile (`triops validate --strategies` prints them).
    strategies: list[ExamStrategies] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for p in self.problems if p.severity == "warning")

    def summary(self) -> str:
        return (
            f"lessons: {self.lessons}  questions: {self.questions}  exams: {self.exams}  "
            f"labs: {self.labs}  errors: {self.errors}  warnings: {self.warnings}"
        )


def validate(root: Path, embedder=None, derived_dir: Path | None = None) -> Report:
    """Check everything under `root`; nothing here opens the learner-state database.

    With an embedder (and a folder for the derived search index), also warn about
    near-duplicate questions and questions far from their lesson. With a derived data folder,
    the item-writing checks keep their per-question facts there between runs."""
    register_tasks()  # exam profiles that draw tasks load the task folders
    cache = shared_cache(root)
    course = load_course(root, cache)
    lesson_ids = {lesson.id for lesson in course.lessons()}
    knowledge = load_knowledge(root, lesson_ids, cache)
    market = load_market_data(root / "data")
    bank = load_bank(root, lesson_ids, cache)
    exams = load_exams(root, bank, cache)
    labs = load_labs(root, lesson_ids, cache)
    domains = {track: set(bank.vocabulary.track_domains(track)) for track in TRACKS}
    tasks = load_tasks(root, domains, cache)
    guides = load_guides(root, exams, cache)
    covers = covers_problems(guides, course, bank)
    # The item-writing checks reuse each unchanged question's facts from the last run, kept in
    # the derived data folder.
    item_writing, strategies = cached_item_writing_problems(bank, exams, derived_dir)
    intelligence = too_few_questions(course, bank) if bank.questions else []
    if embedder is not None and derived_dir is not None:
        intelligence += semantic_warnings(course, bank, embedder, derived_dir)
    problems = sorted(
        set(course.problems)
        | set(knowledge.problems)
        | set(market.problems)
        | set(bank.problems)
        | set(exams.problems)
        | set(labs.problems)
        | set(tasks.problems)
        | set(guides.problems)
        | set(covers)
        | set(intelligence)
        | set(item_writing)
    )
    return Report(
        lessons=len(course.lessons()),
        questions=len(bank.questions),
        exams=len(exams.exams),
        labs=len(labs.labs),
        tasks=len(tasks.tasks),
        problems=problems,
        strategies=strategies,
    )
