"""The old design's API: Flask behind Gunicorn, a submit puts a Celery task on the Redis broker.

  POST /generate {"startup": "X"}  -> 202 {"job_id", "status": "queued"}
  GET  /status/<job_id>            -> 200 {"job_id", "state", "result"}

An unknown id is PENDING, as Celery's AsyncResult says of any id it has no result for.
"""
from celery.result import AsyncResult
from flask import Flask, jsonify, request

from tasks import celery_app, generate_report

app = Flask(__name__)


@app.post("/generate")
def generate():
    body = request.get_json(silent=True)
    startup = body.get("startup") if isinstance(body, dict) else None
    if not isinstance(startup, str) or not startup.strip():
        return jsonify(error="invalid_startup"), 400
    task = generate_report.delay(startup.strip())
    return jsonify(job_id=task.id, status="queued"), 202


@app.get("/status/<job_id>")
def status(job_id):
    res = AsyncResult(job_id, app=celery_app)
    state = res.state
    if state == "SUCCESS":
        result = res.result
    elif state in ("FAILURE", "RETRY"):
        result = str(res.result)  # the exception: not JSON as it is
    else:
        result = None
    return jsonify(job_id=job_id, state=state, result=result), 200
