"""The baseline: a minimal hand-written FastAPI app calling the same model and predict.

No schema, no validation, no metrics, no drift: the JSON body becomes a DataFrame and goes
to the exported module's ``predict`` with the model loaded once from the store's object file.
Run by ``bench.py`` with ``uvicorn bare_app:app`` and the model's object path and skops
trusted types in ``BENCH_MODEL`` / ``BENCH_TRUSTED``.
"""

import json
import os

import pandas as pd
import skops.io as sio
import wine.train as module
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

with open(os.environ["BENCH_MODEL"], "rb") as handle:
    model = sio.loads(handle.read(), trusted=json.loads(os.environ["BENCH_TRUSTED"]))
app = FastAPI()


@app.post("/predict")
async def predict(request: Request):
    body = json.loads(await request.body())
    rows = body["records"] if isinstance(body, dict) and "records" in body else body
    frame = pd.DataFrame(rows if isinstance(rows, list) else [rows])
    return JSONResponse({"predictions": module.predict(model, frame).tolist()})


@app.get("/ready")
async def ready():
    return {"ready": True}
