"""Scale-out: the pipeline's stages as Celery tasks on a Redis broker (see bot/workers/app.py)."""
