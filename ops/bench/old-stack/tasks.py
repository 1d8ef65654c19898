"""The old design's worker side: one Celery task per report, Redis as broker and result backend.

A report is OLD_STEPS sequential "LLM calls" (default 5), each simulated by sleeping OLD_CALL_MS
milliseconds (default 400, so a 2 s report), the last one a synthesis of the others. A failing
call raises LLMError, which Celery retries with exponential backoff, as such report tasks are
usually written: the retry runs the whole task again, from the first step, because nothing of a
half-done report is kept anywhere but in the worker process's memory.

OLD_FAIL_RATE (default 0) makes each call fail with that probability, to see the retries.
OLD_REDIS_URL (default redis://127.0.0.1:6391/0) is the broker and the result backend.
"""
import os
import random
import time

from celery import Celery

REDIS_URL = os.environ.get("OLD_REDIS_URL", "redis://127.0.0.1:6391/0")
STEPS = int(os.environ.get("OLD_STEPS", "5"))
CALL_MS = int(os.environ.get("OLD_CALL_MS", "400"))
FAIL_RATE = float(os.environ.get("OLD_FAIL_RATE", "0"))

celery_app = Celery("reports", broker=REDIS_URL, backend=REDIS_URL)
celery_app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    # STARTED is shown while a report runs (Celery's default shows PENDING until it ends).
    task_track_started=True,
    # The result backend's default: results are kept for a day.
    result_expires=86400,
)


class LLMError(Exception):
    """A retryable provider failure (timeout, 429, 5xx)."""


def call_llm(prompt):
    time.sleep(CALL_MS / 1000.0)
    if FAIL_RATE and random.random() < FAIL_RATE:
        raise LLMError("simulated provider error")
    return "answer to: " + prompt[:60]


SECTIONS = ["market", "competitors", "team", "risks", "product", "traction", "funding", "outlook"]


@celery_app.task(
    bind=True,
    name="tasks.generate_report",
    autoretry_for=(LLMError,),
    retry_backoff=2,  # 2 s, 4 s, 8 s ... (Celery's exponential backoff)
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=3,
)
def generate_report(self, startup):
    answers = []
    for i in range(STEPS - 1):
        section = SECTIONS[i % len(SECTIONS)]
        answers.append(call_llm(f"Analyse the {section} of the startup {startup}."))
    summary = call_llm(f"Summarise for {startup}: " + " | ".join(answers))
    return f"Summary: {startup}: {summary}"
