"""Planning on top of the engine: compare hiring plans, sensitivity, hiring optimiser.

Submodules load on use (``from rampcast.plan.compare import compare``), so
importing the package costs nothing.
"""
