"""The single-process FastAPI baseline of bench/serve_latency.py: same model, same V1 body.

uvicorn --app-dir bench _fastapi_server:app   (RAYMAKER_BENCH_MODEL=<model.ubj>)
"""

import os

import numpy as np
import xgboost as xgb
from fastapi import FastAPI, Request

booster = xgb.Booster(model_file=os.environ["RAYMAKER_BENCH_MODEL"])
booster.set_param({"nthread": 1})
app = FastAPI()


@app.post("/v1/models/m:predict")
async def predict(request: Request) -> dict:
    x = np.asarray((await request.json())["instances"], dtype=np.float32)
    p = booster.inplace_predict(x, validate_features=False)
    probs = np.stack([1 - p, p], axis=1)
    return {"predictions": probs.argmax(axis=1).tolist(), "probabilities": probs.tolist()}
