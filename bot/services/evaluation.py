"""Evaluating a model on a dataset's held-out examples (product §10): who answers (the model, its
base, the dataset's current best), on which examples, at what estimated cost (refused above
FTBOT_EVAL_MAX_USD), then the calls (bot.services.eval_runner), the scores, and the record the
scorecard and the leaderboard read. `/finetune eval` posts it all in the dataset's thread."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import orjson

from bot.core.access import Viewer, may_see
from bot.core.datasets import iter_records
from bot.core.evaluation import (
    Case,
    Estimate,
    ModelScore,
    Part,
    Price,
    Ranked,
    answer_tokens,
    cases_from,
    free_text,
    over_cap,
    rank,
    score,
    stable_seed,
)
from bot.core.grader import RUBRIC
from bot.core.jobs import not_configured
from bot.core.message import Code, Mention, Message, say
from bot.core.models import UnknownModelError, backend_of_model, resolve_model
from bot.core.tokens import get_encoding, token_counter
from bot.services.backends import AZURE, OPENAI, TOGETHER, Backends
from bot.services.deployments import base_not_deployed
from bot.services.errors import UserError
from bot.services.eval_post import EvalNotifier, ProgressLine, Where, shown_in
from bot.services.eval_runner import Asked, Budget, run_calls
from bot.services.eval_text import Contender, EvalPlan, EvalResult, OverCap, estimate_text
from bot.services.jobs import JobService
from bot.services.models import chat_name, require_served, unknown_model
from bot.services.ports import Clock, FileSource
from storage.deployments import DeploymentRepository
from storage.evaluations import (
    EvaluationRepository,
    HoldoutRecord,
    HoldoutRepository,
    NewEvaluation,
)
from storage.fine_tuned import ModelRepository
from storage.repositories import DatasetRecord

log = logging.getLogger(__name__)

GRADER_REPLY_TOKENS = 10
__all__ = [
    "Contender", "EvalNotifier", "EvalPlan", "EvalPolicy", "EvalResult", "EvaluationService",
    "OverCap",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class EvalPolicy:
    """FTBOT_EVAL_EXAMPLES, FTBOT_EVAL_MAX_USD, FTBOT_GRADER_MODEL, FTBOT_EVAL_CONCURRENCY."""

    max_examples: int = 50
    max_usd: float = 1.00
    grader_model: str = "gpt-4o-mini"
    concurrency: int = 8


def inference_price(model: str, backend: str) -> Price | None:
    """The catalogue's per-token price of answering with `model` (a fine-tuned model's rate, an
    upper bound for its base); None when the catalogue has none (Together, Azure)."""
    try:
        info = resolve_model(model, backend)
    except UnknownModelError:
        return None
    if info.inference_input_usd_per_1m <= 0 and info.inference_output_usd_per_1m <= 0:
        return None
    return Price(info.inference_input_usd_per_1m, info.inference_output_usd_per_1m)


class EvaluationService:
    """Plans, runs, records and posts evaluations."""

    def __init__(
        self,
        *,
        models: ModelRepository,
        deployments: DeploymentRepository,
        holdouts: HoldoutRepository,
        evaluations: EvaluationRepository,
        files: FileSource,
        backends: Backends,
        job_service: JobService,
        notifier: EvalNotifier,
        clock: Clock,
        policy: EvalPolicy,
    ) -> None:
        self._models = models
        self._deployments = deployments
        self._holdouts = holdouts
        self._evaluations = evaluations
        self._files = files
        self._backends = backends
        self._job_service = job_service
        self._notifier = notifier
        self._clock = clock
        self.policy = policy

    # ---- who answers ---------------------------------------------------------------------------

    def _contender(
        self, viewer: Viewer, model: str, backend: str | None, *, undeployed: bool = False
    ) -> Contender:
        """The model named by a user, if they may use it: a stored fine-tuned model (or one of
        its checkpoints) of a conversation they are in, or a base model of the catalogue.
        `undeployed`: an Azure model without a deployment comes back unaskable (a partial
        scorecard says how to deploy it) instead of refused."""
        record = self._models.of_checkpoint(model)
        if record is not None:
            if record.deleted or not may_see(viewer, record.channel_id):
                raise UserError(unknown_model(model))
            self._require_configured(record.backend)
            require_served(
                model, backend=record.backend, base=record.base_model,
                today=self._clock.now().date(),
            )  # fmt: skip
            found = Contender(
                "model", model, record.backend, None, record.base_model, channel=record.channel_id
            )
            try:
                return replace(found, asked=chat_name(record, model, self._deployments))
            except UserError as error:
                if not undeployed:
                    raise
                return replace(found, missing=error.message)
        if model.startswith("ft:"):  # only models the bot knows (their channel says who may)
            raise UserError(unknown_model(model))
        return self._base(model, backend, role="model")

    def _base(self, model: str, backend: str | None, *, role: str) -> Contender:
        """A base model on `backend` (default: the backend whose catalogue holds it)."""
        chosen = backend or backend_of_model(model, self._backends.configured()) or OPENAI
        try:
            name = resolve_model(model, chosen).id
        except UnknownModelError:
            if chosen != TOGETHER or "/" not in model:  # Together serves more than it trains
                raise UserError(unknown_model(model)) from None
            name = model
        self._require_configured(chosen)
        asked: str | None = name
        if chosen == AZURE:  # Azure answers a base model only through a deployment
            asked = self._deployments.deployment_of(backend=AZURE, model=name)
            if not asked:
                if role == "model":
                    raise UserError(base_not_deployed(name))
                return Contender(role, name, chosen, None, None, missing=base_not_deployed(name))
        return Contender(role, name, chosen, asked, None)

    def _require_configured(self, backend: str) -> None:
        if not self._backends.get(backend).configured:
            raise UserError(say(not_configured(backend)))

    def _best(self, dataset: DatasetRecord, viewer: Viewer, taken: set[str]) -> Contender | None:
        """The dataset's best evaluated model so far (one the viewer may use), if any."""
        entries: dict[tuple[str, str], Ranked] = {}
        for run in self._evaluations.of_dataset(dataset.id):
            for row in run.scores:
                key = (row.model, row.backend)
                if row.model in taken or key in entries or not row.cases:
                    continue
                entries[key] = Ranked(
                    row.model,
                    row.backend,
                    row.normalised / row.cases,
                    row.exact / row.cases,
                    (row.wins + row.ties / 2) / row.graded if row.graded else None,
                )
        for entry in rank(entries.values()):
            try:
                found = self._contender(viewer, entry.model, entry.backend)
            except UserError:
                continue  # deleted, not visible to the viewer, no longer served, undeployed…
            return replace(found, role="best")
        return None

    # ---- which examples --------------------------------------------------------------------------

    def cases(
        self,
        dataset: DatasetRecord,
        *,
        split: HoldoutRecord | None = None,
        whole: bool = False,
        limit: int | None = None,
    ) -> tuple[list[Case], str]:
        """The held-out examples of `split` (a job's), else of the dataset's newest split, else
        (or when `whole`: a job's validation file) the whole dataset, at most
        FTBOT_EVAL_EXAMPLES (and at most `limit`)."""
        limit = min(limit or self.policy.max_examples, self.policy.max_examples)
        if not whole:
            split = split or self._holdouts.latest_of_dataset(dataset.id)
        if split is not None and split.held_out_examples:
            records = (
                (number, orjson.loads(line), None)
                for number, line in enumerate(split.held_out_examples.splitlines(), 1)
                if line.strip()
            )
            return cases_from(records, limit), "holdout"
        remote = self._files.info(dataset.slack_file_id, dataset.channel_id)
        with tempfile.TemporaryDirectory(prefix="ftbot-eval-") as tmp:
            path = Path(tmp) / "data.jsonl"
            self._files.download(remote, path, max_bytes=max(remote.size, 1) * 2)
            return cases_from(iter_records(path), limit), "dataset"

    # ---- planning ---------------------------------------------------------------------------------

    def plan(
        self,
        *,
        viewer: Viewer,
        model: str,
        dataset: str | DatasetRecord,
        channel_id: str,
        backend: str | None = None,
        split: HoldoutRecord | None = None,
        whole: bool = False,
        limit: int | None = None,
        undeployed: bool = False,
    ) -> EvalPlan:
        """Who answers which examples (`split`: a job's held-out part; `whole`: all of the file;
        `limit`: at most that many), and the estimate; UserError for what the viewer may not use
        (the same answer as for what does not exist) and OverCap above the cap."""
        candidate = self._contender(viewer, model, backend, undeployed=undeployed)
        if isinstance(dataset, DatasetRecord):
            record = dataset
        else:
            record = self._job_service.dataset(dataset, viewer, channel_id)
        cases, source = self.cases(record, split=split, whole=whole, limit=limit)
        if not cases:
            raise UserError(
                say(
                    Code(record.name),
                    " has no examples to evaluate on (chat examples ending in an assistant "
                    "answer, or preference pairs).",
                )
            )
        contenders = [candidate]
        if candidate.base_model and candidate.base_model != candidate.model:
            try:
                contenders.append(self._base(candidate.base_model, candidate.backend, role="base"))
            except UserError as error:
                contenders.append(
                    Contender("base", candidate.base_model, candidate.backend, None, None,
                              missing=error.message)
                )  # fmt: skip
        best = self._best(record, viewer, {c.model for c in contenders})
        if best is not None:
            contenders.append(best)
        if not any(c.asked for c in contenders):  # e.g. Azure: neither model has a deployment
            raise UserError(candidate.missing or say("none of its models can be asked."))
        return self._priced(record, source, cases, contenders)

    def _priced(
        self, record: DatasetRecord, source: str, cases: list[Case], contenders: list[Contender]
    ) -> EvalPlan:
        count = token_counter(get_encoding("o200k_base"))  # an estimate for every model
        prompt, completion = answer_tokens(cases, count)
        askable = [c for c in contenders if c.asked]
        parts = [
            Part(c.model, len(cases), prompt, completion, inference_price(c.price_model, c.backend))
            for c in askable
        ]
        texts = free_text([c.reference for c in cases])
        opponent = next((c for c in askable[1:] if c.role in ("base", "best")), None)
        grader: str | None = None
        grader_missing: str | None = None
        if texts and opponent is not None and askable and askable[0].role == "model":
            if self._backends.get(OPENAI).configured:
                grader = self.policy.grader_model
                rubric = count(RUBRIC) + 60
                answers = 2 * (completion // len(cases))
                parts.append(
                    Part(
                        f"grader {grader}",
                        len(cases),
                        len(cases) * (rubric + answers) + prompt + completion // 2,
                        len(cases) * GRADER_REPLY_TOKENS,
                        inference_price(grader, OPENAI),
                    )
                )
            else:
                grader_missing = "the grader runs on OpenAI, which isn't configured here"
        plan = EvalPlan(
            dataset=record,
            source=source,
            cases=tuple(cases),
            contenders=tuple(contenders),
            grader=grader,
            grader_missing=grader_missing,
            free_text=texts,
            estimate=Estimate(tuple(parts)),
            seed=stable_seed(f"{record.sha256 or record.slack_file_id}:{len(cases)}"),
            cap_usd=self.policy.max_usd,
        )
        if over_cap(plan.estimate, self.policy.max_usd):
            raise OverCap(plan)
        return plan

    # ---- running ----------------------------------------------------------------------------------

    def run(
        self,
        plan: EvalPlan,
        *,
        channel_id: str,
        thread_ts: str | None,
        requester_id: str | None,
        progress: Callable[[int, int], None],
        job_id: int | None = None,
    ) -> EvalResult:
        """Make the calls, score, store; a failing model or grader leaves a partial result."""
        askable = [c for c in plan.contenders if c.asked]
        evaluation_id = self._evaluations.start(
            evaluation=NewEvaluation(
                dataset_id=plan.dataset.id,
                channel_id=channel_id,
                thread_ts=thread_ts,
                requester_id=requester_id,
                model=plan.contenders[0].model,
                backend=plan.contenders[0].backend,
                base_model=plan.contenders[0].base_model,
                source=plan.source,
                examples=len(plan.cases),
                grader_model=plan.grader,
                estimated_usd=plan.estimate.known_usd,
                job_id=job_id,
            ),
            now=self._clock.now(),
        )
        parts = {p.label: p for p in plan.estimate.parts}
        asked = [self._asked(c, parts.get(c.model)) for c in askable]
        grader = None
        if plan.grader:
            part = parts.get(f"grader {plan.grader}")
            grader = self._asked(Contender("grader", plan.grader, OPENAI, plan.grader, None), part)
        outcome = run_calls(
            plan.cases,
            asked,
            grader=grader,
            pair=(0, 1) if grader is not None and len(asked) > 1 else None,
            seed=plan.seed,
            concurrency=self.policy.concurrency,
            budget=Budget(cap_usd=self.policy.max_usd),
            progress=progress,
        )
        scores: list[tuple[Contender, ModelScore]] = []
        for slot, contender in enumerate(askable):
            verdicts = outcome.verdicts if slot == 0 else ()
            scores.append((contender, score(plan.cases, outcome.answers[slot], verdicts)))
        result = EvalResult.build(plan, scores, outcome, evaluation_id, grader)
        self._evaluations.finish(
            evaluation_id=evaluation_id,
            scores=[result.row(c, s) for c, s in scores],
            cost_usd=result.cost_usd,
            missing="\n".join(str(m) for m in result.missing) or None,
            now=self._clock.now(),
        )
        return result

    def _asked(self, contender: Contender, part: Part | None) -> Asked:
        gateway = self._backends.get(contender.backend)
        name = contender.asked or contender.model
        return Asked(
            label=contender.model,
            chat=lambda messages: gateway.chat(model=name, messages=messages),
            price=part.price if part else None,
            expected_usd=(part.usd or 0.0) / part.calls if part and part.calls else 0.0,
        )

    # ---- on demand: `/finetune eval` --------------------------------------------------------------

    def evaluate(
        self,
        *,
        viewer: Viewer,
        model: str,
        dataset: str,
        channel_id: str,
        backend: str | None,
        limit: int | None = None,
    ) -> Message:
        """Plan (refusals come back as UserError), then post the estimate and the progress,
        run, and post the scorecard: in the dataset's thread when every model it names belongs
        to the dataset's conversation or is a base model, else in the requester's DM with the
        bot (eval_post); returns the asker's answer."""
        plan = self.plan(
            viewer=viewer, model=model, dataset=dataset, channel_id=channel_id, backend=backend,
            limit=limit,
        )  # fmt: skip
        data = plan.dataset
        if shown_in(plan, data.channel_id):
            where = Where(data.channel_id, data.thread_ts)
            who: Message = say(Mention(viewer.user_id), " is evaluating ")
        else:
            where = Where(self._notifier.direct_channel(viewer.user_id), None, private=True)
            who = say("Evaluating ")
        head = who + say(Code(model), " on ", Code(data.name), ": ", estimate_text(plan), ".")
        line = ProgressLine(self._notifier, where, head)
        ts = line.start(len(plan.cases))
        result = self.run(
            plan, channel_id=where.channel, thread_ts=where.thread_ts,
            requester_id=viewer.user_id, progress=line,
        )  # fmt: skip
        self._notifier.post_scorecard(
            channel=where.channel, thread_ts=where.thread_ts or ts, result=result
        )
        if where.private:
            return say(
                "Evaluated ", Code(model), " on ", Code(data.name), ": the scorecard is in our "
                "direct messages, since it names a model of another conversation.",
            )  # fmt: skip
        return say(
            "Evaluated ", Code(model), " on ", Code(data.name),
            ": the scorecard is in the dataset's thread.",
        )  # fmt: skip
